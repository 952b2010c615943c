"""Escaping and formatting of untrusted strings for Markdown, HTML and URLs.

Every string that comes from a store passes through :func:`md` (Markdown text) or :func:`h`
(inside raw HTML blocks) before it reaches a page. Markdown escaping uses HTML entities rather than
backslashes: they survive every Markdown extension (tables, attr_list's ``{: …}``, emphasis)
and the browser shows the original characters.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

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
    return escape("" if value is None else str(value))


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


_HEADINGS = {"h1": "h4", "h2": "h5", "h3": "h6", "h4": "h6", "h5": "h6"}
_SAFE_SCHEMES = ("http://", "https://", "mailto:", "#", "/", "./", "../")


_NOTE_MD: Any = None


def note(value: object) -> Markup:
    """A store's free-text note (MLflow's ``mlflow.note.content`` is Markdown) rendered safely.

    Raw HTML is escaped before Markdown sees it; links keep only http(s), mailto and relative
    targets; images become links (an image would be a request leaving the site).
    """
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

    global _NOTE_MD
    if _NOTE_MD is None:  # building the converter loads its extensions: do it once
        _NOTE_MD = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists", _Extension()])
    text = "" if value is None else str(value)
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    html = _NOTE_MD.reset().convert(escaped)
    return Markup('<div class="mlreport-note" markdown="0">') + Markup(html) + Markup("</div>")
