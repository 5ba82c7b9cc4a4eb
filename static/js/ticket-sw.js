// The phone ticket's service worker, served as /t/ticket-sw.js so that its scope is /t/.
// It exists only because Android's Chrome shows notifications through a service worker
// alone: it caches nothing, handles no fetch and no push; a tap on the notification
// brings the ticket's page back to the front, or opens it again.
"use strict";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var data = event.notification.data || {};
  var url;
  try { url = new URL(data.url, self.location.href); } catch (e) { return; }
  if (url.origin !== self.location.origin) return;  // only this site's ticket pages
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
      for (var i = 0; i < list.length; i++) {
        // The same ticket, whatever its ?lang= or #fragment: focus it rather than open a second tab.
        var open = new URL(list[i].url);
        if (open.origin === url.origin && open.pathname === url.pathname && "focus" in list[i]) {
          return list[i].focus();
        }
      }
      return self.clients.openWindow(url.href);
    })
  );
});
