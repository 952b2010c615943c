"""The rendered pages of the last build, kept in the build cache as hard links to the site's files.

A page is rendered again only when its input digest changed (:mod:`mlreport.engine.deps`). An
unchanged page is linked from the published site when that is still there; when it is not (CI
restores the cache folder, not the site), it comes from here: ``rendered/<dd>/<digest>/<i>`` is
the ``i``-th file the page wrote, linked when the build wrote it, so keeping it costs no CPU
(the previous cache pickled and zlib-compressed every page: ~0.45 ms a page, 9 s of a
10,000 + 10,000 build) and no disk while the site exists. Search entries and the files' sizes
and times are in the build's manifest.

A file is used only while it still has the size and modification time the manifest recorded (an
edit of a published page in place changes both, and would otherwise change the cached copy too,
being the same file); anything else is rendered again, so a damaged or missing store gives the
same bytes. A folder on another file system is copied instead of linked.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from .tree import Tree

#: (site-relative path, size, mtime_ns) of each file of one page, as the manifest keeps them
FileStats = tuple[tuple[str, int, int], ...]


class PageStore:
    def __init__(self, cache_folder: Path) -> None:
        self.root = cache_folder / "rendered"
        stale = cache_folder / "pages"  # mlreport-cache-1's pickled pages: never read again
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)

    def _dir(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, digest: str, staging: Path, files: Iterable[str]) -> None:
        """Keep the page's files just written under ``staging`` (site-relative paths)."""
        folder = self._dir(digest)
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True, exist_ok=True)
        for i, rel in enumerate(files):
            _link_or_copy(staging / rel, tmp / str(i))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    def restore(self, digest: str, tree: Tree, files: FileStats) -> bool:
        """Put the page's files into ``tree`` from the store, if every one is as recorded."""
        folder = self._dir(digest)
        sources = []
        for i, (_, size, mtime) in enumerate(files):
            path = folder / str(i)
            try:
                st = os.stat(path)
            except OSError:
                return False
            if st.st_size != size or st.st_mtime_ns != mtime:
                return False
            sources.append(path)
        for source, (rel, _, _) in zip(sources, files, strict=True):
            tree.link(source, rel)
        return True

    def has(self, digest: str) -> bool:
        return self._dir(digest).is_dir()

    def keep(self, digests: Iterable[str]) -> None:
        """Remove the pages no longer used (the store stays the size of one site)."""
        keep = set(digests)
        if not self.root.is_dir():
            return
        for sub in os.scandir(self.root):
            if not sub.is_dir(follow_symlinks=False):
                continue
            for e in os.scandir(sub.path):
                if e.name not in keep:
                    shutil.rmtree(e.path, ignore_errors=True)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


__all__ = ["FileStats", "PageStore"]
