// Switchboard's small behaviours. Loaded as a file (no inline script: CSP).
(function () {
  "use strict";
  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  // The browser's time zone, for a person who has not chosen one in their settings: the
  // server shows their pages in it from the next request on (core/zones.py).
  (function rememberBrowserZone() {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone || !/^[A-Za-z0-9_+\/-]+$/.test(zone)) return;
    if (document.cookie.split("; ").indexOf("sb_tz=" + zone) !== -1) return;
    document.cookie = "sb_tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  })();
  function init(root) {
    // Selects that submit their form on change (language picker, filters).
    root.querySelectorAll("select.autosubmit").forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      el.addEventListener("change", function () { el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit(); });
    });
    // Filters fold away on phones: a <details class="filter-fold" open> closes there.
    root.querySelectorAll("details.filter-fold").forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      if (window.matchMedia("(max-width: 768px)").matches && !el.hasAttribute("data-keep-open")) el.open = false;
    });
    // Copy buttons: <button data-copy="text">.
    root.querySelectorAll("[data-copy]").forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      el.addEventListener("click", function () {
        navigator.clipboard && navigator.clipboard.writeText(el.dataset.copy).then(function () {
          el.dataset.label = el.dataset.label || el.textContent;
          el.textContent = el.dataset.copied || gettext("Copied");
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
    // Confirm before submit: <form data-confirm="question"> opens the page's <dialog>
    // (focus moves into it, Escape cancels, focus returns to the button).
    root.querySelectorAll("form[data-confirm]").forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      el.addEventListener("submit", function (ev) {
        if (el.dataset.confirmed === "1") { el.dataset.confirmed = ""; return; }
        ev.preventDefault();
        ev.stopImmediatePropagation();
        var submitter = ev.submitter || null;
        confirmThen(el.dataset.confirm, submitter, function () {
          // A live refresh may have replaced the form while the dialog was open (a detached
          // form does not submit): submit its twin, the form with the same action, instead.
          var form = el.isConnected ? el : twinOf(el);
          if (!form) return;
          var button = form === el ? submitter : twinButton(form, submitter);
          form.dataset.confirmed = "1";
          if (form.requestSubmit) form.requestSubmit(button || undefined); else form.submit();
        });
      }, true);
    });
  }

  function twinOf(form) {
    var forms = document.querySelectorAll("form[data-confirm]");
    for (var i = 0; i < forms.length; i++) {
      if (forms[i].action === form.action && forms[i].method === form.method) return forms[i];
    }
    return null;
  }

  function twinButton(form, button) {
    if (!button) return null;
    var buttons = form.querySelectorAll("button[type=submit], input[type=submit]");
    for (var i = 0; i < buttons.length; i++) {
      var b = buttons[i];
      if (b.name === button.name && b.value === button.value && b.formAction === button.formAction) return b;
    }
    return null;
  }

  function confirmThen(question, opener, proceed) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || !dialog.showModal) { if (window.confirm(question)) proceed(); return; }
    document.getElementById("confirm-dialog-text").textContent = question;
    var ok = dialog.querySelector("[data-dialog-ok]");
    var cancel = dialog.querySelector("[data-dialog-cancel]");
    function close(go) {
      ok.removeEventListener("click", onOk);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      dialog.close();
      if (opener && opener.focus) opener.focus();
      if (go) proceed();
    }
    function onOk() { close(true); }
    function onCancel(ev) { if (ev) ev.preventDefault(); close(false); }
    ok.addEventListener("click", onOk);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    ok.focus();
  }

  // Toasts: short confirmations (HX-Trigger: {"sb:toast": {"message": ..., "level": ...}})
  // and the errors of background requests that have no form to show them beside.
  function toast(message, level) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var item = document.createElement("div");
    item.className = "toast flash flash-" + (level || "success");
    item.setAttribute("role", level === "error" ? "alert" : "status");
    var text = document.createElement("span");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close secondary outline small";
    close.textContent = box.dataset.closeText || "Dismiss";
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(text);
    item.appendChild(close);
    box.appendChild(item);
    if (level !== "error") setTimeout(function () { item.remove(); }, 8000);
  }

  window.Switchboard = { init: init, toast: toast, confirmThen: confirmThen };
  onReady(function () {
    init(document);
    document.body.addEventListener("htmx:afterSettle", function (ev) { init(ev.target); });
    document.body.addEventListener("sb:toast", function (ev) {
      var d = ev.detail || {};
      toast(d.message || d.value, d.level);
    });
    var box = document.getElementById("toasts");
    document.body.addEventListener("htmx:responseError", function (ev) {
      var xhr = ev.detail && ev.detail.xhr;
      var reason = xhr && xhr.getResponseHeader("X-Error-Message");
      toast(reason ? decodeURIComponent(reason) : (box && box.dataset.errorText), "error");
    });
    document.body.addEventListener("htmx:sendError", function () {
      toast(box && box.dataset.offlineText, "error");
    });
  });
})();
