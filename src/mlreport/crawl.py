"""From sources to one catalog: discovery, reading, merging, promotion.

The crawl is the only part of mlreport that knows about stores and readers; what it returns is
a :class:`~mlreport.catalog.Catalog`, the record that render reads. It owns three boundaries:

- **Faults.** Each reader's iteration runs inside a fault boundary: an exception escaping
  ``read`` becomes a Problem naming the store, and the records yielded before it are kept
  (DESIGN.md decision 10).
- **Text.** Every string a reader yields passes through :func:`mlreport.sanitize.clean_text`
  here, so render may assume clean text.
- **Memory.** Metric histories go to a file-backed :class:`~mlreport.history_store.HistoryFile`
  as the reader yields each run; the catalog keeps the summaries (issue 12).

Identity is what the store says it is (DESIGN.md decision 11): records are merged only when the
store's own identity says they are one. Keys repeated by a later store get a suffix; datasets
with equal content digests are linked, not merged; registered models with one name in two
stores stay two models unless ``shared_models`` in the config says they are one.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import gc
import glob
import importlib
import itertools
import logging
import os
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import fields, is_dataclass, replace
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .catalog import Catalog, FoundStore, make_catalog, version_sort_key
from .config import Config, PromoteRule, SourceConfig
from .errors import MlreportError, SourceError, StoreAccessError
from .executor import default_jobs
from .history_store import HistoryFile, Location
from .identity import keep_names_distinct
from .model import (
    AliasMove,
    Dataset,
    Experiment,
    LoggedModel,
    Metric,
    MetricGoal,
    MetricHistory,
    ModelVersion,
    Origin,
    Problem,
    Record,
    RegisteredModel,
    Run,
    RunStatus,
    Severity,
    Skipped,
    Trace,
)
from .readers import Reader, ReadOptions, UnitCache, available_readers, reader_traits
from .readers._bounded import limits_from, using_limits
from .readers._units import fast_replace, trusted
from .stores import Store, describe_unknown, join, open_store, refusals, still_answering

log = logging.getLogger("mlreport.crawl")

MAX_DISCOVERY_DEPTH = 4
RULES = -1  # the pseudo-store of versions promoted by configured rules
_SKIP_DIRS = frozenset({"node_modules", "__pycache__", ".git", ".venv", "venv", ".dvc", "site"})

Progress = Callable[[str, int, int | None], None]

# ---------------------------------------------------------------------------------------------
# text


def _placeholder_clean_text(s: str) -> str:
    # Used only while mlreport.sanitize is missing: the same contract, a plainer implementation.
    if s.isprintable():
        return s
    s = s.replace("\x00", "")
    s = re.sub("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", "\ufffd", s)
    return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _load_clean_text() -> Callable[[str], str]:
    try:
        module = importlib.import_module("mlreport.sanitize")
    except ImportError:
        return _placeholder_clean_text
    fn: Callable[[str], str] = module.clean_text
    return fn


clean_text = _load_clean_text()

_ATOMS = (int, float, bool, type(None), Enum, MetricHistory, bytes)
_ATOM_TYPES = frozenset({int, float, bool, type(None), bytes, MetricHistory})
# a record type -> its field names (None: not a dataclass); dataclasses.fields() per record was
# a third of the crawl's cleaning time at 10,000 runs (issue 12)
_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    try:
        return _FIELD_NAMES[cls]
    except KeyError:
        names = tuple(f.name for f in fields(cls)) if is_dataclass(cls) else None
        _FIELD_NAMES[cls] = names
        return names


def clean_record(value: Any) -> Any:
    """``value`` with every string in it passed through ``clean_text``; the same object when
    nothing changed (the common case costs one check per string).

    Strings in a mapping are interned (keys, and values up to 64 characters): param and tag
    names and many short values repeat in every run, one copy of each is held (issue 12: 8.1 ->
    5.x KB a run held). Exact types are dispatched first: this runs over every field of every
    record of a crawl.
    """
    t = type(value)
    if t is str:
        return value if value.isprintable() else clean_text(value)
    if t in _ATOM_TYPES:
        return value
    if t is tuple:
        items = [clean_record(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else tuple(items)
    names = _field_names(t)
    if names is not None:
        changes = {}
        for name in names:
            old = getattr(value, name)
            new = clean_record(old)
            if new is not old:
                changes[name] = new
        return replace(value, **changes) if changes else value
    return _clean_other(value)


def _clean_other(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, _ATOMS):
        return value
    if isinstance(value, tuple):
        items = [clean_record(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else tuple(items)
    if isinstance(value, Mapping):
        changed = False
        out: dict[Any, Any] = {}
        intern = sys.intern
        for k, v in value.items():
            ck = (k if k.isprintable() else clean_text(k)) if type(k) is str else clean_record(k)
            cv = (v if v.isprintable() else clean_text(v)) if type(v) is str else clean_record(v)
            if isinstance(ck, str):
                ck = intern(ck)
                if isinstance(cv, str) and len(cv) <= 64:
                    cv = intern(cv)
            changed = changed or ck is not k or cv is not v
            out[ck] = cv
        if not changed:
            return value
        return MappingProxyType({k: out[k] for k in sorted(out)})
    if is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in fields(value):
            old = getattr(value, f.name)
            new = clean_record(old)
            if new is not old:
                changes[f.name] = new
        return replace(value, **changes) if changes else value
    return value


# ---------------------------------------------------------------------------------------------
# discovery


def open_source(source: SourceConfig, named: str | None = None) -> tuple[Store, str]:
    """Open a source; a file source (``mlflow.db``) opens its folder and names the file.
    ``named`` is the source as the user wrote it, for messages (see stores.open_store)."""
    store = open_store(source.path, source.storage_options, named=named)
    if store.kind("") == "file":
        path = source.path.rstrip("/")
        if "://" in path:
            parent, _, name = path.rpartition("/")
            parent_store = open_store(parent, source.storage_options)
        else:
            # the file the user named, wherever a link they gave leads: the store confinement
            # (no link out of the store) is for what the store itself holds
            parent, name = os.path.split(os.path.realpath(path))
            parent_store = open_store(parent or ".", source.storage_options)
        return parent_store, name
    return store, ""


def discover(
    store: Store, path: str, readers: Mapping[str, Reader], forced: str | None = None
) -> list[tuple[str, str]]:
    """The (reader name, path) pairs of every store under ``path``, breadth first.

    A reader that owns its subtree (an ``mlruns/`` folder) stops the descent there; one that
    does not (a DVC project) lets discovery go on below it, without trying that reader again
    unless it nests.
    """
    if forced is not None:
        return [(forced, path)]
    traits = {name: reader_traits(r) for name, r in readers.items()}
    found: list[tuple[str, str]] = []
    queue: list[tuple[str, int, frozenset[str]]] = [(path, 0, frozenset())]
    while queue:
        current, depth, excluded = queue.pop(0)
        if store.kind(current) == "file":
            for name, reader in readers.items():
                if name not in excluded and traits[name].tries_file(current) and reader.detect(store, current):
                    found.append((name, current))
                    break
            continue
        matched = None
        for name, reader in readers.items():
            if name in excluded or not traits[name].detects_dirs:
                continue
            try:
                if reader.detect(store, current):
                    matched = name
                    break
            except OSError as exc:
                log.warning("mlreport: cannot look into %s: %s", store.display(current), exc)
        if matched is not None:
            found.append((matched, current))
            if traits[matched].owns_subtree:
                continue
            if not traits[matched].nested:
                excluded = excluded | {matched}
        if depth >= MAX_DISCOVERY_DEPTH:
            continue
        # files of a folder a reader took are that reader's; its sub-folders may be stores again
        file_excluded = excluded | ({matched} if matched is not None else set())
        for entry in store.ls(current):
            if entry.name.startswith(".") or entry.name in _SKIP_DIRS:
                continue
            child = join(current, entry.name)
            if entry.is_dir:
                queue.append((child, depth + 1, excluded))
            elif any(traits[n].tries_file(child) for n in readers if n not in file_excluded):
                queue.append((child, depth + 1, frozenset(file_excluded)))
    return found


# ---------------------------------------------------------------------------------------------
# reading


def read_catalog(
    config: Config,
    progress: Progress | None = None,
    history_dir: str | Path | None = None,
    units: UnitCache | None = None,
) -> Catalog:
    """Read every source of ``config`` into one catalog.

    Args:
        config: the sources and the settings that shape the record (promotion, goals …).
        progress: called with (stage, done, total) while reading.
        history_dir: where the metric-history file goes (a work folder); the temp folder when
            None. The file lives as long as the catalog object of this process.
        units: a build's cache of what readers read from each unit (run folder) before;
            closed here (what this crawl did not use is dropped when it completes). The
            catalog is the same with or without it.

    Raises:
        SourceError: no sources, a source that does not exist, or one with no known store.
        StoreAccessError: a source that cannot be reached.
    """
    if not config.sources:
        raise SourceError("no sources given; pass a SOURCE or list sources in mlreport.yml")
    readers = available_readers()
    options = ReadOptions(
        include_deleted=config.include_deleted,
        progress=progress or (lambda stage, done, total: None),
        units=units,
        jobs=config.jobs if config.jobs is not None else default_jobs(),
    )
    complete = False
    try:
        bounds = limits_from(config.max_line_size, config.max_record_size, config.max_document_size)
        with using_limits(bounds), collector_tuned_for_crawl():  # bounds: readers/_bounded.py
            catalog = _read_sources(config, readers, options, _Builder(HistoryFile(history_dir)))
        complete = True
    finally:
        if units is not None:
            units.close(complete)
    return catalog


# The youngest generation's threshold during a crawl (CPython's default is 700; see below).
CRAWL_GC_THRESHOLD = (10_000, 10, 10)


@contextlib.contextmanager
def collector_tuned_for_crawl() -> Iterator[None]:
    """CPython's cyclic collector set for a crawl, and restored as it was when the crawl ends.

    A crawl allocates millions of small containers (parsed documents, history columns, records)
    and frees few of them until a store is read. With the default thresholds the collector
    counts them as garbage candidates: a reader that holds its store's parsed files before
    building records (the manifest reader) ran 38 full collections on 1,000 runs, 3.5 of
    11.4 s CPU (issue 12). Two changes, both scoped to the crawl: the objects alive before it
    (modules, functions, the config) are frozen out of every collection (``gc.freeze``), and
    the youngest generation is collected every 10,000 net allocations instead of 700, so the
    older generations fill, and the heap is walked, 14 times less often. Reference counting
    still frees everything acyclic at once; cycles are still collected, later. The settings
    are process-wide (as the collector is): a caller's own thresholds come back, and a caller
    that froze objects itself keeps its freeze (this one is then left out). Forked readers'
    workers inherit both settings.
    """
    threshold = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    gc.set_threshold(*CRAWL_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if freeze:
            gc.unfreeze()


def _read_sources(config: Config, readers: Mapping[str, Reader], options: ReadOptions, builder: _Builder) -> Catalog:
    for source in config.sources:
        if source.format is not None and source.format not in readers:
            raise SourceError(
                f"cannot read {source.path}: unknown format '{source.format}' (known: {', '.join(readers)})"
            )
        path = _resolve_local(source.path, config)
        store, inner = open_source(replace(source, path=path), named=source.path)
        store.url = source.path
        if config.max_file_size:
            store.max_file_size = config.max_file_size
        if hasattr(store, "progress"):
            store.progress = options.progress  # a bucket's listing stage shows on the bar too
        found = discover(store, inner, readers, source.format)
        if not found:
            why = describe_unknown(store, inner) if source.format is None else None
            raise SourceError(
                f"cannot read {source.path}: "
                + (why or f"not a store of a known format (looked for {', '.join(r.label for r in readers.values())})")
            )
        for name, store_path in found:
            reader = readers[name]
            display = store.display(store_path)
            log.info("reading %s (%s)", display, reader.label)
            found_store = FoundStore(source.path, source.label or display, name, reader.label, store_path, display)
            origin = Origin(source.path, store_path, name)
            builder.add_store(
                found_store,
                itertools.chain(
                    guarded(
                        functools.partial(reader.read, store, store_path, options),
                        origin,
                        reader.label,
                        _known_clean(options.units),
                    ),
                    guarded(functools.partial(refusals, store, name), origin, reader.label),
                    still_answering(store),  # a bucket server gone mid-crawl fails the build
                ),
                merge_experiments=reader_traits(reader).merges_experiments,
            )
    return builder.finish(config)


def _known_clean(units: UnitCache | None) -> Callable[[Record], bool]:
    """Which records were cleaned already: a unit cache's hits, and the runs a crawl worker
    read (:func:`mlreport.readers._units.trust`)."""
    if units is None:
        return trusted
    is_clean = units.is_clean
    return lambda record: is_clean(record) or trusted(record)


def guarded(
    read: Callable[[], Iterable[Record]],
    origin: Origin,
    label: str,
    is_clean: Callable[[Record], bool] | None = None,
) -> Iterator[Record]:
    """The records of ``read()``, cleaned, inside a fault boundary.

    ``is_clean`` says which records were cleaned already (a unit cache's hits: they were
    cleaned when they were kept).

    An exception escaping the reader ends this store's records with one Problem naming the
    store; the records yielded before are kept. mlreport's own errors (a store that cannot be
    opened at all) still propagate when nothing was read yet.
    """
    count = 0
    said: set[str] = set()  # the Problems about names already given (one a name, not a version)
    try:
        iterator = iter(read())
        while True:
            try:
                record = next(iterator)
            except StopIteration:
                return
            count += 1
            if is_clean is not None and is_clean(record):
                yield record
                continue
            cleaned = clean_record(record)
            if cleaned is not record and isinstance(record, (RegisteredModel, ModelVersion, AliasMove)):
                # cleaning merged or emptied a registry name: keep it distinct (mlreport.identity)
                cleaned, problems = keep_names_distinct(record, cleaned)
                for problem in problems:
                    if problem.reason not in said:
                        said.add(problem.reason)
                        yield problem
            yield cleaned
    except StoreAccessError:
        # A store that stops answering mid-crawl (a bucket server gone) fails the build: a site
        # published from half a store would silently drop records.
        raise
    except MlreportError:
        if count == 0:
            raise
        reason = _stopped(label, count)
    except Exception as exc:  # noqa: BLE001 - the fault boundary: one Problem, never a crash
        log.debug("reader %s failed", label, exc_info=True)
        reason = f"{_stopped(label, count)}: {type(exc).__name__}: {clean_text(str(exc))[:300]}"
    yield Problem(origin, reason, Severity.ERROR)


def _stopped(label: str, count: int) -> str:
    kept = f"the {count} records read before are kept" if count else "nothing was read"
    return f"the {label} reader stopped ({kept})"


def _resolve_local(path: str, config: Config) -> str:
    # A relative source is from the config's base folder (the config file's folder, else the
    # working folder when the Config was made), never from whatever the working folder is at
    # build time: Config names an absolute source inside base_dir by its relative path, so the
    # two must agree or an API caller who changes folder loses the source.
    if "://" in path:
        return path
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = config.base_dir / p
    return str(p)


# ---------------------------------------------------------------------------------------------
# merging


class _Builder:
    def __init__(self, histories: HistoryFile) -> None:
        self.stores: list[FoundStore] = []
        self.experiments: dict[str, Experiment] = {}
        self.runs: dict[str, Run] = {}
        self.logged_models: dict[str, LoggedModel] = {}
        self.datasets: dict[str, Dataset] = {}
        self.models: dict[tuple[int, str], RegisteredModel] = {}
        self.versions: dict[tuple[int, str, str], ModelVersion] = {}
        self.problems: list[Problem] = []
        self.skipped: list[Skipped] = []
        self.traces: list[Trace] = []
        self.alias_moves: list[tuple[int, AliasMove]] = []
        self.goals: dict[str, MetricGoal] = {}
        self.histories = histories
        self.history_index: dict[str, dict[str, Location]] = {}
        self.run_store: dict[str, int] = {}
        self.exp_store: dict[str, int] = {}
        self.namespaces: dict[str, int] = {}
        self.version_display: dict[tuple[int, str, str], str] = {}
        self.alias_conflicts: set[str] = set()

    def add_store(self, found: FoundStore, records: Iterable[Record], merge_experiments: bool = False) -> None:
        # Records of stores whose format merges by key (manifest folders, W&B folders) share one
        # namespace: the first such store's index. Every other store is its own namespace.
        index = len(self.stores)
        if merge_experiments:
            index = self.namespaces.setdefault(found.reader, index)
        self.stores.append(found)
        batch: list[Record] = []
        spilled: dict[int, dict[str, Location]] = {}
        for rec in records:
            if isinstance(rec, Run) and any(m.history is not None for m in rec.metrics):
                rec, where = self._spill(rec)
                spilled[len(batch)] = where
            batch.append(rec)
        # Keys are ids inside one store; a later store reusing an id gets a suffix so that both
        # records keep their own page. Rewrite the references of that store accordingly.
        renames: dict[str, dict[str, str]] = {"exp": {}, "run": {}, "model": {}, "ds": {}}
        for rec in batch:
            if isinstance(rec, Experiment):
                if merge_experiments and rec.key in self.experiments:
                    renames["exp"][rec.key] = rec.key  # the same named experiment, seen again
                else:
                    renames["exp"][rec.key] = _unique(rec.key, self.experiments, renames["exp"])
            elif isinstance(rec, Run):
                renames["run"][rec.key] = _unique(rec.key, self.runs, renames["run"])
            elif isinstance(rec, LoggedModel):
                renames["model"][rec.key] = _unique(rec.key, self.logged_models, renames["model"])
            elif isinstance(rec, Dataset):
                known = self.datasets.get(rec.key)
                if known is not None and not _same_dataset(known, rec):
                    renames["ds"][rec.key] = _unique(rec.key, self.datasets, renames["ds"])
        exp, run, model, ds = renames["exp"], renames["run"], renames["model"], renames["ds"]

        def r(mapping: dict[str, str], key: str | None) -> str | None:
            return None if key is None else mapping.get(key, key)

        for i, rec in enumerate(batch):
            if isinstance(rec, Problem):
                self.problems.append(rec)
            elif isinstance(rec, Skipped):
                self.skipped.append(rec)
            elif isinstance(rec, AliasMove):
                self.alias_moves.append((index, rec))
            elif isinstance(rec, Trace):
                self.traces.append(replace(rec, experiment_key=r(exp, rec.experiment_key), run_key=r(run, rec.run_key)))
            elif isinstance(rec, MetricGoal):
                # the first store that declares a goal for a key decides it (sources in order)
                self.goals.setdefault(rec.key, rec)
            elif isinstance(rec, Experiment):
                key = exp[rec.key]
                known_exp = self.experiments.get(key)
                if known_exp is not None and merge_experiments:
                    self.experiments[key] = _fill(known_exp, rec)
                else:
                    self.experiments[key] = replace(rec, key=key)
                    self.exp_store[key] = index
            elif isinstance(rec, Run):
                key = run[rec.key]
                self.runs[key] = fast_replace(
                    rec,
                    key=key,
                    experiment_key=r(exp, rec.experiment_key),
                    parent_key=r(run, rec.parent_key),
                    output_model_keys=tuple(model.get(k, k) for k in rec.output_model_keys),
                    inputs=_remap_refs(rec.inputs, ds),
                    produced=_remap_refs(rec.produced, ds),
                )
                self.run_store[key] = index
                if i in spilled:
                    self.history_index[key] = spilled[i]
                else:
                    self.history_index.pop(key, None)
            elif isinstance(rec, LoggedModel):
                self.logged_models[model[rec.key]] = replace(
                    rec,
                    key=model[rec.key],
                    experiment_key=r(exp, rec.experiment_key),
                    run_key=r(run, rec.run_key),
                )
            elif isinstance(rec, Dataset):
                key = ds.get(rec.key, rec.key)
                known = self.datasets.get(key)
                self.datasets[key] = replace(rec, key=key) if known is None else _fill(known, rec)
            elif isinstance(rec, RegisteredModel):
                ident = (index, rec.name)
                known_model = self.models.get(ident)
                self.models[ident] = (
                    rec if known_model is None else _merge_model(known_model, rec, self.alias_conflicts)
                )
            elif isinstance(rec, ModelVersion):
                vident = (index, rec.model, rec.version)
                if vident in self.versions:
                    self.problems.append(
                        Problem(
                            rec.origin,
                            f"{rec.model} version {rec.version} is also in "
                            f"{self.version_display[vident]}; this copy is skipped",
                        )
                    )
                    continue
                self.versions[vident] = replace(
                    rec,
                    run_key=r(run, rec.run_key),
                    logged_model_key=r(model, rec.logged_model_key),
                )
                self.version_display[vident] = found.display

    def _spill(self, run: Run) -> tuple[Run, dict[str, Location]]:
        where: dict[str, Location] = {}
        metrics: list[Metric] = []
        for m in run.metrics:
            if m.history is not None:
                where[m.key] = self.histories.put(m.history)
                m = fast_replace(m, key=sys.intern(m.key), history=None)
            metrics.append(m)
        return fast_replace(run, metrics=tuple(metrics)), where

    def finish(self, config: Config) -> Catalog:
        shared: tuple[str, ...] = config.shared_models
        versions_by_store: dict[int, list[ModelVersion]] = defaultdict(list)
        for (index, _, _), mv in sorted(self.versions.items(), key=lambda kv: kv[0][0]):
            if mv.logged_model_key is None and mv.run_key is not None:
                mv = replace(mv, logged_model_key=self._model_of(mv))
            versions_by_store[index].append(mv)

        # Promotion. The default is decided per store: a store with a registry keeps it, one
        # without gets versions from its own runs. Configured rules name their model, so what
        # they promote is one model across stores (kept under the pseudo-store RULES).
        runs_by_store: dict[int, list[Run]] = defaultdict(list)
        for key, run in self.runs.items():
            runs_by_store[self.run_store[key]].append(run)
        if config.promote:
            ruled = promote(config.promote, list(self.runs.values()), self.experiments, self.logged_models, False)
            taken = {(v.model, v.version) for vs in versions_by_store.values() for v in vs}
            versions_by_store[RULES] = [v for v in ruled if (v.model, v.version) not in taken]
        else:
            for index in sorted({*self.run_store.values(), *versions_by_store}):
                if not versions_by_store[index]:
                    versions_by_store[index] = promote(
                        (), runs_by_store[index], self.experiments, self.logged_models, True
                    )
        for index, store_versions in versions_by_store.items():
            for mv in store_versions:
                if (index, mv.model) not in self.models:
                    self.models[(index, mv.model)] = RegisteredModel(name=mv.model, origin=mv.origin)
        if config.promote:
            shared = (*shared, *(glob.escape(rule.model) for rule in config.promote))

        names = self._model_names(shared)
        models: dict[str, RegisteredModel] = {}
        versions: dict[tuple[str, str], ModelVersion] = {}
        version_store: dict[tuple[str, str], str] = {}
        conflicts = {names[i] for i in self.models if i[1] in self.alias_conflicts}
        for ident in sorted(self.models, key=lambda i: _store_order(i[0])):
            rec = self.models[ident]
            name = names[ident]
            known_model = models.get(name)
            if known_model is None:
                models[name] = replace(rec, name=name)
                continue
            models[name] = replace(_merge_model(known_model, rec, conflicts), name=name)
        for index in sorted(versions_by_store, key=_store_order):
            for mv in versions_by_store[index]:
                name = names[(index, mv.model)]
                vident = (name, mv.version)
                if vident in versions:
                    self.problems.append(
                        Problem(
                            mv.origin,
                            f"{name} version {mv.version} is also in {version_store[vident]}; this copy is skipped",
                        )
                    )
                    continue
                versions[vident] = replace(mv, model=name)
                version_store[vident] = self.version_display.get(
                    (index, mv.model, mv.version), "the promote rules" if index == RULES else self.stores[index].display
                )
        for (name, version), mv in list(versions.items()):
            if name in conflicts:
                holders = models[name].aliases
                versions[(name, version)] = replace(
                    mv, aliases=tuple(sorted(a for a, v in holders.items() if v == version))
                )

        hidden_keys = {k for s in self.skipped if s.what.endswith("runs") for k in s.keys}
        self.histories.flush()
        return make_catalog(
            stores=self.stores,
            experiments=self.experiments.values(),
            runs=self.runs.values(),
            logged_models=self.logged_models.values(),
            datasets=self.datasets.values(),
            models=models.values(),
            versions=versions.values(),
            problems=self.problems,
            skipped=self.skipped,
            traces=self.traces,
            alias_moves=[replace(m, model=names[(i, m.model)]) for i, m in self.alias_moves if (i, m.model) in names],
            metric_goals=config.metric_goals,
            declared_goals=self.goals,
            hidden_runs=_hidden(self.skipped, "runs"),
            hidden_experiments=_hidden(self.skipped, "experiments"),
            hidden_run_keys=hidden_keys,
            histories=self.histories,
            history_index={k: v for k, v in self.history_index.items() if k in self.runs},
        )

    def _model_names(self, shared: Sequence[str]) -> dict[tuple[int, str], str]:
        """Each (store, model name) → its name in the catalog: the store's own name, unless
        another store has a model of that name too; then ``name (store label)``, unless
        ``shared_models`` says the stores' models are one model."""
        stores_of: dict[str, set[int]] = defaultdict(set)
        for index, name in self.models:
            stores_of[name].add(index)
        labels = store_labels(self.stores)
        out: dict[tuple[int, str], str] = {}
        for index, name in self.models:
            if len(stores_of[name]) == 1 or index == RULES or any(fnmatch.fnmatchcase(name, p) for p in shared):
                out[(index, name)] = name
                continue
            out[(index, name)] = f"{name} ({labels[index]})"
        return out

    def _model_of(self, mv: ModelVersion) -> str | None:
        """A version that names no logged model: the run's only one, or the one whose artifact
        path ends the version's source (MLflow 2.x ``runs:/<id>/<path>``)."""
        candidates = [m for m in self.logged_models.values() if m.run_key == mv.run_key]
        if not candidates:
            return None
        source = mv.source or ""
        for m in candidates:
            if source.rstrip("/").endswith("/" + m.name.strip("/")):
                return m.key
        return candidates[0].key if len(candidates) == 1 else None


def store_labels(stores: Sequence[FoundStore]) -> list[str]:
    """A short, deterministic label per store, for names that two stores share.

    The source's ``label`` when the config gives one; else the store's path inside its source
    (``file/mlruns``); else the source's last folder name. Never an absolute path of the build
    machine (it would leak into names and URLs and change with the checkout). Labels that are
    still equal grow by one more folder of the source at a time, then by their position.
    """

    def parts(store: FoundStore) -> list[str]:
        source = [p for p in store.source.replace("\\", "/").split("/") if p and p not in (".", "..")]
        inner = [p for p in store.path.split("/") if p]
        return source + inner

    def short(store: FoundStore, depth: int) -> str:
        if store.label != store.display:  # configured
            return store.label
        p = parts(store)
        keep = max(len([x for x in store.path.split("/") if x]), 1) + depth
        return "/".join(p[-keep:]) or store.reader

    labels = [short(s, 0) for s in stores]
    for depth in range(1, 8):
        counts = Counter(labels)
        if all(counts[label] == 1 for label in labels):
            return labels
        labels = [short(s, depth) if counts[labels[i]] > 1 else labels[i] for i, s in enumerate(stores)]
    counts = Counter(labels)
    return [f"{label} {i + 1}" if counts[label] > 1 else label for i, label in enumerate(labels)]


def _store_order(index: int) -> int:
    return index if index != RULES else 1 << 30


def _hidden(skipped: Sequence[Skipped], kind: str) -> dict[str, int]:
    """``{reason: count}`` of the skipped things whose ``what`` ends with ``kind``."""
    out: Counter[str] = Counter()
    for s in skipped:
        if s.what.endswith(kind):
            out[s.reason] += s.count
    return dict(sorted(out.items()))


def _remap_refs(refs: tuple[Any, ...], renames: Mapping[str, str]) -> tuple[Any, ...]:
    if not renames or not any(ref.dataset_key in renames for ref in refs):
        return refs
    return tuple(replace(ref, dataset_key=renames.get(ref.dataset_key, ref.dataset_key)) for ref in refs)


def _same_dataset(a: Dataset, b: Dataset) -> bool:
    """One dataset seen twice: the same key and no field where both have different values."""
    return all(
        getattr(a, f) in (None, "") or getattr(b, f) in (None, "") or getattr(a, f) == getattr(b, f)
        for f in ("name", "digest", "source", "source_type")
    )


def _unique(key: str, existing: Mapping[str, object], taken: Mapping[str, str]) -> str:
    if key not in existing:
        return key
    n = 2
    used = set(taken.values())
    while f"{key}-{n}" in existing or f"{key}-{n}" in used:
        n += 1
    return f"{key}-{n}"


def _merge_model(known: RegisteredModel, rec: RegisteredModel, conflicts: set[str]) -> RegisteredModel:
    """One registered model seen in two stores (or folders) that are one namespace; its name is
    added to ``conflicts`` when the two give one alias to different versions."""
    merged = dict(known.aliases)
    for alias, version in rec.aliases.items():
        if alias in merged and merged[alias] != version:
            conflicts.add(known.name)
            # two stores give one alias to two versions: the newer one holds it
            version = max(merged[alias], version, key=version_sort_key)
        merged[alias] = version
    filled: RegisteredModel = _fill(known, rec)
    return replace(filled, aliases=MappingProxyType(dict(sorted(merged.items()))))


def _fill(first: Any, second: Any) -> Any:
    """``first`` with its empty fields filled from ``second`` (the same record seen twice)."""
    changes = {}
    for f in fields(first):
        if getattr(first, f.name) in (None, "", (), {}) and getattr(second, f.name) not in (None, "", (), {}):
            changes[f.name] = getattr(second, f.name)
    return replace(first, **changes) if changes else first


# ---------------------------------------------------------------------------------------------
# promotion: runs -> model versions where a store has no registry


def promote(
    rules: Sequence[PromoteRule],
    runs: Sequence[Run],
    experiments: Mapping[str, Experiment],
    logged_models: Mapping[str, LoggedModel],
    default: bool,
) -> list[ModelVersion]:
    """Versions made from runs by the config's rules, or by the default rule.

    The default (for a store with no model versions of its own, when no rule is configured):
    every finished run that produced a logged model becomes a version of a model named after its
    experiment, numbered by start time.
    """
    out: list[ModelVersion] = []
    if default:
        by_model: dict[str, list[Run]] = defaultdict(list)
        for run in runs:
            if run.deleted or run.status != RunStatus.FINISHED or not run.output_model_keys:
                continue
            exp = experiments.get(run.experiment_key or "")
            by_model[exp.name if exp else "model"].append(run)
        for name in sorted(by_model):
            out.extend(_number(name, by_model[name], "sequence", "default: runs that logged a model", logged_models))
        return out
    for i, rule in enumerate(rules):
        matched = [run for run in runs if matches(rule, run, experiments)]
        out.extend(_number(rule.model, matched, rule.version, f"promote[{i}]", logged_models))
    return out


def matches(rule: PromoteRule, run: Run, experiments: Mapping[str, Experiment]) -> bool:
    """True when ``run`` meets every condition of ``rule`` (experiment glob, tag and param globs,
    finished unless ``only_finished: false``; never a deleted run)."""
    if run.deleted or (rule.only_finished and run.status != RunStatus.FINISHED):
        return False
    if rule.experiment is not None:
        exp = experiments.get(run.experiment_key or "")
        if exp is None or not fnmatch.fnmatchcase(exp.name, rule.experiment):
            return False
    for key, pattern in rule.tags.items():
        tags = run.tags if key in run.tags else run.system_tags  # a rule may name a tool's own tag
        if key not in tags or not fnmatch.fnmatchcase(tags[key], pattern):
            return False
    for key, pattern in rule.params.items():
        if key not in run.params or not fnmatch.fnmatchcase(run.params[key], pattern):
            return False
    return True


def _number(
    model: str, runs: list[Run], scheme: str, reason: str, logged_models: Mapping[str, LoggedModel]
) -> Iterator[ModelVersion]:
    ordered = sorted(runs, key=lambda r: (r.start_time or 0, r.key))
    seen: set[str] = set()
    for n, run in enumerate(ordered, 1):
        version = {"sequence": str(n), "run_name": run.name, "run_id": run.id}[scheme]
        if version in seen:
            version = f"{version}-{run.id[:8]}"
        seen.add(version)
        lm = next((k for k in run.output_model_keys if k in logged_models), None)
        yield ModelVersion(
            model=model,
            version=version,
            origin=run.origin,
            status="READY",
            created=run.end_time or run.start_time,
            user=run.user,
            run_key=run.key,
            logged_model_key=lm,
            promoted_by=reason,
        )
