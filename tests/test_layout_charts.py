"""Parallel coordinates at phone width (issue 10): a sweep of 9 params (10 axes, long category
names, a log-scaled learning rate, small and large numbers) drawn in Chromium at 390 px and
1400 px. No tick label, range label or axis heading may overlap another (turned headings are
compared as the turned shapes they are, not as boxes), none may stick out of the chart, and
every axis keeps at least two tick labels. The check is shown to find the overlaps that the
chart had before ``mlreport.js`` fitted its ticks and headings to the gap between axes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlreport.config import Config, SourceConfig

from .browser_kit import THIS_MACHINE, build_in, require_browser, serve, tab
from .browser_kit import chromium as launch
from .conftest import ROOT
from .test_browser import served

__all__ = ["served"]  # the example site, shared with test_browser.py

pytestmark = pytest.mark.browser

OVERLAP_JS = (Path(__file__).parent / "parcoords_overlap.js").read_text(encoding="utf-8")
ARTEFACTS = ROOT / "tests" / "artefacts" / "layout"


def _write_sweep(root: Path) -> None:
    rnd = random.Random(7)
    root.mkdir(parents=True)
    for k in range(40):
        params = {
            "learning_rate": 10 ** rnd.uniform(-5, -1),
            "optimizer": rnd.choice(["adamw_torch_fused", "sgd_nesterov_momentum", "adafactor"]),
            "batch_size": rnd.choice([16, 32, 64, 128, 256]),
            "weight_decay": round(rnd.uniform(0, 0.3), 5),
            "warmup_ratio": round(rnd.uniform(0, 0.2), 4),
            "dropout": round(rnd.uniform(0.05, 0.5), 3),
            "scheduler": rnd.choice(["cosine_with_restarts", "linear", "polynomial_decay"]),
            "max_seq_length": rnd.choice([128, 256, 512, 1024]),
            "label_smoothing_factor": round(rnd.uniform(0, 0.2), 3),
        }
        doc = {
            "mlreport_manifest": 1,
            "run": {
                "id": f"r{k}",
                "name": f"trial-{k:02d}",
                "experiment": "wide-sweep",
                "status": "finished",
                "start_time": f"2026-03-01T{k % 24:02d}:00:00Z",
                "end_time": f"2026-03-01T{k % 24:02d}:30:00Z",
            },
            "params": params,
            "metrics": {"eval_accuracy": round(rnd.uniform(0.7, 0.95), 5)},
        }
        (root / f"r{k}.mlreport.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")


@pytest.fixture(scope="module")
def sweep_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    work = tmp_path_factory.mktemp("wide-sweep")
    _write_sweep(work / "store")
    with serve(work / "site") as base:
        build_in(work, Config(sources=(SourceConfig(str(work / "store")),), output="site", site_url=base))
        yield base


@pytest.fixture(scope="module")
def chromium(sweep_site: str) -> Iterator[Any]:
    with launch() as b:
        yield b


def _tab(chromium: Any, width: int) -> Any:
    """A tab that may reach this machine's test sites (the sweep and the example) only."""
    return tab(
        chromium, THIS_MACHINE, timeout_ms=120_000, viewport={"width": width, "height": 844 if width < 600 else 900}
    )


def _labels(chromium: Any, url: str, width: int, shot: str | None = None) -> dict[str, Any]:
    with _tab(chromium, width) as t:
        page = t.page
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector("div.mlreport-chart .parcoords g.y-axis")
        page.wait_for_timeout(300)  # plotly lays the labels out after the axes
        found: dict[str, Any] = page.evaluate(OVERLAP_JS)
        ticks = page.eval_on_selector_all(
            "div.mlreport-chart .parcoords g.y-axis",
            "axes => axes.map(a => [...a.querySelectorAll('.tick text, .axis-extent-text')]"
            ".filter(t => t.textContent.trim()).length)",
        )
        found["ticks_per_axis"] = ticks
        if shot:
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            page.locator("div.mlreport-chart").first.screenshot(path=str(ARTEFACTS / shot), type="jpeg", quality=60)
    return found


@pytest.mark.parametrize("width", [390, 1400])
def test_ten_axes_keep_their_labels_apart(chromium: Any, sweep_site: str, width: int) -> None:
    found = _labels(chromium, sweep_site + "experiments/wide-sweep/", width, f"sweep-10-axes-{width}.jpg")
    assert found["items"] > 20, found
    assert found["overlaps"] == [] and found["outside"] == [], f"at {width} px: {found}"
    assert len(found["ticks_per_axis"]) == 10 and min(found["ticks_per_axis"]) >= 2, found


def test_the_example_sweep_at_phone_width(chromium: Any, served: str) -> None:
    found = _labels(chromium, served + "experiments/churn-classifier/", 390)
    assert found["overlaps"] == [] and found["outside"] == [], found
    assert min(found["ticks_per_axis"]) >= 2, found


def test_the_check_finds_overlapping_labels(chromium: Any, sweep_site: str) -> None:
    """Plotly's own layout of the 10 axes (mlreport.js' fitting undone) overlaps at 390 px."""
    with _tab(chromium, 390) as t:
        page = t.page
        page.goto(sweep_site + "experiments/wide-sweep/", wait_until="domcontentloaded")
        page.wait_for_selector("div.mlreport-chart[data-drawn] .parcoords g.y-axis")
        page.evaluate(
            "() => { const el = document.querySelector('div.mlreport-chart[data-drawn]');"
            " const fig = JSON.parse(el.getAttribute('data-figure'));"
            " return Plotly.newPlot(el, fig.data, fig.layout); }"
        )
        page.wait_for_timeout(300)
        found = page.evaluate(OVERLAP_JS)
        assert any(o.startswith("tick") for o in found["overlaps"]), found
