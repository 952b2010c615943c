"""One local folder (an MLflow run folder) read in one pass and served as a :class:`Store`.

A 10,000-run MLflow file store is 370,000 small files, and the crawl's cost per file is what
decides its speed (issue 12: within 1.5x of a plain pass reading every byte). Read through
:class:`~mlreport.stores.LocalStore` one call at a time, each file costs an ``lstat`` of its path,
an ``open`` by absolute path, an ``fstat``, a read and a close, plus a ``stat`` of every entry
listed first; here each folder is listed once and each file opened relative to its folder's
descriptor (``openat``: no path walk), checked with one ``fstat`` and read with one ``read``.

The confinement is :class:`LocalStore`'s, by construction: folders and files are opened with
``O_NOFOLLOW``, only regular files are read (``fstat`` of what was opened), nothing over the
store's size cap is held. Anything else (a symbolic link anywhere in the folder, a special file,
an unreadable entry, a folder too deep, a file over the cap or grown while read) is not decided
here: :func:`read_folder` returns None and the reader goes through the store itself, which
follows its own rules and names the problem. What the view has not read (a file past
``max_read``, or past ``budget`` bytes in all; an artifact folder, only listed) is read through
the store when asked for.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from .stores import Entry, LocalStore, Store

_S_ISREG = stat.S_ISREG
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)

# A folder's entries: (name, is a folder, size of a file), sorted by name.
Listing = list[tuple[str, bool, int | None]]


class _Decline(Exception):
    """Something the view does not decide: the store reads this folder itself."""


def read_folder(
    store: LocalStore,
    path: str,
    real: str,
    list_only: frozenset[str] = frozenset(),
    max_read: int = 8 << 20,
    budget: int = 64 << 20,
    max_depth: int = 64,
) -> FolderView | None:
    """The folder ``path`` of ``store`` (at the real path ``real``) read in one pass, or None
    when the store must read it itself (see the module docstring).

    ``list_only``: names of subfolders of ``path`` that are listed (with sizes), not read (a
    run's ``artifacts``). Files larger than ``max_read``, and every file once ``budget`` bytes
    are held, are only listed too. ``max_depth``: the store's bound on folders below its root.
    """
    reader = _FolderReader(store.max_file_size, max_read, budget, max_depth)
    if not path or path.count("/") + 1 >= max_depth:
        return None
    try:
        top = os.open(real, _DIR_FLAGS)
    except OSError:
        return None
    try:
        reader.visit(top, path, False, list_only)
    except (OSError, _Decline):
        return None
    finally:
        os.close(top)
    return FolderView(store, path, reader.dirs, reader.files)


class _FolderReader:
    def __init__(self, cap: int, max_read: int, budget: int, max_depth: int) -> None:
        self.cap = cap
        self.max_read = max_read
        self.budget = budget
        self.max_depth = max_depth
        self.held = 0
        self.dirs: dict[str, Listing] = {}
        self.files: dict[str, bytes] = {}

    def visit(self, fd: int, rel: str, only_list: bool, list_only: frozenset[str]) -> None:
        """List the folder open at ``fd`` and read its files, then its subfolders, each opened
        relative to its parent (recursion: at most ``max_depth`` descriptors open at once)."""
        op, rd, cl, fst = os.open, os.read, os.close, os.fstat
        cap, max_read, files = self.cap, self.max_read, self.files
        listing: Listing = []
        subs: list[tuple[str, bool]] = []
        with os.scandir(fd) as it:
            for e in it:
                name = e.name
                if e.is_dir(follow_symlinks=False):
                    listing.append((name, True, None))
                    subs.append((name, only_list or name in list_only))
                elif not e.is_file(follow_symlinks=False):
                    raise _Decline  # a symbolic link or a special file: the store's rules
                elif only_list:
                    listing.append((name, False, e.stat(follow_symlinks=False).st_size))
                else:
                    f = op(name, _FILE_FLAGS, dir_fd=fd)
                    try:
                        st = fst(f)
                        size = st.st_size
                        if not _S_ISREG(st.st_mode) or size > cap:
                            raise _Decline
                        if size <= max_read and self.held < self.budget:
                            data = rd(f, size + 1)
                            if len(data) > size:
                                raise _Decline  # grown since its fstat: the store reads it whole
                            files[f"{rel}/{name}"] = data
                            self.held += size
                    finally:
                        cl(f)
                    listing.append((name, False, size))
        listing.sort()
        self.dirs[rel] = listing
        if subs and rel.count("/") + 2 >= self.max_depth:
            raise _Decline
        for name, sub_only in subs:
            sub = op(name, _DIR_FLAGS, dir_fd=fd)
            try:
                self.visit(sub, f"{rel}/{name}", sub_only, frozenset())
            finally:
                cl(sub)


class FolderView(Store):
    """What :func:`read_folder` read, answering as the store would for paths in the folder and
    handing every other path (and what it did not read) to the store."""

    def __init__(self, store: LocalStore, path: str, dirs: dict[str, Listing], files: dict[str, bytes]) -> None:
        self.store = store
        self.url = store.url
        self.max_file_size = store.max_file_size
        self.refused = store.refused
        self.path = path
        self._prefix = path + "/"
        self.dirs = dirs
        self.files = files

    def _mine(self, path: str) -> bool:
        return path == self.path or path.startswith(self._prefix)

    def _is_file(self, path: str) -> bool:
        parent, _, name = path.rpartition("/")
        listing = self.dirs.get(parent)
        return listing is not None and any(n == name and not d for n, d, _s in listing)

    # -- the Store interface

    def ls(self, path: str = "") -> list[Entry]:
        if not self._mine(path):
            return self.store.ls(path)
        return [Entry(n, d, s) for n, d, s in self.dirs.get(path, ())]

    def kind(self, path: str) -> str | None:
        if not self._mine(path):
            return self.store.kind(path)
        if path in self.dirs:
            return "dir"
        return "file" if path in self.files or self._is_file(path) else None

    def read_bytes(self, path: str) -> bytes:
        data = self.files.get(path)
        return data if data is not None else self.store.read_bytes(path)

    def read_text(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8")

    def read_head(self, path: str, size: int) -> bytes:
        data = self.files.get(path)
        return data[:size] if data is not None else self.store.read_head(path, size)

    def read_chunks(self, path: str, size: int = 1 << 22) -> Iterator[bytes]:
        data = self.files.get(path)
        if data is None:
            yield from self.store.read_chunks(path, size)
        elif data:
            yield data

    def read_tree(self, path: str) -> dict[str, bytes | OSError]:
        if not self._mine(path):
            return self.store.read_tree(path)
        out: dict[str, bytes | OSError] = {}
        if path not in self.dirs:
            return out  # a file or nothing: the store's read_tree finds no folder either
        files = self.files
        stack = [(path, "")]
        while stack:
            folder, prefix = stack.pop()
            for name, is_dir, _size in self.dirs[folder]:
                full = f"{folder}/{name}"
                if is_dir:
                    stack.append((full, f"{prefix}{name}/"))
                    continue
                data = files.get(full)
                if data is None:
                    try:
                        data = self.store.read_bytes(full)
                    except OSError as exc:
                        out[prefix + name] = exc
                        continue
                out[prefix + name] = data
        return out if len(out) < 2 else dict(sorted(out.items()))

    def walk_files(self, path: str = "") -> Iterator[tuple[str, int | None]]:
        if not self._mine(path):
            yield from self.store.walk_files(path)
            return
        dirs = self.dirs
        stack = [""]
        while stack:
            rel = stack.pop()
            subdirs = []
            for name, is_dir, size in dirs.get(f"{path}/{rel}" if rel else path, ()):
                child = f"{rel}/{name}" if rel else name
                if is_dir:
                    subdirs.append(child)
                else:
                    yield child, size
            stack.extend(reversed(subdirs))

    def folder(self, path: str, list_only: frozenset[str] = frozenset(), max_read: int = 8 << 20) -> Store:
        return self if self._mine(path) else self.store.folder(path, list_only, max_read)

    def check_answering(self) -> None:
        self.store.check_answering()

    @contextlib.contextmanager
    def local_copy(self, path: str) -> Iterator[Path]:
        with self.store.local_copy(path) as local:
            yield local

    def local_root(self) -> Path | None:
        return self.store.local_root()

    def display(self, path: str) -> str:
        return self.store.display(path)
