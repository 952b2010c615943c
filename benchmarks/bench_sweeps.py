"""What a sweep costs an experiment page: the parallel coordinates, the scatter and the best runs'
curves, in bytes of HTML and CPU seconds, next to the page's runs table (its baseline, same runs,
same process) and next to the sweep drawn without the 1,000-run sample. Usage:
``python benchmarks/bench_sweeps.py [RUNS ...]`` (default 1000 10000)."""

from __future__ import annotations

import math
import random
import sys
import time
from array import array
from collections.abc import Callable

from markupsafe import Markup

from mlreport.catalog import make_catalog
from mlreport.config import Config
from mlreport.model import Metric, MetricHistory, Origin, Run
from mlreport.render.base import RenderBase
from mlreport.render.charts import figure_div
from mlreport.render.curves import best_runs_chart
from mlreport.render.sweeps import detect_sweep, parallel_figure, scatter_figure, sweep_section

ORIGIN = Origin("bench", "mlruns/1", "mlflow")


def make_runs(n: int) -> list[Run]:
    rng = random.Random(7)
    runs = []
    for i in range(n):
        lr = 10 ** rng.uniform(-5, -1)
        params = {
            "learning_rate": f"{lr:.3g}",
            "batch_size": str(rng.choice([16, 32, 64, 128])),
            "optimizer": rng.choice(["adam", "adamw", "sgd"]),
            "dropout": f"{rng.uniform(0, 0.5):.2f}",
            "layers": str(rng.randint(2, 12)),
            "warmup": str(rng.choice([0, 100, 500])),
            "weight_decay": f"{rng.uniform(0, 0.1):.3f}",
            "seed": str(rng.randint(0, 4)),
        }
        floor = 0.2 + abs(math.log10(lr) + 3) / 10 + rng.uniform(0, 0.1)
        values = [floor + math.exp(-s / 10) for s in range(50)]
        steps = list(range(50))
        history = MetricHistory(array("q", steps), array("q", [-1] * 50), array("d", values))
        metrics = (Metric.from_history("train_loss", history), Metric.from_history("val_loss", history))
        runs.append(
            Run(f"r{i:06}", f"r{i:06}", f"trial-{i}", ORIGIN, experiment_key="e", params=params, metrics=metrics)
        )
    return runs


def cpu(fn: Callable[..., object], *args: object) -> tuple[float, object]:
    t = time.process_time()
    out = fn(*args)
    return time.process_time() - t, out


def main(sizes: list[int]) -> None:
    print(
        f"{'runs':>7} {'table s':>8} {'sweep s':>8} {'curves s':>9} {'sweep/table':>12}"
        f" {'sweep KB':>9} {'curves KB':>10} {'unsampled KB':>13}"
    )
    for n in sizes:
        runs = make_runs(n)
        base = RenderBase(make_catalog(runs=runs), Config())
        t_table, _ = cpu(base.runs_rows, "experiments/e/", runs, False)
        t_sweep, sweep = cpu(sweep_section, base, "experiments/e/", runs)
        t_curves, curves = cpu(best_runs_chart, base, runs)
        assert isinstance(sweep, Markup) and isinstance(curves, Markup)
        full = detect_sweep(runs, "val_loss", "min", max_runs=n)
        assert full is not None
        unsampled = len(str(figure_div(parallel_figure(full)))) + len(str(figure_div(scatter_figure(full))))
        print(
            f"{n:>7} {t_table:>8.2f} {t_sweep:>8.2f} {t_curves:>9.3f} {t_sweep / t_table:>12.2f}"
            f" {len(sweep) / 1000:>9.0f} {len(curves) / 1000:>10.0f} {unsampled / 1000:>13.0f}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000])
