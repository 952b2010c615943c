"""The build cache: a plain folder (default beside the output, ``--cache-dir`` to move it), so CI
can keep it between jobs.

- ``crawl/``: the catalog of the last crawl, keyed by a fingerprint of the sources' listings
  (every file's path, size and modification time) and of the config; its metric histories are
  copied beside it. Only local sources are fingerprinted: with a bucket in the sources the
  crawl always runs.
- ``units.sqlite``: what each reader read from each unit of a store (an MLflow run folder),
  keyed by that unit's files (:class:`UnitCache`); a crawl after one new run re-reads one run.
  The sources are walked once per build (:class:`Snapshot`): that walk keys both.
- ``rendered/``: each rendered page's files under its input digest, hard links to the site's
  (:mod:`mlreport.engine.page_store`; digests: :mod:`mlreport.engine.deps`).
- ``manifest.pickle`` and ``manifest.pages.pickle``: what the last build published: the build
  key, the site's listing and the summary ``mlreport build`` reports (the first file: all a
  build with nothing changed reads), then each page's digest, its files' sizes and times and
  its search entries, the same of the spare tree beside the site (:mod:`mlreport.engine.tree`)
  and of MkDocs' last output, so that unchanged pages are neither rendered nor rewritten.

Everything here is a cache: a missing, stale or damaged entry is rebuilt, and a build with or
without it gives the same bytes.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import operator
import os
import pickle
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import safe_pickle
from ..catalog import Catalog
from ..history_store import HistoryFile
from ..readers._units import dump_apart, dumps, load_apart, loads, records_in
from .code import code_digest

log = logging.getLogger("mlreport.engine.cache")

FORMAT = b"mlreport-cache-1"


def default_cache_dir(site_dir: Path) -> Path:
    return site_dir.parent / f".{site_dir.name}.cache"


_NAME = operator.attrgetter("name")


class Snapshot:
    """One walk of a local source, kept for everything that asks about its files in this build.

    Each folder gets a digest of what is in it (Merkle: every file's name, size, modification
    time and inode, every subfolder's name and digest), so one walk answers both the whole
    source's fingerprint (the catalog cache key) and "did anything under this run's folder
    change?" (a unit's key: issue 7, one new run re-reads one run). Digests are kept for the
    folders that hold a subfolder (run and experiment folders; not the ``params/`` leaves, which
    are most folders of a store). A folder that holds a symbolic link, or one that cannot be
    listed, has no digest: what is behind a link is not walked, so its content cannot be trusted
    to be unchanged; its parents still have one, the link itself in it.

    The times are ``st_mtime_ns``; a file rewritten within one tick of the filesystem's clock
    with the same size and inode would look unchanged (ext4 and APFS keep nanoseconds, FAT two
    seconds), which is the trade every mtime-keyed build tool makes.
    """

    def __init__(self, root: Path, jobs: int | None = 1, meanwhile: Callable[[], object] | None = None) -> None:
        self.root = os.path.realpath(root)
        self.folders: dict[str, bytes | None] = {}
        self.jobs = jobs
        # called once while the pool walks the run folders (or after a walk in this process):
        # this process is idle then, and a build with nothing changed has its site to list
        self._meanwhile = meanwhile
        self.fingerprint = self._walk(root)
        self._call_meanwhile()

    def _call_meanwhile(self) -> None:
        if self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            meanwhile()

    def digest(self, folder: str) -> bytes | None:
        """The digest of ``folder`` (an absolute real path under the root), or None when it is
        not known or cannot be trusted."""
        return self.folders.get(folder)

    def _walk(self, root: Path) -> str:
        top = hashlib.blake2b(digest_size=20)
        top.update(str(root).encode() + b"\0")
        if root.is_file():
            st = root.stat()
            top.update(f"{st.st_size} {st.st_mtime_ns}\n".encode())
            return top.hexdigest()
        top.update(self._walk_levels())
        return top.hexdigest()

    def _walk_levels(self) -> bytes:
        """The root and the folders one level down (an MLflow store's experiments) are walked
        here; each folder two levels down (a run folder) is walked as a whole, on the crawl's
        process pool for a store of thousands (:data:`WALK_POOL_MIN`), in batches, and the
        digests are assembled here in name order: the same digests whatever the workers."""
        root = self._open("", self.root)
        firsts = [self._open(name, path) for name, path in reversed(root[3])]
        seconds = [sub for frame in firsts for sub in reversed(frame[3])]
        batches = [seconds[i : i + _WALK_BATCH] for i in range(0, len(seconds), _WALK_BATCH)]
        results: Iterator[tuple[bytes, bool, dict[str, bytes | None]]]
        if self.jobs != 1 and len(seconds) >= WALK_POOL_MIN:
            from ..executor import Executor

            mapped = Executor(jobs=self.jobs).map(_walk_batch, batches)  # the workers start here
            self._call_meanwhile()
            results = (r for batch in mapped for r in batch)
        else:
            results = (r for batch in batches for r in _walk_batch(batch))
        for frame in firsts:
            for name, _path in reversed(frame[3]):
                digest, trusted, folders = next(results)
                self.folders.update(folders)
                _fold(frame, name, digest, trusted)
            digest = frame[2].digest()
            if frame[5]:  # kept for folders that hold a subfolder
                self.folders[frame[1]] = digest if frame[4] else None
            _fold(root, frame[0], digest, frame[4])
        root_digest: bytes = root[2].digest()
        self.folders[root[1]] = root_digest if root[4] else None
        return root_digest

    @staticmethod
    def _open(name: str, folder: str) -> list[Any]:
        h = hashlib.blake2b(digest_size=16)
        trusted = True
        subs: list[tuple[str, str]] = []
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=_NAME)
        except OSError:
            h.update(b"!\n")
            return [name, folder, h, subs, False, False]
        # one string per folder, hashed once (a hash update per file was a third of the walk)
        parts: list[str] = []
        for e in entries:
            try:
                if e.is_symlink():
                    # what is behind a link is not walked: the folder holding it cannot be
                    # trusted for a unit; the link's target still enters the fingerprint
                    trusted = False
                    parts.append(f"l{e.name}\0{os.readlink(e.path)}\n")
                elif e.is_dir(follow_symlinks=False):
                    subs.append((e.name, e.path))
                else:
                    st = e.stat(follow_symlinks=False)
                    parts.append(f"f{e.name}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n")
            except OSError:
                parts.append(f"!{e.name}\n")
                trusted = False
        h.update("".join(parts).encode("utf-8", "surrogateescape"))
        subs.reverse()  # popped from the end: walked in name order
        return [name, folder, h, subs, trusted, bool(subs)]


#: Folders two levels down (run folders) from which a walk is split over the process pool.
WALK_POOL_MIN = 2000
_WALK_BATCH = 128


def _fold(parent: list[Any], name: str, digest: bytes, trusted: bool) -> None:
    """A subfolder's digest into its parent's frame."""
    parent[2].update(b"d" + name.encode("utf-8", "surrogateescape") + b"\0" + digest + b"\n")
    parent[4] = parent[4] and trusted


def _subtree(name: str, folder: str, folders: dict[str, bytes | None]) -> tuple[bytes, bool]:
    """The digest of ``folder`` and whether it can be trusted; each folder from it down that
    holds a subfolder goes into ``folders``."""
    # Post-order with an explicit stack: a store nested thousands of folders deep must not
    # overflow the interpreter's stack (tests/fuzz), and only one path of folders is open.
    # A frame: [name, path, hash, subfolders still to walk, trusted, has a subfolder]
    stack: list[list[Any]] = [Snapshot._open(name, folder)]
    while True:
        frame = stack[-1]
        if frame[3]:
            sub_name, path = frame[3].pop()
            stack.append(Snapshot._open(sub_name, path))
            continue
        stack.pop()
        digest: bytes = frame[2].digest()
        if frame[5]:
            folders[frame[1]] = digest if frame[4] else None
        if not stack:
            return digest, frame[4]
        _fold(stack[-1], frame[0], digest, frame[4])


def _walk_batch(subs: list[tuple[str, str]]) -> list[tuple[bytes, bool, dict[str, bytes | None]]]:
    """Walk folders in a pool worker: each one's digest, trust and folder digests."""
    out = []
    for name, path in subs:
        folders: dict[str, bytes | None] = {}
        digest, trusted = _subtree(name, path, folders)
        out.append((digest, trusted, folders))
    return out


def listing_fingerprint(
    roots: Iterable[Path],
    snapshots: dict[str, Snapshot] | None = None,
    jobs: int | None = 1,
    meanwhile: Callable[[], object] | None = None,
) -> str:
    """Every file under ``roots`` as (path, size, mtime, inode): any change to a store changes it.

    With ``snapshots``, each root's :class:`Snapshot` is kept there (by its real path) for the
    crawl of the same build, so the sources are walked once (issue 7). ``jobs``: worker
    processes a large store's walk may be split over (None: every core; the same digests).
    ``meanwhile`` is called once during the first root's walk, while its workers run (not at
    all when there is no root).
    """
    h = hashlib.blake2b(digest_size=20)
    for root in roots:
        snap = Snapshot(root, jobs, meanwhile)
        meanwhile = None
        h.update(snap.fingerprint.encode() + b"\n")
        if snapshots is not None:
            snapshots[snap.root] = snap
    return h.hexdigest()


class UnitCache:
    """What a reader read from one unit of a store (an MLflow run folder), kept between builds.

    Keyed by the unit's own files (its folder's :class:`Snapshot` digest, plus whatever else
    the reader says the result depends on), so a rebuild after one new run re-reads that run
    and takes the other 9,999 from here (issue 7). The entries are a SQLite table of pickles
    (read one at a time: memory stays what one run needs, at any store size); entries this
    crawl did not use are dropped when it finishes, so the cache stays the size of one store.

    Everything here is a cache: a damaged file is started afresh, and a crawl with or without
    it yields the same records (tests/test_catalog_incremental.py).
    """

    def __init__(self, path: Path, snapshots: Mapping[str, Snapshot]) -> None:
        self.path = path
        self.snapshots = dict(snapshots)
        self.hits = 0
        self.misses = 0
        self.other = [0, 0]  # hits and misses of units that are not run folders
        self._used: set[bytes] = set()
        self._db: sqlite3.Connection | None = None
        self._roots = sorted(self.snapshots, key=len, reverse=True)
        self._salt = _code_salt()
        # the records of the last hit, known clean (they were cleaned before they were kept),
        # held so that their ids stay theirs until the crawl has looked at them
        self._last: dict[int, Any] = {}

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = self._open_db()
            except (OSError, sqlite3.Error) as exc:
                log.info("unit cache %s is damaged (%s): started afresh", self.path, exc)
                try:
                    self.path.unlink(missing_ok=True)
                    self._db = self._open_db()
                except (OSError, sqlite3.Error):
                    return None
        return self._db

    def _open_db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        # a rowid table: its rows are a run's records (kilobytes), too large for WITHOUT ROWID
        db.execute("CREATE TABLE IF NOT EXISTS units2 (key BLOB NOT NULL UNIQUE, value BLOB NOT NULL)")
        db.execute("BEGIN")
        return db

    def digest(self, folder: Path | str, resolved: bool = False) -> bytes | None:
        """The digest of a local folder from this build's walk; None when no walk covers it
        (a bucket, a source not walked) or its content cannot be trusted (a link inside).
        ``resolved``: ``folder`` is a real path already (no link on the way to it)."""
        real = str(folder) if resolved else os.path.realpath(folder)
        for root in self._roots:
            if real == root or real.startswith(root.rstrip("/") + "/"):
                return self.snapshots[root].digest(real)
        return None

    def key(self, *parts: object) -> bytes:
        """A key from the parts a result depends on (and the code that read it)."""
        h = hashlib.blake2b(self._salt, digest_size=24)
        for part in parts:
            h.update(part if isinstance(part, bytes) else repr(part).encode("utf-8", "surrogateescape"))
            h.update(b"\0")
        return h.digest()

    def get(self, key: bytes, counted: bool = True) -> Any | None:
        """The value kept under ``key``, or None. ``counted``: a run folder, counted in
        :attr:`hits` and :attr:`misses` (other units, registered models, in :attr:`other`)."""
        db = self._connect()
        if db is None:
            return None
        try:
            row = db.execute("SELECT value FROM units2 WHERE key = ?", (key,)).fetchone()
            value = loads(row[0]) if row is not None else None
        except (sqlite3.Error, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError):
            value = None
        if value is None:
            if counted:
                self.misses += 1
            else:
                self.other[1] += 1
            return None
        if counted:
            self.hits += 1
        else:
            self.other[0] += 1
        self._used.add(key)
        self._trust(value)
        return value

    def present(self, keys: Iterable[bytes | None], counted: bool = True) -> set[bytes]:
        """Which of ``keys`` have an entry (that :meth:`get` will most likely load), asked in
        batches; a miss is counted here for each that has not."""
        wanted = [k for k in keys if k is not None]
        found: set[bytes] = set()
        db = self._connect()
        if db is not None:
            try:
                for i in range(0, len(wanted), 500):
                    batch = wanted[i : i + 500]
                    marks = ",".join("?" * len(batch))
                    found.update(r[0] for r in db.execute(f"SELECT key FROM units2 WHERE key IN ({marks})", batch))
            except sqlite3.Error:
                found = set()
        missing = sum(1 for k in wanted if k not in found)
        if counted:
            self.misses += missing
        else:
            self.other[1] += missing
        return found

    def put(self, key: bytes, value: Any) -> Any:
        """Keep ``value`` (records, or tuples and lists of them) under ``key``, cleaned as the
        crawl cleans records; returns the cleaned value (known clean: not cleaned again)."""
        from ..crawl import clean_record  # the crawl imports the readers, which use this

        value = clean_record(value)
        try:
            data = dumps(value)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            log.debug("unit not kept: %s", exc)  # read again next time
            return value
        self.put_clean(key, data, value)
        return value

    def put_if_clean(self, key: bytes, value: Any) -> Any | None:
        """Keep ``value`` cleaned, if the crawl's cleaning leaves its text as it is, and return
        what was kept; None when it would change some text (such a value is read again next
        time: its reader looks things up by the raw text)."""
        from ..crawl import clean_record

        cleaned = clean_record(value)
        if cleaned != value:
            return None
        try:
            data = dumps(cleaned)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            log.debug("unit not kept: %s", exc)
            return None
        self.put_clean(key, data, cleaned)
        return cleaned

    def put_clean(self, key: bytes, data: bytes, value: Any) -> None:
        """Keep ``data`` (:func:`~mlreport.readers._units.dumps` of ``value``, cleaned by
        :func:`~mlreport.crawl.clean_record` where it was read: a crawl worker)."""
        self._trust(value)
        db = self._connect()
        if db is None:
            return
        try:
            db.execute("INSERT OR REPLACE INTO units2 (key, value) VALUES (?, ?)", (key, data))
        except sqlite3.Error as exc:
            log.debug("unit not kept: %s", exc)
            return
        self._used.add(key)

    def _trust(self, value: Any) -> None:
        self._last = {id(r): r for r in records_in(value)}

    def is_clean(self, record: object) -> bool:
        """True for a record of the last unit got or kept: it went through ``clean_record``."""
        # by id, and the very object (held here, so its id is not another's): one lookup (a
        # scan of the unit's records was quadratic in a registered model's 2,500 versions)
        return self._last.get(id(record)) is record

    def close(self, complete: bool) -> None:
        """Write what this crawl added; after a complete crawl, drop the entries it did not use."""
        db, self._db = self._db, None
        if db is None:
            return
        log.info(
            "run folders: %d unchanged since the last build, %d read; other units: %d unchanged, %d read",
            self.hits,
            self.misses,
            *self.other,
        )
        try:
            if complete:
                db.execute("CREATE TEMP TABLE used (key BLOB PRIMARY KEY) WITHOUT ROWID")
                db.executemany("INSERT OR IGNORE INTO used VALUES (?)", ((k,) for k in self._used))
                db.execute("DELETE FROM units2 WHERE key NOT IN (SELECT key FROM used)")
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.info("unit cache %s not written: %s", self.path, exc)
        finally:
            db.close()


def _code_salt() -> bytes:
    """mlreport's own code: a result pickled by other code (an upgrade, an edit in a checkout)
    may lack a field the records have now, or have been read by a reader since fixed."""
    return bytes.fromhex(code_digest())


@dataclass(frozen=True)
class BuildSummary:
    """What ``mlreport build`` reports of the catalog a site shows: kept in the manifest, so a
    build with nothing changed reports it without loading the catalog (:mod:`mlreport.site`)."""

    models: int = 0
    versions: int = 0
    experiments: int = 0
    runs: int = 0
    problems: int = 0
    warnings: tuple[str, ...] = ()


#: one page in a manifest: (digest, ((site-relative path, size, mtime_ns), ...), search entries)
PageEntry = tuple[str, tuple[tuple[str, int, int], ...], tuple[Any, ...]]


@dataclass
class Manifest:
    """What the last build published (``site``, ``files``, ``pages``), what the spare tree
    beside it holds (the site before: ``spare_*``, :mod:`mlreport.engine.tree`), what MkDocs
    built last (``mkdocs_*``) and the summary ``mlreport build`` reports."""

    build_key: str = ""
    site: str = ""
    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # the whole site: size, mtime
    pages: dict[str, PageEntry] = field(default_factory=dict)  # page ref key -> its entry
    summary: BuildSummary | None = None  # of the catalog the site shows
    # the spare: the folder's (st_dev, st_ino) when it was left (None: not known, emptied
    # before use), its files and pages
    spare_id: tuple[int, int] | None = None
    spare_files: dict[str, tuple[int, int]] = field(default_factory=dict)
    spare_pages: dict[str, PageEntry] = field(default_factory=dict)
    mkdocs_key: str = ""
    mkdocs_files: dict[str, tuple[int, int]] = field(default_factory=dict)
    page_count: int = 0  # len(pages), kept where a build with nothing changed reads it
    token: str = ""  # the same in both files of one manifest


class BuildCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    # -- the crawl ---------------------------------------------------------------------------

    def units(self, snapshots: Mapping[str, Snapshot]) -> UnitCache:
        """The per-unit reading results, for a crawl of sources walked in ``snapshots``."""
        return UnitCache(self.folder / "units.sqlite", snapshots)

    def load_catalog(self, key: str) -> Catalog | None:
        path = self.folder / "crawl" / f"{key}.pickle"
        try:
            with path.open("rb") as f:
                if f.read(len(FORMAT)) != FORMAT:
                    return None
                catalog = load_apart(f)  # the unit cache's record unpickler (resolves what safe_pickle allows)
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
            # the records through the unit cache's pickler: 0.7 s instead of 1.75 s at 10,000 runs
            # + 10,000 versions (a plain pickle calls fields() for every record); the runs and
            # versions apart, a chunk at a time (a memo over the whole catalog held 576 MB of
            # the reducers' temporaries at 100,000 runs)
            dump_apart(saved, (*saved.runs, *saved.versions), f)
        tmp.replace(folder / f"{key}.pickle")

    # -- the manifest ------------------------------------------------------------------------

    def load_manifest(self, pages: bool = True) -> Manifest:
        """What the last build published. ``pages=False``: only what a build with nothing
        changed reads (the key, the site's listing, the summary; ``page_count``), without the
        pages and the spare, which are most of it (two files, written together)."""
        head = self._load(MANIFEST)
        if not isinstance(head, Manifest):
            return Manifest()
        if not pages:
            return head
        rest = self._load(MANIFEST_PAGES)
        if not (isinstance(rest, tuple) and len(rest) == 2 and rest[0] == head.token and isinstance(rest[1], dict)):
            return Manifest()  # the two halves are not of one build: nothing is known
        for name in _PAGE_FIELDS:
            if name in rest[1]:
                setattr(head, name, rest[1][name])
        return head

    def _load(self, name: str) -> Any:
        try:
            with (self.folder / name).open("rb") as f:
                if f.read(len(FORMAT)) != FORMAT:
                    return None
                return safe_pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
            return None

    def save_manifest(self, manifest: Manifest) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest.token = os.urandom(16).hex()
        manifest.page_count = len(manifest.pages)
        head = copy.copy(manifest)
        for name in _PAGE_FIELDS:
            setattr(head, name, type(getattr(manifest, name))() if name != "spare_id" else None)
        rest = (manifest.token, {name: getattr(manifest, name) for name in _PAGE_FIELDS})
        # the pages first: a head is only ever read with the pages written with it
        for name, value in ((MANIFEST_PAGES, rest), (MANIFEST, head)):
            tmp = self.folder / f"{name}.tmp"
            with tmp.open("wb") as f:
                f.write(FORMAT)
                pickle.dump(value, f, protocol=5)
            tmp.replace(self.folder / name)


MANIFEST = "manifest.pickle"
MANIFEST_PAGES = "manifest.pages.pickle"
_PAGE_FIELDS = ("pages", "spare_id", "spare_files", "spare_pages", "mkdocs_key", "mkdocs_files")


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


__all__ = [
    "BuildCache",
    "BuildSummary",
    "Manifest",
    "PageEntry",
    "Snapshot",
    "UnitCache",
    "default_cache_dir",
    "listing_fingerprint",
    "site_intact",
    "site_listing",
]
