// Switchboard's small behaviours. Loaded as a file (no inline script: CSP).
(function () {
  "use strict";
  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  function init(root) {
    // Selects that submit their form on change (language picker, filters).
    root.querySelectorAll("select.autosubmit").forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      el.addEventListener("change", function () { el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit(); });
    });
    // Copy buttons: <button data-copy="text">.
    root.querySelectorAll("[data-copy]").forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      el.addEventListener("click", function () {
        navigator.clipboard && navigator.clipboard.writeText(el.dataset.copy).then(function () {
          el.dataset.label = el.dataset.label || el.textContent;
          el.textContent = el.dataset.copied || "Copied";
          setTimeout(function () { el.textContent = el.dataset.label; }, 1500);
        });
      });
    });
    // Countdowns: <span data-deadline="epoch-ms" data-expired-text="...">.
    root.querySelectorAll("[data-deadline]").forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      var deadline = parseInt(el.dataset.deadline, 10);
      function tick() {
        var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
        el.textContent = left > 0 ? Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0")
                                  : (el.dataset.expiredText || "0:00");
        if (left > 0 && document.body.contains(el)) setTimeout(tick, 1000);
      }
      tick();
    });
    // "Select all" checkboxes: <input type=checkbox data-select-all="name">.
    root.querySelectorAll("[data-select-all]").forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      el.addEventListener("change", function () {
        document.querySelectorAll('input[type=checkbox][name="' + el.dataset.selectAll + '"]').forEach(function (cb) { cb.checked = el.checked; });
      });
    });
    // Confirm before submit: <form data-confirm="question">.
    root.querySelectorAll("form[data-confirm]").forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      el.addEventListener("submit", function (ev) { if (!window.confirm(el.dataset.confirm)) ev.preventDefault(); });
    });
  }
  window.Switchboard = { init: init };
  onReady(function () {
    init(document);
    document.body.addEventListener("htmx:afterSettle", function (ev) { init(ev.target); });
  });
})();
