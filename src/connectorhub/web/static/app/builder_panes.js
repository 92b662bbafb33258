// The HTTP connector builder's panes: requests, response mapping, input & output, sample input
// (drawn from the draft builder.js holds; every field carries the API's path of what it edits).
(function () {
  "use strict";

  var Builder = window.ConnectorBuilder.Builder, el = window.ConnectorBuilder.el, post = window.ConnectorBuilder.post;
  var METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];
  var TYPES = ["string", "integer", "number", "boolean"];

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
          authFields(self, step, index, at),
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
  function authFields(self, step, index, at) {
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
