"""Read-only access to a source: a local folder, or any fsspec URL (s3://, gs://, az://, memory://).

Readers see a :class:`Store` and paths relative to its root, ``/``-separated, never absolute.
A store has no method that writes, renames or deletes, and the fsspec filesystem behind a remote
store is wrapped so that only read calls can reach it (see :class:`_ReadOnlyFileSystem`).
Listings are sorted by name so output never depends on the backend.

A remote store is listed once, in parallel under its first levels of prefixes, and the listing
is kept: ``ls``, ``kind`` and ``walk_files`` are answered from it, never one request each.
Reads are concurrent (a bounded number in flight), retried with exponential backoff and jitter on
throttling and transient errors, and readers may announce the files they will read next
(:meth:`Store.prefetch`) so that fetching overlaps parsing. A listing is a snapshot: an object
that vanishes afterwards is a ``FileNotFoundError`` for that one read, which the reader turns
into a Problem. A server that stops answering altogether ends the crawl with one
:class:`~mlreport.errors.StoreAccessError`.

S3 reads and listings take a direct path (:class:`_S3Direct`) that signs requests here and sends
them with aiohttp, using the endpoint, region and credentials that s3fs/botocore resolved (so the
standard credential chain applies unchanged): botocore spends about 1 ms of CPU per request, which
made the crawl of an MLflow file store (one object per param) CPU-bound at a third of the speed.
Any answer the direct path does not expect is retried through s3fs, and the direct path is turned
off for the store if s3fs succeeds where it failed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime
import errno
import hashlib
import hmac
import logging
import os
import posixpath
import random
import re
import stat
import tempfile
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote_plus, urlsplit

from . import tempfiles
from .errors import SourceError, StoreAccessError
from .model import display_path  # pure text, kept in the record so render needs no store

if TYPE_CHECKING:
    from .model import Problem

log = logging.getLogger("mlreport.stores")

# fsspec protocol -> (package that provides it, mlreport extra that installs it)
_EXTRAS = {
    "s3": ("s3fs", "s3"),
    "s3a": ("s3fs", "s3"),
    "gs": ("gcsfs", "gcs"),
    "gcs": ("gcsfs", "gcs"),
    "az": ("adlfs", "azure"),
    "abfs": ("adlfs", "azure"),
    "abfss": ("adlfs", "azure"),
}
_BUCKET_PROTOCOLS = frozenset(_EXTRAS)

Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True, slots=True)
class Entry:
    """One directory entry: its name (not a path), whether it is a directory, and its size."""

    name: str
    is_dir: bool
    size: int | None = None


class Store(ABC):
    """A read-only tree of files. ``url`` is the source as the user named it.

    ``max_file_size`` bounds every read (a larger file is a :class:`RefusedPath`); ``refused``
    holds what a listing left out and why, for the crawl to report (:func:`refusals`).
    """

    url: str
    max_file_size: int = 512 * 1024 * 1024
    refused: dict[str, str]

    @abstractmethod
    def ls(self, path: str = "") -> list[Entry]:
        """Entries of a directory, sorted by name; ``[]`` when it does not exist or is a file."""

    @abstractmethod
    def read_bytes(self, path: str) -> bytes:
        """The whole file; raises ``FileNotFoundError``/``OSError`` like ``open``."""

    @abstractmethod
    def kind(self, path: str) -> str | None:
        """``"file"``, ``"dir"`` or ``None`` when nothing is there."""

    def read_text(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8")

    def read_head(self, path: str, size: int) -> bytes:
        """The first ``size`` bytes of a file (a magic number), without reading all of it."""
        return self.read_bytes(path)[:size]

    def read_chunks(self, path: str, size: int = 1 << 22) -> Iterator[bytes]:
        """The file in pieces of about ``size`` bytes, so that a big file (a metric of millions
        of points) is parsed while it is read, never held whole. Default: one piece."""
        yield self.read_bytes(path)

    def exists(self, path: str) -> bool:
        return self.kind(path) is not None

    def check_answering(self) -> None:
        """Raise the store's :class:`~mlreport.errors.StoreAccessError` if it stopped answering
        during the crawl (a reader's per-record fault boundary may have turned each failed read
        into a Problem; a site from half a store must fail instead). Local stores always answer."""
        return None

    def is_dir(self, path: str) -> bool:
        return self.kind(path) == "dir"

    def is_file(self, path: str) -> bool:
        return self.kind(path) == "file"

    def read_many(self, paths: Iterable[str]) -> dict[str, bytes | OSError]:
        """Read many small files; remote stores fetch them concurrently.

        A file that cannot be read maps to the error instead of raising, so one vanished
        object costs one record, not the crawl.
        """
        out: dict[str, bytes | OSError] = {}
        for p in paths:
            try:
                out[p] = self.read_bytes(p)
            except OSError as exc:
                out[p] = exc
        return out

    def read_tree(self, path: str) -> dict[str, bytes | OSError]:
        """Every file under ``path`` (relative path -> content, or the error reading it).

        One call per directory of small files (MLflow's params/, tags/, metrics/): local
        stores read them without a stat each, remote stores in one concurrent batch.
        """
        files = [rel for rel, _size in self.walk_files(path)]
        contents = self.read_many([join(path, f) for f in files])
        return {rel: contents[join(path, rel)] for rel in files}

    def prefetch(self, paths: Iterable[str]) -> None:
        """Say which files will be read soon; a remote store starts fetching them now.

        Only a hint: reading a file that was never announced works the same. Local stores
        ignore it.
        """
        return None  # noqa: B027 - a hook with a default, not an abstract method

    @property
    def prefetches(self) -> bool:
        """Whether :meth:`prefetch` does anything (readers skip working out paths otherwise)."""
        return False

    def folder(self, path: str, list_only: frozenset[str] = frozenset(), max_read: int = 8 << 20) -> Store:
        """A store that answers for the folder ``path`` as this one does, having read it (its
        files up to ``max_read`` bytes each; the subfolders named in ``list_only`` only listed)
        in one pass where that is cheaper (a local folder: :mod:`mlreport.local_folder`), or
        this store itself. Paths outside the folder are this store's."""
        return self

    def walk_files(self, path: str = "") -> Iterator[tuple[str, int | None]]:
        """Every file under ``path`` as (path relative to ``path``, size), in sorted order."""
        stack = [""]
        while stack:
            rel = stack.pop()
            entries = self.ls(join(path, rel))
            subdirs = []
            for e in entries:
                child = join(rel, e.name)
                if e.is_dir:
                    subdirs.append(child)
                else:
                    yield child, e.size
            stack.extend(reversed(subdirs))

    @contextlib.contextmanager
    def local_copy(self, path: str) -> Iterator[Path]:
        """A local file with the content of ``path``: the file itself when it is local.

        Remote files (an ``mlflow.db`` in a bucket) are copied once into a temporary file,
        removed afterwards.
        """
        with tempfiles.scratch_dir("mlreport-copy-") as tmp:
            target = Path(tmp) / posixpath.basename(path)
            target.write_bytes(self.read_bytes(path))
            yield target

    def local_root(self) -> Path | None:
        """The local directory behind this store, or ``None`` for a remote one."""
        return None

    def display(self, path: str) -> str:
        """How a message names ``path``: the source as given, joined with the path."""
        return display_path(self.url, path)


def refusals(store: Store, reader: str) -> Iterator[Problem]:
    """A Problem for each entry the store's listings left out (a link out of the store, a loop),
    once each. Lazy: chained after a reader's records, it reports what that reading ran into."""
    from .model import Origin, Problem

    refused = getattr(store, "refused", None)
    if not refused:
        return
    for path, reason in sorted(refused.items()):
        yield Problem(Origin(store.url, path, reader), reason)
    refused.clear()


_SQLITE_MAGIC = b"SQLite format 3\x00"


def describe_unknown(store: Store, path: str) -> str | None:
    """Why a file no reader took is not a store, when that can be said better than "not a store
    of a known format": a damaged SQLite file (an ``mlflow.db`` cut short or overwritten), an
    SQLite file of another program, a ``.db`` file that is not SQLite at all. Opened read-only
    and immutable: nothing is created beside the file."""
    import sqlite3

    if not path or store.kind(path) != "file":
        return None
    try:
        head = store.read_head(path, len(_SQLITE_MAGIC))
    except OSError:
        return None
    if head != _SQLITE_MAGIC:
        if path.lower().endswith((".db", ".sqlite", ".sqlite3")):
            return "not an SQLite database: its first bytes are not SQLite's header (damaged, or another format)"
        return None
    try:
        with store.local_copy(path) as local:
            uri = f"{Path(local).resolve().as_uri()}?mode=ro&immutable=1"
            conn = sqlite3.connect(uri, uri=True)
            try:
                tables = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
                conn.execute("PRAGMA quick_check(1)").fetchall()
            finally:
                conn.close()
    except sqlite3.DatabaseError as exc:
        return f"a damaged SQLite database ({exc})"
    except OSError:
        return None
    shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
    return f"an SQLite database without MLflow's tables (it has: {shown or 'no tables'})"


def still_answering(store: Store) -> Iterator[Problem]:
    """Nothing, once the records before it are read, unless the store stopped answering meanwhile
    (then its StoreAccessError). Chained after a reader's records, outside its fault boundary."""
    store.check_answering()
    yield from ()


def join(*parts: str) -> str:
    """Join store paths, ignoring empty parts; never starts with ``/``."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


DEFAULT_MAX_FILE_SIZE = Store.max_file_size  # bytes; ``max_file_size`` in mlreport.yml
MAX_DEPTH = 64  # folders below the store root; deeper is a loop or a bomb, not a store

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class RefusedPath(OSError):
    """A path a local store will not read: a symbolic link that leaves the store, a special file,
    a link loop, a file over the size cap. ``strerror`` is the reason, as readers print it."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(errno.EPERM, reason, path or None)


def _special(mode: int) -> str | None:
    for test, name in _KINDS:
        if test(mode):
            return name
    return None


def _too_big(cap: int) -> str:
    return f"larger than the {_size_text(cap)} limit per file (max_file_size in mlreport.yml)"


def _size_text(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


class LocalStore(Store):
    """A local directory, read with ``os.scandir`` and ``os.open`` (fsspec's local layer costs
    several times more per file, and local crawls are the ones with 10,000-run budgets).

    Confined to its root (DESIGN.md decision 10): a symbolic link is followed only when it resolves
    inside the root, and never into a folder above it (a loop); special files (FIFOs, devices,
    sockets) are never opened; every read stops at ``max_file_size``. A refused read raises
    :class:`RefusedPath` (readers make it a Problem); an entry a listing leaves out is kept in
    :attr:`refused` for the crawl to report. Folders are checked once and remembered, files are
    opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked with ``fstat`` before a byte is read.
    """

    def __init__(self, root: Path, url: str, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> None:
        self.root = root
        self.url = url
        self.max_file_size = max_file_size
        self._root = os.path.realpath(root)
        self._prefix = self._root.rstrip("/") + "/"
        self._dirs: dict[str, str] = {"": self._root}  # store path of a folder -> its real path
        self.refused: dict[str, str] = {}  # store path -> reason, for entries listings leave out

    # -- paths

    def _refuse(self, exc: OSError, path: str) -> None:
        self.refused.setdefault(exc.filename if isinstance(exc.filename, str) else path, exc.strerror or str(exc))

    def _inside(self, real: str) -> bool:
        return real == self._root or real.startswith(self._prefix)

    def _check_rel(self, path: str) -> None:
        # Paths come from readers that joined names read from the store; refuse escapes.
        if path.startswith("/") or ".." in path.split("/") or "\x00" in path:
            raise FileNotFoundError(f"path outside the store: {path}")

    def _dir(self, rel: str) -> str:
        """The real path of the store folder ``rel``, checked to be inside the root."""
        real = self._dirs.get(rel)
        if real is not None:
            return real
        self._check_rel(rel)
        if rel.count("/") >= MAX_DEPTH:
            raise RefusedPath(f"more than {MAX_DEPTH} folders deep (a symbolic link loop?)", rel)
        parent, _, name = rel.rpartition("/")
        base = self._dir(parent)
        candidate = os.path.join(base, name)
        if os.path.islink(candidate):
            real = self._link_target(candidate, rel)
        else:
            real = candidate
        self._dirs[rel] = real
        return real

    def _link_target(self, link: str, rel: str) -> str:
        """Where the symbolic link at ``link`` leads, when that is inside the store."""
        try:
            real = os.path.realpath(link, strict=True)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise RefusedPath("a symbolic link loop", rel) from None
            raise
        if not self._inside(real):
            raise RefusedPath(f"a symbolic link that leads outside the store (to {real})", rel)
        return real

    def _abs(self, path: str) -> str:
        if not path:
            return self._root
        self._check_rel(path)
        parent, _, name = path.rpartition("/")
        return os.path.join(self._dir(parent), name)

    def regular_file_stat(self, path: str) -> os.stat_result | None:
        """The ``lstat`` of ``path`` when it is a regular file of the store, reached the way every
        read reaches it (no escape, folder links only inside the root), else None: a symbolic link
        (its target may change under the same ``lstat``), a folder, a special file, a path outside
        the store or one that is not there. What a cache keys a file's contents by."""
        try:
            st = os.lstat(self._abs(path))
        except (OSError, ValueError):
            return None
        return st if stat.S_ISREG(st.st_mode) else None

    def _file(self, path: str) -> tuple[str, os.stat_result]:
        """The real path of the file ``path`` (its link resolved when it is one, inside the store)
        and its ``lstat``."""
        target = self._abs(path)
        st = os.lstat(target)
        if stat.S_ISLNK(st.st_mode):
            target = self._link_target(target, path)
            st = os.lstat(target)
        return target, st

    def _open(self, path: str) -> tuple[int, int]:
        """An open descriptor on the regular file ``path`` and its size; never opens anything else."""
        target, st = self._file(path)
        kind = _special(st.st_mode)
        if kind is not None:
            raise RefusedPath(f"{kind}, not a regular file", path)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "a folder, not a file", path)
        fd = os.open(target, _OPEN_FLAGS)
        try:
            # checked again on what was opened: the path may have changed since the lstat
            st2 = os.fstat(fd)
            if not stat.S_ISREG(st2.st_mode) or not os.path.samestat(st, st2):
                raise RefusedPath("changed while it was opened", path)
        except BaseException:
            os.close(fd)
            raise
        return fd, st2.st_size

    def _read_fd(self, fd: int, size: int, path: str, limit: int | None = None) -> bytes:
        """Read an open file to its end, or ``limit`` bytes; over the cap is a RefusedPath."""
        cap = self.max_file_size
        want = cap + 1 if limit is None else min(limit, cap + 1)
        if limit is None and size > cap:
            raise RefusedPath(_too_big(cap), path)
        chunks = []
        got = 0
        first = min(want, size + 1) if size else want
        while got < want:
            chunk = os.read(fd, min(want - got, max(first, 1 << 16)))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if limit is None and got > cap:
            raise RefusedPath(_too_big(cap), path)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    # -- the Store interface

    def ls(self, path: str = "") -> list[Entry]:
        try:
            directory = self._dir(path)
        except RefusedPath as exc:
            self._refuse(exc, path)
            return []
        try:
            it = os.scandir(directory)
        except (FileNotFoundError, NotADirectoryError):
            return []
        entries = []
        with it:
            for e in it:
                rel = f"{path}/{e.name}" if path else e.name
                try:
                    if e.is_symlink():
                        entry = self._linked_entry(e, rel, directory)
                        if entry is not None:
                            entries.append(entry)
                        continue
                    is_dir = e.is_dir(follow_symlinks=False)
                    size = None if is_dir else e.stat(follow_symlinks=False).st_size
                except RefusedPath as exc:
                    self._refuse(exc, rel)
                    continue
                except OSError:
                    continue
                entries.append(Entry(e.name, is_dir, size))
        entries.sort(key=lambda e: e.name)
        return entries

    def _linked_entry(self, e: os.DirEntry[str], rel: str, directory: str) -> Entry | None:
        try:
            real = self._link_target(e.path, rel)
        except FileNotFoundError:
            return None  # a dangling link: nothing there
        st = os.stat(real)
        if stat.S_ISDIR(st.st_mode):
            # a link to a folder that holds this one would list it again, forever
            if real == directory or directory.startswith(real.rstrip("/") + "/"):
                raise RefusedPath("a symbolic link loop", rel)
            self._dirs[rel] = real
            return Entry(e.name, True, None)
        return Entry(e.name, False, st.st_size)

    def read_bytes(self, path: str) -> bytes:
        fd, size = self._open(path)
        try:
            return self._read_fd(fd, size, path)
        finally:
            os.close(fd)

    def read_chunks(self, path: str, size: int = 1 << 22) -> Iterator[bytes]:
        # streamed, so the size cap does not apply; the confinement does
        fd, _length = self._open(path)
        try:
            while chunk := os.read(fd, size):
                yield chunk
        finally:
            os.close(fd)

    def read_tree(self, path: str) -> dict[str, bytes | OSError]:
        out: dict[str, bytes | OSError] = {}
        try:
            root = self._dir(path)
        except RefusedPath as exc:
            self._refuse(exc, path)
            return out
        stack = [(root, path, "")]
        while stack:
            directory, store_dir, prefix = stack.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                out[prefix.rstrip("/") or "."] = exc
                continue
            for e in entries:
                rel = f"{prefix}{e.name}"
                store_rel = f"{store_dir}/{e.name}" if store_dir else e.name
                try:
                    if e.is_symlink():
                        entry = self._linked_entry(e, store_rel, directory)
                        if entry is None:
                            continue
                        if entry.is_dir:
                            stack.append((self._dirs[store_rel], store_rel, rel + "/"))
                            continue
                        out[rel] = self.read_bytes(store_rel)
                        continue
                    if e.is_dir(follow_symlinks=False):
                        if store_rel.count("/") >= MAX_DEPTH:
                            raise RefusedPath(f"more than {MAX_DEPTH} folders deep", store_rel)
                        stack.append((e.path, store_rel, rel + "/"))
                        continue
                    if not e.is_file(follow_symlinks=False):
                        kind = _special(e.stat(follow_symlinks=False).st_mode) or "not a regular file"
                        raise RefusedPath(f"{kind}, not a regular file", store_rel)
                    fd = os.open(e.path, _OPEN_FLAGS)
                    try:
                        st = os.fstat(fd)
                        if not stat.S_ISREG(st.st_mode):
                            raise RefusedPath("changed while it was opened", store_rel)
                        out[rel] = self._read_fd(fd, st.st_size, store_rel)
                    finally:
                        os.close(fd)
                except OSError as exc:
                    out[rel] = exc
        return dict(sorted(out.items()))

    def read_text(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8")

    def read_head(self, path: str, size: int) -> bytes:
        fd, length = self._open(path)
        try:
            return self._read_fd(fd, length, path, limit=size)
        finally:
            os.close(fd)

    def kind(self, path: str) -> str | None:
        try:
            if path:
                target = self._abs(path)
                if os.path.islink(target):
                    target = self._link_target(target, path)
            else:
                target = self._root
            mode = os.stat(target).st_mode
        except RefusedPath as exc:
            self._refuse(exc, path)
            return None
        except (OSError, ValueError):
            return None
        if stat.S_ISDIR(mode):
            return "dir"
        if stat.S_ISREG(mode):
            return "file"
        # a special file is listed so a read names it (RefusedPath), but it is never opened
        return "file"

    @contextlib.contextmanager
    def local_copy(self, path: str) -> Iterator[Path]:
        target, st = self._file(path)
        kind = _special(st.st_mode)
        if kind is not None:
            raise RefusedPath(f"{kind}, not a regular file", path)
        yield Path(target)

    def local_root(self) -> Path | None:
        return self.root

    def folder(self, path: str, list_only: frozenset[str] = frozenset(), max_read: int = 8 << 20) -> Store:
        from .local_folder import read_folder  # it builds on this module

        parent, _, name = path.rpartition("/")
        try:
            self._check_rel(path)
            real = os.path.join(self._dir(parent), name)
        except OSError:
            return self
        view = read_folder(self, path, real, list_only, max_read=max_read, max_depth=MAX_DEPTH)
        return self if view is None else view


# ---------------------------------------------------------------------------------------------
# the read-only wrapper


async def _read_pieces(read: Callable[[int], Awaitable[bytes]], limit: int) -> bytes:
    """Up to ``limit`` bytes from a streamed body, 64 KiB a call; stops there."""
    parts: list[bytes] = []
    got = 0
    while got < limit:
        piece = await read(min(1 << 16, limit - got))
        if not piece:
            break
        parts.append(piece)
        got += len(piece)
    return b"".join(parts)


class _ReadOnlyFileSystem:
    """Exposes only the read calls of an fsspec filesystem: a write cannot reach a source.

    ``open`` is allowed for reading only; the async variants (``_ls``, ``_cat_file`` …) are the
    same reads, called on the filesystem's own event loop.
    """

    _ALLOWED = frozenset(
        {
            "ls",
            "cat_file",
            "info",
            "exists",
            "isdir",
            "isfile",
            "find",
            "_ls",
            "_cat_file",
            "_info",
            "_find",
            "async_impl",
            "loop",
            "protocol",
            "sep",
        }
    )

    def __init__(self, fs: Any) -> None:
        object.__setattr__(self, "_fs", fs)

    def __getattr__(self, name: str) -> Any:
        if name not in self._ALLOWED:
            raise AttributeError(f"mlreport opens sources read-only; {name!r} is not allowed")
        return getattr(self._fs, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("read-only")

    async def read_at_most(self, path: str, limit: int) -> bytes:
        """At most ``limit`` bytes of an object, read in pieces where the library streams: a
        body past ``limit`` is hung up on, not read whole (s3fs, gcsfs); other libraries are
        asked for a range of ``limit`` bytes (adlfs, memory, …), which a server honours."""
        fs = self._fs
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        if protocol in ("s3", "s3a") and hasattr(fs, "_call_s3"):
            bucket, key, version = fs.split_path(path)
            extra = {"VersionId": version} if version else {}
            r = await fs._call_s3("get_object", Bucket=bucket, Key=key, **extra)
            body = r["Body"]
            try:
                return await _read_pieces(body.read, limit)
            finally:
                body.close()  # mid-body: drops the connection instead of reading the rest
        if protocol in ("gs", "gcs") and hasattr(fs, "_get_headers"):
            from gcsfs.retry import validate_response

            await fs._set_session()
            async with fs.session.get(fs.url(path), headers=fs._get_headers(None), timeout=fs.requests_timeout) as r:
                if r.status >= 300:
                    validate_response(r.status, await r.content.read(1 << 16), path)
                return await _read_pieces(r.content.read, limit)
        return bytes(await fs._cat_file(path, start=0, end=limit))

    def open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if mode != "rb":
            raise AttributeError(f"mlreport opens sources read-only; mode {mode!r} is not allowed")
        return self._fs.open(path, mode="rb", **kwargs)


# ---------------------------------------------------------------------------------------------
# errors: what is worth retrying, what means the server is gone, and secrets kept out of messages


_TRANSIENT_WORDS = (
    "Throttl",
    "SlowDown",
    "TooManyRequests",
    "Too Many Requests",
    "ServiceUnavailable",
    "Service Unavailable",
    "reduce your request rate",
    "InternalError",
    "RequestTimeout",
    "Timeout",
    "timed out",
    "ServerDisconnected",
    "Server disconnected",
    "IncompleteRead",
    "Connection reset",
    "ServerBusy",
    "OperationTimedOut",
    "Bad Gateway",
    "Gateway Time",
)
_TRANSIENT_ERRNOS = frozenset(
    {errno.EBUSY, errno.EAGAIN, errno.ETIMEDOUT, errno.ECONNRESET, getattr(errno, "EREMOTEIO", 121)}
)
_UNREACHABLE_WORDS = (
    "Could not connect to the endpoint",
    "Cannot connect to host",
    "Connection refused",
    "Name or service not known",
    "nodename nor servname",
    "Temporary failure in name resolution",
    "No route to host",
    "Network is unreachable",
    "Failed to establish a new connection",
)
_TRANSIENT_STATUS = re.compile(r"(?<!\d)(429|500|502|503|504)(?!\d)")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_unreachable(exc: BaseException) -> bool:
    for e in _chain(exc):
        if isinstance(e, ConnectionRefusedError):
            return True
        text = f"{type(e).__name__} {e}"
        if any(w in text for w in _UNREACHABLE_WORDS):
            return True
    return False


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)):
        return False
    for e in _chain(exc):
        if isinstance(e, (TimeoutError, asyncio.TimeoutError, ConnectionError)):
            return True
        if isinstance(e, OSError) and e.errno in _TRANSIENT_ERRNOS:
            return True
        text = f"{type(e).__name__} {e}"
        if any(w in text for w in _TRANSIENT_WORDS) or _TRANSIENT_STATUS.search(text):
            return True
    return _is_unreachable(exc)


_SECRET_OPTION = re.compile(r"key|secret|token|password|credential|sas|connection_string|signature", re.I)
_SECRET_PATTERNS = (
    re.compile(r"(AccountKey|SharedAccessSignature|SharedAccessKey)=[^;\s]+", re.I),
    re.compile(r"(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|sig|Signature)=[^&\s,;]+", re.I),
    re.compile(r"(Authorization:?\s*)\S+(\s+\S+)?", re.I),
)


def _secret_values(options: Mapping[str, Any] | None) -> list[str]:
    """Every string under a secret-looking key of ``storage_options`` (nested too)."""
    found: list[str] = []

    def visit(value: Any, secret: bool) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                visit(v, secret or bool(_SECRET_OPTION.search(str(k))))
        elif isinstance(value, (list, tuple)):
            for v in value:
                visit(v, secret)
        elif secret and isinstance(value, str) and len(value) >= 4:
            found.append(value)

    visit(options or {}, False)
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secret values and without signatures or account keys."""
    for s in secrets:
        text = text.replace(s, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}=***" if "=" in m.group(0) else f"{m.group(1)}***", text)
    return text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, OSError) and exc.strerror and exc.filename is None and exc.args[1:]:
        text = str(exc.strerror)
    if not text:
        return type(exc).__name__
    return text.splitlines()[0][:300]


def _retry(call: Callable[[], Any], attempts: int = 5, base_delay: float = 0.1) -> Any:
    """Run ``call``, retrying throttling and transient network errors (exponential backoff,
    full jitter)."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised when not transient
            if attempt == attempts - 1 or not _is_transient(exc) or _is_unreachable(exc):
                raise
            delay = _backoff(attempt, base_delay)
            log.debug("transient error (%s), retrying in %.2fs", type(exc).__name__, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def _backoff(attempt: int, base: float = 0.1, cap: float = 5.0) -> float:
    return random.uniform(0, min(cap, base * (2**attempt)))


# ---------------------------------------------------------------------------------------------
# the listing snapshot


class _Listing:
    """Every directory of a store with its entries: one listing, answered from memory."""

    def __init__(self) -> None:
        self.children: dict[str, dict[str, Entry]] = {"": {}}
        self._sorted: dict[str, list[Entry]] = {}
        self.objects = 0

    def add_dir(self, rel: str) -> None:
        if not rel or rel in self.children:
            return
        parent, _, name = rel.rpartition("/")
        self.add_dir(parent)
        self.children[rel] = {}
        self.children[parent][name] = Entry(name, True)  # a key that is also a prefix: the directory wins

    def add_file(self, rel: str, size: int | None) -> None:
        parent, _, name = rel.rpartition("/")
        if not name or rel in self.children:
            return  # a directory marker, or a key that is also a prefix: the directory wins
        self.add_dir(parent)
        self.children[parent][name] = Entry(name, False, size)
        self.objects += 1

    def ls(self, rel: str) -> list[Entry]:
        cached = self._sorted.get(rel)
        if cached is None:
            entries = self.children.get(rel)
            if entries is None:
                return []
            cached = self._sorted[rel] = [entries[k] for k in sorted(entries)]
        return list(cached)

    def kind(self, rel: str) -> str | None:
        if rel in self.children:
            return "dir"
        parent, _, name = rel.rpartition("/")
        entry = self.children.get(parent, {}).get(name)
        return None if entry is None else ("dir" if entry.is_dir else "file")

    def size(self, rel: str) -> int | None:
        parent, _, name = rel.rpartition("/")
        entry = self.children.get(parent, {}).get(name)
        return None if entry is None else entry.size


# ---------------------------------------------------------------------------------------------
# fsspec stores


_LIST_SPLIT_WIDTH = 48  # prefixes listed one level at a time until there are this many …
_LIST_MAX_DEPTH = 3  # … or this deep; each is then listed recursively, all in parallel
_MAX_PENDING = 200_000  # prefetched reads kept before the oldest are dropped
_CHUNK = 32  # objects per future
_ATTEMPTS = 6


class _Unreachable(Exception):
    """The server stopped answering (after retries)."""


class FsspecStore(Store):
    """Any fsspec filesystem, read through :class:`_ReadOnlyFileSystem`.

    Listed once (see the module docstring); reads run as coroutines on the filesystem's event
    loop (fsspec's own loop for synchronous filesystems, in threads), at most ``concurrency``
    at a time.
    """

    def __init__(
        self,
        fs: Any,
        root: str,
        url: str,
        concurrency: int = 64,
        *,
        secrets: Iterable[str] = (),
        direct: _S3Direct | None = None,
    ) -> None:
        self._fs = _ReadOnlyFileSystem(fs)
        self._root = root.rstrip("/") if root not in ("/", "") else root
        self.url = url
        self.concurrency = concurrency
        self.progress: Progress | None = None
        self._secrets = list(secrets)
        self._async = bool(getattr(fs, "async_impl", False))
        self._direct = direct
        self._listing: _Listing | None = None
        self._listing_lock = threading.Lock()
        self._pending: dict[str, concurrent.futures.Future[dict[str, bytes | OSError]]] = {}
        self._broken: StoreAccessError | None = None
        self._skipped: list[str] = []  # prefixes the listing could not see into
        self.refused: dict[str, str] = {}
        self._sem: asyncio.Semaphore | None = None
        self._copies: dict[str, Path] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None

    # -- plumbing

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        import fsspec.asyn

        loop: asyncio.AbstractEventLoop = self._fs.loop if self._async else fsspec.asyn.get_loop()
        return loop

    def _run(self, coro: Awaitable[Any]) -> Any:
        """Run a coroutine on the store's loop from this (synchronous) thread."""
        self._check()
        future: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        try:
            return future.result()
        except _Unreachable as exc:
            raise self._fail(exc) from None

    def _check(self) -> None:
        if self._broken is not None:
            raise self._broken

    def check_answering(self) -> None:
        self._check()

    def _fail(self, exc: BaseException) -> StoreAccessError:
        if self._broken is None:
            reason = redact(_first_line(exc.__cause__ or exc), self._secrets)
            self._broken = StoreAccessError(f"cannot read {self.url}: the server stopped answering: {reason}")
        return self._broken

    def _semaphore(self) -> asyncio.Semaphore:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.concurrency)
        return self._sem

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """One fsspec call: awaited on an async filesystem, in a thread on a synchronous one."""
        if self._async:
            return await getattr(self._fs, "_" + name)(*args, **kwargs)
        if self._threads is None:
            self._threads = concurrent.futures.ThreadPoolExecutor(self.concurrency, "mlreport-store")
            weakref.finalize(self, self._threads.shutdown, wait=False)
        func = getattr(self._fs, name)
        return await asyncio.get_running_loop().run_in_executor(self._threads, lambda: func(*args, **kwargs))

    async def _retrying(self, what: str, make: Callable[[], Awaitable[Any]]) -> Any:
        """Await ``make()`` under the concurrency limit, retrying transient errors."""
        for attempt in range(_ATTEMPTS):
            if self._broken is not None:
                raise _Unreachable(what) from self._broken
            try:
                async with self._semaphore():
                    return await make()
            except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError):
                raise
            except Exception as exc:  # noqa: BLE001 - classified here
                if not _is_transient(exc):
                    raise
                if attempt == _ATTEMPTS - 1:
                    if _is_unreachable(exc):
                        self._fail(exc)
                        raise _Unreachable(what) from exc
                    raise
                delay = _backoff(attempt)
                log.debug("%s: %s, retrying in %.2fs", what, type(exc).__name__, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _abs(self, path: str) -> str:
        if path and (path.startswith("/") or ".." in path.split("/")):
            raise FileNotFoundError(f"path outside the store: {path}")
        if not path:
            return self._root
        if not self._root:
            return path
        return f"{self._root}{path}" if self._root.endswith("/") else f"{self._root}/{path}"

    def _rel(self, name: str) -> str | None:
        name = name.rstrip("/")
        root = self._root.rstrip("/")
        if not root:
            return name.lstrip("/")
        if name == root:
            return ""
        if name.startswith(root + "/"):
            return name[len(root) + 1 :]
        return None

    # -- listing

    def _get_listing(self) -> _Listing:
        self._check()
        if self._listing is None:
            with self._listing_lock:
                if self._listing is None:
                    started = time.perf_counter()
                    listing = self._run(self._list_tree())
                    log.debug(
                        "listed %d objects under %s in %.1fs", listing.objects, self.url, time.perf_counter() - started
                    )
                    self._listing = listing
        return self._listing

    async def _list_tree(self) -> _Listing:
        """Delimited listings level by level until there are enough prefixes, then a recursive
        listing of each prefix, all in parallel: a few thousand small requests in flight beat one
        long sequence of 1,000-key pages."""
        listing = _Listing()
        level = [""]
        depth = 0
        while level:
            if depth >= _LIST_MAX_DEPTH or len(level) >= _LIST_SPLIT_WIDTH:
                found = await asyncio.gather(*(self._find_prefix(d) for d in level))
                for d, files in zip(level, found, strict=True):
                    for rel, size in files:
                        listing.add_file(join(d, rel), size)
                    self._report("listing", listing.objects)
                break
            listed = await asyncio.gather(*(self._ls_prefix(d) for d in level))
            following: list[str] = []
            for d, (dirs, files) in zip(level, listed, strict=True):
                for name in dirs:
                    listing.add_dir(join(d, name))
                    following.append(join(d, name))
                for name, size in files:
                    listing.add_file(join(d, name), size)
            self._report("listing", listing.objects)
            level = following
            depth += 1
        return listing

    def _report(self, stage: str, done: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, None)

    async def _ls_prefix(self, rel: str) -> tuple[list[str], list[tuple[str, int | None]]]:
        """Sub-directory names and (file name, size) pairs directly under ``rel``."""
        target = self._abs(rel)
        try:
            direct = self._direct
            if direct is not None and direct.enabled:
                try:
                    listed: tuple[list[str], list[tuple[str, int | None]]] = await self._retrying(
                        f"list {target}", lambda: direct.ls(target)
                    )
                    return listed
                except _Refused as exc:
                    items = await self._retrying(f"list {target}", lambda: self._call("ls", target, detail=True))
                    direct.disable(exc)
            else:
                items = await self._retrying(f"list {target}", lambda: self._call("ls", target, detail=True))
        except (FileNotFoundError, NotADirectoryError):
            return [], []
        except PermissionError as exc:
            self._skip_prefix(rel, exc)
            return [], []
        except _Unreachable:
            raise
        except Exception as exc:  # noqa: BLE001 - a listing that keeps failing: the source is unreadable
            raise self._unlistable(rel, exc) from None
        dirs: list[str] = []
        files: list[tuple[str, int | None]] = []
        for item in items:
            child = self._rel(str(item["name"]))
            if child is None or child == rel or not child:
                continue  # some backends list a file, or the prefix itself, as its own child
            name = posixpath.basename(child)
            if item.get("type") == "directory":
                dirs.append(name)
            else:
                size = item.get("size")
                files.append((name, int(size) if size is not None else None))
        return dirs, files

    async def _find_prefix(self, rel: str) -> list[tuple[str, int | None]]:
        """Every file under ``rel`` as (path relative to ``rel``, size)."""
        target = self._abs(rel)
        try:
            direct = self._direct
            if direct is not None and direct.enabled:
                try:
                    files: list[tuple[str, int | None]] = await self._retrying(
                        f"list {target}", lambda: direct.find(target)
                    )
                    return files
                except _Refused as exc:
                    found = await self._retrying(f"list {target}", lambda: self._call("find", target, detail=True))
                    direct.disable(exc)
            else:
                found = await self._retrying(f"list {target}", lambda: self._call("find", target, detail=True))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except PermissionError as exc:
            self._skip_prefix(rel, exc)
            return []
        except _Unreachable:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._unlistable(rel, exc) from None
        out: list[tuple[str, int | None]] = []
        for name, info in found.items():
            child = self._rel(str(name))
            if child is None or info.get("type") == "directory" or str(name).endswith("/"):
                continue
            inner = child[len(rel) + 1 :] if rel else child
            if inner:
                size = info.get("size")
                out.append((inner, int(size) if size is not None else None))
        return out

    def _skip_prefix(self, rel: str, exc: BaseException) -> None:
        self._skipped.append(rel)
        log.warning(
            "mlreport: cannot list %s: permission denied (%s); skipped",
            self.display(rel),
            redact(_first_line(exc), self._secrets),
        )

    def _unlistable(self, rel: str, exc: BaseException) -> StoreAccessError:
        return StoreAccessError(f"cannot list {self.display(rel)}: {redact(_first_line(exc), self._secrets)}")

    # -- the Store interface

    def ls(self, path: str = "") -> list[Entry]:
        try:
            self._abs(path)
        except FileNotFoundError:
            return []
        return self._get_listing().ls(path.strip("/"))

    def kind(self, path: str) -> str | None:
        if self._listing is None and not path:
            return self._root_kind()
        try:
            self._abs(path)
        except FileNotFoundError:
            return None
        return self._get_listing().kind(path.strip("/"))

    def _root_kind(self) -> str | None:
        """What the root is, with one request (opening a store must stay cheap), asked once."""
        self._check()
        if not hasattr(self, "_root_kind_known"):
            try:
                info = _retry(lambda: self._fs.info(self._root))
                self._root_kind_known = "dir" if info.get("type") == "directory" else "file"
            except (FileNotFoundError, NotADirectoryError):
                return None
        return self._root_kind_known

    @property
    def prefetches(self) -> bool:
        return True

    def prefetch(self, paths: Iterable[str]) -> None:
        self._check()
        self._submit([p for p in dict.fromkeys(paths) if p not in self._pending])
        while len(self._pending) > _MAX_PENDING:  # announced but never read: drop the oldest
            self._pending.pop(next(iter(self._pending)))

    def _submit(self, paths: list[str]) -> None:
        """Start fetching ``paths``: one future per chunk (a future per object costs more CPU
        than the request), resolved when every object of its chunk is in."""
        for i in range(0, len(paths), _CHUNK):
            chunk = paths[i : i + _CHUNK]
            future: concurrent.futures.Future[dict[str, bytes | OSError]] = concurrent.futures.Future()
            for p in chunk:
                self._pending[p] = future
            asyncio.run_coroutine_threadsafe(self._fill(chunk, future), self.loop)

    def read_many(self, paths: Iterable[str]) -> dict[str, bytes | OSError]:
        self._check()
        wanted = list(dict.fromkeys(paths))
        self._submit([p for p in wanted if p not in self._pending])
        futures = {p: self._pending.pop(p) for p in wanted}
        out: dict[str, bytes | OSError] = {}
        for p in wanted:
            try:
                out[p] = futures[p].result()[p]
            except _Unreachable as exc:
                raise self._fail(exc) from None
        return out

    def read_bytes(self, path: str) -> bytes:
        data = self.read_many([path])[path]
        if isinstance(data, OSError):
            raise data
        return data

    def read_head(self, path: str, size: int) -> bytes:
        self._check()
        target = self._abs(path)

        async def head() -> bytes:
            data = await self._retrying(f"read {target}", lambda: self._call("cat_file", target, start=0, end=size))
            return bytes(data[:size])  # a server may send more than the range it was asked for

        try:
            return bytes(self._run(head()))
        except OSError:
            raise
        except StoreAccessError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise OSError(errno.EIO, redact(_first_line(exc), self._secrets)) from None

    async def _fill(self, paths: list[str], future: concurrent.futures.Future[dict[str, bytes | OSError]]) -> None:
        async def one(path: str) -> bytes | OSError:
            try:
                return await self._read_one(path)
            except _Unreachable:
                raise
            except Exception as exc:  # noqa: BLE001 - the future must always be resolved
                return OSError(errno.EIO, f"unexpected {type(exc).__name__}: {exc}")

        try:
            results = await asyncio.gather(*(one(p) for p in paths))
        except BaseException as exc:  # noqa: BLE001 - _Unreachable, or the loop shutting down
            future.set_exception(exc)
            return
        future.set_result(dict(zip(paths, results, strict=True)))

    async def _read_one(self, path: str) -> bytes | OSError:
        """One object's bytes, or the error that stops it being read."""
        try:
            target = self._abs(path)
        except FileNotFoundError as exc:
            return exc
        listing = self._listing
        cap = self.max_file_size
        size: int | None = None
        if listing is not None and not any(path == p or path.startswith(p + "/") for p in self._skipped if p):
            # The listing is the snapshot the crawl works on: what it does not hold is not asked
            # for (readers probe for optional files), except inside a prefix it could not list.
            found = listing.kind(path)
            if found is None and "" not in self._skipped:
                return FileNotFoundError(errno.ENOENT, "no such file")
            if found == "dir":
                return IsADirectoryError(errno.EISDIR, "is a directory")
            size = listing.size(path)
            if size is not None and size > cap:
                return RefusedPath(_too_big(cap), path)  # from its listed size: no GET is sent
        try:
            direct = self._direct
            if direct is not None and direct.enabled:
                try:
                    return bytes(await self._retrying(f"read {target}", lambda: direct.cat(target, cap)))
                except _Refused as exc:
                    data = await self._retrying(f"read {target}", lambda: self._capped_cat(target, size))
                    direct.disable(exc)
                    return self._under_cap(data, path)
            data = await self._retrying(f"read {target}", lambda: self._capped_cat(target, size))
            return self._under_cap(data, path)
        except _TooLarge:
            # over the cap by what the server sent: its Content-Length, or the bytes themselves
            lied = "" if size is None else f" (listed as {_size_text(size)}; the server sent more)"
            return RefusedPath(_too_big(cap) + lied, path)
        except _Unreachable:
            raise
        except FileNotFoundError:
            return FileNotFoundError(errno.ENOENT, "no such file (it may have been deleted while reading)")
        except PermissionError as exc:
            return PermissionError(errno.EACCES, f"permission denied: {redact(_first_line(exc), self._secrets)}")
        except IsADirectoryError:
            return IsADirectoryError(errno.EISDIR, "is a directory")
        except Exception as exc:  # noqa: BLE001 - a backend error for one object
            return OSError(errno.EIO, redact(_first_line(exc), self._secrets))

    async def _capped_cat(self, target: str, size: int | None) -> bytes:
        """An object through the backend library (s3fs when the direct path refused, gcsfs,
        adlfs): at most the cap and one byte are read (``read_at_most``), so an object past the
        cap, whatever its listing said, costs the cap and is refused (:meth:`_under_cap`)."""
        if self._async:
            return await self._fs.read_at_most(target, self.max_file_size + 1)
        return bytes(await self._call("cat_file", target, start=0, end=self.max_file_size + 1))

    def _under_cap(self, data: bytes, path: str) -> bytes:
        if len(data) > self.max_file_size:
            raise _TooLarge(None)
        return data

    @contextlib.contextmanager
    def local_copy(self, path: str) -> Iterator[Path]:
        """Downloaded once per store into a private temporary folder, removed when the store
        goes away (an ``mlflow.db`` is opened by detection and again by reading)."""
        self._check()
        copy = self._copies.get(path)
        if copy is None or not copy.exists():
            if self._tmp is None:
                self._tmp = tempfiles.scratch_dir("mlreport-copy-")
            target = Path(self._tmp.name) / f"{len(self._copies)}-{posixpath.basename(path)}"
            source = self._abs(path)

            cap = self.max_file_size
            listed = self._listing.size(path.strip("/")) if self._listing is not None else None
            if listed is not None and listed > cap:
                raise RefusedPath(_too_big(cap), path)  # from its listed size: nothing is fetched

            def download() -> None:
                with self._fs.open(source, "rb") as src, open(target, "wb") as dst:
                    got = 0
                    while chunk := src.read(8 << 20):
                        got += len(chunk)
                        if got > cap:  # the server reports one size and sends more
                            raise RefusedPath(_too_big(cap), path)
                        dst.write(chunk)

            try:
                _retry(download)
            except OSError:
                raise
            except Exception as exc:  # noqa: BLE001
                if _is_unreachable(exc):
                    raise self._fail(exc) from None
                raise OSError(errno.EIO, redact(_first_line(exc), self._secrets)) from None
            os.chmod(target, 0o400)
            self._copies[path] = copy = target
        yield copy


# ---------------------------------------------------------------------------------------------
# S3 without botocore's per-request cost


class _Refused(Exception):
    """The direct path got an answer it does not handle; the request is retried through s3fs."""


class _TooLarge(Exception):
    """An object's body is over the per-file cap (its ``Content-Length``, or None: it ran past)."""

    def __init__(self, length: int | None) -> None:
        super().__init__(length)
        self.length = length


#: A listing page is a few hundred KB; a body past this is not a listing page.
_MAX_LISTING = 64 << 20


_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_PROBE_KEY = "mlreport-probe"
_XMLNS = re.compile(r"^\{[^}]*\}")


class _S3Direct:
    """GET and ListObjectsV2 for one bucket of an s3fs filesystem, signed here with SigV4 and
    sent with aiohttp.

    Everything that varies between deployments comes from botocore: the URL layout (a presigned
    URL for a probe key gives scheme, host, path style and the signing region) and the
    credentials (the client's own, refreshed by botocore). Only used when no option changes what
    a plain GET looks like (requester pays, SSE-C, versions, proxies). It keeps no reference to
    the filesystem: it can only send the GETs below.
    """

    def __init__(self, bucket: _S3Bucket, session: Any) -> None:
        self._b = bucket
        self._session = session
        self.enabled = True

    @staticmethod
    def usable(fs: Any) -> bool:
        if type(fs).__module__.split(".")[0] != "s3fs":
            return False
        if any(getattr(fs, name, None) for name in ("version_aware", "req_kw", "s3_additional_kwargs")):
            return False
        config = dict(getattr(fs, "config_kwargs", None) or {})
        if config.get("proxies") or config.get("signature_version") not in (None, "s3v4", "v4"):
            return False
        client = dict(getattr(fs, "client_kwargs", None) or {})
        verify = client.get("verify", True)
        return verify is True or verify is None or isinstance(verify, str)

    @classmethod
    async def create(cls, fs: Any, bucket: str, concurrency: int) -> _S3Direct | None:
        """Set up for ``bucket`` from the s3fs client's own configuration; ``None`` when the
        layout is not one this class understands."""
        import aiohttp

        await fs.set_session()
        client = await fs.get_s3(bucket)
        url = await client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": _PROBE_KEY}, ExpiresIn=300
        )
        parts = urlsplit(url)
        if not parts.path.endswith("/" + _PROBE_KEY):
            return None
        query = parse_qs(parts.query)
        signed = "X-Amz-Credential" in query or "AWSAccessKeyId" in query
        scope = (query.get("X-Amz-Credential") or [""])[0].split("/")
        region = scope[2] if len(scope) == 5 else client.meta.region_name
        credentials = client._get_credentials() if signed else None
        if signed and (credentials is None or not region):
            return None
        if _proxied(f"{parts.scheme}://{parts.netloc}"):
            return None  # s3fs/botocore know how to go through a proxy; keep it simple here
        verify = dict(getattr(fs, "client_kwargs", None) or {}).get("verify", True)
        ssl: Any = True
        if isinstance(verify, str):
            import ssl as ssl_module

            ssl = ssl_module.create_default_context(cafile=verify)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency, ssl=ssl),
            timeout=aiohttp.ClientTimeout(total=120, sock_connect=10),
            trust_env=False,  # read per request (proxies, netrc) it costs a quarter of the CPU
            auto_decompress=False,
        )
        state = _S3Bucket(
            name=bucket,
            scheme=parts.scheme,
            netloc=parts.netloc,
            key_base=parts.path[: -len(_PROBE_KEY)],
            region=region if signed else None,
            service="s3",
            credentials=credentials,
        )
        direct = cls(state, session)
        weakref.finalize(direct, _close_session, session, asyncio.get_running_loop())
        return direct

    def disable(self, why: BaseException) -> None:
        if self.enabled:
            self.enabled = False
            log.debug("direct S3 requests turned off (%s); using s3fs", type(why).__name__)

    async def _get(self, path: str, query: Mapping[str, str] | None = None, limit: int = _MAX_LISTING) -> bytes:
        """The body of a GET, at most ``limit`` bytes: a larger ``Content-Length`` is refused
        before the body is read, and a body that runs past it (sent without a length, or a
        server that says one size and sends another) is cut off there (:class:`_TooLarge`)."""
        import yarl

        b = self._b
        canonical_query = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted((query or {}).items())
        )
        headers = await b.sign("GET", path, canonical_query)
        query_part = f"?{canonical_query}" if canonical_query else ""
        url = yarl.URL(f"{b.scheme}://{b.netloc}{path}{query_part}", encoded=True)
        async with self._session.get(url, headers=headers, allow_redirects=False) as response:
            status = response.status
            if status == 200 and response.content_length is not None and response.content_length > limit:
                response.close()  # the connection is dropped, not drained
                raise _TooLarge(response.content_length)
            chunks: list[bytes] = []
            got = 0
            async for chunk in response.content.iter_chunked(1 << 16):
                got += len(chunk)
                if got > limit:
                    response.close()
                    raise _TooLarge(None)
                chunks.append(chunk)
            body = b"".join(chunks)
        if status == 200:
            return body
        code, message = _s3_error(body)
        text = f"{status} {code}: {message}" if code else f"HTTP {status}"
        if status == 404:
            raise FileNotFoundError(errno.ENOENT, text)
        if status in (429, 500, 502, 503, 504):
            raise OSError(errno.EBUSY, text)
        raise _Refused(text)  # 3xx (another region), 400, 401, 403 …: let s3fs decide

    def _key(self, target: str) -> str:
        bucket, _, key = target.partition("/")
        if bucket != self._b.name:
            raise _Refused(f"another bucket: {bucket}")
        return key

    async def cat(self, target: str, limit: int) -> bytes:
        return await self._get(self._b.key_base + quote(self._key(target), safe="/~"), limit=limit)

    async def _list(self, target: str, delimiter: bool) -> tuple[list[str], list[tuple[str, int | None]]]:
        """Keys (relative to ``target``/) and, with a delimiter, sub-prefixes, every page."""
        key = self._key(target)
        prefix = key.rstrip("/") + "/" if key else ""
        path = self._b.key_base.rstrip("/") or "/"
        dirs: list[str] = []
        files: list[tuple[str, int | None]] = []
        token: str | None = None
        while True:
            query = {"list-type": "2", "prefix": prefix, "encoding-type": "url"}
            if delimiter:
                query["delimiter"] = "/"
            if token:
                query["continuation-token"] = token
            body = await self._get(path, query)
            page = _parse_list(body)
            for name, size in page.keys:
                if name.startswith(prefix) and len(name) > len(prefix):
                    files.append((name[len(prefix) :], size))
            for name in page.prefixes:
                if name.startswith(prefix) and len(name) > len(prefix):
                    dirs.append(name[len(prefix) :].rstrip("/"))
            if not page.truncated or not page.token:
                break
            token = page.token
        return dirs, files

    async def ls(self, target: str) -> tuple[list[str], list[tuple[str, int | None]]]:
        dirs, files = await self._list(target, delimiter=True)
        # a key ending in "/" is a directory marker, not a file
        marker_dirs = [name.rstrip("/") for name, _ in files if name.endswith("/")]
        return sorted(set(dirs + [d for d in marker_dirs if d])), [(n, s) for n, s in files if not n.endswith("/")]

    async def find(self, target: str) -> list[tuple[str, int | None]]:
        _, files = await self._list(target, delimiter=False)
        return [(n, s) for n, s in files if not n.endswith("/")]


@dataclass
class _S3Bucket:
    name: str
    scheme: str
    netloc: str
    key_base: str  # "/bucket/" (path style) or "/" (virtual-hosted)
    region: str | None  # None: unsigned (anonymous) requests
    service: str
    credentials: Any
    _day: str = ""
    _secret: str = ""
    _key: bytes = b""

    async def sign(self, method: str, path: str, canonical_query: str) -> dict[str, str]:
        headers = {"Host": self.netloc}
        if self.region is None:
            return headers
        frozen = self.credentials.get_frozen_credentials()
        if asyncio.iscoroutine(frozen):
            frozen = await frozen
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        if day != self._day or frozen.secret_key != self._secret:
            key = _hmac(("AWS4" + frozen.secret_key).encode(), day)
            for part in (self.region, self.service, "aws4_request"):
                key = _hmac(key, part)
            self._day, self._secret, self._key = day, frozen.secret_key, key
        headers["x-amz-content-sha256"] = _EMPTY_SHA256
        headers["x-amz-date"] = amz_date
        if frozen.token:
            headers["x-amz-security-token"] = frozen.token
        names = sorted(h.lower() for h in headers)
        lowered = {h.lower(): v for h, v in headers.items()}
        canonical = "\n".join(
            [
                method,
                path,
                canonical_query,
                "".join(f"{n}:{lowered[n].strip()}\n" for n in names),
                ";".join(names),
                _EMPTY_SHA256,
            ]
        )
        scope = f"{day}/{self.region}/{self.service}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={frozen.access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        return headers


def _proxied(url: str) -> bool:
    import urllib.request

    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit(":", 1)[0]
    return bool(urllib.request.getproxies().get(scheme)) and not urllib.request.proxy_bypass(host)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


@dataclass
class _Page:
    keys: list[tuple[str, int | None]]
    prefixes: list[str]
    truncated: bool
    token: str | None


def _parse_list(body: bytes) -> _Page:
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise OSError(errno.EIO, f"unreadable listing: {exc}") from None
    encoded = False
    keys: list[tuple[str, int | None]] = []
    prefixes: list[str] = []
    truncated = False
    token = None
    for child in root:
        tag = _XMLNS.sub("", child.tag)
        if tag == "Contents":
            key, size = "", None
            for field in child:
                ftag = _XMLNS.sub("", field.tag)
                if ftag == "Key":
                    key = field.text or ""
                elif ftag == "Size":
                    # a server's text: not a number is an unknown size, not a ValueError that
                    # ends the listing (issue 11)
                    text = (field.text or "0").strip()
                    size = int(text) if text.isascii() and text.isdigit() and len(text) <= 20 else None
            keys.append((key, size))
        elif tag == "CommonPrefixes":
            for field in child:
                if _XMLNS.sub("", field.tag) == "Prefix":
                    prefixes.append(field.text or "")
        elif tag == "IsTruncated":
            truncated = (child.text or "").strip().lower() == "true"
        elif tag == "NextContinuationToken":
            token = child.text
        elif tag == "EncodingType":
            encoded = (child.text or "").strip().lower() == "url"
    if encoded:
        keys = [(unquote_plus(k), s) for k, s in keys]
        prefixes = [unquote_plus(p) for p in prefixes]
    return _Page(keys, prefixes, truncated, token)


def _s3_error(body: bytes) -> tuple[str, str]:
    code = re.search(rb"<Code>([^<]*)</Code>", body or b"")
    message = re.search(rb"<Message>([^<]*)</Message>", body or b"")
    return (
        code.group(1).decode(errors="replace") if code else "",
        message.group(1).decode(errors="replace") if message else "",
    )


def _close_session(session: Any, loop: asyncio.AbstractEventLoop) -> None:
    with contextlib.suppress(Exception):
        if loop.is_running() and not session.closed:
            asyncio.run_coroutine_threadsafe(session.close(), loop)


# ---------------------------------------------------------------------------------------------
# opening


def open_store(
    source: str,
    storage_options: Mapping[str, Any] | None = None,
    max_file_size: int | None = None,
    named: str | None = None,
) -> Store:
    """Open a source for reading: a local path or an fsspec URL.

    ``storage_options`` go to the fsspec filesystem (endpoint, profile, anonymous access …);
    they are never logged, and their secret values are removed from every message.

    Raises:
        SourceError: the path does not exist, or the URL's protocol is unknown.
        StoreAccessError: the filesystem needs an extra that is not installed, or the store
            cannot be reached with the given credentials (wrong key, missing bucket, an
            endpoint that does not answer).
    """
    if "://" not in source:
        # ``named``: the local path as the user wrote it, before it was resolved from the
        # config's folder; messages name it so (the build machine's folders stay out of them)
        root = Path(source).expanduser()
        if not root.exists():
            raise SourceError(f"cannot open {named or source}: no such file or directory")
        return LocalStore(root.resolve(), named or source, max_file_size or DEFAULT_MAX_FILE_SIZE)

    import fsspec  # heavy-ish; only remote sources need it
    import fsspec.asyn

    protocol = source.split("://", 1)[0]
    options = dict(storage_options or {})
    secrets = _secret_values(options)
    # A fresh filesystem per store: fsspec caches instances and their listings, which would
    # make a rebuild (``mlreport serve``) see a stale bucket.
    options.setdefault("skip_instance_cache", True)
    if protocol in ("gs", "gcs"):
        # Without it gcsfs probes every bucket for a hierarchical namespace, which S3-compatible
        # emulators and some proxies answer after a 60 s timeout.
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    try:
        fs, path = fsspec.core.url_to_fs(source, **options)
    except ImportError as exc:
        package, extra = _EXTRAS.get(protocol, (None, None))
        if package:
            raise StoreAccessError(
                f"cannot open {source}: the '{protocol}' filesystem needs {package}; install mlreport[{extra}]"
            ) from None
        raise StoreAccessError(f"cannot open {source}: {redact(_first_line(exc), secrets)}") from None
    except ValueError as exc:
        if "Protocol not known" in str(exc):
            raise SourceError(f"cannot open {source}: unknown protocol '{protocol}'") from None
        raise StoreAccessError(f"cannot open {source}: {redact(_first_line(exc), secrets)}") from None
    except Exception as exc:  # noqa: BLE001 - a bad option, unreadable credentials files …
        raise StoreAccessError(f"cannot open {source}: {redact(_first_line(exc), secrets)}") from None
    endpoint = _endpoint(fs, options)
    if endpoint is not None:
        trouble = _unreachable_endpoint(endpoint)
        if trouble is not None:
            raise StoreAccessError(f"cannot open {source}: cannot connect to the endpoint {trouble}")
    store = FsspecStore(fs, path, source, secrets=secrets)
    if max_file_size:
        store.max_file_size = max_file_size
    try:
        found = store.kind("")
    except StoreAccessError:
        raise
    except Exception as exc:  # noqa: BLE001 - credentials, DNS, refused connections …
        raise StoreAccessError(f"cannot open {source}: {_reason(exc, secrets)}") from None
    if found is None:
        if protocol in _BUCKET_PROTOCOLS:
            bucket = path.strip("/").split("/", 1)[0]
            try:
                bucket_found = _retry(lambda: fs.exists(bucket)) if bucket else True
            except Exception as exc:  # noqa: BLE001
                raise StoreAccessError(f"cannot open {source}: {_reason(exc, secrets)}") from None
            if not bucket_found:
                raise StoreAccessError(f"cannot open {source}: bucket '{bucket}' does not exist")
        raise SourceError(f"cannot open {source}: no such file or directory")
    if _S3Direct.usable(fs) and os.environ.get("MLREPORT_S3_DIRECT", "1") != "0":
        bucket = path.strip("/").split("/", 1)[0]
        try:
            store._direct = fsspec.asyn.sync(fs.loop, _S3Direct.create, fs, bucket, store.concurrency)
        except Exception as exc:  # noqa: BLE001 - the s3fs path works regardless
            log.debug("direct S3 requests not available (%s)", type(exc).__name__)
    return store


def _endpoint(fs: Any, options: Mapping[str, Any]) -> str | None:
    """The HTTP endpoint a bucket filesystem talks to, when it names one (s3fs, gcsfs, adlfs)."""
    candidates = [
        getattr(fs, "endpoint_url", None),  # s3fs
        getattr(fs, "_endpoint", None),  # gcsfs
        (options.get("client_kwargs") or {}).get("endpoint_url")
        if isinstance(options.get("client_kwargs"), dict)
        else None,
        options.get("endpoint_url"),
    ]
    connection = options.get("connection_string")
    if isinstance(connection, str):
        m = re.search(r"BlobEndpoint=([^;]+)", connection)
        candidates.append(m.group(1) if m else None)
    if options.get("account_url"):
        candidates.append(options.get("account_url"))
    for url in candidates:
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return url
    return None


def _unreachable_endpoint(url: str, attempts: int = 2, timeout: float = 5.0) -> str | None:
    """``host:port (reason)`` when nothing answers at ``url``'s host and port, else ``None``.

    The filesystems retry a refused connection for up to a minute (gcsfs: six tries with
    exponential backoff, fixed at import) and log a traceback for each: one TCP connection
    here turns a server that is not there into one line at once. Skipped behind a proxy, where
    the proxy is what would answer.
    """
    import socket

    if _proxied(url):
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    reason = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(0.2)
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return None
        except socket.gaierror:
            return f"{host}:{port} (cannot resolve '{host}')"
        except ConnectionRefusedError:
            reason = "connection refused"
        except TimeoutError:
            reason = f"no answer in {timeout:g} s"
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
    return f"{host}:{port} ({reason})"


def _reason(exc: BaseException, secrets: Iterable[str]) -> str:
    text = redact(_first_line(exc), secrets)
    if _is_unreachable(exc):
        return f"cannot connect to the endpoint ({text})"
    if isinstance(exc, PermissionError) or any(isinstance(e, PermissionError) for e in _chain(exc)):
        return f"access denied ({text}); check the credentials"
    return text


def _short_reason(exc: BaseException) -> str:
    return _first_line(exc)[:200]


__all__ = [
    "Entry",
    "FsspecStore",
    "LocalStore",
    "RefusedPath",
    "Store",
    "describe_unknown",
    "display_path",
    "join",
    "open_store",
    "redact",
    "refusals",
    "still_answering",
]
