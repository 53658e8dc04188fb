// Portal search: results as the agent types. The form still submits normally without JS.
(function () {
  "use strict";
  var form = document.querySelector("form[data-live-search]");
  if (!form) { return; }
  var input = form.querySelector("input[name=q]");
  var target = document.getElementById(form.dataset.resultsTarget);
  var status = document.querySelector("[data-search-status]");
  var url = form.dataset.resultsUrl;
  var DEBOUNCE_MS = 250;
  var timer = null;
  var controller = null;
  var lastQuery = input.value.trim();

  function search() {
    var query = input.value.trim();
    if (query === lastQuery) { return; }
    lastQuery = query;
    // A newer keystroke makes the previous request useless: cancel it so results never go back.
    if (controller) { controller.abort(); }
    controller = new AbortController();
    target.setAttribute("aria-busy", "true");
    status.textContent = query ? "Searching…" : "";
    fetch(url + "?q=" + encodeURIComponent(query), {
      headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin",
      signal: controller.signal
    })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        // A redirect means the session ended (login page): never paste that into the page.
        if (response.redirected) { throw new Error("signed out, reload the page"); }
        return response.text();
      })
      .then(function (html) {
        target.innerHTML = html;
        target.removeAttribute("aria-busy");
        status.textContent = "";
        // Keep the address bar in step, so reload and back show the same search.
        var pageUrl = form.action + (query ? "?q=" + encodeURIComponent(query) : "");
        window.history.replaceState(null, "", pageUrl);
      })
      .catch(function (error) {
        if (error.name === "AbortError") { return; }
        target.removeAttribute("aria-busy");
        status.textContent = "Search failed (" + error.message + "). Press Enter to retry.";
      });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, DEBOUNCE_MS);
  });
})();
