"""What the review adds to a build: every version compared with its baseline and its gates
evaluated (as the version pages and indexes do), next to rendering those version pages, in the
same process. Usage: ``python benchmarks/bench_review.py [VERSIONS ...]`` (default 500 2000)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.gates import Gate, evaluate, model_metrics
from mlreport.render.pages import SiteRenderer
from mlreport.review import compare_version


def write_store(root: Path, n: int) -> None:
    for i in range(1, n + 1):
        alias = "\n  aliases: [champion]" if i == n // 2 else ""
        points = ", ".join(f"[{s}, {0.7 + 0.2 * s / 50 * (i % 7) / 7:.4f}]" for s in range(1, 51))
        (root / f"v{i}.mlreport.yaml").write_text(
            "mlreport_manifest: 1\n"
            f"run: {{id: run-{i}, experiment: churn, status: finished, start_time: {1_700_000_000 + i * 3600}}}\n"
            f"model:\n  name: churn\n  version: '{i}'{alias}\n"
            f"params: {{lr: {0.01 * (i % 5 + 1)}, depth: {i % 8}, seed: {i}}}\n"
            f"metrics: {{val_auc: {0.8 + (i % 13) / 100}, val_logloss: {0.4 - (i % 11) / 100}}}\n"
            f"history: {{val_auc: [{points}]}}\n"
            f"inputs: [{{uri: s3://b/train-{i % 3}.parquet, digest: d{i % 3}, context: training}}]\n"
            f"git: {{commit: '{i:040x}', repo_url: 'git@github.com:acme/churn.git'}}\n"
        )


def main(sizes: list[int]) -> None:
    gates = (Gate("val_auc", min=0.85), Gate("val_logloss", max_regression=0.02))
    print(f"{'versions':>9} {'read s':>8} {'render version pages s':>23} {'review s':>9} {'review/render':>14}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "store"
            root.mkdir()
            write_store(root, n)
            config = Config(sources=(SourceConfig(str(root)),), gates=gates)
            t0 = time.perf_counter()
            catalog = read_catalog(config)
            t1 = time.perf_counter()
            renderer = SiteRenderer(catalog, config)
            refs = [ref for ref in renderer.refs() if ref[0] == "version"]
            t2 = time.perf_counter()
            for ref in refs:
                renderer.render_ref(ref)  # includes the review section (its cost is inside)
            t3 = time.perf_counter()
            known = model_metrics(catalog, "churn")
            keys = ["val_auc", "val_logloss"]
            for v in catalog.versions:
                evaluate(gates, compare_version(catalog, v, keys=keys), known)
            t4 = time.perf_counter()
            render, review = t3 - t2, t4 - t3
            print(f"{n:>9} {t1 - t0:>8.2f} {render:>23.2f} {review:>9.2f} {review / render:>13.0%}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [500, 2000])
