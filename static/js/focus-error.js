/* Focus the field the server marked: the first field in error (``autofocus``, else the
 * first ``aria-invalid``). Browsers ignore ``autofocus`` in a cross-origin iframe, which
 * is how merchants embed the checkout; this does the same from the page's own script.
 * Nothing happens when focus is already on something (the user got there first). */
(function () {
  'use strict';

  function focusMarked() {
    var active = document.activeElement;
    if (active && active !== document.body && active !== document.documentElement) { return; }
    var target = document.querySelector('[autofocus]') || document.querySelector('[aria-invalid="true"]');
    if (target && typeof target.focus === 'function') { target.focus(); }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', focusMarked);
  } else {
    focusMarked();
  }
})();
