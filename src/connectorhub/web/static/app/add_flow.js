// The guided add flow (connector/add_flow.py): its steps are panels of one form, shown one at
// a time, so what was typed stays put (secrets too, never sent back by the server) while going
// back and forth. The server says when a step may go on (an `addFlowStep` event).
(function () {
  "use strict";
  var ORDER = ["pick", "configure", "credentials", "test", "save"];

  function show(step) {
    var form = document.getElementById("add-flow");
    if (!form || !form.querySelector('[data-step-panel="' + step + '"]')) return;
    form.setAttribute("data-step", step);
    form.querySelectorAll("[data-step-panel], [data-step-buttons]").forEach(function (part) {
      part.hidden = (part.getAttribute("data-step-panel") || part.getAttribute("data-step-buttons")) !== step;
    });
    var at = ORDER.indexOf(step);
    form.querySelectorAll("[data-step-item]").forEach(function (item) {
      var current = ORDER.indexOf(item.getAttribute("data-step-item")) === at;
      item.classList.toggle("active", current);
      if (current) item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
    });
    var panel = form.querySelector('[data-step-panel="' + step + '"]');
    var first = panel.querySelector(".is-invalid, input:not([type=hidden]):not([disabled]), select, textarea");
    if (first) first.focus();
  }

  document.addEventListener("addFlowStep", function (event) { show(event.detail.value); });
  document.addEventListener("click", function (event) {
    var go = event.target.closest && event.target.closest("#add-flow [data-add-flow-go]");
    if (go) { event.preventDefault(); show(go.getAttribute("data-add-flow-go")); }
  });
  // Enter in a field never saves behind the person's back: Save is its own step.
  document.addEventListener("submit", function (event) {
    if (event.target.id === "add-flow") event.preventDefault();
  });
  // A test speaks for what was tested: a change to a setting or a credential after it
  // makes it stale, and "activate now" waits for a new one.
  document.addEventListener("input", function (event) {
    var changed = event.target.closest && event.target.closest(
      '#add-flow [data-step-panel="configure"], #add-flow [data-step-panel="credentials"]');
    var result = document.getElementById("add-test-result");
    if (!changed || !result || !result.querySelector("[data-testid^=add-test-]")) return;
    result.innerHTML = "";
    var stale = document.createElement("div");
    stale.className = "alert alert-warning";
    stale.setAttribute("data-testid", "add-test-stale");
    stale.textContent = "Changed since the last test: run it again.";
    result.appendChild(stale);
    var activate = document.getElementById("add-activate-now");
    if (activate) { activate.checked = false; activate.disabled = true; }
    var tested = document.getElementById("add-tested");
    if (tested) tested.value = "";
    var hint = document.querySelector("[data-testid=add-activate-hint]");
    if (hint) hint.textContent = "Changed since the last test: a passing test comes first.";
  });
})();
