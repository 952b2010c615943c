"""Artifact previews: the step between the catalog and render that reads artifact bytes.

Render is pure (DESIGN.md): it never opens a file. So before it, :func:`collect_previews` reads
each run's and logged model's artifacts through the same read-only store the crawl used
(:mod:`mlreport.stores`: confined to the store root, no special files, every read bounded; a
bucket through fsspec), decides what each file is from its bytes (a ``.png`` that is not a PNG
is not shown as an image), bounds it, and hands render :class:`Preview` records plus the files
to copy into the site.

What is copied, and where: images (PNG, JPEG, GIF, WebP, and SVG without active content) and
HTML reports, plus the text and table files previewed, each up to ``artifacts.max_bytes`` and
all together up to ``artifacts.max_site_bytes``; a file over either cap is listed with a line
saying why it was not copied, and is a Problem. Copies live under the page of the record that
owns them (``runs/<run>/artifacts/<path>``), with names made only of the artifact path, so their
URLs are as stable as the page's. Every failure is a Problem naming the file, never a crash.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import re
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .catalog import Catalog
from .config import Config, SourceConfig
from .model import Artifact, Origin, Problem
from .plots import figure_json, plot_axes, plotly_figure, table_figure
from .preview_records import HEATMAP, HTML, IMAGE, MAX_PER_OWNER, NOT_HELD, PLOT, TABLE, TEXT, Preview, Previews
from .readers._bounded import load_json
from .stores import Store

if TYPE_CHECKING:
    from .engine.preview_cache import PreviewCache

log = logging.getLogger("mlreport.previews")

TEXT_LIMIT = 64 * 1024  # characters of a text file shown inline
TABLE_ROWS = 500  # rows of a table preview (pages of PAGE_ROWS)
TABLE_COLS = 30
TABLE_HEAD = 1 << 20  # bytes read for a table that is not copied whole
CELL_LIMIT = 200
MATRIX_LABELS = 100  # a confusion matrix with more classes is not drawn as a heatmap
MAX_PIXELS = 50_000_000  # an image bigger than this would stall the browser (a decompression bomb)


_TEXT_NAMES = frozenset({"MLmodel", "requirements.txt", "conda.yaml", "python_env.yaml", "Dockerfile", "LICENSE"})
_TEXT_SUFFIXES = frozenset(
    {".txt", ".log", ".yaml", ".yml", ".md", ".cfg", ".ini", ".toml", ".py", ".sh", ".json", ".jsonl", ".xml"}
)
_TABLE_SUFFIXES = frozenset({".csv", ".tsv"})
_HTML_SUFFIXES = frozenset({".html", ".htm"})
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})
# Files MkDocs would build as pages if they sat in the docs folder under their own name.
_DOC_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkdn", ".mkd"})
# SVG content that would run or fetch something when the file is opened on its own.
_SVG_ACTIVE = re.compile(
    rb"<script|<foreignobject|\son[a-z]+\s*=|javascript:" rb"|(?:href|src)\s*=\s*[\"']?\s*(?:https?:)?//", re.I
)
# Put before a copied HTML report, so that opening the copy directly runs no script and fetches
# nothing outside the site either (the iframe's sandbox covers the page itself).
HTML_GUARD = (
    b'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    b"img-src data:; style-src 'unsafe-inline'; font-src data:\">\n"
)


# ---------------------------------------------------------------------------------------------
# sniffing: what a file is, from its bytes


def image_type(head: bytes) -> str | None:
    """``png``, ``jpeg``, ``gif``, ``webp`` or ``svg`` from the file's first bytes, else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if _is_svg(head):
        return "svg"
    return None


def _is_svg(head: bytes) -> bool:
    text = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    # an XML declaration, comments and a doctype may come before the root element
    text = re.sub(rb"^(?:<\?xml[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>|\s)+", b"", text, flags=re.S)
    return text[:4].lower() == b"<svg"


def image_size(data: bytes, kind: str) -> tuple[int, int] | None:
    """(width, height) in pixels from the image header, when the format has it where we look."""
    try:
        if kind == "png" and data[12:16] == b"IHDR":
            w, hgt = struct.unpack(">II", data[16:24])
            return int(w), int(hgt)
        if kind == "gif":
            w, hgt = struct.unpack("<HH", data[6:10])
            return int(w), int(hgt)
        if kind == "webp":
            chunk = data[12:16]
            if chunk == b"VP8X":
                w = int.from_bytes(data[24:27], "little") + 1
                hgt = int.from_bytes(data[27:30], "little") + 1
                return w, hgt
            if chunk == b"VP8 ":
                w, hgt = struct.unpack("<HH", data[26:30])
                return int(w) & 0x3FFF, int(hgt) & 0x3FFF
            if chunk == b"VP8L":
                bits = int.from_bytes(data[21:25], "little")
                return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if kind == "jpeg":
            return _jpeg_size(data)
    except struct.error:
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            hgt, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(w), int(hgt)
        i += 2 + length
    return None


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _decode(data: bytes) -> str | None:
    """UTF-8 text (a cut at the end of a multi-byte character forgiven), or None for binary."""
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8", "strict")
        return None


def classify(path: str, head: bytes) -> str | None:
    """What kind of preview a file gets, from its name and its first bytes (the bytes decide:
    a ``.png`` holding text is text, not an image)."""
    suffix = _suffix(path)
    if image_type(head) is not None:
        return IMAGE
    if suffix in _HTML_SUFFIXES and _decode(head) is not None:
        return HTML
    if _decode(head) is None:
        return None
    if suffix in _TABLE_SUFFIXES:
        return TABLE
    if suffix in _TEXT_SUFFIXES or _name(path) in _TEXT_NAMES or suffix in _IMAGE_SUFFIXES:
        return TEXT  # JSON becomes a table or a heatmap once parsed; a text file named .png is text
    return None


# ---------------------------------------------------------------------------------------------
# tables and confusion matrices


_ACTUAL = ("actual", "y_true", "true", "target", "label", "truth", "ground_truth")
_PREDICTED = ("predicted", "y_pred", "pred", "prediction", "preds")
_COUNT = ("count", "n", "npredictions", "value", "values", "total")


def _pick(columns: Sequence[str], names: Sequence[str]) -> int | None:
    low = [c.strip().lower() for c in columns]
    for n in names:
        if n in low:
            return low.index(n)
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        f = float(value)
    elif isinstance(value, str):
        try:
            f = float(value)
        except ValueError:
            return None
    else:
        return None
    return f if math.isfinite(f) else None


def _label(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _long_form(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> tuple[list[str], list[list[float]]] | None:
    """Rows of (actual, predicted[, count]): W&B's confusion_matrix table, DVC's CSV and JSON."""
    a, p = _pick(columns, _ACTUAL), _pick(columns, _PREDICTED)
    if a is None or p is None or a == p:
        return None
    c = _pick(columns, _COUNT)
    counts: dict[tuple[str, str], float] = {}
    labels: list[str] = []
    for row in rows:
        if len(row) <= max(a, p, c or 0):
            return None
        pair = (_label(row[a]), _label(row[p]))
        n = 1.0 if c is None else _number(row[c])
        if n is None:
            return None
        for lab in pair:
            if lab not in labels:
                labels.append(lab)
        counts[pair] = counts.get(pair, 0.0) + n
    if not labels or len(labels) > MATRIX_LABELS:
        return None
    labels = _ordered(labels)
    return labels, [[counts.get((act, pred), 0.0) for pred in labels] for act in labels]


def _ordered(labels: list[str]) -> list[str]:
    """Numeric class labels in numeric order, others as first seen (the writer's order)."""
    nums = [_number(x) for x in labels]
    if all(n is not None for n in nums):
        return [lab for _, lab in sorted(zip(nums, labels, strict=True), key=lambda t: t[0] or 0.0)]
    return labels


def _square(matrix: object, labels: object) -> tuple[list[str], list[list[float]]] | None:
    if not isinstance(matrix, list) or not matrix or len(matrix) > MATRIX_LABELS:
        return None
    out: list[list[float]] = []
    for row in matrix:
        if not isinstance(row, list) or len(row) != len(matrix):
            return None
        values = [_number(x) for x in row]
        if any(v is None for v in values):
            return None
        out.append([v for v in values if v is not None])
    names = [_label(x) for x in labels] if isinstance(labels, list) and len(labels) == len(matrix) else None
    return names or [str(i) for i in range(len(matrix))], out


def confusion_matrix(data: object, path: str = "") -> tuple[list[str], list[list[float]]] | None:
    """(labels, counts with rows = actual and columns = predicted) from the forms the tools
    write, or None when ``data`` is not a confusion matrix:

    - ``{"labels": [...], "matrix": [[...]]}`` (MLflow ``log_dict``; also ``classes``,
      ``confusion_matrix``, ``values``);
    - a table ``{"columns": [...], "data": [[...]]}`` of (actual, predicted, count) rows
      (MLflow ``log_table``, W&B ``wandb.plot.confusion_matrix``'s ``*.table.json``), or a
      square table named like a confusion matrix;
    - ``{"<name>": [{"actual": ..., "predicted": ...}, ...]}`` or that list alone, one record per
      sample (DVC ``log_sklearn_plot("confusion_matrix")``, DVC plots JSON).
    """
    named = "confusion" in path.lower()
    if isinstance(data, dict):
        for key in ("matrix", "confusion_matrix", "values", "cm"):
            if key in data and isinstance(data[key], list) and data[key] and isinstance(data[key][0], list):
                found = _square(data[key], data.get("labels") or data.get("classes") or data.get("class_names"))
                if found is not None:
                    return found
        table = _table_of(data)
        if table is not None:
            columns, rows = table
            found = _long_form(columns, rows)
            if found is not None:
                return found
            if named and len(columns) == len(rows) + 1:  # first column: the actual class
                return _square([list(r[1:]) for r in rows], [r[0] for r in rows])
            return None
        if len(data) == 1:
            (only,) = data.values()
            return confusion_matrix(only, path) if isinstance(only, list) else None
        return None
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        columns = list(data[0])
        return _long_form(columns, [[x.get(c) for c in columns] for x in data])
    if named and isinstance(data, list):
        return _square(data, None)
    return None


def _table_of(data: object) -> tuple[list[str], list[list[object]]] | None:
    """(columns, rows) of a JSON table: pandas' split orient (MLflow ``log_table``, input
    examples), W&B's ``*.table.json``, or a list of flat records."""
    if isinstance(data, dict):
        if isinstance(data.get("dataframe_split"), dict):  # MLflow's serving input example
            data = data["dataframe_split"]
        if not isinstance(data, dict):
            return None
        columns, rows = data.get("columns"), data.get("data")
        if isinstance(columns, list) and isinstance(rows, list) and all(isinstance(r, list) for r in rows):
            return [_label(c) for c in columns], list(rows)
        return None
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        cols: list[str] = []
        for x in data[:TABLE_ROWS]:
            for k in x:
                if k not in cols:
                    cols.append(str(k))
        return cols, [[x.get(c) for c in cols] for x in data]
    return None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    else:
        text = _label(value)
    return text if len(text) <= CELL_LIMIT else text[:CELL_LIMIT] + "…"


def bounded_table(columns: Sequence[str], rows: Sequence[Sequence[object]], total: str | None = None) -> Preview:
    """A table preview with at most TABLE_ROWS rows and TABLE_COLS columns, saying what was cut."""
    cut = []
    if len(rows) > TABLE_ROWS:
        cut.append(f"the first {TABLE_ROWS:,} of {len(rows):,} rows")
    elif total:
        cut.append(total)
    if len(columns) > TABLE_COLS:
        cut.append(f"the first {TABLE_COLS} of {len(columns)} columns")
    shown = tuple(
        tuple(_cell(row[i]) if i < len(row) else "" for i in range(min(len(columns), TABLE_COLS)))
        for row in rows[:TABLE_ROWS]
    )
    note = "shows " + " and ".join(cut) if cut else None
    return Preview("", TABLE, columns=tuple(_cell(c) for c in columns[:TABLE_COLS]), rows=shown, note=note)


def csv_table(text: str, path: str, complete: bool) -> Preview | None:
    """A CSV or TSV file as a table (its first rows when the text is only the file's head)."""
    lines = text.splitlines()
    if not complete and lines:
        lines = lines[:-1]  # the last line read may be cut
    dialect: type[csv.Dialect] = csv.excel_tab if _suffix(path) == ".tsv" else csv.excel
    reader = csv.reader(io.StringIO("\n".join(lines[: TABLE_ROWS + 1])), dialect)
    try:
        rows = list(reader)
    except csv.Error:
        return None
    if not rows:
        return None
    more = None
    if not complete:
        more = f"the first {min(len(rows) - 1, TABLE_ROWS):,} rows (the file is longer than what was read)"
    elif len(lines) - 1 > TABLE_ROWS:
        more = f"the first {TABLE_ROWS:,} of {len(lines) - 1:,} rows"
    columns, body = rows[0], rows[1:]
    found = _long_form(columns, body) if "confusion" in path.lower() or _pick(columns, _PREDICTED) is not None else None
    if found is not None and complete:
        return Preview("", HEATMAP, labels=tuple(found[0]), matrix=tuple(tuple(r) for r in found[1]))
    table = bounded_table(columns, body)
    return replace(table, note=("shows " + more) if more else table.note)


def structured(text: str, path: str) -> Preview | None:
    """JSON (or YAML) as a heatmap or a table when it is one, else None (shown as text)."""
    suffix = _suffix(path)
    try:
        if suffix in (".json",) or path.endswith(".table.json"):
            data = load_json(text)
        elif suffix in (".yaml", ".yml"):
            return None  # YAML is read as the text its author wrote
        else:
            return None
    except (ValueError, RecursionError):
        return None
    figure, why = plotly_figure(data)
    if figure is not None:
        return Preview("", PLOT, figure=figure_json(figure), note=why)
    if why is not None:
        return replace(text_preview(text, path, None, True), note=f"not drawn: {why}")
    found = confusion_matrix(data, path)
    if found is not None:
        return Preview("", HEATMAP, labels=tuple(found[0]), matrix=tuple(tuple(r) for r in found[1]))
    table = _table_of(data)
    if table is not None and table[0]:
        return bounded_table(*table)
    return None


def text_preview(text: str, path: str, size: int | None, complete: bool) -> Preview:
    if _suffix(path) == ".json" and complete:
        try:
            text = json.dumps(load_json(text), indent=2, sort_keys=True, ensure_ascii=False)
        except (ValueError, RecursionError):
            pass
    note = None
    if len(text) > TEXT_LIMIT or not complete:
        text = text[:TEXT_LIMIT]
        note = f"shows the first {TEXT_LIMIT // 1024} KB" + (f" of {_size(size)}" if size else "")
    return Preview("", TEXT, text=text, note=note)


def _size(n: int | None) -> str:
    from .render.text import fmt_size

    return fmt_size(n)


# ---------------------------------------------------------------------------------------------
# copies: stable, safe names under the owner's page


def copy_name(path: str) -> str:
    """The artifact path as a safe site path: each part reduced to ``[A-Za-z0-9._-]``, a short
    hash of the original added when anything changed (so two paths never share a copy), and a
    MkDocs page suffix (``.md``) made ``.md.txt`` so the builder copies rather than renders it."""
    parts = [p for p in path.split("/") if p]
    clean = []
    for p in parts:
        c = re.sub(r"[^A-Za-z0-9._-]", "-", p).lstrip(".") or "-"
        clean.append(c[:80])
    out = "/".join(clean)
    if out != path:
        digest = hashlib.blake2b(path.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
        head, dot, ext = out.rpartition(".")
        out = f"{head}-{digest}.{ext}" if dot and "/" not in ext and head else f"{out}-{digest}"
    if _suffix(out) in _DOC_SUFFIXES:
        out += ".txt"
    return out


# ---------------------------------------------------------------------------------------------
# collecting


@dataclass
class _Budget:
    per_file: int
    per_site: int
    used: int = 0

    def refuse(self, size: int) -> str | None:
        """Why a file of ``size`` bytes cannot be copied, or None (and the bytes are counted)."""
        if size > self.per_file:
            return f"{_size(size)} is over artifacts.max_bytes ({_size(self.per_file)})"
        if self.used + size > self.per_site:
            return f"the site's artifact budget (artifacts.max_site_bytes, {_size(self.per_site)}) is used up"
        self.used += size
        return None


@dataclass(frozen=True, slots=True)
class _Owner:
    store: str
    page: str  # the owner's page directory, where its copies go
    artifacts: tuple[Artifact, ...]
    origin: Origin


def _owners(catalog: Catalog, prefix: str) -> Iterator[_Owner]:
    """Runs, then logged models, each in key order: the order copies are counted against the
    site budget, the same in every build."""
    from .render.urls import plan_urls

    urls = plan_urls(catalog, prefix)
    for r in sorted(catalog.runs, key=lambda r: r.key):
        if r.artifacts and r.key in urls.run:
            yield _Owner(r.origin.store, urls.run[r.key], r.artifacts, r.origin)
    for lm in sorted(catalog.logged_models, key=lambda m: m.key):
        if lm.artifacts and lm.key in urls.logged_model:
            yield _Owner(lm.origin.store, urls.logged_model[lm.key], lm.artifacts, lm.origin)


def collect_previews(
    catalog: Catalog,
    config: Config,
    prefix: str = "",
    stores: Mapping[str, Store] | None = None,
    cache: PreviewCache | None = None,
) -> Previews:
    """Read, sniff and bound the artifacts of every run and logged model (see the module doc).

    ``stores`` maps a source (as records name it in ``Origin.store``) to an open store; the
    sources of ``config`` are opened for the others. A source that cannot be opened again is
    one Problem, and its artifacts are listed without previews. ``cache`` (the build's
    :class:`~mlreport.engine.preview_cache.PreviewCache`) keeps each artifact's result before the
    budget, for the files it can tell unchanged; the result is the same with it or without.
    """
    settings = config.artifacts
    budget = _Budget(settings.max_bytes, settings.max_site_bytes)
    opened: dict[str, Store | None] = dict(stores or {})
    by_location: dict[tuple[str, str], Preview] = {}
    files: dict[str, bytes] = {}
    problems: list[Problem] = []
    if not settings.previews:
        return Previews()
    for owner in _owners(catalog, prefix):
        store = _store_for(owner, config, opened, problems)
        if store is None:
            continue
        shown = 0
        for a in owner.artifacts:
            if a.location is None or (owner.store, a.location) in by_location:
                continue
            if shown >= MAX_PER_OWNER:
                break
            shown += 1
            origin = Origin(owner.store, a.location, owner.origin.format)
            key = cache.key(owner.store, store, a) if cache is not None else None
            examined = cache.get(key) if cache is not None and key is not None else None
            if examined is None:
                try:
                    examined = _examine(store, a, budget.per_file)
                except OSError as exc:
                    reason = exc.strerror or str(exc) or type(exc).__name__
                    problems.append(Problem(origin, f"artifact not previewed: {reason}"))
                    by_location[(owner.store, a.location)] = Preview(a.path, None, note=f"not previewed: {reason}")
                    continue
                except (ValueError, RecursionError, struct.error, csv.Error) as exc:  # a parser's bound
                    problems.append(Problem(origin, f"artifact not previewed: {exc}"))
                    by_location[(owner.store, a.location)] = Preview(a.path, None, note="not previewed: unreadable")
                    continue
            # the budget is global, counted in owner order: applied here, after the cache, so a
            # cached artifact is counted exactly where a fresh one would be
            preview, data, why = _charge(examined, budget)
            if cache is not None and key is not None:
                cache.put(key, examined, copied=data is not None)
            if why is not None:
                problems.append(Problem(origin, f"artifact not copied into the site: {why}"))
            if data is not None:
                url = owner.page + "artifacts/" + copy_name(a.path)
                files[url] = data
                preview = replace(preview, url=url)
            by_location[(owner.store, a.location)] = preview
    return Previews(by_location, files, tuple(problems), enabled=True)


def _store_for(owner: _Owner, config: Config, opened: dict[str, Store | None], problems: list[Problem]) -> Store | None:
    if owner.store in opened:
        return opened[owner.store]
    from .crawl import _resolve_local, open_source
    from .errors import MlreportError

    source = next((s for s in config.sources if s.path == owner.store), SourceConfig(owner.store))
    store: Store | None
    try:
        store, _ = open_source(replace(source, path=_resolve_local(source.path, config)), named=source.path)
        store.url = source.path
        store.max_file_size = min(store.max_file_size, max(config.artifacts.max_bytes, TABLE_HEAD) + 1)
    except (MlreportError, OSError) as exc:
        problems.append(Problem(Origin(owner.store, "", owner.origin.format), f"artifacts not previewed: {exc}"))
        store = None
    opened[owner.store] = store
    return store


@dataclass(frozen=True, slots=True)
class Examined:
    """One artifact's preview before the site budget: what :func:`collect_previews` caches.

    ``charge`` is the bytes the copy counts against the budget (None: nothing is offered for
    copying, and ``why`` says why when it was refused for another reason than the budget);
    ``data`` the bytes copied when the budget allows, None when not held (a cached entry whose
    bytes were not copied last time is examined again)."""

    preview: Preview
    data: bytes | None = None
    charge: int | None = None
    why: str | None = None


def _charge(e: Examined, budget: _Budget) -> tuple[Preview, bytes | None, str | None]:
    """The preview, the bytes to copy (None: nothing copied) and why a file that would have been
    copied was not, once ``e`` is counted against ``budget``."""
    if e.charge is None:
        return e.preview, None, e.why
    why = budget.refuse(e.charge)
    if why is None:
        return e.preview, e.data, None
    note = "; ".join(x for x in (e.preview.note, f"not copied: {why}") if x)
    return replace(e.preview, note=note), None, why


def _examine(store: Store, a: Artifact, per_file: int) -> Examined:
    """One artifact's preview, read and bounded by ``per_file``; the site budget is not counted
    here (:func:`_charge`)."""
    assert a.location is not None
    head = store.read_head(a.location, 4096)
    kind = classify(a.path, head)
    if kind is None:
        return Examined(Preview(a.path, None))
    size = a.size if a.size is not None and a.size >= len(head) else None
    want = per_file + 1
    if kind in (IMAGE, HTML):
        if size is not None and size > per_file:
            return Examined(Preview(a.path, kind), None, size)  # refused by the per-file cap
        data = store.read_head(a.location, want) if len(head) >= 4096 else head
        digest = _digest(data)
        if kind == IMAGE:
            preview, why = _image(a.path, data, digest)
            if why is not None:
                return Examined(preview, None, None, why)
        else:
            preview = Preview(a.path, HTML, digest=digest)
            data = guard_html(data)
        return Examined(preview, data, len(data))
    # text, tables, JSON: parse what was read (a table's head, else up to the per-file cap)
    limit = min(want, TABLE_HEAD) if kind == TABLE else want
    data = store.read_head(a.location, limit) if len(head) >= 4096 else head
    complete = len(data) < limit and (size is None or len(data) >= size)
    text = _decode(data)
    if text is None:
        return Examined(Preview(a.path, None))
    parsed: Preview | None = None
    if kind == TABLE:
        parsed = csv_table(text, a.path, complete)
    elif complete:
        parsed = structured(text, a.path)
    if parsed is None:
        parsed = text_preview(text, a.path, size, complete)
    axes = plot_axes(a.note) if parsed.kind == TABLE else None
    chart = table_figure(axes, parsed.columns, parsed.rows, a.path) if axes is not None else None
    if chart is not None:  # a declared plot: its chart, with the table below it
        parsed = replace(parsed, kind=PLOT, figure=figure_json(chart))
    preview = replace(parsed, path=a.path, digest=_digest(data))
    return Examined(preview, data, len(data) if complete else (size if size is not None else per_file + 1))


def guard_html(data: bytes) -> bytes:
    """An HTML report with :data:`HTML_GUARD` first (after its doctype, which must come first)."""
    m = re.match(rb"\s*<!doctype[^>]*>", data, re.I)
    cut = m.end() if m else 0
    return data[:cut] + b"\n" + HTML_GUARD + data[cut:]


def _image(path: str, data: bytes, digest: str) -> tuple[Preview, str | None]:
    kind = image_type(data[:4096]) or ""
    if kind == "svg" and _SVG_ACTIVE.search(data):
        why = "an SVG with script, event handlers or external links (it would run if opened from the site)"
        return Preview(path, None, digest=digest, note=f"not copied: {why}"), why
    dims = image_size(data, kind)
    if dims is not None and dims[0] * dims[1] > MAX_PIXELS:
        why = f"{dims[0]:,} × {dims[1]:,} pixels is more than a browser should decode"
        return Preview(path, None, digest=digest, note=f"not copied: {why}"), why
    w, hgt = dims if dims is not None else (None, None)
    return Preview(path, IMAGE, digest=digest, width=w, height=hgt), None


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


__all__ = [
    "NOT_HELD",
    "Examined",
    "PLOT",
    "Preview",
    "Previews",
    "classify",
    "collect_previews",
    "confusion_matrix",
    "copy_name",
    "image_size",
    "image_type",
]
