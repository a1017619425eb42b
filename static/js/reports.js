// Report job status page: poll the JSON status and show the download link when ready.
// Without JavaScript the page offers a plain "Refresh" link. When the job fails or has no
// worker to run it, the page is reloaded so the server can say why and offer to retry.
(function () {
  "use strict";
  var box = document.getElementById("report-job");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var state = box.getAttribute("data-status");
  var reason = box.getAttribute("data-reason") || "";
  if (!url || state === "finished" || state === "failed") { return; }
  var bar = document.getElementById("job-progress");
  var download = document.getElementById("job-download");
  var refresh = document.getElementById("job-refresh");
  var text = box.querySelector(".job-state");
  var delay = 2000;

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        if (bar) { bar.value = data.progress || 0; bar.textContent = (data.progress || 0) + "%"; }
        if (data.status === "finished") {
          if (bar) { bar.value = 100; }
          if (download) { download.hidden = false; download.href = data.download_url || download.href; download.focus(); }
          if (refresh) { refresh.hidden = true; }
          if (text) { text.textContent = box.getAttribute("data-ready-text") || text.textContent; }
          return;
        }
        // failed, or the worker went away / came back: the page explains what to do
        if (data.status === "failed" || (data.reason || "") !== reason) { window.location.reload(); return; }
        delay = Math.min(delay * 1.3, 10000);
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  window.setTimeout(poll, delay);
})();
