// Kiosk: a USB scanner types the QR payload and Enter into the focused field;
// the camera button decodes QR codes from the device camera with the vendored jsQR.
(function () {
  "use strict";
  var input = document.getElementById("code");
  var form = document.getElementById("checkin-form");
  var button = document.getElementById("camera-button");
  var video = document.getElementById("camera");
  var canvas = document.getElementById("camera-frame");
  var status = document.getElementById("camera-status");
  var stream = null;
  var giveUp = null;
  var starting = false;
  var CAMERA_SECONDS = 60; // a public camera is not left running when nobody scans

  // The on-screen keypad types into the real field: a kiosk has no keyboard.
  var keypad = document.getElementById("keypad");
  if (keypad) {
    keypad.addEventListener("click", function (event) {
      var key = event.target.closest("[data-key]");
      if (!key) return;
      var value = input.value;
      if (key.dataset.key === "back") value = value.slice(0, -1);
      else if (key.dataset.key === "clear") value = "";
      else if (value.length < input.maxLength) value += key.dataset.key;
      input.value = value;
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.focus(); // a USB scan afterwards still lands in the field
    });
  }

  // Keep the field focused so a scan always lands in it, unless a button is being used.
  setInterval(function () {
    if (document.activeElement === document.body || !document.activeElement) input.focus();
  }, 1000);

  function stop() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.hidden = true;
    clearTimeout(giveUp);
  }

  function scan() {
    if (!stream) return;
    if (video.readyState >= 2 && video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      var context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var found = window.jsQR && window.jsQR(image.data, image.width, image.height);
      if (found && found.data) {
        stop();
        input.value = found.data;
        form.submit();
        return;
      }
    }
    requestAnimationFrame(scan);
  }

  button.addEventListener("click", function () {
    // Back to the field: a USB scan now would otherwise type into the button and its
    // Enter would press the button again.
    input.focus();
    if (stream || starting) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status.textContent = button.dataset.unavailable || "";
      return;
    }
    starting = true;
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false })
      .then(function (s) {
        starting = false;
        stream = s;
        giveUp = setTimeout(stop, CAMERA_SECONDS * 1000);
        video.srcObject = s;
        video.hidden = false;
        return video.play();
      })
      .then(function () { requestAnimationFrame(scan); })
      .catch(function () {
        starting = false;
        status.textContent = button.dataset.unavailable || "";
        stop();
      });
  });
})();
