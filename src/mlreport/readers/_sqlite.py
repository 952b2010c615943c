"""Opening an ``mlflow.db`` without touching anything beside it, and reading it table by table.

Two concerns, both about a database that is not ours:

- **Nothing beside the file is created or changed.** ``immutable=1`` takes no locks and never
  creates ``-wal``/``-shm`` files, but it ignores a ``-wal`` (committed rows there would be lost)
  and a hot ``-journal``. A plain read-only connection reads them, but creates ``-shm`` when it
  is missing and writes read marks into an existing one, under a live writer's feet. So when
  any side file exists, the database and its side files are copied into a private temporary
  folder (checked to have been stable while they were copied) and the copy is opened; SQLite
  recovers the WAL or rolls back the hot journal in the copy, as the writer would.
- **A fault boundary per table and per row.** A table whose pages are damaged, a column an
  older or edited schema lacks, or text that is not UTF-8 costs one Problem, never the database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

SIDE_FILES = ("-wal", "-journal")
_COPY_ATTEMPTS = 5
#: At most this many decoding or cell problems are reported per table; the rest are counted.
MAX_ROW_PROBLEMS = 20


class ChangingDatabase(sqlite3.DatabaseError):
    """The database kept changing while it was being copied."""


def _signature(path: Path) -> tuple[object, ...]:
    """What a writer changes when it commits or checkpoints (not a WAL growing at its end:
    frames appended past the last commit we copied are ignored by their checksums)."""
    out: list[object] = []
    for suffix, head in (("", 100), ("-wal", 32), ("-journal", 28)):
        p = path.with_name(path.name + suffix)
        try:
            st = os.stat(p)
            with open(p, "rb") as f:
                header = f.read(head)
        except FileNotFoundError:
            out.append(None)
            continue
        # a WAL grows while a writer appends; only its header (salts, checkpoint count) matters
        out.append((header, None if suffix == "-wal" else (st.st_size, st.st_mtime_ns)))
    return tuple(out)


def _copy_stable(path: Path, into: Path) -> Path:
    for _ in range(_COPY_ATTEMPTS):
        before = _signature(path)
        target = into / path.name
        shutil.copyfile(path, target)
        for suffix in SIDE_FILES:
            side = path.with_name(path.name + suffix)
            with contextlib.suppress(FileNotFoundError):
                shutil.copyfile(side, into / (path.name + suffix))
        if _signature(path) == before:
            return target
        for p in into.iterdir():
            p.unlink()
    raise ChangingDatabase(f"the database changed on each of {_COPY_ATTEMPTS} attempts to copy it; try again")


def _uri(path: Path, query: str) -> str:
    return f"file:{quote(str(path.resolve()))}?{query}"


@contextlib.contextmanager
def open_snapshot(path: Path) -> Iterator[Callable[[], sqlite3.Connection]]:
    """Yield a function that opens a connection to a consistent, private view of ``path``.

    The first connection checks that the file is a database (``sqlite3.DatabaseError``).
    Raises :class:`ChangingDatabase` when no stable copy could be taken.
    """
    if not any(path.with_name(path.name + s).exists() for s in SIDE_FILES):
        before = _signature(path)

        def connect_in_place() -> sqlite3.Connection:
            return sqlite3.connect(_uri(path, "mode=ro&immutable=1"), uri=True, check_same_thread=False)

        yield connect_in_place
        if _signature(path) != before:
            # A writer started while we read in place: what was read may mix two states.
            raise ChangingDatabase("the database changed while it was read; read it again for a consistent view")
        return
    with tempfile.TemporaryDirectory(prefix="mlreport-sqlite-") as tmp:
        copy = _copy_stable(path, Path(tmp))

        def connect_copy() -> sqlite3.Connection:
            # read-write on our own copy: SQLite may need to recover the WAL or roll back a journal
            return sqlite3.connect(_uri(copy, "mode=rw"), uri=True, check_same_thread=False)

        first = connect_copy()
        try:
            first.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            first.close()
        yield connect_copy


class Tables:
    """Rows of an SQLite database, read with a fault boundary per table and per row.

    Problems are appended to ``problems`` as ``(where, reason)``: ``where`` is ``table`` or
    ``table/<row id>``.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], optional: dict[str, frozenset[str]]) -> None:
        self._connect = connect
        self.conn = connect()
        self._raw: sqlite3.Connection | None = None
        self.optional = optional
        self.problems: list[tuple[str, str]] = []
        self.tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        self._columns: dict[str, set[str]] = {}
        self._reported: set[tuple[str, str]] = set()
        self._row_problems: dict[str, int] = {}

    def close(self) -> None:
        self.conn.close()
        if self._raw is not None:
            self._raw.close()

    def problem(self, where: str, reason: str) -> None:
        self.problems.append((where, reason))

    def row_problem(self, table: str, row: str, reason: str) -> None:
        n = self._row_problems.get(table, 0) + 1
        self._row_problems[table] = n
        if n <= MAX_ROW_PROBLEMS:
            self.problem(f"{table}/{row}", reason)

    def finish(self) -> None:
        """Count the row problems that were not listed one by one."""
        for table, n in sorted(self._row_problems.items()):
            if n > MAX_ROW_PROBLEMS:
                self.problem(table, f"{n - MAX_ROW_PROBLEMS} more rows with problems not listed")

    def columns(self, table: str) -> set[str]:
        if table not in self._columns:
            cols: set[str] = set()
            if table in self.tables:
                try:
                    cols = {r[1] for r in self.conn.execute(f'PRAGMA table_info("{_ident(table)}")')}
                except sqlite3.DatabaseError as exc:
                    self.problem(table, f"cannot read the schema of table '{table}': {exc}")
            self._columns[table] = cols
        return self._columns[table]

    def has(self, table: str) -> bool:
        return table in self.tables and bool(self.columns(table))

    def rows(
        self,
        table: str,
        wanted: Sequence[str],
        *,
        required: Sequence[str] = (),
        order: str = "",
        where: str = "",
        args: Sequence[object] = (),
        ident: int = 1,
    ) -> list[tuple[Any, ...]]:
        """:meth:`select` as a list, fetched at C speed (``fetchall``) when nothing goes wrong;
        on any error the rows are read again one by one for the fault boundary."""
        sql = self._sql(table, wanted, required, order, where)
        if sql is None:
            return []
        try:
            return self.conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError:
            return list(self.select(table, wanted, required=required, order=order, where=where, args=args, ident=ident))

    def _sql(self, table: str, wanted: Sequence[str], required: Sequence[str], order: str, where: str) -> str | None:
        if table not in self.tables:
            return None
        cols = self.columns(table)
        if not cols:
            return None
        missing = [c for c in required if c not in cols]
        if missing:
            self._once(table, f"table '{table}' has no column {_names(missing)}; the table is not read")
            return None
        optional = self.optional.get(table, frozenset())
        for c in wanted:
            if c not in cols and c not in optional:
                self._once(table, f"table '{table}' has no column '{c}'; read without it")
        columns = ", ".join(f'"{_ident(c)}"' if c in cols else "NULL" for c in wanted)
        sql = f'SELECT {columns} FROM "{_ident(table)}"'
        if where:
            sql += f" WHERE {where}"
        if order:
            sql += f" ORDER BY {order}"
        return sql

    def select(
        self,
        table: str,
        wanted: Sequence[str],
        *,
        required: Sequence[str] = (),
        order: str = "",
        where: str = "",
        args: Sequence[object] = (),
        ident: int = 1,
    ) -> Iterator[tuple[Any, ...]]:
        """Rows of ``table`` as tuples in the order of ``wanted``.

        A wanted column the schema lacks reads as NULL: silently when an older MLflow schema
        lacks it (``optional``), with one Problem otherwise. A missing ``required`` column
        skips the table with a Problem. Text that is not UTF-8 is decoded with U+FFFD in place
        of the bad bytes and named in a Problem; the first ``ident`` columns name the row.
        A damaged table ends its rows with a Problem; rows read before stay read.
        """
        sql = self._sql(table, wanted, required, order, where)
        if sql is None:
            return
        done = 0
        raw = False
        conn = self.conn
        while True:
            try:
                cursor = conn.execute(sql, args)
                if raw:
                    for _ in range(done):  # the rows before the bad one were read already
                        cursor.fetchone()
                    for row in cursor:
                        yield self._decoded(table, row, ident)
                        done += 1
                else:
                    for row in cursor:
                        yield row
                        done += 1
                return
            except sqlite3.OperationalError as exc:
                if raw or "decode" not in str(exc):
                    self._damaged(table, exc, done)
                    return
                # Text that is not UTF-8: read the rest as bytes and decode each cell ourselves.
                conn = self._raw_connection()
                raw = True
            except sqlite3.DatabaseError as exc:
                self._damaged(table, exc, done)
                return

    def _raw_connection(self) -> sqlite3.Connection:
        if self._raw is None:
            self._raw = self._connect()
            self._raw.text_factory = bytes
        return self._raw

    def _decoded(self, table: str, row: tuple[Any, ...], ident: int) -> tuple[Any, ...]:
        out = list(row)
        bad = []
        for i, cell in enumerate(out):
            if isinstance(cell, bytes):
                try:
                    out[i] = cell.decode("utf-8")
                except UnicodeDecodeError:
                    out[i] = cell.decode("utf-8", errors="replace")
                    bad.append(i)
        if bad:
            name = "/".join(str(c) for c in out[:ident])
            self.row_problem(table, name, "text is not UTF-8; invalid bytes shown as U+FFFD")
        return tuple(out)

    def _damaged(self, table: str, exc: sqlite3.Error, done: int) -> None:
        after = f" after {done} rows" if done else ""
        self.problem(table, f"table '{table}' cannot be read{after}: {exc}; the rest of it is skipped")

    def _once(self, table: str, reason: str) -> None:
        if (table, reason) not in self._reported:
            self._reported.add((table, reason))
            self.problem(table, reason)


def _ident(name: str) -> str:
    return name.replace('"', '""')


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f"'{c}'" for c in columns)
