"""What the build writes besides pages: the search index (from the catalog), the sitemap, and
the titles MkDocs gives the documentation pages it built."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape

from ..render.page import SearchEntry

DEFAULT_SEARCH_CONFIG = {"lang": ["en"], "separator": r"[\s\-]+", "pipeline": ["stopWordFilter"]}


def write_search_index(site_dir: Path, entries: Iterable[SearchEntry]) -> int:
    """Add the generated pages' entries to the ``search/search_index.json`` MkDocs wrote for the
    user's own pages (Material's format: ``config`` + ``docs[location, title, text]``).
    Returns the size in bytes."""
    path = site_dir / "search" / "search_index.json"
    data: dict[str, object]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {"config": DEFAULT_SEARCH_CONFIG, "docs": []}
    docs = list(data.get("docs") or [])  # type: ignore[call-overload]
    docs += [e.as_json() for e in entries]
    data["docs"] = docs
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = text.encode("utf-8")
    path.write_bytes(raw)
    return len(raw)


def write_sitemap(site_dir: Path, site_url: str | None, urls: Iterable[str], epoch: int) -> None:
    """Add the generated pages to MkDocs' ``sitemap.xml`` (and ``.gz``), as MkDocs lists pages:
    only when ``site_url`` is known, dated by the build's date."""
    path = site_dir / "sitemap.xml"
    if not site_url or not path.is_file():
        return
    text = path.read_text(encoding="utf-8")
    date = datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d")
    base = site_url if site_url.endswith("/") else site_url + "/"
    present = set()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("<loc>"):
            present.add(line[5:-6])
    extra = []
    for url in urls:
        loc = escape(base + url)
        if loc not in present:
            extra.append(f"    <url>\n         <loc>{loc}</loc>\n         <lastmod>{date}</lastmod>\n    </url>")
    if not extra:
        return
    head, _, _ = text.rpartition("</urlset>")
    text = head.rstrip("\n") + "\n" + "\n".join(extra) + "\n</urlset>"
    path.write_text(text, encoding="utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, filename=str(path) + ".gz", mode="wb", mtime=epoch) as gz:
        gz.write(text.encode("utf-8"))
    (site_dir / "sitemap.xml.gz").write_bytes(buffer.getvalue())


def page_titles(docs_dir: Path) -> dict[str, str]:
    """The title MkDocs gives each Markdown page of ``docs_dir``: front matter ``title``, else
    the first ``# heading``, else the file name (MkDocs 1.6's order, without rendering)."""
    from mkdocs.utils import get_markdown_title, meta

    titles: dict[str, str] = {}
    for path in sorted(docs_dir.rglob("*.md")):
        uri = path.relative_to(docs_dir).as_posix()
        try:
            body, data = meta.get_data(path.read_text(encoding="utf-8-sig", errors="replace"))
        except Exception:  # noqa: BLE001 - MkDocs would report it; a title is not worth failing for
            body, data = "", {}
        title = data.get("title") if isinstance(data.get("title"), str) else None
        title = title or get_markdown_title(body)
        if not title:
            name = path.stem if path.stem not in ("index", "README") else path.parent.name
            if uri in ("index.md", "README.md"):
                name = "Home"
            title = name.replace("-", " ").replace("_", " ")
            if title.lower() == title:
                title = title.capitalize()
        titles[uri] = title
    return titles
