// Live blocks: an element with data-live-url is replaced by that URL's HTML every few seconds,
// so an order activating shows on the page without a reload. Paused while the tab is hidden, and
// while someone is using a form inside the block (a half-typed reason is never wiped).
// `telcoLive.reload(block, url)` is the one fetch-and-replace every live page uses.
(function () {
  "use strict";

  function markStale(block, text) {
    var status = block.querySelector("[data-live-status]");
    if (status) {
      status.classList.add("stale");
      status.textContent = text;
    }
  }

  // Replace the block's HTML with the URL's; on failure, mark the block's status stale instead.
  function reload(block, url) {
    return fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        // A redirect means the session ended (login page): never paste that into the page.
        if (response.redirected) { throw new Error("signed out, reload the page"); }
        return response.text();
      })
      .then(function (html) { block.innerHTML = html; })
      .catch(function (error) { markStale(block, "not updating (" + error.message + ")"); });
  }

  window.telcoLive = { reload: reload };

  document.querySelectorAll("[data-live-url]").forEach(function (block) {
    var url = block.dataset.liveUrl;
    var interval = parseInt(block.dataset.liveInterval, 10) || 5000;
    var inFlight = false;

    function busy() {
      if (block.contains(document.activeElement) && document.activeElement !== block) { return true; }
      return block.querySelector("details[open]") !== null;
    }

    function refresh() {
      if (inFlight || document.hidden || busy()) { return; }
      inFlight = true;
      reload(block, url).then(function () { inFlight = false; });
    }

    // A block that reads something slow (a network element) is loaded once right away.
    if ("liveNow" in block.dataset) { refresh(); }
    window.setInterval(refresh, interval);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) { refresh(); }
    });
  });
})();
