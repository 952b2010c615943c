"""Garbage in one page of an SQLite database costs the rows on that page (issue 11, F10).

Each test writes random bytes over one page of a real ``mlflow.db`` (written by MLflow, see
tests/data/mlflow/README.md) or of a database made here with many pages, and checks what the
reader still gets: an index page costs nothing, a table leaf its own rows (the rest of the
table is read past it, or all of it from a covering index), a page of the table list the
tables listed on it; the file is never written.
"""

from __future__ import annotations

import hashlib
import logging
import random
import shutil
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mlreport import catalog
from mlreport.config import Config, SourceConfig
from mlreport.readers import _sqlite

from .fuzz import harness

DATA = Path(__file__).parent / "data" / "mlflow"
V2 = DATA / "v2_sqlite"


def _pages(db: Path) -> dict[int, tuple[str, str, int]]:
    """page number -> (owner, page type, cells), from SQLite's own dbstat."""
    conn = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
    try:
        return {p: (n, t, c) for n, p, t, c in conn.execute("SELECT name, pageno, pagetype, ncell FROM dbstat")}
    finally:
        conn.close()


def _garbage(db: Path, page: int, size: int = 4096) -> None:
    rng = random.Random(page)
    with open(db, "r+b") as f:
        f.seek((page - 1) * size)
        f.write(bytes(rng.randrange(256) for _ in range(size)))


def _read(root: Path) -> tuple[dict[str, Any], Counter[tuple[object, ...]]]:
    logging.disable(logging.CRITICAL)
    try:
        doc = catalog.to_jsonable(
            catalog.read_catalog(Config(sources=(SourceConfig(str(root)),), include_deleted=True))
        )
    finally:
        logging.disable(logging.NOTSET)
    return doc, harness.records(doc)


def _copy(tmp_path: Path, name: str = "s") -> Path:
    dest = tmp_path / name
    shutil.copytree(V2, dest)
    return dest


def _emptied(tmp_path: Path, table: str) -> Counter[tuple[object, ...]]:
    """The records left when ``table`` has no rows at all (the bound for one of its pages)."""
    root = _copy(tmp_path, f"empty-{table}")
    conn = sqlite3.connect(root / "mlflow.db")
    conn.execute(f'DELETE FROM "{table}"')
    conn.commit()
    conn.close()
    return _read(root)[1]


PAGES = _pages(V2 / "mlflow.db")


def test_no_page_costs_more_than_its_table(tmp_path: Path) -> None:
    """Every page of v2_sqlite in turn: an index page costs nothing; a table page at most
    what emptying its table costs."""
    base = _read(_copy(tmp_path, "base"))[1]
    root = _copy(tmp_path)
    db = root / "mlflow.db"
    pristine = db.read_bytes()
    bounds: dict[str, Counter[tuple[object, ...]]] = {}
    worse = []
    index_pages = 0
    for page, (owner, _kind, _cells) in sorted(PAGES.items()):
        if owner == "sqlite_schema" or page == 1:
            continue  # the table list: test_a_damaged_table_list_page_costs_the_tables_listed_there
        _garbage(db, page)
        gone = harness.lost(base, _read(root)[1])
        db.write_bytes(pristine)
        conn = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
        table = conn.execute("SELECT tbl_name, type FROM sqlite_master WHERE name = ?", (owner,)).fetchone()
        conn.close()
        if table[1] == "index":
            index_pages += 1
            if gone:
                worse.append(f"page {page} (index {owner}): {sorted(map(str, gone))[:3]}")
            continue
        if owner not in bounds:
            bounds[owner] = harness.lost(base, _emptied(tmp_path, owner))
        beyond = gone - bounds[owner]
        if beyond:
            worse.append(f"page {page} (table {owner}): beyond its table: {sorted(map(str, beyond))[:3]}")
    assert index_pages > 10
    assert not worse, "\n".join(worse)


def test_a_damaged_leaf_costs_its_rows_and_the_rest_is_read_past_it(tmp_path: Path) -> None:
    """A table of many leaves, three of them damaged (the first, one inside, the last):
    exactly the rows on them are lost, the reads step past each."""
    db = tmp_path / "many.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, value TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i * 3, f"n{i}", "x" * 200) for i in range(3000)])
    conn.commit()
    conn.close()
    leaves = sorted(p for p, (owner, kind, _) in _pages(db).items() if owner == "t" and kind == "leaf")
    assert len(leaves) > 100
    damaged = [leaves[0], leaves[len(leaves) // 2], leaves[-1]]
    lost = sum(_pages(db)[p][2] for p in damaged)
    for page in damaged:
        _garbage(db, page)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    with _sqlite.open_snapshot(db) as connect:
        tables = _sqlite.Tables(connect, {})
        rows = tables.rows("t", ["id", "name"], order="id")
        ordered = list(tables.select("t", ["id", "name"], order="id"))
        one = tables.rows("t", ["id", "name"], where="name = ?", args=("n1500",))
        tables.close()
    assert len(rows) == 3000 - lost and ordered == rows
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert one == [(4500, "n1500")] or 4500 not in {r[0] for r in rows}
    [(where, reason)] = tables.problems
    assert where == "t" and f"{3000 - lost} rows read, past 3 damaged stretches of rowids" in reason
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_metrics_come_back_from_the_covering_index(tmp_path: Path) -> None:
    """Garbage in the metrics table's only leaf: every point is read from the primary-key
    index, which holds every column of a metric row."""
    root = _copy(tmp_path)
    base_doc, base = _read(_copy(tmp_path, "base"))
    [leaf] = [p for p, (owner, kind, _) in PAGES.items() if owner == "metrics" and kind == "leaf"]
    _garbage(root / "mlflow.db", leaf)
    doc, got = _read(root)
    assert harness.lost(base, got) == Counter()
    reasons = [p["reason"] for p in doc["problems"]]
    assert any("from index 'sqlite_autoindex_metrics_1'" in r and "table 'metrics'" in r for r in reasons), reasons


def test_a_damaged_table_list_page_costs_the_tables_listed_there(tmp_path: Path) -> None:
    """A leaf of sqlite_schema: SQLite refuses the whole database; the reader repairs a private
    copy and reads the tables listed on the other pages."""
    base = _read(_copy(tmp_path, "base"))[1]
    schema_leaves = sorted(p for p, (owner, kind, _) in PAGES.items() if owner == "sqlite_schema" and kind == "leaf")
    root = _copy(tmp_path)
    db = root / "mlflow.db"
    pristine = db.read_bytes()
    conn = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
    all_tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    kept_some = 0
    for page in schema_leaves:
        _garbage(db, page)
        before = set(root.iterdir())
        doc, got = _read(root)
        assert db.read_bytes() != pristine and set(root.iterdir()) == before  # never written
        reasons = [p["reason"] for p in doc["problems"]]
        assert any(f"the table list is damaged (page {page})" in r for r in reasons), reasons
        if any(k[0] == "run" for k in got):
            kept_some += 1
            assert sum(harness.lost(base, got).values()) < sum(base.values())
        db.write_bytes(pristine)
    assert kept_some >= 2  # one leaf lists experiments and runs: without them nothing is a run
    assert len(all_tables) > 15


def test_repair_leaves_a_sound_table_list_alone(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    shutil.copyfile(V2 / "mlflow.db", db)
    assert _sqlite.repair_schema(db) == []
    assert db.read_bytes() == (V2 / "mlflow.db").read_bytes()


def test_repair_gives_up_on_a_damaged_file_header(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    data = bytearray((V2 / "mlflow.db").read_bytes())
    data[100:112] = b"\xff" * 12  # the table list's root page header
    db.write_bytes(bytes(data))
    assert _sqlite.repair_schema(db) == []
    assert db.read_bytes() == bytes(data)


@pytest.mark.parametrize("page", sorted(p for p, (o, _, _) in PAGES.items() if o.startswith("index_")))
def test_an_index_page_costs_nothing_at_all(tmp_path: Path, page: int) -> None:
    base = _read(_copy(tmp_path, "base"))[1]
    root = _copy(tmp_path)
    _garbage(root / "mlflow.db", page)
    assert harness.lost(base, _read(root)[1]) == Counter()


# ---------------------------------------------------------------------------------------------
# issue 11: what hangs on a lost runs row is still a run; issue 12: one streamed query per table

V3 = DATA / "v3_sqlite"


def _v3(tmp_path: Path, name: str = "v3") -> Path:
    dest = tmp_path / name
    shutil.copytree(V3, dest)
    return dest


def test_rows_whose_run_row_is_gone_are_still_a_run(tmp_path: Path) -> None:
    """A run's row deleted by hand: its params, metrics and tags are a run still, with its name
    (mlflow.runName), its experiment and artifacts (found by its folder), and one Problem."""
    base_doc, base = _read(_v3(tmp_path, "base"))
    root = _v3(tmp_path)
    conn = sqlite3.connect(root / "mlflow.db")
    uuid, exp_id = conn.execute("SELECT run_uuid, experiment_id FROM runs WHERE name = 'baseline'").fetchone()
    conn.execute("DELETE FROM runs WHERE run_uuid = ?", (uuid,))
    conn.commit()
    conn.close()
    doc, got = _read(root)
    lost = harness.lost(base, got)
    assert lost == Counter(), lost
    run = next(r for r in doc["runs"] if r["key"] == uuid)
    assert run["name"] == "baseline" and run["status"] == "UNKNOWN" and run["start_time"] is None
    assert run["experiment_key"] == f"exp:{exp_id}"
    reasons = [p["reason"] for p in doc["problems"]]
    assert reasons == [
        f"table 'runs' has no row for them: 1 run ({uuid}) recovered from their params, metrics and tags,"
        " without status, times or user (the experiment and artifacts found by their folder where it exists)"
    ]


def test_garbage_in_the_runs_tables_only_leaf_loses_no_param_metric_or_tag(tmp_path: Path) -> None:
    """The runs table's only leaf of random bytes: every run that has params, metrics or tags
    comes back from them (before: every run, param, metric and tag of the store was lost)."""
    base = _read(_v3(tmp_path, "base"))[1]
    root = _v3(tmp_path)
    db = root / "mlflow.db"
    [leaf] = [p for p, (owner, kind, _) in _pages(V3 / "mlflow.db").items() if owner == "runs" and kind == "leaf"]
    _garbage(db, leaf)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    doc, got = _read(root)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    lost = harness.lost(base, got)
    assert not [k for k in lost if k[0] in ("params", "tags", "metric", "point")], sorted(map(str, lost))[:5]
    reasons = [p["reason"] for p in doc["problems"]]
    assert any(r.startswith("table 'runs' has its rows unreadable: ") for r in reasons), reasons


def test_each_table_is_read_by_one_query_in_run_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs are merged with their rows in one pass: one SELECT per table (it was three
    per run), whatever the number of runs."""
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(_sqlite.sqlite3, "connect", traced)
    _read(_v3(tmp_path))
    selects = Counter(
        s.split(" FROM ")[1].split()[0].strip('"')
        for s in statements
        if s.startswith("SELECT ") and " FROM " in s and "count(*)" not in s
    )
    for table in ("runs", "params", "tags", "metrics"):
        assert selects[table] == 1, selects
    # the points without their run_uuid and key, and the count of each (run_uuid, key) group
    assert 'SELECT "step", "timestamp", "value", "is_nan" FROM "metrics" ORDER BY run_uuid, "key", step' in statements
    assert (
        'SELECT "run_uuid", "key", count(*) FROM "metrics" GROUP BY "run_uuid", "key" ORDER BY "run_uuid", "key"'
        in statements
    )


def _grouped_table(db: Path, index: bool = True, bad_at: int | None = None) -> list[tuple[Any, ...]]:
    """A metrics-like table of 40 groups (run, key) of 1-30 rows, inserted in random order; the
    row ``bad_at`` (in group order) holds text that is not UTF-8. Returns the rows in order."""
    rng = random.Random(3)
    rows = [
        (f"r{r:02d}", f"k{k}", step, f"v{r}.{k}.{step}")
        for r in range(10)
        for k in range(4)
        for step in range(rng.randrange(1, 30))
    ]
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE m (run TEXT, key TEXT, step INTEGER, v TEXT)")
    if index:
        conn.execute("CREATE INDEX m_run_key_step ON m (run, key, step)")
    shuffled = rows[:]
    rng.shuffle(shuffled)
    conn.executemany("INSERT INTO m VALUES (?, ?, ?, ?)", shuffled)
    if bad_at is not None:
        run, key, step, _ = rows[bad_at]
        conn.execute("UPDATE m SET v = CAST(x'ff41' AS TEXT) WHERE run = ? AND key = ? AND step = ?", (run, key, step))
        rows[bad_at] = (run, key, step, "\ufffdA")
    conn.commit()
    conn.close()
    return rows


def _groups(db: Path) -> tuple[list[tuple[Any, ...]], list[str], list[tuple[str, str]]]:
    statements: list[str] = []
    with _sqlite.open_snapshot(db) as connect:
        tables = _sqlite.Tables(connect, {})
        tables.conn.set_trace_callback(statements.append)
        got = list(tables.groups("m", ["run", "key"], ["step", "v"], order='run, "key", step'))
        tables.close()
    return got, statements, tables.problems


def _expected_groups(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    from itertools import groupby

    return [(key, [r[2:] for r in group]) for key, group in groupby(rows, lambda r: r[:2])]


def test_groups_come_from_the_counts_and_the_rows_without_their_keys(tmp_path: Path) -> None:
    """Tables.groups on an index of the order: the rows query selects no key column, and the
    groups are the ordered rows grouped (the fast path of the metrics, issue 12)."""
    rows = _grouped_table(tmp_path / "g.db")
    got, statements, problems = _groups(tmp_path / "g.db")
    assert got == _expected_groups(rows) and not problems
    assert 'SELECT "step", "v" FROM "m" ORDER BY run, "key", step' in statements, statements


def test_groups_without_an_index_of_their_order_are_read_whole(tmp_path: Path) -> None:
    """No index gives the order (the counts and the rows might be sorted apart): one query of
    the keys and the columns, grouped in Python; the same groups."""
    rows = _grouped_table(tmp_path / "g.db", index=False)
    got, statements, problems = _groups(tmp_path / "g.db")
    assert got == _expected_groups(rows) and not problems
    assert not any(s.startswith('SELECT "step", "v" FROM') for s in statements), statements
    assert 'SELECT "run", "key", "step", "v" FROM "m" ORDER BY run, "key", step' in statements


@pytest.mark.parametrize("bad_at", [0, 1, 200, -1])
def test_groups_cut_short_go_on_from_where_they_stopped(tmp_path: Path, bad_at: int) -> None:
    """Text that is not UTF-8 in one row stops the two queries there: the rest comes from the
    careful select, from the first row not yet handed out; no group twice, none lost."""
    rows = _grouped_table(tmp_path / "g.db")
    at = bad_at % len(rows)
    rows = _grouped_table(tmp_path / "bad.db", bad_at=at)
    got, _statements, problems = _groups(tmp_path / "bad.db")
    assert got == _expected_groups(rows)
    run, key, step, _ = rows[at]
    assert problems == [(f"m/{run}", "text is not UTF-8; invalid bytes shown as U+FFFD")]


def _blocks(db: Path) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    with _sqlite.open_snapshot(db) as connect:
        tables = _sqlite.Tables(connect, {})
        got = list(tables.blocks("m", ["run", "key"], ["step", "v"], order='run, "key", step'))
        tables.close()
    return got, tables.problems


def _expected_blocks(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    from itertools import groupby

    out = []
    for run, block in groupby(rows, lambda r: r[0]):
        block_rows = list(block)
        sizes = [(*key, len(list(g))) for key, g in groupby(block_rows, lambda r: r[:2])]
        out.append((run, (sizes, [r[2:] for r in block_rows])))
    return out


@pytest.mark.parametrize(("index", "bad_at"), [(True, None), (False, None), (True, 0), (True, 200), (True, -1)])
def test_blocks_are_a_runs_groups_back_to_back(tmp_path: Path, index: bool, bad_at: int | None) -> None:
    """Tables.blocks: a run's (run, key, count) groups and their rows back to back, on the fast
    path, without an index and cut short by text that is not UTF-8 (from the first row not yet
    handed out: no run twice, none lost)."""
    n = len(_grouped_table(tmp_path / "n.db"))
    rows = _grouped_table(tmp_path / "g.db", index=index, bad_at=None if bad_at is None else bad_at % n)
    got, problems = _blocks(tmp_path / "g.db")
    assert got == _expected_blocks(rows)
    assert len(problems) == (bad_at is not None)


def test_a_runs_metrics_at_once_are_each_metric_from_its_columns() -> None:
    """_run_metrics (one run's columns at once) against _column_metric of each metric, or None
    when a metric is not usual (NaN, +-DBL_MAX, steps not increasing), then taken one by one."""
    from itertools import accumulate

    from mlreport.readers.mlflow_sql import _column_metric, _run_metrics

    rng = random.Random(11)
    usual = 0
    for case in range(600):
        sizes, rows = [], []
        for k in range(rng.randrange(1, 6)):
            n = rng.randrange(1, 12)
            start = rng.randrange(-3, 40)
            steps = list(range(start, start + n)) if case % 4 else sorted(rng.randrange(0, 8) for _ in range(n))
            for step in steps:
                value = rng.choice(
                    [0.5, -1.0, 2.0, rng.random(), 3, -2, 1.7976931348623157e308 if case % 7 == 0 else 1.0]
                )
                rows.append((step, rng.choice([-1, 1000 + step]), value, int(case % 5 == 0 and rng.random() < 0.2)))
            sizes.append(("r", f"k{k}", n))
        got = _run_metrics(sizes, rows)
        starts = set(accumulate(n for _run, _key, n in sizes))
        unusual = (
            any(nan for *_, nan in rows)
            or any(abs(value) >= 1.7976931348623157e308 for _s, _t, value, _n in rows)
            or any(rows[i][0] >= rows[i + 1][0] for i in range(len(rows) - 1) if i + 1 not in starts)
        )
        assert (got is None) == unusual, case
        if got is None:
            continue
        at, want = 0, []
        for _run, key, n in sizes:
            want.append(_column_metric(key, rows[at : at + n]))
            at += n
        usual += 1
        assert repr(got) == repr(want), case
    assert usual > 200


def test_a_table_out_of_run_order_is_a_problem_not_a_hang() -> None:
    from mlreport.readers.mlflow_sql import _by_run, _ByRun

    rows = iter([("a", 1), ("c", 2), ("b", 3), ("d", 4)])  # "b" after "c": another collation
    by_run = _ByRun(_by_run(rows), "tags")
    assert by_run.take("a") == [("a", 1)]
    assert by_run.take("b") == []  # its rows are behind "c"
    assert by_run.take("c") == [("c", 2)]
    assert by_run.take("d") == [("d", 4)]
    assert by_run.late == [("b", 1)] and not by_run.live


def test_a_metric_from_its_columns_is_what_from_history_makes() -> None:
    """_column_metric's fast summary against Metric.from_history on the same points, including
    NaN, +-DBL_MAX, integer cells, repeated and unordered steps and ties of the minimum and maximum."""
    import math

    from mlreport.model import Metric
    from mlreport.readers.mlflow_sql import _column_metric, _fix_values, _history

    rng = random.Random(7)
    for case in range(400):
        n = rng.randrange(1, 30)
        steps = sorted(rng.randrange(0, 40) for _ in range(n)) if case % 3 else list(range(n))
        # integers too: a REAL column gives back an int for a whole number stored as one
        values = [rng.choice([0.5, -1.0, 2.0, rng.random(), 1.7976931348623157e308, 3, -2]) for _ in range(n)]
        nans = [int(case % 5 == 0 and rng.random() < 0.2) for _ in range(n)]
        ts = [rng.choice([-1, 1000 + i]) for i in range(n)]
        points = list(zip(steps, ts, values, nans, strict=True))
        from array import array

        want = Metric.from_history("k", _history(steps, ts, _fix_values(array("d", values), nans)))
        got = _column_metric("k", points)
        assert repr(got) == repr(want), (case, got, want)
        assert not math.isnan(got.count)


def test_dirs_answers_is_dir_as_the_store_does_and_stats_each_parent_once(tmp_path: Path) -> None:
    """_Dirs (artifact URIs tried suffix by suffix) says what store.is_dir says for every path,
    doubled and trailing slashes included, and asks the store about a parent only once."""
    from mlreport.readers.mlflow_sql import _Dirs
    from mlreport.stores import LocalStore

    for folder in ("a/b/c", "a/d", "e"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / "a" / "f").write_text("x")
    store = LocalStore(tmp_path, str(tmp_path))
    asked: Counter[str] = Counter()
    is_dir = store.is_dir

    def counted(path: str) -> bool:
        asked[path] += 1
        return is_dir(path)

    store.is_dir = counted  # type: ignore[method-assign]
    dirs = _Dirs(store)
    paths = ["a", "a/b", "a/b/c", "a/b/c/", "a//b", "a/f", "a/f/g", "a/x/y/z", "x/a/b", "e", "e/", "a/d/../b", ""]
    for path in paths * 2:
        assert dirs.is_dir(path) == is_dir(path), path
    assert asked["x"] == 1 and asked["a/x"] == 1  # a parent: once, however often it is asked about
    assert asked["a/x/y"] == 0 and asked["x/a"] == 0  # nothing below a parent that is no folder
    assert asked["a"] == 1 + 2 and asked["a/f"] == 1 + 2  # a path itself: each time (and once as a parent)
