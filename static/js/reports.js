// Draws each report chart with Chart.js (static/vendor) from the JSON in its canvas's
// data-chart (an attribute: the CSP allows no inline script). The table under the chart
// has the same figures for everyone else.
"use strict";
const COLOURS = ["#0b5cad", "#d9822b", "#1e7a3c", "#7a3ea1", "#b3261e", "#5b6470"];

// A long name as lines of at most ``width`` characters (broken at spaces), as Chart.js
// draws an array label: on a phone a service's full name would be cut at the edge.
function wrapped(label, width) {
  const lines = [];
  for (const word of String(label).split(" ")) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + word.length < width) lines[last] += " " + word;
    else lines.push(word);
  }
  return lines.length > 1 ? lines : label;
}

function drawChart(canvas, spec, lang) {
  const number = new Intl.NumberFormat(lang, {maximumFractionDigits: 1});
  const shown = (value) => (value === null ? "—" : number.format(value) + (spec.unit === "%" ? " %" : ""));
  const values = spec.horizontal ? "x" : "y";
  const labels = spec.horizontal ? "y" : "x";
  if (spec.horizontal) {  // a bar per name: as tall as the names need
    // Room for a name on two lines where the chart is narrow (see ``wrapped``).
    const long = spec.labels.some((label) => String(label).length > 16);
    const rows = spec.labels.length * Math.max(long ? 2 : 1, spec.datasets.length);
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
        [labels]: {
          stacked: spec.stacked,
          ticks: {
            autoSkip: true,
            // Names wrap to the chart's width, again when it is resized.
            callback: spec.horizontal
              ? function (value) { return wrapped(this.getLabelForValue(value), this.chart.width < 600 ? 16 : 40); }
              : undefined,
          },
        },
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
