// Counter page: the waiting list follows the floor's event stream, the timers tick from
// the server's time, the open page keeps the clerk's seat (a heartbeat), and single keys
// press the main buttons.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) return;
  var pending = null;
  var submitting = false;
  // The server's clock minus this PC's: timers count from the server's times.
  var offset = 0;

  function syncClock(serverNow) {
    var at = Date.parse(serverNow || "");
    if (!isNaN(at)) offset = at - Date.now();
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function stopwatch(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }

  function tick() {
    var now = Date.now() + offset;
    live.querySelectorAll(".timer[data-since]").forEach(function (el) {
      el.textContent = stopwatch(Math.max(0, Math.floor((now - Date.parse(el.dataset.since)) / 1000)));
    });
    live.querySelectorAll(".minutes[data-since]").forEach(function (el) {
      el.textContent = String(Math.max(0, Math.floor((now - Date.parse(el.dataset.since)) / 60000)));
    });
    live.querySelectorAll(".long-mark[data-long-from]").forEach(function (el) {
      var long = now >= Date.parse(el.dataset.longFrom);
      el.hidden = !long;
      var row = el.closest("tr");
      if (row) row.classList.toggle("long", long);
    });
  }

  function refresh() {
    pending = null;
    if (document.activeElement && document.activeElement.tagName === "SELECT") {
      pending = setTimeout(refresh, 1000); // not under the clerk's open list: try again soon
      return;
    }
    fetch(window.location.pathname, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (!fresh) return;
        syncClock(fresh.dataset.now);
        live.replaceChildren.apply(live, Array.prototype.slice.call(fresh.childNodes));
        tick();
      });
  }

  function csrfToken() {
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  // The seat is a lease: renewed while this page is open. Freed meanwhile (the PC slept
  // past the lease), the page reloads and asks for a counter again.
  function keepSeat() {
    var body = new FormData();
    body.append("csrf_token", csrfToken());
    fetch(live.dataset.keep, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
    })
      .then(function (r) {
        if (r.redirected || r.status === 400 || r.status === 401 || r.status === 403) {
          window.location.reload(); // signed out meanwhile, or a stale token
          return null;
        }
        return r.ok ? r.json() : null;
      })
      .then(function (answer) {
        if (answer && answer.seated === false) window.location.reload();
      })
      .catch(function () { /* offline for a moment: the next beat tries again */ });
  }

  // Single keys press the buttons that show them (N, R, S, F, P), never while typing.
  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.repeat || event.ctrlKey || event.altKey || event.metaKey) return;
    if (typing(event.target) || submitting || !event.key || event.key.length !== 1) return;
    var button = live.querySelector('button[data-key="' + event.key.toLowerCase() + '"]');
    if (!button || button.disabled) return;
    event.preventDefault();
    press(button);
  });

  // One press, one action: keys rest while the form is on its way and the page is replaced.
  // A press that sent nothing (a check or a handler stopped the form), a page shown again
  // (Back), or a load that never replaced the page (stopped, lost) gives the keys back.
  var KEYS_BACK_AFTER = 15000;
  function press(button) {
    var sent = null;
    function seen(event) { sent = event; }
    document.addEventListener("submit", seen);
    submitting = true;
    try {
      button.click(); // the submit event is dispatched within the click
    } finally {
      document.removeEventListener("submit", seen);
    }
    if (!sent || sent.defaultPrevented) {
      submitting = false;
      return;
    }
    setTimeout(function () { submitting = false; }, KEYS_BACK_AFTER);
  }
  window.addEventListener("pageshow", function () { submitting = false; });

  syncClock(live.dataset.now);
  tick();
  setInterval(tick, 1000);

  if (live.dataset.keep) {
    var every = Math.max(5, Number(live.dataset.keepSeconds) || 60) * 1000;
    keepSeat();
    setInterval(keepSeat, every);
  }

  if (!window.EventSource) return;
  var source = new EventSource(live.dataset.stream);
  ["update", "call", "recall", "serve", "finish", "park", "no_show", "transfer", "urgent", "refuse"].forEach(
    function (kind) {
      source.addEventListener(kind, function () {
        if (!pending) pending = setTimeout(refresh, 300); // one refresh for a burst
      });
    }
  );
})();
