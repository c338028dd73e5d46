/* Filters the payment methods as the customer types, across their groups: a group whose
 * methods all hide hides too, and the count says how many match (without scripts the
 * whole list shows). Each item's data-method-name is its label and the catalogue's name,
 * case and accents aside (checkout.methods.search_key); the query is folded the same way. */
(function () {
  'use strict';
  var box = document.querySelector('[data-method-search]');
  if (!box) { return; }
  var input = box.querySelector('input');
  var count = box.querySelector('[data-method-count]');
  var items = Array.prototype.slice.call(document.querySelectorAll('[data-method-name]'));
  var groups = Array.prototype.slice.call(document.querySelectorAll('[data-method-group]'));
  var format = count.getAttribute('data-count-format') || '{shown}';
  var none = count.getAttribute('data-none-text') || '';
  function fold(text) {
    return text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/\s+/g, ' ').trim();
  }
  box.hidden = false;
  input.addEventListener('input', function () {
    var query = fold(input.value);
    var shown = 0;
    items.forEach(function (item) {
      var match = !query || item.getAttribute('data-method-name').indexOf(query) !== -1;
      item.hidden = !match;
      if (match) { shown += 1; }
    });
    groups.forEach(function (group) {
      group.hidden = !group.querySelector('[data-method-name]:not([hidden])');
    });
    count.textContent = !query ? '' : shown ? format.replace('{shown}', String(shown)) : none;
  });
})();
