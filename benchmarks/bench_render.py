"""What one page of each family costs to render, for two versions of the code in the same run.

    python benchmarks/bench_render.py MLRUNS [--before REV] [--after REV] [--sample 50] [--repeat 2]
        [--families version,run] [--profile version]

Each side is measured in a fresh process (``PYTHONPATH`` pointed at its ``src/``): the store is
crawled once, then up to ``--sample`` pages of each family are rendered (``SiteRenderer.render_ref``,
the page builder and its template) and wrapped in Material's ``main.html`` (``ThemeWrap.wrap``),
one after the other, after one page of the family has warmed the caches a build warms once per
process. Printed: CPU ms a page (``time.process_time``, so the load of a shared machine counts
less than in wall time) for ``render`` and ``wrap``, side by side, and their ratio.

``--before REV`` is a git revision of this repository (default ``main``), exported with ``git
archive`` into a scratch folder; the "after" side is this checkout, or ``--after REV`` (exported
too, so that editing the checkout while a long run goes on does not change what it measures).
The sides alternate (before, after, before, after …) so that both see the same load; the figure
of a side is the smallest of its repeats. ``--profile FAMILY`` prints instead the top of a
cProfile (CPU time) of that family's pages on this checkout. Nothing is asserted.
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
ROOT = HERE.parent


def measure(store: str, sample: int, families: set[str] | None, profile: str | None) -> dict[str, dict[str, float]]:
    """Render and wrap CPU ms a page of each family, in this process (the code on sys.path)."""
    from mlreport.catalog import read_catalog
    from mlreport.config import Config, SourceConfig
    from mlreport.engine.theme import ThemeSpec, theme_for
    from mlreport.render.page import Page
    from mlreport.render.pages import PAGE_KINDS, SiteRenderer
    from mlreport.render.site_config import dump_yaml, standalone_config
    from mlreport.site import NAV_FAMILIES

    config = Config(sources=(SourceConfig(store),))
    catalog = read_catalog(config)
    renderer = SiteRenderer(catalog, config)
    uris = {("index.md" if f == "home" else f"{f}/index.md"): PAGE_KINDS[f][0] or config.title for f in NAV_FAMILIES}
    text = dump_yaml(standalone_config(config.title, None, "docs", "site"))
    wrap = theme_for(ThemeSpec(text, tempfile.gettempdir(), tuple(sorted(uris)), uris, 0))
    by_family: dict[str, list[tuple[str, str]]] = {}
    for ref in renderer.refs():
        by_family.setdefault(ref[0], []).append(ref)
    out: dict[str, dict[str, float]] = {}
    for family, refs in by_family.items():
        if families is not None and family not in families:
            continue
        if profile is not None and family != profile:
            continue
        picked = refs[:: max(1, len(refs) // sample)][:sample]
        for item in renderer.render_ref(picked[0]):  # what a worker does once, not per page
            if isinstance(item, Page):
                wrap.wrap(item)
        profiler = None
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
        render = wrapped = 0.0
        for ref in picked:
            t = time.process_time()
            items = renderer.render_ref(ref)
            render += time.process_time() - t
            t = time.process_time()
            for item in items:
                if isinstance(item, Page):
                    wrap.wrap(item)
            wrapped += time.process_time() - t
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        n = len(picked)
        out[family] = {"pages": len(refs), "sample": n, "render": 1000 * render / n, "wrap": 1000 * wrapped / n}
    return out


def export(rev: str, into: Path) -> Path:
    """The tree of ``rev`` (src, templates) in ``into``; returns its ``src``."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src", "templates"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def side(src: Path, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    env = dict(os.environ, PYTHONPATH=str(src))
    command = [sys.executable, __file__, args.store, "--child", "--sample", str(args.sample)]
    if args.families:
        command += ["--families", args.families]
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("store", help="an mlruns/ folder (only read)")
    parser.add_argument("--before", default="main", help="git revision to compare with (default main)")
    parser.add_argument("--after", default=None, help="git revision to measure instead of this checkout")
    parser.add_argument("--sample", type=int, default=50, help="pages of each family")
    parser.add_argument("--repeat", type=int, default=2, help="measurements of each side (alternating)")
    parser.add_argument("--families", default="", help="only these families, comma-separated")
    parser.add_argument("--profile", default=None, help="cProfile this family's pages (this checkout only)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    families = set(args.families.split(",")) if args.families else None
    if args.child or args.profile:
        figures = measure(args.store, args.sample, families, args.profile)
        if args.child:
            print(json.dumps(figures))
        return
    scratch = Path(tempfile.mkdtemp(prefix="mlreport-bench-render-"))
    try:
        before_src = export(args.before, scratch / "before")
        after_src = export(args.after, scratch / "after") if args.after else ROOT / "src"
        load = os.getloadavg()[0]
        after = args.after or "this checkout"
        print(f"store {args.store}; before = {args.before}, after = {after}; load average {load:.1f}")
        runs: dict[str, list[dict[str, dict[str, float]]]] = {"before": [], "after": []}
        for _ in range(args.repeat):
            runs["before"].append(side(before_src, args))
            runs["after"].append(side(after_src, args))
        print(
            f"{'family':>13} | {'pages':>6} | {'render before':>13} | {'after':>8} | {'ratio':>5} | "
            f"{'wrap before':>11} | {'after':>8}   (CPU ms a page, best of {args.repeat})"
        )
        for family in runs["after"][0]:
            best = {k: {m: min(r[family][m] for r in runs[k]) for m in ("render", "wrap")} for k in runs}
            pages = int(runs["after"][0][family]["pages"])
            ratio = best["after"]["render"] / best["before"]["render"] if best["before"]["render"] else float("nan")
            print(
                f"{family:>13} | {pages:>6} | {best['before']['render']:10.2f} ms | {best['after']['render']:5.2f} ms"
                f" | {ratio:5.2f} | {best['before']['wrap']:8.2f} ms | {best['after']['wrap']:5.2f} ms",
                flush=True,
            )
        print(f"load average at the end {os.getloadavg()[0]:.1f}; {time.strftime('%H:%M:%S')}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
