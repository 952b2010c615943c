"""The build cache: a plain folder (default beside the output, ``--cache-dir`` to move it), so CI
can keep it between jobs.

- ``crawl/``: the catalog of the last crawl, keyed by a fingerprint of the sources' listings
  (every file's path, size and modification time) and of the config; its metric histories are
  copied beside it. Only local sources are fingerprinted: with a bucket in the sources the
  crawl always runs.
- ``pages/``: each rendered page (its files and search entries), compressed, under its input
  digest (:mod:`mlreport.engine.deps`).
- ``manifest.pickle``: what the last build published: the build key, each page's digest and its
  files' sizes and times in the site, so unchanged pages are linked from the published site
  instead of rewritten.

Everything here is a cache: a missing, stale or damaged entry is rebuilt, and a build with or
without it gives the same bytes.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import pickle
import shutil
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..catalog import Catalog
from ..history_store import HistoryFile
from .units import Rendered

log = logging.getLogger("mlreport.engine.cache")

FORMAT = b"mlreport-cache-1"


def default_cache_dir(site_dir: Path) -> Path:
    return site_dir.parent / f".{site_dir.name}.cache"


def listing_fingerprint(roots: Iterable[Path]) -> str:
    """Every file under ``roots`` as (path, size, mtime): any change to a store changes it."""
    h = hashlib.blake2b(digest_size=20)
    for root in roots:
        h.update(str(root).encode() + b"\0")
        if root.is_file():
            st = root.stat()
            h.update(f"{st.st_size} {st.st_mtime_ns}\n".encode())
            continue
        stack = [str(root)]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                h.update(f"! {folder}\n".encode())
                continue
            for e in entries:
                try:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                        h.update(f"d {e.path}\n".encode())
                    else:
                        st = e.stat(follow_symlinks=False)
                        h.update(f"f {e.path} {st.st_size} {st.st_mtime_ns}\n".encode())
                except OSError:
                    h.update(f"! {e.path}\n".encode())
    return h.hexdigest()


@dataclass
class Manifest:
    build_key: str = ""
    site: str = ""
    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # the whole site: size, mtime
    # page ref key -> (digest, ((path, size, mtime_ns), ...), search entries)
    pages: dict[str, tuple[str, tuple[tuple[str, int, int], ...], tuple[Any, ...]]] = field(default_factory=dict)


class BuildCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    # -- the crawl ---------------------------------------------------------------------------

    def load_catalog(self, key: str) -> Catalog | None:
        path = self.folder / "crawl" / f"{key}.pickle"
        try:
            with path.open("rb") as f:
                if f.read(len(FORMAT)) != FORMAT:
                    return None
                catalog = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
            return None
        if not isinstance(catalog, Catalog):
            return None
        if catalog.histories is not None and not Path(catalog.histories.path).is_file():
            return None
        return catalog

    def save_catalog(self, key: str, catalog: Catalog) -> None:
        folder = self.folder / "crawl"
        shutil.rmtree(folder, ignore_errors=True)  # one crawl is kept: the last
        folder.mkdir(parents=True, exist_ok=True)
        saved = catalog
        if catalog.histories is not None:
            target = folder / f"{key}.histories"
            shutil.copyfile(catalog.histories.path, target)
            histories = HistoryFile.__new__(HistoryFile)
            histories.__setstate__({"path": str(target), "size": catalog.histories.size})
            saved = copy.copy(catalog)
            object.__setattr__(saved, "histories", histories)
        tmp = folder / f"{key}.pickle.tmp"
        with tmp.open("wb") as f:
            f.write(FORMAT)
            pickle.dump(saved, f, protocol=5)
        tmp.replace(folder / f"{key}.pickle")

    # -- pages -------------------------------------------------------------------------------

    def _page_path(self, digest: str) -> Path:
        return self.folder / "pages" / digest[:2] / f"{digest}.z"

    def get_page(self, digest: str) -> Rendered | None:
        try:
            data = self._page_path(digest).read_bytes()
            rendered = pickle.loads(zlib.decompress(data))
        except (OSError, zlib.error, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
            return None
        return rendered if isinstance(rendered, Rendered) else None

    def put_page(self, digest: str, rendered: Rendered) -> None:
        path = self._page_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(zlib.compress(pickle.dumps(rendered, 5), 1))
        tmp.replace(path)

    def keep_pages(self, digests: Iterable[str]) -> None:
        """Remove the cached pages no longer used (the cache stays the size of one site)."""
        keep = set(digests)
        root = self.folder / "pages"
        if not root.is_dir():
            return
        for sub in os.scandir(root):
            if not sub.is_dir():
                continue
            for e in os.scandir(sub.path):
                if e.name.endswith(".z") and e.name[:-2] not in keep:
                    os.unlink(e.path)

    # -- the manifest ------------------------------------------------------------------------

    def load_manifest(self) -> Manifest:
        try:
            with (self.folder / "manifest.pickle").open("rb") as f:
                if f.read(len(FORMAT)) != FORMAT:
                    return Manifest()
                m = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
            return Manifest()
        return m if isinstance(m, Manifest) else Manifest()

    def save_manifest(self, manifest: Manifest) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / "manifest.pickle.tmp"
        with tmp.open("wb") as f:
            f.write(FORMAT)
            pickle.dump(manifest, f, protocol=5)
        tmp.replace(self.folder / "manifest.pickle")


def site_listing(site_dir: Path) -> dict[str, tuple[int, int]]:
    """Every file of a site with its size and modification time."""
    out: dict[str, tuple[int, int]] = {}
    base = len(str(site_dir)) + 1
    stack = [str(site_dir)]
    while stack:
        folder = stack.pop()
        for e in os.scandir(folder):
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            else:
                st = e.stat(follow_symlinks=False)
                out[e.path[base:]] = (st.st_size, st.st_mtime_ns)
    return out


def site_intact(site_dir: Path, files: Mapping[str, tuple[int, int]]) -> bool:
    """True when every listed file of the published site still has its size and time."""
    for rel, (size, mtime) in files.items():
        try:
            st = os.stat(site_dir / rel)
        except OSError:
            return False
        if st.st_size != size or st.st_mtime_ns != mtime:
            return False
    return True


__all__ = ["BuildCache", "Manifest", "default_cache_dir", "listing_fingerprint", "site_intact", "site_listing"]
