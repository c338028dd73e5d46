/* Card form enhancement: number grouping, brand hint, CVV length, "MM / YY" expiry.
 * Progressive enhancement only: the form works without it. The card number never
 * leaves the input: nothing here logs, stores or sends it. */
(function () {
  'use strict';

  // Our brands' IIN prefixes (int) and ranges ([min, max]) in braintree
  // credit-card-type 10.3.0 order, as in checkout/cards.py.
  var BRANDS = [
    ['visa', [4]],
    ['mastercard', [[51, 55], [2221, 2229], [223, 229], [23, 26], [270, 271], 2720]],
    ['amex', [34, 37]],
    ['diners', [[300, 305], 36, 38, 39]],
    ['discover', [6011, [644, 649], 65]],
    ['jcb', [2131, 1800, [3528, 3589]]],
    ['unionpay', [620, [62100, 62182], [62184, 62187], [62185, 62197], [62200, 62205],
      [622010, 622999], 622018, [62207, 62209], [623, 626], 6270, 6272, 6276,
      [627700, 627779], [627781, 627799], [6282, 6289], 6291, 6292, 810,
      [8110, 8131], [8132, 8151], [8152, 8163], [8164, 8171]]],
    ['maestro', [493698, [500000, 504174], [504176, 506698], [506779, 508999],
      [56, 59], 63, 67, 6]],
    ['mir', [[2200, 2204]]]
  ];
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
    var base = label.closest('form').getAttribute('data-brand-icons');
    if (base) {
      var img = document.createElement('img');
      img.src = base + brand + '.svg';
      img.alt = '';
      img.width = 40;
      img.height = 24;
      label.appendChild(img);
    }
    label.appendChild(document.createTextNode(' ' + name));
  }

  function matches(digits, pattern) {
    if (Array.isArray(pattern)) {
      var min = String(pattern[0]);
      var head = digits.slice(0, min.length);
      var value = parseInt(head, 10);
      return head.length > 0 &&
        value >= parseInt(min.slice(0, head.length), 10) &&
        value <= parseInt(String(pattern[1]).slice(0, head.length), 10);
    }
    var p = String(pattern);
    return p.slice(0, digits.length) === digits.slice(0, p.length);
  }

  // A brand matches by its first matching pattern, whose length is its strength
  // once that many digits are typed. One brand is chosen only when every candidate
  // has a strength (the strongest, first wins ties) or when it is the only one.
  function detect(digits) {
    if (!digits) { return null; }
    var found = [];
    BRANDS.forEach(function (brand) {
      for (var i = 0; i < brand[1].length; i++) {
        var pattern = brand[1][i];
        if (matches(digits, pattern)) {
          var size = String(Array.isArray(pattern) ? pattern[0] : pattern).length;
          found.push({ name: brand[0], strength: digits.length >= size ? size : 0 });
          break;
        }
      }
    });
    if (found.length === 1) { return found[0].name; }
    if (!found.length || found.some(function (f) { return !f.strength; })) {
      return null;
    }
    return found.reduce(function (best, f) {
      return f.strength > best.strength ? f : best;
    }).name;
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
      var brand = detect(digits);
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
      if (cvv) { cvv.maxLength = brand === 'amex' ? 4 : 3; }
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
