"""``flask --app checkout preview``: every page state of a theme, in each locale and
viewport, as Playwright screenshots, with an ``index.html`` contact sheet.

It starts its own app (sandbox mode, temporary SQLite files) on a free loopback port,
drives Debian's Chromium through each state as a customer would, and reports any console
error, failed request, HTTP error or text that overflows its box. The tests reuse
``serve``, ``launch`` and ``walk`` (visual regression, axe-core accessibility).
"""
from __future__ import annotations

import html
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import click
from babel import Locale
from werkzeug.serving import WSGIRequestHandler, make_server

from . import create_app, i18n, themes, tokens
from .chromium import launch

DEFAULT_LOCALES = ("en_US", "ru_RU")
DEFAULT_VIEWPORTS = ((375, 812), (1280, 800))

#: Every state, in walking order: what the screenshot shows, and the HTTP status its page has.
STATES: dict[str, tuple[str, int]] = {
    "empty": ("The payment page as it opens.", 200),
    "errors": ("The form with a card number that fails the Luhn check: flagged in the browser before "
               "anything is sent, as the server's page would (forms.js).", 200),
    "declined": ("The form again after a decline (4242 4242 4242 4242, CVV 333).", 402),
    "processing": ("The 3-D Secure hand-over (card 4111 1111 1111 1111) that sends the customer to "
                   "their bank; its sending script is held back until the screenshot is taken.", 200),
    "3ds": ("The sandbox bank's 3-D Secure page (passphrase 4 passes).", 200),
    "bank-waiting": ("The link opened again while the bank waits (as after Back from the bank's page): "
                     "continue to the bank, or use another card.", 200),
    "approved": ("Where the customer lands after paying: the sandbox's demo merchant success page "
                 "(timestamp, signature and transaction id masked: they differ on every run).", 200),
    "already-paid": ("The paid link opened again.", 200),
    "pending": ("The confirming page: the gateway did not answer in time (4000 0000 0000 0408).", 202),
    "cancelled": ("The link opened again after the customer cancelled.", 200),
    "expiring": ("The payment page in its link's last five minutes: the time left (masked: it counts).", 200),
    "expired": ("A link past its expiry: the merchant's name and theme, and the way back to the merchant.", 410),
    "invalid": ("A tampered link.", 404),
    "saved-cards": ("A returning customer's page: the card saved by the approved payment above, "
                    "paid in one click.", 200),
    "method-fields": ("An alternative method (UPI, an INR checkout in India) asking for what the "
                      "request's data lacks.", 200),
    "cashier": ("The cashier (mode cashier): amounts to pick from, or one to type.", 200),
    "crypto": ("A crypto quote (Bitcoin): the exact amount, the address and its QR code, the "
               "countdown (address, QR code and countdown masked: they differ on every run).", 200),
}
#: Parts of a page that differ on every run, masked in screenshots.
VOLATILE = ("[data-field=ts], [data-field=signature], [data-field=transactionId], "
            "#crypto-address, img.qr, #countdown, [data-countdown]")

# Text that overflows its box: clipped text, inputs and buttons too narrow for their text,
# and anything reaching past the viewport's right edge (or its left one, right to left).
OVERFLOW_JS = """() => {
  const vw = window.innerWidth, wide = document.documentElement.scrollWidth > vw, out = [];
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    [...el.classList].map(c => '.' + c).join('');
  const text = el => (el.value || el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
  for (const el of document.body.querySelectorAll('*')) {
    const style = getComputedStyle(el), box = el.getBoundingClientRect();
    if (style.visibility !== 'visible' || box.width <= 1 || box.height <= 1) continue;
    const control = el.matches('input, button, select, textarea');
    if (!control && ![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const clips = control || /hidden|clip|auto|scroll/.test(style.overflowX);
    if (clips && el.scrollWidth > el.clientWidth + 1) {
      out.push(`${name(el)} "${text(el)}" needs ${el.scrollWidth}px in a ${el.clientWidth}px box`);
    } else if (wide && box.right > vw + 1) {
      out.push(`${name(el)} "${text(el)}" ends at ${Math.round(box.right)}px, past the ${vw}px viewport`);
    } else if (box.left < -1) {  // right to left: past the viewport's left edge
      out.push(`${name(el)} "${text(el)}" starts at ${Math.round(box.left)}px, before the viewport`);
    }
  }
  if (wide && !out.length) {
    out.push(`the page is ${document.documentElement.scrollWidth}px wide in a ${vw}px viewport`);
  }
  return out;
}"""


# -- the app on loopback -----------------------------------------------------------------
class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@dataclass
class Site:
    url: str
    app: object

    def link(self, theme: str, locale: str, invoice: str, **overrides) -> str:
        """A checkout link as the demo merchant (a direct link when ``data`` names a
        paymentTypeId), landing on the app's own demo pages. Each
        link has a customer of its own: cards saved by an earlier walk's payments would
        otherwise appear on this one's page and make the screenshots depend on the order."""
        body = {
            "amount": 10.66, "currency": "USD", "description": "Payment for products", "invoiceId": invoice,
            "accountId": f"{invoice}@example.com", "locale": locale, "theme": theme,
            **{f"{kind}Url": f"{self.url}/demo/result/{kind}" for kind in ("success", "failure", "pending",
                                                                            "cancel")},
            "data": {"firstName": "John", "lastName": "Doe", "email": "john@doe.com", "phone": "+44 20 7946 0958",
                     "address": "Wall Street 15", "city": "London", "postcode": "SW1A 1AA", "countryCode": "GB"},
        }
        body.update(overrides)
        endpoint = "/payments/link" if "paymentTypeId" in body.get("data", {}) else "/checkout/link"
        with self.app.test_client() as client:
            response = client.post(endpoint, json=body, auth=("pbid_test", "test_secret"), base_url=self.url)
        if response.status_code != 200:
            raise click.ClickException(f"could not create a checkout link: {response.get_json()}")
        return response.get_json()["link"]["action"]

    def expired(self, link: str, seconds_left: int = -60) -> str:
        """The link signed again to expire ``seconds_left`` from now (past, by default)."""
        with self.app.app_context():
            payload = tokens.load_checkout(link.rsplit("/", 1)[1])
            return f"{self.url}/c/{tokens.sign_checkout({**payload, 'exp': int(time.time()) + seconds_left})}"

    def customer(self, link: str) -> str:
        """The accountId a link of ours carries."""
        with self.app.app_context():
            return tokens.load_checkout(link.rsplit("/", 1)[1], allow_expired=True)["accountId"]

    @staticmethod
    def tampered(link: str) -> str:
        """The link with one character in the middle of its token changed (the
        authenticated encryption refuses any changed byte)."""
        base, token = link.rsplit("/", 1)
        i = len(token) // 2
        token = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        return f"{base}/{token}"


@contextmanager
def serve() -> Iterator[Site]:
    """A fresh app in sandbox mode on temporary SQLite files, on a free loopback port."""
    with tempfile.TemporaryDirectory(prefix="checkout-preview-") as tmp:
        app = create_app({
            "MODE": "sandbox", "GATEWAY_URL": "sandbox", "MERCHANTS_FILE": None, "PUBLIC_URL": None,
            "SECRET_KEYS": secrets.token_hex(16), "DATABASE": os.path.join(tmp, "checkout.sqlite3"),
            "SANDBOX_DATABASE": os.path.join(tmp, "sandbox.sqlite3"),
            # the timeout card is pending after half a second; its page never refreshes away
            "GATEWAY_TIMEOUT": 0.5, "SANDBOX_SLOW_SECONDS": 1.0, "PENDING_REFRESH": 3600,
            "MAX_DECLINES_PER_IP": 1_000_000,  # every walk declines a card from 127.0.0.1
        })
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Site(f"http://127.0.0.1:{server.server_port}", app)
        finally:
            server.shutdown()
            server.server_close()
            time.sleep(1.0)  # let the sandbox's slow charge finish before its database goes


# -- walking the states ----------------------------------------------------------------------
class _Stuck(Exception):
    """A state did not come out as it should: the rest of the walk cannot follow."""


class _Watch:
    """Console errors, failed requests and HTTP errors of one page, by state. A state whose
    page has a 4xx status by design (422, 402, 410, 404) excuses that main document only."""

    def __init__(self, page, label: str):
        self.label, self.state = label, "empty"
        self.problems: list[str] = []
        self.expected: set[tuple[str, int]] = set()
        self.held: set[str] = set()  # URLs the preview itself holds back: their failures are its own
        self._seen: list[tuple[str, str, str]] = []
        page.on("console", self._console)
        page.on("requestfailed", lambda r: self._seen.append(
            (self.state, f"request failed: {r.method} {r.url} ({r.failure})", r.url)))
        page.on("response", self._response)

    def _console(self, msg) -> None:
        if msg.type == "error":
            self._seen.append((self.state, f"console error: {msg.text}", (msg.location or {}).get("url", "")))

    def _response(self, response) -> None:
        if response.status >= 400:
            self._seen.append((self.state, f"HTTP {response.status}: {response.request.method} {response.url}",
                               response.url))

    def expect(self, response, state: str, status: int | None = None) -> None:
        status = STATES[state][1] if status is None else status
        if response is None or response.status != status:
            raise _Stuck(f"expected HTTP {status}, got {response.status if response else 'no response'}")
        if status >= 400:
            self.expected.add((response.url, status))

    def flush(self) -> None:
        for state, problem, url in self._seen:
            excused = url in self.held or any(
                url == u and (problem.startswith(f"HTTP {s}:") or f"status of {s}" in problem)
                for u, s in self.expected)
            if not excused:
                self.problems.append(f"{self.label} {state}: {problem}")
        self._seen.clear()


def _fill_card(page, number: str, cvv: str = "123") -> None:
    page.fill("#name", "John Doe")
    page.fill("#number", number)
    page.fill("#expiry", "12 / 34")
    page.fill("#cvv", cvv)


def walk(browser, site: Site, theme: str, locale: str, viewport: tuple[int, int],
         visit: Callable[[str, object], None], *, bypass_csp: bool = False) -> list[str]:
    """Drive a fresh browser context through every state of ``STATES``, calling
    ``visit(state, page)`` when each is on screen. Returns the problems found."""
    from playwright.sync_api import Error as PlaywrightError

    width, height = viewport
    label = f"{locale} {width}x{height}"
    context = browser.new_context(locale=locale.replace("_", "-"), viewport={"width": width, "height": height},
                                  device_scale_factor=1, timezone_id="UTC", bypass_csp=bypass_csp)
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = _Watch(page, label)

    def show(state: str) -> None:
        for offender in page.evaluate(OVERFLOW_JS):
            watch.problems.append(f"{label} {state}: overflow: {offender}")
        visit(state, page)

    def submit(state: str) -> None:
        watch.state = state
        with page.expect_navigation() as nav:
            page.click("button.pay")
        watch.expect(nav.value, state)

    def choose(state: str, method: str) -> None:
        """Pick a method from the page's list of other ways to pay and go on."""
        watch.state = state
        page.get_by_label(method, exact=True).check()
        with page.expect_navigation() as nav:
            page.click("button.pay-alt")
        watch.expect(nav.value, state)

    def goto(state: str, url: str, status: int | None = None) -> None:
        watch.state = state
        watch.expect(page.goto(url), state, status)

    try:
        n = 0

        def link(**overrides) -> str:
            nonlocal n
            n += 1
            return site.link(theme, locale, f"{theme}-{locale}-{width}x{height}-{n}", **overrides)

        goto("empty", first := link())
        show("empty")
        _fill_card(page, "4242 4242 4242 4241")
        watch.state = "errors"
        page.click("button.pay")  # forms.js refuses it before sending
        page.wait_for_selector(".field.has-error #number[aria-invalid=true]")
        show("errors")
        _fill_card(page, "4242 4242 4242 4242", cvv="333")
        submit("declined")
        show("declined")

        # 3-D Secure: the bank page sends itself to the bank by a script; hold the
        # script back for the screenshot, then send the form as it would.
        def hold_back(route) -> None:
            """The script never arrives (an empty script in its place would be refused for
            not being the bytes of its tag's integrity hash)."""
            watch.held.add(route.request.url)
            route.abort()

        page.route("**/js/bank.*", hold_back)
        goto("processing", paid := link(), 200)
        _fill_card(page, "4111 1111 1111 1111")
        submit("processing")
        show("processing")
        page.unroute("**/js/bank.*", hold_back)

        def to_the_bank() -> None:
            watch.state = "3ds"
            with page.expect_navigation(url=re.compile(r"/sandbox/acs$")) as nav:
                page.click("form.bank button")
            watch.expect(nav.value, "3ds")

        to_the_bank()
        show("3ds")
        goto("bank-waiting", paid)  # the link opened again while the bank waits
        show("bank-waiting")
        to_the_bank()
        page.fill("#passphrase", "4")
        watch.state = "approved"
        with page.expect_navigation(url=re.compile(r"/demo/result/success\?")) as nav:
            page.click("button.pay")
        watch.expect(nav.value, "approved")
        show("approved")
        goto("already-paid", paid)
        show("already-paid")

        goto("pending", link(), 200)
        _fill_card(page, "4000 0000 0000 0408")
        submit("pending")
        show("pending")

        cancelled = link()
        goto("cancelled", cancelled + "/cancel", 200)
        goto("cancelled", cancelled)
        show("cancelled")
        goto("expiring", site.expired(link(), 4 * 60 + 30))
        show("expiring")
        goto("expired", site.expired(first))
        show("expired")
        goto("invalid", site.tampered(first))
        show("invalid")

        # The same customer as the approved payment comes back: the card is saved.
        customer = site.customer(paid)
        goto("saved-cards", link(accountId=customer))
        show("saved-cards")
        goto("method-fields", link(currency="INR", amount=500, data={"countryCode": "IN"}))
        choose("method-fields", "UPI")
        show("method-fields")
        goto("cashier", link(mode="cashier", amount=None, cashier={"presets": [10, 25, 50], "min": 5, "max": 500}))
        show("cashier")
        goto("crypto", link(data={"paymentTypeId": 10100}))  # a direct link (POST /payments/link)
        show("crypto")
    except (_Stuck, PlaywrightError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        watch.problems.append(f"{label} {watch.state}: stopped: {message.splitlines()[0]}")
    finally:
        context.close()
    watch.flush()
    return watch.problems


# -- screenshots and the contact sheet -----------------------------------------------------------
@dataclass
class Report:
    theme: str
    out: Path
    locales: tuple[str, ...]
    viewports: tuple[tuple[int, int], ...]
    shots: dict[tuple[str, str, tuple[int, int]], str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (f"rendered {len(STATES)} states × {len(self.locales)} locales × {len(self.viewports)} viewports"
                f" = {len(self.shots)} screenshots in {self.out}")


def file_name(state: str, locale: str, viewport: tuple[int, int]) -> str:
    return f"{state}-{locale}-{viewport[0]}x{viewport[1]}.png"


def render(theme: str, out: Path, locales=DEFAULT_LOCALES, viewports=DEFAULT_VIEWPORTS, *,
           browser=None, site: Site | None = None) -> Report:
    """Screenshots of every state in each locale and viewport, and ``out/index.html``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = Report(theme, out, tuple(locales), tuple(viewports))
    with ExitStack() as stack:
        site = site or stack.enter_context(serve())
        browser = browser or stack.enter_context(launch())
        for locale in report.locales:
            for viewport in report.viewports:
                def shoot(state, page, locale=locale, viewport=viewport):
                    name = file_name(state, locale, viewport)
                    page.screenshot(path=str(out / name), full_page=True, animations="disabled", caret="hide",
                                    mask=[page.locator(VOLATILE)], mask_color="#d0d4dc")
                    report.shots[state, locale, viewport] = name

                report.problems += walk(browser, site, theme, locale, viewport, shoot)
    (out / "index.html").write_text(contact_sheet(report), encoding="utf-8")
    return report


def contact_sheet(report: Report) -> str:
    """The index.html of a preview: one section per locale (its name in its own language,
    ``dir`` for right-to-left ones), each a table of every state by viewport."""
    e = html.escape
    sections, toc = [], []
    for locale in report.locales:
        name = Locale.parse(locale).get_display_name(locale) or locale
        toc.append(f'<li><a href="#{e(locale)}">{e(locale)}</a> <span lang="{e(locale.replace("_", "-"))}">'
                   f'{e(name)}</span></li>')
        head = "".join(f"<th>{w}×{h}</th>" for w, h in report.viewports)
        rows = []
        for state, (about, _status) in STATES.items():
            cells = []
            for viewport in report.viewports:
                shot = report.shots.get((state, locale, viewport))
                cells.append(f'<td><a href="{e(shot)}"><img src="{e(shot)}" alt="{e(state)}, {e(locale)}, '
                             f'{viewport[0]}×{viewport[1]}" loading="lazy"></a></td>' if shot else "<td>missing</td>")
            rows.append(f'<tr><th scope="row"><h3>{e(state)}</h3><p>{e(about)}</p></th>{"".join(cells)}</tr>')
        direction = "rtl" if locale in i18n.RTL_LOCALES else "ltr"
        sections.append(f'<section id="{e(locale)}"><h2>{e(locale)} · <span lang="{e(locale.replace("_", "-"))}" '
                        f'dir="{direction}">{e(name)}</span></h2>\n<table>\n<thead><tr><th>state</th>{head}</tr>'
                        f'</thead>\n<tbody>\n' + "\n".join(rows) + "\n</tbody>\n</table></section>")
    problems = "".join(f"<li>{e(p)}</li>" for p in report.problems)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Theme {e(report.theme)}: every page state</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #1a1f36; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #d0d4dc; padding: .5rem; vertical-align: top; text-align: left; }}
th[scope=row] {{ width: 14rem; font-weight: normal; }}
h3 {{ font-size: 1.1rem; margin: 0 0 .25rem; }}
img {{ display: block; width: 320px; height: auto; }}
.problems {{ color: #a0151a; }}
nav ul {{ columns: 4; }}
</style>
</head>
<body>
<h1>Theme “{e(report.theme)}”</h1>
<p>{e(report.summary)}</p>
{f'<h2 class="problems">Problems</h2><ul class="problems">{problems}</ul>' if problems else ''}
<nav aria-label="Locales"><ul>{"".join(toc)}</ul></nav>
{chr(10).join(sections)}
</body>
</html>
"""


# -- the command ------------------------------------------------------------------------------
def _viewport(ctx, param, values) -> tuple[tuple[int, int], ...]:
    parsed = []
    for value in values:
        match = re.fullmatch(r"(\d{3,4})x(\d{3,4})", value, re.ASCII)
        if not match:
            raise click.BadParameter(f"{value!r} is not WIDTHxHEIGHT, e.g. 375x812")
        parsed.append((int(match[1]), int(match[2])))
    return tuple(parsed) or DEFAULT_VIEWPORTS


@click.command("preview")
@click.option("--theme", required=True, help="A preset theme: a file name in themes/ without .json.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where the PNG files and index.html go.")
@click.option("--locale", "locales", multiple=True,
              help="A locale the checkout has (en_US, ar, pt_BR...; README \"Languages\"), or all of them: "
                   "all. en_US and ru_RU when not given. Repeatable.")
@click.option("--viewport", "viewports", multiple=True, callback=_viewport,
              help="WIDTHxHEIGHT; 375x812 and 1280x800 when not given. Repeatable.")
def preview_command(theme: str, out: Path, locales: tuple[str, ...], viewports) -> None:
    """Screenshots of every page state of THEME and an index.html contact sheet; exits 1
    on a console error, a failed request or text overflowing its box."""
    logging.getLogger("checkout").addHandler(logging.NullHandler())  # the timeout card's warning is expected
    if theme not in themes.presets():
        raise click.BadParameter(f"unknown theme {theme!r}; presets: {', '.join(themes.presets())}",
                                 param_hint="--theme")
    if "all" in locales:
        locales = i18n.LOCALES
    for locale in locales:
        if locale not in i18n.LOCALES:  # another would show en_US pages under its name
            raise click.BadParameter(f"{locale!r} is not a locale the checkout has pages in; "
                                     f"choose from {', '.join(i18n.LOCALES)}", param_hint="--locale")
    report = render(theme, out, locales or DEFAULT_LOCALES, viewports)
    for problem in report.problems:
        click.echo(problem, err=True)
    click.echo(report.summary)
    if report.problems:
        raise SystemExit(1)
