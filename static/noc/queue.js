// Activation queue: the table is fetched again every few seconds, so orders move on the page
// without a reload. A refresh waits while the engineer is using a form in the table (a Fail
// reason half typed is never wiped), and pauses while the tab is hidden.
(function () {
  "use strict";
  var block = document.getElementById("activation-queue");
  if (!block) { return; }
  var url = block.dataset.queueUrl;
  var interval = parseInt(block.dataset.queueInterval, 10) || 3000;
  var inFlight = false;

  function busy() {
    if (block.contains(document.activeElement) && document.activeElement !== block) { return true; }
    return block.querySelector("details[open]") !== null;
  }

  function markStale(text) {
    var status = block.querySelector("[data-queue-status]");
    if (status) {
      status.classList.add("stale");
      status.textContent = text;
    }
  }

  function refresh() {
    if (inFlight || document.hidden || busy()) { return; }
    inFlight = true;
    fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        // A redirect means the session ended (login page): never paste that into the page.
        if (response.redirected) { throw new Error("signed out, reload the page"); }
        return response.text();
      })
      .then(function (html) { if (!busy()) { block.innerHTML = html; } })
      .catch(function (error) { markStale("not updating (" + error.message + ")"); })
      .then(function () { inFlight = false; });
  }

  window.setInterval(refresh, interval);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { refresh(); }
  });
})();
