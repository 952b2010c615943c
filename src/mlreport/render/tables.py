"""Index tables: raw HTML that ``assets/mlreport.js`` makes sortable and filterable, and the
same rows as CSV for download.

Tables are HTML, not Markdown pipes: a pipe or a backtick in a param value cannot break them,
and Python-Markdown passes a raw HTML block through without parsing it, which is also faster.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from markupsafe import Markup

from ..sanitize import cut_text
from .text import CELL_TEXT_LIMIT, cut_note, cut_value, esc, fmt_time, h, iso_time, short_name

# A word longer than this (a URI, a digest, a path) may break anywhere; shorter ones (a user
# name, a number, a date) never break inside: ``priya.natarajan`` stays whole (issue 10).
LONG_WORD = 28
WIDE_TEXT = 40  # characters of a cell's text past which it is prose that needs room
_LONG_WORD = re.compile(rf"\S{{{LONG_WORD + 1},}}")


@dataclass(frozen=True)
class Cell:
    """One table cell: the text shown (or trusted HTML), an optional link, and a sort key."""

    text: str = ""
    url: str | None = None
    sort: float | str | None = None
    html: Markup | None = None
    csv: str | float | None = None
    full: str | None = None  # a cut value's file, beside the page (set by the table, not by callers)


def time_cell(ms: int | None) -> Cell:
    """A time (epoch ms) as ``2026-11-24 07:24 UTC`` in a ``<time>`` element, sorted by its value."""
    text = fmt_time(ms)
    if not text:
        return Cell("")
    html = Markup(f'<time class="mlr-time" datetime="{iso_time(ms)}">{esc(text)}</time>')
    return Cell(text, sort=ms, html=html, csv=text)


def cell_class(text: str) -> str | None:
    """The layout class of a text cell: ``mlr-long`` when it holds a word that may break
    anywhere, ``mlr-wide`` when it is prose (a description) that needs room to wrap, so that on a
    phone the column is not squeezed to one word a line (the table scrolls instead)."""
    if len(text) <= LONG_WORD:  # most cells: neither test can hold (WIDE_TEXT > LONG_WORD)
        return None
    classes = []
    if long_word(text):
        classes.append("mlr-long")
    if len(text) > WIDE_TEXT and " " in text.strip():
        classes.append("mlr-wide")
    return " ".join(classes) or None


def long_word(text: str) -> bool:
    """True when ``text`` holds a word that may be broken anywhere (see :data:`LONG_WORD`)."""
    return len(text) > LONG_WORD and _LONG_WORD.search(text) is not None


def num(value: float | None, text: str) -> Cell:
    if isinstance(value, int) and not isinstance(value, bool):
        # a store's integer may be past the float range (an artifact size in dvc.lock,
        # fuzz F24): math.isnan would raise OverflowError and stop the build
        try:
            float(value)
        except OverflowError:
            value = math.inf if value > 0 else -math.inf
        else:
            return Cell(text, sort=value, csv=value)  # an int is never NaN; kept as written
    if value is None or math.isnan(value):
        return Cell(text, sort=None, csv=None if value is None else text)
    return Cell(text, sort=value, csv=value)


def html_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    caption: str | None = None,
    csv_url: str | None = None,
    searchable: bool = False,
    numeric: Sequence[bool] | None = None,
    empty: str = "Nothing to show.",
    sortable: bool = True,
) -> Markup:
    """A sortable, filterable table; excluded from search unless ``searchable``."""
    if not rows:
        return Markup('<p class="mlreport-empty">') + h(empty) + Markup("</p>")
    rows = [[_cut_cell(c) for c in row] for row in rows]
    out = ['<div class="mlreport-table-wrap"' + ("" if searchable else " data-search-exclude") + ">"]
    if csv_url:
        out.append(
            f'<p class="mlreport-csv"><a href="{h(csv_url)}" download>Download CSV</a> · '
            f"{len(rows)} row{'s' if len(rows) != 1 else ''}</p>"
        )
    if searchable:
        out.append('<table class="mlreport-table" data-sortable>')
    else:
        # Rows that search does not index travel as one JSON attribute that mlreport.js turns
        # into the table body: MkDocs and Material parse every HTML tag of a page (twice), and
        # these tables are most of the tags of a run page.
        payload = json.dumps([[_cell_json(c) for c in row] for row in rows], separators=(",", ":"), ensure_ascii=False)
        sort_attr = " data-sortable" if sortable else ""
        out.append(f'<table class="mlreport-table"{sort_attr} data-rows="{h(payload)}">')
    if caption:
        out.append(f"<caption>{h(caption)}</caption>")
    out.append("<thead><tr>")
    for i, col in enumerate(columns):
        kind = ' data-type="number"' if numeric and i < len(numeric) and numeric[i] else ""
        out.append(f"<th{kind}>{esc(short_name(col))} </th>")
    out.append("</tr></thead><tbody>")
    # one string for the whole table, wrapped in Markup once: every part is a constant, escaped
    # text (esc) or markup mlreport built (cell.html)
    for row in rows if searchable else ():
        out.append("<tr>")
        for cell in row:
            attr = ""
            if cell.sort is not None:
                attr = f' data-sort="{esc(repr(cell.sort) if isinstance(cell.sort, float) else str(cell.sort))}"'
            if css := cell_class(cell.text):
                attr += f' class="{css}"'
            inner = str(cell.html) if cell.html is not None else esc(cell.text)
            if cell.url:
                inner = f'<a href="{esc(cell.url)}">{inner}</a>'
            # the trailing space keeps cells apart in Material's search index, which joins text
            out.append(f"<td{attr}>{inner} </td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return Markup("".join(out))


@dataclass(frozen=True)
class TableData:
    """A table a template can change before it is drawn: ``{{ table.drop("Stage") }}`` leaves a
    column out, ``{{ table.add("Owner", owner) }}`` adds one whose cells a macro (or any callable)
    makes from the row's record (a Run, a ModelVersion …). Printing it draws :func:`html_table`."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    records: tuple[object, ...] = ()
    numeric: tuple[bool, ...] = ()
    csv_url: str | None = None
    searchable: bool = False
    empty: str = "Nothing to show."
    sortable: bool = True

    def drop(self, *names: str) -> TableData:
        keep = [i for i, c in enumerate(self.columns) if c not in names]
        numeric = self._numeric()
        return replace(
            self,
            columns=tuple(self.columns[i] for i in keep),
            rows=tuple(tuple(row[i] for i in keep) for row in self.rows),
            numeric=tuple(numeric[i] for i in keep),
        )

    def add(self, name: str, cell: Callable[[object], object], at: int | None = None) -> TableData:
        at = len(self.columns) if at is None else at
        numeric = list(self._numeric())
        numeric.insert(at, False)
        rows = []
        for row, record in zip(self.rows, self.records or [None] * len(self.rows), strict=False):
            value = cell(record)
            new = Cell(html=value) if isinstance(value, Markup) else Cell("" if value is None else str(value))
            rows.append((*row[:at], new, *row[at:]))
        return replace(
            self,
            columns=(*self.columns[:at], name, *self.columns[at:]),
            rows=tuple(rows),
            numeric=tuple(numeric),
        )

    def _numeric(self) -> tuple[bool, ...]:
        return tuple(self.numeric[i] if i < len(self.numeric) else False for i in range(len(self.columns)))

    def __html__(self) -> str:
        return str(
            html_table(
                self.columns,
                self.rows,
                csv_url=self.csv_url,
                searchable=self.searchable,
                numeric=self._numeric(),
                empty=self.empty,
                sortable=self.sortable,
            )
        )

    def __bool__(self) -> bool:
        return bool(self.rows)


def key_value_table(rows: Sequence[tuple[str, Cell]], searchable: bool = True) -> Markup:
    """A two-column name/value table (a summary); searchable by default."""
    if not rows:
        return Markup("")
    out = ['<table class="mlreport-kv"' + ("" if searchable else " data-search-exclude") + "><tbody>"]
    for name, cell in rows:
        cell = _cut_cell(cell)
        name = short_name(name)
        inner = str(cell.html) if cell.html is not None else esc(cell.text)
        if cell.url:
            inner = f'<a href="{esc(cell.url)}">{inner}</a>'
        attr = f' class="{css}"' if (css := cell_class(cell.text)) else ""
        out.append(f"<tr><th>{esc(name)} </th><td{attr}>{inner} </td></tr>")
    out.append("</tbody></table>")
    return Markup("".join(out))


def _cut_cell(cell: Cell) -> Cell:
    """The cell with its text cut to :data:`CELL_TEXT_LIMIT` (issue 11, F6): the note says how
    long the value was and links its full text, written beside the page; a cell that already
    links somewhere keeps its link and gets the note only."""
    if isinstance(cell.sort, str) and len(cell.sort) > CELL_TEXT_LIMIT:
        # a sort key is an attribute: a megabyte version string would be copied whole (F25);
        # past what the cell shows, the rest of the key decides no order a reader can see
        cell = replace(cell, sort=cut_text(cell.sort, CELL_TEXT_LIMIT)[0])
    if cell.html is not None or len(cell.text) <= CELL_TEXT_LIMIT:
        return cell  # markup mlreport built (a status, a commit, a time), or short enough
    cut = cut_value(cell.text, CELL_TEXT_LIMIT)
    if cut is None:
        return cell
    linked = cut.file is not None and not cell.url
    note = f" … (cut: {cut.length:,} characters{'; full value linked' if linked else ''})"
    # inside a link of its own the note cannot hold another link: it only says what was cut
    html = h(cut.shown) + (cut_note(cut) if not cell.url else h(note))
    return replace(cell, text=cut.shown + note, html=html, full=cut.file if linked else None)


def _cell_json(cell: Cell) -> list[object]:
    """[text, url, sort key, css class] for mlreport.js; HTML cells go as their text."""
    text = cell.text
    css = None
    if cell.html is not None and not text:
        text = str(cell.html.striptags())
    if cell.html is not None and 'class="mlr-status' in cell.html:
        css = f"mlr-status mlr-{text}"
    else:
        css = cell_class(text)
    out: list[object] = [text]
    url = cell.url or cell.full
    if url or cell.sort is not None or css:
        out += [url, cell.sort]
    if css:
        out.append(css)
    return out


def csv_bytes(columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """The rows as CSV (UTF-8, minimal quoting, numbers at full precision)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_safe(c.csv if c.csv is not None else c.text) for c in row])
    return buffer.getvalue().encode("utf-8")


def _csv_safe(value: str | float) -> str | float:
    """Keep spreadsheet programs from running a store's string as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value
