/*! Checkout widget — served at /widget.js. No dependencies, no build step.
 *
 *   <script src="https://checkout.example/widget.js"></script>
 *   new Checkout().charge({publicId, amount, currency, description, invoiceId, accountId, locale},
 *                         function onSuccess(result) {}, function onFail(reason, result) {});
 *   // or with a checkout the merchant's server created (POST /checkout/link):
 *   const result = await new Checkout().charge({token: linkOrToken});
 *
 * The checkout opens in a modal dialog holding an iframe of this script's origin. Results
 * come from that frame only (checked origin and source): the signed fields invoiceId,
 * transactionId, status, statusCode, amount, currency, reasonCode, reason, ts, signature.
 * Verify them on your server before you trust them.
 * onFail reasons: "declined", "cancelled", "pending", "error". The promise resolves with
 * the result on success and rejects with an Error carrying .reason and .result otherwise.
 * Closing the dialog (its button, Escape, or close()) first asks the checkout where it
 * stands: "cancelled" (result null) only while nothing was paid; a payment that went
 * through or is still being confirmed is reported as such, with its signed result.
 */
(function (window, document) {
  "use strict";

  var script = document.currentScript || (function () {
    var found = document.querySelectorAll("script[src*='widget.js']");
    return found[found.length - 1];
  })();
  var BASE = new URL(script.src, window.location.href).origin; // the checkout's origin
  var NONCE = script.nonce || script.getAttribute("nonce") || "";
  var FIELDS = ["publicId", "amount", "currency", "description", "invoiceId", "accountId", "locale"];
  var FAIL_REASONS = {"checkout:failure": "declined", "checkout:pending": "pending", "checkout:cancel": "cancelled"};
  // Until the checkout answers /widget/texts (its catalogues, in the customer's language).
  var TEXT = {title: "Secure payment", close: "Close", frame: "Payment form",
              slow: "The payment form is taking long to load. You can close this window and try again."};
  var CSS =
    ".ckw-dialog{box-sizing:border-box;border:0;padding:0;margin:auto;width:480px;max-width:calc(100vw - 32px);" +
    "max-height:calc(100vh - 32px);overflow:auto;border-radius:12px;background:#fff;color:#1f2328;" +
    "box-shadow:0 12px 40px rgba(0,0,0,.3);font:15px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    ".ckw-dialog::backdrop{background:rgba(16,22,34,.6)}" +
    ".ckw-bar{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:4px 4px 0 16px}" +
    ".ckw-title{margin:0;font-size:15px;font-weight:600}" +
    ".ckw-close{width:44px;height:44px;border:0;border-radius:8px;background:transparent;color:inherit;" +
    "font:28px/1 system-ui,sans-serif;cursor:pointer}" +
    ".ckw-close:hover{background:#eef0f3}" +
    ".ckw-close:focus-visible{outline:3px solid #0b57d0;outline-offset:-3px}" +
    ".ckw-frame{display:block;width:100%;height:520px;min-height:320px;border:0}" +
    ".ckw-slow{margin:8px 16px 16px;color:#8a1c1c}" +
    "@media (max-width:600px){.ckw-dialog{width:100vw;max-width:100vw;height:100%;max-height:100%;" +
    "margin:0;border-radius:0}.ckw-frame{min-height:calc(100% - 48px)}}";

  var styled = false;
  var open = null; // the charge on screen, if any

  /** The widget's words: English at once, then the catalogue's for ``locale`` (the
   *  option, else the browser's language), given to ``apply`` when they arrive. */
  function text(locale, apply) {
    var t = {};
    for (var key in TEXT) t[key] = TEXT[key];
    if (window.fetch) {
      var url = BASE + "/widget/texts" + (locale ? "?locale=" + encodeURIComponent(String(locale)) : "");
      fetch(url, {credentials: "omit"}).then(function (r) { return r.ok ? r.json() : null; }).then(function (got) {
        if (!got) return;
        for (var k in TEXT) if (typeof got[k] === "string") t[k] = got[k];
        apply(t, got.lang, got.dir);
      }).catch(function () {});
    }
    return t;
  }

  function addStyle() {
    if (styled) return;
    var style = document.createElement("style");
    if (NONCE) style.setAttribute("nonce", NONCE); // the merchant's CSP may ask for one
    style.textContent = CSS;
    document.head.appendChild(style);
    styled = true;
  }

  function el(tag, attrs) {
    var node = document.createElement(tag);
    for (var name in attrs) node.setAttribute(name, attrs[name]);
    return node;
  }

  /** The iframe URL: a server-created checkout ({token}), or the seed's public options. */
  function frameUrl(options) {
    var origin = window.location.origin;
    if (!origin || origin === "null") throw new Error("the page needs an http(s) origin");
    if (options.token) {
      var token = String(options.token);
      var at = token.indexOf("/c/");
      if (at >= 0) token = token.slice(at + 3).split(/[?#/]/)[0];
      return BASE + "/c/" + encodeURIComponent(token) + "?embed=1&origin=" + encodeURIComponent(origin);
    }
    if (!options.publicId || options.amount == null || !options.currency) {
      throw new Error("charge() needs publicId, amount and currency (or a token)");
    }
    var query = new URLSearchParams();
    FIELDS.forEach(function (name) {
      if (options[name] != null && options[name] !== "") query.set(name, String(options[name]));
    });
    query.set("origin", origin);
    return BASE + "/widget/checkout?" + query.toString();
  }

  function later(fn) {
    // A merchant callback that throws must not stop the widget from cleaning up.
    return function () {
      var args = arguments;
      try { fn.apply(null, args); } catch (e) { setTimeout(function () { throw e; }); }
    };
  }

  function Checkout() {
    if (!(this instanceof Checkout)) return new Checkout();
  }

  /** Open the checkout. Returns a Promise; onSuccess(result) / onFail(reason, result) also fire. */
  Checkout.prototype.charge = function (options, onSuccess, onFail) {
    options = options || {};
    if (open) open.close(); // one checkout on screen at a time
    var promise = new Promise(function (resolve, reject) {
      var settle = function (reason, result) {
        if (reason === null) {
          if (onSuccess) later(onSuccess)(result);
          resolve(result);
        } else {
          if (onFail) later(onFail)(reason, result);
          var error = new Error("payment " + reason);
          error.reason = reason;
          error.result = result;
          reject(error);
        }
      };
      var src;
      try {
        src = frameUrl(options);
        if (typeof document.createElement("dialog").showModal !== "function") {
          throw new Error("this browser has no modal dialogs");
        }
      } catch (e) {
        settle("error", null);
        if (window.console) window.console.error("Checkout: " + e.message);
        return;
      }
      show(src, options, settle);
    });
    // With an onFail callback, an ignored promise must not report an unhandled rejection.
    if (onFail) promise.catch(function () {});
    return promise;
  };

  /** Close the checkout on screen, as if the customer had (see "Closing" above). */
  Checkout.prototype.close = function () {
    if (open) open.close();
  };

  function show(src, options, settle) {
    addStyle();
    var t = text(options.locale, function (words, lang, dir) {
      title.textContent = words.title;
      close.setAttribute("aria-label", words.close);
      frame.setAttribute("title", words.frame);
      if (lang) dialog.setAttribute("lang", lang);
      if (dir === "rtl" || dir === "ltr") dialog.setAttribute("dir", dir);
    });
    var id = "ckw-title-" + Math.random().toString(36).slice(2);
    var opener = document.activeElement;
    var dialog = el("dialog", {"class": "ckw-dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": id});
    var bar = el("div", {"class": "ckw-bar"});
    var title = el("h2", {"class": "ckw-title", id: id});
    title.textContent = t.title;
    var close = el("button", {"class": "ckw-close", type: "button", "aria-label": t.close});
    close.textContent = "\u00d7";
    var frame = el("iframe", {"class": "ckw-frame", title: t.frame, src: src,
                              allow: "payment", referrerpolicy: "origin"});
    bar.appendChild(title);
    bar.appendChild(close);
    dialog.appendChild(bar);
    dialog.appendChild(frame);

    var overflow = document.documentElement.style.overflow;
    var ready = false;
    var slow = setTimeout(function () {
      if (ready || !open) return;
      var note = el("p", {"class": "ckw-slow", role: "status"});
      note.textContent = t.slow;
      dialog.appendChild(note);
    }, 15000);

    function onMessage(event) {
      if (event.origin !== BASE || event.source !== frame.contentWindow) return;
      var data = event.data;
      if (!data || typeof data !== "object" || typeof data.type !== "string") return;
      if (data.type === "checkout:ready") {
        ready = true;
        if (document.activeElement === close || document.activeElement === dialog) frame.focus();
      } else if (data.type === "checkout:resize") {
        var height = Number(data.height);
        if (isFinite(height) && height > 0) frame.style.height = Math.ceil(Math.min(height, 20000)) + "px";
      } else if (data.type === "checkout:escape") {
        requestClose();
      } else if (data.type === "checkout:dismissed") {
        finish("cancelled", null);
      } else if (data.type === "checkout:success" || FAIL_REASONS[data.type]) {
        var result = {};
        for (var key in data) if (key !== "type") result[key] = data[key];
        finish(data.type === "checkout:success" ? null : FAIL_REASONS[data.type], result);
      }
    }

    function onCancel(event) { // Escape on the merchant's page
      event.preventDefault();
      requestClose();
    }

    /** The customer closes the dialog: it goes at once, but the outcome waits for the
     * frame to say where the checkout stands (a payment may be under way in it). */
    var closing = null;
    function requestClose() {
      if (done || closing) return;
      if (!ready) { finish("cancelled", null); return; } // our page never loaded: nothing was paid
      closing = setTimeout(function () { finish("pending", null); }, 5000); // no answer: unknown
      hide();
      if (open === current) open = null; // another charge may open meanwhile
      frame.contentWindow.postMessage({type: "checkout:close"}, BASE);
    }

    function hide() {
      if (dialog.open) dialog.close();
      dialog.style.display = "none"; // the frame stays alive to answer
      document.documentElement.style.overflow = overflow;
      if (opener && typeof opener.focus === "function" && document.contains(opener)) opener.focus();
    }

    var done = false;
    function finish(reason, result) {
      if (done) return;
      done = true;
      if (open === current) open = null;
      clearTimeout(slow);
      clearTimeout(closing);
      window.removeEventListener("message", onMessage);
      dialog.removeEventListener("cancel", onCancel);
      if (!closing) hide();
      dialog.remove();
      settle(reason, result);
    }

    var current = {finish: finish, close: requestClose};
    open = current;
    window.addEventListener("message", onMessage);
    dialog.addEventListener("cancel", onCancel);
    close.addEventListener("click", requestClose);
    document.body.appendChild(dialog);
    document.documentElement.style.overflow = "hidden";
    dialog.showModal();
    close.focus();
  }

  window.Checkout = Checkout;
  if (!window.OdeonPay) window.OdeonPay = Checkout; // the seed's name for the same widget
})(window, document);
