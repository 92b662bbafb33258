// Small glue for the server-rendered UI: toasts, modals, auto-submitting selects.
(function () {
  "use strict";

  function showToast(level, message, untilFinished) {
    var stack = document.getElementById("toasts");
    if (!stack) return;
    var alert = document.createElement("div");
    alert.className = "alert alert-" + (level || "info") + " alert-dismissible";
    alert.setAttribute("role", level === "danger" ? "alert" : "status");
    var text = document.createElement("div");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", function () { alert.remove(); });
    alert.appendChild(text);
    alert.appendChild(close);
    stack.appendChild(alert);
    // "… is running" stays while its run is live on the page (see dropFinishedRunToasts).
    if (untilFinished) alert.setAttribute("data-until-finished", "");
    else setTimeout(function () { alert.remove(); }, level === "danger" ? 10000 : 5000);
  }

  function dropFinishedRunToasts() {
    if (document.querySelector("[data-run-live]:not([data-finished])")) return;
    document.querySelectorAll("#toasts [data-until-finished]").forEach(function (alert) { alert.remove(); });
  }
  document.addEventListener("htmx:afterSettle", dropFinishedRunToasts);

  function closeModal() {
    var modal = document.getElementById("modal");
    if (modal) modal.innerHTML = "";
    document.body.classList.remove("modal-open");
  }

  // Closing a form someone has typed into asks first (Escape, backdrop, Cancel, ×).
  function closeModalByHand() {
    var dirty = document.querySelector("#modal form[data-dirty]");
    if (dirty && !window.confirm("Discard your changes?")) return;
    closeModal();
  }
  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("#modal form");
    if (form) form.setAttribute("data-dirty", "");
  });
  window.connectorhub = { showToast: showToast, closeModal: closeModal };

  // A full page load after a redirect (an OAuth callback) can carry one toast of its own.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("template[data-initial-toast]").forEach(function (node) {
      node.remove();
      showToast(node.dataset.level, node.dataset.message);
    });
  });
  document.addEventListener("toast", function (event) {
    showToast(event.detail.level, event.detail.message, event.detail.untilFinished);
  });
  document.addEventListener("closeModal", closeModal);
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-close-modal]");
    if (target) { event.preventDefault(); closeModalByHand(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.querySelector("#modal .modal")) closeModalByHand();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "modal") {
      document.body.classList.add("modal-open");
      var first = event.detail.target.querySelector("input:not([type=hidden]), select, textarea, button");
      if (first) first.focus();
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
  });
})();

// Credentials form: show only the secret fields of the chosen kind (the others are not sent).
document.addEventListener("change", function (event) {
  "use strict";
  if (!event.target.matches || !event.target.matches("#cred-kind")) return;
  var kind = event.target.value;
  document.querySelectorAll("fieldset[data-kind]").forEach(function (set) {
    var chosen = set.getAttribute("data-kind") === kind;
    set.hidden = !chosen;
    set.disabled = !chosen;
  });
});

// A list filter: rows of the list an input names stay visible while their data-filter-text
// holds what was typed (the stream picker's long lists of tables); rows marked
// data-system-stream only while "Show system schemas" is on (or they are picked).
function refilterList(selector) {
  "use strict";
  var filter = document.querySelector('input[data-filter-list="' + selector + '"]');
  var system = document.querySelector('input[data-show-system="' + selector + '"]');
  var wanted = filter ? filter.value.trim().toLowerCase() : "";
  document.querySelectorAll(selector + " [data-filter-text]").forEach(function (row) {
    var picked = row.querySelector("input[type=checkbox]:checked");
    var folded = row.hasAttribute("data-system-stream") && !(system && system.checked) && !picked;
    row.hidden = folded || (wanted !== "" && row.getAttribute("data-filter-text").toLowerCase().indexOf(wanted) === -1);
  });
}
document.addEventListener("input", function (event) {
  "use strict";
  var input = event.target;
  if (input.matches && input.matches("input[data-filter-list]")) refilterList(input.getAttribute("data-filter-list"));
});
document.addEventListener("change", function (event) {
  "use strict";
  var input = event.target;
  if (!input.matches) return;
  if (input.matches("input[data-show-system]")) refilterList(input.getAttribute("data-show-system"));
  // The stream picker: the replication key is asked for only for an incremental stream.
  if (input.matches("select[data-replication-method]")) {
    var field = document.querySelector(input.getAttribute("data-replication-method"));
    if (field) field.hidden = input.value !== "INCREMENTAL";
  }
  // A source's destination: the line under the select names, in full, where the picked
  // option's syncs land (a phone's select cuts a long option off).
  if (input.matches("select[data-lands-in]")) {
    var line = document.querySelector(input.getAttribute("data-lands-in"));
    var option = input.options[input.selectedIndex];
    if (line && option) line.textContent = option.getAttribute("data-lands");
  }
});

// Composer: a scheduled time is typed in the browser's time zone; its offset goes with it, and
// due times on the publications page are shown in that zone too.
(function () {
  "use strict";
  function localise(root) {
    root.querySelectorAll("[data-timezone-offset]").forEach(function (input) {
      input.value = String(new Date().getTimezoneOffset());
    });
    root.querySelectorAll("[data-timezone-name]").forEach(function (span) {
      span.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    });
    root.querySelectorAll("time[data-local-time]").forEach(function (time) {
      var when = new Date(time.getAttribute("datetime"));
      if (!isNaN(when)) time.textContent = when.toLocaleString();
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localise(document); });
  document.addEventListener("htmx:afterSettle", function (event) { localise(event.target); });
})();

// Installed tab, bulk actions: the cards' checkboxes belong to #bulk-form (form="bulk-form");
// "Select all shown" ticks those on the page, the tag field shows only for a tag action.
(function () {
  "use strict";
  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll('input[name="ids"][form="bulk-form"]'));
  }
  function refresh() {
    var form = document.getElementById("bulk-form");
    if (!form) return;
    var all = boxes();
    var picked = all.filter(function (box) { return box.checked; }).length;
    form.querySelector("[data-selected-count]").textContent = picked + " selected";
    form.querySelector("[data-bulk-apply]").disabled = picked === 0;
    var selectAll = form.querySelector("[data-select-all]");
    selectAll.checked = all.length > 0 && picked === all.length;
    selectAll.indeterminate = picked > 0 && picked < all.length;
    var tagged = /_tag$/.test(form.elements.action.value);
    var tag = form.querySelector("[data-bulk-tag]");
    tag.hidden = !tagged;
    tag.required = tagged;
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      boxes().forEach(function (box) { box.checked = target.checked; });
    }
    if (target.closest("#bulk-form") || target.getAttribute("form") === "bulk-form") refresh();
  });
  document.addEventListener("click", function (event) {
    var dismiss = event.target.closest("[data-dismiss-bulk]");
    if (dismiss) dismiss.closest(".bulk-results").remove();
  });
  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
})();

// Live pages: an open event stream marks its element, and the live part polls only while no
// stream is open around it (the stream refused, dropped, or not yet open).
(function () {
  window.liveStreamOpen = function (element) {
    return !!element.closest("[data-stream-open]");
  };
  document.addEventListener("htmx:sseOpen", function (event) {
    event.target.setAttribute("data-stream-open", "");
  });
  ["htmx:sseError", "htmx:sseClose"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      event.target.removeAttribute("data-stream-open");
    });
  });
  // Once the run shown has finished (learnt by either way), its stream is closed for good:
  // no reconnecting to a stream that has nothing more to say.
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[sse-connect]").forEach(function (element) {
      if (element.querySelector("[data-run-live][data-finished]")) {
        element.removeAttribute("sse-connect");
        htmx.trigger(element, "htmx:beforeCleanupElement");  // the extension closes it
      }
    });
  });
})();
