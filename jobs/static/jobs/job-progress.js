// Job pages: follow a running job without reloading the whole page every few seconds (no <meta refresh>, which
// fails WCAG 2.2.1). The job page polls GET /api/jobs/{id}, updates the progress bar, the counts, the message
// and the attempts in place (announced through the aria-live status), and reloads once when the job has
// finished, to show its result. The job list reloads when a job in it changes state or progress.
// Without script the "Refresh now" link does the same by hand.
(function () {
  "use strict";
  var every = 2000;

  function fmt(n) { return Number(n).toLocaleString("en-GB"); }

  function follow(live) {
    var url = live.getAttribute("data-job-url");
    var timer = setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (job) {
          if (!job) { return; }
          if (job.state === "done" || job.state === "failed") {
            clearInterval(timer);
            window.location.reload();
            return;
          }
          var bar = document.getElementById("job-bar");
          var counts = document.getElementById("job-counts");
          if (job.total) {
            if (bar) { bar.max = job.total; bar.value = job.done; bar.textContent = job.percent + "%"; }
            if (counts) { counts.textContent = fmt(job.done) + " of " + fmt(job.total) + " (" + job.percent + "%)"; }
          } else if (counts) {
            counts.textContent = fmt(job.done) + " so far";
          }
          var msg = document.getElementById("job-message");
          if (msg) { msg.textContent = job.message; }
          var state = document.getElementById("job-state-tag");
          if (state) { state.textContent = job.state.charAt(0).toUpperCase() + job.state.slice(1); }
          var attempts = document.getElementById("job-attempts");
          if (attempts) { attempts.textContent = job.attempts + " of at most " + job.max_attempts; }
        })
        .catch(function () { /* offline for a moment: try again on the next tick */ });
    }, every);
  }

  function watchList(list) {
    var url = list.getAttribute("data-poll");
    var seen = list.getAttribute("data-signature");
    var timer = setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (rows) {
          if (!rows) { return; }
          var now = rows.map(function (j) { return j.id + ":" + j.state + ":" + j.done; }).join(",");
          if (now !== seen) { clearInterval(timer); window.location.reload(); }
        })
        .catch(function () {});
    }, every * 2);
  }

  var live = document.getElementById("job-live");
  if (live) { follow(live); }
  var list = document.getElementById("jobs-live");
  if (list) { watchList(list); }
})();
