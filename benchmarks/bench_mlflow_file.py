"""The MLflow file-store reader next to its floor, side by side in one run (issue 12).

    python benchmarks/bench_mlflow_file.py STORE/mlruns [--repeat 3] [--cold] [--threads 1 4 16]
    python benchmarks/bench_mlflow_file.py --big-metric POINTS [--work DIR]

The floor is a plain pass that reads every byte the reader needs: every file of a run folder
but its artifacts (which the reader only lists, so the floor stats them), every experiment,
dataset, logged-model and registry file, in one process, with ``os.scandir`` and ``open``.
The reader figure is ``MlflowFileReader.read`` consumed to the end (every history), and
``read_catalog`` on the same store (the reader plus the catalog's merge), each with every
``--jobs`` (worker processes reading runs; their CPU is added to the CPU column). Each pass runs in a
fresh process, alternating floor and reader, so that both see the same machine; the fastest
repetition is shown with the ratio to the floor's fastest, and the peak RSS of each.

``--cold`` evicts the store's own files from the page cache before every pass
(``POSIX_FADV_DONTNEED`` on each, checked with ``mincore``: the share still resident is printed;
inodes and directories stay cached), or with ``--evict drop`` drops the whole page cache
(``sync; echo 3 > /proc/sys/vm/drop_caches``, root only, everyone's cache on a shared machine);
it also runs the floor with N concurrent reader threads (``--threads``), which is what this
disk gives to a crawl that reads ahead of its parser.

``--big-metric N`` writes one run whose metric file has N points and reports the reader's peak
RSS next to the file's size and the interpreter's base RSS (issue 11: 10 million points within
300 MB). Figures are printed, nothing is asserted; the machine may be shared, so compare the
paired figures, not absolute times.

Measured (issue 12), 2026-12-02 on main at 4852067, the 10,000-run store /work/stores/s10k
(370,036 files, 112 MB read), 2-core VM disk, machine shared with a full test run and another
benchmark. Fastest of 2 fresh processes each, alternating, wall / CPU seconds:

``--cold --evict drop --repeat 2 --jobs 1 2`` (15:15-15:28 UTC, load average 6-14 throughout; the
load counts the readers waiting on the disk as well):

    floor, 1 reader             63.8 / 25.6   (spread 1.09)
    floor, 4 readers            41.8 / 40.4   (spread 1.25)
    floor, 16 readers           40.9 / 39.2   (spread 1.30)
    MlflowFileReader.read, 1 job  57.6 / 51.1  (0.90x the 1-reader floor)
    MlflowFileReader.read, 2 jobs 56.4 / 58.8  (0.88x)
    read_catalog, 1 job         51.8 / 45.1   (0.81x)
    read_catalog, 2 jobs        39.9 / 39.8   (0.62x; spread 1.66, the other pass ~66 s)

The budget is 25 s cold; not met on this loaded machine, where even the 16-reader floor takes 41 s.
With 4 and 16 readers the floor's CPU equals its wall: two shared cores, not the disk, were the
limit, so 4 and 16 readers gave the same, and the crawl (read-ahead of 16 threads) ran at that floor.

Again, ``--cold --evict drop --repeat 2 --jobs 2`` (15:33-15:42 UTC, the crawl's default of one
job a core; 1-minute load average 2.0-9.6, the fastest read_catalog pass at 4.8-5.5):

    floor, 1 reader             51.6 / 32.3   (spread 1.14)
    floor, 4 readers            43.2 / 41.2   (spread 1.17)
    floor, 16 readers           50.3 / 54.4   (spread 1.44)
    MlflowFileReader.read, 2 jobs 41.7 / 56.4  (0.81x the 1-reader floor)
    read_catalog, 2 jobs        32.8 / 49.7   (0.64x; spread 1.49)

Cold, the same bytes cost the floor 5-6x the CPU they cost warm (kernel time on this VM's disk
path), which is why more readers stop helping past 4 here; on a quiet machine the issue's 1-reader
floor was 32.6 s.

Warm, ``--repeat 2 --jobs 1 2`` (15:28-15:31 UTC, load average 9.4 falling to 3.0; 99.8 % of the
sample resident): floor 5.80 / 5.46; MlflowFileReader.read 12.88 / 10.44 (2.22x) with 1 job,
12.87 / 14.52 (2.22x) with 2; read_catalog 13.54 / 13.00 (2.33x) with 1 job, 15.80 / 17.77
(2.72x) with 2. The budget is 1.5x.

After 79cfcd7 and 6c32933 (registered models read on the pool; runs a worker cleaned are not
cleaned again), the same store, 2026-12-02 about 19:00 UTC, figures as the helper that measured
them reported them (its raw output was lost with its machine), CPU seconds, fastest of 2:
warm, floor 5.26 s; MlflowFileReader.read with 2 jobs 1.30x the floor; read_catalog 1.47x with
2 jobs and 1.79x with 1 job (the 1-job crawl still misses 1.5x). Cold (page cache dropped), the
4-reader floor 35.7 s and read_catalog 33.3 s: the crawl is at this disk's floor, and 25 s is
below what the disk gives here with any number of readers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

FLOOR = r"""
import os, resource, sys, time, json
from concurrent.futures import ThreadPoolExecutor
root, threads = sys.argv[1], int(sys.argv[2])

def files_of(top):
    out, stats = [], []
    stack = [top]
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    if e.name == "artifacts":
                        for dp, _dn, fn in os.walk(e.path):
                            stats.extend(os.path.join(dp, f) for f in fn)
                    else:
                        stack.append(e.path)
                else:
                    out.append(e.path)
    return out, stats

def read(p):
    with open(p, "rb") as f:
        return len(f.read())

t0 = time.perf_counter(); c0 = time.process_time()
if threads <= 1:
    files, stats = files_of(root)
    total = sum(map(read, files))
    for p in stats:
        os.stat(p)
else:
    # list the experiments' folders concurrently, then read their files concurrently
    tops = [e.path for e in os.scandir(root) if e.is_dir()]
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(files_of, tops))
        files = [p for f, _ in parts for p in f]
        stats = [p for _, s in parts for p in s]
        total = sum(pool.map(read, files, chunksize=64))
        list(pool.map(os.stat, stats, chunksize=64))
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "cpu": time.process_time() - c0, "files": len(files), "bytes": total,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

READER = r"""
import json, resource, sys, time
from mlreport.readers import ReadOptions
from mlreport.readers.mlflow_file import MlflowFileReader
from mlreport.stores import LocalStore
from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from pathlib import Path
root, mode, jobs = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter(); c0 = time.process_time()
if mode == "reader":
    records = list(MlflowFileReader().read(LocalStore(root, str(root)), "", ReadOptions(jobs=jobs)))
    n = sum(1 for r in records if type(r).__name__ == "Run")
    problems = sum(1 for r in records if type(r).__name__ == "Problem")
else:
    c = read_catalog(Config(sources=(SourceConfig(str(root)),), jobs=jobs))
    n, problems = len(c.runs), len(c.problems)
wall = time.perf_counter() - t0
# the workers' CPU too (a process pool): children that were waited for
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": time.process_time() - c0 + kids.ru_utime + kids.ru_stime,
                  "runs": n, "problems": problems,
                  "base_mb": base, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PHASES = r"""
import json, os, sys, time
from pathlib import Path
from mlreport.local_folder import read_folder
from mlreport.readers import ReadOptions
from mlreport.readers._mlflow import parse_flat_yaml
from mlreport.readers._mlflow_metrics import parse_usual_files
from mlreport.readers.mlflow_file import MlflowFileReader
from mlreport.stores import LocalStore
root = Path(sys.argv[1]).resolve()
store = LocalStore(root, str(root))
folders = []  # every run folder and registered-model folder, as the reader reads them
for e in sorted(os.scandir(root), key=lambda e: e.name):
    if e.is_dir() and e.name.isdigit():
        folders += [(f"{e.name}/{r.name}", True) for r in sorted(os.scandir(e.path), key=lambda r: r.name)
                    if r.is_dir() and r.name not in ("tags", "datasets", "traces", "models")]
    elif e.name == "models" and e.is_dir():
        folders += [(f"models/{m.name}", False) for m in sorted(os.scandir(e.path), key=lambda m: m.name) if m.is_dir()]
out = {}
def phase(name, fn):
    c = time.process_time(); result = fn(); out[name] = time.process_time() - c
    return result
def walk():
    n = 0
    for rel, _run in folders:
        stack = [str(root / rel)]
        while stack:
            with os.scandir(stack.pop()) as it:
                for e in it:
                    n += 1
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
    return n
entries = phase("walk: list every folder (scandir)", walk)
views = phase("walk + open/read every file (one pass a folder: local_folder)",
              lambda: [read_folder(store, rel, str(root / rel), frozenset({"artifacts"}) if run else frozenset())
                       for rel, run in folders])
texts = [data.decode() for v in views for path, data in v.files.items() if path.endswith("meta.yaml")]
phase("parse meta.yaml (%d files)" % len(texts), lambda: [parse_flat_yaml(t) for t in texts])
def key_files(sub):
    return [data.decode() for v in views for path, data in v.files.items() if f"/{sub}/" in path]
phase("params and tags: decode", lambda: (key_files("params"), key_files("tags")))
metric_sets = [{p: d for p, d in v.files.items() if "/metrics/" in p} for v in views]
phase("metric lines (parse_usual_files)", lambda: [list(parse_usual_files(m)) for m in metric_sets])
del views, metric_sets, texts
phase("MlflowFileReader.read, 1 job (everything)",
      lambda: list(MlflowFileReader().read(store, "", ReadOptions(jobs=1))))
print(json.dumps({"phases": out, "folders": len(folders), "entries": entries}))
"""


def _run(code: str, *args: str, src: Path = SRC) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _drop_caches() -> None:
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def _files(root: Path) -> list[str]:
    out, stack = [], [str(root)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif e.is_file(follow_symlinks=False):
                    out.append(e.path)
    return out


def _evict(files: list[str]) -> None:
    """The store's own files out of the page cache (``POSIX_FADV_DONTNEED``), so that the other
    processes of a shared machine keep theirs; file metadata (inodes, directories) stays cached."""
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _read_all(files: list[str]) -> None:
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            while os.read(fd, 1 << 20):
                pass
        finally:
            os.close(fd)


def _resident(files: list[str]) -> float:
    """The share of the files' pages in the page cache (``mincore`` of each file mapped, which
    reads nothing): the check that an eviction evicted."""
    import ctypes
    import mmap

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    page = mmap.PAGESIZE
    total = resident = 0
    for path in files:
        size = os.path.getsize(path)
        if size == 0:
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if addr in (None, ctypes.c_void_p(-1).value):
                continue
            pages = (size + page - 1) // page
            vec = (ctypes.c_ubyte * pages)()
            if libc.mincore(addr, size, vec) == 0:
                total += pages
                resident += sum(v & 1 for v in vec)
            libc.munmap(addr, size)
        finally:
            os.close(fd)
    return resident / total if total else 0.0


def bench_store(
    root: Path,
    repeat: int,
    cold: bool,
    threads: list[int],
    jobs: list[int],
    evict: str = "fadvise",
    baseline: Path | None = None,
) -> None:
    passes: dict[str, list[dict[str, float]]] = {}
    kinds: list[tuple[str, str, tuple[str, ...], Path]] = [("floor, 1 reader", FLOOR, ("1",), SRC)]
    for label, src in [("", SRC)] + ([(" (baseline)", baseline)] if baseline else []):
        for n in jobs:
            jn = f"{n} job{'s' if n > 1 else ''}"
            kinds.append((f"MlflowFileReader.read, {jn}{label}", READER, ("reader", str(n)), src))
            kinds.append((f"read_catalog, {jn}{label}", READER, ("catalog", str(n)), src))
    if cold:
        kinds += [(f"floor, {n} readers", FLOOR, (str(n),), SRC) for n in threads if n != 1]
    files = _files(root) if evict == "fadvise" or not cold else []
    # a warm pass on a shared machine may find part of the store evicted by someone else's
    # writes: checked on a sample before each pass, and read back in when it is not resident
    sample = random.Random(0).sample(files, min(len(files), 4000)) if not cold else []
    residency: list[float] = []
    for _ in range(repeat):
        for name, code, args, src in kinds:
            if cold and evict == "drop":
                _drop_caches()
            elif cold:
                _evict(files)
                residency.append(_resident(files))
            else:
                if _resident(sample) < 0.999:
                    _read_all(files)
                residency.append(_resident(sample))
            passes.setdefault(name, []).append(_run(code, str(root), *args, src=src))
    floor = min(p["wall"] for p in passes["floor, 1 reader"])
    floor_cpu = min(p["cpu"] for p in passes["floor, 1 reader"])
    if not cold:
        share = min(residency) * 100
        cache = f"page cache warm: {share:.1f} % of a sample of the files resident before a pass at least"
    elif evict == "drop":
        cache = "page cache dropped before each pass"
    else:
        cache = (
            f"the store's {len(files)} files evicted before each pass (POSIX_FADV_DONTNEED; metadata cached), "
            f"{max(residency) * 100:.1f} % of their pages resident after it at most"
        )
    print(f"\n{root}  ({cache}; fastest of {repeat}, fresh process each)")
    print("| pass | wall s | cpu s | x floor (wall) | x floor (cpu) | peak MB | notes |")
    print("|---|---|---|---|---|---|---|")
    for name, results in passes.items():
        best = min(results, key=lambda p: p["wall"])
        cpu = min(p["cpu"] for p in results)
        spread = max(p["wall"] for p in results) / best["wall"]
        notes = f"spread {spread:.2f}"
        if "runs" in best:
            notes += f", {int(best['runs'])} runs, {int(best['problems'])} problems, base {best['base_mb']:.0f} MB"
        else:
            notes += f", {int(best['files'])} files, {best['bytes'] / 1e6:.0f} MB read"
        print(
            f"| {name} | {best['wall']:.2f} | {cpu:.2f} | {best['wall'] / floor:.2f} | {cpu / floor_cpu:.2f} "
            f"| {max(p['rss_mb'] for p in results):.0f} | {notes} |"
        )


def bench_big_metric(points: int, work: Path) -> None:
    root = work / "big" / "mlruns"
    run = root / "1" / ("b" * 32)
    metric = run / "metrics" / "loss"
    if not metric.exists() or metric.stat().st_size < points * 20:
        (root / "1").mkdir(parents=True, exist_ok=True)
        (root / "1" / "meta.yaml").write_text("experiment_id: '1'\nlifecycle_stage: active\nname: big\n")
        metric.parent.mkdir(parents=True, exist_ok=True)
        (run / "meta.yaml").write_text(f"run_id: {'b' * 32}\nexperiment_id: '1'\nstatus: 3\nlifecycle_stage: active\n")
        with open(metric, "w") as f:
            chunk = 100_000
            for start in range(0, points, chunk):
                f.write(
                    "".join(
                        f"{1767225600000 + i} {1.0 / (1 + i)} {i}\n" for i in range(start, min(points, start + chunk))
                    )
                )
    size = metric.stat().st_size
    result = _run(READER, str(root), "reader", "1")
    floor = _run(FLOOR, str(root), "1")
    print(f"\none metric file of {points:,} points ({size / 1e6:.0f} MB)")
    print("| pass | wall s | peak MB | base MB (after imports) |")
    print("|---|---|---|---|")
    print(f"| floor: read every byte | {floor['wall']:.2f} | {floor['rss_mb']:.0f} | — |")
    print(f"| MlflowFileReader.read | {result['wall']:.2f} | {result['rss_mb']:.0f} | {result['base_mb']:.0f} |")


def bench_phases(root: Path, repeat: int) -> None:
    """Where the reader's CPU goes, phase by phase, each phase on its own in one process (the
    fastest of ``repeat`` fresh processes); "the rest" is what the reader spends beyond the
    phases: records, paths, keys, the experiment and registry logic."""
    best: dict[str, float] = {}
    info: dict[str, float] = {}
    for _ in range(repeat):
        result = _run(PHASES, str(root))
        info = result
        for name, cpu in result["phases"].items():  # type: ignore[union-attr]
            best[name] = min(best.get(name, cpu), cpu)
    names = list(best)
    total = best[names[-1]]
    parts = sum(best[n] for n in names[1:-1])
    print(f"\n{root}: {info['folders']} folders, {info['entries']} entries (CPU s, fastest of {repeat})")
    print("| phase | cpu s | share of the reader |")
    print("|---|---|---|")
    for name in names:
        print(f"| {name} | {best[name]:.2f} | {best[name] / total * 100:.0f} % |")
    print(f"| the rest (records, paths, keys; reader minus the phases above but the walk) | {total - parts:.2f} "
          f"| {(total - parts) / total * 100:.0f} % |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("store", nargs="?", type=Path)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--cold", action="store_true")
    p.add_argument("--threads", type=int, nargs="*", default=[1, 4, 16])
    p.add_argument(
        "--evict",
        choices=["fadvise", "drop"],
        default="fadvise",
        help="--cold: evict the store's own files (default) or drop the whole page cache (root, everyone's)",
    )
    p.add_argument("--big-metric", type=int, default=0)
    p.add_argument("--phases", action="store_true", help="where the reader's CPU goes, phase by phase")
    p.add_argument("--jobs", type=int, nargs="*", default=[1, 2], help="crawl worker processes to compare")
    p.add_argument("--baseline", type=Path, help="also run the reader passes on this src/ (git archive main src)")
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "mlreport-bench-mlflow")
    args = p.parse_args()
    if args.big_metric:
        bench_big_metric(args.big_metric, args.work)
    if args.store and args.phases:
        bench_phases(args.store, args.repeat)
    elif args.store:
        bench_store(args.store, args.repeat, args.cold, args.threads, args.jobs, args.evict, args.baseline)


if __name__ == "__main__":
    main()
