/* Card form enhancement: number grouping, brand hint, CVV length, "MM / YY" expiry.
 * Progressive enhancement only: the form works without it. The card number never
 * leaves the input: nothing here logs, stores or sends it. */
(function () {
  'use strict';

  // The brand by the server's rules (checkout/cards.py, ported once in forms.js, which
  // base.html loads before this): the brand shown is the brand the server will see.
  var cards = window.checkoutCards;
  if (!cards) { return; }
  var NAMES = {
    visa: 'Visa', mastercard: 'Mastercard', maestro: 'Maestro', mir: 'Mir',
    amex: 'American Express', discover: 'Discover', jcb: 'JCB',
    unionpay: 'UnionPay', diners: 'Diners Club'
  };
  var GAPS = { amex: [4, 10], diners: [4, 10] }; // others: 4-4-4-4-3
  var DEFAULT_GAPS = [4, 8, 12, 16];
  var MAX_DIGITS = 19;

  // The brand's mark (our own SVG, its name as alt text) and name beside the label.
  function showBrand(label, brand, name) {
    label.textContent = '';
    if (!brand) { return; }
    var icons = JSON.parse(label.closest('form').getAttribute('data-brand-icons') || '{}');
    if (icons[brand]) {
      var img = document.createElement('img');
      img.src = icons[brand];
      img.alt = '';
      img.width = 40;
      img.height = 24;
      label.appendChild(img);
    }
    label.appendChild(document.createTextNode(' ' + name));
  }

  function caretAfterDigits(value, count) {
    var pos = 0;
    for (var seen = 0; pos < value.length && seen < count; pos++) {
      if (value[pos] >= '0' && value[pos] <= '9') { seen++; }
    }
    return pos;
  }

  function setCaret(input, pos) {
    if (document.activeElement !== input) { return; }
    try { input.setSelectionRange(pos, pos); } catch (e) { /* type without a caret */ }
  }

  function brandNames(form) {
    var names = Object.assign({}, NAMES);
    try {
      Object.assign(names, JSON.parse(form.getAttribute('data-brand-names') || '{}'));
    } catch (e) { /* keep the default names */ }
    return names;
  }

  function enhance(form) {
    var number = form.querySelector('input[autocomplete="cc-number"]');
    var expiry = form.querySelector('input[autocomplete="cc-exp"]');
    var cvv = form.querySelector('input[autocomplete="cc-csc"]');
    var label = form.querySelector('[data-card-brand]');
    var names = brandNames(form);
    var lastDigits = '';

    function onNumber(event) {
      var old = number.value;
      var before = old.slice(0, number.selectionStart || 0).replace(/\D/g, '').length;
      var digits = old.replace(/\D/g, '').slice(0, MAX_DIGITS);
      // Backspace over a group gap removes the digit before it, not just the gap.
      if (event && event.inputType === 'deleteContentBackward' &&
          digits === lastDigits && before > 0) {
        digits = digits.slice(0, before - 1) + digits.slice(before);
        before -= 1;
      }
      lastDigits = digits;
      var brand = cards.brand(digits);
      var gaps = GAPS[brand] || DEFAULT_GAPS;
      var out = '';
      for (var i = 0; i < digits.length; i++) {
        if (gaps.indexOf(i) !== -1) { out += ' '; }
        out += digits[i];
      }
      if (out !== old) {
        number.value = out;
        setCaret(number, caretAfterDigits(out, before));
      }
      if (brand) { form.dataset.brand = brand; } else { delete form.dataset.brand; }
      if (label) { showBrand(label, brand, brand ? (names[brand] || NAMES[brand]) : ''); }
      // 3 or 4 digits while the brand is not known: the server takes either then
      if (cvv) { cvv.maxLength = brand ? cards.cvvLength(brand) : 4; }
    }

    function onExpiry(event) {
      var deleting = event && event.inputType && event.inputType.indexOf('delete') === 0;
      var parts = expiry.value.split(/\D+/).filter(Boolean);
      var month, year;
      if (parts.length > 1 || (!deleting && /^\s*\d{1,2}\s*\D/.test(expiry.value))) {
        // typed or autofilled with a separator: "1/", "1/30", "12/2030"
        month = parts[0].slice(0, 2);
        if (month.length === 1) { month = '0' + month; }
        year = parts[1] || '';
        year = year.length === 4 ? year.slice(2) : year.slice(0, 2);
      } else if ((parts[0] || '').length === 6) { // pasted "MMYYYY"
        month = parts[0].slice(0, 2);
        year = parts[0].slice(4);
      } else {
        var digits = (parts[0] || '').slice(0, 4);
        if (/^[2-9]/.test(digits) || /^1[3-9]/.test(digits)) { digits = '0' + digits; }
        month = digits.slice(0, 2);
        year = digits.slice(2, 4);
      }
      var out = month;
      if (year || (month.length === 2 && !deleting)) { out += ' / ' + year; }
      if (out !== expiry.value) {
        expiry.value = out;
        setCaret(expiry, out.length);
      }
    }

    if (number) { number.addEventListener('input', onNumber); onNumber(); }
    if (expiry) { expiry.addEventListener('input', onExpiry); onExpiry(); }
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('form[data-card-form]'), enhance);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else { init(); }
}());
