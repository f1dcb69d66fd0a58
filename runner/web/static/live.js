// Live refresh: the element #live names a fragment URL; it is fetched and swapped in, so the
// page follows the runner without a reload. The next fetch is scheduled after the last one
// ends, at least twice as long as it took: a slow ledger is never asked faster than it answers.
(function () {
  "use strict";
  var box = document.getElementById("live");
  var stamp = document.getElementById("updated");
  if (!box || !box.dataset.src) { return; }
  var every = parseInt(box.dataset.every || "3000", 10);
  var count = 0;
  function later(ms) { setTimeout(tick, Math.max(every, ms)); }
  function tick() {
    if (document.hidden) { later(every); return; }
    var t0 = Date.now();
    fetch(box.dataset.src, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        box.innerHTML = html;
        count += 1;
        box.dataset.refreshed = String(count);
        if (stamp) { stamp.textContent = "updated " + new Date().toLocaleTimeString(); stamp.className = "muted"; }
      })
      .catch(function () {
        if (stamp) { stamp.textContent = "not updating: dashboard unreachable"; stamp.className = "neg"; }
      })
      .then(function () { later(2 * (Date.now() - t0)); });
  }
  later(every);
})();
