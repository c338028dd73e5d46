// Follows the hand-over page's link by itself (to the gateway's 3-D Secure or payment
// method page). Without scripts, the page shows the link as a Continue button.
(function () {
  "use strict";
  var link = document.querySelector("a[data-handover]");
  if (link) { window.location.replace(link.href); }
})();
