/* Inside the merchant's iframe: tell the parent window (only its exact, server-checked
 * origin, never "*") that we are ready, how tall we are, when Escape is pressed, and
 * at the end the signed result. */
(function () {
  'use strict';
  var origin = document.documentElement.getAttribute('data-parent-origin');
  if (!origin || window.parent === window) { return; }

  function post(message) { window.parent.postMessage(message, origin); }

  var lastHeight = 0;
  function reportHeight() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== lastHeight) {
      lastHeight = height;
      post({ type: 'checkout:resize', height: height });
    }
  }

  var result = document.querySelector('[data-checkout-result]');
  if (result) {
    var fields = JSON.parse(result.getAttribute('data-fields') || '{}');
    var message = { type: 'checkout:' + result.getAttribute('data-checkout-result') };
    Object.keys(fields).forEach(function (key) { message[key] = fields[key]; });
    post(message);
  } else {
    post({ type: 'checkout:ready' });
  }
  reportHeight();
  if (window.ResizeObserver) {
    new ResizeObserver(reportHeight).observe(document.documentElement);
  } else {
    window.addEventListener('resize', reportHeight);
  }
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') { post({ type: 'checkout:escape' }); }
  });
})();
