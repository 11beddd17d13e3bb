// The matching run page: "Select all" / "Select none" for every proposal or for one area, and a live count
// of the proposals selected in the sticky send bar. Without JavaScript the checkboxes work one by one.
(function () {
  "use strict";
  var form = document.getElementById("send-form");
  if (!form) { return; }
  var count = document.getElementById("selected-count");
  function boxes(scope) {
    return (scope || form).querySelectorAll('input[type="checkbox"][name="result"]');
  }
  function update() {
    var n = 0;
    Array.prototype.forEach.call(boxes(), function (b) { if (b.checked) { n += 1; } });
    if (count) { count.textContent = n + (n === 1 ? " proposal selected" : " proposals selected"); }
  }
  form.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-select]");
    if (!button) { return; }
    var groupId = button.getAttribute("data-group");
    var scope = groupId ? document.getElementById(groupId) : form;
    var on = button.getAttribute("data-select") === "all";
    Array.prototype.forEach.call(boxes(scope), function (b) { b.checked = on; });
    if (on && groupId && scope.tagName === "DETAILS") { scope.open = true; }
    update();
  });
  form.addEventListener("change", update);
  update();
})();
