"""The server: what a page and a card payment cost it, under load, on 2 sync gunicorn
workers (as the issue's figures were taken), with the embedded sandbox gateway.

Figures:
- render: the app's own time for a page (``Server-Timing``: ``view`` until the view
  returned, ``app`` with the compression), median of 400 sequential requests;
- throughput: pages per second against a static file's, 4 clients for 4 s each (ratio);
- p99: the 99th percentile latency at 100 requests per second for 10 s, sent by ``hey``
  (Debian's package; ``make bench`` installs it) as 20 workers of 5 requests/s each,
  started 10 ms apart;
- SQL per request and writes per GET (in-process, counted on the engine);
- the card POST's own time (``app`` less ``gateway``), median of 40 payments;
- building the gateway client: before (one per call) and after (one per process).

Why ``hey`` for the p99: the load generator runs on the same 2 cores as the gunicorn
workers, and a Python one (threads, httpx, the GIL) took enough CPU and scheduling delay
of its own that its lateness counted against the server (p99 ~350 ms with p50 ~8 ms).
``hey`` is native (Go) and needs a negligible share of a core at 100 requests/s. Its
per-worker pacing (a 5/s ticker for each of 20 workers) is open loop while a request takes
less than the 200 ms between a worker's requests: each is sent at its tick whatever the
others do; a slower request makes its worker skip ticks (coordinated omission), so a p99
near 200 ms or more understates the tail. The 20 workers are 20 ``hey -c 1`` processes
started 10 ms apart, so that the requests come evenly spaced: one ``hey -c 20`` starts
all its workers' tickers at once and sends bursts of 20 every 200 ms (measured: p50 62 ms,
p99 127 ms on the minimal link, against 5 ms and 12 ms evenly spaced). Without ``hey``
the figure is not measured (nan, with a note), rather than falling back on a generator
that overstates the tail."""
from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import sys
import tempfile
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


#: The load: ``WORKERS`` hey workers of ``PER_WORKER`` requests/s each, for ``SECONDS`` s.
WORKERS, PER_WORKER, SECONDS = 20, 5, 10


def paced(url: str) -> tuple[list[float], list[int]] | None:
    """Latencies (ms) and status codes of the requests ``hey`` sent to ``url`` at
    ``WORKERS * PER_WORKER`` per second for ``SECONDS`` s, or None without ``hey``.

    One ``hey -c 1 -q PER_WORKER`` process per worker, started 1/rate s after the one
    before: ``hey -c 20`` starts its 20 workers' tickers together, which sends the 100
    requests/s as a burst of 20 every 200 ms (and measures 2 workers draining it)."""
    hey = shutil.which("hey")
    if hey is None:
        return None
    headers = [arg for name, value in BROWSER.items() for arg in ("-H", f"{name}: {value}")]
    command = [hey, "-z", f"{SECONDS}s", "-c", "1", "-q", str(PER_WORKER), "-o", "csv", *headers, url]
    gap = 1 / (WORKERS * PER_WORKER)
    processes: list[subprocess.Popen] = []
    try:
        started = time.perf_counter()
        for i in range(WORKERS):
            delay = started + i * gap - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            processes.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outputs = []
        for process in processes:
            out, err = process.communicate(timeout=SECONDS + 60)
            if process.returncode:
                raise RuntimeError(f"hey exited {process.returncode}: {err[-500:]}")
            outputs.append(out)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    latencies, statuses = [], []
    for out in outputs:
        for row in csv.DictReader(io.StringIO(out)):  # response-time in seconds, status-code
            latencies.append(float(row["response-time"]) * 1000)
            statuses.append(int(row["status-code"]))
    return latencies, statuses


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
        load = f"hey, {WORKERS} workers x {PER_WORKER}/s"
        for label, url in links.items():
            name = f"p99 at {WORKERS * PER_WORKER} requests/s, {label}"
            found = paced(url)
            if found is None:
                figures.append(Figure(name, float("nan"), "ms", 10,
                                      note="not measured: hey is missing (apt-get install hey)"))
                continue
            latencies, statuses = found
            failed = sum(status != 200 for status in statuses)
            figures.append(Figure(name, percentile(latencies, 99), "ms", 10,
                                  note=f"p50 {median(latencies):.1f} ms, {len(latencies)} requests"
                                       f"{f' ({failed} not 200)' if failed else ''}, {load}"))
        posts = card_posts(server)
        figures.append(Figure("Card POST, own time (app less gateway)", median([o for o, _ in posts]), "ms", 1.0,
                              note=f"gateway {median([g for _, g in posts]):.2f} ms"))
    return figures + in_process()


if __name__ == "__main__":
    emit(measure(), "server")
    sys.exit(0)
