"""Read-only access to a source: a local folder, or any fsspec URL (s3://, gs://, az://, memory://).

Readers see a :class:`Store` and paths relative to its root, ``/``-separated, never absolute.
A store has no method that writes, renames or deletes, and the fsspec filesystem behind a remote
store is wrapped so that only read calls can reach it (see :class:`_ReadOnlyFileSystem`).
Listings are sorted by name so output never depends on the backend.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import stat
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SourceError, StoreAccessError

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


@dataclass(frozen=True, slots=True)
class Entry:
    """One directory entry: its name (not a path), whether it is a directory, and its size."""

    name: str
    is_dir: bool
    size: int | None = None


class Store(ABC):
    """A read-only tree of files. ``url`` is the source as the user named it."""

    url: str

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

    def exists(self, path: str) -> bool:
        return self.kind(path) is not None

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
        with tempfile.TemporaryDirectory(prefix="mlreport-") as tmp:
            target = Path(tmp) / posixpath.basename(path)
            target.write_bytes(self.read_bytes(path))
            yield target

    def local_root(self) -> Path | None:
        """The local directory behind this store, or ``None`` for a remote one."""
        return None

    def display(self, path: str) -> str:
        """How a message names ``path``: the source as given, joined with the path."""
        return display_path(self.url, path)


def join(*parts: str) -> str:
    """Join store paths, ignoring empty parts; never starts with ``/``."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def display_path(store_url: str, path: str) -> str:
    base = store_url.rstrip("/") or store_url
    if not path:
        return base
    if base in (".", "./"):
        return path
    if base.startswith("./"):
        base = base[2:]
    return f"{base}/{path}"


class LocalStore(Store):
    """A local directory, read with ``os.scandir`` and ``open`` (fsspec's local layer costs
    several times more per file, and local crawls are the ones with 10,000-run budgets)."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url

    def _abs(self, path: str) -> str:
        if not path:
            return str(self.root)
        # Paths come from readers that joined names read from the store; refuse escapes.
        if path.startswith("/") or ".." in path.split("/"):
            raise FileNotFoundError(f"path outside the store: {path}")
        return os.path.join(self.root, path)

    def ls(self, path: str = "") -> list[Entry]:
        try:
            with os.scandir(self._abs(path)) as it:
                entries = []
                for e in it:
                    try:
                        is_dir = e.is_dir()
                        size = None if is_dir else e.stat().st_size
                    except OSError:
                        continue
                    entries.append(Entry(e.name, is_dir, size))
        except (FileNotFoundError, NotADirectoryError):
            return []
        entries.sort(key=lambda e: e.name)
        return entries

    def read_bytes(self, path: str) -> bytes:
        with open(self._abs(path), "rb") as f:
            return f.read()

    def read_tree(self, path: str) -> dict[str, bytes | OSError]:
        out: dict[str, bytes | OSError] = {}
        stack = [(self._abs(path), "")]
        while stack:
            directory, prefix = stack.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except (FileNotFoundError, NotADirectoryError):
                continue
            for e in entries:
                rel = f"{prefix}{e.name}"
                try:
                    if e.is_dir():
                        stack.append((e.path, rel + "/"))
                        continue
                    with open(e.path, "rb") as f:
                        out[rel] = f.read()
                except OSError as exc:
                    out[rel] = exc
        return dict(sorted(out.items()))

    def read_text(self, path: str) -> str:
        with open(self._abs(path), encoding="utf-8") as f:
            return f.read()

    def kind(self, path: str) -> str | None:
        try:
            mode = os.stat(self._abs(path)).st_mode
        except (OSError, ValueError):
            return None
        if stat.S_ISDIR(mode):
            return "dir"
        return "file"

    @contextlib.contextmanager
    def local_copy(self, path: str) -> Iterator[Path]:
        yield Path(self._abs(path))

    def local_root(self) -> Path | None:
        return self.root


class _ReadOnlyFileSystem:
    """Exposes only the read calls of an fsspec filesystem: a write cannot reach a source."""

    _ALLOWED = frozenset({"ls", "cat_file", "cat", "info", "exists", "isdir", "isfile", "find"})

    def __init__(self, fs: Any) -> None:
        object.__setattr__(self, "_fs", fs)

    def __getattr__(self, name: str) -> Any:
        if name not in self._ALLOWED:
            raise AttributeError(f"mlreport opens sources read-only; {name!r} is not allowed")
        return getattr(self._fs, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("read-only")


_TRANSIENT_NAMES = ("Throttl", "SlowDown", "TooManyRequests", "ServiceUnavailable", "Timeout")


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return False
    text = f"{type(exc).__name__} {exc}"
    return isinstance(exc, (TimeoutError, ConnectionError)) or any(
        t in text for t in _TRANSIENT_NAMES
    ) or " 503" in text or " 429" in text or "500" in text


def _retry(call: Callable[[], Any], attempts: int = 5, base_delay: float = 0.2) -> Any:
    """Run ``call``, retrying throttling and transient network errors with exponential backoff."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised when not transient
            if attempt == attempts - 1 or not _is_transient(exc):
                raise
            delay = base_delay * (2**attempt)
            log.debug("transient error (%s), retrying in %.1fs", exc, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


class FsspecStore(Store):
    """Any fsspec filesystem, read through :class:`_ReadOnlyFileSystem`, with retries and a
    bounded thread pool for batches of small reads."""

    def __init__(self, fs: Any, root: str, url: str, concurrency: int = 32) -> None:
        self._fs = _ReadOnlyFileSystem(fs)
        self._root = root.rstrip("/")
        self.url = url
        self.concurrency = concurrency

    def _abs(self, path: str) -> str:
        if path and (path.startswith("/") or ".." in path.split("/")):
            raise FileNotFoundError(f"path outside the store: {path}")
        if not path:
            return self._root
        return f"{self._root}/{path}" if self._root else path

    def ls(self, path: str = "") -> list[Entry]:
        target = self._abs(path)
        try:
            items = _retry(lambda: self._fs.ls(target, detail=True))
        except (FileNotFoundError, NotADirectoryError):
            return []
        entries: dict[str, Entry] = {}
        prefix = target.rstrip("/")
        for item in items:
            full = str(item["name"]).rstrip("/")
            if full == prefix:
                continue  # some backends list a file as its own child
            name = posixpath.basename(full)
            is_dir = item.get("type") == "directory"
            size = None if is_dir else item.get("size")
            entries[name] = Entry(name, is_dir, int(size) if size is not None else None)
        return [entries[k] for k in sorted(entries)]

    def read_bytes(self, path: str) -> bytes:
        target = self._abs(path)
        data = _retry(lambda: self._fs.cat_file(target))
        return bytes(data)

    def kind(self, path: str) -> str | None:
        target = self._abs(path)
        try:
            info = _retry(lambda: self._fs.info(target))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return "dir" if info.get("type") == "directory" else "file"

    def read_many(self, paths: Iterable[str]) -> dict[str, bytes | OSError]:
        todo = list(paths)
        out: dict[str, bytes | OSError] = {}
        if not todo:
            return out

        def one(p: str) -> tuple[str, bytes | OSError]:
            try:
                return p, self.read_bytes(p)
            except OSError as exc:
                return p, exc
            except Exception as exc:  # noqa: BLE001 - a backend error for one object
                return p, OSError(str(exc))

        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(todo))) as pool:
            for p, result in pool.map(one, todo):
                out[p] = result
        return out


def open_store(source: str, storage_options: Mapping[str, Any] | None = None) -> Store:
    """Open a source for reading: a local path or an fsspec URL.

    Raises:
        SourceError: the path does not exist, or the URL's protocol is unknown.
        StoreAccessError: the filesystem needs an extra that is not installed, or the store
            cannot be reached with the given credentials.
    """
    if "://" not in source:
        root = Path(source).expanduser()
        if not root.exists():
            raise SourceError(f"cannot open {source}: no such file or directory")
        return LocalStore(root.resolve(), source)

    import fsspec  # heavy-ish; only remote sources need it

    protocol = source.split("://", 1)[0]
    try:
        fs, path = fsspec.core.url_to_fs(source, **dict(storage_options or {}))
    except ImportError as exc:
        package, extra = _EXTRAS.get(protocol, (None, None))
        if package:
            raise StoreAccessError(
                f"cannot open {source}: the '{protocol}' filesystem needs {package}; "
                f"install mlreport[{extra}]"
            ) from exc
        raise StoreAccessError(f"cannot open {source}: {exc}") from exc
    except ValueError as exc:
        if "Protocol not known" in str(exc):
            raise SourceError(f"cannot open {source}: unknown protocol '{protocol}'") from exc
        raise StoreAccessError(f"cannot open {source}: {exc}") from exc
    store = FsspecStore(fs, path, source)
    try:
        found = store.kind("")
    except Exception as exc:  # noqa: BLE001 - credentials, DNS, refused connections …
        raise StoreAccessError(f"cannot open {source}: {_short_reason(exc)}") from exc
    if found is None:
        raise SourceError(f"cannot open {source}: no such file or directory")
    return store


def _short_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


__all__ = [
    "Entry",
    "FsspecStore",
    "LocalStore",
    "Store",
    "display_path",
    "join",
    "open_store",
]
