// Open-chat actions pages. Loaded as a file (no inline script: CSP).
// The shared behaviours (confirm-before-submit, autosubmit) live in app.js; this file only
// keeps the filter form's empty fields out of the address bar.
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (ev) {
    var form = ev.detail.elt && ev.detail.elt.closest && ev.detail.elt.closest("form.filters");
    if (!form) return;
    var params = ev.detail.parameters;
    Object.keys(params).forEach(function (k) { if (params[k] === "") delete params[k]; });
  });
})();
