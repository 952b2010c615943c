"""A tool's own tags are the record's ``system_tags`` on every record that has tags (issue 8: "nothing
after the catalog knows which tool wrote a run").

MLflow keeps its own tags (``mlflow.*``) beside the user's on experiments, registered models,
model versions and logged models as well as on runs. The readers split them off; pages fold them
under "System tags" and leave them out of search because the catalog says so, not because a
page knows MLflow's prefix.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from mlreport.catalog import Catalog, read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.render.base import _tags_text
from mlreport.render.page import Page
from mlreport.render.pages import render_site

from .conftest import DATA

EXPERIMENT = "716778322394665320"
MODEL = "fixture model"
LOGGED = "m-af9e848a2ea543f6a407a66df44935c9"
#: tags MLflow 3 writes for itself on these records (its reserved prefix), with values no user tag has
SYSTEM = {
    "experiment": ("mlflow.experimentKind", "custom_model_development"),
    "model": ("mlflow.prompt.is_prompt", "syskeepmodel"),
    "version": ("mlflow.prompt.text", "syskeepversion"),
}


def _file_store(tmp_path: Path) -> Path:
    root = tmp_path / "v3_file"
    shutil.copytree(DATA / "mlflow" / "v3_file", root)
    mlruns = root / "mlruns"
    (mlruns / EXPERIMENT / "tags" / SYSTEM["experiment"][0]).write_text(SYSTEM["experiment"][1])
    (mlruns / "models" / MODEL / "tags" / SYSTEM["model"][0]).write_text(SYSTEM["model"][1])
    (mlruns / "models" / MODEL / "version-1" / "tags" / SYSTEM["version"][0]).write_text(SYSTEM["version"][1])
    return mlruns


def _sqlite_store(tmp_path: Path) -> Path:
    root = tmp_path / "v3_sqlite"
    shutil.copytree(DATA / "mlflow" / "v3_sqlite", root)
    db = root / "mlflow.db"
    con = sqlite3.connect(db)
    with con:
        exp = con.execute("SELECT experiment_id FROM experiments WHERE name = 'fixture-main'").fetchone()[0]
        con.execute("INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?, ?, ?)", (*SYSTEM["experiment"], exp))
        con.execute("INSERT INTO registered_model_tags (key, value, name) VALUES (?, ?, ?)", (*SYSTEM["model"], MODEL))
        con.execute(
            "INSERT INTO model_version_tags (key, value, name, version) VALUES (?, ?, ?, 1)", (*SYSTEM["version"], MODEL)
        )
    con.close()
    return db


@pytest.fixture(params=["file", "sqlite"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Catalog:
    source = _file_store(tmp_path) if request.param == "file" else _sqlite_store(tmp_path)
    return read_catalog(Config(sources=(SourceConfig(str(source)),)))


def test_mlflow_system_tags_are_split_off_on_every_record(catalog: Catalog) -> None:
    exp = next(e for e in catalog.experiments if e.name == "fixture-main")
    model = catalog.model_by_name[MODEL]
    version = next(v for v in catalog.versions if v.model == MODEL and v.version == "1")
    for record, (key, value) in ((exp, SYSTEM["experiment"]), (model, SYSTEM["model"]), (version, SYSTEM["version"])):
        assert dict(record.system_tags) == {key: value}, record
        assert not any(k.startswith("mlflow.") for k in record.tags), record
    # the user's tags stay where they were, and the experiment's note is its description
    assert {"purpose", "team"} <= set(exp.tags) and exp.description
    assert model.tags.get("task") == "regression"
    for lm in catalog.logged_models:
        assert lm.system_tags.get("mlflow.source.type") == "LOCAL", lm.key
        assert not any(k.startswith("mlflow.") for k in lm.tags), lm.key


def test_pages_fold_system_tags_and_search_leaves_them_out(catalog: Catalog) -> None:
    pages = [p for p in render_site(catalog, Config(title="t")) if isinstance(p, Page)]
    by_title = {p.title: p for p in pages}
    checked = 0
    for title, (key, value) in (
        ("fixture-main · experiment", SYSTEM["experiment"]),
        (f"{MODEL} · model", SYSTEM["model"]),
        (f"{MODEL} · version 1", SYSTEM["version"]),
    ):
        page = by_title[title]
        assert "<summary>System tags</summary>" in page.body, title
        folded = page.body.split("<summary>System tags</summary>", 1)[1]
        assert key in folded and value in folded, title
        for entry in page.search:
            assert key not in entry.text and value not in entry.text, (title, entry.text)
        checked += 1
    # and in no search entry of the whole site (the runs tables, the model's versions …)
    for page in pages:
        for entry in page.search:
            assert SYSTEM["model"][1] not in entry.text and SYSTEM["version"][1] not in entry.text, page.url
    lm_pages = [p for p in pages if "· logged model" in p.title]
    assert lm_pages and all("<summary>System tags</summary>" in p.body for p in lm_pages)
    assert checked == 3


def test_tags_text_keeps_short_tags_whatever_their_name() -> None:
    # no tool prefix is special here: the split is the catalog's (a user may name a tag anything)
    assert _tags_text({"team": "vision", "mlflow.x": "y"}) == "team vision mlflow.x y"
    assert _tags_text({"a": "1", "b": "x" * 61, "c": "x" * 60}) == f"a 1 c {'x' * 60}"
    assert _tags_text({str(i): "v" for i in range(9)}, limit=2) == "0 v 1 v"
    assert _tags_text({}) == ""
