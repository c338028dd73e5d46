/* The confirming page: ask for the payment's status in the background and move on only
 * when it has changed (without scripts, a <noscript> refresh does the same). */
(function () {
  'use strict';
  var main = document.querySelector('[data-poll]');
  if (!main || !window.fetch) { return; }
  var url = main.getAttribute('data-poll');
  var seconds = Math.max(1, parseInt(main.getAttribute('data-poll-seconds'), 10) || 3);

  function check() {
    fetch(url, { redirect: 'manual', credentials: 'omit', cache: 'no-store' })
      .then(function (response) {
        if (response.status === 202) { setTimeout(check, seconds * 1000); } else { window.location.assign(url); }
      })
      .catch(function () { setTimeout(check, seconds * 2000); });
  }
  setTimeout(check, seconds * 1000);
})();
