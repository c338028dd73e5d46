/* Payment forms: checks in the browser before sending, and a busy Pay button after.
 *
 * Progressive enhancement only: without this script every form posts as it always did,
 * and with it the server still checks everything (it is the authority; a request that
 * bypasses this script is refused there). The messages are never written here: the
 * server renders its own ones (the very msgids of checkout/cards.py and forms.py, in the
 * customer's language) into data-msg-* attributes of the inputs, a data-messages JSON of
 * the form and data-msg-summary / data-busy-text of <html>. A field is checked only when
 * the page gave it a message; what the browser cannot judge is left to the server.
 * Errors are marked the way the server marks them (.field.has-error, aria-invalid,
 * aria-describedby="<id>-error", <p class="error" id="<id>-error">). */
(function () {
  'use strict';
  var root = document.documentElement;

  // -- card rules: a port of checkout/cards.py -----------------------------------------------
  // braintree credit-card-type 10.3.0's whole table, in its order (the order breaks ties),
  // brands we do not accept included: dropping them would change which of ours wins
  // ("4312" is Visa or Elo: ambiguous, no brand). [type, IIN prefixes (number) or ranges
  // ([min, max]), lengths, security code size].
  var TYPES = [
    ['visa', [4], [16, 18, 19], 3],
    ['mastercard', [[51, 55], [2221, 2229], [223, 229], [23, 26], [270, 271], 2720], [16], 3],
    ['american-express', [34, 37], [15], 4],
    ['diners-club', [[300, 305], 36, 38, 39], [14, 16, 19], 3],
    ['discover', [6011, [644, 649], 65], [16, 19], 3],
    ['troy', [9792, 650052, [650082, 650083], 650092, 650161, 650170, 650173, 650175, 650268,
      650271, [650273, 650274], [650456, 650457], 650836, [650846, 650850], 650923, 650987,
      650990, 654997, 657366, 657998, 658758, [658767, 658768], [65083700, 65083704],
      [65085800, 65085804], [65085900, 65085901], 65086000, [65086100, 65086105],
      [65086200, 65086203], [65875000, 65875003], 65875009, [65875101, 65875104], 65875200,
      65875501, 65875601, 65875900, [65876000, 65876002], [65876100, 65876103], 65876110,
      [65876115, 65876116], [65876200, 65876201], 65876500, [65876504, 65876505],
      [65876600, 65876602], [65877100, 65877101], [65877600, 65877602], 65877700,
      [65877801, 65877802], [65878200, 65878202], [65878300, 65878311], [65878400, 65878405],
      [65878500, 65878505], [65878600, 65878601], 65879800, 65880800, 65880900], [16], 3],
    ['jcb', [2131, 1800, [3528, 3589]], [16, 17, 18, 19], 3],
    ['unionpay', [620, [62100, 62182], [62184, 62187], [62185, 62197], [62200, 62205],
      [622010, 622999], 622018, [62207, 62209], [623, 626], 6270, 6272, 6276, [627700, 627779],
      [627781, 627799], [6282, 6289], 6291, 6292, 810, [8110, 8131], [8132, 8151], [8152, 8163],
      [8164, 8171]], [14, 15, 16, 17, 18, 19], 3],
    ['naranja', [589562, 402918, 527572], [16], 3],
    ['verve', [[506099, 506127], 506129, [506133, 506150], [506158, 506163], 506166, 506168,
      506170, 506173, [506176, 506180], 506184, [506187, 506188], 506191, 506195, 506197,
      507865, 507866, [507868, 507877], [507880, 507888], 507900, 507941], [16, 18, 19], 3],
    ['maestro', [493698, [500000, 504174], [504176, 506698], [506779, 508999], [56, 59], 63, 67,
      6], [12, 13, 14, 15, 16, 17, 18, 19], 3],
    ['elo', [401178, 401179, 438935, 457631, 457632, 431274, 451416, 457393, 504175,
      [506699, 506778], [509000, 509999], 627780, 636297, 636368, [650031, 650033],
      [650035, 650051], [650405, 650439], [650485, 650538], [650541, 650598], [650700, 650718],
      [650720, 650727], [650901, 650978], [651652, 651679], [655000, 655019], [655021, 655058]],
      [16], 3],
    ['mir', [[2200, 2204]], [16, 17, 18, 19], 3],
    ['hiper', [637095, 63737423, 63743358, 637568, 637599, 637609, 637612], [16], 3],
    ['hipercard', [606282], [16], 3],
  ];
  // Upstream type -> our brand, for the brands we accept (cards.UPSTREAM_NAMES).
  var OURS = {
    visa: 'visa', mastercard: 'mastercard', maestro: 'maestro', mir: 'mir', 'american-express': 'amex',
    discover: 'discover', jcb: 'jcb', unionpay: 'unionpay', 'diners-club': 'diners'
  };
  var MAX_YEARS_AHEAD = 19; // cards.MAX_YEARS_AHEAD

  // The digits of a typed number (spaces and dashes removed), else null.
  function digitsOf(number) {
    var digits = String(number).replace(/[\s-]+/g, '');
    return /^[0-9]*$/.test(digits) ? digits : null;
  }

  function matches(digits, pattern) {
    if (typeof pattern !== 'number') {
      var low = String(pattern[0]);
      var high = String(pattern[1]);
      var head = digits.slice(0, low.length);
      if (!head) { return false; }
      var value = parseInt(head, 10);
      return parseInt(low.slice(0, head.length), 10) <= value &&
        value <= parseInt(high.slice(0, head.length), 10);
    }
    var prefix = String(pattern);
    return prefix.slice(0, digits.length) === digits.slice(0, prefix.length);
  }

  // cards.card_types: each type matches by its first matching pattern, whose length is
  // the strength once that many digits are typed; one type only when every candidate has
  // a strength (the strongest, the first on ties), else all candidates.
  function cardTypes(digits) {
    var found = [];
    TYPES.forEach(function (type) {
      var patterns = type[1];
      for (var i = 0; i < patterns.length; i++) {
        if (!digits || matches(digits, patterns[i])) {
          var size = String(typeof patterns[i] === 'number' ? patterns[i] : patterns[i][0]).length;
          found.push({ type: type, strength: digits && digits.length >= size ? size : 0 });
          break;
        }
      }
    });
    if (found.length && found.every(function (f) { return f.strength; })) {
      return [found.reduce(function (best, f) { return f.strength > best.strength ? f : best; }).type];
    }
    return found.map(function (f) { return f.type; });
  }

  // The single upstream type a number points to (ours or not), else null.
  function detectedType(number) {
    var digits = digitsOf(number);
    if (digits === null) { return null; }
    var types = cardTypes(digits);
    return types.length === 1 ? types[0] : null;
  }

  // cards.card_brand: our brand for a complete or partial number, else null.
  function cardBrand(number) {
    var type = detectedType(number);
    return (type && OURS[type[0]]) || null;
  }

  function cvvLength(brand) { return brand === 'amex' ? 4 : 3; }

  function luhnValid(digits) {
    var total = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = +digits.charAt(digits.length - 1 - i);
      if (i % 2) { d = d > 4 ? d * 2 - 9 : d * 2; }
      total += d;
    }
    return digits.length > 0 && total % 10 === 0;
  }

  // cards.number_valid: a brand of ours, a length it issues, and Luhn (UnionPay is exempt).
  function numberValid(number) {
    var digits = digitsOf(number);
    var type = digits ? detectedType(digits) : null;
    if (!type || !OURS[type[0]] || type[2].indexOf(digits.length) === -1) { return false; }
    return OURS[type[0]] === 'unionpay' || luhnValid(digits);
  }

  // A two-digit year in the century that puts it nearest to this year (cards._full_year).
  function fullYear(year, thisYear) {
    if (year >= 100) { return year; }
    var full = Math.floor(thisYear / 100) * 100 + year;
    if (full < thisYear - 50) { full += 100; } else if (full > thisYear + 50) { full -= 100; }
    return full;
  }

  // cards.parse_expiry: [month, four-digit year] from "12/30", "12 / 30", "12/2030",
  // "12 30", "1230", "130", "122030", "2030-12", else null.
  function parseExpiry(text, thisYear) {
    var m, month, year;
    if ((m = /^\s*(\d{1,2})\s*(?:\/\s*|\s+)(\d{2}|\d{4})\s*$/.exec(text))) {
      month = m[1]; year = m[2];
    } else if ((m = /^\s*(\d{4})-(\d{1,2})\s*$/.exec(text))) {
      year = m[1]; month = m[2];
    } else if ((m = /^\s*(\d{3,6})\s*$/.exec(text))) {
      var split = m[1].length % 2 === 0 ? 2 : 1;
      month = m[1].slice(0, split); year = m[1].slice(split);
    } else {
      return null;
    }
    return [parseInt(month, 10), fullYear(parseInt(year, 10), thisYear)];
  }

  // [year, month] of now somewhere on Earth, hours from UTC: the server's day is not
  // ours, so a card counts as expired only once it is expired everywhere (UTC-12), and
  // too far ahead only once it is so everywhere (UTC+14); the server decides the rest.
  function monthAt(hours) {
    var at = new Date(Date.now() + hours * 3600000);
    return [at.getUTCFullYear(), at.getUTCMonth() + 1];
  }

  // For other scripts of ours (card-input.js shows the brand by the same rules).
  window.checkoutCards = {
    brand: cardBrand, type: function (number) { var t = detectedType(number); return t ? t[0] : null; },
    numberValid: numberValid, cvvLength: cvvLength, parseExpiry: parseExpiry
  };

  // -- messages --------------------------------------------------------------------------------
  function formMessages(form) {
    if (!form.checkoutMessages) {
      try {
        form.checkoutMessages = JSON.parse(form.getAttribute('data-messages') || '{}');
      } catch (e) { form.checkoutMessages = {}; }
    }
    return form.checkoutMessages;
  }

  // The server's message for this kind of error, from the input or its form; '' if none.
  function message(input, key) {
    return input.getAttribute('data-msg-' + key) || formMessages(input.form)[key] || '';
  }

  function token(input) { // the last autocomplete token: "billing postal-code" -> "postal-code"
    var tokens = (input.getAttribute('autocomplete') || '').split(/\s+/);
    return tokens[tokens.length - 1];
  }

  function cardField(input, kind) {
    return input.form.querySelector('[autocomplete="' + kind + '"]');
  }

  function blank(value) { return !/\S/.test(value); }

  // The card inputs (by autocomplete token), each with the message it has when empty.
  var CARD_FIELDS = { 'cc-number': 'number-required', 'cc-exp': 'expiry-format', 'cc-csc': 'cvv-required' };

  // cards.validate_card, field by field: the message key of what is wrong, or ''.
  function numberError(value) {
    if (blank(value)) { return 'number-required'; }
    if (numberValid(value)) { return ''; }
    var type = detectedType(value);
    return type && !OURS[type[0]] ? 'number-brand' : 'number-invalid';
  }

  function expiryError(value) {
    var earliest = monthAt(-12);
    var parsed = parseExpiry(value, earliest[0]);
    if (!parsed) { return 'expiry-format'; }
    var month = parsed[0];
    var year = parsed[1];
    var size = String(year).length; // cards._field_int takes a year of 2 or 4 digits only
    if ((size !== 2 && size !== 4) || month < 1 || month > 12) { return 'expiry-format'; }
    if (year < earliest[0] || (year === earliest[0] && month < earliest[1])) { return 'expiry-expired'; }
    if (year > monthAt(14)[0] + MAX_YEARS_AHEAD) { return 'expiry-invalid'; }
    return '';
  }

  function cvvError(value, number) {
    var brand = cardBrand(number);
    var code = value.replace(/^\s+|\s+$/g, '');
    if (!code) { return 'cvv-required'; }
    var fits = brand ? code.length === cvvLength(brand) : code.length === 3 || code.length === 4;
    if (fits && /^[0-9]+$/.test(code)) { return ''; }
    return brand ? 'cvv-' + cvvLength(brand) : 'cvv-any';
  }

  // HTML's email type accepts "a@b"; the server (validation.email_valid) wants a dot in
  // the domain: its rule, so the browser never lets through what the server refuses.
  function emailValid(value) {
    value = value.replace(/^\s+|\s+$/g, '');
    return value.length <= 254 && /^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$/.test(value);
  }

  // What is wrong with a field: the server's message, '' when it is fine, or null when
  // this page gave no message for it (the browser does not judge it: the server will).
  function problem(input) {
    if (input.disabled || input.type === 'hidden' || input.type === 'radio' ||
        input.type === 'checkbox' || !input.form || !input.id) { return null; }
    var kind = token(input);
    if (input.form.hasAttribute('data-card-form') && CARD_FIELDS[kind]) {
      // the page gives the card messages (data-messages) or the browser does not judge
      if (!message(input, CARD_FIELDS[kind])) { return null; }
      var key;
      if (kind === 'cc-number') {
        key = numberError(input.value);
      } else if (kind === 'cc-exp') {
        key = expiryError(input.value);
      } else {
        var number = cardField(input, 'cc-number');
        key = cvvError(input.value, number ? number.value : '');
      }
      return key ? message(input, key) || null : '';
    }
    var judged = false;
    var checks = [
      // InputRequired: an empty value (the server does not strip it either)
      ['required', input.required, function () { return input.value !== ''; }],
      ['pattern', input.hasAttribute('pattern'), function () {
        return input.value === '' || !(input.validity && input.validity.patternMismatch);
      }],
      ['email', input.type === 'email', function () { return input.value === '' || emailValid(input.value); }]
    ];
    for (var i = 0; i < checks.length; i++) {
      var msg = checks[i][1] ? message(input, checks[i][0]) : '';
      if (!msg) { continue; }
      judged = true;
      if (!checks[i][2]()) { return msg; }
    }
    return judged ? '' : null;
  }

  // -- marking, as the server does ---------------------------------------------------------------
  function fieldOf(input) { return input.closest('.field') || input.parentNode; }

  function hintOf(input) { return input.id ? document.getElementById(input.id + '-hint') : null; }

  function mark(input, text) {
    var field = fieldOf(input);
    var id = input.id + '-error';
    var error = document.getElementById(id);
    if (!input.hasAttribute('aria-invalid')) { // keep what it described, for when it is fixed
      input.setAttribute('data-describedby', input.getAttribute('aria-describedby') || '');
    }
    field.classList.add('has-error');
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', id);
    var hint = hintOf(input);
    if (hint) { hint.hidden = true; } // the server draws no hint beside an error
    if (!error) {
      error = document.createElement('p');
      error.className = 'error';
      error.id = id;
      field.appendChild(error);
    }
    error.textContent = text;
  }

  function clear(input) {
    var error = document.getElementById(input.id + '-error');
    if (error) { error.parentNode.removeChild(error); }
    fieldOf(input).classList.remove('has-error');
    input.removeAttribute('aria-invalid');
    var before = input.getAttribute('data-describedby');
    var hint = hintOf(input);
    if (hint) { hint.hidden = false; }
    if (before) {
      input.setAttribute('aria-describedby', before);
    } else if (hint) {
      input.setAttribute('aria-describedby', hint.id);
    } else {
      input.removeAttribute('aria-describedby');
    }
    input.removeAttribute('data-describedby');
  }

  function summaryOf(form) { return form.querySelector('.summary-errors'); }

  function showSummary(form) {
    var summary = summaryOf(form);
    var text = root.getAttribute('data-msg-summary');
    if (!summary || !text) { return; }
    // A new node each time: the live region announces it again on every refused submit.
    var notice = document.createElement('p');
    notice.className = 'notice';
    notice.id = 'form-notice';
    notice.textContent = text;
    summary.textContent = '';
    summary.appendChild(notice);
  }

  // Once nothing is marked any more, the "check the highlighted fields" notice goes too.
  function settleSummary(form) {
    var summary = summaryOf(form);
    var text = root.getAttribute('data-msg-summary');
    if (!summary || !text || form.querySelector('[aria-invalid="true"]')) { return; }
    Array.prototype.forEach.call(summary.querySelectorAll('.notice'), function (notice) {
      if (notice.textContent.replace(/^\s+|\s+$/g, '') === text) { notice.parentNode.removeChild(notice); }
    });
  }

  function controls(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName);
    });
  }

  // Marks every field in error; returns the first one (page order), or null.
  function check(form) {
    var first = null;
    controls(form).forEach(function (input) {
      var text = problem(input);
      if (text) {
        mark(input, text);
        first = first || input;
      } else if (text === '' && input.getAttribute('aria-invalid') === 'true') {
        clear(input);
      }
    });
    return first;
  }

  // A field once in error is checked again as the customer types (only to clear it:
  // no new complaint mid-word) and when they leave it (then the message may change).
  function recheck(input, leaving) {
    if (input.getAttribute('aria-invalid') !== 'true') { return; }
    var text = problem(input);
    if (text === '') {
      clear(input);
      settleSummary(input.form);
    } else if (text && leaving) {
      mark(input, text);
    }
  }

  function isField(el) { return el && el.form && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName); }

  document.addEventListener('input', function (event) {
    var input = event.target;
    if (!isField(input)) { return; }
    recheck(input, false);
    if (token(input) === 'cc-number') { // the security code's length follows the brand
      var cvv = cardField(input, 'cc-csc');
      if (cvv) { recheck(cvv, false); }
    }
  });
  document.addEventListener('focusout', function (event) {
    if (isField(event.target)) { recheck(event.target, true); }
  });
  document.addEventListener('change', function (event) { // selects, and autofill
    if (isField(event.target)) { recheck(event.target, false); }
  });

  // -- the busy state --------------------------------------------------------------------------
  function isPost(form) {
    return form && form.tagName === 'FORM' && (form.getAttribute('method') || '').toLowerCase() === 'post' &&
      (!form.target || form.target === '_self');
  }

  function submitButtons(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return (el.tagName === 'BUTTON' && (el.type || 'submit') === 'submit') ||
        (el.tagName === 'INPUT' && (el.type === 'submit' || el.type === 'image'));
    });
  }

  function submitterOf(event, form) {
    var by = event.submitter || document.activeElement;
    var buttons = submitButtons(form);
    return buttons.indexOf(by) !== -1 ? by : buttons[0];
  }

  function showBusy(button) {
    var text = root.getAttribute('data-busy-text');
    button.setAttribute('aria-busy', 'true');
    if (!text || button.tagName !== 'BUTTON') { return; }
    var label = document.createDocumentFragment(); // the label as it was, for Back
    while (button.firstChild) { label.appendChild(button.firstChild); }
    button.checkoutLabel = label;
    var spinner = document.createElement('span');
    spinner.className = 'busy-spinner';
    spinner.setAttribute('aria-hidden', 'true');
    button.appendChild(spinner);
    button.appendChild(document.createTextNode(text));
  }

  function reset(form) {
    form.removeAttribute('data-busy');
    submitButtons(form).forEach(function (button) {
      if (button.checkoutDisabled) { button.disabled = false; button.checkoutDisabled = false; }
      if (button.getAttribute('aria-busy') === 'true') { button.removeAttribute('aria-busy'); }
      if (button.checkoutLabel) {
        button.textContent = '';
        button.appendChild(button.checkoutLabel);
        button.checkoutLabel = null;
      }
    });
  }

  // First, before any other listener: a form already sent is never sent again (a double
  // click, Enter twice), and a form with errors is not sent at all.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!isPost(form)) { return; }
    // A submit refused here goes no further: other listeners (embed.js: "a payment may
    // be starting") must not take it for one that happens.
    if (form.hasAttribute('data-busy')) { event.preventDefault(); event.stopPropagation(); return; }
    if (event.submitter && event.submitter.formNoValidate) { return; }
    var first = check(form);
    if (first) {
      event.preventDefault();
      event.stopPropagation();
      showSummary(form);
      first.focus();
    } else {
      settleSummary(form);
    }
  }, true);

  // Last (on window, after every other listener had its say): the form really goes.
  // Busy at once, so a second submit is refused above; the buttons are disabled only
  // after this task, once the browser has taken the form's data: disabled earlier, the
  // button that sent it would drop out of the data (the sandbox's Approve / Decline are
  // told apart by it) and Chromium may drop the submission.
  window.addEventListener('submit', function (event) {
    var form = event.target;
    if (event.defaultPrevented || !isPost(form) || form.hasAttribute('data-busy')) { return; }
    form.setAttribute('data-busy', '');
    var button = submitterOf(event, form);
    if (button) { showBusy(button); }
    window.setTimeout(function () {
      if (!form.hasAttribute('data-busy')) { return; }
      submitButtons(form).forEach(function (b) {
        if (!b.disabled) { b.disabled = true; b.checkoutDisabled = true; }
      });
    }, 0);
  });

  // Back (or Forward) to this page from the back/forward cache: the page is as it was
  // left, busy; give the customer working buttons again.
  window.addEventListener('pageshow', function (event) {
    if (!event.persisted) { return; }
    Array.prototype.forEach.call(document.querySelectorAll('form[data-busy]'), reset);
  });
}());
