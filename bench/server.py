"""The server: what a page and a card payment cost it, under load, on 2 sync gunicorn
workers (as the issue's figures were taken), with the embedded sandbox gateway.

Figures:
- render: the app's own time for a page (``Server-Timing``: ``view`` until the view
  returned, ``app`` with the compression), median of 400 sequential requests;
- throughput: pages per second against a static file's, 4 clients for 4 s each (ratio);
- p99: the 99th percentile latency at 100 requests per second, open loop (each request
  sent at its time whatever the others do: no coordinated omission), 10 s;
- SQL per request and writes per GET (in-process, counted on the engine);
- the card POST's own time (``app`` less ``gateway``), median of 40 payments;
- building the gateway client: before (one per call) and after (one per process)."""
from __future__ import annotations

import re
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import event

from checkout import create_app
from checkout.examples import SEED_CHECKOUT_REQUEST as SEED_REQUEST
from checkout.gateway import client_for
from checkout.gateway.client import OdeonPayClient

from .harness import AUTH, MINIMAL_REQUEST, Figure, emit, gunicorn, median, percentile, server_timing

BROWSER = {"Accept-Encoding": "br, gzip", "Accept-Language": "en-US,en;q=0.9"}
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CARD = {"name": "Jane Doe", "number": "4242 4242 4242 4242", "expiry": "12 / 39", "cvv": "123"}


def timings(client: httpx.Client, url: str, n: int) -> tuple[list[float], list[float]]:
    """``app`` and ``view`` durations of ``n`` sequential GETs (after 30 to warm up)."""
    apps, views = [], []
    for i in range(n + 30):
        found = server_timing(client.get(url))
        if i >= 30:
            apps.append(found.get("app", float("nan")))
            views.append(found.get("view", float("nan")))
    return apps, views


def throughput(url: str, seconds: float = 4.0, clients: int = 4) -> float:
    """Requests per second with ``clients`` clients asking one after another."""
    stop = time.monotonic() + seconds
    counts = [0] * clients

    def run(i: int) -> None:
        with httpx.Client(headers=BROWSER) as client:
            while time.monotonic() < stop:
                client.get(url).raise_for_status()
                counts[i] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, range(clients)))
    return sum(counts) / (time.monotonic() - started)


def paced(url: str, rate: float = 100.0, seconds: float = 10.0) -> list[float]:
    """Latencies (ms) of requests sent at ``rate`` per second, each counted from the time
    it was due (a late start counts against the server, as a real client would see it)."""
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2
    latencies: list[float] = []
    lock = threading.Lock()
    local = threading.local()

    def one(i: int) -> None:
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        client = getattr(local, "client", None) or httpx.Client(headers=BROWSER)
        local.client = client
        client.get(url).raise_for_status()
        with lock:
            latencies.append((time.perf_counter() - due) * 1000)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(one, range(total)))
    return latencies


def card_posts(server, n: int = 40) -> list[tuple[float, float]]:
    """(own, gateway) ms of ``n`` card payments, each on a fresh minimal link."""
    found = []
    with httpx.Client(headers=BROWSER) as client:
        for _ in range(n):
            url = server.link(MINIMAL_REQUEST)
            token = _CSRF.search(client.get(url).text)[1]
            answer = client.post(url + "/card", data={**CARD, "csrf_token": token})
            if answer.status_code not in (200, 303):
                raise RuntimeError(f"card POST: HTTP {answer.status_code}")
            t = server_timing(answer)
            found.append((t["app"] - t.get("gateway", 0.0), t.get("gateway", 0.0)))
    return found


class StatementCounter:
    """The SQL statements an engine runs, by kind."""

    def __init__(self, engine):
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(" ".join(statement.split()[:2]).upper())

    def take(self) -> list[str]:
        taken, self.statements = self.statements, []
        return taken


#: Statements that write (a plain BEGIN is SQLite's deferred one: a read; see store.reader).
WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE", "REPLACE")


def in_process() -> list[Figure]:
    """SQL statements per GET and per card POST, counted in one app (SQLite files)."""
    figures = []
    with tempfile.TemporaryDirectory(prefix="checkout-bench-") as tmp:
        app = create_app({"DATABASE": f"{tmp}/c.sqlite3", "SANDBOX_DATABASE": f"{tmp}/s.sqlite3",
                          "SECRET_KEYS": "bench-key-0123456789abcdef", "WORKER_IN_PROCESS": "0"})
        counter = StatementCounter(app.extensions["checkout.store"].engine)
        client = app.test_client()
        for label, body in (("seed example", SEED_REQUEST), ("minimal link", MINIMAL_REQUEST)):
            path = "/" + client.post("/checkout/link", json=body, auth=AUTH).json["link"]["action"].split("/", 3)[3]
            counter.take()
            client.get(path)  # the first view of a link
            first = counter.take()
            client.get(path)
            again = counter.take()
            writes = sum(s.startswith(WRITES) for s in first + again)
            figures.append(Figure(f"Writes per GET, {label} (first and repeat view)", writes / 2, "", 0,
                                  note=f"{len(first)} and {len(again)} statements: {', '.join(first)}"))
        path = "/" + client.post("/checkout/link", json=MINIMAL_REQUEST, auth=AUTH).json["link"]["action"].split(
            "/", 3)[3]
        token = _CSRF.search(client.get(path).get_data(as_text=True))[1]
        counter.take()
        client.post(path + "/card", data={**CARD, "csrf_token": token})
        statements = counter.take()
        figures.append(Figure("SQL statements per card POST", len(statements), "", None,
                              note=f"{sum(s.startswith(WRITES) for s in statements)} writes"))
        # The gateway client: built for every call before; one per process now.
        n = 30
        started = time.perf_counter()
        for _ in range(n):
            OdeonPayClient("https://gateway.example", "pbid", "secret").close()
        before = (time.perf_counter() - started) / n * 1000
        merchant = app.extensions["checkout.merchants"].get("pbid_test")
        with app.test_request_context("/", base_url="https://checkout.example"):
            app.config["GATEWAY_URL"] = "https://gateway.example"
            client_for(merchant)
            started = time.perf_counter()
            for _ in range(1000):
                client_for(merchant)
            after = (time.perf_counter() - started) / 1000 * 1000
        figures.append(Figure("Gateway client per call, before (built each time)", before, "ms", None,
                              note="httpx.Client with TLS"))
        figures.append(Figure("Gateway client per call, after (one per process)", after, "ms", 0.05))
    return figures


def measure() -> list[Figure]:
    figures: list[Figure] = []
    with gunicorn(workers=2, worker_class="sync") as server:
        static = server.url + "/static/js/forms.js"
        links = {"seed example": server.link(SEED_REQUEST), "minimal link": server.link(MINIMAL_REQUEST)}
        targets = {"seed example": (1.5, 0.35), "minimal link": (0.8, 0.5)}
        with httpx.Client(headers=BROWSER) as client:
            for label, url in links.items():
                apps, views = timings(client, url, 400)
                figures.append(Figure(f"Render, {label} (view)", median(views), "ms", targets[label][0],
                                      note=f"{median(apps):.2f} ms with compression"))
        static_rps = throughput(static)
        for label, url in links.items():
            rps = throughput(url)
            figures.append(Figure(f"Throughput ratio to a static file, {label}", rps / static_rps, "",
                                  targets[label][1], at_most=False,
                                  note=f"{rps:,.0f} vs {static_rps:,.0f} requests/s"))
        for label, url in links.items():
            latencies = paced(url)
            figures.append(Figure(f"p99 at 100 requests/s, {label}", percentile(latencies, 99), "ms", 10,
                                  note=f"p50 {percentile(latencies, 50):.1f} ms, {len(latencies)} requests"))
        posts = card_posts(server)
        figures.append(Figure("Card POST, own time (app less gateway)", median([o for o, _ in posts]), "ms", 1.0,
                              note=f"gateway {median([g for _, g in posts]):.2f} ms"))
    return figures + in_process()


if __name__ == "__main__":
    emit(measure(), "server")
    sys.exit(0)
