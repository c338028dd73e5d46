/* Inside the merchant's iframe: tell the parent window where the payout stands once it is
 * pending or settled: {type: "payout:pending" | "payout:processed" | "payout:rejected" |
 * "payout:failed", payoutId, status}. Only to the parent's exact, server-checked origin
 * (never "*"). The merchant confirms it server-side with GET /payouts/<payoutId>. */
(function () {
  'use strict';
  var origin = document.documentElement.getAttribute('data-parent-origin');
  var result = document.querySelector('[data-payout-result]');
  if (!origin || !result || window.parent === window) { return; }
  window.parent.postMessage({
    type: 'payout:' + result.getAttribute('data-payout-result'),
    payoutId: result.getAttribute('data-payout-id'),
    status: result.getAttribute('data-payout-status')
  }, origin);
})();
