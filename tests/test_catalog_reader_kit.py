"""The readers as a kit: the contract check on every built-in reader, and the ClearML reader
written against docs/readers.md only."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.model import Run
from mlreport.readers import ReaderTraits, ReadOptions, available_readers, reader_traits
from mlreport.readers._common import ReadContext, flatten_params, param_text
from mlreport.readers.clearml import ClearmlOfflineReader
from mlreport.readers.testkit import check_reader
from mlreport.stores import open_store

from .conftest import DATA, ROOT

CLEARML = DATA / "clearml"
SRC = ROOT / "src" / "mlreport"


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


def test_the_contract_check_catches_a_reader_whose_reads_differ() -> None:
    import dataclasses
    import itertools

    reads = itertools.count()

    class Flaky(ClearmlOfflineReader):
        name = "clearml"

        def read(self, store, path, options):  # type: ignore[no-untyped-def, override]
            n = next(reads)  # a name that changes from one read to the next (a clock, a set's order)
            for record in super().read(store, path, options):
                yield dataclasses.replace(record, name=f"{record.name}-{n}") if isinstance(record, Run) else record

    with pytest.raises(AssertionError, match="two reads of the same store differ"):
        check_reader(Flaky(), CLEARML / "offline")


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


_SESSION = CLEARML / "offline" / "offline-0edfdafc488f4342a6b17db72350ca61"


def _clearml_task_with_a_null() -> dict[str, str]:
    task = json.loads((_SESSION / "task.json").read_text())
    task["hyperparams"]["General"]["dropout"]["value"] = None
    return {"offline-x/task.json": json.dumps(task), "offline-x/metrics.jsonl": "", "offline-x/log.jsonl": ""}


#: a store of each reader whose params come from the user's own mappings, with one param set to
#: null, and the param's key (the manifest reader's is in test_reader_manifest.py's basic case)
NULL_PARAM_STORES: dict[str, tuple[dict[str, str], str]] = {
    "dvc": ({"dvc.yaml": "stages: {}\n", "params.yaml": "train:\n  dropout: null\n  lr: 0.1\n"}, "train.dropout"),
    "wandb": ({"wandb/run-20260101_090000-null0001/files/config.yaml": "dropout:\n  value: null\n"}, "dropout"),
    "hf": ({"o/trainer_state.json": json.dumps(
        {"global_step": 1, "log_history": [{"loss": 0.5, "step": 1}], "trial_params": {"dropout": None}}
    )}, "trial_params.dropout"),
    "clearml": (_clearml_task_with_a_null(), "General/dropout"),
}


@pytest.mark.parametrize("reader", sorted(NULL_PARAM_STORES))
def test_a_null_param_is_null_in_every_reader(reader: str, tmp_path: Path) -> None:
    files, key = NULL_PARAM_STORES[reader]
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    root = {"wandb": "wandb", "hf": "o"}.get(reader, "")
    records = list(available_readers()[reader].read(open_store(str(tmp_path)), root, ReadOptions()))
    runs = [r for r in records if isinstance(r, Run)]
    assert runs and all(r.params.get(key) == "null" for r in runs), [dict(r.params) for r in runs]


#: readers that still have their own copy of the helper, and why
OWN_HELPER: dict[str, str] = {}
_HELPER_NAMES = ("origin", "problem", "_problem", "__call__")


def _helper_copies(source: str) -> list[str]:
    """Functions named like the shared helper's (``origin``, ``problem`` …) that build an
    ``Origin`` or a ``Problem`` themselves instead of asking a ``ReadContext``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name in _HELPER_NAMES:
            built = {
                n.func.id
                for n in ast.walk(node)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("Origin", "Problem")
            }
            if built:
                found.append(f"{node.name} (line {node.lineno}) builds {', '.join(sorted(built))}")
    return found


@pytest.mark.parametrize("path", sorted(p.name for p in (SRC / "readers").glob("*.py")))
def test_every_reader_notes_origins_and_problems_through_the_shared_context(path: str) -> None:
    # one helper (ReadContext) builds origins and notes problems: six readers once had a copy
    # each (hf, mlflow, wandb: a _Ctx; dvc: _Reading.origin/problem; tensorboard: _problem;
    # manifest: _Origins), and copies drift apart (issue 8)
    if path == "_common.py" or path in OWN_HELPER:
        return
    assert not _helper_copies((SRC / "readers" / path).read_text(encoding="utf-8")), f"readers/{path}"


def test_the_helper_scan_finds_a_copy_of_the_helper() -> None:
    copy = (
        "@dataclass\nclass _Ctx:\n    store: Store\n\n    def origin(self, path):\n"
        "        return Origin(self.store.url, path, 'x')\n\n    def problem(self, path, reason):\n"
        "        self.problems.append(Problem(self.origin(path), reason))\n"
    )
    assert _helper_copies(copy) == ["origin (line 5) builds Origin", "problem (line 8) builds Problem"]
    delegating = "class _Reading:\n    def problem(self, rel, reason):\n        self.ctx.problem(self.ctx.at(rel), reason)\n"
    assert _helper_copies(delegating) == []
    # the shape the SQLite reader had before it was converted: a row's origin built by hand
    row_origin = (
        "class _Reading:\n    def origin(self, what):\n"
        "        return Origin(self.store.url, f'{self.path}#{what}', 'mlflow_sql')\n"
    )
    assert _helper_copies(row_origin) == ["origin (line 2) builds Origin"]


def test_docs_readers_md_names_every_trait_and_every_context_helper() -> None:
    # the page a third party writes a reader from (docs/readers.md) describes the interface as it is
    import dataclasses

    from mlreport.readers import _common

    page = (ROOT / "docs" / "readers.md").read_text(encoding="utf-8")
    traits = [f.name for f in dataclasses.fields(ReaderTraits)]
    helpers = [n for n in vars(ReadContext) if not n.startswith("_")]
    shared = ["param_text", "flatten_params", "lfs_reason", "check_reader", "ReadContext", "ReadOptions"]
    assert traits and helpers and hasattr(_common, "lfs_reason")
    # a short name (ctx.at) only as code: `at` or .at(
    missing = [
        n for n in (*traits, *helpers, *shared)
        if not re.search(rf"\b{n}\b" if len(n) > 3 else rf"(`|\.){n}(`|\()", page)
    ]
    assert not missing, f"docs/readers.md does not name {missing}"


#: the writing tools: test-only (the fidelity suite's venv); mlreport reads their files itself
WRITING_TOOLS = ("mlflow", "wandb", "transformers", "tensorboard", "tensorboardX", "tensorflow", "torch",
                 "dvc", "dvclive", "gto", "clearml", "aim", "peft", "huggingface_hub", "datasets")


def _tool_imports(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
        found += [n for n in names if n.split(".")[0] in WRITING_TOOLS]
    return found


def test_mlreport_never_imports_the_tools_that_write_the_stores() -> None:
    found = {
        str(path.relative_to(SRC)): names
        for path in sorted(SRC.rglob("*.py"))
        if (names := _tool_imports(path.read_text(encoding="utf-8")))
    }
    assert not found
    # the scan sees both forms, at any level (a guarded import inside a function too)
    assert _tool_imports("def f():\n    try:\n        import mlflow.tracking\n    except ImportError:\n        pass\n")
    assert _tool_imports("from transformers import TrainerState\n") == ["transformers"]
    assert not _tool_imports("from .wandb import WandbReader\nimport mlreport.readers.dvc\n")


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
