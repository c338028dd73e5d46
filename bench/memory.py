"""Memory: one sync gunicorn worker's resident memory while it renders the seed
example's page 10,000 times (printed at 1,000, 5,000 and 10,000: flat, under 80 MB)."""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from checkout.examples import SEED_CHECKOUT_REQUEST as SEED_REQUEST

from .harness import Figure, emit, gunicorn

RENDERS = 10_000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure() -> list[Figure]:
    with gunicorn(workers=1, worker_class="sync") as server:
        url = server.link(SEED_REQUEST)
        (worker,) = server.workers()
        marks: dict[int, float] = {}
        done = 0

        def run(count: int) -> None:
            with httpx.Client(headers={"Accept-Encoding": "br, gzip"}) as client:
                for _ in range(count):
                    client.get(url).raise_for_status()

        for mark in (1_000, 5_000, RENDERS):
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(run, [(mark - done) // 2, (mark - done) - (mark - done) // 2]))
            done = mark
            marks[mark] = rss_mb(worker)
    growth = marks[RENDERS] - marks[1_000]
    return [Figure(f"Worker memory after {RENDERS:,} renders", marks[RENDERS], "MB", 80,
                   note=f"{marks[1_000]:.1f} MB at 1,000, {marks[5_000]:.1f} MB at 5,000"),
            Figure("Worker memory growth, 1,000 to 10,000 renders", growth, "MB", 5)]


if __name__ == "__main__":
    emit(measure(), "memory")
    sys.exit(0)
