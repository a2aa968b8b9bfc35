// The workbench's keys: every action has one, shown on screen and in aria-keyshortcuts.
// Rows ([data-row]) are moved through with j/k; a row's buttons carry data-key; global
// actions carry data-global-key. After each htmx swap the focus goes back to the same row
// (or the message), so a keyboard user never loses their place.
(function () {
  "use strict";
  var current = -1;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
  }

  function focusRow(index) {
    var all = rows();
    if (!all.length) { return; }
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row) { row.classList.remove("current"); row.removeAttribute("aria-current"); });
    var row = all[current];
    row.classList.add("current");
    row.setAttribute("aria-current", "true");
    var target = row.querySelector("[data-primary]:not([disabled])") || row.querySelector("a, button:not([disabled]), summary");
    if (!row.hasAttribute("tabindex")) { row.setAttribute("tabindex", "-1"); }
    (target || row).focus();
  }

  function rowOfFocus() {
    var all = rows();
    var found = all.findIndex(function (row) { return row.contains(document.activeElement); });
    if (found >= 0) { current = found; }
    return current >= 0 ? all[current] : null;
  }

  function press(element) {
    if (!element || element.disabled) { return false; }
    element.click();
    return true;
  }

  function inRow(key) {
    var row = rowOfFocus();
    return press(row && row.querySelector('[data-key="' + key + '"]:not([disabled])'));
  }

  function openEdit() {
    var row = rowOfFocus();
    var details = row && row.querySelector("details.edit");
    if (!details) { return false; }
    details.open = true;
    var field = details.querySelector("input:not([type=hidden])");
    if (field) { field.focus(); field.select(); }
    return true;
  }

  function search() {
    var field = document.querySelector("[data-code-search]") || document.querySelector("[data-search]");
    if (field) { field.focus(); field.select(); return true; }
    return false;
  }

  function global(key) {
    var element = document.querySelector('[data-global-key="' + key + '"]');
    if (!element) { return false; }
    if (element.tagName === "SUMMARY") {
      element.parentElement.open = true;
      var field = element.parentElement.querySelector("textarea, input:not([type=hidden])");
      if (field) { field.focus(); }
      return true;
    }
    return press(element);
  }

  function page(which) {
    return press(document.querySelector('[data-page="' + which + '"]'));
  }

  var keys = {
    j: function () { return focusRow(current + 1) !== false; },
    k: function () { return focusRow(Math.max(0, current - 1)) !== false; },
    ArrowDown: function () { return focusRow(current + 1) !== false; },
    ArrowUp: function () { return focusRow(Math.max(0, current - 1)) !== false; },
    a: function () { return inRow("a"); },
    r: function () { return inRow("r"); },
    x: function () { return inRow("x"); },
    u: function () { return inRow("u"); },
    d: function () { return inRow("d"); },
    e: openEdit,
    "/": search,
    s: function () { return global("s"); },
    q: function () { return global("q"); },
    n: function () { return page("next"); },
    p: function () { return page("prev"); },
    w: function () { window.location.href = (document.body.dataset.base || "") + "/"; return true; },
    "?": function () { var help = document.getElementById("help"); if (help) { help.showModal(); } return true; }
  };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    var typing = target.matches && target.matches("input, textarea, select");
    if (event.key === "Escape") {
      if (typing) { target.blur(); var row = rows()[current]; if (row) { focusRow(current); } }
      document.querySelectorAll("details[open]").forEach(function (d) { d.open = false; });
      return;
    }
    if (typing) { return; }
    var action = keys[event.key];
    if (action && action()) { event.preventDefault(); }
  });

  // The code search combobox: arrows move through the options, Enter adds the code.
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches("[data-code-search]")) { return; }
    var options = Array.prototype.slice.call(document.querySelectorAll("#code-listbox [role=option][data-code]"));
    if (!options.length) { return; }
    var active = options.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var next = event.key === "ArrowDown" ? Math.min(active + 1, options.length - 1) : Math.max(active - 1, 0);
      options.forEach(function (o) { o.setAttribute("aria-selected", "false"); o.classList.remove("current"); });
      options[next].setAttribute("aria-selected", "true");
      options[next].classList.add("current");
      field.setAttribute("aria-activedescendant", options[next].id);
    } else if (event.key === "Enter") {
      event.preventDefault();
      choose(options[Math.max(active, 0)]);
    }
  });

  function choose(option) {
    if (!option) { return; }
    var system = option.dataset.system;
    document.getElementById("add-code").value = option.dataset.code;
    document.getElementById("add-system").value = system;
    var diagnosis = /icd-10-cm$/.test(system);
    document.getElementById("add-kind").value = diagnosis ? "diagnoses" : "procedures";
    var form = document.getElementById("add-form");
    if (window.htmx) { window.htmx.trigger(form, "submit"); } else { form.submit(); }
  }

  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest("#code-listbox [role=option][data-code]");
    if (option) { choose(option); }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var results = document.getElementById("code-results");
    var field = document.querySelector("[data-code-search]");
    if (field && results && results.contains(event.target)) {
      field.setAttribute("aria-expanded", results.querySelector("[role=option][data-code]") ? "true" : "false");
      return;
    }
    var conflict = document.getElementById("conflict");
    if (conflict && event.target.id === "messages") { conflict.focus(); return; }
    if (event.target.id === "work" || (event.target.closest && event.target.closest("#work"))) {
      // the next thing that needs the coder, else the row they were on
      var all = rows();
      var next = all.findIndex(function (row) { return row.hasAttribute("data-attention"); });
      if (next >= 0) { focusRow(next); } else if (current >= 0) { focusRow(current); } else {
        var status = document.getElementById("status");
        if (status) { status.setAttribute("tabindex", "-1"); status.focus(); }
      }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var all = rows();
    if (all.length && !document.activeElement.matches("input[autofocus]")) {
      var first = all.findIndex(function (row) { return row.hasAttribute("data-attention"); });
      focusRow(first >= 0 ? first : 0);
    }
  });
}());
