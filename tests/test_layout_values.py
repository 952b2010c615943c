"""Long values on pages (issue 11, fuzz finding F6): a megabyte param, tag, note, metric name or
artifact path is cut for the page, with a note, and its full text is a file beside the page
(``values/<sha256>.txt``), the same whatever the order pages are rendered in."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
import yaml

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.render.page import Asset, Page
from mlreport.render.pages import SiteRenderer, render_site
from mlreport.render.tables import Cell, html_table, key_value_table
from mlreport.render.text import (
    CELL_TEXT_LIMIT,
    MAX_VALUE_FILES,
    NAME_LIMIT,
    bounded,
    cut_value,
    note,
    short_name,
    take_values,
)
from mlreport.sanitize import PAGE_TEXT_LIMIT

from .conftest import DATA

MB = 1_000_000
PAGE_BOUND = 200_000  # a page holding one of these values stays this small (the values are 1 MB)


def _file(text: str) -> str:
    return f"values/{hashlib.sha256(text.encode()).hexdigest()[:24]}.txt"


@pytest.fixture
def long_store(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The manifest fixture with a 1 MB param, tag, note, model description, metric name and
    artifact path (each a different letter, so each is its own value)."""
    store = tmp_path / "store"
    shutil.copytree(DATA / "manifest" / "basic", store)
    doc = yaml.safe_load((store / "mlreport.yaml").read_text(encoding="utf-8"))
    values = {
        k: c * MB for k, c in zip(("param", "tag", "note", "description", "metric", "path"), "abcdefg", strict=False)
    }
    doc["params"]["huge"] = values["param"]
    doc["run"]["tags"]["huge"] = values["tag"]
    doc["run"]["description"] = values["note"]
    doc["model"]["description"] = values["description"]
    doc["metrics"][values["metric"]] = 0.5
    doc["artifacts"].append({"path": values["path"], "size": 10})
    (store / "mlreport.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return store, values


def test_cut_value_keeps_the_full_value_once_under_a_content_name() -> None:
    take_values()
    assert cut_value("short") is None
    cut = cut_value("x" * 30_000)
    assert cut is not None and len(cut.shown) == PAGE_TEXT_LIMIT and cut.length == 30_000
    assert cut.file == _file("x" * 30_000)
    again = cut_value("x" * 30_000, limit=10)
    assert again is not None and again.file == cut.file
    assert take_values() == {cut.file: b"x" * 30_000}
    assert take_values() == {}


def test_full_values_are_bounded_per_page() -> None:
    take_values()
    cuts = [cut_value(str(i) * 30_000) for i in range(1, MAX_VALUE_FILES + 4)]
    assert [c is not None and c.file is not None for c in cuts].count(True) == MAX_VALUE_FILES
    assert cuts[-1] is not None and cuts[-1].file is None and len(cuts[-1].shown) == PAGE_TEXT_LIMIT
    assert len(take_values()) == MAX_VALUE_FILES
    assert cut_value("y" * 30_000, keep=False) is not None and take_values() == {}


def test_table_cells_are_cut_with_a_link_to_the_full_value() -> None:
    take_values()
    value = "v" * 50_000
    searchable = str(html_table(["Key", "Value"], [[Cell("k"), Cell(value)]], searchable=True))
    assert len(searchable) < CELL_TEXT_LIMIT + 1_000
    assert "cut: 50,000 characters" in searchable and f'<a href="{_file(value)}" download>full value</a>' in searchable
    rows = str(html_table(["Key", "Value"], [[Cell("k"), Cell(value)]]))  # the JSON rows of mlreport.js
    assert len(rows) < CELL_TEXT_LIMIT + 1_000 and f"&#34;{_file(value)}&#34;" in rows
    # a cell that links elsewhere keeps its link; the note says what was cut
    linked = str(html_table(["Run"], [[Cell(value, "../runs/x/")]], searchable=True))
    assert '<a href="../runs/x/">' in linked and "full value" not in linked and "cut: 50,000 characters" in linked
    kv = str(key_value_table([("n" * 5_000, Cell(value))]))
    assert len(kv) < CELL_TEXT_LIMIT + NAME_LIMIT + 1_000
    # the column name is cut too, without a file
    header = str(html_table(["m" * 5_000], [[Cell("1")]], searchable=True))
    assert "m" * NAME_LIMIT + "…" in header and "m" * (NAME_LIMIT + 1) not in header
    assert set(take_values()) == {_file(value)}


def test_a_long_note_is_cut_before_it_is_converted() -> None:
    take_values()
    html = str(note("**bold** " + "w" * MB))
    assert len(html) < PAGE_TEXT_LIMIT + 1_000 and "<strong>bold</strong>" in html
    assert "cut: 1,000,009 characters" in html and "full value</a>" in html
    assert take_values()


def test_short_name_and_bounded_cut_keys_alike() -> None:
    key = "k" * 5_000
    assert short_name(key) == "k" * NAME_LIMIT + "…"
    data = bounded({"goals": {key: "min"}, "rows": [{"metrics": {key: 1.0}, "tags": {"t": "v" * 9_000}}]})
    assert list(data["goals"]) == list(data["rows"][0]["metrics"]) == [short_name(key)]
    assert data["rows"][0]["tags"]["t"] == "v" * CELL_TEXT_LIMIT + "…"


def test_a_site_with_megabyte_values_keeps_pages_small(long_store: tuple[Path, dict[str, str]]) -> None:
    store, values = long_store
    catalog = read_catalog(Config(sources=(SourceConfig(str(store)),)))
    items = render_site(catalog, Config(title="t"))
    pages = {p.url: p for p in items if isinstance(p, Page)}
    assets = {a.path: a.data for a in items if isinstance(a, Asset) and "/values/" in a.path}
    for page in pages.values():
        assert len(page.body) < PAGE_BOUND, f"{page.url}: {len(page.body):,} characters"
        assert len(page.title) < 1_000 and all(len(e.text) < 10_000 for e in page.search)
    run_page = next(u for u in pages if u.startswith("runs/") and u != "runs/")
    version_page = "models/churn-classifier/7/"
    # each value is a file beside the page that shows it, linked from that page, holding all of it
    for what, page_url in (("param", run_page), ("tag", run_page), ("note", run_page), ("metric", run_page),
                           ("path", run_page), ("description", version_page)):  # fmt: skip
        name = _file(values[what])
        assert assets.get(page_url + name) == values[what].encode(), (what, page_url)
        assert name in pages[page_url].body, (what, page_url)
    assert all(path.startswith(tuple(pages)) for path in assets)


def test_cut_files_do_not_depend_on_render_order(long_store: tuple[Path, dict[str, str]]) -> None:
    store, _ = long_store
    catalog = read_catalog(Config(sources=(SourceConfig(str(store)),)))
    r = SiteRenderer(catalog, Config(title="t"))
    refs = r.refs()
    forward = {ref: r.render_ref(ref) for ref in refs}
    r2 = SiteRenderer(catalog, Config(title="t"))
    backward = {ref: r2.render_ref(ref) for ref in reversed(refs)}
    assert forward == backward
    paths = [a.path for out in forward.values() for a in out if isinstance(a, Asset)]
    assert any(re.search(r"/values/[0-9a-f]{24}\.txt$", p) for p in paths)
