"""Hugging Face, DVC/dvclive and manifest readers next to their floors, side by side (issue 12).

    python benchmarks/bench_hdm.py [--runs 1000 10000] [--formats hf dvc dvc-projects manifest]
        [--repeat 3] [--work DIR] [--baseline OTHER/src]

For each format and run count, ``make_stores.py`` writes a store (reused from ``--work`` when
present); each measurement runs in a fresh process with a warm page cache, the kinds
interleaved, fastest of ``--repeat``; wall and CPU time are printed. The measurements, in the order printed:

``floor-io``
    List the store (``os.walk``) and read every byte the reader needs: HF every
    ``trainer_state.json``, ``config.json``, ``README.md``, ``*_results.json`` and every file of
    at most 1 KiB (a Git LFS pointer is looked for in each); dvclive every ``metrics.json``,
    ``params.yaml`` and ``plots/metrics/**.tsv``; manifests every ``*.mlreport.yaml``.
``floor``
    ``floor-io`` plus the least parsing that yields what a page shows, as tight as plain Python
    allows: HF ``json.loads`` of the state, config and results files and libyaml of the card's
    front matter; dvclive ``json.loads`` of ``metrics.json``, libyaml of ``params.yaml`` and
    every TSV row split and its step and value converted; manifests libyaml of each file.
    Nothing is kept but counts. The readers also bound their parsers, validate (the manifest's
    JSON Schema), build records and sort histories: that is the price the ratio shows.
``reader``
    The reader itself on every store discovery would hand it (HF: each output dir; DVC: the
    project, or each project; manifests: the folder), every record consumed.
``crawl``
    ``read_catalog`` on the store, for reference (discovery, text cleaning, history files,
    indexes: the catalog's work, not the reader's).
``base``
    With ``--baseline OTHER/src`` (e.g. ``git archive main src | tar -x -C /tmp/base``): the
    reader of that tree, measured in the same rounds as the others (after ``reader``), so that a
    change is judged against its baseline at the same load; "x base" is reader / base (CPU).

"x f cpu" (reader / floor in CPU seconds: user + sys of the process and its children) is the
budget figure (issue 12: at most 1.5), steadier than "x floor" (wall) on a shared machine;
CPU ms/run at the two run counts says whether reading is linear. The machine may be shared:
say so next to any figure you quote, and compare only figures of the same run.

Measured
--------
2026-12-04 03:09-03:11 UTC (load 0.5-0.9, a quiet machine), the walk of a parsed document for
its depth skipped when its opening characters cannot nest that deep (a2c8608), ``--kinds floor
reader base --baseline`` (base = 9af0f65 + ce1921b), CPU, best of 3 at 1k and of 2 at 10k: HF
1k floor 0.58 s, reader 0.94 s (1.62x), base 1.04 s (1.79x); HF 10k floor 5.58 s, reader
11.61 s (2.08x), base 11.96 s (2.14x); dvc-projects 1k floor 0.73 s, reader 1.19 s (1.63x),
base 1.15 s (1.58x). The HF reader's CPU a run is 0.94 ms at 1k and 1.16 ms at 10k (its floor
0.58 and 0.56): not linear here, while in one process the 10k store reads at a flat 1.24-1.26
ms a run for every 2,000 runs (not explained). Issue 12's 1.5 is still missed by both formats.

2026-12-03 16:25-17:00 UTC, 2 cores shared with other helpers (load 2.8-8.5 and rising), HF
series built with shared step arrays and without the general checks, joins and headings done
once (2d3ca03, 77ba03b), and dvc listings kept for a project's read (df32172). ``--runs 1000
10000 --formats hf dvc-projects --kinds floor reader --repeat 2 --baseline`` (base = main
before 2d3ca03), CPU seconds, fastest of 2, each row's load beside it:

====================  =====  ========  ==========  =========  ========  ========  ======
format                runs   floor s   reader s    base s     x floor   base x f  x base
====================  =====  ========  ==========  =========  ========  ========  ======
hf (load 6.8)         1k     0.84      1.50        1.67       1.79      1.99      0.90
hf (load 6.7)         10k    8.82      17.60       15.77      2.00      1.79      1.12
dvc-projects (6.4)    1k     1.23      1.95        2.07       1.59      1.68      0.94
dvc-projects (10.4)   10k    10.38     18.85       20.96      1.82      2.02      0.90
====================  =====  ========  ==========  =========  ========  ========  ======

CPU ms/run: hf 1.50 (1k) and 1.76 (10k), base 1.67 and 1.58; floor 0.84 and 0.88. The 10k base
row is one lucky process of two (its spread 2.30): the same 10k store read in one process each,
base and new alternately right after (load 8.1-8.5), gave base 20.30, 18.93 s and new 18.02,
17.22 s (0.89-0.91x). Earlier in the day at load 2.8-2.9 the 1k store gave reader 1.31 s
against base 1.48 s and floor 0.79 s (1.66x against 1.87x), and reader / base 0.83-0.89x in
every 1k round. So HF went from ~1.9-2.0x to ~1.65-1.8x of its floor (the floor's own CPU time
moved 0.50-0.88 s with the load): better, not yet the 1.5 the issue asks. What is left (py-spy,
1k, after 77ba03b): the floor's work (listing, reading, the state's json and the card's
libyaml) ~55%, the series ~15% (the log_history walk itself is faster than the floor's), the
card's facts ~6%, goals, params, models and artifacts 2% each: no single cost left. A 1.5 needs
the floor-shaped work itself cheaper (LocalStore's confinement per read, the bounded parsers'
second walks: not the reader's files). dvc-projects: 1.59x against 1.68x at 1k, 1.82x against
2.02x at 10k (CPU ms/run 1.95 and 1.89, base 2.07 and 2.10: linear); 12 alternating
in-process rounds of 200 projects gave 1.170 vs 1.217 ms a project. Also short of 1.5: its
listing and reading (LocalStore: lstat, open, fstat per file, four reads of files a dvclive
folder does not have) are most of what is left.

Before: 2026-12-03, 2 cores shared with other helpers and CI (load 3.2-3.9), ``--runs 1000 --kinds
floor reader --repeat 3``, main before c1bbacf (``Metric.from_columns``) and c1bbacf run
alternately (base, new, base, new); "x f cpu" of the two base runs, then of the two new runs:

====================  ===========  ==========  ===========  ==========
format (1k runs)      floor cpu s  base x f    reader cpu   new x f
====================  ===========  ==========  ===========  ==========
hf                    0.80-0.84    2.00, 1.95  1.54-1.55 s  1.93, 1.94
dvc                   1.05-1.09    1.30, 1.35  1.34-1.37 s  1.24, 1.26
dvc-projects          0.90-0.94    1.87, 1.78  1.65-1.71 s  1.83, 1.86
====================  ===========  ==========  ===========  ==========

(base reader CPU: hf 1.58-1.68 s, dvc 1.37-1.47 s, dvc-projects 1.67-1.68 s.) The budget
(1.5) is met by dvc only. A py-spy profile of the HF reader after c1bbacf (1k runs, reader
only): the state's ``json.loads`` and the card's libyaml load are ~37% (the floor does both);
building the 18 series per run ~16% (the frozen dataclasses' ``__init__``, the arrays and the
increasing-steps test; from_points' keyed sort of ``epoch`` was 4% and is gone);
``_history_columns`` ~9% (the floor walks log_history too); listing and reading ~11%; the
card's facts ~5%. What is left above the floor is many small per-run costs, no single one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_stores  # noqa: E402 - a sibling script, not a package
from _peak import PEAK_MB  # noqa: E402

MEASURE = r"""
import json, os, re, resource, sys, time
import yaml
""" + PEAK_MB + r"""kind, fmt, root = sys.argv[1], sys.argv[2], sys.argv[3]
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
RESULTS = re.compile(r"^[A-Za-z0-9_.-]+_results\.json$")

def walk(base):
    for dirpath, dirs, files in os.walk(base):
        dirs.sort()
        yield dirpath, sorted(files)

def read(path):
    with open(path, "rb") as f:
        return f.read()

def hf_dir(d, parse):
    units = 0
    for dirpath, files in walk(d):
        top = dirpath == d
        for name in files:
            p = os.path.join(dirpath, name)
            needed = top and (name in ("trainer_state.json", "config.json", "README.md") or RESULTS.match(name))
            if not needed and os.path.getsize(p) > 1024:
                continue
            data = read(p)
            if not parse or not needed:
                continue
            if name == "README.md":
                text = data.decode("utf-8", "replace")
                if text.startswith("---"):
                    front = text.split("\n---", 1)[0][3:]
                    yaml.load(front, Loader=Loader)
            else:
                doc = json.loads(data)
                if name == "trainer_state.json":
                    for entry in doc.get("log_history", ()):
                        units += sum(1 for k, v in entry.items() if k != "step" and isinstance(v, (int, float)))
    return units

def live_dir(d, parse):
    units = 0
    for dirpath, files in walk(d):
        for name in files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, d)
            history = rel.startswith("plots" + os.sep + "metrics") and name.endswith(".tsv")
            if rel in ("metrics.json", "params.yaml") or history:
                data = read(p)
                if not parse:
                    continue
                if name == "metrics.json":
                    json.loads(data)
                elif name == "params.yaml":
                    yaml.load(data, Loader=Loader)
                else:
                    lines = data.decode().splitlines()
                    head = lines[0].split("\t")
                    si = head.index("step") if "step" in head else None
                    for line in lines[1:]:
                        cells = line.split("\t")
                        float(cells[-1]); int(cells[si]) if si is not None else 0
                        units += 1
    return units

def live_dirs(base):
    for dirpath, files in walk(base):
        if "metrics.json" in files and os.path.basename(dirpath).startswith(("dvclive", "trial-")):
            yield dirpath

def cpu_now():
    # user + sys of this process and its children (a reader may use a process pool)
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system

t = time.perf_counter(); cpu = cpu_now()
runs = units = 0
if kind in ("floor-io", "floor"):
    parse = kind == "floor"
    if fmt == "hf":
        for name in sorted(os.listdir(root)):
            units += hf_dir(os.path.join(root, name), parse); runs += 1
    elif fmt in ("dvc", "dvc-projects"):
        for d in live_dirs(root):
            units += live_dir(d, parse); runs += 1
    else:
        for name in sorted(os.listdir(root)):
            if name.endswith(".mlreport.yaml"):
                data = read(os.path.join(root, name))
                if parse:
                    yaml.load(data, Loader=Loader)
                runs += 1
elif kind == "reader":
    from mlreport.readers import ReadOptions, available_readers
    from mlreport.stores import open_store
    from mlreport.model import Run
    readers = available_readers()
    store = open_store(root)
    t = time.perf_counter(); cpu = cpu_now()
    reader = readers["dvc" if fmt.startswith("dvc") else fmt]
    if fmt in ("hf", "dvc-projects"):
        paths = [e.name for e in store.ls("") if e.is_dir]
    else:
        paths = [""]
    for path in paths:
        for rec in reader.read(store, path, ReadOptions()):
            if isinstance(rec, Run):
                runs += 1; units += sum(m.count for m in rec.metrics)
else:
    from mlreport.catalog import read_catalog
    from mlreport.config import Config, SourceConfig
    from mlreport.readers import available_readers
    available_readers()
    t = time.perf_counter(); cpu = cpu_now()
    c = read_catalog(Config(sources=(SourceConfig(root),)))
    runs = len(c.runs); units = sum(m.count for r in c.runs for m in r.metrics)
elapsed = time.perf_counter() - t; cpu = cpu_now() - cpu
print(json.dumps({"seconds": elapsed, "cpu": cpu, "runs": runs, "units": units,
                  "rss_mb": peak_mb()}))
"""

KINDS = ("floor-io", "floor", "reader", "base", "crawl")
FORMATS = ("hf", "dvc", "dvc-projects", "manifest")


def measure_once(kind: str, fmt: str, root: str, baseline: str | None = None) -> dict[str, float]:
    env = dict(os.environ)
    if kind == "base":
        assert baseline is not None
        env["PYTHONPATH"] = baseline
        kind = "reader"
    out = subprocess.run([sys.executable, "-c", MEASURE, kind, fmt, root], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"{kind} on {root} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout))


def measure_all(
    kinds: list[str], fmt: str, root: str, repeat: int, baseline: str | None = None
) -> dict[str, dict[str, float]]:
    """Each kind ``repeat`` times, interleaved (floor, reader, floor, reader …): on a shared
    machine the load changes by the minute, and a floor measured minutes before its reader
    would say more about the load than about the reader. Fastest of each, CPU min apart."""
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    for _ in range(repeat):
        for kind in kinds:
            runs[kind].append(measure_once(kind, fmt, root, baseline))
    out = {}
    for kind, results in runs.items():
        best = min(results, key=lambda r: r["seconds"])
        best["cpu"] = min(r["cpu"] for r in results)
        best["spread"] = max(r["seconds"] for r in results) / best["seconds"]
        out[kind] = best
    return out


def store_for(fmt: str, n: int, work: Path) -> str:
    dest = work / f"{fmt}-{n}"
    marker = dest / "store.json"
    if marker.exists():
        return str(json.loads(marker.read_text())["source"])
    dest.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    source, w = make_stores.generate(fmt, str(dest), n, 0)
    marker.write_text(json.dumps({"source": source, "files": w.files, "bytes": w.bytes}))
    print(f"  (wrote {fmt} {n} runs: {w.bytes / 1e6:.1f} MB in {time.perf_counter() - t0:.0f} s)", flush=True)
    return source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kinds", nargs="+", default=[k for k in KINDS if k != "base"], choices=KINDS)
    parser.add_argument("--work", type=Path, default=None, help="keep generated stores here (reused when present)")
    parser.add_argument("--baseline", default=None, help="another tree's src: its reader is measured as 'base'")
    args = parser.parse_args()
    if args.baseline and "base" not in args.kinds:
        args.kinds.insert(args.kinds.index("reader") + 1 if "reader" in args.kinds else len(args.kinds), "base")
    if "base" in args.kinds and not args.baseline:
        parser.error("--kinds base needs --baseline")
    work = args.work or Path(tempfile.mkdtemp(prefix="mlreport-bench-hdm-"))
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; best of {args.repeat}; work dir {work}")
    header = (
        f"{'format':<13} {'runs':>6} {'measure':<9} {'wall s':>7} {'cpu s':>7} {'spread':>6} {'runs/s':>7} "
        f"{'ms/run':>7} {'cpu ms/r':>8} {'x floor':>7} {'x f cpu':>7} {'x base':>6} {'RSS MB':>7} {'load':>5}"
    )
    print(header)
    print("-" * len(header))
    for fmt in args.formats:
        for n in args.runs:
            root = store_for(fmt, n, work)
            floor = None
            measured = measure_all(args.kinds, fmt, root, args.repeat, args.baseline)
            for kind in args.kinds:
                r = measured[kind]
                if kind == "floor":
                    floor = r
                ratio = ratio_cpu = ratio_base = ""
                if floor is not None and kind in ("reader", "base", "crawl"):
                    ratio = f"{r['seconds'] / floor['seconds']:.2f}"
                    ratio_cpu = f"{r['cpu'] / floor['cpu']:.2f}"
                if kind == "reader" and "base" in measured:
                    ratio_base = f"{r['cpu'] / measured['base']['cpu']:.2f}"
                print(
                    f"{fmt:<13} {n:>6} {kind:<9} {r['seconds']:>7.2f} {r['cpu']:>7.2f} {r['spread']:>6.2f} "
                    f"{r['runs'] / r['seconds']:>7.0f} {1000 * r['seconds'] / max(r['runs'], 1):>7.2f} "
                    f"{1000 * r['cpu'] / max(r['runs'], 1):>8.2f} {ratio:>7} {ratio_cpu:>7} {ratio_base:>6} "
                    f"{r['rss_mb']:>7.0f}"
                    f" {os.getloadavg()[0]:>5.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
