"""Readers: one module per store format, found through the ``mlreport.readers`` entry points.

A reader has a short, stable ``name`` (public API in configs and ``--format``), a cheap
``detect(store, path)`` that looks at a few names and bytes, and ``read(store, path, options)``
that yields catalog records and :class:`~mlreport.model.Problem`\\ s. A reader never raises for one
bad record: it yields a Problem and goes on. Only a store that cannot be read at all raises.

The built-in readers are registered through the same entry-point group as third-party ones
(see ``pyproject.toml``); :data:`BUILTIN` is the fallback when the package metadata is missing
(running from a source tree).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ..model import Record
from ..stores import Store

log = logging.getLogger("mlreport.readers")

Progress = Callable[[str, int, int | None], None]


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


class UnitCache(Protocol):
    """Reading results of a store's units (a run folder) kept between builds, keyed by the
    unit's files (:class:`mlreport.engine.cache.UnitCache`). A reader that uses it yields the
    same records with or without it."""

    def digest(self, folder: Path | str, resolved: bool = False) -> bytes | None: ...

    def key(self, *parts: object) -> bytes: ...

    def get(self, key: bytes, counted: bool = True) -> Any | None: ...

    def present(self, keys: Iterable[bytes | None], counted: bool = True) -> set[bytes]: ...

    def put(self, key: bytes, value: Any) -> Any: ...

    def put_if_clean(self, key: bytes, value: Any) -> Any | None: ...

    def put_clean(self, key: bytes, data: bytes, value: Any) -> None: ...

    def close(self, complete: bool) -> None: ...

    def is_clean(self, record: object) -> bool: ...


@dataclass(frozen=True)
class ReadOptions:
    """What a reader is asked for.

    Attributes:
        include_deleted: also yield deleted experiments and runs (flagged ``deleted``).
        history: read every metric history (False reads final values only, where the format
            keeps them separately).
        progress: called with (stage, done, total) while reading; the CLI draws a bar from it.
        units: where a reader may keep and find the results of units it read before (a build
            passes its cache; None reads everything).
        jobs: worker processes a reader may read units on (CPU-bound parsing; results in
            order, the same whatever the number).
    """

    include_deleted: bool = False
    history: bool = True
    progress: Progress = field(default=_no_progress)
    units: UnitCache | None = None
    jobs: int = 1


class Reader(Protocol):
    """A store format; the whole contract is in docs/readers.md.

    Required: ``name`` (short, stable, public API), ``label`` (shown to people),
    ``detect(store, path)`` (cheap: a few names and bytes) and ``read(store, path, options)``
    (yields records and Problems; never raises for one bad record).

    Optional class attributes, read once per reader through :func:`reader_traits` (the
    defaults are those of :class:`ReaderTraits`):

    - ``owns_subtree`` (True): nothing below a detected store is another store; False for
      project-like formats (a DVC repository) so that discovery looks further down.
    - ``nested`` (False): with ``owns_subtree = False``, a folder of this format may hold more
      folders of the same format (a manifest sweep and its trials).
    - ``file_suffixes`` (()): file names (endings) worth a ``detect`` call (``.db`` for SQLite).
    - ``detects_dirs`` (True unless ``file_suffixes`` is set): also try directories.
    - ``merges_experiments`` (False): experiments with the same key from two stores of this
      format are one experiment (a W&B project written from two ``wandb/`` folders).
    """

    name: ClassVar[str]
    label: ClassVar[str]

    def detect(self, store: Store, path: str) -> bool:
        """True when ``path`` (a directory or file in ``store``) is a store of this format."""
        ...

    def read(self, store: Store, path: str, options: ReadOptions) -> Iterator[Record]:
        """Yield the records (and Problems) of the store at ``path``."""
        ...


@dataclass(frozen=True)
class ReaderTraits:
    """How discovery and merging treat a reader (its optional attributes, with defaults)."""

    owns_subtree: bool = True
    nested: bool = False
    file_suffixes: tuple[str, ...] = ()
    detects_dirs: bool = True
    merges_experiments: bool = False

    def tries_file(self, path: str) -> bool:
        """True when a file at ``path`` is worth this reader's ``detect``."""
        return bool(self.file_suffixes) and path.lower().endswith(self.file_suffixes)


def reader_traits(reader: object) -> ReaderTraits:
    """The traits of ``reader``: its optional class attributes, checked, with defaults."""
    suffixes = getattr(reader, "file_suffixes", ()) or ()
    if isinstance(suffixes, str):
        suffixes = (suffixes,)
    return ReaderTraits(
        owns_subtree=bool(getattr(reader, "owns_subtree", True)),
        nested=bool(getattr(reader, "nested", False)),
        file_suffixes=tuple(str(s).lower() for s in suffixes),
        detects_dirs=bool(getattr(reader, "detects_dirs", not suffixes)),
        merges_experiments=bool(getattr(reader, "merges_experiments", False)),
    )


# name -> "module:Class", the built-ins in detection order (most specific first).
BUILTIN: dict[str, str] = {
    "mlflow": "mlreport.readers.mlflow_file:MlflowFileReader",
    "mlflow-sql": "mlreport.readers.mlflow_sql:MlflowSqlReader",
    "wandb": "mlreport.readers.wandb:WandbReader",
    "hf": "mlreport.readers.hf:HfTrainerReader",
    "dvc": "mlreport.readers.dvc:DvcReader",
    "tensorboard": "mlreport.readers.tensorboard:TensorboardReader",
    "manifest": "mlreport.readers.manifest:ManifestReader",
    "clearml": "mlreport.readers.clearml:ClearmlOfflineReader",
}


def _load(target: str) -> type[Reader]:
    module, _, attr = target.partition(":")
    cls: type[Reader] = getattr(import_module(module), attr)
    return cls


def available_readers() -> dict[str, Reader]:
    """Every installed reader by name: built-ins first, then entry points in name order."""
    return dict(_load_readers())


@lru_cache(maxsize=1)
def _load_readers() -> dict[str, Reader]:
    found: dict[str, str] = dict(BUILTIN)
    for ep in sorted(entry_points(group="mlreport.readers"), key=lambda e: e.name):
        found.setdefault(ep.name, ep.value)
    readers: dict[str, Reader] = {}
    for name, target in found.items():
        try:
            readers[name] = _load(target)()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the built-ins
            log.warning("mlreport: cannot load reader %s (%s): %s", name, target, exc)
    return readers
