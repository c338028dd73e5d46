"""``make bench``: every benchmark, then one table of every figure (figure, value,
target, pass/FAIL). Exit status 0 whatever the figures: a benchmark reports, it does
not gate (the tests do that)."""
from __future__ import annotations

import sys
import time

from . import memory, paint, server, weight
from .harness import Figure, table

BENCHMARKS = (("weight", weight), ("paint", paint), ("server", server), ("memory", memory))


def main(names: list[str]) -> None:
    figures: list[Figure] = []
    for name, module in BENCHMARKS:
        if names and name not in names:
            continue
        started = time.monotonic()
        print(f"== {name}", flush=True)
        found = module.measure()
        print(table(found), f"\n({time.monotonic() - started:.0f} s)\n", flush=True)
        figures += found
    print("== all figures")
    print(table(figures))
    failed = [f.name for f in figures if f.verdict == "FAIL"]
    print(f"\n{len(figures)} figures, {len(failed)} short of their target" + (": " + "; ".join(failed) if failed
                                                                             else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
