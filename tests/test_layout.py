"""Page layout and labels that do not need a browser (issues 8 and 10): every time says UTC,
metric tables show which way is better and why, words never break inside, Markdown in index
cells reads as text, and the version page says what its short parameter table leaves out.

The 390 px / 1400 px pass in Chromium is ``tests/test_layout_browser.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.render.page import Asset, Page
from mlreport.render.pages import render_site
from mlreport.render.tables import Cell, html_table, key_value_table, long_word, time_cell
from mlreport.render.text import fmt_goal, fmt_time, iso_time, plain_text

from .conftest import DATA, ROOT

# A date with a time of day, as any page might print it; it must say its zone.
_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d)?")


@pytest.fixture(scope="module")
def example_site() -> list[Page | Asset]:
    catalog = read_catalog(Config(sources=(SourceConfig(str(ROOT / "site_example")),)))
    return render_site(catalog, Config(title="Example"))


def _texts(items: list[Page | Asset]) -> Iterator[tuple[str, str]]:
    for item in items:
        if isinstance(item, Page):
            yield item.url, item.body
        elif item.path.endswith(".csv"):
            yield item.path, item.data.decode("utf-8")


def test_fmt_time_is_labelled_utc() -> None:
    assert fmt_time(1_764_000_000_000) == "2025-11-24 16:00 UTC"
    assert iso_time(1_764_000_000_000) == "2025-11-24T16:00:00Z"
    assert fmt_time(None) == "" and fmt_time(10**20) == ""


def test_every_time_on_every_page_and_csv_says_utc(example_site: list[Page | Asset]) -> None:
    seen = 0
    for where, text in _texts(example_site):
        for match in _TIME.finditer(text):
            seen += 1
            after = text[match.end() : match.end() + 12]
            # an ISO time in a datetime attribute ends in Z; every shown time ends in " UTC"
            assert after.startswith((" UTC", "Z")), (
                f"{where}: time without a zone: {text[match.start() : match.end() + 12]!r}"
            )
    assert seen > 50  # the example has times on every family: the check ran on something


def test_time_cell_is_one_time_element_sorted_by_value() -> None:
    cell = time_cell(1_764_000_000_000)
    assert cell.text == "2025-11-24 16:00 UTC" and cell.sort == 1_764_000_000_000
    assert str(cell.html) == '<time class="mlr-time" datetime="2025-11-24T16:00:00Z">2025-11-24 16:00 UTC</time>'
    assert time_cell(None) == Cell("")


def test_metric_table_shows_goal_and_where_it_came_from() -> None:
    source = SourceConfig(str(DATA / "mlflow" / "v3_file"))
    catalog = read_catalog(Config(sources=(source,), metric_goals={"final_acc": "min"}))
    pages = {p.url: p for p in render_site(catalog, Config(title="t")) if isinstance(p, Page)}
    body = pages["models/fixture-model/1/"].body
    assert "<th>Goal </th><th>Goal from </th>" in body
    # loss: the vocabulary says lower; final_acc: the config says lower (against the name)
    assert "[&#34;loss&#34;],[&#34;▼ lower is better&#34;],[&#34;name vocabulary&#34;]" in body
    assert "[&#34;final_acc&#34;],[&#34;▼ lower is better&#34;],[&#34;metric_goals in mlreport.yml&#34;]" in body
    assert "[&#34;eval_acc&#34;],[&#34;▲ higher is better&#34;],[&#34;name vocabulary&#34;]" in body
    # the key metrics say it too, with the source in the tooltip
    assert 'title="▼ lower is better (metric_goals in mlreport.yml)">▼ lower is better</span>' in body
    run_page = next(p for u, p in pages.items() if u.startswith("runs/") and u != "runs/" and "final_acc" in p.body)
    assert "<th>Goal </th><th>Goal from </th>" in run_page.body


def test_fmt_goal_words() -> None:
    assert fmt_goal("min") == "▼ lower is better"
    assert fmt_goal("max") == "▲ higher is better"


def test_version_page_says_what_the_short_parameter_table_leaves_out(example_site: list[Page | Asset]) -> None:
    pages = {p.url: p for p in example_site if isinstance(p, Page)}
    body = pages["models/churn-classifier/4/"].body
    note = re.search(r'<p class="mlreport-lede">([^<]*)</p>', body)
    assert note is not None
    # churn-classifier's versions differ in these params; v4's run has 9 params in all
    shown = re.search(
        r"Parameters<.*?</h2>\s*<p[^>]*>[^<]*</p>\s*(<table class=\"mlreport-kv\">.*?</table>)", body, re.S
    )
    assert shown is not None
    n_shown = shown.group(1).count("<tr>")
    assert note.group(1) == f"{n_shown} that differ from other versions; all 9 below"
    assert 0 < n_shown < 9


def test_key_params_note_when_nothing_differs() -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(DATA / "hf" / "full")),)))
    from mlreport.render.pages import SiteRenderer

    r = SiteRenderer(catalog, Config())
    params = {f"p{i}": str(i) for i in range(12)}
    assert r.key_params_note(params, None) == "The first 8; all 12 below"
    assert r.key_params_note({"a": "1"}, None) == "All 1"


def test_plain_text_reads_markdown_as_text() -> None:
    assert plain_text("Owned by **growth-ml**; see [the doc](https://x.example/doc).") == (
        "Owned by growth-ml; see the doc."
    )
    assert plain_text("<b>bold</b> & `code`") == "<b>bold</b> & code"
    assert plain_text(None) == ""
    long = plain_text("word " * 100, limit=50)
    assert long.endswith("…") and len(long) <= 51 and "wor…" not in long


def test_models_index_shows_descriptions_without_markdown(example_site: list[Page | Asset]) -> None:
    pages = {p.url: p for p in example_site if isinstance(p, Page)}
    body = pages["models/"].body
    assert "growth-ml" in body and "**" not in body
    csv = next(a for a in example_site if isinstance(a, Asset) and a.path == "models/models.csv")
    assert b"**" not in csv.data


def test_only_long_words_may_break() -> None:
    assert not long_word("priya.natarajan")
    assert not long_word("0.83921 2026-11-24 07:24 UTC")
    assert long_word("s3://acme-data/churn/2026-11.parquet")
    assert long_word("0e74fcc5613e4b6ba02755b1d24aef43")
    table = str(
        html_table(["a", "b"], [[Cell("priya.natarajan"), Cell("m-0e74fcc5613e4b6ba02755b1d24aef43")]], searchable=True)
    )
    assert "<td>priya.natarajan </td>" in table
    assert '<td class="mlr-long">m-0e74fcc5613e4b6ba02755b1d24aef43 </td>' in table
    rows = str(html_table(["a"], [[Cell("m-0e74fcc5613e4b6ba02755b1d24aef43")], [Cell("short")]]))
    assert "&#34;mlr-long&#34;" in rows and rows.count("mlr-long") == 1
    kv = str(key_value_table([("Source", Cell("models:/m-0e74fcc5613e4b6ba02755b1d24aef43")), ("User", Cell("a.b"))]))
    assert '<td class="mlr-long">' in kv and "<td>a.b </td>" in kv


def test_prose_cells_get_room_to_wrap() -> None:
    from mlreport.render.tables import cell_class

    assert cell_class("Gradient-boosted trees over 42 account features, retrained monthly") == "mlr-wide"
    assert cell_class("short text") is None
    assert cell_class("s3://acme-data/churn/2026-11.parquet") == "mlr-long"
    rows = str(html_table(["d"], [[Cell("Gradient-boosted trees over 42 account features, retrained monthly")]]))
    assert "&#34;mlr-wide&#34;" in rows


def test_stylesheet_never_breaks_words_inside_except_long_ones() -> None:
    css = (ROOT / "src" / "mlreport" / "render" / "assets" / "mlreport.css").read_text(encoding="utf-8")
    rules = [r for r in css.split("}") if "anywhere" in r or "break-all" in r]
    assert rules and all(".mlr-long" in r or "provenance" in r or "mlr-source" in r for r in rules), rules
    assert Path(ROOT / "src" / "mlreport" / "render" / "assets" / "mlreport.css").is_file()
