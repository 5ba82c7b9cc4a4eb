// Draws each report chart with Chart.js (static/vendor) from the JSON in its canvas's
// data-chart (an attribute: the CSP allows no inline script). The table under the chart
// has the same figures for everyone else.
"use strict";
const COLOURS = ["#0b5cad", "#d9822b", "#1e7a3c", "#7a3ea1", "#b3261e", "#5b6470"];

function drawChart(canvas, spec, lang) {
  const number = new Intl.NumberFormat(lang, {maximumFractionDigits: 1});
  const shown = (value) => (value === null ? "—" : number.format(value) + (spec.unit === "%" ? " %" : ""));
  const values = spec.horizontal ? "x" : "y";
  const labels = spec.horizontal ? "y" : "x";
  if (spec.horizontal) {  // a bar per name: as tall as the names need
    const rows = spec.labels.length * Math.max(1, spec.datasets.length);
    canvas.parentElement.style.height = `${Math.max(12, rows * 1.6 + 5)}rem`;
  }
  return new Chart(canvas, {
    type: spec.type,
    data: {
      labels: spec.labels,
      datasets: spec.datasets.map((set, i) => ({
        ...set,
        backgroundColor: COLOURS[i % COLOURS.length],
        borderColor: COLOURS[i % COLOURS.length],
        maxBarThickness: 56,
      })),
    },
    options: {
      locale: lang,
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: labels,
      scales: {
        [labels]: {stacked: spec.stacked, ticks: {autoSkip: true}},
        [values]: {
          stacked: spec.stacked,
          beginAtZero: true,
          ticks: {precision: spec.integer ? 0 : undefined, callback: shown},
          title: {display: Boolean(spec.unit), text: spec.unit},
        },
      },
      plugins: {
        legend: {display: spec.datasets.length > 1, position: "bottom"},
        tooltip: {callbacks: {label: (item) => `${item.dataset.label}: ${shown(item.parsed[values])}`}},
      },
    },
  });
}

document.addEventListener("DOMContentLoaded", () => {
  if (typeof Chart === "undefined") return;  // the tables stand alone
  const lang = document.documentElement.lang || "en";
  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    if (canvas.dataset.chart) drawChart(canvas, JSON.parse(canvas.dataset.chart), lang);
  }
});
