// Lobby display: Server-Sent Events with replay, a watchdog, and a polling fallback.
(function () {
  "use strict";
  var root = document.getElementById("display");
  var callsList = document.getElementById("calls");
  var waitingList = document.getElementById("waiting");
  var notices = document.getElementById("notices");
  var idleNotices = document.getElementById("idle-notices");
  var hours = document.getElementById("hours");
  var connection = document.getElementById("connection");
  var stale = document.getElementById("stale");
  var lang = root.dataset.lang;
  var announceTemplate = root.dataset.announce;
  var waitTemplate = root.dataset.wait;
  // This screen's part of the office (several displays in one lobby): null shows all.
  var shown = JSON.parse(root.dataset.shown || "{}");
  var timeFormat = new Intl.DateTimeFormat(document.documentElement.lang,
    { hour: "2-digit", minute: "2-digit", timeZone: root.dataset.timezone });
  var SHOWN_CALLS = 8;
  var calls = [];          // newest first: {id, ticket, counter, at, status}
  var stateId = 0;         // events up to this id are already in the last state
  var lastId = -1;         // the newest event this page has seen (0: none yet), to resume from
  var lastSeen = Date.now();
  var source = null;
  var pollTimer = null;
  var failures = 0;
  var audio = null;
  var live = false;        // the stream is open, or the last poll answered
  // The idle screen lists the calls of the last recentMs by the server's clock (its offset
  // from this TV's clock is skew): a resident who looked away still finds their number.
  var recentMs = 0;
  var skew = 0;
  var shownPast = "";      // the ids the idle screen lists now, to notice one expiring

  function text(tag, cls, value) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    el.textContent = value;
    return el;
  }

  function callShown(call) {
    return (!shown.services || shown.services.indexOf(call.service) >= 0) &&
      (!shown.counters || shown.counters.indexOf(call.counter_id) >= 0);
  }

  function asCall(data) {
    return { id: data.ticket_id, ticket: data.ticket, counter: data.counter, at: data.at,
      status: data.status || "called" };
  }

  function clockTime(iso) {
    var at = iso ? new Date(iso) : null;
    return at && !isNaN(at) ? timeFormat.format(at) : "";
  }

  // Each region shrinks its own text (--fit) until nothing in it is cut off.
  function fit() {
    Array.prototype.forEach.call(root.children, function (region) {
      var scale = 1;
      region.style.setProperty("--fit", "1");
      while (scale > 0.5 && (region.scrollHeight > region.clientHeight + 1 ||
          region.scrollWidth > region.clientWidth + 1)) {
        scale -= 0.05;
        region.style.setProperty("--fit", scale.toFixed(2));
      }
    });
  }

  function recent(call) {
    var at = Date.parse(call.at);
    return !isNaN(at) && Date.now() + skew - at < recentMs;
  }

  function pastCalls() {
    return calls.filter(recent).slice(0, SHOWN_CALLS);
  }

  function idsOf(list) {
    return list.map(function (c) { return c.id; }).join(",");
  }

  // Idle when no resident is being called or served: hours, notices and counts, with the
  // calls of the last few minutes (plainly past ones) until there are none.
  function render(freshId) {
    var busy = calls.some(function (c) { return c.status === "called" || c.status === "serving"; });
    var list = busy ? calls.slice(0, SHOWN_CALLS) : pastCalls();
    shownPast = busy ? "" : idsOf(list);
    callsList.replaceChildren();
    list.forEach(function (call, index) {
      var li = document.createElement("li");
      var state = call.status === "called" ? " current" : (call.status === "serving" ? "" : " done");
      li.className = busy ? "call" + state + (index === 0 ? " newest" : "") + (call.id === freshId ? " blink" : "")
        : "call done past";
      li.dataset.ticket = call.ticket;
      li.append(text("span", "call-ticket", call.ticket), text("span", "call-arrow", "→"),
        text("span", "call-counter", call.counter || ""), text("span", "call-time", clockTime(call.at)));
      callsList.append(li);
    });
    root.classList.toggle("idle-mode", !busy);
    root.classList.toggle("recent-mode", !busy && list.length > 0);
    fit();
  }

  // The server's time and window, from a state: the end of the window needs no event.
  function setClock(state) {
    var now = Date.parse(state.now);
    if (!isNaN(now)) skew = now - Date.now();
    if (typeof state.recent_minutes === "number") recentMs = state.recent_minutes * 60000;
  }

  function renderWaiting(waiting) {
    if (!waiting) return;
    waitingList.replaceChildren();
    waiting.forEach(function (line) {
      if (shown.lines && shown.lines.indexOf(line.service) < 0) return;
      var li = document.createElement("li");
      li.dataset.service = line.service;
      var name = line.names[document.documentElement.lang] || line.names[lang] || line.names.en || line.service;
      li.append(text("span", "prefix", line.prefix), text("span", "name", name),
        text("strong", "count", String(line.waiting)));
      if (line.waiting && line.wait_minutes !== null && line.wait_minutes !== undefined) {
        li.append(text("span", "estimate", line.wait_minutes > 0 ?
          waitTemplate.replace("{minutes}", line.wait_minutes) : root.dataset.noWait));
      }
      waitingList.append(li);
    });
    fit();
  }

  function renderNotices(all, openHours) {
    var list = (all && (all[document.documentElement.lang] || all[lang] || all.en)) || [];
    notices.replaceChildren();
    idleNotices.replaceChildren();
    list.forEach(function (line) {
      notices.append(text("p", "notice", line));
      idleNotices.append(text("p", "notice", line));
    });
    notices.hidden = !list.length;
    if (openHours) hours.textContent = openHours.length ? openHours.join(", ") : root.dataset.closed;
    fit();
  }

  function seen(id) {
    if (id > lastId) lastId = id;
  }

  function setLive(on) {
    live = on;
    root.classList.toggle("stale-mode", !on);
    stale.hidden = on;
    fit(); // the banner takes room from the calls
  }

  function applyState(state) {
    stateId = state.last_event_id || 0;
    seen(stateId);
    calls = state.calls.filter(function (c) { return c.counter && callShown(c); }).map(asCall);
    setClock(state);
    render(null);
    renderWaiting(state.waiting);
    renderNotices(state.notices, state.hours);
    setLive(true);
  }

  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [660, 880].forEach(function (freq, i) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        var start = audio.currentTime + i * 0.35;
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, start);
        gain.gain.exponentialRampToValueAtTime(0.3, start + 0.03);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.3);
        osc.connect(gain).connect(audio.destination);
        osc.start(start);
        osc.stop(start + 0.32);
      });
    } catch (e) { /* no audio device: the blinking still shows the call */ }
  }

  // The voice list fills in asynchronously: look again when it changes.
  var voices = [];
  function loadVoices() { voices = window.speechSynthesis ? speechSynthesis.getVoices() : []; }
  if (window.speechSynthesis) {
    loadVoices();
    speechSynthesis.addEventListener("voiceschanged", loadVoices);
  }
  function localVoice() {
    return voices.filter(function (v) {
      return v.localService && v.lang.toLowerCase().indexOf(lang) === 0;
    })[0];
  }

  function speak(call) {
    if (!("speechSynthesis" in window)) return;
    // "A023" is read as "A 0 2 3"; only voices on the device are used, so no network.
    var words = announceTemplate.replace("{ticket}", call.ticket.split("").join(" "))
      .replace("{counter}", call.counter || "");
    var utterance = new SpeechSynthesisUtterance(words);
    utterance.lang = lang;
    var voice = localVoice();
    if (voice) utterance.voice = voice;
    speechSynthesis.speak(utterance);
  }

  function onCall(event) {
    var id = Number(event.lastEventId || 0);
    var data = JSON.parse(event.data);
    seen(id);
    lastSeen = Date.now();
    renderWaiting(data.waiting);
    if (id && id <= stateId) return; // replayed and already in the state
    if (!callShown(data)) return;    // another display's part of the office
    calls = calls.filter(function (c) { return c.id !== data.ticket_id; });
    calls.unshift(asCall(data));
    render(data.ticket_id);
    chime();
    setTimeout(function () { speak(data); }, 800);
  }

  function onUpdate(event) {
    lastSeen = Date.now();
    var id = Number(event.lastEventId || 0);
    seen(id);
    var data = JSON.parse(event.data || "{}");
    renderWaiting(data.waiting);
    if (id && id <= stateId) return;
    // A called ticket now served, finished or sent back: no longer a current call.
    var call = calls.filter(function (c) { return c.id === data.ticket_id; })[0];
    if (call && data.status && call.status !== data.status) {
      call.status = data.status;
      render(null);
    }
  }

  function stopPolling() {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  function poll() {
    fetch(root.dataset.state, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (state) {
        var known = {};
        calls.forEach(function (c) { known[c.id] = true; });
        var fresh = state.calls.filter(function (c) {
          return c.counter && c.status === "called" && !known[c.ticket_id] && callShown(c);
        });
        applyState(state);
        if (fresh.length) { chime(); speak(fresh[0]); render(fresh[0].ticket_id); }
        lastSeen = Date.now();
      })
      .catch(function () { connection.hidden = false; setLive(false); });
  }

  function startPolling() {
    if (pollTimer) return;
    poll();
    pollTimer = setInterval(poll, 3000);
  }

  function connect() {
    if (source) source.close();
    // A new EventSource sends no Last-Event-ID: name the last event seen, so calls made
    // while the page was cut off are replayed and announced.
    source = new EventSource(root.dataset.stream + (lastId >= 0 ? "?last_event_id=" + lastId : ""));
    source.addEventListener("state", function (e) { lastSeen = Date.now(); applyState(JSON.parse(e.data)); });
    source.addEventListener("call", onCall);
    source.addEventListener("recall", onCall);
    ["update", "serve", "finish", "park", "no_show", "transfer", "urgent", "refuse", "ping"].forEach(function (kind) {
      source.addEventListener(kind, onUpdate);
    });
    source.onopen = function () { failures = 0; connection.hidden = true; stopPolling(); };
    source.onerror = function () {
      failures += 1;
      connection.hidden = false;
      // Until the stream or a poll answers again, the calls shown may be out of date.
      if (!pollTimer) setLive(false);
      // An HTTP error closes the stream for good (no retry): poll at once. Otherwise the
      // browser retries by itself; after three failures in a row, poll meanwhile.
      if (source.readyState === EventSource.CLOSED || failures >= 3) {
        source.close();
        startPolling();
        setTimeout(connect, 30000);
      }
    };
  }

  window.addEventListener("offline", function () { connection.hidden = false; setLive(false); });
  window.addEventListener("online", function () { connect(); });
  window.addEventListener("resize", fit);

  // Watchdog: the stream sends a ping at least every 15 s; silence means a dead connection.
  setInterval(function () {
    if (!pollTimer && Date.now() - lastSeen > 40000) {
      lastSeen = Date.now();
      connection.hidden = false;
      setLive(false);
      connect();
    }
  }, 5000);

  // Once a minute: the wait estimates move with the clock while a counter stays busy (no
  // floor event says so), today's hours and notices change at midnight, and the server's
  // time is read again, should the TV's clock drift. The calls are left alone: rebuilding
  // them would announce them again to a screen reader. A state older than the stream's
  // last event would put back older counts, so it is dropped.
  setInterval(function () {
    fetch(root.dataset.state, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state) return;
        setClock(state);
        renderNotices(state.notices, state.hours);
        if ((state.last_event_id || 0) >= lastId) renderWaiting(state.waiting);
      })
      .catch(function () { /* the stream's own handling shows a lost connection */ });
  }, 60000);

  // A past call leaves the idle screen once older than the window; the last one gone,
  // the screen is hours, notices and counts alone.
  setInterval(function () {
    if (root.classList.contains("recent-mode") && idsOf(pastCalls()) !== shownPast) render(null);
  }, 10000);

  // The office's time, whatever time zone the TV itself was set to.
  function tick() {
    document.getElementById("clock").textContent = timeFormat.format(new Date());
  }
  tick();
  setInterval(tick, 1000);

  window.okienkoDisplay = { connect: connect, startPolling: startPolling, fit: fit };
  render(null);
  connect();
})();
