// The resident's phone: place in line and estimated wait, refreshed every few seconds.
(function () {
  "use strict";
  var page = document.querySelector(".status-page");
  var line = document.getElementById("status-line");
  var wait = document.getElementById("wait-line");

  function update() {
    fetch(page.dataset.url, { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.counter && (s.status === "called" || s.status === "serving")) {
          line.textContent = line.dataset.called.replace("{counter}", s.counter);
          wait.textContent = "";
          if (navigator.vibrate) navigator.vibrate(400);
        } else if (s.status === "waiting" || s.status === "transferred") {
          line.textContent = line.dataset.waiting.replace("{ahead}", s.ahead);
          wait.textContent = s.wait_minutes === null ? "" : line.dataset.wait.replace("{minutes}", s.wait_minutes);
        } else {
          line.textContent = line.dataset.closed;
          wait.textContent = "";
          clearInterval(timer);
        }
      })
      .catch(function () { /* keep the last known state until the network is back */ });
  }

  var timer = setInterval(update, 5000);
})();
