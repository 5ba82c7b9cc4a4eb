// Lobby display: Server-Sent Events with replay, a watchdog, and a polling fallback.
(function () {
  "use strict";
  var root = document.getElementById("display");
  var callsList = document.getElementById("calls");
  var waitingList = document.getElementById("waiting");
  var notices = document.getElementById("notices");
  var connection = document.getElementById("connection");
  var lang = root.dataset.lang;
  var announceTemplate = root.dataset.announce;
  var waitTemplate = root.dataset.wait;
  var calls = [];          // newest first
  var stateId = 0;         // events up to this id are already in the last state
  var lastId = -1;         // the newest event this page has seen (0: none yet), to resume from
  var lastSeen = Date.now();
  var source = null;
  var pollTimer = null;
  var failures = 0;
  var audio = null;

  function text(tag, cls, value) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    el.textContent = value;
    return el;
  }

  function renderCalls(freshId) {
    callsList.replaceChildren();
    calls.slice(0, 6).forEach(function (call, index) {
      var li = document.createElement("li");
      li.className = "call" + (index === 0 ? " newest" : "") + (call.id === freshId ? " blink" : "");
      li.dataset.ticket = call.ticket;
      li.append(text("span", "call-ticket", call.ticket), text("span", "call-arrow", "→"),
        text("span", "call-counter", call.counter || ""));
      callsList.append(li);
    });
  }

  function renderWaiting(waiting) {
    if (!waiting) return;
    waitingList.replaceChildren();
    waiting.forEach(function (line) {
      var li = document.createElement("li");
      var name = line.names[document.documentElement.lang] || line.names[lang] || line.names.en || line.service;
      li.append(text("span", "prefix", line.prefix), text("span", "", " " + name + " "),
        text("strong", "count", String(line.waiting)));
      if (line.waiting && line.wait_minutes !== null && line.wait_minutes !== undefined) {
        li.append(text("span", "estimate", waitTemplate.replace("{minutes}", line.wait_minutes)));
      }
      waitingList.append(li);
    });
  }

  function renderNotices(all) {
    notices.replaceChildren();
    var list = (all && (all[document.documentElement.lang] || all[lang] || all.en)) || [];
    list.forEach(function (line) { notices.append(text("p", "notice", line)); });
  }

  function seen(id) {
    if (id > lastId) lastId = id;
  }

  function applyState(state) {
    stateId = state.last_event_id || 0;
    seen(stateId);
    calls = state.calls.filter(function (c) { return c.counter; }).map(function (c) {
      return { id: c.ticket_id, ticket: c.ticket, counter: c.counter };
    });
    renderCalls(null);
    renderWaiting(state.waiting);
    renderNotices(state.notices);
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
    calls = calls.filter(function (c) { return c.id !== data.ticket_id; });
    calls.unshift({ id: data.ticket_id, ticket: data.ticket, counter: data.counter });
    renderCalls(data.ticket_id);
    chime();
    setTimeout(function () { speak(data); }, 800);
  }

  function onUpdate(event) {
    lastSeen = Date.now();
    seen(Number(event.lastEventId || 0));
    var data = JSON.parse(event.data || "{}");
    renderWaiting(data.waiting);
  }

  function stopPolling() {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  function poll() {
    fetch(root.dataset.state, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (state) {
        var known = {};
        calls.forEach(function (c) { known[c.id] = true; });
        var fresh = state.calls.filter(function (c) { return c.counter && !known[c.ticket_id]; });
        applyState(state);
        if (fresh.length) { chime(); speak(fresh[0]); renderCalls(fresh[0].ticket_id); }
        lastSeen = Date.now();
      })
      .catch(function () { connection.hidden = false; });
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
      // An HTTP error closes the stream for good (no retry): poll at once. Otherwise the
      // browser retries by itself; after three failures in a row, poll meanwhile.
      if (source.readyState === EventSource.CLOSED || failures >= 3) {
        source.close();
        startPolling();
        setTimeout(connect, 30000);
      }
    };
  }

  // Watchdog: the stream sends a ping at least every 15 s; silence means a dead connection.
  setInterval(function () {
    if (!pollTimer && Date.now() - lastSeen > 40000) { lastSeen = Date.now(); connect(); }
  }, 5000);

  setInterval(function () {
    document.getElementById("clock").textContent =
      new Date().toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
  }, 1000);

  window.okienkoDisplay = { connect: connect, startPolling: startPolling };
  connect();
})();
