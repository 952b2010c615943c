"""The helpers of ``benchmarks/mutation.py``: the scores it reports are only as true as these
(which mutants count as equivalent, what a session holds, what a rescore forgets)."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import ROOT


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mlreport_bench_mutation", ROOT / "benchmarks" / "mutation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


mutation = _load()


def _diff(old: str, new: str) -> str:
    return f"--- mutation diff ---\n--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n context\n-{old}\n+{new}\n context\n"


@pytest.mark.parametrize(
    ("operator", "old", "new", "same"),
    [
        # an operator inside an annotation: nothing evaluates it
        ("core/ReplaceBinaryOperator_BitOr_Add", "def f(key: str) -> Goal | None:", "def f(key: str) -> Goal + None:", True),
        ("core/ReplaceBinaryOperator_BitOr_Sub", "    note: str | None = None", "    note: str - None = None", True),
        # the same operator in code is a real mutant
        ("core/ReplaceBinaryOperator_BitOr_Add", "    flags = a | b", "    flags = a + b", False),
        ("core/ReplaceBinaryOperator_BitOr_Add", "    return x | y", "    return x + y", False),
        # a memo's size: the answers are the same
        ("core/NumberReplacer", "@functools.lru_cache(maxsize=8192)", "@functools.lru_cache(maxsize= 8193)", True),
        ("core/NumberReplacer", "@lru_cache(maxsize=64)", "@lru_cache(maxsize= 63)", True),
        # any other number is not
        ("core/NumberReplacer", "LIMIT = 8192", "LIMIT = 8193", False),
        ("core/NumberReplacer", "    return cut(text, 2000)", "    return cut(text, 2001)", False),
        # removing the memo is not equivalent: a test that it is there kills it
        ("core/RemoveDecorator", "@functools.lru_cache(maxsize=8192)", "", False),
    ],
)
def test_equivalent_mutants_are_annotations_and_memo_sizes_only(operator: str, old: str, new: str, same: bool) -> None:
    assert mutation.equivalent(operator, _diff(old, new)) is same


def test_a_change_of_two_lines_is_never_taken_as_equivalent() -> None:
    diff = _diff("def f(a: int | None,", "def f(a: int + None,") + "-    b: int | None,\n+    b: int + None,\n"
    assert not mutation.equivalent("core/ReplaceBinaryOperator_BitOr_Add", diff)


def _item(job: str, line: int, operator: str, outcome: str | None, diff: str = "") -> str:
    mutations = [{"module_path": "src/m.py", "operator_name": operator, "occurrence": 0, "start_pos": [line, 4]}]
    result = None if outcome is None else {"test_outcome": outcome, "diff": diff}
    return json.dumps([{"job_id": job, "mutations": mutations}, result])


def test_survivors_lists_each_survivor_with_its_diff_and_counts_the_equivalent() -> None:
    annotation = _diff("def f() -> int | None:", "def f() -> int + None:")
    real = _diff("    return a < b", "    return a <= b")
    dump = "\n".join(
        [
            _item("a", 3, "core/ReplaceBinaryOperator_BitOr_Add", "survived", annotation),
            _item("b", 9, "core/ReplaceComparisonOperator_Lt_LtE", "SURVIVED", real),
            _item("c", 12, "core/NumberReplacer", "killed", real),
            _item("d", 14, "core/NumberReplacer", None),  # not run yet
        ]
    )
    lines, same = mutation.survivors(dump)
    assert same == 1
    assert lines[0] == "src/m.py:3 core/ReplaceBinaryOperator_BitOr_Add #0 (equivalent: an annotation or a memo's size)"
    assert lines[1] == annotation.strip()
    assert lines[2] == "src/m.py:9 core/ReplaceComparisonOperator_Lt_LtE #0"
    assert lines[3] == real.strip()
    assert len(lines) == 4


def _session(path: Path, outcomes: list[str | None]) -> None:
    con = sqlite3.connect(path)
    with con:
        con.execute("CREATE TABLE work_items (job_id VARCHAR PRIMARY KEY)")
        con.execute("CREATE TABLE mutation_specs (module_path VARCHAR, job_id VARCHAR PRIMARY KEY)")
        con.execute("CREATE TABLE work_results (test_outcome VARCHAR, diff TEXT, job_id VARCHAR PRIMARY KEY)")
        for i, outcome in enumerate(outcomes):
            job = f"{i:04d}"
            con.execute("INSERT INTO work_items VALUES (?)", (job,))
            con.execute("INSERT INTO mutation_specs VALUES ('m.py', ?)", (job,))
            if outcome is not None:
                con.execute("INSERT INTO work_results VALUES (?, '', ?)", (outcome, job))
    con.close()


def test_outcomes_count_killed_and_survived_whatever_the_case(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    _session(db, ["KILLED", "killed", "SURVIVED", "incompetent", None])
    assert mutation.outcomes(db) == (2, 1)


def test_forget_survivors_leaves_the_killed(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    _session(db, ["KILLED", "SURVIVED", "survived", "KILLED"])
    mutation.forget_survivors(db)
    assert mutation.outcomes(db) == (2, 0)
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM work_items").fetchone() == (4,)  # still to be run again
    con.close()


def test_keep_every_keeps_one_in_n_items_and_their_specs(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    _session(db, [None] * 10)
    mutation.keep_every(db, 3)
    con = sqlite3.connect(db)
    items = [r[0] for r in con.execute("SELECT job_id FROM work_items ORDER BY job_id")]
    specs = [r[0] for r in con.execute("SELECT job_id FROM mutation_specs ORDER BY job_id")]
    con.close()
    assert items == specs == ["0000", "0003", "0006", "0009"]


def test_baseline_names_the_failure_before_any_mutant_runs(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("def test_x():\n    assert 1 == 2\n")
    # no .pyc: the second test_x.py has the first one's size and often its mtime second, and
    # Python would run the stale bytecode of the failing one (a flaky failure, 1 run in 3)
    env = {"PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    with pytest.raises(SystemExit, match=r"the tests fail before any mutation \(test_x.py\)"):
        mutation._baseline("test_x.py", tmp_path, env)
    (tmp_path / "test_x.py").write_text("def test_x():\n    assert 1 == 1\n")
    mutation._baseline("test_x.py", tmp_path, env)
