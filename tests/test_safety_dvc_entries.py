"""A wrongly typed dvc.yaml entry costs that entry, never what dvc.lock says (issue 11, fuzz seed 3
case 97082).

The case set ``stages.evaluate`` of ``dvc.yaml`` to a number. The class: every entry of the
project's ``dvc.yaml`` (a stage, a stage's field, an item of a list, an artifact, a top-level
section), given a value of another type, may cost what deleting that entry costs and no more:
the records read with the damaged entry hold every record read with the entry deleted (the
fuzz harness's measure, ``tests/fuzz/harness.py``), and the damage is never silent.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from mlreport.catalog import read_catalog, to_jsonable
from mlreport.config import Config, SourceConfig

from .conftest import DATA
from .fuzz.harness import lost, records
from .fuzz.mutate import _paths

PROJECT = DATA / "dvc" / "pipeline"
#: Values of another type than any entry of the fixture's dvc.yaml has (a mapping, a list, text)
WRONG = (18446744073709551616, "text", [1, "two", None], {"k": {"k": [1]}})


def _read(root: Path) -> tuple[Counter[tuple[object, ...]], list[str]]:
    catalog = read_catalog(Config(sources=(SourceConfig(str(root)),)))
    return records(to_jsonable(catalog)), sorted(p.reason for p in catalog.problems)


def _with(doc: object, path: tuple[object, ...], value: object) -> object:
    """A copy of ``doc`` with the entry at ``path`` set to ``value`` (``_DELETE``: removed)."""
    doc = yaml.safe_load(yaml.safe_dump(doc))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]  # type: ignore[index]
    if value is _DELETE:
        del parent[path[-1]]  # type: ignore[attr-defined]
    else:
        parent[path[-1]] = value  # type: ignore[index]
    return doc


_DELETE = object()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dvc") / "project"
    shutil.copytree(PROJECT, root)
    return root


def test_a_stage_that_is_not_a_mapping_is_a_problem_and_dvc_lock_is_read(project: Path) -> None:
    original = (PROJECT / "dvc.yaml").read_text()
    doc = yaml.safe_load(original)
    try:
        (project / "dvc.yaml").write_text(yaml.safe_dump(_with(doc, ("stages", "evaluate"), 2**64)))
        damaged, problems = _read(project)
        (project / "dvc.yaml").write_text(yaml.safe_dump(_with(doc, ("stages", "evaluate"), _DELETE)))
        deleted, _ = _read(project)
    finally:
        (project / "dvc.yaml").write_text(original)
    assert lost(deleted, damaged) == Counter()
    assert "stage 'evaluate' is a number, not a mapping; dvc.lock's entry is read alone" in problems


def test_every_dvc_yaml_entry_of_the_wrong_type_costs_only_that_entry(project: Path) -> None:
    original = (PROJECT / "dvc.yaml").read_text()
    doc = yaml.safe_load(original)
    paths = [p for p in _paths(doc) if p]

    def deleted_entry(path: tuple[object, ...]) -> object:
        # A path entry with options (``- eval/metrics.json: {cache: false}``): its options are
        # the entry, and deleting them leaves the path declared (``- eval/metrics.json``)
        parent = doc
        for key in path[:-2]:
            parent = parent[key]
        item = parent[path[-2]] if len(path) > 1 else None
        if isinstance(item, dict) and len(item) == 1 and isinstance(parent, list):
            return _with(doc, path[:-1], path[-1])
        return _with(doc, path, _DELETE)
    failures = []
    checked = 0
    try:
        for path in paths:
            (project / "dvc.yaml").write_text(yaml.safe_dump(deleted_entry(path)))
            deleted, _ = _read(project)
            for value in WRONG:
                (project / "dvc.yaml").write_text(yaml.safe_dump(_with(doc, path, value)))
                damaged, _ = _read(project)
                gone = lost(deleted, damaged)
                if gone:
                    failures.append(("/".join(map(str, path)), repr(value)[:20], sorted(map(str, gone))[:3]))
                checked += 1
    finally:
        (project / "dvc.yaml").write_text(original)
    assert checked > 100
    assert failures == [], "\n".join(map(str, failures))
