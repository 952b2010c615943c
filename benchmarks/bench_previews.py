"""What artifact previews add to a build: reading, sniffing and bounding every run's artifacts
(``mlreport.previews.collect_previews``) next to the crawl of the same store, in the same
process, and the run pages rendered with and without them. CPU seconds (``time.process_time``),
so a loaded machine changes the ratios less than the wall times.

The store is the real MLflow fixture (``tests/data/artifacts/mlflow``: a log_figure PNG and SVG,
a log_image PNG, a log_table, a confusion-matrix log_dict, text, YAML, an HTML report) with its
run copied N times under new ids. Usage: ``python benchmarks/bench_previews.py [RUNS ...]``
(default 200 1000).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.previews import collect_previews
from mlreport.render.pages import SiteRenderer

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "data" / "artifacts" / "mlflow" / "mlruns"


def write_store(root: Path, n: int) -> None:
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("models"))  # runs only
    exp = next(p for p in root.iterdir() if p.is_dir() and p.name not in ("0", ".trash"))
    template = next(p for p in exp.iterdir() if p.is_dir())
    shutil.rmtree(template / "outputs", ignore_errors=True)
    old = template.name
    for i in range(n - 1):
        new = uuid.UUID(int=i + 1).hex
        target = exp / new
        shutil.copytree(template, target)
        meta = target / "meta.yaml"
        meta.write_text(meta.read_text().replace(old, new))
        (target / "artifacts" / "notes.txt").write_text(f"run {i}: evaluated on 24 rows\n")


def cpu(fn, *args):  # type: ignore[no-untyped-def]
    t = time.process_time()
    out = fn(*args)
    return out, time.process_time() - t


def render_runs(catalog, config, previews):  # type: ignore[no-untyped-def]
    r = SiteRenderer(catalog, config, previews=previews)
    for ref in r.refs():
        if ref[0] == "run":
            r.render_ref(ref)


def measure(n: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "mlruns"
        write_store(root, n)
        config = Config(sources=(SourceConfig(str(root)),))
        catalog, crawl_s = cpu(read_catalog, config)
        previews, previews_s = cpu(collect_previews, catalog, config)
        copied = sum(len(b) for b in previews.files.values()) / 1e6
        _, plain_s = cpu(render_runs, catalog, config, None)
        _, with_s = cpu(render_runs, catalog, config, previews.for_render())
    return (
        f"{n:>6} {crawl_s:>8.2f} {previews_s:>11.2f} {previews_s / crawl_s:>15.2f} "
        f"{copied:>10.1f} {plain_s:>12.2f} {with_s:>16.2f}"
    )


def main(sizes: list[int]) -> None:
    print(
        f"{'runs':>6} {'crawl s':>8} {'previews s':>11} {'previews/crawl':>15} "
        f"{'copied MB':>10} {'run pages s':>12} {'with previews s':>16}"
    )
    for n in sizes:
        print(measure(n), flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [200, 1000])
