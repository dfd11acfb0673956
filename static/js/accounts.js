// Accounts console behaviours (no inline script: CSP). Charts read their data from
// JSON endpoints named in data-* attributes.
(function () {
  "use strict";
  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  // In the page's zone and language (html data-time-zone, lang), as the tables beside the
  // charts show times, not in the browser's.
  var PAGE_ZONE = document.documentElement.dataset.timeZone || undefined;
  var PAGE_LANG = document.documentElement.lang || undefined;
  function fmt(iso) {
    var d = new Date(iso);
    var opts = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: PAGE_ZONE };
    try { return d.toLocaleString(PAGE_LANG, opts); } catch (e) { delete opts.timeZone; return d.toLocaleString(PAGE_LANG, opts); }
  }
  function getJSON(url, cb) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(cb)
      .catch(function () {});
  }
  function note(canvas, text) {
    var p = document.createElement("p");
    p.className = "muted";
    p.textContent = text;
    canvas.parentNode.replaceChild(p, canvas);
  }

  // Selection count and buttons that need a selection.
  function bindSelection(root) {
    var form = document.getElementById("bulk-form");
    if (!form) return;
    var counter = form.querySelector("[data-selected-count]");
    function update() {
      var n = form.querySelectorAll('input[type=checkbox][name="ids"]:checked').length;
      if (counter) {
        counter.dataset.initial = counter.dataset.initial || counter.textContent;
        counter.textContent = n ? counter.dataset.template.replace(/%+\(n\)s/, n) : counter.dataset.initial;
      }
      form.querySelectorAll("[data-needs-selection]").forEach(function (b) {
        b.setAttribute("aria-disabled", n ? "false" : "true");
        // A disabled action says why it is disabled.
        if (n) b.removeAttribute("title"); else if (counter && counter.dataset.noneText) b.title = counter.dataset.noneText;
      });
    }
    if (!form.dataset.selBound) {
      form.dataset.selBound = "1";
      form.addEventListener("change", update);
      form.addEventListener("submit", function (ev) {
        var btn = ev.submitter;
        if (btn && btn.hasAttribute("data-needs-selection") &&
            !form.querySelectorAll('input[type=checkbox][name="ids"]:checked').length) {
          ev.preventDefault();
          // Say so (the counter is aria-live), and why the button did nothing.
          if (counter) {
            counter.textContent = counter.dataset.noneText || counter.dataset.initial || counter.textContent;
            counter.classList.add("bad");
            setTimeout(function () { counter.classList.remove("bad"); }, 4000);
          }
        }
      });
    }
    update();
  }

  var PRESENCE = { 10: 4, 20: 2, 30: 1, 40: 0 };
  // Labels come translated from the page (data-l-* on the canvas); English is the fallback.
  function label(canvas, key, fallback) { return canvas.dataset["l" + key] || fallback; }
  function presenceLabels(canvas) {
    return { 4: label(canvas, "Online", "Online"), 2: label(canvas, "Disconnected", "Disconnected"),
             1: label(canvas, "Offline", "Offline"), 0: label(canvas, "Banned", "Banned") };
  }

  function timelineChart(canvas) {
    if (canvas.dataset.bound || !window.Chart) return;
    canvas.dataset.bound = "1";
    var PRESENCE_LABELS = presenceLabels(canvas);
    getJSON(canvas.dataset.timelineUrl, function (data) {
      var pts = data.points || [];
      if (!pts.length) { note(canvas, canvas.dataset.empty || gettext("No events to chart yet.")); return; }
      new window.Chart(canvas, {
        type: "line",
        data: {
          labels: pts.map(function (p) { return fmt(p.t); }),
          datasets: [{
            label: label(canvas, "Status", "Status"), stepped: true, borderColor: "#2b7a4b", pointRadius: 3,
            data: pts.map(function (p) { return p.status in PRESENCE ? PRESENCE[p.status] : null; })
          }]
        },
        options: {
          animation: false, maintainAspectRatio: false,
          scales: { y: { min: 0, max: 4, ticks: { stepSize: 1, callback: function (v) { return PRESENCE_LABELS[v] || ""; } } } },
          plugins: {
            legend: { display: false },
            tooltip: { callbacks: { label: function (ctx) { var p = pts[ctx.dataIndex]; return p.label + (p.detail_label ? " · " + p.detail_label : ""); } } }
          }
        }
      });
    });
  }

  function onlineChart(canvas) {
    if (canvas.dataset.bound || !window.Chart) return;
    canvas.dataset.bound = "1";
    getJSON(canvas.dataset.chartUrl, function (data) {
      if (!data.labels || !data.labels.length) { note(canvas, canvas.dataset.empty || gettext("No events in this time range.")); return; }
      new window.Chart(canvas, {
        type: "line",
        data: {
          labels: data.labels.map(fmt),
          datasets: [
            { label: label(canvas, "Online", "Online"), data: data.online, borderColor: "#2b7a4b", pointRadius: 0 },
            { label: label(canvas, "Down", "Offline / disconnected / banned"), data: data.down, borderColor: "#b3261e", pointRadius: 0 }
          ]
        },
        options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } }
      });
    });
  }

  // The history table refreshed itself (live update): redraw the timeline with it.
  function redrawTimeline(ev) {
    if (!ev.target || ev.target.id !== "events") return;
    document.querySelectorAll("canvas[data-timeline-url]").forEach(function (canvas) {
      var chart = window.Chart && window.Chart.getChart ? window.Chart.getChart(canvas) : null;
      if (chart) chart.destroy();
      delete canvas.dataset.bound;
      timelineChart(canvas);
    });
  }
  document.addEventListener("htmx:afterSettle", redrawTimeline);

  function init(root) {
    bindSelection(root);
    (root.querySelectorAll ? root : document).querySelectorAll("canvas[data-timeline-url]").forEach(timelineChart);
    (root.querySelectorAll ? root : document).querySelectorAll("canvas[data-chart-url]").forEach(onlineChart);
  }
  onReady(function () {
    init(document);
    document.body.addEventListener("htmx:afterSettle", function (ev) { init(ev.target); bindSelection(document); });
  });
})();
