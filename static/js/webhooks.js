// Webhook inbox: deliveries per kind per hour (Chart.js, data from a JSON endpoint; CSP-safe).
(function () {
  "use strict";
  var COLORS = ["#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#e53935"];
  function table(el, data) {
    var html = "<table><thead><tr><th>" + escapeHtml(gettext("Hour")) + "</th>";
    data.datasets.forEach(function (d) { html += "<th>" + escapeHtml(d.label) + "</th>"; });
    html += "</tr></thead><tbody>";
    if (!data.rows.length) {
      html += '<tr><td colspan="' + (data.datasets.length + 1) + '">' + escapeHtml(gettext("No deliveries in the last 24 h.")) + "</td></tr>";
    }
    data.rows.forEach(function (r) {
      html += "<tr><td>" + escapeHtml(r.hour) + "</td>";
      r.counts.forEach(function (n) { html += "<td>" + n + "</td>"; });
      html += "</tr>";
    });
    el.innerHTML = html + "</tbody></table>";
  }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function load() {
    var canvas = document.getElementById("webhook-chart");
    var tableEl = document.getElementById("webhook-counts-table");
    if (!canvas && !tableEl) return;
    var url = (canvas || tableEl).dataset.countsUrl;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (tableEl) table(tableEl, data);
        if (canvas && window.Chart) {
          new window.Chart(canvas, {
            type: "bar",
            data: {
              labels: data.labels,
              datasets: data.datasets.map(function (d, i) {
                return { label: d.label, data: d.data, backgroundColor: COLORS[i % COLORS.length] };
              })
            },
            options: { animation: false, responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
          });
        }
      });
  }
  if (document.readyState !== "loading") load(); else document.addEventListener("DOMContentLoaded", load);
})();
