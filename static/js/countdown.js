/* A crypto quote's countdown: [data-countdown] counts its data-seconds down to 0:00 as
 * minutes:seconds. At zero it says data-expired-text in [data-countdown-status] and asks
 * data-check (the status), which shows the expired quote and offers a new one. The page
 * shows the same text without scripts (the server renders the time left). */
(function () {
  'use strict';
  var timer = document.querySelector('[data-countdown]');
  if (!timer) { return; }
  var left = parseInt(timer.getAttribute('data-seconds'), 10);
  if (isNaN(left)) { return; }
  var end = Date.now() + left * 1000;
  var shown = null;

  function two(n) { return (n < 10 ? '0' : '') + n; }
  function clock(s) {
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + ':' + two(m) : String(m)) + ':' + two(s % 60);
  }
  function expired() {
    var status = document.querySelector('[data-countdown-status]');
    if (status) { status.textContent = timer.getAttribute('data-expired-text'); }
    var check = timer.getAttribute('data-check');
    if (check) { setTimeout(function () { window.location.assign(check); }, 1000); }
  }
  function tick() {
    var s = Math.max(0, Math.ceil((end - Date.now()) / 1000));
    if (s !== shown) { shown = s; timer.textContent = clock(s); }
    if (s > 0) { setTimeout(tick, 250); } else { expired(); }
  }
  if (left > 0) { tick(); }
})();
