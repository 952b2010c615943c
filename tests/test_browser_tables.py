"""Runs tables in a real browser (issue 10): the column chooser, the goal-aware sort with NaN
last, the filter language and its errors, grouping, the view in the URL, the CSV of the view,
the first screen without JavaScript, and store strings that stay text.

Two sites: the example store (real MLflow) and a small hand-written manifest store with seeds,
a failed run whose loss is NaN, a run named ``<img src=x onerror=alert(1)>`` and a tag key with
quotes. The pure part of runs-table.js is tested in node (tests/test_runs_table.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlreport.config import Config, SourceConfig

from .browser_kit import THIS_MACHINE, Tab, build_in, require_browser, serve, tab
from .test_browser import browser, served

pytestmark = pytest.mark.browser

__all__ = ["browser", "served"]  # fixtures shared with test_browser.py

EVIL = "<img src=x onerror=alert(1)>"
QUOTED_TAG = 'it\'s "quoted"'
READY = "div.mlr-runs[data-ready]"


def _write_store(root: Path) -> None:
    """Two optimizers × three seeds, a failed run with a NaN loss, and hostile strings."""
    runs: list[dict[str, Any]] = []
    for opt, lr in (("adam", 0.001), ("sgd", 0.1)):
        for seed in (1, 2, 3):
            auc = round(0.8 + (0.03 if opt == "adam" else 0) + 0.01 * seed, 4)
            runs.append(
                {"name": f"{opt}-seed{seed}", "opt": opt, "lr": lr, "seed": seed, "auc": auc, "loss": 0.5 - 0.02 * seed}
            )
    runs.append({"name": "adam-nan", "opt": "adam", "lr": 0.01, "seed": 4, "loss": float("nan"), "status": "failed"})
    runs.append(
        {"name": EVIL, "opt": "rmsprop", "lr": 0.01, "seed": 1, "auc": 0.7, "loss": 0.6, "tags": {QUOTED_TAG: "yes"}}
    )
    root.mkdir(parents=True)
    for k, r in enumerate(runs):
        metrics = {"val_loss": r["loss"]} | ({"val_auc": r["auc"]} if "auc" in r else {})
        doc = {
            "mlreport_manifest": 1,
            "run": {
                "id": f"s{k + 1}",
                "name": r["name"],
                "experiment": "seeds",
                "status": r.get("status", "finished"),
                "start_time": f"2026-03-01T0{k}:00:00Z",
                "end_time": f"2026-03-01T0{k}:30:00Z",
                "user": "ci-bot",
                "tags": {"team": "growth"} | r.get("tags", {}),
            },
            "params": {"optimizer": r["opt"], "lr": r["lr"], "seed": r["seed"]},
            "metrics": metrics,
        }
        (root / f"s{k + 1}.mlreport.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def _build(work: Path, base: str | None) -> None:
    build_in(work, Config(sources=(SourceConfig(str(work / "store")),), output="site", site_url=base))


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    work = tmp_path_factory.mktemp("seeds")
    _write_store(work / "store")
    with serve(work / "site") as base:
        _build(work, base)
        yield base + "experiments/seeds/"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A tab that may reach this machine's test servers (the example site and the seeds site)
    and nothing else; script errors fail the test."""
    with tab(browser, THIS_MACHINE, accept_downloads=True) as t:
        yield t.page


def _column(pg: Any, col: str) -> list[str]:
    index = pg.eval_on_selector_all(
        "table.mlr-rt-table thead th", f"ths => ths.findIndex(th => th.getAttribute('data-col') === {col!r})"
    )
    assert index >= 0, f"{col} is not shown"
    return pg.eval_on_selector_all(  # type: ignore[no-any-return]
        "table.mlr-rt-table tbody tr", f"trs => trs.map(tr => tr.children[{index}].textContent)"
    )


def _headers(pg: Any) -> list[str]:
    return pg.eval_on_selector_all(  # type: ignore[no-any-return]
        "table.mlr-rt-table thead th", "ths => ths.map(th => th.getAttribute('data-col'))"
    )


def _open(pg: Any, url: str) -> None:
    # not "load": the experiment pages' plotly charts take seconds to draw on a busy machine,
    # and the table does not wait for them
    pg.goto(url, wait_until="domcontentloaded")
    pg.wait_for_selector(READY)


def test_column_chooser_shows_every_metric_param_and_tag(page: Any, served: str) -> None:
    _open(page, served + "experiments/churn-classifier/")
    assert "metrics.val_auc" in _headers(page)  # the experiment's primary metric, by default
    assert "tags.owner" not in _headers(page)
    page.click("details.mlr-rt-columns > summary")
    boxes = page.eval_on_selector_all("details.mlr-rt-columns input[data-col]", "els => els.map(e => e.dataset.col)")
    assert {"metrics.best_val_auc", "metrics.f1", "params.penalty", "params.search", "tags.owner", "tags.trial"} <= set(
        boxes
    )
    # MLflow's own tags that no run field shows are there too, in their own group, never by default
    legends = page.eval_on_selector_all("fieldset.mlr-rt-kind legend", "els => els.map(e => e.textContent)")
    assert legends[-1] == "System tags (1)" and "tags.mlflow.source.type" in boxes
    assert "tags.mlflow.source.type" not in _headers(page)
    page.fill("input.mlr-rt-find", "owner")
    assert page.locator("label.mlr-rt-choice:visible").count() == 1
    page.fill("input.mlr-rt-find", "")
    page.check("input[data-col='tags.owner']")
    page.uncheck("input[data-col='metrics.accuracy']")
    headers = _headers(page)
    assert "tags.owner" in headers and "metrics.accuracy" not in headers
    assert "marco.ruiz" in _column(page, "tags.owner")
    assert "tags.owner" in page.url
    page.click("button.mlr-rt-defaults")
    assert "tags.owner" not in _headers(page) and "metrics.accuracy" in _headers(page)


def test_sort_follows_the_goal_with_nan_and_blank_last(page: Any, seeds: str) -> None:
    _open(page, seeds)
    # val_loss, the metric every run has, is the default sort: lower first, the NaN last
    assert page.get_attribute("th[data-col='metrics.val_loss']", "aria-sort") == "ascending"
    assert _column(page, "run")[-1] == "adam-nan"
    page.click("th[data-col='metrics.val_loss'] button")
    assert page.get_attribute("th[data-col='metrics.val_loss']", "aria-sort") == "descending"
    assert _column(page, "run")[-1] == "adam-nan"
    page.click("th[data-col='metrics.val_auc'] button")
    assert _column(page, "run")[0] == "adam-seed3" and _column(page, "run")[-1] == "adam-nan"
    page.click("th[data-col='metrics.val_loss'] button")  # a loss: lower first
    assert page.get_attribute("th[data-col='metrics.val_loss']", "aria-sort") == "ascending"
    losses = _column(page, "metrics.val_loss")
    assert losses[-1] == "NaN" and losses[:-1] == sorted(losses[:-1], key=float)
    page.click("th[data-col='metrics.val_loss'] button")
    assert page.get_attribute("th[data-col='metrics.val_loss']", "aria-sort") == "descending"
    losses = _column(page, "metrics.val_loss")
    assert losses[-1] == "NaN" and losses[:-1] == sorted(losses[:-1], key=float, reverse=True)
    assert "▼" in page.inner_text("th[data-col='metrics.val_loss']")
    assert "lower is better" in (page.get_attribute("th[data-col='metrics.val_loss'] button", "title") or "")
    page.click("th[data-col='metrics.val_auc'] button")  # best first again: descending
    auc = _column(page, "metrics.val_auc")
    assert auc[-1] == "" and auc[:-1] == sorted(auc[:-1], key=float, reverse=True)


def test_filter_language_in_the_page(page: Any, served: str) -> None:
    _open(page, served + "experiments/churn-classifier/")
    page.fill("input.mlr-rt-filter", "val_auc > 0.89 and model = XGBClassifier")
    aucs = [float(x) for x in _column(page, "metrics.val_auc")]
    assert len(aucs) == 5 and min(aucs) > 0.89
    page.fill("input.mlr-rt-filter", "status = failed")
    assert _column(page, "run") == ["xgb-gpu-hist"]
    page.fill("input.mlr-rt-filter", "tags.team = growth-ml and (params.max_depth >= 8 or params.learning_rate < 0.05)")
    assert 0 < len(_column(page, "run")) < 13
    assert page.is_hidden("p.mlr-rt-error")
    page.fill("input.mlr-rt-filter", "val_auc > ")
    error = page.inner_text("p.mlr-rt-error")
    assert error.startswith("Filter: a value must follow '>'") and "\n" not in error
    assert len(_column(page, "run")) == 13  # a bad filter shows every row and says why
    page.fill("input.mlr-rt-filter", "nope ~ x")
    assert "there is no column 'nope'" in page.inner_text("p.mlr-rt-error")


def test_grouping_by_a_param_gives_mean_std_and_count(page: Any, seeds: str) -> None:
    _open(page, seeds)
    page.click("th[data-col='metrics.val_auc'] button")  # best first: groups by their mean
    page.select_option("select.mlr-rt-group", "params.optimizer")
    rows = page.eval_on_selector_all(
        "table.mlr-rt-table tbody tr", "trs => trs.map(tr => Array.from(tr.children, td => td.textContent))"
    )
    by = {r[0]: r for r in rows}
    assert [r[0] for r in rows] == ["adam", "sgd", "rmsprop"]  # by mean val_auc, best first
    assert by["adam"][1] == "4" and by["sgd"][1] == "3" and by["rmsprop"][1] == "1"
    headers = page.eval_on_selector_all("table.mlr-rt-table thead th", "ths => ths.map(th => th.textContent)")
    auc = headers.index(next(h for h in headers if h.startswith("val_auc")))
    assert by["adam"][auc] == "0.850 ± 0.010 (n=3)"  # 0.84, 0.85, 0.86; the NaN run has no val_auc
    assert by["sgd"][auc] == "0.820 ± 0.010"
    assert "in 3 groups by optimizer" in page.inner_text("p.mlr-rt-count")
    page.click("button.mlr-rt-show:text-is('sgd')")  # a group's runs
    assert sorted(_column(page, "run")) == ["sgd-seed1", "sgd-seed2", "sgd-seed3"]
    assert page.input_value("input.mlr-rt-filter") == "params.optimizer = sgd"


def test_view_round_trips_through_the_url(browser: Any, page: Any, seeds: str) -> None:
    _open(page, seeds)
    page.fill("input.mlr-rt-filter", "optimizer != sgd")
    page.click("th[data-col='params.lr'] button")
    page.click("details.mlr-rt-columns > summary")
    escaped = QUOTED_TAG.replace('"', '\\"')
    page.check(f'input[data-col="tags.{escaped}"]')
    page.uncheck("input[data-col='user']")
    link = page.url
    view = (_headers(page), _column(page, "run"), page.inner_text("p.mlr-rt-count"))
    with tab(browser, THIS_MACHINE) as t:
        other = t.page
        _open(other, link)
        assert (_headers(other), _column(other, "run"), other.inner_text("p.mlr-rt-count")) == view
        assert other.input_value("input.mlr-rt-filter") == "optimizer != sgd"
        assert other.get_attribute("th[data-col='params.lr']", "aria-sort") == "ascending"
        # and a grouped view
        other.select_option("select.mlr-rt-group", "params.seed")
        grouped = other.url
        _open(page, grouped)
        assert page.input_value("select.mlr-rt-group") == "params.seed"


def test_csv_download_is_the_view(page: Any, seeds: str, tmp_path: Path) -> None:
    _open(page, seeds)
    page.fill("input.mlr-rt-filter", "optimizer = adam")
    page.click("th[data-col='metrics.val_loss'] button")
    with page.expect_download() as info:
        page.click("button.mlr-rt-csv")
    path = tmp_path / "view.csv"
    info.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    head = rows[0]
    shown = _headers(page)
    assert len(head) == len(shown) and head[0] == "Run" and "metric: val_loss" in head
    assert [r[0] for r in rows[1:]] == _column(page, "run")
    assert rows[-1][head.index("metric: val_loss")] == "NaN"
    assert info.value.suggested_filename == "runs-view.csv"


def test_first_screen_without_javascript(browser: Any, served: str) -> None:
    with tab(browser, served, java_script_enabled=False) as t:
        pg = t.page
        pg.goto(served + "runs/", wait_until="domcontentloaded")
        rows = pg.locator("table.mlr-runs-static tbody tr")
        assert rows.count() == 20
        note = pg.inner_text("p.mlr-runs-note")
        assert note.startswith("The top 20 of 29 runs by val_auc, higher is better (name vocabulary); every run")
        href = pg.get_attribute("p.mlr-runs-note a", "href")
        assert href == "runs.csv"
        assert pg.request.get(served + "runs/runs.csv").status == 200
        first = pg.inner_text("table.mlr-runs-static tbody tr:first-child td:first-child")
        assert first and pg.locator("table.mlr-runs-static tbody tr:first-child td:first-child a").count() == 1


def test_only_one_page_of_rows_is_drawn(page: Any, served: str) -> None:
    _open(page, served + "runs/")
    page.select_option("div.mlr-rt-pager select", "25")
    assert page.locator("table.mlr-rt-table tbody tr").count() == 25
    first = _column(page, "run")
    page.click("button.mlr-rt-next")
    rest = _column(page, "run")
    assert len(rest) == 4 and not set(rest) & set(first)
    assert page.inner_text("span.mlr-rt-page") == "26–29 of 29"


def test_store_strings_stay_text(page: Any, seeds: str) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _open(page, seeds)
    assert page.locator("div.mlr-runs img").count() == 0
    assert EVIL in _column(page, "run")
    page.fill("input.mlr-rt-filter", f'tags."{QUOTED_TAG.replace(chr(34), chr(92) + chr(34))}" = yes')
    assert _column(page, "run") == [EVIL]
    page.click("details.mlr-rt-columns > summary")
    labels = page.eval_on_selector_all("label.mlr-rt-choice", "els => els.map(e => e.textContent.trim())")
    assert QUOTED_TAG in labels
    page.select_option("select.mlr-rt-group", "params.optimizer")
    page.click("button.mlr-rt-show:text-is('rmsprop')")
    assert _column(page, "run") == [EVIL]
    _open(page, seeds.replace("experiments/seeds/", "runs/"))
    assert page.locator("img").count() == 0
    assert dialogs == []


def test_a_failed_load_leaves_the_first_screen_and_says_why(browser: Any, seeds: str) -> None:
    with tab(browser, THIS_MACHINE) as t:
        pg = t.page
        pg.route("**/runs.js", lambda route: route.abort())  # the last route added is asked first
        pg.goto(seeds, wait_until="domcontentloaded")
        pg.wait_for_selector("div.mlr-runs[data-failed]")
        assert pg.locator("table.mlr-runs-static tbody tr").count() == 8
        assert "could not load runs.js (missing or refused)" in pg.inner_text("div.mlr-runs p.mlr-rt-error")


@pytest.fixture(scope="module")
def seeds_on_disk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds site built as a user builds it to open from a folder (no site_url)."""
    require_browser()
    work = tmp_path_factory.mktemp("seeds-disk")
    _write_store(work / "store")
    _build(work, None)
    return work / "site"


def test_the_interactive_table_works_from_file_urls(browser: Any, seeds_on_disk: Path) -> None:
    """Opened from disk (file://, where fetch is refused) the rows load through their data
    script: the table is interactive, sorts NaN last and filters, with no request elsewhere."""
    t = Tab(browser, "file://")
    pg = t.page
    try:
        for page_file in ("experiments/seeds/index.html", "runs/index.html"):
            pg.goto((seeds_on_disk / page_file).as_uri(), wait_until="domcontentloaded")
            pg.wait_for_selector(READY)
            assert pg.locator("div.mlr-runs[data-failed]").count() == 0
            assert pg.locator("table.mlr-rt-table tbody tr").count() == 8
        assert _column(pg, "run")[-1] == "adam-nan", "NaN last in the default (best first) order"
        pg.fill("input.mlr-rt-filter", "optimizer = sgd and val_auc > 0.815")
        pg.wait_for_function("document.querySelectorAll('table.mlr-rt-table tbody tr').length === 2")
        assert sorted(_column(pg, "run")) == ["sgd-seed2", "sgd-seed3"]
    finally:
        t.context.close()
    # Material's search worker asks for search/search_index.js on file:// (its offline plugin
    # writes one; mlreport's sites do not use it): the theme's search, not the runs table
    assert t.outside == [] and [e for e in t.errors if "search/search_index.js" not in e] == []


def test_the_table_comes_up_after_instant_navigation(page: Any, served: str) -> None:
    page.goto(served + "experiments/", wait_until="domcontentloaded")
    page.click("table.mlreport-table a:text-is('sentiment-finetune')")
    page.wait_for_url(served + "experiments/sentiment-finetune/")
    page.wait_for_selector(READY)
    assert len(_column(page, "run")) == 6
    page.fill("input.mlr-rt-filter", "optimizer = adamw")
    assert len(_column(page, "run")) == 5
    assert "runs.q=optimizer" in page.url
