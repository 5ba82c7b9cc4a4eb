// Counter page: the waiting list follows the floor's event stream.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  var pending = null;

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
        if (fresh) live.replaceChildren.apply(live, Array.prototype.slice.call(fresh.childNodes));
      });
  }

  var source = new EventSource(live.dataset.stream);
  ["update", "call", "recall", "serve", "finish", "park", "no_show", "transfer", "urgent", "refuse"].forEach(
    function (kind) {
      source.addEventListener(kind, function () {
        if (!pending) pending = setTimeout(refresh, 300); // one refresh for a burst
      });
    }
  );
})();
