// The public state of the counters: the office's stream says "changed", the page refetches
// the figures (state.json) and redraws them in place. Without EventSource it polls.
(function () {
  "use strict";
  var root = document.getElementById("public-queue");
  if (!root || !window.fetch) return;
  var connection = root.querySelector('[data-field="connection"]');
  // A quiet floor still pings every 15 s; the estimates drift with the clock, so a ping
  // refreshes figures older than this.
  var STALE_MS = 60000;
  var SILENT_MS = 45000; // no event nor ping for this long: the connection is dead
  var GAP_MS = 2000; // at most one fetch per this long, however busy the floor
  var source = null;
  var pending = null;
  var fetching = false;
  var again = false;
  var fetchedAt = Date.now();
  var heardAt = Date.now();

  function say(text) {
    if (connection.textContent !== text) connection.textContent = text;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function drawServing(serving) {
    var list = root.querySelector('[data-list="serving"]');
    list.replaceChildren.apply(list, serving.map(function (s) {
      var tile = element("li", "pq-tile is-" + s.status);
      tile.append(element("span", "pq-ticket", s.ticket), " ",
        element("span", "pq-counter", s.counter), " ",
        element("span", "pq-state", s.status_text));
      return tile;
    }));
    root.querySelector('[data-empty="serving"]').hidden = serving.length > 0;
  }

  function drawServices(services) {
    var body = root.querySelector('[data-list="services"]');
    body.replaceChildren.apply(body, services.map(function (line) {
      var row = element("tr");
      var name = element("th", "", line.name);
      name.scope = "row";
      row.append(name, element("td", "pq-num", String(line.waiting)), element("td", "", line.wait));
      return row;
    }));
  }

  function draw(board) {
    drawServing(board.serving);
    drawServices(board.services);
    ["hours_text", "counters_text", "updated_text"].forEach(function (key) {
      var field = root.querySelector('[data-field="' + key + '"]');
      if (field.textContent !== board[key]) field.textContent = board[key];
    });
    root.querySelector('[data-field="hours_text"]').classList.toggle("is-open", board.open_now);
  }

  function refresh() {
    pending = null;
    if (fetching) { again = true; return; } // one fetch at a time; the next reads it all
    fetching = true;
    fetch(root.dataset.state, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      })
      .then(function (board) {
        draw(board);
        fetchedAt = Date.now();
        if (!source || source.readyState === EventSource.OPEN) say("");
      })
      .catch(function () { say(root.dataset.stopped); })
      .finally(function () {
        fetching = false;
        if (again) { again = false; soon(); }
      });
  }

  function soon() {
    // One refresh for a burst of events, and never more often than GAP_MS.
    if (!pending) pending = setTimeout(refresh, Math.max(300, fetchedAt + GAP_MS - Date.now()));
  }

  function connect() {
    if (source) source.close();
    heardAt = Date.now();
    source = new EventSource(root.dataset.stream);
    source.addEventListener("changed", function () { heardAt = Date.now(); soon(); });
    source.addEventListener("ping", function () {
      heardAt = Date.now();
      if (Date.now() - fetchedAt >= STALE_MS) soon();
    });
    source.onopen = function () { say(""); };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        // An HTTP error (too many requests, the office gone): no retry by itself.
        say(root.dataset.stopped);
        setTimeout(connect, 30000);
      } else {
        say(root.dataset.reconnecting);
      }
    };
  }

  if (!window.EventSource) {
    setInterval(refresh, 30000);
    return;
  }
  setInterval(function () {
    if (Date.now() - heardAt > SILENT_MS) connect();
  }, 5000);
  connect();
})();
