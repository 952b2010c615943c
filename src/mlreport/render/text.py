"""Escaping and formatting of untrusted strings for Markdown, HTML and URLs.

Every string that comes from a store passes through :func:`md` (Markdown text) or :func:`h`
(inside raw HTML blocks) before it reaches a page. Markdown escaping uses HTML entities rather than
backslashes: they survive every Markdown extension (tables, attr_list's ``{: …}``, emphasis)
and the browser shows the original characters.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

from ..sanitize import NAME_LIMIT as NAME_LIMIT  # re-exported: render's modules take it from here
from ..sanitize import PAGE_TEXT_LIMIT, cut_text

_MD_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
    "\\": "&#92;",
    "`": "&#96;",
    "*": "&#42;",
    "_": "&#95;",
    "[": "&#91;",
    "]": "&#93;",
    "(": "&#40;",
    ")": "&#41;",
    "{": "&#123;",
    "}": "&#125;",
    "|": "&#124;",
    "#": "&#35;",
    "!": "&#33;",
    "~": "&#126;",
    "^": "&#94;",
    "=": "&#61;",
    ":": "&#58;",
    "$": "&#36;",
    "+": "&#43;",
    "-": "&#45;",
}
_MD_TABLE = str.maketrans(_MD_ENTITIES)
_MD_RE = re.compile("[" + re.escape("".join(_MD_ENTITIES)) + "]")


def md(value: object) -> Markup:
    """Text that shows as itself in Markdown: no emphasis, links, HTML, tables or attributes.

    Line breaks become spaces (one record field never starts a new Markdown block).
    """
    if isinstance(value, Markup):
        return value
    text = "" if value is None else str(value)
    text = " ".join(text.split()) if ("\n" in text or "\r" in text) else text
    if _MD_RE.search(text):
        text = text.translate(_MD_TABLE)
    return Markup(text)


def h(value: object) -> Markup:
    """HTML-escaped text for raw HTML blocks (Markdown is not processed inside them)."""
    if type(value) is str:
        return escape(value)
    return escape("" if value is None else str(value))


def esc(text: object) -> str:
    """``str(h(text))`` for a plain string, without making a :class:`Markup` (each costs a
    Python-level constructor): for HTML a builder assembles as one string and wraps once.
    The same entities as markupsafe's: ``&amp; &lt; &gt; &#39; &#34;``; anything but a plain
    string (None, a number, a :class:`Markup`) is what :func:`h` makes of it."""
    if type(text) is not str:
        return str(h(text))
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "'" in text:
        text = text.replace("'", "&#39;")
    if '"' in text:
        text = text.replace('"', "&#34;")
    return text


def fmt_number(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".6g")


def fmt_time(ms: int | None) -> str:
    """A time as ``YYYY-MM-DD HH:MM UTC``: the same on every machine that builds the site, and
    labelled, so that nobody reads it as their own zone (issue 8)."""
    if ms is None:
        return ""
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return ""


def iso_time(ms: int | None) -> str:
    """A time as ISO 8601 in UTC (``2026-11-24T07:24:00Z``), for ``<time datetime>`` and files."""
    if ms is None:
        return ""
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return ""


GOAL_WORDS = {"min": "▼ lower is better", "max": "▲ higher is better"}


def fmt_goal(goal: str) -> str:
    """``▼ lower is better`` or ``▲ higher is better`` for a :meth:`Catalog.goal` answer."""
    return GOAL_WORDS.get(goal, "")


def plain_text(markdown_text: str | None, limit: int = 200) -> str:
    """A Markdown description as one line of plain text (``**growth-ml**`` reads ``growth-ml``),
    cut at a word to at most ``limit`` characters with ``…``: for index tables and summaries,
    where a note's formatting would show as raw ``**`` or break the row."""
    if not markdown_text:
        return ""
    html = str(note(markdown_text[: limit * 4]))  # a long note is cut before it is converted
    text = " ".join(Markup(html).striptags().split())
    if len(text) <= limit and len(markdown_text) <= limit * 4:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:.") + "…"


def fmt_duration(start: int | None, end: int | None) -> str:
    if start is None or end is None or end < start:
        return ""
    seconds = (end - start) / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_size(size: int | None) -> str:
    if size is None:
        return ""
    if not 0 <= size < 2**63:
        # A store may declare any number (a 30-digit size in a dvc.lock): say so, never crash.
        return "invalid size"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slugify(text: str, fallback: str = "item") -> str:
    """A URL path segment: letters, digits, ``.``, ``_`` and ``-``; case kept."""
    slug = _SLUG_UNSAFE.sub("-", text).strip("-.")
    slug = re.sub(r"-{2,}", "-", slug)
    return slug[:80] or fallback


def short_hash(text: str, n: int = 6) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:n]


def assign_slugs(names: Iterable[str], fallback: str = "item", reserved: Iterable[str] = ()) -> dict[str, str]:
    """Collision-safe slugs for distinct names.

    A name gets its plain slug unless another name maps to the same slug; then the name that
    is already its own slug keeps it and the others get a suffix from a hash of the exact name,
    so a URL depends only on the names that collide with it, never on their order.
    """
    unique = sorted(set(names))
    groups: dict[str, list[str]] = {}
    for name in unique:
        groups.setdefault(slugify(name, fallback).lower(), []).append(name)
    taken = {r.lower() for r in reserved}
    out: dict[str, str] = {}
    for key in sorted(groups):
        members = groups[key]
        for name in members:
            base = slugify(name, fallback)
            if (len(members) == 1 or name == base) and key not in taken:
                out[name] = base
            else:
                out[name] = f"{base}-{short_hash(name)}"
    return out


def rel_url(from_dir: str, target: str) -> str:
    """Relative URL from a page directory (``models/a/1/``) to a page directory (``runs/x/``,
    trailing slash) or a file (``assets/plotly.min.js``)."""
    is_dir = target.endswith("/") or not target
    src = [p for p in from_dir.strip("/").split("/") if p]
    dst = [p for p in target.strip("/").split("/") if p]
    common = 0
    while common < min(len(src), len(dst)) and src[common] == dst[common]:
        common += 1
    parts = [".."] * (len(src) - common) + [quote(p) for p in dst[common:]]
    url = "/".join(parts)
    if is_dir:
        return url + "/" if url else "./"
    return url


# --- long values (issue 11, fuzz finding F6) -------------------------------------------------
# A store value may be a megabyte (a param, a note, a metric name, an artifact path). A page shows
# at most PAGE_TEXT_LIMIT characters of any one value, a table cell CELL_TEXT_LIMIT, a heading or
# column name NAME_LIMIT; the full value goes in a file beside the page, named by its content
# (values/<sha256>.txt: the same value, the same name, whatever the order or the worker), with a
# note and a download link where it is cut. At most MAX_VALUE_FILES files a page, each at most
# MAX_VALUE_CHARS characters: the bound is per page, so it holds whatever the number of workers.

CELL_TEXT_LIMIT = 2_000
MAX_VALUE_FILES = 16
MAX_VALUE_CHARS = 5_000_000


@dataclass(frozen=True, slots=True)
class Cut:
    """A value cut for a page: what is shown, the full value's length, and its file (relative
    to the page) when one was written, ``None`` past the page's budget."""

    shown: str
    length: int
    file: str | None


_VALUES: ContextVar[dict[str, bytes] | None] = ContextVar("mlreport_cut_values", default=None)


def cut_value(text: str, limit: int = PAGE_TEXT_LIMIT, keep: bool = True) -> Cut | None:
    """``None`` when ``text`` fits in ``limit``; else the cut, with the full value kept for the
    page being rendered (``keep``) until :func:`take_values` collects it."""
    if len(text) <= limit:
        return None
    shown, _ = cut_text(text, limit)
    if not keep:
        return Cut(shown, len(text), None)
    full, _ = cut_text(text, MAX_VALUE_CHARS)
    data = full.encode("utf-8", "replace")
    name = f"values/{hashlib.sha256(data).hexdigest()[:24]}.txt"
    files = _VALUES.get()
    if files is None:  # one collection per thread of rendering (a Dask worker runs several)
        files = {}
        _VALUES.set(files)
    if name not in files and len(files) >= MAX_VALUE_FILES:
        return Cut(shown, len(text), None)
    files[name] = data
    return Cut(shown, len(text), name)


def take_values() -> dict[str, bytes]:
    """The full values cut since the last call ({path relative to the page: bytes}), sorted:
    the page that is being emitted writes them beside itself."""
    files = _VALUES.get() or {}
    _VALUES.set({})
    return dict(sorted(files.items()))


def cut_note(cut: Cut) -> Markup:
    """`` … (cut: 1,000,000 characters; full value)`` with a download link where there is a file."""
    said = f"cut: {cut.length:,} characters"
    if cut.file is None:
        return Markup(' <span class="mlr-cut">… (') + h(said) + Markup(")</span>")
    return (
        Markup(' <span class="mlr-cut">… (')
        + h(said)
        + Markup(f'; <a href="{h(cut.file)}" download>full value</a>)</span>')
    )


def shown(value: object, limit: int = PAGE_TEXT_LIMIT) -> Markup:
    """Escaped text of at most ``limit`` characters, with the cut note when it was longer."""
    text = "" if value is None else str(value)
    cut = cut_value(text, limit)
    if cut is None:
        return h(text)
    return h(cut.shown) + cut_note(cut)


def short_name(value: object, limit: int = NAME_LIMIT) -> str:
    """A name for a heading, a column or a tooltip: at most ``limit`` characters, ``…`` after."""
    text = "" if value is None else str(value)
    cut = cut_value(text, limit, keep=False)
    return text if cut is None else cut.shown + "…"


def bounded(value: Any, limit: int = CELL_TEXT_LIMIT) -> Any:
    """A JSON-able value for a page's data attribute with every string cut: keys to
    :data:`NAME_LIMIT`, values to ``limit`` (``…`` marks a cut). The same key is cut the same way
    wherever it appears, so lookups between parts of the payload still match."""
    if isinstance(value, str):
        return value if len(value) <= limit else short_name(value, limit)
    if isinstance(value, Mapping):
        return {short_name(k) if isinstance(k, str) else k: bounded(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [bounded(v, limit) for v in value]
    return value


_HEADINGS = {"h1": "h4", "h2": "h5", "h3": "h6", "h4": "h6", "h5": "h6"}
_SAFE_SCHEMES = ("http://", "https://", "mailto:", "#", "/", "./", "../")


_NOTE_MD: Any = None


def note(value: object) -> Markup:
    """A store's free-text note (MLflow's ``mlflow.note.content`` is Markdown) rendered safely.

    Raw HTML is escaped before Markdown sees it; links keep only http(s), mailto and relative
    targets; images become links (an image would be a request leaving the site).
    """
    text = "" if value is None else str(value)
    cut = cut_value(text)  # a 20 MB note is not converted, nor copied into the page
    if cut is not None:
        text = cut.shown
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    html = _note_html(escaped) if len(escaped) <= NOTE_CACHE_CHARS else _convert(escaped)
    tail = Markup("<p>") + cut_note(cut) + Markup("</p>") if cut is not None else Markup("")
    return Markup('<div class="mlreport-note" markdown="0">') + Markup(html) + tail + Markup("</div>")


#: notes up to this long are converted once per process (at most 512 of them: a few MB)
NOTE_CACHE_CHARS = 4_000


@functools.lru_cache(maxsize=512)
def _note_html(escaped: str) -> str:
    """The Markdown of a note (its HTML already escaped) as HTML, converted once per text and
    process: a version page shows its description twice (the page and its card), and many
    versions of a model share one (issue 7). A pure function of the text; the cut of a long
    note is made by the caller each time, so the page still gets its full value's file."""
    return _convert(escaped)


def _convert(escaped: str) -> str:
    return str(_note_converter().reset().convert(escaped))


def _note_converter() -> Any:
    global _NOTE_MD
    if _NOTE_MD is not None:
        return _NOTE_MD
    import xml.etree.ElementTree as ET

    import markdown
    from markdown.treeprocessors import Treeprocessor

    class _Sanitize(Treeprocessor):  # type: ignore[misc]
        def run(self, root: ET.Element) -> None:
            for parent in root.iter():
                for i, el in enumerate(list(parent)):
                    if el.tag in _HEADINGS:
                        el.tag = _HEADINGS[el.tag]  # a note's headings stay below the page's
                    if el.tag == "img":
                        link = ET.Element("a")
                        link.text = el.get("alt") or el.get("src") or "image"
                        src = el.get("src") or ""
                        if src.lower().startswith(_SAFE_SCHEMES):
                            link.set("href", src)
                        link.tail = el.tail
                        parent.remove(el)
                        parent.insert(i, link)
                    elif el.tag == "a":
                        href = (el.get("href") or "").strip()
                        if not href.lower().startswith(_SAFE_SCHEMES):
                            el.attrib.pop("href", None)

    class _Extension(markdown.Extension):  # type: ignore[misc]
        def extendMarkdown(self, md_: markdown.Markdown) -> None:  # noqa: N802 - Markdown API
            md_.treeprocessors.register(_Sanitize(md_), "mlreport-sanitize", 0)

    # building the converter (and these classes) loads its extensions: once per process
    _NOTE_MD = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists", _Extension()])
    return _NOTE_MD
