// Live refresh: the element #live names a fragment URL; it is fetched every few seconds and
// swapped in, so the page follows the runner without a reload. Same-origin, cookie included.
(function () {
  "use strict";
  var box = document.getElementById("live");
  var stamp = document.getElementById("updated");
  if (!box || !box.dataset.src) { return; }
  var every = parseInt(box.dataset.every || "3000", 10);
  var busy = false;
  function tick() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(box.dataset.src, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        box.innerHTML = html;
        box.dataset.refreshed = String((parseInt(box.dataset.refreshed || "0", 10)) + 1);
        if (stamp) { stamp.textContent = "updated " + new Date().toLocaleTimeString(); stamp.className = "muted"; }
      })
      .catch(function () { if (stamp) { stamp.textContent = "not updating: dashboard unreachable"; stamp.className = "neg"; } })
      .then(function () { busy = false; });
  }
  setInterval(tick, every);
})();
