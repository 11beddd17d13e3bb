// Progressive enhancement: every <select data-module="sp-autocomplete"> becomes a type-ahead
// (accessible-autocomplete, from npm). Without JavaScript the plain <select> works as it is.
// Typing matches anywhere in an option's text, so a trust is found by name or by its DfE id (TR02659).
(function () {
  "use strict";
  if (typeof window.accessibleAutocomplete === "undefined") {
    return;
  }
  var selects = document.querySelectorAll('select[data-module="sp-autocomplete"]');
  Array.prototype.forEach.call(selects, function (select) {
    window.accessibleAutocomplete.enhanceSelectElement({
      selectElement: select,
      minLength: 2,
      confirmOnBlur: true,
      tNoResults: function () { return "No trust found: try its DfE id, for example TR02659"; }
    });
  });
})();
