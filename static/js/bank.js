// Right after the card form: on to the bank by itself (3-D Secure). This history entry
// first becomes the payment page's, so that Back from the bank's page lands on the
// payment page, which offers "Continue to your bank" and "Use another card" (never a
// loop back to the bank, never a form sent again). Without scripts the page shows the
// same two buttons.
(function () {
  "use strict";
  var go = document.querySelector("[data-bank-auto]");
  if (!go) { return; }
  var page = go.getAttribute("data-page-url");
  if (page && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", page);
  }
  if (go.tagName === "FORM") { go.submit(); } else { window.location.assign(go.href); }
})();
