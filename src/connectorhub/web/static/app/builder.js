// The HTTP connector builder (builder/pages.py): the draft lives here, in one object; each tab
// draws a part of it, and the server checks, test-runs and saves it with the API's own services,
// so every error comes back keyed by the API's path (definition.steps[0].url…) and is shown at
// the field carrying that data-path.
(function () {
  "use strict";

  var PANES = ["basics", "requests", "mapping", "io", "test", "save", "json"];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else if (key === "value") node.value = value;
      else if (key === "checked") node.checked = true;
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; }
    catch (e) { return ""; }
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body),
    });
  }

  function toast(level, message) {
    if (window.connectorhub) window.connectorhub.showToast(level, message);
  }

  function Builder(root) {
    var self = this;
    this.root = root;
    var draft = JSON.parse(root.querySelector("[data-builder-draft]").textContent);
    this.name = draft.name || "";
    this.config = draft.config || {};
    if (!this.config.default_headers) this.config.default_headers = {};
    this.definition = draft.definition;
    this.credentials = JSON.parse(root.querySelector("[data-builder-credentials]").textContent);
    this.connectorId = root.dataset.connectorId || null;
    this.errors = {};
    this.responses = {};   // step name → its response in the last test run
    this.sample = {};      // sample input typed in the Test tab
    this.pane = "basics";
    this.suggestions = root.querySelector("[data-suggestions]");

    root.querySelectorAll("[data-tab]").forEach(function (tab) {
      tab.addEventListener("click", function (event) { event.preventDefault(); self.show(tab.dataset.tab); });
    });
    root.querySelector("[data-prev]").addEventListener("click", function () { self.step(-1); });
    root.querySelector("[data-next]").addEventListener("click", function () { self.step(1); });
    root.querySelector("[data-add-step]").addEventListener("click", function () {
      var steps = self.definition.steps;
      steps.push({ name: self.freeStepName(), method: "GET", url: "/" });
      self.render();
    });
    root.querySelector("[data-run-test]").addEventListener("click", function () { self.runTest(); });
    root.querySelector("[data-save]").addEventListener("click", function () { self.save(); });
    root.querySelectorAll("[data-bind]").forEach(function (input) {
      input.value = self.get(input.dataset.bind) || "";
      input.addEventListener("input", function () { self.set(input.dataset.bind, input.value); });
    });
    root.addEventListener("input", function (event) {
      if (event.target.matches("input[data-placeholders], textarea[data-placeholders]")) self.suggest(event.target);
    });
    // The JSON tab is checked as it is typed: its syntax here, the rest by the server.
    root.querySelector("[data-json]").addEventListener("input", function () {
      clearTimeout(self.jsonTimer);
      self.jsonTimer = setTimeout(function () { if (self.takeJson()) self.check(); }, 400);
    });
    // Leaving the field closes its list (after a click on the list has landed).
    root.addEventListener("focusout", function () {
      setTimeout(function () { if (document.activeElement !== self.suggestingFor) self.hideSuggestions(); }, 150);
    });
    this.render();
  }

  Builder.prototype.get = function (path) {
    if (path === "name") return this.name;
    if (path.indexOf("config.") === 0) return this.config[path.slice(7)];
  };
  Builder.prototype.set = function (path, value) {
    if (path === "name") this.name = value;
    else if (path.indexOf("config.") === 0) this.config[path.slice(7)] = value;
  };

  Builder.prototype.freeStepName = function () {
    var names = this.definition.steps.map(function (s) { return s.name; });
    for (var n = names.length + 1; ; n++) if (names.indexOf("step" + n) < 0) return "step" + n;
  };

  // --- tabs ---------------------------------------------------------------------------------
  Builder.prototype.step = function (by) {
    var at = PANES.indexOf(this.pane) + by;
    if (at >= 0 && at < PANES.length) this.show(PANES[at]);
  };

  Builder.prototype.show = function (pane) {
    if (this.pane === "json" && pane !== "json" && !this.takeJson()) return;
    this.pane = pane;
    this.root.querySelectorAll("[data-pane]").forEach(function (section) { section.hidden = section.dataset.pane !== pane; });
    this.root.querySelectorAll("[data-tab]").forEach(function (tab) {
      var on = tab.dataset.tab === pane;
      tab.classList.toggle("active", on);
      tab.setAttribute("aria-selected", on ? "true" : "false");
    });
    this.root.querySelector("[data-prev]").disabled = pane === PANES[0];
    this.root.querySelector("[data-next]").disabled = pane === PANES[PANES.length - 1];
    this.render();
    this.check();
  };

  // The JSON tab's text becomes the draft only when it parses to an object with steps.
  Builder.prototype.takeJson = function () {
    var area = this.root.querySelector("[data-json]");
    var parsed;
    try { parsed = JSON.parse(area.value); }
    catch (e) { this.showErrors({ definition: ["Not valid JSON: " + e.message] }); return false; }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      this.showErrors({ definition: ["The definition must be a JSON object."] });
      return false;
    }
    if (!Array.isArray(parsed.steps)) parsed.steps = [];
    this.definition = parsed;
    return true;
  };

  // --- the draft as sent --------------------------------------------------------------------
  // Workspace credentials a placeholder names are listed in `credentials`, as saving requires.
  Builder.prototype.normalised = function () {
    var definition = this.definition;
    var names = (definition.credentials || []).slice();
    var text = JSON.stringify(definition.steps || []);
    var found = /\{\{\s*workspace\.([A-Za-z_][A-Za-z0-9_-]*)/g, match;
    while ((match = found.exec(text))) if (names.indexOf(match[1]) < 0) names.push(match[1]);
    if (names.length) definition.credentials = names;
    else delete definition.credentials;
    return definition;
  };

  Builder.prototype.body = function () {
    return { definition: this.normalised(), config: this.config };
  };

  Builder.prototype.check = function () {
    var self = this;
    clearTimeout(this.checkTimer);
    this.checkTimer = setTimeout(function () {
      post(self.root.dataset.checkUrl, self.body()).then(function (r) { return r.json(); })
        .then(function (answer) {
          // Sample-input and save errors stay until the next test or save.
          var kept = {};
          Object.keys(self.errors).forEach(function (p) { if (p.indexOf("input.") === 0 || p === "name") kept[p] = self.errors[p]; });
          self.showErrors(Object.assign(kept, answer.errors || {}));
        }).catch(function () {});
    }, 250);
  };

  // --- errors at their fields ---------------------------------------------------------------
  function paneOf(path) {
    if (path === "name" || path.indexOf("config") === 0) return "basics";
    if (/^definition\.steps\[\d+\]\.extract/.test(path)) return "mapping";
    if (path.indexOf("definition.steps") === 0) return "requests";
    if (path.indexOf("definition.input_schema") === 0 || path.indexOf("definition.output") === 0) return "io";
    if (path.indexOf("input") === 0) return "test";
    return "json";
  }

  Builder.prototype.showErrors = function (errors) {
    this.errors = errors || {};
    this.applyErrors();
  };

  Builder.prototype.applyErrors = function () {
    var root = this.root, errors = this.errors;
    root.querySelectorAll(".is-invalid").forEach(function (node) { node.classList.remove("is-invalid"); });
    root.querySelectorAll("[data-field-error]").forEach(function (node) { node.remove(); });
    var counts = {}, other = [];
    Object.keys(errors).forEach(function (path) {
      var pane = paneOf(path);
      counts[pane] = (counts[pane] || 0) + 1;
      var target = null;
      root.querySelectorAll("[data-path]").forEach(function (node) { if (node.dataset.path === path) target = target || node; });
      if (!target) { other.push(path); return; }
      target.classList.add("is-invalid");
      var message = el("div", { class: "invalid-feedback d-block", "data-field-error": true, "data-error-for": path, text: errors[path].join(" ") });
      target.insertAdjacentElement("afterend", message);
    });
    root.querySelectorAll("[data-tab]").forEach(function (tab) {
      var badge = tab.querySelector("[data-error-count]");
      var count = counts[tab.dataset.tab] || 0;
      badge.textContent = count ? String(count) : "";
      badge.classList.toggle("d-none", !count);
    });
    // Problems of a part no tab shows as a field (say, config_schema): listed with their path.
    var box = root.querySelector("[data-builder-other-errors]");
    box.innerHTML = "";
    // On the JSON tab, every problem is listed there with its path.
    var onJson = this.pane === "json";
    var shownHere = (onJson ? Object.keys(errors).filter(function (p) { return p !== "definition"; }) : other)
      .filter(function (path) { return onJson || paneOf(path) === "json" || root.querySelector("[data-pane='" + paneOf(path) + "']:not([hidden])"); });
    shownHere.forEach(function (path) { box.appendChild(el("div", { text: path + ": " + errors[path].join(" ") })); });
    box.classList.toggle("d-none", !shownHere.length);
  };

  // --- drawing ------------------------------------------------------------------------------
  Builder.prototype.render = function () {
    var pane = this.pane;
    if (pane === "basics") this.rows(this.root.querySelector("[data-rows='config.default_headers']"), this.config, "default_headers", "config.default_headers", "Header", "Value");
    if (pane === "requests") this.renderSteps();
    if (pane === "mapping") this.renderMapping();
    if (pane === "io") this.renderIo();
    if (pane === "test") this.renderSample();
    if (pane === "json") this.root.querySelector("[data-json]").value = JSON.stringify(this.normalised(), null, 2);
    this.applyErrors();
  };

  Builder.prototype.runTest = function () {
    var self = this, result = this.root.querySelector("[data-test-result]");
    var button = this.root.querySelector("[data-run-test]");
    var body = this.body();
    body.input = this.sampleInput();
    if (this.connectorId) body.connector_id = this.connectorId;
    result.innerHTML = "";
    var list = el("div", { class: "list-group mb-3", "data-testid": "test-steps" });
    result.appendChild(list);
    button.disabled = true;
    post(this.root.dataset.testUrl, body).then(function (response) {
      if ((response.headers.get("Content-Type") || "").indexOf("application/json") === 0) {
        return response.json().then(function (answer) {
          self.showErrors(answer.errors || {});
          result.appendChild(el("div", { class: "alert alert-danger", "data-testid": "test-refused", text: "The draft has problems: fix the fields marked in red (tabs show how many)." }));
        });
      }
      if (!response.ok) throw new Error("the test could not run (" + response.status + ")");
      self.showErrors({});
      var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) return;
          buffer += decoder.decode(chunk.value, { stream: true });
          var lines = buffer.split("\n");
          buffer = lines.pop();
          lines.forEach(function (line) { if (line.trim()) self.onTestLine(JSON.parse(line), list, result); });
          return pump();
        });
      }
      return pump();
    }).catch(function (error) { toast("danger", String(error.message || error)); })
      .then(function () { button.disabled = false; });
  };

  function stepItem(step) {
    var badge = { running: "bg-blue", succeeded: "bg-green", failed: "bg-red" }[step.status] || "bg-secondary";
    var facts = [step.status_code ? "HTTP " + step.status_code : null, step.duration_ms !== null && step.duration_ms !== undefined ? Math.round(step.duration_ms) + " ms" : null,
      step.attempt > 1 ? "attempt " + step.attempt : null].filter(Boolean).join(" · ");
    return el("div", { class: "list-group-item", "data-testid": "test-step", "data-status": step.status }, [
      el("div", { class: "d-flex flex-wrap align-items-center gap-2" }, [el("strong", { text: step.name }), el("span", { class: "badge text-white " + badge, text: step.status }),
        el("span", { class: "text-secondary small", text: facts })]),
      step.error ? el("div", { class: "text-danger small mt-1 text-break", text: step.error }) : null,
      step.extracted && Object.keys(step.extracted).length ? el("div", { class: "small mt-1" }, [el("span", { class: "text-secondary", text: "Extracted: " }),
        el("code", { class: "text-break", "data-testid": "extracted", text: JSON.stringify(step.extracted) })]) : null,
      step.request ? el("details", { class: "small mt-1" }, [el("summary", { text: "Request sent" }), el("pre", { class: "builder-response", text: JSON.stringify(step.request, null, 2) })]) : null,
    ]);
  }

  Builder.prototype.onTestLine = function (message, list, result) {
    var self = this;
    if (message.event === "step") {
      var item = stepItem(message.step), old = list.children[message.index];
      if (old) list.replaceChild(item, old); else list.appendChild(item);
      if (message.step.status !== "running") this.responses[message.step.name] = message.step.response;
      return;
    }
    var outcome = message.result;
    list.innerHTML = "";
    this.responses = {};
    outcome.steps.forEach(function (step) { list.appendChild(stepItem(step)); if (step.status !== "running") self.responses[step.name] = step.response; });
    result.appendChild(el("div", { class: "alert " + (outcome.status === "succeeded" ? "alert-success" : "alert-danger"), "data-testid": "test-outcome", "data-status": outcome.status }, [
      el("div", { class: "fw-bold", text: outcome.status === "succeeded" ? "Test run succeeded in " + Math.round(outcome.duration_ms) + " ms." : "Test run failed." }),
      outcome.error ? el("div", { class: "text-break", text: outcome.error }) : null,
      outcome.output !== null && outcome.output !== undefined ? el("pre", { class: "builder-response mb-0 mt-2", "data-testid": "test-output", text: JSON.stringify(outcome.output, null, 2) }) : null,
    ]));
  };

  // --- save ---------------------------------------------------------------------------------
  Builder.prototype.save = function () {
    var self = this, button = this.root.querySelector("[data-save]");
    var body = this.body();
    body.name = this.name;
    body.activate = this.root.querySelector("[data-activate]").checked;
    if (this.connectorId) body.connector_id = this.connectorId;
    button.disabled = true;
    post(this.root.dataset.saveUrl, body).then(function (response) {
      return response.json().then(function (answer) {
        if (response.ok && !answer.errors) { toast("success", answer.message); window.location.assign(answer.location); return; }
        if (answer.errors) {
          self.showErrors(answer.errors);
          toast("danger", "Not saved: fix the fields marked in red (tabs show how many).");
        } else toast("danger", typeof answer.detail === "string" ? answer.detail : "Not saved.");
      });
    }).catch(function (error) { toast("danger", String(error.message || error)); })
      .then(function () { button.disabled = false; });
  };

  // --- local errors (a body that is not JSON yet) ---------------------------------------------
  Builder.prototype.localError = function (path, message) {
    this.errors[path] = [message];
    this.applyErrors();
  };
  Builder.prototype.clearLocal = function (path) {
    if (this.errors[path]) { delete this.errors[path]; this.applyErrors(); }
  };

  // --- placeholders offered as you type -------------------------------------------------------
  Builder.prototype.known = function (stepIndex) {
    var names = [], definition = this.definition;
    Object.keys(((definition.input_schema || {}).properties) || {}).forEach(function (n) { names.push("input." + n); });
    ["base_url"].concat(Object.keys(this.config).filter(function (k) { return k !== "base_url" && k !== "default_headers"; }))
      .forEach(function (n) { names.push("config." + n); });
    this.credentials.forEach(function (c) {
      if (c.kind === "basic") { names.push("workspace." + c.name + ".username", "workspace." + c.name + ".password"); }
      else names.push("workspace." + c.name);
    });
    var upto = stepIndex === undefined || stepIndex === "" || isNaN(Number(stepIndex)) ? definition.steps.length : Number(stepIndex);
    definition.steps.slice(0, upto).forEach(function (step, i) {
      Object.keys(step.extract || {}).forEach(function (f) { names.push("steps." + step.name + "." + f, "step_" + (i + 1) + "." + f); });
    });
    return names;
  };

  Builder.prototype.suggest = function (input) {
    var self = this, before = input.value.slice(0, input.selectionStart);
    var open = /\{\{\s*([A-Za-z0-9_.\[\]-]*)$/.exec(before);
    if (!open) { this.hideSuggestions(); return; }
    var typed = open[1];
    var matches = this.known(input.dataset.stepIndex).filter(function (n) { return n.indexOf(typed) === 0; }).slice(0, 12);
    var list = this.suggestions;
    this.suggestingFor = input;
    list.innerHTML = "";
    if (!matches.length) { this.hideSuggestions(); return; }
    matches.forEach(function (name) {
      list.appendChild(el("li", { class: "list-group-item list-group-item-action py-1 px-2", role: "option", "data-testid": "suggestion", text: "{{" + name + "}}",
        onmousedown: function (event) {
          event.preventDefault();
          var start = before.length - typed.length, after = input.value.slice(input.selectionStart);
          var closing = after.indexOf("}}") === 0 ? "" : "}}";
          input.value = input.value.slice(0, start) + name + closing + after;
          input.dispatchEvent(new Event("input", { bubbles: true }));
          self.hideSuggestions();
          input.focus();
        } }));
    });
    var box = input.getBoundingClientRect(), host = this.root.getBoundingClientRect();
    list.style.left = (box.left - host.left) + "px";
    list.style.top = (box.bottom - host.top + 2) + "px";
    list.style.minWidth = Math.min(box.width, 320) + "px";
    list.classList.remove("d-none");
  };
  Builder.prototype.hideSuggestions = function () { this.suggestions.classList.add("d-none"); };

  // The panes (builder_panes.js) add their drawing to the same prototype, then start it.
  window.ConnectorBuilder = { Builder: Builder, el: el, post: post };
})();
