// The HTTP connector builder (builder/pages.py): the draft lives here, in one object; each tab
// draws a part of it, and the server checks, test-runs and saves it with the API's own services,
// so every error comes back keyed by the API's path (definition.steps[0].url…) and is shown at
// the field carrying that data-path.
(function () {
  "use strict";

  var METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];
  var TYPES = ["string", "integer", "number", "boolean"];
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

  // A map of name → text as rows; each value input carries the path `<base>.<name>`.
  Builder.prototype.rows = function (container, owner, key, base, keyLabel, valueLabel, placeholders) {
    var self = this;
    container.innerHTML = "";
    var map = owner[key] || {};
    var entries = Object.keys(map).map(function (k) { return [k, map[k]]; });
    function commit() {
      var next = {};
      entries.forEach(function (pair) { if (pair[0] !== "") next[pair[0]] = pair[1]; });
      if (Object.keys(next).length || key !== "output") owner[key] = next;
      else owner[key] = null;
    }
    function draw() {
      container.innerHTML = "";
      entries.forEach(function (pair, index) {
        var name = el("input", { class: "form-control", value: pair[0], "aria-label": keyLabel, placeholder: keyLabel, autocomplete: "off",
          oninput: function () { pair[0] = name.value; commit(); value.dataset.path = base + "." + name.value; } });
        var value = el("input", { class: "form-control", value: typeof pair[1] === "string" ? pair[1] : JSON.stringify(pair[1]), "aria-label": valueLabel + (pair[0] ? " of " + pair[0] : ""),
          placeholder: valueLabel, autocomplete: "off", "data-path": base + "." + pair[0], "data-placeholders": placeholders === false ? null : true,
          "data-step-index": container.dataset.stepIndex,
          oninput: function () { pair[1] = value.value; commit(); } });
        var remove = el("button", { type: "button", class: "btn btn-icon btn-ghost-danger", "aria-label": "Remove " + (pair[0] || keyLabel.toLowerCase()),
          onclick: function () { entries.splice(index, 1); commit(); draw(); } }, [el("i", { class: "ti ti-x", "aria-hidden": "true" })]);
        container.appendChild(el("div", { class: "builder-row mb-2" }, [name, el("div", { class: "builder-row-value" }, [value]), remove]));
      });
      container.appendChild(el("button", { type: "button", class: "btn btn-sm btn-outline-secondary", "data-add-row": base,
        onclick: function () { entries.push(["", ""]); draw(); container.querySelectorAll("input")[entries.length * 2 - 2].focus(); } },
        [el("i", { class: "ti ti-plus me-1", "aria-hidden": "true" }), document.createTextNode("Add " + keyLabel.toLowerCase())]));
      self.applyErrors();
    }
    draw();
  };

  function field(label, input, help) {
    var id = "b-" + Math.random().toString(36).slice(2, 9);
    input.id = id;
    return el("div", { class: "mb-2 builder-field" }, [el("label", { class: "form-label", for: id, text: label }), input,
      help ? el("div", { class: "field-help text-secondary", text: help }) : null]);
  }

  Builder.prototype.renderSteps = function () {
    var self = this, container = this.root.querySelector("[data-steps]");
    var steps = this.definition.steps;
    container.innerHTML = "";
    steps.forEach(function (step, index) {
      var at = "definition.steps[" + index + "]";
      function text(key, attrs) {
        return el("input", Object.assign({ class: "form-control", value: step[key] === undefined ? "" : String(step[key]), "data-path": at + "." + key,
          autocomplete: "off", oninput: function (e) { step[key] = e.target.value; } }, attrs || {}));
      }
      function number(key, value, attrs, owner) {
        owner = owner || step;
        return el("input", Object.assign({ class: "form-control", type: "number", step: "any", value: value === undefined ? "" : String(value),
          "data-path": at + "." + (owner === step ? key : "retry." + key),
          oninput: function (e) { if (e.target.value === "") delete owner[key]; else owner[key] = Number(e.target.value); } }, attrs || {}));
      }
      var method = el("select", { class: "form-select", "data-path": at + ".method", onchange: function (e) { step.method = e.target.value; } },
        METHODS.map(function (m) { return el("option", { value: m, text: m, selected: (step.method || "GET") === m }); }));
      var headers = el("div", { class: "mb-2", "data-path": at + ".headers", "data-step-index": index });
      var query = el("div", { class: "mb-2", "data-path": at + ".query", "data-step-index": index });
      var body = el("textarea", { class: "form-control font-monospace", rows: "4", "data-path": at + ".body", "data-placeholders": true, "data-step-index": index,
        placeholder: '{"name": "{{input.name}}"}', spellcheck: "false", value: step.body === undefined || step.body === null ? "" : JSON.stringify(step.body, null, 2),
        oninput: function (e) {
          var raw = e.target.value.trim();
          if (!raw) { delete step.body; self.clearLocal(at + ".body"); return; }
          try { step.body = JSON.parse(raw); self.clearLocal(at + ".body"); }
          catch (err) { self.localError(at + ".body", "Not valid JSON yet: " + err.message); }
        } });
      var expect = el("input", { class: "form-control", value: (step.expect_status || []).join(", "), placeholder: "any 2xx", "data-path": at + ".expect_status",
        oninput: function (e) {
          var codes = e.target.value.split(/[\s,]+/).filter(Boolean).map(Number);
          if (codes.length) step.expect_status = codes; else delete step.expect_status;
        } });
      var retry = step.retry || {};
      var controls = el("div", { class: "btn-list ms-auto" }, [
        el("button", { type: "button", class: "btn btn-sm", "aria-label": "Move step " + (index + 1) + " up", disabled: index === 0,
          onclick: function () { steps.splice(index - 1, 0, steps.splice(index, 1)[0]); self.render(); self.check(); } }, [el("i", { class: "ti ti-arrow-up", "aria-hidden": "true" })]),
        el("button", { type: "button", class: "btn btn-sm", "aria-label": "Move step " + (index + 1) + " down", disabled: index === steps.length - 1,
          onclick: function () { steps.splice(index + 1, 0, steps.splice(index, 1)[0]); self.render(); self.check(); } }, [el("i", { class: "ti ti-arrow-down", "aria-hidden": "true" })]),
        el("button", { type: "button", class: "btn btn-sm btn-outline-danger", "aria-label": "Remove step " + (index + 1), disabled: steps.length === 1,
          onclick: function () { steps.splice(index, 1); self.render(); self.check(); } }, [el("i", { class: "ti ti-trash", "aria-hidden": "true" })]),
      ]);
      var card = el("div", { class: "card mb-3 builder-step", "data-testid": "step-card", "data-step": index }, [
        el("div", { class: "card-header d-flex align-items-center gap-2" }, [el("h3", { class: "card-title text-truncate", text: "Step " + (index + 1) + (step.name ? ": " + step.name : "") }), controls]),
        el("div", { class: "card-body" }, [
          el("div", { class: "row g-2" }, [
            el("div", { class: "col-12 col-md-4" }, [field("Name", text("name", { "aria-describedby": null }), "Letters, digits and _; used as {{steps.<name>.<field>}}.")]),
            el("div", { class: "col-5 col-md-2" }, [field("Method", method)]),
            el("div", { class: "col-7 col-md-6" }, [field("URL", text("url", { "data-placeholders": true, "data-step-index": index, placeholder: "/users/{{input.user}}" }))]),
          ]),
          el("div", { class: "row g-2" }, [
            el("div", { class: "col-12 col-md-6" }, [el("div", { class: "form-label", text: "Headers" }), headers]),
            el("div", { class: "col-12 col-md-6" }, [el("div", { class: "form-label", text: "Query" }), query]),
          ]),
          field("JSON body", body, "Sent with every method but GET and HEAD. A string that is exactly one placeholder keeps its JSON type."),
          this_auth(self, step, index, at),
          el("div", { class: "row g-2" }, [
            el("div", { class: "col-6 col-md-3" }, [field("Expected status", expect)]),
            el("div", { class: "col-6 col-md-3" }, [field("Timeout (s)", number("timeout_seconds", step.timeout_seconds, { placeholder: "30", min: "0" }))]),
            el("div", { class: "col-6 col-md-3" }, [field("Attempts", number("max_attempts", retry.max_attempts, { placeholder: "3", min: "1", max: "10" }, ensureRetry(step)))]),
            el("div", { class: "col-6 col-md-3" }, [field("First backoff (s)", number("backoff_seconds", retry.backoff_seconds, { placeholder: "0.5", min: "0" }, ensureRetry(step)))]),
          ]),
        ]),
      ]);
      container.appendChild(card);
      self.rows(headers, step, "headers", at + ".headers", "Header", "Value");
      self.rows(query, step, "query", at + ".query", "Parameter", "Value");
    });
  };

  // A retry object only once a field of it is typed; an empty one is left out again.
  function ensureRetry(step) {
    var retry = step.retry || {};
    return new Proxy(retry, {
      set: function (target, key, value) { target[key] = value; step.retry = target; return true; },
      deleteProperty: function (target, key) { delete target[key]; if (!Object.keys(target).length) delete step.retry; return true; },
    });
  }

  // Auth: none, or bearer / basic / API key, its values typed or taken from a workspace credential.
  function this_auth(self, step, index, at) {
    var auth = step.auth || null;
    var box = el("div", { class: "mb-2 builder-auth", "data-path": at + ".auth" });
    var type = el("select", { class: "form-select", "aria-label": "Auth of step " + (index + 1), onchange: function (e) {
      var kind = e.target.value;
      if (!kind) delete step.auth;
      else if (kind === "bearer") step.auth = { type: "bearer", token: "" };
      else if (kind === "basic") step.auth = { type: "basic", username: "", password: "" };
      else step.auth = { type: "api_key", in: "header", name: "X-API-Key", value: "" };
      self.render(); self.check();
    } }, [["", "No auth"], ["bearer", "Bearer token"], ["basic", "Basic (username, password)"], ["api_key", "API key"]].map(function (o) {
      return el("option", { value: o[0], text: o[1], selected: (auth ? auth.type : "") === o[0] });
    }));
    var credential = el("select", { class: "form-select", "aria-label": "Credential of step " + (index + 1), disabled: !auth, onchange: function (e) {
      var name = e.target.value;
      if (!name || !step.auth) return;
      var ref = "{{workspace." + name + "}}";
      if (step.auth.type === "basic") { step.auth.username = "{{workspace." + name + ".username}}"; step.auth.password = "{{workspace." + name + ".password}}"; }
      else if (step.auth.type === "bearer") step.auth.token = ref;
      else step.auth.value = ref;
      self.render(); self.check();
    } }, [el("option", { value: "", text: self.credentials.length ? "Use a workspace credential…" : "No workspace credentials yet" })].concat(
      self.credentials.map(function (c) { return el("option", { value: c.name, text: c.name + " (" + c.kind + ")" }); })));
    box.appendChild(el("div", { class: "row g-2" }, [
      el("div", { class: "col-12 col-md-4" }, [field("Auth", type)]),
      el("div", { class: "col-12 col-md-8" }, [field("Credential", credential, "Sent only to the hosts the credential allows.")]),
    ]));
    if (!auth) return box;
    function text(key, label) {
      return el("div", { class: "col-12 col-md" }, [field(label, el("input", { class: "form-control", value: auth[key] || "", "data-path": at + ".auth." + key,
        "data-placeholders": true, "data-step-index": index, autocomplete: "off", oninput: function (e) { auth[key] = e.target.value; } }))]);
    }
    var fields = [];
    if (auth.type === "bearer") fields.push(text("token", "Token"));
    if (auth.type === "basic") fields.push(text("username", "Username"), text("password", "Password"));
    if (auth.type === "api_key") {
      fields.push(el("div", { class: "col-6 col-md-2" }, [field("In", el("select", { class: "form-select", onchange: function (e) { auth.in = e.target.value; } },
        ["header", "query"].map(function (v) { return el("option", { value: v, text: v, selected: (auth.in || "header") === v }); })))]));
      fields.push(text("name", "Name"), text("value", "Value"));
    }
    box.appendChild(el("div", { class: "row g-2" }, fields));
    return box;
  }

  Builder.prototype.renderMapping = function () {
    var self = this, container = this.root.querySelector("[data-mapping]");
    container.innerHTML = "";
    this.definition.steps.forEach(function (step, index) {
      var at = "definition.steps[" + index + "].extract";
      var extract = step.extract || {};
      var entries = Object.keys(extract).map(function (k) { return [k, extract[k]]; });
      var list = el("div", { "data-path": at });
      var hasResponse = Object.prototype.hasOwnProperty.call(self.responses, step.name);
      function commit() {
        var next = {};
        entries.forEach(function (pair) { if (pair[0] !== "") next[pair[0]] = pair[1]; });
        if (Object.keys(next).length) step.extract = next; else delete step.extract;
      }
      function draw() {
        list.innerHTML = "";
        entries.forEach(function (pair, i) {
          var out = el("code", { class: "builder-preview text-break", "data-testid": "jsonpath-preview", "aria-live": "polite" });
          var name = el("input", { class: "form-control", value: pair[0], placeholder: "Field", "aria-label": "Field name", autocomplete: "off",
            oninput: function () { pair[0] = name.value; path.dataset.path = at + "." + name.value; path.setAttribute("aria-label", "JSONPath of " + (name.value || "field")); commit(); } });
          var path = el("input", { class: "form-control font-monospace", value: pair[1], placeholder: "$.data.id", "aria-label": "JSONPath of " + (pair[0] || "field"),
            "data-path": at + "." + pair[0], autocomplete: "off", spellcheck: "false",
            oninput: function () { pair[1] = path.value; commit(); self.preview(step.name, path.value, out); } });
          var remove = el("button", { type: "button", class: "btn btn-icon btn-ghost-danger", "aria-label": "Remove " + (pair[0] || "field"),
            onclick: function () { entries.splice(i, 1); commit(); draw(); self.check(); } }, [el("i", { class: "ti ti-x", "aria-hidden": "true" })]);
          list.appendChild(el("div", { class: "builder-row mb-1" }, [name, el("div", { class: "builder-row-value" }, [path]), remove]));
          list.appendChild(el("div", { class: "mb-2 small" }, [el("span", { class: "text-secondary me-1", text: "Preview:" }), out]));
          self.preview(step.name, pair[1], out);
        });
        list.appendChild(el("button", { type: "button", class: "btn btn-sm btn-outline-secondary", onclick: function () { entries.push(["", ""]); draw(); } },
          [el("i", { class: "ti ti-plus me-1", "aria-hidden": "true" }), document.createTextNode("Add field")]));
        self.applyErrors();
      }
      draw();
      var response = hasResponse ? el("details", { class: "mt-2" }, [el("summary", { class: "small", text: "Last test response" }),
        el("pre", { class: "builder-response small", text: JSON.stringify(self.responses[step.name], null, 2) })])
        : el("div", { class: "small text-secondary mt-2", text: "Run a test (5. Test run) to preview the paths against this step's response." });
      container.appendChild(el("div", { class: "card mb-3", "data-testid": "mapping-card" }, [
        el("div", { class: "card-header" }, [el("h3", { class: "card-title", text: "Step " + (index + 1) + ": " + step.name })]),
        el("div", { class: "card-body" }, [list, response]),
      ]));
    });
  };

  Builder.prototype.preview = function (stepName, path, out) {
    var self = this;
    if (!Object.prototype.hasOwnProperty.call(this.responses, stepName)) { out.textContent = "no test response yet"; return; }
    if (!path) { out.textContent = ""; return; }
    clearTimeout(out.timer);
    out.timer = setTimeout(function () {
      post(self.root.dataset.previewUrl, { path: path, document: self.responses[stepName] }).then(function (r) { return r.json(); }).then(function (answer) {
        out.classList.toggle("text-danger", !!answer.error || answer.found === false);
        if (answer.error) out.textContent = answer.error;
        else if (answer.found === false) out.textContent = "matches nothing";
        else out.textContent = JSON.stringify(answer.value);
      }).catch(function () {});
    }, 200);
  };

  // Input fields ↔ the input schema; what the table cannot show (minimum, enum…) is kept.
  Builder.prototype.renderIo = function () {
    var self = this, container = this.root.querySelector("[data-inputs]");
    var schema = this.definition.input_schema || (this.definition.input_schema = { type: "object" });
    var properties = schema.properties || {};
    var required = schema.required || [];
    var entries = Object.keys(properties).map(function (k) { return { name: k, spec: properties[k] }; });
    function commit() {
      var next = {}, req = [];
      entries.forEach(function (entry) {
        if (!entry.name) return;
        next[entry.name] = entry.spec;
        if (entry.required) req.push(entry.name);
      });
      schema.type = "object";
      schema.properties = next;
      if (req.length) schema.required = req; else delete schema.required;
    }
    entries.forEach(function (entry) { entry.required = required.indexOf(entry.name) >= 0; });
    function typed(type, raw) {
      if (raw === "") return undefined;
      if (type === "integer" || type === "number") { var n = Number(raw); return isNaN(n) ? raw : n; }
      if (type === "boolean") return raw === "true";
      return raw;
    }
    function draw() {
      container.innerHTML = "";
      entries.forEach(function (entry, i) {
        var at = "definition.input_schema.properties." + entry.name;
        var spec = entry.spec;
        var name = el("input", { class: "form-control", value: entry.name, placeholder: "name", "aria-label": "Input name", autocomplete: "off", "data-path": at,
          oninput: function () {
            entry.name = name.value; commit();
            var who = entry.name || "input";
            type.setAttribute("aria-label", "Type of " + who); dflt.setAttribute("aria-label", "Default of " + who);
            req.setAttribute("aria-label", "Required " + who); secret.setAttribute("aria-label", "Secret " + who);
            dflt.dataset.path = "definition.input_schema.properties." + entry.name + ".default";
            name.dataset.path = "definition.input_schema.properties." + entry.name;
          } });
        var type = el("select", { class: "form-select", "aria-label": "Type of " + (entry.name || "input"), onchange: function () { spec.type = type.value; commit(); } },
          TYPES.map(function (t) { return el("option", { value: t, text: t, selected: (spec.type || "string") === t }); }));
        var dflt = el("input", { class: "form-control", value: spec.default === undefined ? "" : String(spec.default), placeholder: "default", "aria-label": "Default of " + (entry.name || "input"),
          "data-path": at + ".default", oninput: function () { var v = typed(spec.type, dflt.value); if (v === undefined) delete spec.default; else spec.default = v; commit(); } });
        var req = el("input", { type: "checkbox", class: "form-check-input", checked: entry.required, "aria-label": "Required " + (entry.name || "input"),
          onchange: function () { entry.required = req.checked; commit(); } });
        var secret = el("input", { type: "checkbox", class: "form-check-input", checked: spec.writeOnly === true, "aria-label": "Secret " + (entry.name || "input"),
          onchange: function () { if (secret.checked) spec.writeOnly = true; else delete spec.writeOnly; commit(); } });
        var remove = el("button", { type: "button", class: "btn btn-icon btn-ghost-danger", "aria-label": "Remove input " + (entry.name || ""),
          onclick: function () { entries.splice(i, 1); commit(); draw(); } }, [el("i", { class: "ti ti-x", "aria-hidden": "true" })]);
        container.appendChild(el("div", { class: "builder-input-row mb-2", "data-testid": "input-row" }, [name, type, dflt,
          el("label", { class: "form-check mb-0" }, [req, el("span", { class: "form-check-label", text: "required" })]),
          el("label", { class: "form-check mb-0" }, [secret, el("span", { class: "form-check-label", text: "secret" })]), remove]));
      });
      container.appendChild(el("button", { type: "button", class: "btn btn-sm btn-outline-secondary", "data-testid": "add-input",
        onclick: function () { entries.push({ name: "", spec: { type: "string" }, required: false }); draw(); } },
        [el("i", { class: "ti ti-plus me-1", "aria-hidden": "true" }), document.createTextNode("Add input field")]));
      self.applyErrors();
    }
    draw();
    var output = this.root.querySelector("[data-rows='definition.output']");
    this.rows(output, this.definition, "output", "definition.output", "Output field", "Value");
  };

  // --- test run -----------------------------------------------------------------------------
  Builder.prototype.renderSample = function () {
    var self = this, container = this.root.querySelector("[data-sample]");
    var properties = (this.definition.input_schema || {}).properties || {};
    container.innerHTML = "";
    var names = Object.keys(properties);
    if (!names.length) container.appendChild(el("div", { class: "text-secondary small", text: "This definition takes no input." }));
    names.forEach(function (name) {
      var spec = properties[name] || {};
      if (!(name in self.sample) && spec.default !== undefined) self.sample[name] = String(spec.default);
      var input = el("input", { class: "form-control", type: spec.writeOnly ? "password" : "text", value: self.sample[name] || "", "data-path": "input." + name,
        autocomplete: "off", oninput: function () { self.sample[name] = input.value; } });
      container.appendChild(field(name + (spec.type ? " (" + spec.type + ")" : ""), input));
    });
  };

  Builder.prototype.sampleInput = function () {
    var properties = (this.definition.input_schema || {}).properties || {}, out = {}, sample = this.sample;
    Object.keys(sample).forEach(function (name) {
      if (!(name in properties) || sample[name] === "") return;
      var type = (properties[name] || {}).type, raw = sample[name];
      if (type === "integer" || type === "number") out[name] = isNaN(Number(raw)) ? raw : Number(raw);
      else if (type === "boolean") out[name] = raw === "true" ? true : raw === "false" ? false : raw;
      else out[name] = raw;
    });
    return out;
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

  function start() {
    document.querySelectorAll("[data-builder]:not([data-started])").forEach(function (root) {
      root.setAttribute("data-started", "");
      root.builder = new Builder(root);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:afterSettle", start);
})();
