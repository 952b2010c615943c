"""The build engine against its budgets (issue 7), side by side with today's full MkDocs build.

    python benchmarks/bench_build.py [--sizes 1000x1000,10000x10000] [--work DIR] [--no-baseline]
        [--store MLRUNS --steps cold]

For each size (runs x registered versions) a synthetic MLflow file store is written by
``benchmarks/make_mlflow_store.py`` (15 params, 8 metrics x 50 steps, 10 tags a run), then, each
in a fresh process (``python -m mlreport build``):

1. engine, cold: no cache, no previous site (``builder: mkdocs``, the default);
2. engine, nothing changed: the same command again;
3. engine, one new run: a run copied under a new id into the store, then the same command;
4. baseline: ``builder: mkdocs-full`` of the very same store (the generated Markdown built by
   ``mkdocs build``, what every build was before the engine), cold.

Printed per step: wall seconds, CPU seconds (user + system of every process), peak memory (the
largest sum of RSS over the process tree, sampled every 0.2 s, when psutil is installed; else
the largest single process), pages, the size of search_index.json, and seconds per page.
Nothing is asserted. The machine may be shared: CPU seconds are the steadier figure.

``--families MLRUNS`` prints instead what one page of each family costs, in this process (CPU
ms a page: render = the page builder and its template, wrap = the theme's ``main.html``, digest
= its input digest, write = writing its files and keeping them in the page store; and its bytes), rendering up to
``--sample`` pages of each family: the figure that shows what a feature added to a family costs.

``--store`` builds an existing store instead of generating one (its size is only a label); it is
only read, so the one-new-run step, which writes into the store, needs ``--steps`` without
``new-run``, or ``--copy``: the store is first copied into the work folder as hard links (no byte
is copied, nothing of the original is written: the new run is a folder of its own).
``--steps`` picks among ``cold,unchanged,new-run,baseline``.

``--against SRC`` runs every engine step a second time, interleaved, with another checkout's
``src`` (e.g. ``/work/main/src``, the code before a change) into its own site and cache: the
figures of both codes in the same run, under the same load, each line marked with its code.
The one new run is added once, before both codes' one-new-run step.

Each engine line ends with CPU ms per page (the build's CPU over its pages); a summary at the end
puts the cold builds' figure for every size side by side (issue 7: flat within 1.3x from 1,000
to 100,000 runs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BUDGETS = {
    "cold": "<= 60 s, <= 1 GB at 10k+10k; <= 10 min, <= 4 GB at 100k+1k",
    "nothing changed": "<= 3 s",
    "one new run": "<= 5 s",
}


def generate(out: Path, runs: int, versions: int) -> Path:
    if not (out / "mlruns").exists():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "make_mlflow_store.py"),
                str(out),
                "--runs",
                str(runs),
                "--versions",
                str(versions),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return out / "mlruns"


def add_run(store: Path, n: int) -> str:
    """Copy one run of the store under a new id (what one more training run looks like)."""
    exp = next(p for p in sorted(store.iterdir()) if p.is_dir() and p.name.isdigit() and p.name != "0")
    src = next(p for p in sorted(exp.iterdir()) if p.is_dir() and (p / "meta.yaml").is_file())
    new_id = f"{n:032x}"
    dst = exp / new_id
    shutil.copytree(src, dst)
    meta = dst / "meta.yaml"
    text = meta.read_text().replace(src.name, new_id)
    lines = [f"run_name: bench-new-run-{n}" if ln.startswith("run_name:") else ln for ln in text.splitlines()]
    meta.write_text("\n".join(lines) + "\n")
    return f"bench-new-run-{n}"


def measure(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, float]:
    """Wall and CPU seconds and peak memory (MB) of a command and everything it starts.

    ``peak_mb`` is the largest sum of RSS over the process tree; ``peak_pss_mb`` the largest sum
    of PSS (forked workers share the parent's pages, which RSS counts once per process; PSS
    splits them), sampled every second; ``processes`` each process's own peak RSS and its CPU
    seconds when last seen (psutil only)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - the figure falls back to the largest process
        psutil = None
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = peak_pss = 0.0
    seen: dict[int, list[object]] = {}  # pid -> [name, peak RSS MB, CPU s]
    if psutil is not None:
        root = psutil.Process(proc.pid)
        last_pss = 0.0
        while proc.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
                total = 0.0
                for p in tree:
                    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                        rss = p.memory_info().rss / 2**20
                        cpu = sum(p.cpu_times()[:2])
                        entry = seen.setdefault(p.pid, [" ".join(p.cmdline()[1:4])[:60], 0.0, 0.0])
                        entry[1] = max(float(entry[1]), rss)  # type: ignore[arg-type]
                        entry[2] = cpu
                        total += rss
                peak = max(peak, total)
                if time.perf_counter() - last_pss >= 1.0:
                    last_pss = time.perf_counter()
                    pss = 0.0
                    for p in tree:
                        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                            pss += p.memory_full_info().pss / 2**20
                    peak_pss = max(peak_pss, pss)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
            time.sleep(0.2)
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {err[-2000:]}")
    return {"wall": wall, "peak_mb": peak, "peak_pss_mb": peak_pss, "processes": seen}  # type: ignore[dict-item]


def cpu_of_children() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def step(name: str, command: list[str], cwd: Path, site: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    before = cpu_of_children()
    figures: dict[str, object] = dict(measure(command, cwd, env))
    figures["cpu"] = cpu_of_children() - before
    figures["pages"] = sum(1 for _ in site.rglob("index.html"))
    index = site / "search" / "search_index.json"
    figures["search_mb"] = index.stat().st_size / 2**20 if index.is_file() else 0.0
    later = site / "search" / "search_index.runs.json"  # loaded after the first part answers
    figures["later_mb"] = later.stat().st_size / 2**20 if later.is_file() else 0.0
    figures["name"] = name
    return figures


def show(size: str, f: dict[str, object], processes: bool = False) -> None:
    pages = int(f["pages"]) or 1  # type: ignore[call-overload]
    print(
        f"{size:>14} | {f['name']:<28} | {f['wall']:8.1f} s | cpu {f['cpu']:7.1f} s | peak {f['peak_mb']:6.0f} MB"
        f" (pss {f['peak_pss_mb']:6.0f} MB) | {f['pages']:>7} pages | {1000 * float(f['cpu']) / pages:6.2f} CPU ms/page"
        f" | search {f['search_mb']:5.2f} MB + runs {f['later_mb']:5.2f} MB",  # type: ignore[arg-type]
        flush=True,
    )
    if processes:
        for pid, (name, rss, cpu) in sorted(f["processes"].items()):  # type: ignore[attr-defined]
            print(f"{'':>14} |   pid {pid:>7} {name:<60} peak RSS {rss:7.0f} MB, CPU {cpu:7.1f} s (when last seen)")


def families(store: Path, sample: int) -> None:
    """CPU per page of each family, in this process (no pool, no MkDocs)."""
    from mlreport.catalog import read_catalog
    from mlreport.config import Config, SourceConfig
    from mlreport.engine.deps import PageInputs
    from mlreport.engine.page_store import PageStore
    from mlreport.engine.theme import ThemeSpec, theme_for
    from mlreport.render.page import Page
    from mlreport.render.pages import PAGE_KINDS, SiteRenderer
    from mlreport.render.site_config import dump_yaml, standalone_config
    from mlreport.site import NAV_FAMILIES

    config = Config(sources=(SourceConfig(str(store)),))
    t = time.process_time()
    catalog = read_catalog(config)
    print(f"crawl: {time.process_time() - t:.1f} s CPU, {len(catalog.runs)} runs, {len(catalog.versions)} versions")
    renderer = SiteRenderer(catalog, config)
    uris = {("index.md" if f == "home" else f"{f}/index.md"): PAGE_KINDS[f][0] or config.title for f in NAV_FAMILIES}
    text = dump_yaml(standalone_config(config.title, None, "docs", "site"))
    wrap = theme_for(ThemeSpec(text, tempfile.gettempdir(), tuple(sorted(uris)), uris, 0))
    inputs = PageInputs(renderer, "bench")
    scratch = Path(tempfile.mkdtemp(prefix="mlreport-bench-pages-"))
    store = PageStore(scratch / "cache")
    by_family: dict[str, list[tuple[str, str]]] = {}
    for ref in renderer.refs():
        by_family.setdefault(ref[0], []).append(ref)
    print(f"{'family':>13} | {'pages':>6} | {'render':>9} | {'wrap':>9} | {'digest':>9} | {'write':>9} | size a page")
    for family, refs in by_family.items():
        picked = refs[:: max(1, len(refs) // sample)][:sample]
        cost = dict.fromkeys(("render", "wrap", "digest", "write"), 0.0)
        size = 0
        for ref in picked:
            t = time.process_time()
            items = renderer.render_ref(ref)
            cost["render"] += time.process_time() - t
            t = time.process_time()
            files = [(i.dest, wrap.wrap(i)) for i in items if isinstance(i, Page)]
            cost["wrap"] += time.process_time() - t
            t = time.process_time()
            inputs.digest(ref)
            cost["digest"] += time.process_time() - t
            t = time.process_time()
            digest = f"{len(picked)}{ref[0]}{hash(ref[1]) & 0xFFFFFFFF:x}"
            for rel, data in files:
                (scratch / "site" / rel).parent.mkdir(parents=True, exist_ok=True)
                (scratch / "site" / rel).write_bytes(data)
            store.put(digest, scratch / "site", [rel for rel, _ in files])
            cost["write"] += time.process_time() - t
            size += sum(len(data) for _, data in files)
        n = len(picked) or 1
        ms = " | ".join(f"{1000 * cost[k] / n:6.2f} ms" for k in ("render", "wrap", "digest", "write"))
        print(f"{family:>13} | {len(refs):>6} | {ms} | {size / n / 1024:6.1f} KB", flush=True)
    inputs.close()
    shutil.rmtree(scratch, ignore_errors=True)


PROCESSES = False  # --processes: every process's own figures under each step


def engine_step(name: str, code: tuple[str, str], size: str, store: Path, work: Path) -> dict[str, object]:
    """One engine build of ``store`` with one code (its name, its ``src``) into its own site."""
    site = work / f"site-{size}-{code[0]}"
    env = dict(os.environ, PYTHONPATH=code[1])
    command = [sys.executable, "-m", "mlreport", "build", "-q", str(store), "-o", str(site)]
    figures = step(f"{name} [{code[0]}]", command, work, site, env)
    show(size, figures, processes=PROCESSES)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000x1000,10000x10000", help="runs x versions, comma-separated")
    parser.add_argument("--work", type=Path, default=None, help="keep generated stores here")
    parser.add_argument("--no-baseline", action="store_true", help="skip the mkdocs-full baseline")
    parser.add_argument("--store", type=Path, default=None, help="an existing mlruns/ to build (read only)")
    parser.add_argument("--steps", default="cold,unchanged,new-run,baseline", help="which steps, comma-separated")
    parser.add_argument("--copy", action="store_true", help="copy --store as hard links first (for new-run)")
    parser.add_argument("--against", type=Path, default=None, help="another checkout's src/ to run side by side")
    parser.add_argument("--families", type=Path, default=None, help="per-family cost of one page of this mlruns/")
    parser.add_argument("--sample", type=int, default=50, help="pages of each family to render (--families)")
    parser.add_argument("--processes", action="store_true", help="print each process's peak RSS and CPU")
    args = parser.parse_args()
    global PROCESSES
    PROCESSES = args.processes
    if args.families is not None:
        families(args.families, args.sample)
        return
    steps = set(args.steps.split(","))
    if args.no_baseline:
        steps.discard("baseline")
    if args.store is not None and "new-run" in steps and not args.copy:
        raise SystemExit("--store is only read: leave 'new-run' out of --steps, or give --copy")
    work = args.work or Path(tempfile.mkdtemp(prefix="mlreport-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f}, python {sys.version.split()[0]}; work {work}")
    print(f"budgets: {json.dumps(BUDGETS)}")
    mlreport = [sys.executable, "-m", "mlreport", "build", "-q"]
    # the codes compared: this checkout's (as imported here) and, with --against, another's
    here = str(Path(__import__("mlreport").__file__).resolve().parent.parent)
    codes = [("new", here)] + ([("old", str(args.against.resolve()))] if args.against else [])
    print("codes: " + ", ".join(f"{name} = {src}" for name, src in codes))
    per_page: dict[str, dict[str, float]] = {}
    for size in args.sizes.split(","):
        runs, versions = (int(x) for x in size.split("x"))
        if args.store is not None and args.copy:
            store = work / f"store-{size}" / "mlruns"
            if not store.exists():
                shutil.copytree(args.store, store, copy_function=os.link, symlinks=True)
        else:
            store = args.store or generate(work / f"store-{runs}x{versions}", runs, versions)

        for code in codes:
            for leftover in (
                f"site-{size}-{code[0]}",
                f".site-{size}-{code[0]}.mlreport",
                f".site-{size}-{code[0]}.cache",
            ):
                shutil.rmtree(work / leftover, ignore_errors=True)
        if "cold" in steps:
            for code in codes:
                f = engine_step("engine, cold", code, size, store, work)
                per_page.setdefault(code[0], {})[size] = 1000 * float(f["cpu"]) / (int(f["pages"]) or 1)  # type: ignore[call-overload]
        if "unchanged" in steps:
            for code in codes:
                engine_step("engine, nothing changed", code, size, store, work)
        if "new-run" in steps:
            name = add_run(store, int(time.time()))
            for code in codes:
                engine_step("engine, one new run", code, size, store, work)
                site = work / f"site-{size}-{code[0]}"
                # the runs index and experiment pages draw their rows from the data file beside
                # them; run entries are the second part of the search index (engine/output.py)
                found = [
                    any(name in p.read_text() for p in (site / "runs").glob("runs.js*")),
                    name in (site / "search" / "search_index.runs.json").read_text(),
                    any(name in p.read_text() for p in (site / "experiments").glob("*/runs.js*")),
                ]
                print(f"{size:>14} | [{code[0]}] new run in the runs index, in search, on its experiment page: {found}")
        if "baseline" in steps:
            full = work / f"full-{size}"
            shutil.rmtree(full, ignore_errors=True)
            shutil.rmtree(work / f".full-{size}.mlreport", ignore_errors=True)
            base = [*mlreport, str(store), "-o", str(full), "--builder", "mkdocs-full"]
            show(size, step("baseline: mkdocs-full, cold", base, work, full, dict(os.environ, PYTHONPATH=here)))
    for code, figures in per_page.items():
        sizes = list(figures)
        line = " | ".join(f"{s}: {figures[s]:.2f}" for s in sizes)
        spread = max(figures.values()) / min(figures.values()) if figures else float("nan")
        print(f"cold build, CPU ms per page [{code}]: {line} | largest / smallest {spread:.2f}x (budget 1.3x)")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
