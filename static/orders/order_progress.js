// The order page's progress block: its HTML is fetched again every ~1.5 s, so the agent watches
// the order and its activation steps move without reloading. Stops once the order is final.
(function () {
  "use strict";
  var block = document.querySelector("[data-progress-url]");
  if (!block) { return; }
  var url = block.dataset.progressUrl;
  var interval = parseInt(block.dataset.progressInterval, 10) || 1500;
  var timer = null;

  function isFinal() { return block.querySelector("[data-final]") !== null; }

  function markStale(text) {
    var status = block.querySelector("[data-live-status]");
    if (status) {
      status.classList.add("stale");
      status.textContent = text;
    }
  }

  function schedule() {
    if (!isFinal()) { timer = window.setTimeout(refresh, interval); }
  }

  function refresh() {
    timer = null;
    if (document.hidden) { return; }  // resumed by visibilitychange
    fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        // A redirect means the session ended (login page): never paste that into the page.
        if (response.redirected) { throw new Error("signed out, reload the page"); }
        return response.text();
      })
      .then(function (html) { block.innerHTML = html; })
      .catch(function (error) { markStale("not updating (" + error.message + ")"); })
      .then(schedule);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && timer === null && !isFinal()) { refresh(); }
  });
  schedule();
})();
