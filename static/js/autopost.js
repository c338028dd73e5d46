// Sends the hidden form on this page by itself (3-D Secure hand-over). Without scripts,
// the page shows a Continue button instead.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autopost]");
  if (form) { form.submit(); }
})();
