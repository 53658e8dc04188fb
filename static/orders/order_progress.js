// The order page's progress block: its HTML is fetched again every ~1.5 s, so the agent watches
// the order and its activation steps move without reloading. Stops once the order is final.
// Needs js/live.js (telcoLive.reload) loaded before it.
(function () {
  "use strict";
  var block = document.querySelector("[data-progress-url]");
  if (!block) { return; }
  var url = block.dataset.progressUrl;
  var interval = parseInt(block.dataset.progressInterval, 10) || 1500;
  var timer = null;

  function isFinal() { return block.querySelector("[data-final]") !== null; }

  function schedule() {
    if (!isFinal()) { timer = window.setTimeout(refresh, interval); }
  }

  function refresh() {
    timer = null;
    if (document.hidden) { return; }  // resumed by visibilitychange
    window.telcoLive.reload(block, url).then(schedule);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && timer === null && !isFinal()) { refresh(); }
  });
  schedule();
})();
