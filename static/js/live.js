// Live updates (docs/operations.md, "Live updates"). The page's <body sse-connect> holds one
// EventSource (htmx's sse extension); elements refresh themselves on their events
// (hx-trigger="sse:account-123"). This file adds the fallback and the catch-up:
//   - while the stream is down, every [data-live] element gets "live-poll" every few
//     seconds (its hx-trigger lists "live-poll"), so the page keeps updating by polling;
//   - when the server says "resync" (it could not replay what the page missed), and when
//     the stream comes back after a drop, they all get "live-poll" once.
// The state is on <body data-live="connecting|open|down"> for people and tests.
// The stream carries only the events this page listens for (?e=..., from the hx-triggers
// "sse:NAME" and the sse-swap="NAME" in the page): when a swap brings new ones (the next page of the fleet), the
// stream is opened again with them, replaying from shortly before.
(function () {
  "use strict";
  var POLL_MS = 3000;
  var MAX_NAMES = 1000;
  var timer = null;
  var source = null;       // the open EventSource
  var subscribed = null;   // the names it was opened with
  var resubscribing = false;
  var offset = null;  // server clock minus this one (from the rendered ?since=)

  // What the page listens for: hx-trigger="sse:NAME" (it fetches its part) and
  // sse-swap="NAME" (the part comes with the event).
  function interest() {
    var names = {};
    document.querySelectorAll("[hx-trigger]").forEach(function (el) {
      (el.getAttribute("hx-trigger") || "").split(",").forEach(function (spec) {
        var name = spec.trim().split(/\s+/)[0];
        if (name.indexOf("sse:") === 0 && name.length > 4) names[name.slice(4)] = true;
      });
    });
    document.querySelectorAll("[sse-swap]").forEach(function (el) {
      el.getAttribute("sse-swap").split(",").forEach(function (name) {
        if (name.trim()) names[name.trim()] = true;
      });
    });
    return Object.keys(names).sort();
  }

  function streamUrl(url) {
    var names = interest();
    subscribed = names;
    var base = url.split("?")[0];
    var now = Date.now() / 1000;
    var since;
    if (offset === null) {  // the first stream: from the render (the server's own clock)
      var m = /[?&]since=([0-9.]+)/.exec(url);
      since = m ? parseFloat(m[1]) : now;
      offset = since + 2 - now;
    } else {  // again: from a little before the swap that brought the new names
      since = now + offset - 5;
    }
    var query = "since=" + since.toFixed(3);
    // More names than a URL should carry: the whole stream, filtered here by the listeners.
    if (names.length <= MAX_NAMES) query += "&e=" + encodeURIComponent(names.join(","));
    return base + "?" + query;
  }

  // htmx's sse extension opens the stream through this hook (it is read at connect time).
  if (window.htmx) {
    window.htmx.createEventSource = function (url) {
      return new EventSource(streamUrl(url), { withCredentials: true });
    };
  }

  function resubscribeIfNeeded() {
    if (!source || !subscribed || resubscribing) return;
    var have = {};
    subscribed.forEach(function (n) { have[n] = true; });
    var missing = interest().some(function (n) { return !have[n]; });
    if (!missing) return;
    // Closed, then reported as an error: the extension opens it again (through the hook
    // above, with the new names) and attaches every listener to the new stream.
    resubscribing = true;
    source.close();
    if (source.onerror) source.onerror(new Event("error"));
  }

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
      source = (ev.detail && ev.detail.source) || source;
      if (source && !source.sbResync) {
        source.sbResync = true;
        source.addEventListener("resync", refreshAll);
      }
      resubscribing = false;
      setState("open");
      resubscribeIfNeeded();  // a swap while it was opening
    });
    body.addEventListener("htmx:sseError", function () { if (!resubscribing) setState("down"); });
    body.addEventListener("htmx:sseClose", function () { setState("down"); });
    body.addEventListener("htmx:afterSettle", resubscribeIfNeeded);
    // No stream at all (no EventSource, or the extension did not load): poll.
    window.setTimeout(function () {
      if (body.dataset.live === "connecting" && !window.EventSource) setState("down");
    }, 5000);
  }

  if (document.readyState !== "loading") start(); else document.addEventListener("DOMContentLoaded", start);
})();
