// Live blocks: an element with data-live-url is replaced by that URL's HTML every few seconds,
// so an order activating shows on the page without a reload. Paused while the tab is hidden.
(function () {
  "use strict";
  document.querySelectorAll("[data-live-url]").forEach(function (block) {
    var url = block.dataset.liveUrl;
    var interval = parseInt(block.dataset.liveInterval, 10) || 5000;
    var inFlight = false;

    function markStale(text) {
      var status = block.querySelector("[data-live-status]");
      if (status) {
        status.classList.add("stale");
        status.textContent = text;
      }
    }

    function refresh() {
      if (inFlight || document.hidden) { return; }
      inFlight = true;
      fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          // A redirect means the session ended (login page): never paste that into the page.
          if (response.redirected) { throw new Error("signed out, reload the page"); }
          return response.text();
        })
        .then(function (html) { block.innerHTML = html; })
        .catch(function (error) { markStale("not updating (" + error.message + ")"); })
        .then(function () { inFlight = false; });
    }

    window.setInterval(refresh, interval);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) { refresh(); }
    });
  });
})();
