// QR login pages: pair-code fields follow the chosen mode, and a QR code that has not
// been replaced in time hides itself (never a stale code on screen, even offline).
// Loaded as a file (CSP: no inline script).
(function () {
  "use strict";
  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  function bindModeToggle(root) {
    var form = root.querySelector ? root.querySelector("#start-form") : null;
    if (!form || form.dataset.qrBound) return;
    form.dataset.qrBound = "1";
    var pair = form.querySelector("[data-pair-fields]");
    if (!pair) return;
    function sync() {
      var checked = form.querySelector("input[name=mode]:checked");
      var isPair = checked && checked.value === "pair";
      pair.hidden = !isPair;
      pair.querySelectorAll("input").forEach(function (el) { el.disabled = !isPair; });
    }
    form.querySelectorAll("input[name=mode]").forEach(function (el) { el.addEventListener("change", sync); });
    sync();
  }

  // <figure data-qr-ttl-ms="N">: hide the code N ms after it arrived unless htmx has
  // swapped in a fresher one (the element is then gone from the document).
  function bindQrExpiry(root) {
    var figures = [];
    if (root.matches && root.matches("[data-qr-ttl-ms]")) figures.push(root);
    if (root.querySelectorAll) root.querySelectorAll("[data-qr-ttl-ms]").forEach(function (f) { figures.push(f); });
    figures.forEach(function (fig) {
      if (fig.dataset.qrBound) return;
      fig.dataset.qrBound = "1";
      var ttl = parseInt(fig.dataset.qrTtlMs, 10);
      if (isNaN(ttl)) return;
      setTimeout(function () {
        if (!document.body.contains(fig)) return;
        fig.hidden = true;
        var note = fig.parentNode && fig.parentNode.querySelector("[data-qr-stale]");
        if (note) note.hidden = false;
      }, Math.max(0, ttl));
    });
  }

  function init(root) {
    bindModeToggle(root);
    bindQrExpiry(root);
  }

  onReady(function () {
    init(document);
    document.body.addEventListener("htmx:afterSettle", function (ev) { init(ev.target); });
    document.body.addEventListener("htmx:oobAfterSwap", function (ev) { init(ev.target); });
  });
})();
