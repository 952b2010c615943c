"""The artifact previews of the last build, kept in the build cache (issue 7: one new run).

Every build read, sniffed and bounded every artifact of every run again (:mod:`mlreport.previews`:
3.2 s CPU of the 10,000-run store's 30,000 small artifacts). Here each artifact's result
*before* the site budget (:class:`~mlreport.previews.Examined`) is kept under what determines
it: the store, the artifact's location, path, declared size and note, the store's read cap,
and the file's own ``lstat`` (size, mtime_ns, ctime_ns, inode, device: an edit in place that
keeps the size and puts the mtime back still changes the ctime); the whole cache is keyed by
mlreport's code digest and the artifact settings. The budget is then counted in owner order
as without the cache, so the previews and the site's bytes are the same either way.

Only files of a local store are cached (a bucket has no cheap identity of a file's bytes here),
and never a symbolic link (its ``lstat`` does not change when its target does): those are read
every build, as before. The bytes kept are those that were copied into the site (at most
``artifacts.max_site_bytes``); an entry whose copy the budget refused is examined again when it
would be copied. A read error is not cached.

On disk: ``previews/index.json`` (plain JSON, checked field by field when loaded: nothing in it
is executed, an unreadable or unexpected file is an empty cache) and ``previews/data.bin``, the
copied bytes one after the other, written only when something changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import fields
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ..config import ArtifactsConfig
from ..model import Artifact
from ..preview_records import Preview
from ..readers._bounded import load_json
from ..stores import LocalStore, Store
from .code import code_digest

log = logging.getLogger("mlreport.engine.preview_cache")

FORMAT = 1
INDEX = "index.json"
DATA = "data.bin"
_FIELDS = tuple(f.name for f in fields(Preview))


def _plotly() -> str:
    try:
        return version("plotly")
    except PackageNotFoundError:
        return ""


def cache_key(settings: ArtifactsConfig) -> str:
    """What every entry depends on besides its file: the code that made it and the settings."""
    text = f"{FORMAT}\n{code_digest()}\n{_plotly()}\n{settings.previews}\n{settings.max_bytes}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class PreviewCache:
    """Examined artifacts by what determines them, loaded from and saved to ``folder``."""

    def __init__(self, folder: Path, settings: ArtifactsConfig) -> None:
        self.folder = folder / "previews"
        self.settings_key = cache_key(settings)
        self._old: dict[str, tuple[Preview, int, int, int | None, str | None]] = {}
        self._data = b""
        self._new: dict[str, tuple[Any, bool]] = {}
        self.hits = self.misses = 0
        self._changed = False
        self._load()

    # -- keys and entries -----------------------------------------------------------------------

    def key(self, store_name: str, store: Store, a: Artifact) -> str | None:
        """The entry key of artifact ``a`` of ``store``, or None when it is not cached."""
        if not isinstance(store, LocalStore) or a.location is None:
            return None
        # through the store's own confinement: a location with '..', or under a folder link that
        # leads out of the store, is not statted (its read is refused anyway)
        st = store.regular_file_stat(a.location)
        if st is None:
            return None
        ident = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
        # repr of str, int and None is unambiguous (quotes escaped) and cheaper than JSON
        return repr((store_name, a.location, a.path, a.size, a.note, store.max_file_size, ident))

    def get(self, key: str) -> Any:
        """The :class:`~mlreport.previews.Examined` kept under ``key``, or None."""
        from ..previews import Examined

        old = self._old.get(key)
        if old is None:
            self.misses += 1
            return None
        preview, offset, length, charge, why = old
        data: bytes | None = None
        if length >= 0:
            data = self._data[offset : offset + length]
        elif charge is not None and why is None:
            self.misses += 1  # its bytes were not kept (not copied last time): examined again
            return None
        self.hits += 1
        return Examined(preview, data, charge, why)

    def put(self, key: str, examined: Any, copied: bool) -> None:
        """Keep ``examined`` under ``key`` (its bytes only when they were ``copied``)."""
        old = self._old.get(key)
        if old is None or (copied and old[2] < 0) or (not copied and old[2] >= 0):
            self._changed = True
        self._new[key] = (examined, copied)

    # -- disk ---------------------------------------------------------------------------------

    def _load(self) -> None:
        try:
            # through the bounded parser: the cache folder is restored from elsewhere in CI, and a
            # nesting past the recursion limit must be a refused file, not a crashed build
            index = load_json((self.folder / INDEX).read_bytes())
            if not isinstance(index, dict) or index.get("key") != self.settings_key:
                return
            data = (self.folder / DATA).read_bytes()
            if len(data) != index.get("size"):
                return
            entries = index["entries"]
            if not isinstance(entries, dict):
                return
            old = {}
            for k, row in entries.items():
                preview, offset, length, charge, why = row
                if not (isinstance(offset, int) and isinstance(length, int) and offset >= 0):
                    return
                if length >= 0 and offset + length > len(data):
                    return
                if not (charge is None or isinstance(charge, int)) or not (why is None or isinstance(why, str)):
                    return
                old[k] = (_preview(preview), offset, length, charge, why)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return
        self._old, self._data = old, data

    def save(self) -> None:
        """Write the entries this build used (the cache stays the size of one site), when any
        of them is new or differs from what was loaded."""
        if not self._changed and self._new.keys() == self._old.keys():
            return
        entries: dict[str, list[object]] = {}
        chunks: list[bytes] = []
        offset = 0
        for k in sorted(self._new):
            examined, copied = self._new[k]
            length = -1
            if copied and examined.data is not None:
                chunks.append(examined.data)
                length = len(examined.data)
            entries[k] = [_fields(examined.preview), offset, length, examined.charge, examined.why]
            offset += max(length, 0)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            data_tmp, index_tmp = self.folder / (DATA + ".tmp"), self.folder / (INDEX + ".tmp")
            data_tmp.write_bytes(b"".join(chunks))
            index_tmp.write_text(json.dumps({"key": self.settings_key, "size": offset, "entries": entries}), "utf-8")
            # the index last: it names the size of the data it goes with, so a crash between the
            # two replacements leaves a mismatch, read as an empty cache
            data_tmp.replace(self.folder / DATA)
            index_tmp.replace(self.folder / INDEX)
        except OSError as exc:
            log.info("the preview cache was not saved: %s", exc)


def _fields(p: Preview) -> list[object]:
    return [getattr(p, name) for name in _FIELDS]


def _preview(row: object) -> Preview:
    """A Preview from its JSON row, each field checked (a wrong type is a ValueError)."""
    if not isinstance(row, list) or len(row) != len(_FIELDS):
        raise ValueError("not a preview row")
    path, kind, url, digest, note, text, columns, rows, labels, matrix, width, height, figure = row
    if not (isinstance(path, str) and isinstance(digest, str) and isinstance(figure, str)):
        raise ValueError("not a preview row")
    for v in (kind, url, note, text):
        if v is not None and not isinstance(v, str):
            raise ValueError("not a preview row")
    for v in (width, height):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            raise ValueError("not a preview row")
    if not (isinstance(rows, list) and isinstance(matrix, list)):
        raise ValueError("not a preview row")
    return Preview(
        path,
        kind,
        url,
        digest,
        note,
        text,
        _strings(columns),
        tuple(_strings(r) for r in rows),
        _strings(labels),
        tuple(_numbers(r) for r in matrix),
        width,
        height,
        figure,
    )


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ValueError("not a list of strings")
    return tuple(value)


def _numbers(value: object) -> tuple[float, ...]:
    if not isinstance(value, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        raise ValueError("not a list of numbers")
    return tuple(float(x) for x in value)


__all__ = ["PreviewCache", "cache_key"]
