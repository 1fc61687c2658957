// The job page follows its job: it asks the hub for the state every second and updates the page, and
// reloads it when the job ends (the page then shows the result link or the reason). Without this
// script, the page's refresh link does the same by hand.
(function () {
  "use strict";
  var root = document.querySelector("[data-job]");
  if (!root || root.getAttribute("data-ended") === "true") {
    return;
  }
  var url = root.getAttribute("data-state-url");
  var state = document.getElementById("job-state");
  var bar = document.getElementById("job-progress");
  var label = document.getElementById("job-progress-text");
  function show(s) {
    state.textContent = String(s.state);
    bar.max = s.total > 0 ? s.total : 1;
    bar.value = s.done;
    label.textContent = String(s.text);
  }
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { setTimeout(tick, 5000); return; }
        show(s);
        if (s.ended) { window.location.reload(); } else { setTimeout(tick, 1000); }
      })
      .catch(function () { setTimeout(tick, 5000); });
  }
  setTimeout(tick, 500);
})();
