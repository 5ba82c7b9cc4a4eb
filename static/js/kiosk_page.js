// Kiosk pages after the start page (ticket, questions, refusal): the Print button, and back
// to the start page after a while, so the next resident starts afresh in the office's language.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  var home = document.getElementById("return-home");
  if (home) {
    setTimeout(function () { window.location = home.dataset.url; }, Number(home.dataset.seconds) * 1000);
  }
})();
