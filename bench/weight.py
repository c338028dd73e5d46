"""Page weight: what the browser fetches to show the payment page and make it usable,
compressed as it travels, and whether its HTML fits the first round trip.

Figures: the HTML of the seed example's page and of every theme preset (bytes as sent
with ``Accept-Encoding: br, gzip``; at most 14 KB, about what TCP's first flight carries),
and everything Chromium fetched for the seed example and a minimal link (bytes as
transferred, headers included; at most 12 KB and 8 KB), with the number of requests."""
from __future__ import annotations

import sys

import httpx

from checkout import themes
from checkout.chromium import launch
from checkout.examples import SEED_CHECKOUT_REQUEST as SEED_REQUEST

from .harness import MINIMAL_REQUEST, Figure, emit, gunicorn

KB = 1024


def html_bytes(url: str) -> tuple[int, int]:
    """(compressed, raw) bytes of a page's HTML as the server sends it to a browser."""
    with httpx.Client(headers={"Accept-Encoding": "br, gzip"}) as client:
        with client.stream("GET", url) as response:
            raw_wire = b"".join(response.iter_raw())
            response.raise_for_status()
    body = httpx.get(url, headers={"Accept-Encoding": "identity"}).content
    return len(raw_wire), len(body)


def fetched(browser, url: str) -> tuple[int, int, int, list[str]]:
    """(compressed body bytes, bytes with headers, requests, what) of everything Chromium
    loads for ``url`` with an empty cache, the page left until the network is idle."""
    context = browser.new_context()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    total: dict[str, int] = {}
    headers: dict[str, int] = {}
    urls: dict[str, str] = {}

    def received(e) -> None:
        headers[e["requestId"]] = int(e["response"].get("encodedDataLength") or 0)
        urls[e["requestId"]] = e["response"]["url"]

    cdp.on("Network.responseReceived", received)
    cdp.on("Network.loadingFinished", lambda e: total.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    page.goto(url, wait_until="networkidle")
    context.close()
    bodies = {r: total[r] - headers.get(r, 0) for r in total}
    what = [f"{urls.get(r, '?').rsplit('/', 1)[-1][:28]} {b / KB:.1f}" for r, b in sorted(bodies.items(),
                                                                                         key=lambda x: -x[1])]
    return sum(bodies.values()), sum(total.values()), len(total), what


def measure() -> list[Figure]:
    figures: list[Figure] = []
    with gunicorn() as server:
        seed = server.link(SEED_REQUEST)
        minimal = server.link(MINIMAL_REQUEST)
        packed, raw = html_bytes(seed)
        figures.append(Figure("HTML, seed example (compressed)", packed / KB, "KB", 14, note=f"{raw / KB:.1f} KB raw"))
        packed, raw = html_bytes(minimal)
        figures.append(Figure("HTML, minimal link (compressed)", packed / KB, "KB", 14, note=f"{raw / KB:.1f} KB raw"))
        for preset in themes.presets():
            body = {**MINIMAL_REQUEST, "theme": preset}
            packed, raw = html_bytes(server.link(body))
            figures.append(Figure(f"HTML, preset {preset} (compressed)", packed / KB, "KB", 14,
                                  note=f"{raw / KB:.1f} KB raw"))
        with launch() as browser:
            for label, url, target in (("seed example", seed, 12), ("minimal link", minimal, 8)):
                bodies, total, count, what = fetched(browser, url)
                figures.append(Figure(f"All-in, {label} (compressed bodies)", bodies / KB, "KB", target,
                                      note=f"{count} requests, {total / KB:.1f} KB with headers"))
                print(f"{label}: " + ", ".join(what), flush=True)
    return figures


if __name__ == "__main__":
    emit(measure(), "weight")
    sys.exit(0)
