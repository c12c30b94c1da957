// Pipekit web console: the little the pages do in the browser. Every action works
// without it too (forms post to the server, which checks everything again).
(function () {
  "use strict";

  // Forms marked data-confirm ask first (delete, full refresh).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      ev.preventDefault();
    }
  });

  // Inline watermark rows: add a row from the template, mark a row removed.
  function placeholders(text) {
    var found = {};
    var re = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
    var m;
    while ((m = re.exec(text || "")) !== null) { found[m[1]] = true; }
    return Object.keys(found);
  }

  function checkWatermarks(form) {
    var out = form.querySelector("[data-wm-warnings]");
    var query = form.querySelector("textarea[name='source_query']");
    if (!out || !query) { return; }
    var names = [];
    form.querySelectorAll(".wm-row").forEach(function (row) {
      var action = row.querySelector("select[name='wm_action']");
      var name = row.querySelector("input[name='wm_name']");
      if (name && name.value.trim() && !(action && action.value === "delete")) { names.push(name.value.trim()); }
    });
    var used = placeholders(query.value);
    var lines = [];
    used.forEach(function (n) {
      if (names.indexOf(n) < 0) { lines.push("The query uses {" + n + "} but no watermark row is named " + n + "."); }
    });
    names.forEach(function (n) {
      if (used.indexOf(n) < 0) { lines.push("Watermark " + n + " is not used by the query (no {" + n + "})."); }
    });
    out.textContent = "";
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      out.appendChild(p);
    });
    out.classList.toggle("hidden", lines.length === 0);
  }

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-wm-add]");
    if (!btn) { return; }
    ev.preventDefault();
    var form = btn.closest("form");
    var tpl = form.querySelector("template[data-wm-template]");
    var list = form.querySelector("[data-wm-list]");
    var row = tpl.content.firstElementChild.cloneNode(true);
    list.appendChild(row);
    var first = row.querySelector("input[name='wm_name']");
    if (first) { first.focus(); }
    checkWatermarks(form);
  });

  document.addEventListener("input", function (ev) {
    var form = ev.target.closest && ev.target.closest("form[data-wm-form]");
    if (form) { checkWatermarks(form); }
    var filter = ev.target.getAttribute && ev.target.getAttribute("data-filter");
    if (filter) {
      var needle = ev.target.value.toLowerCase();
      document.querySelectorAll(filter).forEach(function (row) {
        row.classList.toggle("hidden", row.textContent.toLowerCase().indexOf(needle) < 0);
      });
    }
  });
  document.addEventListener("change", function (ev) {
    var form = ev.target.closest && ev.target.closest("form[data-wm-form]");
    if (form) {
      var row = ev.target.closest(".wm-row");
      if (row && ev.target.name === "wm_action") { row.classList.toggle("removed", ev.target.value === "delete"); }
      checkWatermarks(form);
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-wm-form]").forEach(checkWatermarks);
  });
})();
