// Today, live: the figures follow the floor's event stream and are redrawn in place.
(function () {
  "use strict";
  var root = document.getElementById("live-report");
  if (!root || !window.EventSource || !window.fetch) return;
  var connection = document.getElementById("live-connection");
  var FLOOR_EVENTS = ["state", "update", "call", "recall", "serve", "finish", "park", "no_show",
    "transfer", "urgent", "refuse"];
  // On a quiet floor the stream still pings every 15 s: the waits grow and the last hour
  // moves on, so a ping refreshes figures older than this.
  var STALE_MS = 60000;
  var SILENT_MS = 45000; // no event nor ping for this long: the connection is dead
  var source = null;
  var pending = null;
  var fetching = false;
  var again = false;
  var fetchedAt = Date.now();
  var heardAt = Date.now();

  function say(text) {
    if (connection.textContent !== text) connection.textContent = text;
  }

  function drawTable(table, figures) {
    var rows = figures.cells.map(function (cells) {
      var tr = document.createElement("tr");
      cells.forEach(function (text, i) {
        var cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) cell.scope = "row";
        cell.textContent = text;
        tr.appendChild(cell);
      });
      return tr;
    });
    var body = table.tBodies[0];
    body.replaceChildren.apply(body, rows);
  }

  // The chart over a table (drawn first by reports.js) takes the new figures in place,
  // without animating: it changes on every event of the floor.
  function redrawChart(figures) {
    var canvas = root.querySelector('canvas[data-chart-for="' + figures.key + '"]');
    if (!canvas || !figures.chart || typeof Chart === "undefined") return;
    var drawn = Chart.getChart(canvas);
    if (!drawn) return;
    drawn.data.labels = figures.chart.labels;
    figures.chart.datasets.forEach(function (set, i) {
      if (drawn.data.datasets[i]) drawn.data.datasets[i].data = set.data;
    });
    drawn.update("none");
  }

  function draw(report) {
    report.tables.forEach(function (figures) {
      var shown = root.querySelector('[data-table="' + figures.key + '"]');
      if (!shown) return;
      if (shown.tagName === "TABLE") {
        drawTable(shown, figures);
        redrawChart(figures);
        return;
      }
      shown.querySelectorAll("[data-cell]").forEach(function (cell) {
        cell.textContent = figures.cells[0][Number(cell.dataset.cell)];
      });
    });
    document.getElementById("live-updated").textContent = report.updated;
  }

  function refresh() {
    pending = null;
    if (fetching) { again = true; return; } // one fetch at a time; the next reads it all
    fetching = true;
    fetch(root.dataset.figures, {
      cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" }
    })
      .then(function (r) {
        // Signed out meanwhile: the figures' URL sends the sign-in page instead.
        if (!r.ok || r.redirected) throw new Error(String(r.status));
        return r.json();
      })
      .then(function (report) {
        draw(report);
        fetchedAt = Date.now();
        if (source && source.readyState === EventSource.OPEN) say("");
      })
      .catch(function () { say(connection.dataset.stopped); })
      .finally(function () {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  }

  function soon() {
    if (!pending) pending = setTimeout(refresh, 300); // one refresh for a burst of events
  }

  function connect() {
    if (source) source.close();
    heardAt = Date.now();
    source = new EventSource(root.dataset.stream);
    FLOOR_EVENTS.forEach(function (kind) {
      source.addEventListener(kind, function () { heardAt = Date.now(); soon(); });
    });
    source.addEventListener("ping", function () {
      heardAt = Date.now();
      if (Date.now() - fetchedAt >= STALE_MS) soon();
    });
    source.onopen = function () { say(""); };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        // An HTTP error (signed out, no longer the office's manager): no retry by itself.
        say(connection.dataset.stopped);
        setTimeout(connect, 30000);
      } else {
        say(connection.dataset.reconnecting);
      }
    };
  }

  setInterval(function () {
    if (Date.now() - heardAt > SILENT_MS) connect();
  }, 5000);
  connect();
})();
