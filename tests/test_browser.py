"""The example site in a real browser: Debian's Chromium driven by Playwright.

Checks what a reader does: search, charts, lineage links, and that no request leaves the site.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mlreport.config import Config, SourceConfig
from mlreport.site import build_site

from .conftest import ROOT

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


def _require_browser() -> None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        reason = "playwright is not installed"
    else:
        if Path(CHROMIUM).is_file():
            return
        reason = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_browser()
    work = tmp_path_factory.mktemp("browser")
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(work / "site")))
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    build_site(
        Config(sources=(SourceConfig(str(ROOT / "site_example")),), output="site", title="Example", site_url=base)
    )
    mp.undo()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(served: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object, served: str) -> Iterator[object]:
    context = browser.new_context()  # type: ignore[attr-defined]
    pg = context.new_page()
    outside: list[str] = []

    def guard(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(served) or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            outside.append(url)
            route.abort()  # type: ignore[attr-defined]

    pg.route("**/*", guard)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert outside == [], f"requests left the site: {outside}"
    assert errors == [], f"script errors: {errors}"


def _search(page: object, base: str, query: str) -> str:
    page.goto(base)  # type: ignore[attr-defined]
    page.click(".md-search__input")  # type: ignore[attr-defined]
    page.keyboard.type(query)  # type: ignore[attr-defined] # Material searches on key events
    first = page.locator("li.md-search-result__item a").first  # type: ignore[attr-defined]
    first.wait_for(timeout=15000)
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
    _require_browser()
    work = tmp_path_factory.mktemp("mixed")
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(work / "site")))
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    data = ROOT / "tests" / "data"
    sources = (ROOT / "site_example", data / "wandb" / "offline", data / "hf" / "full", data / "dvc" / "pipeline")
    build_site(Config(sources=tuple(SourceConfig(str(s)) for s in sources), output="site", site_url=base))
    mp.undo()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield base
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("query", "page"),
    [
        ("wb-run-1", "runs/alpha001/"),  # a W&B run, by its display name
        ("bert-tiny-mrpc", "models/bert-tiny-mrpc/"),  # a Hugging Face model-index name
        ("workspace", "runs/workspace/"),  # the DVC project's work-tree state
        ("LogisticRegression", "models/churn-classifier/1/"),  # MLflow, next to the others
    ],
)
def test_search_reaches_every_format(browser: object, mixed: str, query: str, page: str) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    pg = context.new_page()
    outside: list[str] = []
    pg.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(mixed)
            else (outside.append(route.request.url), route.abort())
        ),
    )
    try:
        assert _search(pg, mixed, query) == mixed + page
    finally:
        context.close()
    assert outside == []
