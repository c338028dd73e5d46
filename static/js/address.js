/* Addresses and phones on the card form, with scripts on (the form works without).
 * - Another country chosen: that country's address fields (GET /address-fields/<kind>/<country>,
 *   an HTML fragment without values) replace the ones drawn, keeping what was typed.
 * - "Shipping address is the same as billing": the hidden shipping fields are disabled too,
 *   so that nothing checks or sends them (CSS hides them with or without this script).
 * - Another phone country: its example number as the hint and in the message. */
(function () {
  'use strict';

  function keepTyped(from, to) {
    // What was typed or chosen goes into the field of the same name in the new fields; a
    // state chosen from a list only by its name (two countries' lists share codes).
    from.querySelectorAll('input[name], select[name]').forEach(function (old) {
      var field = to.querySelector('[name="' + old.name + '"]');
      var chosen = old.tagName === 'SELECT';
      var text = chosen ? (old.value ? old.options[old.selectedIndex].text : '') : old.value;
      if (!field || !text) return;
      if (field.tagName !== 'SELECT') {
        field.value = text;
        return;
      }
      var match = Array.prototype.find.call(field.options, function (o) {
        return o.value && (o.text === text || (!chosen && o.value.toLowerCase() === text.trim().toLowerCase()));
      });
      if (match) field.value = match.value;
    });
  }

  function swap(fieldset, box, html) {
    var template = document.createElement('template');
    template.innerHTML = html;
    var fresh = template.content;
    keepTyped(box, fresh);
    var focused = document.activeElement && box.contains(document.activeElement) ? document.activeElement.name : null;
    box.replaceChildren(fresh);
    if (focused) {
      var again = box.querySelector('[name="' + focused + '"]');
      if (again) again.focus();
    }
  }

  function addressFields(fieldset) {
    var select = fieldset.querySelector('[data-address-country]');
    var box = fieldset.querySelector('[data-address-fields]');
    if (!select || !box || !fieldset.dataset.fieldsUrl || !window.fetch) return;
    var pending = null;
    fieldset.setAttribute('data-address-live', '');
    select.addEventListener('change', function () {
      var code = select.value || 'ZZ';
      var url = new URL(fieldset.dataset.fieldsUrl, window.location.href);
      url.pathname = url.pathname.replace(/[^/]*$/, encodeURIComponent(code));
      if (pending) pending.abort();
      var current = pending = new AbortController();
      fieldset.setAttribute('aria-busy', 'true');
      fetch(url.toString(), {signal: current.signal, credentials: 'same-origin'})
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          swap(fieldset, box, html);
          fieldset.dataset.country = select.value;
        })
        .catch(function () { /* the server checks the posted country's fields anyway */ })
        .finally(function () { if (pending === current) fieldset.removeAttribute('aria-busy'); });
    });
  }

  function sameAsBilling(box) {
    var shipping = box.parentNode.querySelector('fieldset[data-address="shipping"]');
    if (!shipping) return;
    // Each control on its own (a disabled fieldset's controls keep disabled === false).
    var sync = function () {
      shipping.querySelectorAll('input, select').forEach(function (c) { c.disabled = box.checked; });
    };
    box.addEventListener('change', sync);
    sync();
  }

  function phoneCountry(select) {
    var field = select.closest('.field');
    var input = field && field.querySelector('input[type=tel]');
    if (!input) return;
    var asked = null;
    var show = function (option, example) {
      var hint = field.querySelector('[data-hint-template]');
      if (!example) return;
      if (hint) hint.textContent = hint.dataset.hintTemplate.replace('{example}', example);
      if (input.dataset.msgTemplate) {
        var country = option.text.replace(/\s\+\d+$/, '');
        input.dataset.msgPattern = input.dataset.msgTemplate.replace('{country}', country).replace('{example}', example);
      }
    };
    select.addEventListener('change', function () {
      // The example number is asked for (one small cacheable answer), not in every option.
      var option = select.options[select.selectedIndex];
      if (!option || !option.value || !select.dataset.exampleUrl || !window.fetch) return;
      if (asked) asked.abort();
      asked = window.AbortController ? new AbortController() : null;
      fetch(select.dataset.exampleUrl.replace('ZZ', option.value),
            {signal: asked && asked.signal, credentials: 'same-origin'})
        .then(function (r) { return r.ok ? r.json() : {}; })
        .then(function (data) { if (select.value === option.value) show(option, data.example); })
        .catch(function () {});
    });
  }

  document.querySelectorAll('fieldset[data-address]').forEach(addressFields);
  document.querySelectorAll('input.same-as-billing').forEach(sameAsBilling);
  document.querySelectorAll('[data-phone-country]').forEach(phoneCountry);
})();
