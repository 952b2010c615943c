"""Artifact previews in a real browser (issue 10): images load from the site, a confusion
matrix is drawn, and an HTML report in its sandbox cannot run script, nor can its copy opened
directly. Debian's Chromium driven by Playwright, as in ``test_browser.py``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from mlreport.config import Config, SourceConfig

from .browser_kit import build_in, chromium, require_browser, serve, tab
from .test_previews import MLFLOW, _run_dir

pytestmark = pytest.mark.browser

# What a report's script would do if it ran: set a global, the titles, and reach the parent.
HOSTILE_REPORT = """<!doctype html><html><head><title>Report</title>
<script>window.pwned = 1; document.title = "ran"; try { parent.document.title = "pwned" } catch (e) {}
try { top.pwned = 1 } catch (e) {}</script></head>
<body onload="document.title = 'onload ran'; try { parent.pwned = 2 } catch (e) {}">
<h1 id="report">Evaluation report</h1><img src="x" onerror="document.title = 'onerror ran'"></body></html>
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    require_browser()
    work = tmp_path_factory.mktemp("browser-previews")
    store = work / "mlruns"
    shutil.copytree(MLFLOW, store)
    run = _run_dir(store)
    (run / "artifacts" / "report" / "hostile.html").write_text(HOSTILE_REPORT)
    with serve(work / "site") as base:
        build_in(work, Config(sources=(SourceConfig(str(store)),), output="site", title="Previews", site_url=base))
        yield base, f"{base}runs/{run.name}/"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any, served: tuple[str, str]) -> Iterator[Any]:
    # plotly.min.js is 4.8 MB and the machine may be loaded: wait for elements, not the load event
    with tab(browser, served[0], timeout_ms=120_000) as t:
        yield t.page


def test_images_load_from_the_site(page: object, served: tuple[str, str]) -> None:
    base, run_page = served
    requested: list[str] = []
    page.on("response", lambda r: requested.append(r.url) if "/artifacts/" in r.url else None)  # type: ignore[attr-defined]
    page.goto(run_page, wait_until="domcontentloaded")  # type: ignore[attr-defined]
    images = page.locator("div.mlreport-preview-image img")  # type: ignore[attr-defined]
    assert images.count() == 3  # plots/loss.png (log_figure), plots/loss.svg, images/sample.png (log_image)
    for i in range(images.count()):
        img = images.nth(i)
        img.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())  # type: ignore[attr-defined]
        assert img.evaluate("img => img.naturalWidth") > 0
        assert img.evaluate("img => img.currentSrc").startswith(run_page + "artifacts/")
    assert all(u.startswith(base) for u in requested)


def test_the_confusion_matrix_is_drawn_as_a_heatmap(page: object, served: tuple[str, str]) -> None:
    page.goto(served[1], wait_until="domcontentloaded")  # type: ignore[attr-defined]
    chart = page.locator("div.mlreport-preview-heatmap div.mlreport-chart")  # type: ignore[attr-defined]
    chart.scroll_into_view_if_needed()
    page.wait_for_selector("div.mlreport-preview-heatmap .main-svg")  # type: ignore[attr-defined]
    assert page.locator("div.mlreport-preview-heatmap .heatmaplayer .hm").count() == 1  # type: ignore[attr-defined]
    labels = page.locator("div.mlreport-preview-heatmap .xtick text").all_text_contents()  # type: ignore[attr-defined]
    assert labels == ["cat", "dog", "bird"]


def test_a_sandboxed_report_cannot_run_script(page: object, served: tuple[str, str]) -> None:
    page.goto(served[1], wait_until="domcontentloaded")  # type: ignore[attr-defined]
    title = page.title()  # type: ignore[attr-defined]
    frame_el = page.locator('iframe[title="report/hostile.html"]')  # type: ignore[attr-defined]
    assert frame_el.get_attribute("sandbox") == ""
    frame_el.scroll_into_view_if_needed()
    frame = frame_el.element_handle().content_frame()
    frame.wait_for_selector("#report")  # the report is shown
    page.wait_for_timeout(300)  # type: ignore[attr-defined] # time for an onload or onerror to fire
    assert frame.title() == "Report"  # neither the script, the onload nor the onerror ran
    assert page.title() == title  # type: ignore[attr-defined]
    assert page.evaluate("typeof window.pwned") == "undefined"  # type: ignore[attr-defined]


def test_the_report_copy_opened_directly_runs_no_script(page: object, served: tuple[str, str]) -> None:
    page.goto(served[1] + "artifacts/report/hostile.html", wait_until="domcontentloaded")  # type: ignore[attr-defined]
    page.wait_for_selector("#report")  # type: ignore[attr-defined]
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    assert page.title() == "Report"  # type: ignore[attr-defined]
    assert page.evaluate("typeof window.pwned") == "undefined"  # type: ignore[attr-defined]


def test_previews_fit_a_phone(browser: Any, served: tuple[str, str]) -> None:
    with tab(browser, served[0], timeout_ms=120_000, viewport={"width": 390, "height": 844}) as t:
        pg = t.page
        pg.goto(served[1], wait_until="domcontentloaded")
        chart = pg.locator("div.mlreport-preview-heatmap div.mlreport-chart")
        chart.scroll_into_view_if_needed()
        pg.wait_for_selector("div.mlreport-preview-heatmap .main-svg")  # the widest thing, once drawn
        widest = pg.evaluate(
            "Math.max(...[...document.querySelectorAll('div.mlreport-preview, div.mlreport-preview *')]"
            ".map(e => e.getBoundingClientRect().right))"
        )
    assert widest <= 390


def test_download_links_serve_the_copies(page: object, served: tuple[str, str]) -> None:
    page.goto(served[1], wait_until="domcontentloaded")  # type: ignore[attr-defined]
    links = page.locator("div.mlreport-preview a.mlreport-download")  # type: ignore[attr-defined]
    # Material's instant navigation may make links absolute: compare them resolved
    hrefs = [urljoin(served[1], links.nth(i).get_attribute("href")) for i in range(links.count())]
    assert served[1] + "artifacts/notes.txt" in hrefs and served[1] + "artifacts/eval/predictions.json" in hrefs
    for href in hrefs:
        response = page.request.get(href)  # type: ignore[attr-defined]
        assert response.status == 200, href


@pytest.fixture(scope="module")
def plots_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """dvclive's log_plot (a declared linear plot) and W&B's wandb.Plotly media, built into one site."""
    require_browser()
    work = tmp_path_factory.mktemp("browser-plots")
    data = MLFLOW.parents[1]
    sources = (SourceConfig(str(data / "dvclive")), SourceConfig(str(data / "wandb_plotly")))
    with serve(work / "site") as base:
        build_in(work, Config(sources=sources, output="site", title="Plots", site_url=base))
        yield base, work / "site"


def test_logged_plots_are_drawn_as_charts(browser: Any, plots_site: tuple[str, Path]) -> None:
    base, site = plots_site
    found = {}
    for html in sorted((site / "runs").glob("*/index.html")):
        text = html.read_text(encoding="utf-8")
        for marker in ("calibration.json", ".plotly.json"):
            if marker in text and "mlreport-preview-plot" in text:
                found[marker] = base + html.parent.relative_to(site).as_posix() + "/"
    assert set(found) == {"calibration.json", ".plotly.json"}, found
    with tab(browser, base, timeout_ms=120_000) as t:
        pg = t.page
        for marker, traces, title in (("calibration.json", 1, "Calibration"), (".plotly.json", 2, "ROC curve")):
            pg.goto(found[marker], wait_until="domcontentloaded")
            chart = pg.locator("div.mlreport-preview-plot div.mlreport-chart")
            chart.scroll_into_view_if_needed()
            pg.wait_for_selector("div.mlreport-preview-plot .main-svg")
            assert pg.locator("div.mlreport-preview-plot .scatterlayer .trace").count() == traces
            assert pg.locator("div.mlreport-preview-plot .gtitle").first.text_content() == title
