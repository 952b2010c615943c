"""Charts in a real browser (issue 10): the example report embedded in a team's own MkDocs site
with instant navigation, served on loopback, driven in Debian's Chromium.

plotly.min.js is fetched only by pages that have a chart, also after instant navigation from a
page without one; sweeps draw parallel coordinates with an axis per param; train and validation
curves share a chart; at 390 px the toolbar stays hidden until a tap and never covers a title.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlreport.config import Config, SourceConfig

from .browser_kit import Tab, build_in, chromium, require_browser, serve
from .conftest import ROOT

pytestmark = pytest.mark.browser

PLOTLY = "plotly.min.js"


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The example report under ``reports/`` of a team's own docs, whose home page has no chart."""
    require_browser()
    work = tmp_path_factory.mktemp("charts")
    with serve(work / "site") as base:
        (work / "docs").mkdir()
        (work / "docs" / "index.md").write_text(
            "# Team docs\n\nOur own page. See [the churn experiment](reports/experiments/churn-classifier/).\n"
        )
        (work / "mkdocs.yml").write_text(
            f"site_name: Team\nsite_url: {base}\ntheme:\n  name: material\n  features: [navigation.instant]\n"
            "nav:\n  - Home: index.md\n"
        )
        build_in(work, Config(sources=(SourceConfig(str(ROOT / "site_example")),), output="site", title="Models"))
        yield base, work / "site"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def plotly_requests(t: Tab) -> list[str]:
    return [u for u in t.requests if u.split("?")[0].endswith(PLOTLY)]


@pytest.fixture
def tab(browser: Any, embedded: tuple[str, Path]) -> Iterator[Tab]:
    t = Tab(browser, embedded[0])
    yield t
    t.close()


@pytest.fixture
def phone(browser: Any, embedded: tuple[str, Path]) -> Iterator[Tab]:
    t = Tab(browser, embedded[0], viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    yield t
    t.close()


def _run_url(site: Path, name: str) -> str:
    """The run page of the run called ``name`` (run pages are named by id, not by name)."""
    for page in sorted((site / "reports" / "runs").glob("*/index.html")):
        if re.search(rf"<h1[^>]*>{re.escape(name)}<", page.read_text(encoding="utf-8")):
            return page.parent.relative_to(site).as_posix() + "/"
    raise AssertionError(f"no run page for {name}")


def _drawn(page: object) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => { const c = document.querySelectorAll('div.mlreport-chart');"
        " return c.length && Array.from(c).every(e => e.hasAttribute('data-drawn') && e.querySelector('.main-svg')); }",
        timeout=90_000,
    )


def test_pages_without_charts_never_request_plotly(tab: Tab, embedded: tuple[str, Path]) -> None:
    base, site = embedded
    for url in (base, base + "reports/", base + "reports/runs/", base + "reports/models/"):
        tab.page.goto(url)
        tab.page.wait_for_load_state("networkidle")
        assert tab.page.locator("div.mlreport-chart").count() == 0, url
    assert plotly_requests(tab) == []
    assert tab.page.evaluate("typeof Plotly") == "undefined"
    # and no page lists it: neither the team's page nor the generated ones
    assert PLOTLY not in (site / "index.html").read_text(encoding="utf-8")
    assert PLOTLY not in (site / "reports" / "models" / "churn-classifier" / "index.html").read_text(encoding="utf-8")


def test_charts_draw_after_instant_navigation_from_a_page_without(tab: Tab, embedded: tuple[str, Path]) -> None:
    base, _site = embedded
    tab.page.goto(base)
    tab.page.wait_for_load_state("networkidle")
    tab.page.evaluate("window.mlrSameDocument = true")  # survives only an instant navigation
    tab.page.click("article a[href*='churn-classifier']")
    tab.page.wait_for_url(base + "reports/experiments/churn-classifier/")
    _drawn(tab.page)
    assert tab.page.evaluate("window.mlrSameDocument") is True, "not an instant navigation"
    assert len(plotly_requests(tab)) == 1
    # and onwards to another page with charts: plotly is not fetched again
    tab.page.click("p.mlreport-sweep-best a")
    tab.page.wait_for_function("() => location.pathname.includes('/reports/runs/')")
    _drawn(tab.page)
    assert tab.page.evaluate("window.mlrSameDocument") is True
    assert len(plotly_requests(tab)) == 1


def test_a_sweep_draws_parallel_coordinates_with_an_axis_per_param(tab: Tab, embedded: tuple[str, Path]) -> None:
    base, _site = embedded
    tab.page.goto(base + "reports/experiments/churn-classifier/")
    _drawn(tab.page)
    charts = tab.page.locator("div.mlreport-chart")
    parallel = charts.nth(0)
    # the sweep is judged by val_auc (the sweep parent's objective param, catalog.key_metrics): 7
    # params vary across the 10 runs that log it, then the metric: 8 axes
    assert parallel.locator(".parcoords g.y-axis").count() == 8
    labels = parallel.locator(".parcoords .axis-heading text").all_text_contents()
    assert labels[-1].startswith("val_auc") and "learning_rate" in labels
    assert parallel.locator("canvas").count() >= 1  # the lines themselves
    best = tab.page.locator("p.mlreport-sweep-best")
    assert "retrain-2026-10" in best.inner_text() and "higher is better" in best.inner_text()
    # the scatter: every run a point, the best one a separate star trace; the dropdown switches params
    scatter = charts.nth(1)
    points = scatter.locator(".scatterlayer .trace").nth(0).locator("path.point").count()
    assert points == 10 and scatter.locator(".scatterlayer .trace").nth(1).locator("path.point").count() == 1
    assert scatter.locator(".updatemenu-header-group").count() == 1
    x_title = scatter.locator(".xtitle")
    assert x_title.text_content() == "colsample_bytree"
    scatter.locator(".updatemenu-header-group").click()
    scatter.locator(".updatemenu-item-text", has_text="max_depth").click()
    tab.page.wait_for_function(
        "() => document.querySelectorAll('div.mlreport-chart')[1].querySelector('.xtitle').textContent === 'max_depth'"
    )


def test_train_and_validation_curves_share_a_chart(tab: Tab, embedded: tuple[str, Path]) -> None:
    base, site = embedded
    tab.page.goto(base + _run_url(site, "bert-base-lr3e-5-ls0.1"))
    _drawn(tab.page)
    overlay = tab.page.locator("div.mlreport-chart", has=tab.page.locator(".gtitle", has_text="train_loss vs val_loss"))
    assert overlay.count() == 1
    assert overlay.locator(".scatterlayer .trace").count() == 2
    assert overlay.locator(".legend .traces").all_text_contents() == ["train_loss", "val_loss"]
    count = tab.page.locator("p.mlreport-charts-count").inner_text()
    assert count.startswith("4 of 8 metrics charted; the others are in the Metrics table")


def test_a_model_page_overlays_one_metric_across_versions(tab: Tab, embedded: tuple[str, Path]) -> None:
    base, _site = embedded
    tab.page.goto(base + "reports/models/churn-classifier/")
    _drawn(tab.page)
    overlay = tab.page.locator("div.mlreport-chart", has=tab.page.locator(".gtitle", has_text="across versions"))
    overlay = overlay.filter(has=tab.page.locator(".gtitle", has_text="by step"))
    assert overlay.count() == 1
    names = overlay.locator(".legend .traces").all_text_contents()
    assert len(names) >= 2 and all(n.startswith("v") for n in names)


def test_at_phone_width_the_toolbar_waits_for_a_tap_and_never_covers_a_title(
    phone: Tab, embedded: tuple[str, Path]
) -> None:
    base, site = embedded
    for url in (base + _run_url(site, "bert-base-lr3e-5-ls0.1"), base + "reports/experiments/churn-classifier/"):
        phone.page.goto(url)
        _drawn(phone.page)
        width = phone.page.evaluate("document.documentElement.clientWidth")
        assert phone.page.evaluate("document.documentElement.scrollWidth") <= width, url
        charts = phone.page.locator("div.mlreport-chart")
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (url, i)
        chart = charts.nth(0)
        chart.scroll_into_view_if_needed()
        tools = chart.locator(".modebar-container")
        assert tools.evaluate("e => getComputedStyle(e).opacity") == "0"
        chart.tap(position={"x": 150, "y": 150})
        phone.page.wait_for_function(
            "e => getComputedStyle(e).opacity === '1'", arg=tools.element_handle(), timeout=5000
        )
        bar = chart.locator(".modebar").bounding_box()
        title = chart.locator(".gtitle").bounding_box()
        assert bar is not None and title is not None
        overlap = not (
            bar["x"] + bar["width"] <= title["x"]
            or title["x"] + title["width"] <= bar["x"]
            or bar["y"] + bar["height"] <= title["y"]
            or title["y"] + title["height"] <= bar["y"]
        )
        assert not overlap, (url, bar, title)
