"""A contract check for readers, for the built-in ones and for a third party's (docs/readers.md).

Usage in a reader's tests::

    from mlreport.readers.testkit import check_reader

    def test_contract():
        report = check_reader(AcmeReader(), "tests/data/acme/basic")
        assert report.runs == 2

Every rule raises ``AssertionError`` with a message naming the rule and the record, so that a
failing test says what to fix.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path

from ..model import (
    AliasMove,
    Dataset,
    Experiment,
    LoggedModel,
    MetricGoal,
    ModelVersion,
    Origin,
    Problem,
    Record,
    RegisteredModel,
    Run,
    Skipped,
    Trace,
)
from ..stores import Store, open_store
from . import Reader, ReadOptions, reader_traits


@dataclass(frozen=True)
class ContractReport:
    """What the reader yielded from the store, counted."""

    experiments: int
    runs: int
    logged_models: int
    datasets: int
    models: int
    versions: int
    goals: int
    skipped: int
    problems: tuple[str, ...]


def check_reader(reader: Reader, store_dir: str | Path, history: bool = True) -> ContractReport:
    """Check ``reader`` against the reader contract on the local store at ``store_dir``.

    Raises:
        AssertionError: the first broken rule, with the record it was found on.
    """
    root = Path(store_dir)
    name = getattr(reader, "name", None)
    assert isinstance(name, str) and name, "a reader has a non-empty str name"
    assert isinstance(getattr(reader, "label", None), str), f"{name}: a reader has a str label"
    reader_traits(reader)  # the optional attributes must be readable

    target, path = _open(str(root if root.is_dir() else root.parent), root)
    assert reader.detect(target, path), f"{name}: detect() is False on its own store {root}"
    with tempfile.TemporaryDirectory() as empty:
        other = open_store(empty)
        assert not reader.detect(other, ""), f"{name}: detect() is True on an empty folder"

    options = ReadOptions(history=history)
    first = list(reader.read(target, path, options))
    second = list(reader.read(target, path, options))
    assert [repr(r) for r in first] == [repr(r) for r in second], (
        f"{name}: two reads of the same store differ (output must be deterministic)"
    )

    mem_store, mem_path = _open(_to_memory(root), root)
    from_memory = list(reader.read(mem_store, mem_path, options))
    assert [_portable(r) for r in from_memory] == [_portable(r) for r in first], (
        f"{name}: reading a memory:// copy gives other records (read through the store, not the disk)"
    )

    counts: Counter[str] = Counter()
    keys: dict[str, set[str]] = {"exp": set(), "run": set(), "model": set(), "ds": set()}
    versions: set[tuple[str, str]] = set()
    for rec in first:
        _check_origin(name, rec)
        if isinstance(rec, Experiment):
            _unique(name, keys["exp"], rec.key, "experiment")
        elif isinstance(rec, Run):
            _unique(name, keys["run"], rec.key, "run")
        elif isinstance(rec, LoggedModel):
            _unique(name, keys["model"], rec.key, "logged model")
        elif isinstance(rec, Dataset):
            _unique(name, keys["ds"], rec.key, "dataset")
        elif isinstance(rec, ModelVersion):
            assert (rec.model, rec.version) not in versions, f"{name}: version {rec.model} {rec.version} twice"
            versions.add((rec.model, rec.version))
        elif not isinstance(rec, (RegisteredModel, MetricGoal, Skipped, Problem, AliasMove, Trace)):
            raise AssertionError(f"{name}: yielded {type(rec).__name__}, which is not a catalog record")
        counts[type(rec).__name__] += 1
    for rec in first:
        if isinstance(rec, Run):
            # a parent may live in another store; an experiment is the store's own
            assert rec.experiment_key is None or rec.experiment_key in keys["exp"], (
                f"{name}: run {rec.key} names experiment {rec.experiment_key}, which the store did not yield"
            )
            for dref in (*rec.inputs, *rec.produced):
                assert dref.dataset_key in keys["ds"], (
                    f"{name}: run {rec.key} uses dataset {dref.dataset_key}, which the store did not yield"
                )
            for m in rec.metrics:
                assert m.count >= 1, f"{name}: run {rec.key} metric {m.key} has no points"
                if m.history is not None:
                    assert len(m.history) == m.count, f"{name}: run {rec.key} metric {m.key}: count != points"

    from ..config import Config, SourceConfig
    from ..crawl import read_catalog

    with tempfile.TemporaryDirectory() as work:
        source = str(root)
        catalog = read_catalog(Config(sources=(SourceConfig(source, format=name),)), history_dir=work)
        copy = pickle.loads(pickle.dumps(catalog))
        assert len(copy.runs) == len(catalog.runs), f"{name}: the catalog does not survive pickling"
    return ContractReport(
        experiments=counts["Experiment"],
        runs=counts["Run"],
        logged_models=counts["LoggedModel"],
        datasets=counts["Dataset"],
        models=counts["RegisteredModel"],
        versions=counts["ModelVersion"],
        goals=counts["MetricGoal"],
        skipped=counts["Skipped"],
        problems=tuple(p.message() for p in first if isinstance(p, Problem)),
    )


def _open(directory: str, root: Path) -> tuple[Store, str]:
    # a file store (an SQLite file) is read from its folder, by name, as the crawl does
    return open_store(directory), ("" if root.is_dir() else root.name)


def _check_origin(name: str, rec: Record) -> None:
    origin = getattr(rec, "origin", None)
    assert isinstance(origin, Origin), f"{name}: {type(rec).__name__} has no Origin"
    assert origin.format == name, f"{name}: {type(rec).__name__} origin.format is {origin.format!r}"
    path = origin.path
    assert not path.startswith("/") and ".." not in path.split("/") and "\\" not in path, (
        f"{name}: origin path {path!r} is not relative to the store root"
    )


def _unique(name: str, seen: set[str], key: str, kind: str) -> None:
    assert key, f"{name}: a {kind} has an empty key"
    assert key not in seen, f"{name}: {kind} key {key!r} yielded twice"
    seen.add(key)


def _portable(rec: Record) -> object:
    # the same record read from memory:// differs only in the store URL of its origins; repr
    # compares NaN with NaN as equal, which == does not
    values = []
    for f in fields(rec):
        value = getattr(rec, f.name)
        values.append(value.path if isinstance(value, Origin) else value)
    return repr((type(rec).__name__, tuple(values)))


def _to_memory(local: Path) -> str:
    import fsspec

    fs = fsspec.filesystem("memory")
    # the copy keeps the folder's own name: readers may name a run or project after it
    prefix = f"/mlreport-testkit-{os.getpid()}-{next(_counter)}/{(local if local.is_dir() else local.parent).name}"
    base = local if local.is_dir() else local.parent
    for dirpath, _dirs, files in os.walk(base):
        for file in files:
            p = Path(dirpath) / file
            fs.pipe_file(f"{prefix}/{p.relative_to(base).as_posix()}", p.read_bytes())
    return f"memory://{prefix}"


_counter = iter(range(1, 1 << 62))
