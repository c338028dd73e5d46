"""First paint in Chromium on a slow phone and on a desktop: the median of 10 loads,
cold (an empty cache) and warm (a repeat view).

The phone profile: 400 ms round trip, 400 kbit/s each way, the CPU 4x slower (Chrome
DevTools' throttling, through CDP). "Usable" is when the Pay button works as the page
means it to: drawn, and the page's deferred scripts run (``domContentLoadedEventEnd``:
the card input's formatting and the form's checks are attached). Without any script the
button works as soon as it is drawn (a plain form post)."""
from __future__ import annotations

import sys

from checkout.chromium import launch
from checkout.examples import SEED_CHECKOUT_REQUEST as SEED_REQUEST

from .harness import MINIMAL_REQUEST, Figure, emit, gunicorn, median

LOADS = 10
PHONE = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}
PHONE_CPU = 4

_TIMES = """() => new Promise(resolve => {
  const nav = performance.getEntriesByType('navigation')[0];
  const done = paint => resolve({fcp: paint ? paint.startTime : NaN, ready: nav.domContentLoadedEventEnd});
  const now = performance.getEntriesByName('first-contentful-paint')[0];
  if (now) return done(now);
  // Headless Chromium may report the paint after the load event: wait for it (buffered).
  new PerformanceObserver(list => done(list.getEntriesByName('first-contentful-paint')[0]))
    .observe({type: 'paint', buffered: true});
  setTimeout(() => done(performance.getEntriesByName('first-contentful-paint')[0]), 3000);
})"""


def _throttle(context, page, phone: bool):
    cdp = context.new_cdp_session(page)
    if phone:
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", PHONE)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": PHONE_CPU})
    return cdp


def _load(page, url: str) -> tuple[float, float]:
    page.goto(url, wait_until="load")
    times = page.evaluate(_TIMES)
    return times["fcp"], max(times["ready"], times["fcp"])


def loads(browser, url: str, phone: bool, warm: bool) -> tuple[float, float]:
    """Median first contentful paint and median "usable" time, in ms."""
    fcps, usable = [], []
    if warm:
        context = browser.new_context()
        page = context.new_page()
        _throttle(context, page, phone)
        _load(page, url)  # fills the cache
        for _ in range(LOADS):
            fcp, ready = _load(page, url)
            fcps.append(fcp)
            usable.append(ready - fcp)
        context.close()
    else:
        for _ in range(LOADS):
            context = browser.new_context()
            page = context.new_page()
            _throttle(context, page, phone)
            fcp, ready = _load(page, url)
            fcps.append(fcp)
            usable.append(ready - fcp)
            context.close()
    return median(fcps), median(usable)


def measure() -> list[Figure]:
    figures: list[Figure] = []
    with gunicorn() as server, launch() as browser:
        for label, body in (("seed example", SEED_REQUEST), ("minimal link", MINIMAL_REQUEST)):
            url = server.link(body)
            for profile, phone in (("phone", True), ("desktop", False)):
                for state, warm in (("cold", False), ("warm", True)):
                    fcp, after = loads(browser, url, phone, warm)
                    target = (450 if warm else 550) if phone else None
                    figures.append(Figure(f"First paint, {profile} {state}, {label}", fcp, "ms", target))
                    figures.append(Figure(f"Pay usable after paint, {profile} {state}, {label}", after, "ms",
                                          150 if phone else None))
    return figures


if __name__ == "__main__":
    emit(measure(), "paint")
    sys.exit(0)
