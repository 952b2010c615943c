"""The digest of mlreport's own code: part of every cache key (the crawl, the unit cache, each
page), so an upgrade or an edit in a development checkout never reuses what other code wrote.

It covers every file of the installed package (Python modules, the page scripts and styles,
the search worker, the schemas), not a chosen list of folders: render reads ``card.py``,
``review.py``, ``catalog.py``, ``plots.py``… from outside ``render/``, and a list of folders
misses the next module that joins them (the last one missed all of those). The built-in page
templates live outside the package and are keyed by ``render.templates.templates_digest``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
_SKIP_DIRS = frozenset({"__pycache__"})
_SKIP_SUFFIXES = (".pyc", ".pyo")

# (listing of the package: path, size, mtime_ns) -> digest. The listing is re-taken on each
# call (a few hundred stats), so an edit made while a process lives (``mlreport serve``, a test)
# is seen; the files are read again only when it changed.
_memo: dict[Path, tuple[tuple[tuple[str, int, int], ...], str]] = {}
_lock = threading.Lock()


def _listing(root: Path) -> tuple[tuple[str, int, int], ...]:
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if name.endswith(_SKIP_SUFFIXES):
                continue
            path = os.path.join(folder, name)
            st = os.stat(path)
            out.append((os.path.relpath(path, root).replace(os.sep, "/"), st.st_size, st.st_mtime_ns))
    return tuple(out)


def code_digest(root: Path | None = None) -> str:
    """A hex digest of every file of the package at ``root`` (default: mlreport's own), by path
    and content."""
    root = root or PACKAGE
    listing = _listing(root)
    with _lock:
        memo = _memo.get(root)
        if memo is not None and memo[0] == listing:
            return memo[1]
    h = hashlib.blake2b(digest_size=32)
    for rel, _size, _mtime in listing:
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        h.update((root / rel).read_bytes())
        h.update(b"\0")
    digest = h.hexdigest()
    with _lock:
        _memo[root] = (listing, digest)
    return digest


__all__ = ["PACKAGE", "code_digest"]
