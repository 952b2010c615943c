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
- **A damaged page costs the rows on it, not the table.** When a query fails on a damaged page
  (of the table or of the index its plan used), the table is *salvaged* once: scanned in rowid
  ranges that step past each damaged leaf (a seek for ``rowid >= X`` descends from the root
  straight to the leaf holding ``X``, so it never reads the damaged one), then completed from
  any index that holds every column (an index entry carries its row's rowid, so a covering index
  scan never reads a table page). Queries on a salvaged table are answered from those rows.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain, groupby, islice
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import tempfiles

SIDE_FILES = ("-wal", "-journal")
_COPY_ATTEMPTS = 5
#: Rows fetched at a time by :meth:`Tables.select` (a few hundred kB of tuples at most).
CHUNK_ROWS = 1024
#: At most this many decoding or cell problems are reported per table; the rest are counted.
MAX_ROW_PROBLEMS = 20
_MIN_ROWID, _MAX_ROWID = -(2**63), 2**63 - 1
#: A salvage steps past at most this many damaged stretches of one table (each costs at most
#: a few dozen b-tree seeks), and single-steps at most this many rows before each.
MAX_STRETCHES = 4096
_SINGLE_STEPS = 64
#: ``col = ?`` terms joined by AND, and ORDER BY column lists: what a salvaged table answers.
_WHERE_TERM = re.compile(r'\s*"?(\w+)"?\s*(=|>=|<)\s*\?\s*|\s*"?(\w+)"?\s+IS\s+NULL\s*', re.I)
#: A plan that walks one index in its order, sorting nothing (EXPLAIN QUERY PLAN's detail;
#: "SCAN TABLE" before SQLite 3.36).
_INDEX_SCAN = re.compile(r"(?:SCAN|SEARCH) (?:TABLE )?\S+ USING (?:COVERING )?INDEX (\S+)(?: \(.*\))?")


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


class Connector:
    """Opens connections to one private view of a database; ``notes`` says what was done to
    that view to make it readable (a repaired table list), for the reader's Problems."""

    def __init__(self, path: Path, query: str) -> None:
        self.path = path
        self.uri = _uri(path, query)
        self.notes: list[str] = []

    def __call__(self) -> sqlite3.Connection:
        return sqlite3.connect(self.uri, uri=True, check_same_thread=False)


def _check(connect: Callable[[], sqlite3.Connection]) -> None:
    """Raise ``sqlite3.DatabaseError`` unless SQLite can load the table list."""
    first = connect()
    try:
        first.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except UnicodeDecodeError as exc:
        # SQLite's message quotes a damaged name ("malformed database schema (<bytes>)"),
        # which the sqlite3 module fails to decode: damaged all the same (fuzz, seed 2 case 7658)
        raise sqlite3.DatabaseError(f"malformed database schema (a name that is not UTF-8: {exc.reason})") from exc
    finally:
        first.close()


@contextlib.contextmanager
def open_snapshot(path: Path) -> Iterator[Callable[[], sqlite3.Connection]]:
    """Yield a function that opens a connection to a consistent, private view of ``path``.

    The first connection checks that the file is a database (``sqlite3.DatabaseError``).
    Raises :class:`ChangingDatabase` when no stable copy could be taken. A damaged table list
    (``sqlite_schema``) is repaired in a private copy (:func:`repair_schema`): the tables
    listed on its damaged pages are missing, the others are read.
    """
    if not any(path.with_name(path.name + s).exists() for s in SIDE_FILES):
        before = _signature(path)
        in_place = Connector(path, "mode=ro&immutable=1")
        try:
            _check(in_place)
            damaged = False
        except sqlite3.DatabaseError:
            damaged = True
        if not damaged:
            yield in_place
            if _signature(path) != before:
                # A writer started while we read in place: what was read may mix two states.
                raise ChangingDatabase("the database changed while it was read; read it again for a consistent view")
            return
    with tempfiles.scratch_dir("mlreport-sqlite-") as tmp:
        copy = _copy_stable(path, Path(tmp))
        # read-write on our own copy: SQLite may need to recover the WAL or roll back a journal
        connect_copy = Connector(copy, "mode=rw")
        try:
            _check(connect_copy)
        except sqlite3.DatabaseError:
            with contextlib.suppress(sqlite3.DatabaseError, UnicodeDecodeError):
                conn = connect_copy()  # the WAL's pages into the file, so the repair sees them
                try:
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                finally:
                    conn.close()
            emptied = repair_schema(copy)
            if not emptied:
                raise
            _check(connect_copy)
            pages = ", ".join(str(p) for p in emptied)
            connect_copy.notes.append(
                f"the table list is damaged (page{'s' if len(emptied) > 1 else ''} {pages}): the tables"
                " listed there are missing; the others are read from a repaired private copy"
            )
        yield connect_copy


# ---------------------------------------------------------------------------------------------
# the table list (sqlite_schema), checked page by page


def _varint(buf: bytes, at: int, end: int) -> tuple[int, int]:
    """SQLite's big-endian varint at ``at`` (at most 9 bytes): (value, next offset)."""
    value = 0
    for i in range(9):
        if at + i >= end:
            raise ValueError("varint past the end")
        byte = buf[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise AssertionError("unreachable")


def _serial_size(t: int) -> int:
    return (0, 1, 2, 3, 4, 6, 8, 8, 0, 0, 0, 0)[t] if t < 12 else (t - 12) // 2


def _schema_cell(page: bytes, at: int, usable: int, npages: int) -> tuple[str, str, str] | None:
    """The (type, name, tbl_name) of the table-leaf cell at ``at`` if it is a plausible
    sqlite_schema row: five columns (type, name, tbl_name, rootpage, sql) of the right kinds,
    within the page; None if not."""
    size, at = _varint(page, at, len(page))
    _rowid, at = _varint(page, at, len(page))
    local = size
    if size > usable - 35:
        m = ((usable - 12) * 32 // 255) - 23
        k = m + (size - m) % (usable - 4)
        local = k if k <= usable - 35 else m
        if at + local + 4 > len(page) or not 2 <= int.from_bytes(page[at + local : at + local + 4], "big") <= npages:
            return None
    if at + local > len(page):
        return None
    header, h = _varint(page, at, at + local)
    types = []
    while h < at + min(header, local):
        t, h = _varint(page, h, at + local)
        types.append(t)
    if len(types) != 5 or header > local:
        return None
    kind, name, tbl, root, sql = types
    if not all(t >= 13 and t % 2 for t in (kind, name, tbl)) or root not in (0, 1, 2, 3, 4, 5, 6, 8, 9):
        return None
    if not (sql == 0 or sql >= 13 and sql % 2):
        return None
    body = at + header
    texts = []
    for t in (kind, name, tbl):
        n = _serial_size(t)
        if body + n > at + local:
            return None
        try:
            texts.append(page[body : body + n].decode("utf-8"))
        except UnicodeDecodeError:
            return None
        body += n
    if texts[0] not in ("table", "index", "view", "trigger"):
        return None
    return texts[0], texts[1], texts[2]


@dataclass
class _SchemaPage:
    number: int
    offset: int  # of its b-tree header: 100 on page 1
    data: bytes
    children: list[int]  # interior: the left children in cell order, then the right-most
    cells: list[tuple[str, str, str]]  # leaf: (type, name, tbl_name) in cell order


def _schema_page(page: bytes, number: int, usable: int, npages: int) -> _SchemaPage | None:
    """A sqlite_schema b-tree page, parsed (None: it is damaged)."""
    offset = 100 if number == 1 else 0
    try:
        kind = page[offset]
        if kind not in (0x05, 0x0D):
            return None
        ncells = int.from_bytes(page[offset + 3 : offset + 5], "big")
        head = offset + (12 if kind == 0x05 else 8)
        if head + 2 * ncells > usable:
            return None
        out = _SchemaPage(number, offset, page, [], [])
        for i in range(ncells):
            cell = int.from_bytes(page[head + 2 * i : head + 2 * i + 2], "big")
            if not head + 2 * ncells <= cell < usable:
                return None
            if kind == 0x05:
                child = int.from_bytes(page[cell : cell + 4], "big")
                if not 2 <= child <= npages:
                    return None
                out.children.append(child)
            else:
                row = _schema_cell(page[:usable], cell, usable, npages)
                if row is None:
                    return None
                out.cells.append(row)
        if kind == 0x05:
            right = int.from_bytes(page[offset + 8 : offset + 12], "big")
            if not 2 <= right <= npages:
                return None
            out.children.append(right)
        return out
    except (ValueError, IndexError):
        return None


def repair_schema(path: Path) -> list[int]:
    """Unlink the damaged pages of the table list in ``path`` (a private copy), so that SQLite
    loads the tables listed on its sound pages. Returns the page numbers dropped (none: the list
    looked sound, or the file header is damaged, which this cannot repair).

    A damaged page is dropped from its parent's child pointers (SQLite refuses an empty child
    page, so it cannot be emptied in place). What the lost rows leave inconsistent goes too:
    an index whose table is gone, and whatever SQLite then names as malformed; a table whose
    automatic index was on a dropped page (SQLite names neither) is found by trying the tables
    just before each dropped page.
    """
    with open(path, "r+b") as f:
        header = f.read(100)
        if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
            return []
        size = int.from_bytes(header[16:18], "big")
        size = 65536 if size == 1 else size
        if size < 512 or size & (size - 1):
            return []
        usable = size - header[20]
        npages = os.fstat(f.fileno()).st_size // size
        pages: dict[int, _SchemaPage] = {}
        order: list[int] = []  # the leaves, in key order
        dropped: list[int] = []
        todo = [1]
        while todo:
            number = todo.pop()
            if number in pages or number in dropped:
                dropped.append(number)  # a loop in damaged child pointers
                continue
            f.seek((number - 1) * size)
            page = _schema_page(f.read(size), number, usable, npages)
            if page is None:
                dropped.append(number)
                order.append(-number)
                continue
            pages[number] = page
            if page.children:
                todo.extend(reversed(page.children))
            else:
                order.append(number)
        if not dropped:
            return []
        cells = [c for n in order if n > 0 for c in pages[n].cells]
        tables = {name for kind, name, _ in cells if kind == "table"}
        remove = {name for kind, name, tbl in cells if kind != "table" and tbl not in tables}
        # the tables just before a dropped page: their automatic index may have been on it
        suspects = []
        for i, n in enumerate(order):
            if n < 0 and i > 0 and order[i - 1] > 0:
                suspects += [name for kind, name, _ in reversed(pages[order[i - 1]].cells) if kind == "table"][:1]
        for _ in range(len(cells) + 1):
            _write_schema(f, size, usable, pages, set(dropped), remove)
            f.flush()
            error = _schema_error(path)
            if error is None:
                return sorted(set(dropped))
            named = re.search(r"malformed database schema \((.+?)\)", error)
            if named and named.group(1) not in remove and any(c[1] == named.group(1) for c in cells):
                remove.add(named.group(1))
                remove |= {name for kind, name, tbl in cells if tbl == named.group(1)}
            elif suspects:
                table = suspects.pop(0)
                remove |= {name for _, name, tbl in cells if table in (name, tbl)}
            else:
                break
        for page in pages.values():  # not repaired: leave the copy as it was
            f.seek((page.number - 1) * size)
            f.write(page.data)
        return []


def _schema_error(path: Path) -> str | None:
    conn = sqlite3.connect(_uri(path, "mode=ro"), uri=True)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return None
    except sqlite3.DatabaseError as exc:
        return str(exc)
    except UnicodeDecodeError:
        return "malformed database schema (a name that is not UTF-8)"
    finally:
        conn.close()


def _write_schema(
    f: Any, size: int, usable: int, pages: dict[int, _SchemaPage], dropped: set[int], remove: set[str]
) -> None:
    """Write the table list's pages without the ``dropped`` pages and ``remove``d rows."""

    def rebuild(number: int) -> bool:  # False: drop this page from its parent
        if number in dropped or number not in pages:
            return False
        page = pages[number]
        data, offset = bytearray(page.data), page.offset
        if not page.children:
            keep = [i for i, (_, name, _) in enumerate(page.cells) if name not in remove]
            if not keep and number != 1:
                return False
            pointers = [data[offset + 8 + 2 * i : offset + 10 + 2 * i] for i in keep]
            data[offset + 3 : offset + 5] = len(keep).to_bytes(2, "big")
            data[offset + 8 : offset + 8 + 2 * len(keep)] = b"".join(pointers)
        else:
            keep_child = [rebuild(child) for child in page.children]
            ncells = len(page.children) - 1
            cells = [bytes(data[offset + 12 + 2 * i : offset + 14 + 2 * i]) for i in range(ncells)]
            kept = [(cells[i], page.children[i]) for i in range(ncells) if keep_child[i]]
            right = page.children[-1] if keep_child[-1] else None
            if right is None and kept:
                _, right = kept.pop()  # the last kept cell's child becomes the right-most
            if right is None:
                if number != 1:
                    return False
                data[offset : offset + 12] = bytes(12)  # the root lost every child: an empty leaf
                data[offset] = 0x0D
                data[offset + 5 : offset + 7] = (usable % 65536).to_bytes(2, "big")
            else:
                data[offset + 3 : offset + 5] = len(kept).to_bytes(2, "big")
                data[offset + 8 : offset + 12] = right.to_bytes(4, "big")
                data[offset + 12 : offset + 12 + 2 * len(kept)] = b"".join(c for c, _ in kept)
        f.seek((number - 1) * size)
        f.write(bytes(data))
        return True

    rebuild(1)


class Tables:
    """Rows of an SQLite database, read with a fault boundary per table and per row.

    Problems are appended to ``problems`` as ``(where, reason)``: ``where`` is ``table`` or
    ``table/<row id>``.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], optional: dict[str, frozenset[str]]) -> None:
        #: when a list: the problems are recorded here instead, for :meth:`replay` by another
        #: Tables (a unit of a database read on its own, mlflow_sql): ("row", table, row, reason)
        #: uncounted, or ("table", where, reason, "")
        self.events: list[tuple[str, str, str, str]] | None = None
        self._replayed: set[tuple[str, str]] = set()
        self._connect = connect
        self.conn = connect()
        self._raw: sqlite3.Connection | None = None
        self.optional = optional
        self.problems: list[tuple[str, str]] = []
        self.tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for note in getattr(connect, "notes", ()):
            self.problem("sqlite_schema", note)
        self._columns: dict[str, set[str]] = {}
        self._reported: set[tuple[str, str]] = set()
        self._row_problems: dict[str, int] = {}
        self._salvaged: dict[str, _Salvage | None] = {}
        self._cut_short: set[str] = set()

    def unit(self) -> Tables:
        """Another Tables on the same database, for one unit of it read on its own (here or in
        a worker process): its problems are recorded as :attr:`events` for :meth:`replay`."""
        other = Tables(self._connect, self.optional)
        other.problems.clear()  # the table list's notes: this one has them
        other.events = []
        return other

    def close(self) -> None:
        self.conn.close()
        if self._raw is not None:
            self._raw.close()

    def problem(self, where: str, reason: str) -> None:
        if self.events is not None:
            self.events.append(("table", where, reason, ""))
            return
        self.problems.append((where, reason))

    def row_problem(self, table: str, row: str, reason: str) -> None:
        if self.events is not None:
            self.events.append(("row", table, row, reason))
            return
        n = self._row_problems.get(table, 0) + 1
        self._row_problems[table] = n
        if n <= MAX_ROW_PROBLEMS:
            self.problem(f"{table}/{row}", reason)

    def replay(self, events: Sequence[tuple[str, str, str, str]]) -> None:
        """The problems another Tables recorded (:attr:`events`) as if met here, in order: row
        problems counted with this one's, a table's problem once (each unit of a database meets
        the same missing column, or salvages the same damaged table)."""
        for kind, a, b, c in events:
            if kind == "row":
                self.row_problem(a, b, c)
            elif (a, b) not in self._replayed:
                self._replayed.add((a, b))
                self.problem(a, b)

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

    def damaged(self, table: str) -> bool:
        """Whether reading ``table`` met a damaged page (its rows were salvaged, or cut short)."""
        return table in self._salvaged or table in self._cut_short

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
        if table in self._salvaged:
            salvage = self._salvage(table)
            if salvage is not None:
                return list(self._from_salvage(salvage, table, wanted, order, where, args, ident, 0))
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

        The rows come in chunks from ``fetchmany`` and are handed out by ``chain``, so a row
        costs no Python bytecode here; a chunk cut short by an error is lost whole from the
        cursor and read again from where the last whole chunk ended.
        """
        return chain.from_iterable(self._chunks(table, wanted, required, order, where, args, ident))

    def groups(
        self,
        table: str,
        keys: Sequence[str],
        wanted: Sequence[str],
        *,
        order: str,
        required: Sequence[str] = (),
        ident: int = 1,
    ) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
        """The rows of ``table`` in ``order`` (``keys`` first), a group of equal ``keys`` at a
        time: (the keys' values, the group's rows of the ``wanted`` columns).

        Read as two queries that walk the same index in the same order: the keys and row count
        of each group (the index alone), and the ``wanted`` columns without the keys, taken
        ``count`` rows at a time. A row then costs no objects for its keys: in ``metrics``, a
        32-character ``run_uuid`` and a metric name each, a third of the fetch (issue 12).
        Where no index gives the order, a column is missing, or anything goes wrong (damage,
        text that is not UTF-8, counts that do not match), the rest comes from :meth:`select`
        of the keys and columns, grouped here from the first row not yet handed out: the same
        groups, with :meth:`select`'s fault boundary and Problems.
        """
        k = len(keys)
        # the groups of :meth:`blocks` (the same two queries and fallback), one at a time
        for _first, (sizes, rows) in self.blocks(table, keys, wanted, order=order, required=required, ident=ident):
            at = 0
            for size in sizes:
                n = size[k]
                yield size[:k], rows[at : at + n]
                at += n

    def blocks(
        self,
        table: str,
        keys: Sequence[str],
        wanted: Sequence[str],
        *,
        order: str,
        required: Sequence[str] = (),
        ident: int = 1,
        where: str = "",
        args: Sequence[object] = (),
    ) -> Iterator[tuple[Any, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]]:
        """:meth:`groups`, a block of equal first key at a time: (the first key's value, (the
        block's groups as their keys and row count, the block's rows of the ``wanted`` columns,
        back to back in the groups' order)), of the rows ``where`` says (as :meth:`select`).

        In ``metrics`` a block is a run: one ``fetchmany`` of its points and the counts of its
        metrics, so that a run's columns can be taken at once (a run has 8 metrics in a
        10,000-run store: a tenth of the calls, issue 12). The same two queries as
        :meth:`groups` and the same way back to :meth:`select` from the first row not yet
        handed out; the first key's groups are equal by Python's ``==``, as a ``groupby``
        of :meth:`groups` would make them.
        """
        k = len(keys)
        done = 0
        queries = self._group_queries(table, keys, wanted, order, required, where, args)
        if queries is not None:
            counts, points = queries
            fetch = points.fetchmany
            size = itemgetter(k)
            try:
                every_count = chain.from_iterable(iter(partial(counts.fetchmany, CHUNK_ROWS), []))
                for first, block in groupby(every_count, _FIRST):
                    sizes = list(block)
                    n = sum(map(size, sizes))
                    rows = fetch(n)
                    if len(rows) != n:
                        raise _Mismatch
                    yield first, (sizes, rows)
                    done += n
                if points.fetchone() is None:
                    return
            except (sqlite3.Error, _Mismatch):
                pass
        every_row = self.select(
            table, [*keys, *wanted], required=required, order=order, where=where, args=args, ident=ident
        )
        key_of = itemgetter(slice(0, k))
        for first, block in groupby(islice(every_row, done, None), _FIRST):
            rows = list(block)
            sizes = [(*key, len(list(group))) for key, group in groupby(rows, key_of)]
            yield first, (sizes, [r[k:] for r in rows])

    def _group_queries(
        self,
        table: str,
        keys: Sequence[str],
        wanted: Sequence[str],
        order: str,
        required: Sequence[str],
        where: str,
        args: Sequence[object],
    ) -> tuple[sqlite3.Cursor, sqlite3.Cursor] | None:
        """:meth:`groups`' two cursors, or None where their rows might not line up: the
        counts' plan and the rows' plan must scan the same index, sorting nothing."""
        if table in self._salvaged or not set(keys) | set(wanted) | set(required) <= self.columns(table):
            return None
        names = ", ".join(f'"{_ident(c)}"' for c in keys)
        condition = f" WHERE {where}" if where else ""
        count_sql = f'SELECT {names}, count(*) FROM "{_ident(table)}"{condition} GROUP BY {names} ORDER BY {names}'
        rows_sql = self._sql(table, wanted, required, order, where)
        if rows_sql is None:
            return None
        try:
            plans = [self.conn.execute(f"EXPLAIN QUERY PLAN {sql}", args).fetchall() for sql in (count_sql, rows_sql)]
            scans = [_INDEX_SCAN.fullmatch(p[0][3]) if len(p) == 1 else None for p in plans]
            if scans[0] is None or scans[1] is None or scans[0].group(1) != scans[1].group(1):
                return None
            return self.conn.execute(count_sql, args), self.conn.execute(rows_sql, args)
        except sqlite3.Error:
            return None

    def _chunks(
        self,
        table: str,
        wanted: Sequence[str],
        required: Sequence[str],
        order: str,
        where: str,
        args: Sequence[object],
        ident: int,
    ) -> Iterator[list[tuple[Any, ...]]]:
        sql = self._sql(table, wanted, required, order, where)
        if sql is None:
            return
        done = 0
        raw = False
        conn = self.conn
        salvaged = self._salvaged.get(table)
        if salvaged is not None:
            yield list(self._from_salvage(salvaged, table, wanted, order, where, args, ident, 0))
            return
        while True:
            try:
                cursor = conn.execute(sql, args)
                if raw:
                    for _ in range(done):  # the rows before the bad one were read already
                        cursor.fetchone()
                    for row in cursor:
                        yield [self._decoded(table, row, ident)]
                        done += 1
                else:
                    while chunk := cursor.fetchmany(CHUNK_ROWS):
                        yield chunk
                        done += len(chunk)
                return
            except sqlite3.OperationalError as exc:
                if raw or "decode" not in str(exc):
                    yield list(self._after_damage(table, exc, done, wanted, order, where, args, ident))
                    return
                # Text that is not UTF-8: read the rest as bytes and decode each cell ourselves.
                conn = self._raw_connection()
                raw = True
            except sqlite3.DatabaseError as exc:
                yield list(self._after_damage(table, exc, done, wanted, order, where, args, ident))
                return

    def _after_damage(
        self,
        table: str,
        exc: sqlite3.Error,
        done: int,
        wanted: Sequence[str],
        order: str,
        where: str,
        args: Sequence[object],
        ident: int,
    ) -> Iterator[tuple[Any, ...]]:
        """The rest of a query that failed on a damaged page, from the salvaged table: the
        first ``done`` rows (in the query's order) were yielded already."""
        salvage = self._salvage(table, exc)
        if salvage is None:
            self._damaged(table, exc, done)
            return
        yield from self._from_salvage(salvage, table, wanted, order, where, args, ident, done)

    # -- salvage: a damaged table read past its damaged pages

    def _salvage(self, table: str, exc: sqlite3.Error | None = None) -> _Salvage | None:
        """The readable rows of ``table`` (None: it has no rowid, or not even that worked).

        Reported once per table: how many rows were read, in how many stretches, and how
        many came from a covering index; the rows on the damaged pages are lost.
        """
        if table in self._salvaged:
            return self._salvaged[table]
        self._salvaged[table] = None
        cols = [r[1] for r in self.conn.execute(f'PRAGMA table_info("{_ident(table)}")')] if self.columns(table) else []
        if not cols:
            return None
        conn = self._raw_connection()
        path = getattr(self._connect, "path", None)
        try:
            root = self.conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
            hints = _divider_keys(path, int(root[0])) if path is not None and root else []
        except (sqlite3.DatabaseError, TypeError, ValueError):
            hints = []
        rows, gaps = _scan_rowids(conn, table, cols, hints)
        if rows is None:
            return None
        from_index, index_name = _from_covering_index(self.conn, conn, table, cols, rows)
        rows.update(from_index)
        salvage = _Salvage(cols, [self._decoded(table, rows[k], 1) for k in sorted(rows)])
        self._salvaged[table] = salvage
        if not rows:
            self._damaged(table, exc or sqlite3.DatabaseError("damaged pages"), 0)
            return salvage
        parts = [f"table '{table}' cannot be read whole ({exc or 'damaged pages'}): {len(rows)} rows read"]
        if gaps:
            parts.append(f"past {gaps} damaged stretch{'es' if gaps > 1 else ''} of rowids")
        if from_index:
            parts.append(f"{len(from_index)} of them from index '{index_name}'")
        self.problem(table, ", ".join(parts) + "; the rows on the damaged pages are lost")
        return salvage

    def _from_salvage(
        self,
        salvage: _Salvage,
        table: str,
        wanted: Sequence[str],
        order: str,
        where: str,
        args: Sequence[object],
        ident: int,
        skip: int,
    ) -> Iterator[tuple[Any, ...]]:
        terms = [_WHERE_TERM.fullmatch(t) for t in re.split(r"\bAND\b", where, flags=re.I)] if where else []
        keys = [c.strip().strip('"') for c in order.split(",")] if order else []
        if any(m is None for m in terms) or any(k not in salvage.index for k in keys):
            return  # not a query this class makes (a caller's bug, not damage): no rows
        values = iter(args)
        conditions = [
            (m.group(3), "IS NULL", None) if m.group(3) else (m.group(1), m.group(2), next(values, None))
            for m in terms
            if m is not None
        ]
        if any(col not in salvage.index for col, _op, _value in conditions):
            return
        rows = salvage.matching([(c, v) for c, op, v in conditions if op == "="])
        for col, op, value in conditions:
            if op != "=":
                rows = [r for r in rows if _compares(r[salvage.index[col]], op, value)]
        if keys:
            at = [salvage.index[k] for k in keys]
            rows = sorted(rows, key=lambda r: tuple(sql_order(r[i]) for i in at))
        pick = [salvage.index.get(c) for c in wanted]
        for row in rows[skip:]:
            yield tuple(None if i is None else row[i] for i in pick)

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
        self._cut_short.add(table)
        after = f" after {done} rows" if done else ""
        self._once(table, f"table '{table}' cannot be read{after}: {exc}; the rest of it is skipped")

    def _once(self, table: str, reason: str) -> None:
        if (table, reason) not in self._reported:
            self._reported.add((table, reason))
            self.problem(table, reason)


_FIRST = itemgetter(0)


class _Mismatch(Exception):
    """:meth:`Tables.groups`' counts and rows do not line up."""


def _ident(name: str) -> str:
    return name.replace('"', '""')


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f"'{c}'" for c in columns)


class _Salvage:
    """The rows of a damaged table that could be read (rowid first, then its columns, decoded)."""

    def __init__(self, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        self.index = {c: i + 1 for i, c in enumerate(columns)}
        self.rows = rows
        self._by: dict[str, dict[object, list[tuple[Any, ...]]]] = {}

    def matching(self, terms: Sequence[tuple[str, object]]) -> list[tuple[Any, ...]]:
        if not terms:
            return self.rows
        (first, value), rest = terms[0], terms[1:]
        if first not in self._by:  # one lookup per run, not one scan per run
            by: dict[object, list[tuple[Any, ...]]] = {}
            at = self.index[first]
            for row in self.rows:
                by.setdefault(row[at], []).append(row)
            self._by[first] = by
        rows = self._by[first].get(value, [])
        for col, v in rest:
            rows = [r for r in rows if r[self.index[col]] == v]
        return rows


def _compares(cell: object, op: str, value: object) -> bool:
    """``cell <op> value`` as SQLite answers it in a salvaged table's WHERE (BINARY text)."""
    if op == "IS NULL":
        return cell is None
    if cell is None or value is None:
        return False  # NULL compared is NULL: not a match
    a, b = sql_order(cell), sql_order(value)
    return bool(a >= b) if op == ">=" else bool(a < b)


def sql_order(value: object) -> tuple[int, Any]:
    """SQLite's ORDER BY: NULL, then numbers, then text (by code point, as BINARY), then blobs."""
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, value)


def _probe(conn: sqlite3.Connection, table: str, at: int) -> bool:
    """Whether a seek to the first row with ``rowid >= at`` works (it reads no damaged page)."""
    try:
        conn.execute(
            f'SELECT rowid FROM "{_ident(table)}" NOT INDEXED WHERE rowid >= ? ORDER BY rowid LIMIT 1', (at,)
        ).fetchall()
        return True
    except sqlite3.DatabaseError:
        return False


def _resume_after(conn: sqlite3.Connection, table: str, failed: int, hints: Sequence[int]) -> int | None:
    """The smallest rowid past ``failed`` from which a scan reads again (None: none does).

    First the next rowid (a bad cell costs its row), then each leaf's first rowid after
    ``failed`` (``hints``: one past each divider key of the table's interior pages, read from
    the file; SQLite's probe confirms each), then, without hints, exponential steps and
    bisection of the edge.
    """
    if failed < _MAX_ROWID and _probe(conn, table, failed + 1):
        return failed + 1
    for at in hints[bisect_right(hints, failed + 1) :]:
        if _probe(conn, table, at):
            return at
    if hints:
        return None
    if failed == _MIN_ROWID and _probe(conn, table, 0):
        return _edge(conn, table, failed, 0)
    start = max(failed, 0) if failed == _MIN_ROWID else failed
    step = 1
    while start + step <= _MAX_ROWID:
        if _probe(conn, table, start + step):
            return _edge(conn, table, start + step // 2 if step > 1 else start, start + step)
        step *= 2
    return None


def _edge(conn: sqlite3.Connection, table: str, failed: int, ok: int) -> int:
    while ok - failed > 1:
        mid = (failed + ok) // 2
        if _probe(conn, table, mid):
            ok = mid
        else:
            failed = mid
    return ok


def _divider_keys(path: Path, root: int) -> list[int]:
    """One past each divider key of a table b-tree's interior pages (each is where a child page
    begins), read from the file itself; damaged interior pages give none."""
    out: list[int] = []
    try:
        with open(path, "rb") as f:
            header = f.read(100)
            size = int.from_bytes(header[16:18], "big")
            size = 65536 if size == 1 else size
            if size < 512 or size & (size - 1):
                return []
            npages = os.fstat(f.fileno()).st_size // size
            todo: list[int] = [root]
            seen: set[int] = set()
            while todo and len(seen) < npages:
                number = todo.pop()
                if number in seen or not 1 <= number <= npages:
                    continue
                seen.add(number)
                f.seek((number - 1) * size)
                page = f.read(size)
                offset = 100 if number == 1 else 0
                if page[offset] != 0x05:
                    continue
                ncells = int.from_bytes(page[offset + 3 : offset + 5], "big")
                for i in range(ncells):
                    cell = int.from_bytes(page[offset + 12 + 2 * i : offset + 14 + 2 * i], "big")
                    if cell + 5 > size:
                        continue
                    todo.append(int.from_bytes(page[cell : cell + 4], "big"))
                    key, _ = _varint(page, cell + 4, size)
                    if key >= 2**63:
                        key -= 2**64
                    if key < _MAX_ROWID:
                        out.append(key + 1)
                todo.append(int.from_bytes(page[offset + 8 : offset + 12], "big"))
    except (OSError, ValueError, IndexError):
        pass
    return sorted(set(out))


def _scan_rowids(
    conn: sqlite3.Connection, table: str, cols: Sequence[str], hints: Sequence[int] = ()
) -> tuple[dict[int, tuple[Any, ...]] | None, int]:
    """Every readable row of ``table`` by rowid, stepping past damaged leaves, and how many
    damaged stretches were stepped past (None: the table has no rowid to read it by).

    Bounded whatever the damage: the next rowid to read only grows (a damaged leaf may give
    rowids out of order), and at most :data:`MAX_STRETCHES` stretches are stepped past.
    """
    columns = ", ".join(f'"{_ident(c)}"' for c in cols)
    sql = f'SELECT rowid, {columns} FROM "{_ident(table)}" NOT INDEXED WHERE rowid >= ? ORDER BY rowid'
    rows: dict[int, tuple[Any, ...]] = {}
    at = _MIN_ROWID
    gaps = 0
    while gaps <= MAX_STRETCHES:
        try:
            for row in conn.execute(sql, (at,)):
                if isinstance(row[0], int) and row[0] >= at:
                    rows[row[0]] = row
                    at = row[0] + 1
            return rows, gaps
        except sqlite3.OperationalError as exc:
            if "rowid" in str(exc) and not rows:  # WITHOUT ROWID: no ranges to read it by
                return None, 0
        except sqlite3.DatabaseError:
            pass
        # The row before the damage may have been read by SQLite but not handed over (the
        # module steps one row ahead): take the rows from ``at`` one query each, up to it.
        for _ in range(_SINGLE_STEPS):
            if at > _MAX_ROWID:
                return rows, gaps
            try:
                one = conn.execute(sql + " LIMIT 1", (at,)).fetchall()
            except sqlite3.DatabaseError:
                break
            if not one:
                return rows, gaps
            if not isinstance(one[0][0], int) or one[0][0] < at:
                break
            rows[one[0][0]] = one[0]
            at = one[0][0] + 1
        gaps += 1
        resume = _resume_after(conn, table, at, hints) if at < _MAX_ROWID else None
        if resume is None or resume <= at - 1:
            return rows, gaps
        at = resume
    return rows, gaps


def _from_covering_index(
    schema: sqlite3.Connection,
    conn: sqlite3.Connection,
    table: str,
    cols: Sequence[str],
    have: dict[int, tuple[Any, ...]],
) -> tuple[dict[int, tuple[Any, ...]], str]:
    """Rows missing from ``have`` that an index holding every column still has (read through
    ``conn``, which gives text as bytes; ``schema`` gives names as text)."""
    try:
        indexes = [r[1] for r in schema.execute(f'PRAGMA index_list("{_ident(table)}")')]
        for name in sorted(indexes):
            held = {r[2] for r in schema.execute(f'PRAGMA index_info("{_ident(name)}")')}
            if not set(cols) <= held:
                continue
            columns = ", ".join(f'"{_ident(c)}"' for c in cols)
            found: dict[int, tuple[Any, ...]] = {}
            try:
                for row in conn.execute(f'SELECT rowid, {columns} FROM "{_ident(table)}" INDEXED BY "{_ident(name)}"'):
                    if row[0] not in have:
                        found[row[0]] = row
            except sqlite3.DatabaseError:
                pass  # a damaged index page: what came before it is kept
            if found:
                return found, name
    except sqlite3.DatabaseError:
        pass
    return {}, ""
