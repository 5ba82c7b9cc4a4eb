// The resident's phone ticket: its own status from its own event stream (never other
// residents'), and an alert when it is called: vibration, a sound once the resident turned
// it on, a notification where they allowed one, and a full-screen "go to counter" view.
(function () {
  "use strict";
  var root = document.getElementById("phone-ticket");
  var text = root.dataset;
  var headline = document.getElementById("headline");
  var waitLine = document.getElementById("wait");
  var connection = document.getElementById("connection");
  var called = document.getElementById("called");
  var calledLine = document.getElementById("called-line");
  var calledCounter = document.getElementById("called-counter");
  var okButton = document.getElementById("called-ok");
  var soundButton = document.getElementById("sound-button");
  var notifyButton = document.getElementById("notify-button");
  var notifyState = document.getElementById("notify-state");
  var WATCHDOG_MS = 45000;  // the stream pings every 15 s: silence this long is a dead link
  var LOST_AFTER_MS = 1500; // a quick reconnect (the stream's planned end) says nothing

  var status = JSON.parse(text.status);
  var dismissedKey = "okienko.called." + text.stream;
  var source = null;
  var audio = null;
  var lastSeen = Date.now();
  var lostTimer = null;
  var retryTimer = null;
  var RETRY_FIRST_MS = 5000;  // a refused stream is tried again after this, then twice as
  var RETRY_MAX_MS = 60000;   // long each time up to a minute, not every few seconds forever
  var retryMs = RETRY_FIRST_MS;
  // Each call and recall is known by its instant (called_at, fixed ISO form in UTC: a later
  // one compares greater as text). The count of calls cannot serve: parking, a transfer or
  // a released seat set it back to 0. A call already on the screen when the page opened
  // (a reload, a language switch) is shown, not announced again; each later one is.
  var alertedCall = status.called_at || "";

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return values[key] === undefined ? all : String(values[key]);
    });
  }

  function inLine(s) {
    return !s.closed && (s.status === "waiting" || s.status === "transferred");
  }

  function headlineText(s) {
    if (s.closed) return text.closed;
    if (s.status === "called" && s.counter) return fill(text.called, s);
    if (s.status === "serving" && s.counter) return fill(text.serving, s);
    if (s.status === "parked") return text.parked;
    if (s.next) return text.next;
    return fill(text.ahead, s);
  }

  function waitText(s) {
    if (!inLine(s)) return "";
    if (!s.wait_range) return text.unknown;
    var values = { low: s.wait_range[0], high: s.wait_range[1] };
    return fill(s.wait_range[0] === 0 ? text.under : text.range, values);
  }

  function dismissed() {
    try { return sessionStorage.getItem(dismissedKey) || ""; } catch (e) { return ""; }
  }

  function showCalled(s) {
    calledLine.textContent = fill(text.called, s);
    calledCounter.textContent = s.counter;
    if (!called.hidden) return;
    called.hidden = false;
    okButton.focus();
  }

  function hideCalled() {
    if (called.hidden) return;
    var hadFocus = called.contains(document.activeElement);
    called.hidden = true;
    if (hadFocus) headline.focus();
  }

  function render(s) {
    status = s;
    headline.textContent = headlineText(s);
    headline.classList.toggle("is-next", inLine(s) && !!s.next);
    waitLine.textContent = waitText(s);
    var call = s.called_at || "";
    var isCalled = !s.closed && s.status === "called" && s.counter && call;
    if (isCalled && call > alertedCall) {
      alertedCall = call;
      announce(s);
    }
    if (isCalled && call > dismissed()) showCalled(s);
    else hideCalled();
    if (s.closed) finish();
  }

  // --- Alerts -------------------------------------------------------------------------

  function announce(s) {
    if (navigator.vibrate) navigator.vibrate([500, 200, 500, 200, 500]);
    if (soundButton.getAttribute("aria-pressed") === "true") chime();
    if (window.Notification && Notification.permission === "granted") {
      notify(fill(text.noticeTitle, s), {
        body: fill(text.called, s),
        // One tag per ticket: a later call replaces the earlier one's notification.
        tag: dismissedKey, renotify: true,
        data: { url: location.href.split("#")[0] },
      });
    }
  }

  // Android's Chrome shows notifications only through a service worker (its Notification
  // constructor throws), so the worker is the way wherever there is one; the constructor
  // only where there is none, or it could not be registered. It is registered once the
  // resident allowed notifications: nobody else needs it.
  var worker = null;
  function startWorker() {
    if (worker || !navigator.serviceWorker) return;
    worker = navigator.serviceWorker.register(text.worker).then(function () {
      return navigator.serviceWorker.ready;  // showNotification needs an active worker
    });
    worker.catch(function () { worker = null; });
  }

  function notify(title, options) {
    if (worker) {
      worker.then(function (registration) {
        return registration.showNotification(title, options);
      }).catch(function () { pageNotification(title, options); });
    } else {
      pageNotification(title, options);
    }
  }

  function pageNotification(title, options) {
    try {
      new Notification(title, options);
    } catch (e) {
      // No way to notify here: the vibration and the full-screen view still say it.
    }
  }

  function chime() {
    if (!audio) return;
    try {
      audio.resume();
      [660, 880, 660, 880].forEach(function (freq, i) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        var start = audio.currentTime + i * 0.35;
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, start);
        gain.gain.exponentialRampToValueAtTime(0.4, start + 0.03);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.3);
        osc.connect(gain).connect(audio.destination);
        osc.start(start);
        osc.stop(start + 0.32);
      });
    } catch (e) { /* no sound here: vibration and the screen remain */ }
  }

  function setSound(on) {
    soundButton.setAttribute("aria-pressed", on ? "true" : "false");
    soundButton.textContent = on ? soundButton.dataset.on : soundButton.dataset.off;
  }

  var AudioContextClass = window.AudioContext || window.webkitAudioContext;
  if (AudioContextClass) {
    soundButton.hidden = false;
    soundButton.addEventListener("click", function () {
      if (soundButton.getAttribute("aria-pressed") === "true") { setSound(false); return; }
      // Browsers let a page play sound only after a tap: this one unlocks it.
      try { audio = audio || new AudioContextClass(); } catch (e) { return; }
      setSound(true);
      chime();
    });
  }

  function showPermission() {
    var permission = window.Notification ? Notification.permission : "unsupported";
    if (permission === "granted") startWorker();
    notifyButton.hidden = permission !== "default";
    notifyState.textContent = permission === "granted" ? notifyState.dataset.granted
      : permission === "denied" ? notifyState.dataset.denied : "";
  }

  if (window.Notification) {
    // Asked only when the resident taps the button, never on load.
    notifyButton.addEventListener("click", function () {
      var asked = Notification.requestPermission(showPermission);
      if (asked && asked.then) asked.then(showPermission);
    });
    showPermission();
  }

  okButton.addEventListener("click", function () {
    try { sessionStorage.setItem(dismissedKey, status.called_at || ""); } catch (e) { /* private mode */ }
    hideCalled();
  });

  // --- The stream ---------------------------------------------------------------------

  function setConnection(state) {
    clearTimeout(lostTimer);
    if (state === "lost" && !connection.classList.contains("is-lost")) {
      // Shown only if the browser's own reconnect does not succeed at once.
      lostTimer = setTimeout(function () { setConnection("lost-now"); }, LOST_AFTER_MS);
      return;
    }
    var lost = state === "lost-now" || state === "lost" || state === "refused";
    connection.classList.toggle("is-lost", lost);
    connection.textContent = state === "done" ? "" : state === "refused"
      ? fill(text.refused, { seconds: Math.round(retryMs / 1000) }) : lost ? text.lost
      : state === "live" ? text.live : text.connecting;
  }

  function finish() {
    document.getElementById("alerting").hidden = true;  // nothing more to alert about
    clearTimeout(retryTimer);
    if (source) source.close();
    source = null;
    setConnection("done");
  }

  function connect() {
    clearTimeout(retryTimer);
    if (source) source.close();
    lastSeen = Date.now();
    source = new EventSource(text.stream);
    source.addEventListener("open", function () {
      lastSeen = Date.now();
      retryMs = RETRY_FIRST_MS;
      setConnection("live");
    });
    source.addEventListener("status", function (event) {
      lastSeen = Date.now();
      retryMs = RETRY_FIRST_MS;
      setConnection("live");
      render(JSON.parse(event.data));
    });
    source.addEventListener("ping", function () { lastSeen = Date.now(); });
    source.addEventListener("error", function () {
      if (status.closed || !source) return;
      // The browser retries by itself unless the server refused (an HTTP error: too many
      // windows, too many requests): then we do, less and less often, and say when.
      if (source.readyState !== EventSource.CLOSED) { setConnection("lost"); return; }
      source.close();
      source = null;  // the watchdog waits for the retry below too
      setConnection("refused");
      retryTimer = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    });
  }

  setInterval(function () {
    if (source && !status.closed && Date.now() - lastSeen > WATCHDOG_MS) {
      setConnection("lost-now");
      connect();
    }
  }, 5000);
  window.addEventListener("offline", function () { if (source) setConnection("lost-now"); });
  window.addEventListener("online", function () { if (source) connect(); });

  render(status);
  if (!status.closed) {
    setConnection("connecting");
    connect();
  }
})();
