// Order forms. The new-order form: choosing another offering fetches its characteristics and
// prices (rendered by the server) and swaps them into the form, so the agent sees the price
// before submitting; for an enterprise offering, choosing its sites (or another bandwidth)
// fetches whether each site can be served (the server's feasibility check, per site). Every order form: the submit button is disabled once pressed, so a double
// click does not place the order twice.
(function () {
  "use strict";
  document.querySelectorAll("[data-order-form], [data-action-form]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = true;
      });
    });
  });

  var form = document.querySelector("[data-order-form]");
  if (!form) { return; }
  var select = form.querySelector("[data-offering-select]");
  var target = document.getElementById("offering-config");
  var customer = form.querySelector("input[name=customer]").value;
  var latest = 0;

  var checked = 0;
  function checkFeasibility() {
    var sites = form.querySelector("[data-sites-select]");
    var panel = form.querySelector("[data-feasibility]");
    if (!sites || !panel) { return; }
    var query = new URLSearchParams();
    Array.prototype.forEach.call(sites.selectedOptions, function (option) {
      query.append("sites", option.value);
    });
    var bandwidth = form.querySelector("[name=char-bandwidth]");
    if (bandwidth) { query.append("bandwidth", bandwidth.value); }
    var request = ++checked;
    panel.setAttribute("aria-busy", "true");
    fetch(form.dataset.feasibilityUrl + "?" + query.toString(), {
      headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin"
    })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) { if (request === checked) { panel.innerHTML = html; } })
      .catch(function (error) {
        if (request === checked) { panel.textContent = "Could not check the sites (" + error.message + ")."; }
      })
      .then(function () { if (request === checked) { panel.removeAttribute("aria-busy"); } });
  }
  form.addEventListener("change", function (event) {
    if (event.target.matches("[data-sites-select], [name=char-bandwidth]")) { checkFeasibility(); }
  });
  checkFeasibility();

  select.addEventListener("change", function () {
    var request = ++latest;
    var query = new URLSearchParams({ customer: customer, offering: select.value });
    target.setAttribute("aria-busy", "true");
    fetch(form.dataset.configUrl + "?" + query.toString(), {
      headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin"
    })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        if (response.redirected) { throw new Error("signed out, reload the page"); }
        return response.text();
      })
      .then(function (html) {
        if (request === latest) { target.innerHTML = html; }  // a late, older answer is dropped
      })
      .catch(function (error) {
        if (request === latest) {
          target.innerHTML = "";
          var message = document.createElement("p");
          message.className = "errorlist";
          message.textContent = "Could not load the offering (" + error.message + ").";
          target.appendChild(message);
        }
      })
      .then(function () {
        if (request === latest) { target.removeAttribute("aria-busy"); }
      });
  });
})();
