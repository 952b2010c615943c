"""The crawl side of one new run (issue 7: <= 5 s for the whole build), next to the full crawl
it replaces, side by side in one run.

    python benchmarks/bench_crawl_incremental.py STORE/mlruns [--work DIR] [--repeat 2]

The store is copied with hard links into ``--work`` (the files are shared, nothing in STORE is
written), then, each pass in a fresh process:

- ``walk``: the one walk of the sources a build makes (:class:`~mlreport.engine.cache.Snapshot`,
  the fingerprint and every run folder's digest): the floor of anything that must notice a
  changed file; in one process, and split over two worker processes (what a build does on a
  store of thousands of runs: their CPU is counted too);
- ``full crawl``: the walk and ``read_catalog`` without the unit cache (what a build did for
  one new run before: every run read again);
- ``warm the cache``: the same with an empty unit cache (the first build);
- ``one new run``: a run copied under a new id (as ``bench_build.py`` does), then the walk and
  ``read_catalog`` through the unit cache: one run read, the others from the cache.

CPU (user + system, the process and its workers) and wall seconds and the peak RSS of each;
the machine may be shared, so compare the paired figures. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.engine.cache import BuildCache, listing_fingerprint
import mlreport.crawl, mlreport.readers.mlflow_file, mlreport.sanitize  # imported (compiled) before the clock
mode, store, cache_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
t0 = time.perf_counter(); c0 = time.process_time()
snapshots = {}
listing_fingerprint([store.resolve()], snapshots, jobs=2 if mode == "walk2" else 1)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
walk = time.process_time() - c0 + kids.ru_utime + kids.ru_stime
walk_wall = time.perf_counter() - t0
runs = hits = misses = 0
if not mode.startswith("walk"):
    units = BuildCache(cache_dir).units(snapshots) if mode == "cache" else None
    # one process (jobs=1): CPU seconds compare like with like; the pool is bench_mlflow_file's
    catalog = read_catalog(Config(sources=(SourceConfig(str(store)),), jobs=1), units=units)
    runs = len(catalog.runs)
    if units is not None:
        hits, misses = units.hits, units.misses
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0 + kids.ru_utime + kids.ru_stime,
                  "walk_cpu": walk, "walk_wall": walk_wall,
                  "runs": runs, "hits": hits, "misses": misses,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(*args: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    out = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, env=env, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def add_run(store: Path, n: int) -> None:
    """A run copied under a new id (its files copied, not linked: the copy is new on disk)."""
    exp = next(p for p in sorted(store.iterdir()) if p.is_dir() and p.name.isdigit() and p.name != "0")
    src = next(p for p in sorted(exp.iterdir()) if p.is_dir() and (p / "meta.yaml").is_file())
    new_id = f"{n:032x}"
    shutil.copytree(src, exp / new_id)
    meta = exp / new_id / "meta.yaml"
    meta.write_text(meta.read_text().replace(src.name, new_id))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("store", type=Path)
    p.add_argument("--work", type=Path, default=None)
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mlreport-bench-incr-"))
    copy = work / "mlruns"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    subprocess.run(["cp", "-al", str(args.store), str(copy)], check=True)
    cache = work / "cache"
    rows: list[tuple[str, dict[str, float]]] = []
    try:
        load = os.getloadavg()[0]
        rows.append(("warm the cache (first build)", _run("cache", str(copy), str(cache))))
        for i in range(args.repeat):
            rows.append(("walk", _run("walk", str(copy), str(cache))))
            rows.append(("walk, split over 2 worker processes", _run("walk2", str(copy), str(cache))))
            rows.append(("full crawl (before: every run read again)", _run("full", str(copy), str(cache))))
            add_run(copy, int(time.time() * 1000) + i)
            rows.append(("one new run, unit cache", _run("cache", str(copy), str(cache))))
        print(f"\n{args.store} (load average {load:.1f} at the start; fresh process each pass)")
        print("| pass | wall s | cpu s | of which walk: wall s | walk cpu s | runs | from cache | read | peak MB |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, r in rows:
            print(
                f"| {name} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['walk_wall']:.2f} | {r['walk_cpu']:.2f} "
                f"| {int(r['runs'])} "
                f"| {int(r['hits'])} | {int(r['misses'])} | {r['rss_mb']:.0f} |"
            )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
