"""The home page's stores table and the Problems page name each store's format as people know it
(the reader's declared ``label``, as the footer does), never the reader's name (issue 8: nothing
after the catalog knows which reader wrote a record). ``--format`` still takes the names.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest

from mlreport.catalog import Catalog, read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.readers import available_readers
from mlreport.render.page import Asset, Page
from mlreport.render.pages import render_site

from .conftest import DATA

# a store of each kind with something on the Problems page (a damaged file or a deleted run)
STORES = ("mlflow/v3_file", "dvc/bad_tsv", "wandb/broken", "hf/broken_json")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    # --format names the reader; the pages must still say the format's human name
    sources = tuple(SourceConfig(str(DATA / p), "dvc" if p.startswith("dvc/") else None) for p in STORES)
    return read_catalog(Config(sources=sources))


@pytest.fixture(scope="module")
def site(catalog: Catalog) -> dict[str, Page | Asset]:
    return {(i.url if isinstance(i, Page) else i.path): i for i in render_site(catalog, Config(title="Stores"))}


def _rows(table_html: str) -> list[list[str]]:
    """The cells of an HTML table, or of its ``data-rows`` JSON (a long table pages itself)."""
    m = re.search(r'data-rows="([^"]*)"', table_html)
    if m:
        return [[cell[0] for cell in row] for row in json.loads(html.unescape(m.group(1)))]
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", table_html, re.S)
        if "<td" in tr
    ]


def _table_after(body: str, heading: str) -> str:
    start = body.index(heading)
    return body[body.index("<table", start) : body.index("</table>", start)]


def test_every_reader_declares_a_human_name_that_is_not_its_reader_name() -> None:
    for name, reader in available_readers().items():
        assert reader.label.strip() and reader.label != name, name


def test_the_problems_page_names_the_format_not_the_reader(catalog: Catalog, site: dict[str, Page | Asset]) -> None:
    labels = {r.name: r.label for r in available_readers().values()}
    page = site["problems/"]
    assert isinstance(page, Page)
    rows = _rows(page.body[page.body.index("<table") :])
    # every problem and every "not shown" count is a row, of each store that has one
    assert len(rows) == len(catalog.problems) + len(catalog.skipped) >= 6
    formats = {row[1] for row in rows}
    assert formats == {"MLflow file store", "DVC / dvclive", "Weights & Biases", "Hugging Face Trainer"}
    assert not formats & set(labels)
    # the CSV beside it says the same
    asset = site["problems/problems.csv"]
    assert isinstance(asset, Asset)
    csv_rows = list(csv.reader(io.StringIO(asset.data.decode("utf-8"))))
    assert csv_rows[0] == ["File", "Format", "Severity", "Reason"]
    assert [r[1] for r in csv_rows[1:]] == [row[1] for row in rows]
    # what is not shown (MLflow's deleted run) is labelled by its store's format too
    assert any(r[1] == "MLflow file store" and r[2] == "not shown" for r in csv_rows[1:])


def test_the_home_stores_table_names_the_format_not_the_reader(site: dict[str, Page | Asset]) -> None:
    page = site[""]
    assert isinstance(page, Page)
    table = page.body[page.body.rindex("<table") :]
    head = re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", table)
    assert [h.strip() for h in head] == ["Store", "Format"]
    rows = _rows(table)
    assert [r[1] for r in rows] == ["MLflow file store", "DVC / dvclive", "Weights & Biases", "Hugging Face Trainer"]
    assert all(r[0] for r in rows)


def test_a_record_of_a_format_no_store_declared_is_from_a_store(catalog: Catalog) -> None:
    from mlreport.model import Origin

    assert catalog.source_kind(Origin("x", "", "dvc")) == "DVC / dvclive"
    assert catalog.source_kind(Origin("x", "", "no-such-reader")) == "store"


# -- deleted records under --include-deleted -------------------------------------------------------


def test_deleted_runs_are_flagged_in_every_runs_table() -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(DATA / "mlflow" / "v3_file")),), include_deleted=True))
    deleted = {r.key for r in catalog.runs if r.deleted}
    assert len(deleted) == 2  # 'deleted-run', and 'orphan' of the deleted experiment
    site = render_site(catalog, Config(title="Deleted", include_deleted=True))
    tables = 0
    for item in site:
        if isinstance(item, Asset) and item.path.endswith("runs.csv"):
            rows = list(csv.DictReader(io.StringIO(item.data.decode("utf-8"))))
            for row in rows:
                run = catalog.run_by_key.get(row["Run id"])
                assert run is not None
                assert (row["Status"] == "deleted") == (run.key in deleted), (item.path, row["Run"])
            tables += any(row["Run id"] in deleted for row in rows)
        if isinstance(item, Page) and item.url in ("runs/", "experiments/fixture-main/"):
            # the table drawn without JavaScript says it too
            assert item.body.count('<span class="mlr-status mlr-deleted">deleted</span>') >= 1, item.url
    assert tables >= 3  # the runs index and both experiments' tables


@pytest.mark.parametrize("store", ["file/mlruns", "sqlite/mlflow.db"])
def test_a_deleted_parent_reads_deleted_on_its_childs_page(store: str) -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(DATA / "mlflow" / "cases" / store)),)))
    child = next(r for r in catalog.runs if r.name == "child")
    assert child.parent_key and child.parent_key not in catalog.run_by_key
    pages = {i.url: i for i in render_site(catalog, Config(title="Cases")) if isinstance(i, Page)}
    page = next(p for url, p in pages.items() if url.startswith("runs/") and child.id in url)
    assert f"{child.parent_key} (deleted)" in page.body and "(not in the store)" not in page.body
