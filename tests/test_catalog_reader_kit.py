"""The readers as a kit: the contract check on every built-in reader, and the ClearML reader
written against docs/readers.md only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.readers import ReaderTraits, available_readers, reader_traits
from mlreport.readers._common import ReadContext, flatten_params, param_text
from mlreport.readers.clearml import ClearmlOfflineReader
from mlreport.readers.testkit import check_reader
from mlreport.stores import open_store

from .conftest import DATA

CLEARML = DATA / "clearml"


@pytest.mark.parametrize(
    "reader, case",
    [
        ("mlflow", "mlflow/v3_file/mlruns"),
        ("mlflow-sql", "mlflow/v3_sqlite/mlflow.db"),
        ("wandb", "wandb/offline/wandb"),
        ("hf", "hf/full"),
        ("tensorboard", "tensorboard/logdir"),
        ("manifest", "manifest/basic"),
        ("clearml", "clearml/offline"),
    ],
)
def test_every_builtin_reader_keeps_the_contract(reader: str, case: str) -> None:
    report = check_reader(available_readers()[reader], DATA / case)
    assert report.runs >= 1


def test_the_contract_check_catches_a_reader_that_reads_the_disk(tmp_path: Path) -> None:
    class DiskReader(ClearmlOfflineReader):
        name = "clearml"

        def read(self, store, path, options):  # type: ignore[no-untyped-def, override]
            local = store.local_root()
            if local is None:  # a memory:// copy: this reader only knows the disk
                return iter(())
            return super().read(store, path, options)

    with pytest.raises(AssertionError, match="memory:// copy gives other records"):
        check_reader(DiskReader(), CLEARML / "offline")


def test_traits_have_typed_defaults() -> None:
    class Bare:
        name = "bare"

    assert reader_traits(Bare()) == ReaderTraits()
    sql = reader_traits(available_readers()["mlflow-sql"])
    assert sql.file_suffixes and not sql.detects_dirs and sql.tries_file("x/MLFLOW.DB")
    assert reader_traits(available_readers()["manifest"]).nested


def test_null_params_are_kept_as_null() -> None:
    out: dict[str, str] = {}
    flatten_params("cfg", {"a": None, "b": {"c": 1, "d": {}}, "e": [1, "x"], "f": True}, out)
    assert out == {"cfg.a": "null", "cfg.b.c": "1", "cfg.b.d": "{}", "cfg.e": '[1, "x"]', "cfg.f": "true"}
    assert param_text(None) == "null" and param_text("as is") == "as is"


def test_read_context_collects_and_drains(tmp_path: Path) -> None:
    ctx = ReadContext(open_store(str(tmp_path)), "sub", "acme")
    assert ctx.at("a/b") == "sub/a/b" and ctx.at("") == "sub"
    ctx.problem("sub/x.json", "missing field 'id'")
    ctx.skipped("sub", "deleted runs", 2, "deleted in the store", keys=("b", "a"))
    drained = list(ctx.drain())
    assert [type(r).__name__ for r in drained] == ["Problem", "Skipped"]
    assert drained[0].message() == "cannot read sub/x.json: missing field 'id'"  # type: ignore[union-attr]
    assert drained[1].keys == ("a", "b")  # type: ignore[union-attr]
    assert list(ctx.drain()) == []


def test_clearml_sessions_match_what_clearml_wrote() -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(CLEARML / "offline")),)))
    assert [e.name for e in catalog.experiments] == ["demo-project"]
    by_name = {r.name: r for r in catalog.runs}
    assert sorted(by_name) == ["train-baseline", "train-candidate"]
    for session in sorted((CLEARML / "offline").iterdir()):
        task = json.loads((session / "task.json").read_text())
        run = by_name[task["name"]]
        assert run.id == task["id"] and run.key == f"clearml:{task['id']}"
        expected = {
            f"{section}/{name}": item["value"]
            for section, items in task["hyperparams"].items()
            for name, item in items.items()
        }
        assert dict(run.params) == expected  # ClearML itself turned dropout=None into ""
        assert run.tags["clearml.tags"] == ", ".join(sorted(task["tags"]))
        events = [e for line in (session / "metrics.jsonl").read_text().splitlines() for e in json.loads(line)]
        series = {(e["metric"], e["variant"]) for e in events if e["iter"] != -(2**31)}
        assert {m.key for m in run.metrics if m.count > 1} == {f"{t}/{s}" for t, s in series}
        for title, variant in series:
            points = sorted((e["iter"], e["value"]) for e in events if (e["metric"], e["variant"]) == (title, variant))
            history = catalog.history(run.key, f"{title}/{variant}")
            assert history is not None and list(zip(history.steps, history.values, strict=True)) == points
        single = next(e for e in events if e["iter"] == -(2**31))
        assert run.metric(single["variant"]).final == single["value"]  # type: ignore[union-attr]
        first_log = json.loads((session / "log.jsonl").read_text().splitlines()[0])[0]
        assert run.start_time == first_log["timestamp"]


def test_clearml_broken_sessions_are_problems_not_crashes() -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(CLEARML / "broken")),)))
    assert len(catalog.runs) == 1
    assert sorted(p.message() for p in catalog.problems) == [
        "cannot read offline-broken/metrics.jsonl: 1 line(s) are not JSON (first: line 2); skipped",
        "cannot read offline-notjson/task.json: not a ClearML task: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
    ]
