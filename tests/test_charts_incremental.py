"""Pages whose charts draw other records' histories must change their input digest when one of
those histories changes, even when no final, minimum, maximum or count moves (a point in the
middle): the model page (one metric across versions), the experiment page (the best runs'
curves), a parent run's page (its best children). Otherwise an incremental build would keep the
old curve (engine/deps.py names those histories)."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.engine.deps import PageInputs
from mlreport.render.pages import SiteRenderer

from .conftest import DATA, ROOT

V3 = DATA / "mlflow" / "v3_file"
EXP = "716778322394665320"
RUN = "806aa75703714a4ca086ab79bf1391ba"  # the source run of fixture-model v1


def _digests(store: Path, tmp: Path, refs: list[tuple[str, str]]) -> list[str]:
    config = Config(sources=(SourceConfig(str(store)),))
    catalog = read_catalog(config, history_dir=tmp)
    inputs = PageInputs(SiteRenderer(catalog, config), "g")
    try:
        return [inputs.digest(ref) for ref in refs]
    finally:
        inputs.close()


def test_a_changed_point_inside_a_history_changes_the_pages_that_chart_it(tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(V3 / "mlruns", store)
    refs = [("model", "fixture model"), ("experiment", f"exp:{EXP}")]
    before = _digests(store, tmp_path / "h1", refs)
    loss = store / EXP / RUN / "metrics" / "loss"
    loss.write_text(loss.read_text().replace(" 0.3854 1", " 0.3855 1"))  # final, min, max, count unchanged
    after = _digests(store, tmp_path / "h2", refs)
    assert before[0] != after[0], "the model page's curves across versions draw that point"
    assert before[1] != after[1], "the experiment page's best runs' curves draw that point"


def test_a_parent_runs_page_depends_on_its_best_childrens_histories(tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(ROOT / "site_example" / "mlruns", store)
    config = Config(sources=(SourceConfig(str(store)),))
    catalog = read_catalog(config, history_dir=tmp_path / "h1")
    parent = next(r for r in catalog.runs if r.name == "lgbm-sweep")
    child = next(r for r in catalog.runs if r.name == "lgbm-trial-4")  # the best by val_mae
    exp_dir = next(p for p in store.iterdir() if (p / child.id).is_dir())
    ref = ("run", parent.key)
    before = _digests(store, tmp_path / "h1", [ref])
    metric = exp_dir / child.id / "metrics" / "val_mae"
    lines = metric.read_text().splitlines(keepends=True)
    ts, value, step = lines[3].split()
    lines[3] = f"{ts} {float(value) + 1e-6!r} {step}\n"
    metric.write_text("".join(lines))
    assert _digests(store, tmp_path / "h2", [ref]) != before
