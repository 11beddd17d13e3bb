/* "Find a school" breadcrumbs go back to the search the user last ran in this tab (sessionStorage; nothing is sent
   to the server). Without JavaScript the breadcrumb opens an empty search. */
(function () {
  "use strict";
  var KEY = "sp-last-search";
  var store;
  try { store = window.sessionStorage; } catch (e) { return; }
  if (!store) { return; }
  var form = document.querySelector("[data-sp-search-page]");
  if (form) {
    if (window.location.search) { store.setItem(KEY, window.location.pathname + window.location.search); }
    else { store.removeItem(KEY); }
  }
  var last = store.getItem(KEY);
  if (!last || last.charAt(0) !== "/" || last.charAt(1) === "/") { return; }
  var links = document.querySelectorAll("a[data-sp-last-search]");
  for (var i = 0; i < links.length; i++) { links[i].setAttribute("href", last); }
})();
