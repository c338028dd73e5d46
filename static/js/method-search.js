/* Filters the list of payment methods as the customer types (without scripts the whole
 * list shows). */
(function () {
  'use strict';
  var box = document.querySelector('[data-method-search]');
  if (!box) { return; }
  var input = box.querySelector('input');
  var count = box.querySelector('[data-method-count]');
  var items = Array.prototype.slice.call(document.querySelectorAll('[data-method-name]'));
  box.hidden = false;
  input.addEventListener('input', function () {
    var query = input.value.trim().toLowerCase();
    var shown = 0;
    items.forEach(function (item) {
      var match = !query || item.getAttribute('data-method-name').indexOf(query) !== -1;
      item.hidden = !match;
      if (match) { shown += 1; }
    });
    count.textContent = query ? shown + ' / ' + items.length : '';
  });
})();
