"""The review on the built site: the comparison section, gate badges, the timeline."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from mlreport.cli import main

from .conftest import ROOT

REVIEW = ROOT / "tests" / "review_data"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("review-site") / "site"
    here = Path.cwd()
    try:
        os.chdir(out.parent)
        assert main(["build", "-c", str(REVIEW / "mlreport.yml"), "-o", str(out), "-q"]) == 0
    finally:
        os.chdir(here)
    return out


def _rows(html: str) -> dict[str, str]:
    """The comparison table's rows: metric -> verdict class and text."""
    section = html.split('<div class="mlreport-comparison">', 1)[1].split("</div>\n<h2", 1)[0]
    out = {}
    for row in re.findall(r"<tr><td>(.*?) </td>(.*?)</tr>", section):
        verdict = re.search(r'class="mlr-verdict (mlr-\w+)">([^<]*)<', row[1])
        if verdict:
            out[row[0]] = f"{verdict.group(1)} {verdict.group(2)}"
    return out


def test_version_page_deltas_point_the_way_of_each_goal(site: Path) -> None:
    v4 = (site / "models" / "churn-classifier" / "4" / "index.html").read_text()
    assert '<h2 id="compared-with-champion-v2">Compared with @champion (v2)' in v4
    # val_auc (max) went down: worse; val_logloss (min) went up: worse; train_time_s (min) down: better
    assert _rows(v4) == {
        "val_auc": "mlr-worse ▼ worse",
        "val_logloss": "mlr-worse ▼ worse",
        "train_time_s": "mlr-better ▲ better",
    }
    v3 = (site / "models" / "churn-classifier" / "3" / "index.html").read_text()
    assert _rows(v3) == {
        "val_auc": "mlr-better ▲ better",
        "val_logloss": "mlr-better ▲ better",
        "train_time_s": "mlr-worse ▼ worse",
    }
    # the badges, one per gate
    assert re.findall(r'class="mlr-gate (mlr-gate-\w+)"[^>]*>([^<]*)<', v4) == [
        ("mlr-gate-fail", "✗ val_auc ≥ 0.86"),
        ("mlr-gate-fail", "✗ val_logloss at most 2% worse than the baseline"),
    ]
    # neighbours and the compare page with both versions chosen
    assert '<a class="mlr-prev" href="../3/">← previous: v3</a>' in v4
    assert '<a class="mlr-next" href="../5/">next: v5 →</a>' in v4
    assert 'href="../compare/#versions=2,4&amp;baseline=2"' in v4


def test_the_champion_compares_with_the_version_before_it(site: Path) -> None:
    v2 = (site / "models" / "churn-classifier" / "2" / "index.html").read_text()
    assert "Compared with v1" in v2
    assert "Baseline: the previous version v1 (this version holds @champion)." in v2


def test_no_baseline_is_said_not_invented(site: Path) -> None:
    fraud = (site / "models" / "fraud-detector" / "2" / "index.html").read_text()
    assert "No baseline: fraud-detector has no @champion; pass --against to choose one" in fraud
    assert _rows(fraud) == {}


def test_indexes_show_the_gates(site: Path) -> None:
    models = (site / "models" / "index.html").read_text()
    assert "<th>Gates </th>" in models
    assert "v5: " in models and "✓ 2/2 pass" in models
    versions = (site / "models" / "churn-classifier" / "versions.csv").read_text()
    assert versions.splitlines()[0].split(",")[4:8] == ["val_auc", "val_logloss", "train_time_s", "Gates"]


def test_model_and_alias_pages_show_the_history(site: Path) -> None:
    alias = (site / "models" / "churn-classifier" / "@champion" / "index.html").read_text()
    assert (
        '<p class="mlreport-timeline"><strong>@champion</strong>: held by <a href="../2/">v2</a> (history starts here)</p>'
        in alias
    )
    model = (site / "models" / "churn-classifier" / "index.html").read_text()
    assert "<strong>stage production</strong>: held by" in model


def test_an_incremental_build_redraws_a_comparison_when_the_baseline_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_review_history import write_store

    store = tmp_path / "store"
    write_store(store, champion=1)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")
    assert main(["build", str(store), "-o", "site", "-q"]) == 0
    page = tmp_path / "site" / "models" / "churn-classifier" / "3" / "index.html"
    assert "Compared with @champion (v1)" in page.read_text()
    # only the champion's own record changes: v3's page must still be drawn again
    v1 = store / "v1.mlreport.yaml"
    v1.write_text(v1.read_text().replace("val_auc: 0.81", "val_auc: 0.99"))
    assert main(["build", str(store), "-o", "site", "-q"]) == 0
    assert "<td>0.99 </td>" in page.read_text() and "mlr-worse" in page.read_text()
    # and the alias moving redraws the comparison and the timeline
    write_store(store, champion=2)
    assert main(["build", str(store), "-o", "site", "-q"]) == 0
    assert "Compared with @champion (v2)" in page.read_text()
    alias = (tmp_path / "site" / "models" / "churn-classifier" / "@champion" / "index.html").read_text()
    assert "held by" in alias and "before that" in alias
