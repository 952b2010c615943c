"""Reading cost per format: runs per second, and whether it scales linearly with the run count.

    python benchmarks/bench_formats.py [--runs 200 1000] [--formats wandb hf ...] [--repeat 3]
        [--work DIR] [--seed 0] [--floors] [--gc-baseline]

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

``--floors`` adds, per store, the format's floor (``bench_hdm.py`` for hf, dvc, dvc-projects and
manifest, ``bench_wbtb.py`` for wandb and tensorboard: every byte the reader needs read, plus the
least parsing), interleaved with the crawl's repetitions so that both see the same load, and
"x floor" (crawl CPU / floor CPU; issue 12's budget is 1.5). ``--gc-baseline`` adds the same
crawl with CPython's collector left as the process had it (``crawl.collector_tuned_for_crawl``
made a no-op in that process), also interleaved: the before/after of the crawl's GC setting in one
run. ``--baseline SRC`` adds the crawl with the code under SRC (interleaved too): "x base" is the
crawl's CPU time over the baseline's. "gc s" is the CPU time spent in the cyclic collector during
the crawl (``gc.callbacks``).
CPU counts the process and its children (a reader may use a process pool).

Measured
--------
Issue 12, 2026-12-02, 2 shared cores (3 other helpers), stores from this script's ``--work``
(seed 0). ``--runs 1000 10000 --floors --repeat 2 --formats wandb tensorboard dvc dvc-projects
manifest hf`` on 13a88ae (manifest: with 0a70c23's chunked reading), 18:13-19:00 UTC, load 1.1
at the start, 7-23 during most of it. Crawl and floor are CPU seconds (fastest of 2); x floor =
crawl / floor (budget 1.5); N2/N1 = per-run CPU at 10k over 1k (1.0 = linear). Peak is the
crawl's max RSS; those marked * read the parent's 221 MB through ru_maxrss (fixed in ab20cfa:
VmHWM) and say only "at most 221 MB"::

    format        runs   crawl s  floor s  x floor  N2/N1 crawl  N2/N1 floor  peak MB
    wandb         1000     3.83     2.50     1.53                                 60
    wandb        10000    30.65    18.58     1.65      0.80         0.74         295
    tensorboard   1000     4.08     3.61     1.13                                *221
    tensorboard  10000    46.42    31.26     1.48      1.14         0.87         248
    dvc           1000     1.95     1.04     1.88                                *221
    dvc          10000    21.98    10.29     2.14      1.13         0.99         261
    dvc-projects  1000     3.69     0.88     4.19                                *221
    dvc-projects 10000    33.79     6.55     5.16      0.92         0.74        *221
    manifest      1000     5.54     3.95     1.40                                *221
    manifest     10000    67.05    48.96     1.37      1.21         1.24         247
    hf            1000     1.75     0.55     3.18                                *221
    hf           10000    21.44     6.71     3.20      1.23         1.22        *221

At load 1.9-2.7 (19:06, ``--runs 1000 --floors --baseline /tmp/base-crawlfmt/src --repeat 3``,
best of 3; crawl = 00d2976's readers, baseline = 13a88ae): dvc 1.49 s (baseline 1.58, floor 0.73:
2.04x), dvc-projects 2.42 s (2.32, 0.65: 3.72x), tensorboard 3.38 s (3.27, 2.57: 1.32x), hf 1.65 s
(1.63, 0.53: 3.11x); peaks by VmHWM 45-59 MB (base after imports 37 MB). Again best of 6 at load
5.4-7.7 (19:11): dvc 1.64 vs 1.92 s (0.85x), dvc-projects 2.25 vs 2.58 s (0.87x). Manifest peak
at 10k, one fresh crawl each, VmHWM, load ~20: 878 MB on 13a88ae, 248 MB with 0a70c23.
"""

from __future__ import annotations

import argparse
import importlib
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
from _peak import PEAK_MB  # noqa: E402

CRAWL = """
import contextlib, gc, json, os, resource, sys, time
""" + PEAK_MB + """from mlreport import crawl
from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.readers import available_readers
available_readers()  # import every reader (and PyYAML) before the clock starts
if sys.argv[2] == "untuned":
    crawl.collector_tuned_for_crawl = contextlib.nullcontext  # the collector as the process has it
in_gc = [0.0, 0.0]
def timed(phase, info):  # CPU time inside the cyclic collector
    if phase == "start":
        in_gc[1] = time.process_time()
    else:
        in_gc[0] += time.process_time() - in_gc[1]
gc.callbacks.append(timed)
def cpu_now():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
base = peak_mb()
t = time.perf_counter()
cpu = cpu_now()
c = read_catalog(Config(sources=(SourceConfig(sys.argv[1]),)))
elapsed = time.perf_counter() - t
cpu = cpu_now() - cpu
points = sum(m.count for r in c.runs for m in r.metrics)
print(json.dumps({"seconds": elapsed, "cpu": cpu, "gc": in_gc[0], "runs": len(c.runs), "points": points,
                  "stores": len(c.stores), "problems": len(c.problems), "base_rss_mb": base,
                  "max_rss_mb": peak_mb()}))
"""

# Which sibling benchmark has the floor of a format (its measure_once(kind, fmt, root)).
FLOOR_BENCH = {"hf": "bench_hdm", "dvc": "bench_hdm", "dvc-projects": "bench_hdm", "manifest": "bench_hdm",
               "wandb": "bench_wbtb", "tensorboard": "bench_wbtb"}


def crawl(source: str, collector: str = "tuned", src: Path | None = None) -> dict[str, float]:
    """One crawl in a fresh process; ``src``: import mlreport from there (the baseline's code)."""
    env = None if src is None else {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", CRAWL, source, collector], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"reading {source} failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout)
    return result


def floor(fmt: str, source: str) -> dict[str, float] | None:
    """The format's floor pass, or None where no sibling benchmark has one (mlflow: see
    bench_mlflow_file.py and bench_mlflow_sql.py)."""
    name = FLOOR_BENCH.get(fmt)
    if name is None:
        return None
    bench = importlib.import_module(name)
    result: dict[str, float] = bench.measure_once("floor", fmt, source)
    return result


def _ratio(a: float, b: float) -> str:
    """a / b to two places, or "-" where b is too small to divide by (a tiny store's CPU time)."""
    return f"{a / b:.2f}" if b > 0 else "-"


def best_of(results: list[dict[str, float]]) -> dict[str, float]:
    best = dict(min(results, key=lambda r: r["seconds"]))
    best["cpu"] = min(r["cpu"] for r in results)
    best["spread"] = max(r["seconds"] for r in results) / best["seconds"]
    best["max_rss_mb"] = max(r.get("max_rss_mb", r.get("rss_mb", 0.0)) for r in results)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="+", default=[200, 1000], metavar="N",
                        help="N1 [N2]: one store size, or two for the N2/N1 linearity")
    parser.add_argument("--formats", nargs="+", default=None, help=f"default: all of {sorted(make_stores.FORMATS)}")
    parser.add_argument("--repeat", type=int, default=3, help="crawls per store; the fastest counts (default 3)")
    parser.add_argument("--work", type=Path, default=None, help="keep generated stores here (reused when present)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--floors", action="store_true", help="measure each format's floor too (interleaved)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="SRC",
                        help="crawl with the mlreport under SRC too (interleaved), e.g. /tmp/base-<name>/src "
                             "from `git archive main src`: the before/after of a change in one run")
    parser.add_argument("--gc-baseline", action="store_true",
                        help="crawl with the collector untuned too (interleaved): the GC setting's before/after")
    args = parser.parse_args()
    formats = args.formats or list(make_stores.FORMATS)
    unknown = [f for f in formats if f not in make_stores.FORMATS]
    if unknown:
        parser.error(f"unknown format(s) {unknown}; known: {sorted(make_stores.FORMATS)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="mlreport-bench-formats-"))
    work.mkdir(parents=True, exist_ok=True)
    if len(args.runs) > 2:
        parser.error("--runs takes one or two sizes")
    n1, n2 = args.runs[0], args.runs[-1]
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}; "
        f"work dir {work}; best of {args.repeat} per measure, interleaved"
    )
    kinds = (["crawl"] + (["baseline"] if args.baseline else []) + (["untuned"] if args.gc_baseline else [])
             + (["floor"] if args.floors else []))

    header = (
        f"{'format':<13} {'runs':>6} {'measure':<8} {'files':>7} {'MB':>6} {'gen s':>6} {'read s':>7} {'spread':>6} "
        f"{'runs/s':>7} {'cpu s':>6} {'gc s':>5} {'x floor':>7} {'x base':>6} {'N2/N1 wall':>10} {'N2/N1 cpu':>9} "
        f"{'peak MB':>8} {'base MB':>7} {'points':>9} {'probl':>5}"
    )
    print(header)
    print("-" * len(header))
    for fmt in formats:
        per_run: dict[tuple[str, int], tuple[float, float]] = {}
        for n in dict.fromkeys((n1, n2)):
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
            results: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
            for _ in range(args.repeat):  # interleaved: each measure sees the same load
                for kind in kinds:
                    if kind == "floor":
                        r = floor(fmt, store["source"])
                    elif kind == "baseline":
                        r = crawl(store["source"], "tuned", args.baseline)
                    else:
                        r = crawl(store["source"], kind)
                    if r is not None:
                        results[kind].append(r)
            measured = {k: best_of(v) for k, v in results.items() if v}
            floor_cpu = measured["floor"]["cpu"] if "floor" in measured else None
            base_cpu = measured["baseline"]["cpu"] if "baseline" in measured else None
            for kind, best in measured.items():
                secs = best["seconds"]
                runs = max(best["runs"], 1)
                per_run[(kind, n)] = (secs / runs, best["cpu"] / runs)
                ratio_wall = ratio_cpu = ""
                if n == n2 != n1 and (kind, n1) in per_run:
                    ratio_wall = _ratio(per_run[(kind, n2)][0], per_run[(kind, n1)][0])
                    ratio_cpu = _ratio(per_run[(kind, n2)][1], per_run[(kind, n1)][1])
                x_floor = _ratio(best["cpu"], floor_cpu) if floor_cpu is not None and kind != "floor" else ""
                x_base = _ratio(best["cpu"], base_cpu) if base_cpu is not None and kind == "crawl" else ""
                gc_s = f"{best['gc']:.2f}" if "gc" in best else ""
                crawled = kind != "floor"
                flag = "" if not crawled or best["runs"] == n else f"  (read {best['runs']:.0f} runs, not {n})"
                print(
                    f"{fmt:<13} {n:>6} {kind:<8} {store['files']:>7} {store['bytes'] / 1e6:>6.1f} "
                    f"{store.get('gen', 0.0):>6.1f} {secs:>7.2f} {best['spread']:>6.2f} {best['runs'] / secs:>7.0f} "
                    f"{best['cpu']:>6.2f} {gc_s:>5} {x_floor:>7} {x_base:>6} {ratio_wall:>10} {ratio_cpu:>9} "
                    f"{best['max_rss_mb']:>8.0f} {best.get('base_rss_mb', 0.0):>7.0f} "
                    f"{best.get('points', best.get('units', 0.0)):>9,.0f} {best.get('problems', 0.0):>5.0f}{flag}",
                    flush=True,
                )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
