"""What the build writes besides pages: the search index (from the catalog), the sitemap, and
the titles MkDocs gives the documentation pages it built."""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from xml.sax.saxutils import escape

from ..render.page import SearchEntry
from .tree import Tree

DEFAULT_SEARCH_CONFIG = {"lang": ["en"], "separator": r"[\s\-]+", "pipeline": ["stopWordFilter"]}


def _put(site_dir: Path, rel: str, data: bytes, tree: Tree | None) -> None:
    """Write ``rel`` as a new file: the site's files are hard links shared with MkDocs' output,
    the published site and the page cache, and must never be written through."""
    if tree is not None:
        tree.write(rel, data)
        return
    path = site_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_search_index(
    site_dir: Path,
    entries: Iterable[SearchEntry],
    later: Iterable[SearchEntry] = (),
    source: Path | None = None,
    tree: Tree | None = None,
) -> int:
    """Add the generated pages' entries to the ``search/search_index.json`` MkDocs wrote for the
    user's own pages (Material's format: ``config`` + ``docs[location, title, text]``).

    ``later`` (the run pages' entries) go to a second file, ``search/search_index.runs.json``,
    that Material's search worker, wrapped by ``search_worker.js``, loads after the first part
    has answered: at 10,000 runs + 10,000 versions the part a browser loads first stays under
    4 MB (issue 7). Without Material's worker in the site (another theme) everything stays in
    the one file. Returns the size in bytes of ``search_index.json``.

    ``source``: the folder MkDocs built (its index of the user's pages and its worker), when
    that is not ``site_dir``; ``tree``: what writes ``site_dir``'s files (:mod:`.tree`)."""
    source = source or site_dir
    data: dict[str, object]
    try:
        data = json.loads((source / INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {"config": DEFAULT_SEARCH_CONFIG, "docs": []}
    docs = list(data.get("docs") or [])  # type: ignore[call-overload]
    docs += [e.as_json() for e in entries]
    rest = [e.as_json() for e in later]
    if rest and not wrap_search_worker(site_dir, source, tree):
        docs += rest
        rest = []
    data["docs"] = docs
    raw = _json_bytes(data)
    _put(site_dir, INDEX, raw, tree)
    runs = site_dir / RUNS_INDEX
    if rest:
        _put(site_dir, RUNS_INDEX, _json_bytes({"docs": rest}), tree)
    elif tree is None and runs.exists():
        runs.unlink()  # (a tree removes what was not put again)
    return len(raw)


INDEX = "search/search_index.json"
RUNS_INDEX = "search/search_index.runs.json"
# Material 9.7's search worker; its file name carries a hash of its content
WORKER_GLOB = "assets/javascripts/workers/search.*.min.js"
WORKER_MARK = b"/* mlreport: the run entries of the search index"


def wrap_search_worker(site_dir: Path, source: Path | None = None, tree: Tree | None = None) -> bool:
    """Put ``search_worker.js`` in front of Material's search worker in ``site_dir`` (once):
    the worker then loads the run entries of the index after the first part. False when the
    site has no such worker (a theme other than Material). ``source``: where MkDocs wrote the
    worker, when not in ``site_dir``."""
    source = source or site_dir
    workers = sorted(source.glob(WORKER_GLOB))
    if len(workers) != 1:
        return False
    worker = workers[0]
    rel = worker.relative_to(source).as_posix()
    original = worker.read_bytes()
    if original.startswith(WORKER_MARK):
        if source != site_dir:
            _put(site_dir, rel, original, tree)
        return True
    wrapper = resources.files("mlreport.engine").joinpath("search_worker.js").read_bytes()
    if not wrapper.startswith(WORKER_MARK):  # pragma: no cover - the two are edited together
        raise AssertionError("search_worker.js must start with WORKER_MARK")
    # a new file, not a write through the old one: the site's files may be hard links into
    # the page cache or the published site
    _put(site_dir, rel, wrapper + original, tree)
    return True


def _json_bytes(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_sitemap(
    site_dir: Path,
    site_url: str | None,
    urls: Iterable[str],
    epoch: int,
    source: Path | None = None,
    tree: Tree | None = None,
) -> None:
    """Add the generated pages to MkDocs' ``sitemap.xml`` (and ``.gz``), as MkDocs lists pages:
    only when ``site_url`` is known, dated by the build's date. ``source``: where MkDocs wrote
    its sitemap, when not in ``site_dir``."""
    path = (source or site_dir) / "sitemap.xml"
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
    _put(site_dir, "sitemap.xml", text.encode("utf-8"), tree)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, filename=str(site_dir / "sitemap.xml") + ".gz", mode="wb", mtime=epoch) as gz:
        gz.write(text.encode("utf-8"))
    _put(site_dir, "sitemap.xml.gz", buffer.getvalue(), tree)


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
