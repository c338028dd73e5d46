/* Inside the merchant's iframe: tell the parent window (only its exact, server-checked
 * origin, never "*") that we are ready, how tall we are, when Escape is pressed, and
 * at the end the signed result. When the widget asks to close ("checkout:close"), ask
 * the server where the checkout stands and answer with the result, or "dismissed" while
 * nothing was paid: a payment in flight is reported as pending, never as cancelled. */
(function () {
  'use strict';
  var root = document.documentElement;
  var origin = root.getAttribute('data-parent-origin');
  if (!origin || window.parent === window) { return; }
  var standing = root.getAttribute('data-standing-url');
  var result = document.querySelector('[data-checkout-result]');
  var sent = false; // a form of this page went to the server: a payment may be starting
  document.addEventListener('submit', function () { sent = true; });

  function post(message) { window.parent.postMessage(message, origin); }

  function answer(kind, fields) {
    var message = { type: 'checkout:' + kind };
    Object.keys(fields || {}).forEach(function (key) { message[key] = fields[key]; });
    post(message);
  }

  function postResult() {
    answer(result.getAttribute('data-checkout-result'), JSON.parse(result.getAttribute('data-fields') || '{}'));
  }

  var lastHeight = 0;
  function reportHeight() {
    var height = Math.ceil(root.getBoundingClientRect().height);
    if (height !== lastHeight) {
      lastHeight = height;
      post({ type: 'checkout:resize', height: height });
    }
  }

  if (result) { postResult(); } else { post({ type: 'checkout:ready' }); }
  reportHeight();
  if (window.ResizeObserver) {
    new ResizeObserver(reportHeight).observe(root);
  } else {
    window.addEventListener('resize', reportHeight);
  }
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') { post({ type: 'checkout:escape' }); }
  });

  window.addEventListener('message', function (event) {
    if (event.origin !== origin || event.source !== window.parent) { return; }
    if (!event.data || event.data.type !== 'checkout:close') { return; }
    if (result) { postResult(); return; }
    if (!standing || !window.fetch) { post({ type: 'checkout:pending' }); return; }
    fetch(standing, { credentials: 'omit', cache: 'no-store' })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (state.kind !== 'open') {
          answer(state.kind, state.fields);
        } else if (sent) { // sent, not yet claimed by the server: nobody can say yet
          post({ type: 'checkout:pending' });
        } else {
          post({ type: 'checkout:dismissed' });
        }
      })
      .catch(function () { post({ type: 'checkout:pending' }); });
  });
})();
