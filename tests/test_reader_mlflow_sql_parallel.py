"""An ``mlflow.db`` read in units of runs, here or on the crawl's process pool (issue 12).

Units are contiguous ranges of ``run_uuid`` (``mlflow_sql._units``), the same whatever the
number of jobs: so the records, their order and the Problems must be the same with one job
(every unit read in this process) and with two (units read in worker processes), and a sound
database read in units gives what it gives read whole. ``UNIT_RUNS`` is made small so that the
fixture database (11 runs, written by MLflow) is cut into several units.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mlreport import catalog, executor
from mlreport.config import Config, SourceConfig
from mlreport.crawl import clean_record
from mlreport.readers import ReadOptions, _sqlite, mlflow_sql
from mlreport.readers.mlflow_sql import MlflowSqlReader
from mlreport.stores import LocalStore

from .test_safety_sqlite import _garbage, _pages

V3 = Path(__file__).parent / "data" / "mlflow" / "v3_sqlite"
TABLES = ("runs", "tags", "params", "metrics", "latest_metrics")


def _copy(tmp_path: Path, name: str = "v3") -> Path:
    dest = tmp_path / name
    shutil.copytree(V3, dest)
    return dest


def _hostile(root: Path) -> None:
    """Rows a hand or a tool may leave: tags and params of a run with no runs row, text that is
    not UTF-8, a metric value that is not a number, a step past int64."""
    conn = sqlite3.connect(root / "mlflow.db")
    uuids = [r[0] for r in conn.execute("SELECT run_uuid FROM runs ORDER BY run_uuid")]
    conn.execute("INSERT INTO tags (key, value, run_uuid) VALUES ('mlflow.runName', 'lost-row', ?)", ("5" * 32,))
    conn.execute("INSERT INTO params (key, value, run_uuid) VALUES ('lr', '0.1', ?)", ("5" * 32,))
    conn.execute(
        "UPDATE tags SET value = CAST(x'ff41' AS TEXT) WHERE run_uuid = ? AND key = 'mlflow.user'", (uuids[3],)
    )
    conn.execute(
        "UPDATE metrics SET value = 'abc' WHERE run_uuid = ? AND rowid = (SELECT min(rowid) FROM metrics WHERE run_uuid = ?)",
        (uuids[6], uuids[6]),
    )
    conn.execute(
        "UPDATE metrics SET step = 99999999999999999999 WHERE run_uuid = ? AND rowid = (SELECT max(rowid) FROM metrics WHERE run_uuid = ?)",
        (uuids[8], uuids[8]),
    )
    conn.commit()
    conn.close()


def _records(root: Path, jobs: int) -> list[str]:
    store = LocalStore(root, str(root))
    return [repr(clean_record(r)) for r in MlflowSqlReader().read(store, "mlflow.db", ReadOptions(jobs=jobs))]


def _catalog(root: Path, jobs: int) -> dict[str, Any]:
    logging.disable(logging.CRITICAL)
    try:
        cfg = Config(sources=(SourceConfig(str(root)),), include_deleted=True, jobs=jobs)
        return catalog.to_jsonable(catalog.read_catalog(cfg))
    finally:
        logging.disable(logging.NOTSET)


@pytest.fixture
def small_units(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Units of 2 runs; the functions the Executor's pools were asked to run, by name."""
    monkeypatch.setattr(mlflow_sql, "UNIT_RUNS", 2)
    pooled: list[str] = []
    original = executor.Executor.map

    def recording(self: executor.Executor, fn: Any, items: Any, **kw: Any) -> Any:
        if self.jobs > 1:
            pooled.append(fn.__name__)
        return original(self, fn, items, **kw)

    monkeypatch.setattr(executor.Executor, "map", recording)
    return pooled


def test_units_hold_every_row_of_every_table_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """_units: ranges that SQLite itself tells apart, so each row of each run table (rows with
    no run_uuid, and ids that are not a run's, included) is in exactly one unit."""
    root = _copy(tmp_path)
    _hostile(root)
    monkeypatch.setattr(mlflow_sql, "UNIT_RUNS", 2)
    with _sqlite.open_snapshot(root / "mlflow.db") as connect:
        tables = _sqlite.Tables(connect, {})
        units = mlflow_sql._units(tables, 11)
        assert len(units) == 7 and units[0] == ('"run_uuid" IS NULL', ())
        for table in TABLES:
            every = tables.conn.execute(f"SELECT rowid FROM {table} ORDER BY rowid").fetchall()
            parts = [tables.conn.execute(f"SELECT rowid FROM {table} WHERE {w}", a).fetchall() for w, a in units]
            assert sorted(r for part in parts for r in part) == every, table
        monkeypatch.setattr(mlflow_sql, "UNIT_RUNS", 11)
        assert mlflow_sql._units(tables, 11) == [("", ())]  # small: the whole tables
        tables.close()


@pytest.mark.parametrize("hostile", [False, True])
def test_the_same_records_in_the_same_order_whatever_the_job_count(
    tmp_path: Path, small_units: list[str], hostile: bool
) -> None:
    root = _copy(tmp_path)
    if hostile:
        _hostile(root)
    one = _records(root, 1)
    assert not small_units
    two = _records(root, 2)
    assert small_units == ["_read_unit_pooled"]  # the units were read in worker processes
    assert two == one
    assert sum(r.startswith("Run(") for r in one) == 9 + hostile  # 11, 2 of them deleted
    if hostile:  # each of them a Problem, in the workers too
        problems = [r for r in one if r.startswith("Problem(")]
        assert len(problems) == 4, problems
    # and what the database read whole gives (these rows are no unit's edge)
    mlflow_sql.UNIT_RUNS = 10**9
    assert _records(root, 1) == one


def test_damaged_pages_are_problems_in_the_workers_too(tmp_path: Path, small_units: list[str]) -> None:
    """Garbage over each page of the run tables in turn: read in units on the pool, the catalog
    is what one job reads, and the reader never stops."""
    pages = [p for p, (owner, _kind, _n) in _pages(V3 / "mlflow.db").items() if owner in TABLES]
    assert pages
    for page in pages:
        root = _copy(tmp_path, f"p{page}")
        _garbage(root / "mlflow.db", page)
        one, two = _catalog(root, 1), _catalog(root, 2)
        assert two == one, page
        assert not [p for p in one["problems"] if "stopped" in p["reason"]], page
    assert "_read_unit_pooled" in small_units
