// Kiosk pages after the start page (ticket, questions, refusal, no more tickets): the Print
// button, printing the ticket at once (silently where Chromium runs with --kiosk-printing),
// and back to the start page after a visible countdown, so the next resident starts afresh
// in the office's language.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  // ?print=1 marks the first view of a new ticket: the address drops it at once, so a
  // reload (or a language switch) shows the ticket without printing a second slip.
  var url = new URL(window.location.href);
  if (url.searchParams.has("print")) {
    url.searchParams.delete("print");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  if (document.querySelector("[data-print-on-load]")) {
    // After the QR image: a slip printed before it loads would lack it.
    window.addEventListener("load", function () { window.print(); });
  }
  var home = document.getElementById("return-home");
  if (!home) return;
  var shown = document.getElementById("countdown-seconds");
  var seconds = Number(home.dataset.seconds);
  var deadline = Date.now() + seconds * 1000;
  // A resident still tapping or typing is still here: the full time again.
  ["pointerdown", "input", "keydown"].forEach(function (name) {
    document.addEventListener(name, function () { deadline = Date.now() + seconds * 1000; }, true);
  });
  function tick() {
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    if (shown) shown.textContent = String(left);
    if (left <= 0) {
      window.location = home.dataset.url;
      return;
    }
    setTimeout(tick, 250);
  }
  tick();
})();
