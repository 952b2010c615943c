#!/usr/bin/env python3
"""Peak memory of a crawl: histories on disk (the crawl's default) next to histories held.

    python benchmarks/bench_crawl_memory.py [--runs 2000 10000] [--keep DIR]

For each size, a synthetic MLflow 3 file store is written with ``make_mlflow_store.py`` (8
metrics x 50 steps, 15 params, 10 tags per run), then crawled twice, each in a fresh process so
that the peaks do not mix:

- ``held``: the baseline, every history kept in memory as before issue 12 (the same crawl with
  the history file replaced by one that keeps arrays in a dict);
- ``on disk``: the crawl as shipped, histories written to a file as they are read.

With ``--store PATH`` an existing store is measured instead (e.g. a 100,000-run one written
once by ``make_mlflow_store.py``): ``on disk``, and ``build`` (the walk of the source and the
crawl through an empty unit cache, what a build's first crawl does). Nothing is extrapolated.

Peak RSS comes from ``resource.getrusage`` (ru_maxrss) of the child. The figures are printed
side by side with the per-run cost, and extrapolated linearly to 100,000 runs (say so when you
quote them). Nothing here is timed as a test.

Measured (issue 12), 2026-12-02 about 19:00 UTC on 6c32933, ``--store`` a 100,000-run store
written once by ``make_mlflow_store.py``, as the helper that measured it reported it (its raw
output was lost with its machine): ``on disk`` peaked at 757 MB and ``build`` (a build's first
crawl) at 790 MB, inside issue 12's 1 GB for a 100,000-run crawl; measured, not extrapolated.

Again on 2026-12-04 (02:36-02:41 UTC, 9af0f65, the same kind of store written that morning,
load 2-10 with a helper's benchmark), a build's first crawl timed stage by stage in one process
(the walk, ``read_catalog`` through an empty unit cache, then the build cache's save of the
catalog): peak RSS 88 MB after the walk, **788 MB after the crawl**, and 1,364 MB after the save
(children 756 MB). The save's 576 MB were the pickler's memo holding every temporary of the
records' reducers; e19eca8 pickles the runs and versions apart, a chunk at a time (at 10,000
runs + 100 versions the save's high-water mark went from +68 MB to +14 MB over the catalog;
not measured again at 100,000 runs).
The page cache could not hold that store (3.6 M small files: about 14.7 GB of 4 KB pages and
5.5 GB of inode slab on a 24 GB machine): the crawl took 185-256 s wall, half of it system time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {src!r})
from mlreport.config import Config, SourceConfig
from mlreport import crawl
from mlreport.history_store import HistoryFile

class Held(HistoryFile):
    # the baseline: every history stays in this process, as before the history file
    def __init__(self, directory=None):
        super().__init__(directory)
        self.kept = []
    def put(self, history):
        self.kept.append(history)
        return (len(self.kept) - 1, len(history))
    def get(self, location):
        return self.kept[location[0]]

mode, store = sys.argv[1], sys.argv[2]
if mode == "held":
    crawl.HistoryFile = Held
t = time.perf_counter()
c0 = time.process_time()
units = None
if mode == "build":
    # what a build does: one walk of the source, then the crawl through an (empty) unit cache
    import tempfile
    from pathlib import Path
    from mlreport.engine.cache import BuildCache, listing_fingerprint
    snapshots = {{}}
    listing_fingerprint([Path(store).resolve()], snapshots)
    scratch = Path(tempfile.mkdtemp(prefix="mlreport-units-"))
    units = BuildCache(scratch).units(snapshots)
catalog = crawl.read_catalog(Config(sources=(SourceConfig(store),)), units=units)
seconds = time.perf_counter() - t
cpu = time.process_time() - c0
run = catalog.runs[0]
assert catalog.history(run.key, run.metrics[0].key) is not None
if units is not None:
    import shutil
    shutil.rmtree(scratch, ignore_errors=True)  # a 100,000-run store's units are 0.5 GB
print(json.dumps({{"runs": len(catalog.runs), "seconds": seconds, "cpu": cpu,
                   "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(mode: str, store: Path) -> dict[str, float]:
    code = CHILD.format(src=str(SRC))
    out = subprocess.run([sys.executable, "-c", code, mode, str(store)], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, nargs="+", default=[2000, 10000])
    p.add_argument("--keep", help="write the stores here and keep them")
    p.add_argument(
        "--store",
        type=Path,
        help="measure this store (its mlruns/) instead, histories on disk, "
        "as a crawl and as a build's crawl (the walk and the unit cache)",
    )
    p.add_argument(
        "--modes", nargs="+", choices=["on disk", "build"], default=["on disk", "build"], help="with --store"
    )
    args = p.parse_args()
    if args.store:
        print(f"{'mode':>8} {'runs':>7} {'peak MB':>9} {'KB/run':>7} {'wall s':>8} {'cpu s':>8}")
        for mode in args.modes:
            r = measure(mode, args.store)
            n = int(r["runs"])
            print(
                f"{mode:>8} {n:>7} {r['peak_mb']:>9.0f} {r['peak_mb'] * 1024 / n:>7.1f} "
                f"{r['seconds']:>8.1f} {r['cpu']:>8.1f}"
            )
        return
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mlreport-bench-"))
    print(f"{'runs':>7} {'mode':>8} {'peak MB':>9} {'KB/run':>7} {'seconds':>8}")
    results: dict[str, list[tuple[int, float]]] = {"held": [], "on disk": []}
    for n in args.runs:
        store = base / f"mlflow-{n}"
        if not (store / "mlruns").exists():
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, str(HERE / "make_mlflow_store.py"), str(store), "--runs", str(n), "--versions", "20"],
                check=True,
                capture_output=True,
            )
            print(f"# wrote {n} runs in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        for mode in results:
            r = measure(mode, store)
            results[mode].append((n, r["peak_mb"]))
            print(f"{n:>7} {mode:>8} {r['peak_mb']:>9.0f} {r['peak_mb'] * 1024 / n:>7.1f} {r['seconds']:>8.1f}")
    if len(args.runs) >= 2:
        print("\nextrapolated to 100,000 runs (linear through the smallest and largest size):")
        for mode, points in results.items():
            (n0, m0), (n1, m1) = min(points), max(points)
            slope = (m1 - m0) / (n1 - n0)
            print(f"  {mode:>8}: {slope * 1024:.1f} KB per extra run -> {m0 + slope * (100_000 - n0):,.0f} MB")


if __name__ == "__main__":
    main()
