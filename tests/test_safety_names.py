"""Registry names stay distinct when their text is cleaned (issue 11, fuzz seed 3 case 90926).

Cleaning store text (``mlreport.sanitize.clean_text``) removes NUL and turns other control
characters into U+FFFD, so two names could become one (the catalog then merges two models, or
skips a version as a copy) and a name could become empty. The case: an MLflow registered model
named ``"\\u0000"`` was kept as a model of no name.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.identity import UNNAMED, distinct_name
from mlreport.sanitize import is_clean

from .conftest import DATA


def test_a_clean_name_is_itself() -> None:
    for name in ("model", "v1", "名前", "a b", "x" * 10_000):
        assert distinct_name(name) is name


def test_names_that_clean_to_one_text_stay_distinct_and_clean() -> None:
    raws = ["a", "a\x00", "\x00a", "a\x00\x00", "\x01", "\x02", "\ud800", "\udfff", "\x00", "\x00\x00", " \x00"]
    shown = [distinct_name(r) for r in raws]
    assert len(set(shown)) == len(raws)
    assert all(is_clean(s) and s.strip() for s in shown)
    assert distinct_name("a\x00").startswith("a ~") and distinct_name("\x00").startswith(f"{UNNAMED} ~")
    assert distinct_name("a\x00") == distinct_name("a\x00")  # a function of the raw text alone
    # the examples in mlreport/identity.py and docs/readers.md
    assert (distinct_name("a\x00"), distinct_name("\x00")) == ("a ~ffe9aaea", "unnamed ~6e340b9c")


def _model(root: Path, folder: str, name: str, versions: dict[str, str], aliases: str = "{}") -> None:
    # YAML double-quoted escapes: the store holds the raw characters, as MLflow would write them
    d = root / "mlruns" / "models" / folder
    d.mkdir(parents=True)
    (d / "meta.yaml").write_text(f'aliases: {aliases}\ncreation_timestamp: 1\nname: "{name}"\n')
    for vfolder, version in versions.items():
        (d / vfolder).mkdir()
        (d / vfolder / "meta.yaml").write_text(f'current_stage: None\nname: "{name}"\nversion: "{version}"\n')


def test_registry_names_that_clean_alike_are_kept_apart_with_a_problem(tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(DATA / "artifacts" / "mlflow", store)
    _model(store, "a", "a", {"version-1": "1"})
    _model(store, "a-nul", "a\\0", {"version-1": "1"})
    _model(store, "ctl-1", "\\x01x", {"version-1": "1"})
    _model(store, "ctl-2", "\\x02x", {"version-1": "1"})
    _model(store, "b", "b", {"version-1": "1", "version-2": "1\\0"}, aliases='{champion: "1\\0"}')
    _model(store, "empty", "\\0", {"version-1": "1"})

    # the folder "a\x01" holds a name that needs cleaning itself: no clean name to fall back on
    _model(store, "c\x01", "c\\x01", {"version-1": "1"})

    catalog = read_catalog(Config(sources=(SourceConfig(str(store)),)))
    models = {m.name for m in catalog.models}
    c_ctl, one_nul = distinct_name("c\x01"), distinct_name("1\x00")
    # MLflow's folder is the model's name as MLflow finds it: a meta.yaml name that is not
    # printable gives way to it (seed 3 cases 90926, 91143)
    assert {"a", "a-nul", "ctl-1", "ctl-2", "b", "empty", c_ctl, "previews-model"} == models
    versions = {(v.model, v.version): v for v in catalog.versions}
    assert {("a", "1"), ("a-nul", "1"), ("ctl-1", "1"), ("ctl-2", "1"), ("b", "1"), ("b", one_nul), ("empty", "1"),
            (c_ctl, "1")} <= set(versions)
    assert versions[("b", one_nul)].aliases == ("champion",) and versions[("b", "1")].aliases == ()
    assert next(m for m in catalog.models if m.name == "b").aliases == {"champion": one_nul}
    reasons = sorted(p.reason for p in catalog.problems)
    folder = "registered model name {} is not printable; the folder's name '{}' is used"
    assert reasons == sorted(
        [
            folder.format("'a\\x00'", "a-nul"),
            folder.format("'\\x01x'", "ctl-1"),
            folder.format("'\\x02x'", "ctl-2"),
            folder.format("'\\x00'", "empty"),
            f"model name 'c\\x01' holds characters a page cannot show; named '{c_ctl}'",
            f"version name '1\\x00' holds characters a page cannot show; named '{one_nul}'",
        ]
    )


def test_the_problems_about_names_are_clean_text_where_the_origin_holds_the_name(tmp_path: Path) -> None:
    """Seed 3 case 90360: in mlflow.db a record's origin names the row by the model's name
    (``mlflow.db#registered_models/a\\x00b``); the Problem must carry the cleaned origin."""
    import sqlite3

    db = tmp_path / "mlflow.db"
    shutil.copyfile(DATA / "mlflow" / "v3_sqlite" / "mlflow.db", db)
    conn = sqlite3.connect(db)
    (name,) = conn.execute("SELECT name FROM registered_models ORDER BY name LIMIT 1").fetchone()
    conn.execute("UPDATE registered_models SET name = 'a' || char(0) || 'b' WHERE name = ?", (name,))
    conn.commit()
    conn.close()
    catalog = read_catalog(Config(sources=(SourceConfig(str(db)),)))
    assert distinct_name("a\x00b") in {m.name for m in catalog.models}
    named = [p for p in catalog.problems if "holds characters a page cannot show" in p.reason]
    assert named and all(is_clean(p.origin.path) and is_clean(p.reason) for p in catalog.problems)


def test_a_registry_name_or_version_of_the_wrong_type_takes_its_folders(tmp_path: Path) -> None:
    """A meta.yaml name that is not text, or a version that is not a number, was taken as
    its Python text ("7", "['x', 1]"): a model and versions under names the store never gave
    them. MLflow names the folders after both, and finds them by the folders."""
    store = tmp_path / "store"
    shutil.copytree(DATA / "artifacts" / "mlflow", store)
    d = store / "mlruns" / "models" / "typed"
    (d / "version-1").mkdir(parents=True)
    (d / "version-2").mkdir()
    (d / "meta.yaml").write_text("creation_timestamp: 1\nname: 7\n")
    (d / "version-1" / "meta.yaml").write_text("current_stage: None\nname: typed\nversion: [x, 1]\n")
    (d / "version-2" / "meta.yaml").write_text("current_stage: None\nname: typed\nversion: 2\n")
    catalog = read_catalog(Config(sources=(SourceConfig(str(store)),)))
    assert {(v.model, v.version) for v in catalog.versions if v.model == "typed"} == {("typed", "1"), ("typed", "2")}
    assert "7" not in {m.name for m in catalog.models}
    assert sorted(p.reason for p in catalog.problems) == [
        "registered model name is a number, not text; the folder's name 'typed' is used",
        "version is a list, not a number; the folder's version '1' is used",
    ]
