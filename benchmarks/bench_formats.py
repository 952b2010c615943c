"""Reading cost per format: runs per second, and whether it scales linearly with the run count.

    python benchmarks/bench_formats.py [--runs 200 1000] [--formats wandb hf ...] [--repeat 3]
        [--work DIR] [--seed 0]

For each format, ``make_stores.py`` writes a store of N1 and one of N2 runs (the same content per
run in every format: 15 params, 8 metrics x 50 steps, a few tags), and ``read_catalog`` reads it
completely, every metric history included, in a fresh process per repetition (its peak memory is
its own; the readers are imported before the clock starts). The fastest repetition is reported;
the spread (slowest / fastest) says how noisy the machine was. The page cache is warm.

Columns: "read s" is the fastest wall time, "cpu s" the least process CPU time (steadier than wall
time on a busy machine). N2/N1 is the per-run cost ratio, (seconds / runs at N2) / (seconds / runs
at N1), by wall and by CPU time: about 1.0 means reading scales linearly, 5.0 would mean quadratic
from 200 to 1000 runs. Peak MB is the largest max RSS of the repetitions; "base" is the RSS after
the imports, before reading. Stores already in ``--work`` are reused (their "gen s" is the time
they took then). Figures are printed, nothing is asserted.
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
sys.path.insert(0, str(HERE))
import make_stores  # noqa: E402 - a sibling script, not a package

CRAWL = """
import json, resource, sys, time
from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.readers import available_readers
available_readers()  # import every reader (and PyYAML) before the clock starts
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
cpu = time.process_time()
c = read_catalog(Config(sources=(SourceConfig(sys.argv[1]),)))
elapsed = time.perf_counter() - t
cpu = time.process_time() - cpu
points = sum(m.count for r in c.runs for m in r.metrics)
print(json.dumps({"seconds": elapsed, "cpu": cpu, "runs": len(c.runs), "points": points, "stores": len(c.stores),
                  "problems": len(c.problems), "base_rss_mb": base,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def crawl(source: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CRAWL, source], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"reading {source} failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs=2, default=(200, 1000), metavar=("N1", "N2"))
    parser.add_argument("--formats", nargs="+", default=None, help=f"default: all of {sorted(make_stores.FORMATS)}")
    parser.add_argument("--repeat", type=int, default=3, help="crawls per store; the fastest counts (default 3)")
    parser.add_argument("--work", type=Path, default=None, help="keep generated stores here (reused when present)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    formats = args.formats or list(make_stores.FORMATS)
    unknown = [f for f in formats if f not in make_stores.FORMATS]
    if unknown:
        parser.error(f"unknown format(s) {unknown}; known: {sorted(make_stores.FORMATS)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="mlreport-bench-formats-"))
    work.mkdir(parents=True, exist_ok=True)
    n1, n2 = args.runs
    print(
        f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; work dir {work}; "
        f"best of {args.repeat} crawls per store"
    )

    header = (
        f"{'format':<13} {'runs':>6} {'files':>7} {'MB':>6} {'gen s':>6} {'read s':>7} {'spread':>6} {'runs/s':>7} "
        f"{'cpu s':>6} {'N2/N1 wall':>10} {'N2/N1 cpu':>9} {'peak MB':>8} {'base MB':>7} {'points':>9} {'probl':>5}"
    )
    print(header)
    print("-" * len(header))
    for fmt in formats:
        per_run: dict[int, tuple[float, float]] = {}
        for n in (n1, n2):
            dest = work / f"{fmt}-{n}"
            counts_file = dest / "store.json"
            if counts_file.exists():
                store = json.loads(counts_file.read_text())
            else:
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir(parents=True)
                t0 = time.perf_counter()
                source, w = make_stores.generate(fmt, str(dest), n, args.seed)
                store = {"source": source, "files": w.files, "bytes": w.bytes, "gen": time.perf_counter() - t0}
                counts_file.write_text(json.dumps(store))
            results = [crawl(store["source"]) for _ in range(args.repeat)]
            best = min(results, key=lambda r: r["seconds"])
            secs = best["seconds"]
            cpu = min(r["cpu"] for r in results)
            spread = max(r["seconds"] for r in results) / secs
            runs = max(best["runs"], 1)
            per_run[n] = (secs / runs, cpu / runs)
            ratio_wall = ratio_cpu = ""
            if n == n2 and n1 in per_run:
                ratio_wall = f"{per_run[n2][0] / per_run[n1][0]:.2f}"
                ratio_cpu = f"{per_run[n2][1] / per_run[n1][1]:.2f}"
            flag = "" if best["runs"] == n else f"  (read {best['runs']:.0f} runs, not {n})"
            print(
                f"{fmt:<13} {n:>6} {store['files']:>7} {store['bytes'] / 1e6:>6.1f} {store['gen']:>6.1f} "
                f"{secs:>7.2f} {spread:>6.2f} {best['runs'] / secs:>7.0f} {cpu:>6.2f} {ratio_wall:>10} {ratio_cpu:>9} "
                f"{max(r['max_rss_mb'] for r in results):>8.0f} {best['base_rss_mb']:>7.0f} "
                f"{best['points']:>9,.0f} {best['problems']:>5.0f}{flag}",
                flush=True,
            )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
