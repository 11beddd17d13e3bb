// The "run the matching" form: disable the button and say that it is running while the page waits.
(function () {
  var f = document.getElementById("matching-form");
  if (!f) { return; }
  f.addEventListener("submit", function () {
    var b = document.getElementById("run-button"), s = document.getElementById("running");
    b.setAttribute("disabled", "disabled"); b.setAttribute("aria-disabled", "true");
    b.textContent = b.getAttribute("data-running-text");
    s.textContent = "Running the matching. This takes a few seconds."; s.classList.remove("govuk-visually-hidden");
  });
})();
