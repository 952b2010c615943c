"""The example site in a real browser: Debian's Chromium driven by Playwright.

Checks what a reader does: search, charts, lineage links, and that no request leaves the site.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlreport.config import Config, SourceConfig

from .browser_kit import CHROMIUM, CHROMIUM_ARGS, THIS_MACHINE, Tab, build_in, chromium, require_browser, serve, tab
from .conftest import ROOT

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "browser", "served"]  # other browser modules share these

pytestmark = pytest.mark.browser


def _build(work: Path, base: str | None, *sources: Path, **config: Any) -> None:
    """Build ``work/site`` from ``sources`` as a user would, from inside ``work``."""
    build_in(work, Config(sources=tuple(SourceConfig(str(s)) for s in sources), output="site", site_url=base, **config))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    work = tmp_path_factory.mktemp("browser")
    with serve(work / "site") as base:
        _build(work, base, ROOT / "site_example", title="Example")
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any, served: str) -> Iterator[Any]:
    with tab(browser, served) as t:
        yield t.page


def test_a_tab_aborts_and_reports_a_request_outside_the_site(browser: Any, served: str) -> None:
    """The guard every browser test relies on: a request elsewhere is aborted, kept and fails
    the test; one to the site passes."""
    t = Tab(browser, served)
    t.page.goto(served)
    t.page.evaluate("url => fetch(url).catch(() => null)", "http://example.invalid/x.js")
    t.page.evaluate("url => fetch(url).catch(() => null)", THIS_MACHINE + "1/elsewhere")
    with pytest.raises(AssertionError, match="requests left the site"):
        t.close()
    assert t.outside == ["http://example.invalid/x.js", THIS_MACHINE + "1/elsewhere"]
    assert any(u.startswith(served) for u in t.requests)


def _search(page: object, base: str, query: str) -> str:
    page.goto(base)  # type: ignore[attr-defined]
    page.click(".md-search__input")  # type: ignore[attr-defined]
    # The whole query at once, then one key event (Material searches on key events): typed key
    # by key, the list showed a prefix's answer first ('wb-run-' put wb-run-2 on top) and a
    # loaded CI machine clicked it before the full query's answer came (CI on 413bd31).
    page.fill(".md-search__input", query)  # type: ignore[attr-defined]
    page.keyboard.press("End")  # type: ignore[attr-defined]
    first = page.locator("li.md-search-result__item a").first  # type: ignore[attr-defined]
    first.wait_for(timeout=15000)
    # the run entries load second (search_index.runs.json) and may re-order the answer
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    shown = None
    while shown != (shown := first.get_attribute("href")):
        page.wait_for_timeout(300)  # type: ignore[attr-defined]
    first.click()
    page.wait_for_load_state("load")  # type: ignore[attr-defined]
    return page.url.split("#")[0].split("?")[0]  # type: ignore[attr-defined,no-any-return]


def test_search_by_model_name_lands_on_the_model(page: object, served: str) -> None:
    assert _search(page, served, "sentiment-bert") == served + "models/sentiment-bert/"


def test_search_by_parameter_value_lands_on_the_version(page: object, served: str) -> None:
    assert _search(page, served, "LogisticRegression") == served + "models/churn-classifier/1/"


def test_charts_render(page: object, served: str) -> None:
    page.goto(served + "models/churn-classifier/3/")  # type: ignore[attr-defined]
    charts = page.locator("div.mlreport-chart")  # type: ignore[attr-defined]
    assert charts.count() >= 2  # train_logloss and val_logloss share a chart (test_browser_charts.py)
    page.wait_for_selector("div.mlreport-chart .main-svg")  # type: ignore[attr-defined]
    drawn = page.locator("div.mlreport-chart[data-drawn] .main-svg").count()  # type: ignore[attr-defined]
    assert drawn >= charts.count()
    # lines with points, not empty frames: three metrics, three traces
    assert page.locator("div.mlreport-chart .scatterlayer .trace").count() >= 3  # type: ignore[attr-defined]


def test_charts_render_after_instant_navigation(page: object, served: str) -> None:
    page.goto(served + "models/churn-classifier/")  # type: ignore[attr-defined]
    page.click("table.mlreport-table td:first-child a:text-is('3')")  # type: ignore[attr-defined]
    page.wait_for_url(served + "models/churn-classifier/3/")  # type: ignore[attr-defined]
    page.wait_for_selector("div.mlreport-chart[data-drawn] .main-svg")  # type: ignore[attr-defined]


def test_lineage_nodes_link_to_existing_pages(page: object, served: str) -> None:
    page.goto(served + "models/churn-classifier/3/")  # type: ignore[attr-defined]
    hrefs = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "svg.mlreport-lineage a",
        "els => els.map(e => new URL(e.getAttributeNS('http://www.w3.org/1999/xlink', 'href'), location.href).href)",
    )
    kinds = page.eval_on_selector_all("svg.mlreport-lineage g.mlr-node", "els => els.map(e => e.getAttribute('class'))")  # type: ignore[attr-defined]
    assert any("mlr-dataset" in k for k in kinds) and any("mlr-run" in k for k in kinds)
    assert any("mlr-current" in k for k in kinds)
    assert len(hrefs) >= 3
    for href in hrefs:
        if not href.startswith(served):
            continue
        response = page.request.get(href)  # type: ignore[attr-defined]
        assert response.status == 200, href


def test_index_table_sorts_and_filters(page: object, served: str) -> None:
    page.goto(served + "datasets/")  # type: ignore[attr-defined]
    rows = page.locator("table.mlreport-table tbody tr")  # type: ignore[attr-defined]
    total = rows.count()
    assert total == 7
    page.fill("input.mlreport-filter", "churn")  # type: ignore[attr-defined]
    visible = page.locator("table.mlreport-table tbody tr:visible").count()  # type: ignore[attr-defined]
    assert 0 < visible < total
    page.fill("input.mlreport-filter", "")  # type: ignore[attr-defined]
    page.click("table.mlreport-table th:has-text('Dataset')")  # type: ignore[attr-defined]
    names = page.eval_on_selector_all(
        "table.mlreport-table tbody tr td:first-child", "els => els.map(e => e.textContent.trim().toLowerCase())"
    )  # type: ignore[attr-defined]
    assert names == sorted(names)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One site from four formats: MLflow, W&B, Hugging Face and DVC."""
    require_browser()
    work = tmp_path_factory.mktemp("mixed")
    data = ROOT / "tests" / "data"
    with serve(work / "site") as base:
        _build(
            work,
            base,
            ROOT / "site_example",
            data / "wandb" / "offline",
            data / "hf" / "full",
            data / "dvc" / "pipeline",
        )
        yield base


@pytest.mark.parametrize(
    ("query", "page"),
    [
        ("wb-run-1", "runs/alpha001/"),  # a W&B run, by its display name
        ("bert-tiny-mrpc", "models/bert-tiny-mrpc/"),  # a Hugging Face model-index name
        ("workspace", "runs/workspace/"),  # the DVC project's work-tree state
        ("LogisticRegression", "models/churn-classifier/1/"),  # MLflow, next to the others
    ],
)
def test_search_reaches_every_format(browser: Any, mixed: str, query: str, page: str) -> None:
    with tab(browser, mixed) as t:
        assert _search(t.page, mixed, query) == mixed + page
