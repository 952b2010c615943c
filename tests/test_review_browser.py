"""The review in a real browser: choosing versions on the compare page (the URL reproduces the
view after a reload, one trace per chosen version), and the colours of version-page deltas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlreport.config import load_config

from .browser_kit import build_in, chromium, require_browser, serve, tab
from .conftest import ROOT

pytestmark = pytest.mark.browser
REVIEW = ROOT / "tests" / "review_data"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    work = tmp_path_factory.mktemp("review-browser")
    with serve(work / "site") as base:
        build_in(work, load_config(REVIEW / "mlreport.yml").with_overrides(output=str(work / "site"), site_url=base))
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any, served: str) -> Iterator[Any]:
    with tab(browser, served) as t:
        yield t.page


def _chosen(page: object) -> list[str]:
    return page.eval_on_selector_all(  # type: ignore[attr-defined,no-any-return]
        ".mlr-compare-picker input[type=checkbox]:checked", "els => els.map(e => e.value)"
    )


def _traces(page: object) -> list[str]:
    return page.evaluate(  # type: ignore[attr-defined,no-any-return]
        "() => document.querySelector('.mlr-compare-chart[data-metric=val_auc]').data.map(t => t.name)"
    )


def test_choosing_versions_is_kept_in_the_url(page: object, served: str) -> None:
    url = served + "models/churn-classifier/compare/"
    page.goto(url)  # type: ignore[attr-defined]
    page.wait_for_selector(".mlr-compare-table")  # type: ignore[attr-defined]
    # by default the baseline's holder and the newest version
    assert page.evaluate("() => location.hash") == "#versions=2,5&baseline=2"  # type: ignore[attr-defined]
    assert sorted(_chosen(page)) == ["2", "5"]
    page.check('.mlr-compare-picker input[data-version="4"]')  # type: ignore[attr-defined]
    page.select_option('select[name="baseline"]', "4")  # type: ignore[attr-defined]
    assert page.evaluate("() => location.hash") == "#versions=2,4,5&baseline=4"  # type: ignore[attr-defined]
    page.reload()  # type: ignore[attr-defined]
    page.wait_for_selector(".mlr-compare-table")  # type: ignore[attr-defined]
    assert sorted(_chosen(page)) == ["2", "4", "5"]
    assert page.eval_on_selector("select[name=baseline]", "s => s.value") == "4"  # type: ignore[attr-defined]
    # the overlaid chart: one trace per chosen version
    assert _traces(page) == ["v2", "v4", "v5"]
    headers = page.eval_on_selector_all(  # type: ignore[attr-defined]
        ".mlr-compare-table thead th[data-version]", "els => els.map(e => e.dataset.version)"
    )
    assert headers == ["2", "4", "5"]
    # a link with a state opens that state: any version, not only the newest
    page.goto(url + "#versions=1,3&baseline=1")  # type: ignore[attr-defined]
    page.reload()  # type: ignore[attr-defined]
    page.wait_for_selector(".mlr-compare-table")  # type: ignore[attr-defined]
    assert sorted(_chosen(page)) == ["1", "3"]
    assert _traces(page) == ["v3"]  # v1 logged no history
    # deltas against the baseline v1 and the best value by goal (val_logloss: lower is better)
    row = page.eval_on_selector(  # type: ignore[attr-defined]
        'tr[data-metric="val_logloss"]',
        "tr => Array.from(tr.querySelectorAll('td')).map(td => [td.className, td.textContent])",
    )
    assert row == [["mlr-num", "0.362"], ["mlr-num mlr-best", "0.296 ▲ -0.066"]]


def _colour(page: object, metric: str) -> str:
    return page.evaluate(  # type: ignore[attr-defined,no-any-return]
        """m => {
          const row = Array.from(document.querySelectorAll('.mlreport-comparison tr'))
            .find(tr => tr.cells[0] && tr.cells[0].textContent.trim() === m);
          const v = row.querySelector('.mlr-verdict');
          return v.textContent + ' ' + getComputedStyle(v).color;
        }""",
        metric,
    )


def test_version_page_deltas_point_the_right_way(page: object, served: str) -> None:
    page.goto(served + "models/churn-classifier/4/")  # type: ignore[attr-defined]
    red, green = "rgb(198, 40, 40)", "rgb(46, 125, 50)"
    assert _colour(page, "val_auc") == f"▼ worse {red}"  # a max metric that went down
    assert _colour(page, "val_logloss") == f"▼ worse {red}"  # a min metric that went up
    assert _colour(page, "train_time_s") == f"▲ better {green}"  # a min metric that went down
    page.click("a.mlr-compare")  # type: ignore[attr-defined]
    page.wait_for_selector(".mlr-compare-table")  # type: ignore[attr-defined]
    assert sorted(_chosen(page)) == ["2", "4"]
    assert Path(page.evaluate("() => location.pathname")).name == "compare"  # type: ignore[attr-defined]
