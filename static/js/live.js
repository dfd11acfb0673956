// Live updates (docs/operations.md, "Live updates"). The page's <body sse-connect> holds one
// EventSource (htmx's sse extension); elements refresh themselves on their events
// (hx-trigger="sse:account-123"). This file adds the fallback and the catch-up:
//   - while the stream is down, every [data-live] element gets "live-poll" every few
//     seconds (its hx-trigger lists "live-poll"), so the page keeps updating by polling;
//   - when the server says "resync" (it could not replay what the page missed), and when
//     the stream comes back after a drop, they all get "live-poll" once.
// The state is on <body data-live="connecting|open|down"> for people and tests.
(function () {
  "use strict";
  var POLL_MS = 3000;
  var timer = null;

  function refreshAll() {
    if (!window.htmx) return;
    document.querySelectorAll("[data-live]").forEach(function (el) {
      window.htmx.trigger(el, "live-poll");
    });
  }

  function setState(state) {
    var body = document.body;
    var was = body.dataset.live;
    body.dataset.live = state;
    if (state === "down" && !timer) {
      timer = window.setInterval(refreshAll, POLL_MS);
    }
    if (state === "open") {
      if (timer) { window.clearInterval(timer); timer = null; }
      if (was === "down") refreshAll();
    }
  }

  function start() {
    var body = document.body;
    if (!body.hasAttribute("sse-connect")) return;
    if (!body.dataset.live) body.dataset.live = "connecting";
    body.addEventListener("htmx:sseOpen", function (ev) {
      var source = ev.detail && ev.detail.source;
      if (source && !source.sbResync) {
        source.sbResync = true;
        source.addEventListener("resync", refreshAll);
      }
      setState("open");
    });
    body.addEventListener("htmx:sseError", function () { setState("down"); });
    body.addEventListener("htmx:sseClose", function () { setState("down"); });
    // No stream at all (no EventSource, or the extension did not load): poll.
    window.setTimeout(function () {
      if (body.dataset.live === "connecting" && !window.EventSource) setState("down");
    }, 5000);
  }

  if (document.readyState !== "loading") start(); else document.addEventListener("DOMContentLoaded", start);
})();
