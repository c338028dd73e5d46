"""What every benchmark shares: a gunicorn server of the checkout on a free loopback port
(sandbox mode, the embedded gateway, throwaway SQLite files), the two links measured (the
seed's Checkout request example and a minimal one), and the table of figures.

Nothing here asserts: a benchmark prints what it measured, its target and whether the
figure meets it (README "Performance")."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
AUTH = ("pbid_test", "test_secret")

#: The least a merchant sends.
MINIMAL_REQUEST = {"amount": 10.66, "currency": "USD", "successUrl": "https://example.com/success",
                   "failureUrl": "https://example.com/failure"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def workers(self) -> list[int]:
        """The pids of gunicorn's worker processes (the master's children)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def link(self, body: dict) -> str:
        response = httpx.post(self.url + "/checkout/link", json=body, auth=AUTH, timeout=30)
        response.raise_for_status()
        return response.json()["link"]["action"]


@contextlib.contextmanager
def gunicorn(workers: int = 2, worker_class: str = "sync", **env: str) -> Iterator[Server]:
    """``gunicorn -c gunicorn.conf.py`` with ``workers`` workers of ``worker_class`` (the
    figures of the issue were taken with 2 sync workers), stopped at the end.

    The database is brought to head by ``flask db upgrade`` first, as a deploy does (a
    production server refuses a database that is behind): the workers then start as
    they do in production, without Alembic. Left to the first worker, the sandbox's
    upgrade at start would load Alembic and Mako into it, some 10 MB of the memory
    benchmark's figure that no worker of a deployed server carries."""
    with tempfile.TemporaryDirectory(prefix="checkout-bench-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path(tmp) / "gunicorn.log"
        environment = {
            **os.environ, "CHECKOUT_MODE": "sandbox", "CHECKOUT_PUBLIC_URL": url,
            "CHECKOUT_BIND": f"127.0.0.1:{port}", "CHECKOUT_DATABASE": str(Path(tmp) / "checkout.sqlite3"),
            "CHECKOUT_SANDBOX_DATABASE": str(Path(tmp) / "sandbox.sqlite3"),
            "CHECKOUT_SECRET_KEYS": "bench-key-0123456789abcdef", "CHECKOUT_WORKER_IN_PROCESS": "0",
            "CHECKOUT_SERVER_TIMING": "1", **env,
        }
        with log.open("ab") as out:
            subprocess.run([str(BIN / "flask"), "--app", "checkout", "db", "upgrade"], cwd=REPO,
                           env=environment, stdout=out, stderr=subprocess.STDOUT, check=True)
            process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--workers", str(workers),
                 "--worker-class", worker_class, "checkout:create_app()"],
                cwd=REPO, env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        server = Server(url, process, log)
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
            yield server
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def server_timing(response: httpx.Response) -> dict[str, float]:
    """The ``Server-Timing`` durations of a response, in milliseconds (``app``: the whole
    request in the app; ``gateway``: its calls to the gateway)."""
    found = {}
    for part in response.headers.get("Server-Timing", "").split(","):
        name, _, rest = part.strip().partition(";")
        for param in rest.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "dur":
                found[name] = float(value)
    return found


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@dataclass
class Figure:
    """One line of the table: what, the value measured, the target and how it compares
    (``at_most``: the value must not exceed the target; else it must reach it)."""

    name: str
    value: float
    unit: str
    target: float | None = None
    at_most: bool = True
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        ok = self.value <= self.target if self.at_most else self.value >= self.target
        return "pass" if ok else "FAIL"

    def row(self) -> list[str]:
        value = f"{self.value:,.2f}" if self.value < 100 else f"{self.value:,.0f}"
        target = "" if self.target is None else ("≤ " if self.at_most else "≥ ") + (
            f"{self.target:,.2f}" if self.target < 100 else f"{self.target:,.0f}")
        return [self.name, f"{value} {self.unit}".strip(), f"{target} {self.unit if target else ''}".strip(),
                self.verdict, self.note]


def table(figures: list[Figure]) -> str:
    """The figures as a Markdown table (what README "Performance" shows)."""
    rows = [["figure", "value", "target", "", "note"], *[f.row() for f in figures]]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def emit(figures: list[Figure], name: str) -> None:
    """Print the figures, and keep them as JSON for ``bench/run.py``'s table."""
    print(table(figures), flush=True)
    out = os.environ.get("BENCH_OUT")
    if out:
        Path(out, f"{name}.json").write_text(json.dumps([f.__dict__ for f in figures]))
