"""What one page of each family costs to render, for two versions of the code in the same run.

    python benchmarks/bench_render.py MLRUNS [--before REV] [--after REV] [--sample 50] [--repeat 5]
        [--families version,run] [--profile version]

Each side is a process of its own (``PYTHONPATH`` pointed at its ``src/``) that crawls the store
once and then, for each round it is asked for, renders up to ``--sample`` pages of each family
(``SiteRenderer.render_ref``: the page builder and its template) and wraps them in Material's
``main.html`` (``ThemeWrap.wrap``); one page of each family has warmed the caches a build warms
once per process. The sides take turns (before, after, before, after …), so both see the same
load of a shared machine. Printed: CPU ms a page (``time.process_time``) for ``render`` and
``wrap``, the median of the rounds, side by side, and their ratio.

``--before REV`` is a git revision of this repository (default ``main``), exported with ``git
archive`` into a scratch folder; the "after" side is this checkout, or ``--after REV`` (exported
too, so that editing the checkout while a long run goes on does not change what it measures).
``--profile FAMILY`` prints instead the top of a cProfile (CPU time) of that family's pages on
this checkout. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class Sampler:
    """The crawled store and its pages, ready to render samples of each family in this process
    (the code on sys.path)."""

    def __init__(self, store: str, sample: int, families: set[str] | None) -> None:
        from mlreport.catalog import read_catalog
        from mlreport.config import Config, SourceConfig
        from mlreport.engine.theme import ThemeSpec, theme_for
        from mlreport.render.pages import PAGE_KINDS, SiteRenderer
        from mlreport.render.site_config import dump_yaml, standalone_config
        from mlreport.site import NAV_FAMILIES

        config = Config(sources=(SourceConfig(store),))
        self.renderer = SiteRenderer(read_catalog(config), config)
        uris = {
            ("index.md" if f == "home" else f"{f}/index.md"): PAGE_KINDS[f][0] or config.title for f in NAV_FAMILIES
        }
        text = dump_yaml(standalone_config(config.title, None, "docs", "site"))
        self.wrap = theme_for(ThemeSpec(text, tempfile.gettempdir(), tuple(sorted(uris)), uris, 0))
        by_family: dict[str, list[tuple[str, str]]] = {}
        for ref in self.renderer.refs():
            by_family.setdefault(ref[0], []).append(ref)
        self.pages = {f: len(refs) for f, refs in by_family.items()}
        self.picked = {
            f: refs[:: max(1, len(refs) // sample)][:sample]
            for f, refs in by_family.items()
            if families is None or f in families
        }
        for refs in self.picked.values():
            self.render(refs[:1])  # what a worker does once, not per page

    def render(self, refs: list[tuple[str, str]]) -> tuple[float, float]:
        from mlreport.render.page import Page

        render = wrapped = 0.0
        for ref in refs:
            t = time.process_time()
            items = self.renderer.render_ref(ref)
            render += time.process_time() - t
            t = time.process_time()
            for item in items:
                if isinstance(item, Page):
                    self.wrap.wrap(item)
            wrapped += time.process_time() - t
        return render, wrapped

    def round(self) -> dict[str, dict[str, float]]:
        """CPU ms a page of each family: render and wrap."""
        out = {}
        for family, refs in self.picked.items():
            render, wrapped = self.render(refs)
            n = len(refs)
            out[family] = {"pages": self.pages[family], "render": 1000 * render / n, "wrap": 1000 * wrapped / n}
        return out

    def profile(self, family: str) -> None:
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        self.render(self.picked[family])
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(50)


def child(args: argparse.Namespace, families: set[str] | None) -> None:
    """A side: crawl once, then one round of samples for each line read, as a JSON line."""
    sampler = Sampler(args.store, args.sample, families)
    print("ready", flush=True)
    for _ in sys.stdin:
        print(json.dumps(sampler.round()), flush=True)


def export(rev: str, into: Path) -> Path:
    """The tree of ``rev`` (src, templates) in ``into``; returns its ``src``."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src", "templates"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def start(src: Path, args: argparse.Namespace) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(src))
    command = [sys.executable, __file__, args.store, "--child", "--sample", str(args.sample)]
    if args.families:
        command += ["--families", args.families]
    return subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def ask(proc: subprocess.Popen[str]) -> dict[str, dict[str, float]]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("round\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"a side stopped (exit {proc.wait()})")
    return json.loads(line)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("store", help="an mlruns/ folder (only read)")
    parser.add_argument("--before", default="main", help="git revision to compare with (default main)")
    parser.add_argument("--after", default=None, help="git revision to measure instead of this checkout")
    parser.add_argument("--sample", type=int, default=50, help="pages of each family")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of each side (alternating)")
    parser.add_argument("--families", default="", help="only these families, comma-separated")
    parser.add_argument("--profile", default=None, help="cProfile this family's pages (this checkout only)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    families = set(args.families.split(",")) if args.families else None
    if args.child:
        child(args, families)
        return
    if args.profile:
        Sampler(args.store, args.sample, {args.profile}).profile(args.profile)
        return
    scratch = Path(tempfile.mkdtemp(prefix="mlreport-bench-render-"))
    procs: list[subprocess.Popen[str]] = []
    try:
        before_src = export(args.before, scratch / "before")
        after_src = export(args.after, scratch / "after") if args.after else ROOT / "src"
        load = os.getloadavg()[0]
        after = args.after or "this checkout"
        print(f"store {args.store}; before = {args.before}, after = {after}; load average {load:.1f}", flush=True)
        procs = [start(before_src, args), start(after_src, args)]
        for proc in procs:  # both crawl (at once), then render in turns
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise SystemExit(f"a side stopped (exit {proc.wait()})")
        runs: dict[str, list[dict[str, dict[str, float]]]] = {"before": [], "after": []}
        for _ in range(args.repeat):
            runs["before"].append(ask(procs[0]))
            runs["after"].append(ask(procs[1]))
        print(
            f"{'family':>13} | {'pages':>6} | {'render before':>13} | {'after':>8} | {'ratio':>5} | "
            f"{'wrap before':>11} | {'after':>8}   (CPU ms a page, median of {args.repeat} alternating rounds)"
        )
        for family in runs["after"][0]:
            best = {k: {m: statistics.median(r[family][m] for r in runs[k]) for m in ("render", "wrap")} for k in runs}
            pages = int(runs["after"][0][family]["pages"])
            ratio = best["after"]["render"] / best["before"]["render"] if best["before"]["render"] else float("nan")
            print(
                f"{family:>13} | {pages:>6} | {best['before']['render']:10.2f} ms | {best['after']['render']:5.2f} ms"
                f" | {ratio:5.2f} | {best['before']['wrap']:8.2f} ms | {best['after']['wrap']:5.2f} ms",
                flush=True,
            )
        print(f"load average at the end {os.getloadavg()[0]:.1f}; {time.strftime('%H:%M:%S')}")
    finally:
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
