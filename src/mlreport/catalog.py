"""From sources to one normalized catalog: discovery, reading, merging, promotion, links.

Nothing past this module knows which tool wrote a record. The catalog is immutable; its lists
are sorted so that everything rendered from it is deterministic.
"""

from __future__ import annotations

import fnmatch
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any

from .config import Config, PromoteRule, SourceConfig
from .errors import SourceError
from .model import (
    Dataset,
    DatasetRef,
    Experiment,
    LoggedModel,
    Metric,
    MetricHistory,
    ModelVersion,
    Origin,
    Problem,
    Record,
    RegisteredModel,
    Run,
    RunStatus,
    metric_goal,
)
from .readers import Reader, ReadOptions, available_readers
from .stores import Store, join, open_store

log = logging.getLogger("mlreport.catalog")

MAX_DISCOVERY_DEPTH = 4
_SKIP_DIRS = frozenset({"node_modules", "__pycache__", ".git", ".venv", "venv", ".dvc", "site"})


@dataclass(frozen=True)
class FoundStore:
    """A store that discovery found inside a source."""

    source: str
    label: str
    reader: str
    reader_label: str
    path: str
    display: str


@dataclass(frozen=True)
class Catalog:
    stores: tuple[FoundStore, ...] = ()
    experiments: tuple[Experiment, ...] = ()
    runs: tuple[Run, ...] = ()
    logged_models: tuple[LoggedModel, ...] = ()
    datasets: tuple[Dataset, ...] = ()
    models: tuple[RegisteredModel, ...] = ()
    versions: tuple[ModelVersion, ...] = ()
    problems: tuple[Problem, ...] = ()
    run_by_key: Mapping[str, Run] = field(default_factory=dict)
    experiment_by_key: Mapping[str, Experiment] = field(default_factory=dict)
    logged_model_by_key: Mapping[str, LoggedModel] = field(default_factory=dict)
    dataset_by_key: Mapping[str, Dataset] = field(default_factory=dict)
    model_by_name: Mapping[str, RegisteredModel] = field(default_factory=dict)
    versions_by_model: Mapping[str, tuple[ModelVersion, ...]] = field(default_factory=dict)
    children_by_run: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    versions_by_run: Mapping[str, tuple[ModelVersion, ...]] = field(default_factory=dict)
    runs_by_dataset: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    producers_by_dataset: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    runs_by_experiment: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    metric_goals: Mapping[str, str] = field(default_factory=dict)

    def goal(self, key: str) -> str:
        return self.metric_goals.get(key) or metric_goal(key)

    def best(self, metric: Metric) -> tuple[float | None, int | None]:
        if self.goal(metric.key) == "min":
            return metric.minimum, metric.minimum_step
        return metric.maximum, metric.maximum_step

    def history(self, run_key: str, metric_key: str) -> MetricHistory | None:
        """The full history of one metric of one run, loaded when a page needs it.

        Render asks for histories through this method only, never through ``Metric.history``,
        so that the crawl may keep histories out of memory (issue 12) without render changing.
        """
        run = self.run_by_key.get(run_key)
        metric = run.metric(metric_key) if run is not None else None
        return metric.history if metric is not None else None


def version_sort_key(version: str) -> tuple[Any, ...]:
    """Natural order: ``2`` before ``10``, ``v1.2.0`` before ``v1.10.0``."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", version) if p)


# ---------------------------------------------------------------------------------------------
# discovery


def open_source(source: SourceConfig) -> tuple[Store, str]:
    """Open a source; a file source (``mlflow.db``) opens its folder and names the file."""
    store = open_store(source.path, source.storage_options)
    if store.kind("") == "file":
        path = source.path.rstrip("/")
        if "://" in path:
            parent, _, name = path.rpartition("/")
            parent_store = open_store(parent, source.storage_options)
        else:
            import os

            parent, name = os.path.split(path)
            parent_store = open_store(parent or ".", source.storage_options)
        return parent_store, name
    return store, ""


def discover(
    store: Store, path: str, readers: Mapping[str, Reader], forced: str | None = None
) -> list[tuple[str, str]]:
    """The (reader name, path) pairs of every store under ``path``, breadth first.

    A reader that owns its subtree (an ``mlruns/`` folder) stops the descent there; one that
    does not (a DVC project) lets discovery go on below it, without trying that reader again.
    """
    if forced is not None:
        return [(forced, path)]
    found: list[tuple[str, str]] = []
    queue: list[tuple[str, int, frozenset[str]]] = [(path, 0, frozenset())]
    while queue:
        current, depth, excluded = queue.pop(0)
        if store.kind(current) == "file":
            for name, reader in readers.items():
                if name not in excluded and _tries_file(reader, current) and reader.detect(store, current):
                    found.append((name, current))
                    break
            continue
        matched = None
        for name, reader in readers.items():
            if (
                name in excluded
                or getattr(reader, "file_suffixes", None)
                and not getattr(reader, "detects_dirs", False)
            ):
                continue
            try:
                if reader.detect(store, current):
                    matched = name
                    break
            except OSError as exc:
                log.warning("mlreport: cannot look into %s: %s", store.display(current), exc)
        if matched is not None:
            found.append((matched, current))
            if getattr(readers[matched], "owns_subtree", True):
                continue
            if not getattr(readers[matched], "nested", False):
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
            elif any(_tries_file(r, child) for n, r in readers.items() if n not in file_excluded):
                queue.append((child, depth + 1, frozenset(file_excluded)))
    return found


def _tries_file(reader: Reader, path: str) -> bool:
    suffixes: tuple[str, ...] = getattr(reader, "file_suffixes", ())
    return bool(suffixes) and path.lower().endswith(suffixes)


# ---------------------------------------------------------------------------------------------
# reading and merging


Progress = Callable[[str, int, int | None], None]


def read_catalog(config: Config, progress: Progress | None = None) -> Catalog:
    """Read every source of ``config`` into one catalog.

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
    )
    builder = _Builder()
    for source in config.sources:
        if source.format is not None and source.format not in readers:
            raise SourceError(
                f"cannot read {source.path}: unknown format '{source.format}' (known: {', '.join(readers)})"
            )
        path = _resolve_local(source.path, config)
        store, inner = open_source(replace(source, path=path))
        store.url = source.path
        if hasattr(store, "progress"):
            store.progress = options.progress  # a bucket's listing stage shows on the bar too
        found = discover(store, inner, readers, source.format)
        if not found:
            raise SourceError(
                f"cannot read {source.path}: not a store of a known format "
                f"(looked for {', '.join(r.label for r in readers.values())})"
            )
        for name, store_path in found:
            reader = readers[name]
            display = store.display(store_path)
            log.info("reading %s (%s)", display, reader.label)
            builder.add_store(
                FoundStore(source.path, source.label or display, name, reader.label, store_path, display),
                reader.read(store, store_path, options),
                merge_experiments=getattr(reader, "merges_experiments", False),
            )
    return builder.finish(config)


def _resolve_local(path: str, config: Config) -> str:
    if "://" in path:
        return path
    from pathlib import Path

    p = Path(path).expanduser()
    if not p.is_absolute() and config.path is not None:
        p = config.base_dir / p
    return str(p)


class _Builder:
    def __init__(self) -> None:
        self.stores: list[FoundStore] = []
        self.experiments: dict[str, Experiment] = {}
        self.runs: dict[str, Run] = {}
        self.logged_models: dict[str, LoggedModel] = {}
        self.datasets: dict[str, Dataset] = {}
        self.models: dict[str, RegisteredModel] = {}
        self.versions: dict[tuple[str, str], ModelVersion] = {}
        self.problems: list[Problem] = []
        self.version_store: dict[tuple[str, str], str] = {}
        self.alias_conflicts: set[str] = set()

    def add_store(self, found: FoundStore, records: Iterable[Record], merge_experiments: bool = False) -> None:
        self.stores.append(found)
        batch = list(records)
        # Keys are ids inside one store; a later store reusing an id gets a suffix so that both
        # records keep their own page. Rewrite the references of that store accordingly.
        renames: dict[str, dict[str, str]] = {"exp": {}, "run": {}, "model": {}}
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
        exp, run, model = renames["exp"], renames["run"], renames["model"]

        def r(mapping: dict[str, str], key: str | None) -> str | None:
            return None if key is None else mapping.get(key, key)

        for rec in batch:
            if isinstance(rec, Problem):
                self.problems.append(rec)
            elif isinstance(rec, Experiment):
                known_exp = self.experiments.get(exp[rec.key])
                if known_exp is not None and merge_experiments:
                    self.experiments[exp[rec.key]] = _fill(known_exp, rec)
                else:
                    self.experiments[exp[rec.key]] = replace(rec, key=exp[rec.key])
            elif isinstance(rec, Run):
                self.runs[run[rec.key]] = replace(
                    rec,
                    key=run[rec.key],
                    experiment_key=r(exp, rec.experiment_key),
                    parent_key=r(run, rec.parent_key),
                    output_model_keys=tuple(model.get(k, k) for k in rec.output_model_keys),
                )
            elif isinstance(rec, LoggedModel):
                self.logged_models[model[rec.key]] = replace(
                    rec,
                    key=model[rec.key],
                    experiment_key=r(exp, rec.experiment_key),
                    run_key=r(run, rec.run_key),
                )
            elif isinstance(rec, Dataset):
                known = self.datasets.get(rec.key)
                self.datasets[rec.key] = rec if known is None else _fill(known, rec)
            elif isinstance(rec, RegisteredModel):
                known_model = self.models.get(rec.name)
                if known_model is None:
                    self.models[rec.name] = rec
                else:
                    merged = dict(known_model.aliases)
                    for alias, version in rec.aliases.items():
                        if alias in merged and merged[alias] != version:
                            self.alias_conflicts.add(rec.name)
                            # two stores give one alias to two versions: the newer one holds it
                            version = max(merged[alias], version, key=version_sort_key)
                        merged[alias] = version
                    self.models[rec.name] = replace(_fill(known_model, rec), aliases=dict(sorted(merged.items())))
            elif isinstance(rec, ModelVersion):
                ident = (rec.model, rec.version)
                if ident in self.versions:
                    self.problems.append(
                        Problem(
                            rec.origin,
                            f"{rec.model} version {rec.version} is also in "
                            f"{self.version_store[ident]}; this copy is skipped",
                        )
                    )
                    continue
                self.versions[ident] = replace(
                    rec,
                    run_key=r(run, rec.run_key),
                    logged_model_key=r(model, rec.logged_model_key),
                )
                self.version_store[ident] = found.display

    def finish(self, config: Config) -> Catalog:
        self._merge_datasets_by_digest()
        versions = dict(self.versions)
        for (name, version), mv in list(versions.items()):
            if name in self.alias_conflicts:
                holders = self.models[name].aliases
                mv = versions[(name, version)] = replace(
                    mv, aliases=tuple(sorted(a for a, v in holders.items() if v == version))
                )
            if mv.logged_model_key is None and mv.run_key is not None:
                versions[(name, version)] = replace(mv, logged_model_key=self._model_of(mv))
        promoted = promote(
            config.promote,
            list(self.runs.values()),
            self.experiments,
            self.logged_models,
            default=not config.promote and not versions,
        )
        for mv in promoted:
            versions.setdefault((mv.model, mv.version), mv)
        models = dict(self.models)
        for mv in versions.values():
            if mv.model not in models:
                models[mv.model] = RegisteredModel(name=mv.model, origin=mv.origin)
        return make_catalog(
            stores=self.stores,
            experiments=self.experiments.values(),
            runs=self.runs.values(),
            logged_models=self.logged_models.values(),
            datasets=self.datasets.values(),
            models=models.values(),
            versions=versions.values(),
            problems=self.problems,
            metric_goals=config.metric_goals,
        )

    def _merge_datasets_by_digest(self) -> None:
        """One node per digest: a dataset that two stores name differently (MLflow's
        ``train-ds@<md5>`` and a DVC stage's ``data/train.csv@<md5>``) is the same data."""
        by_digest: dict[str, list[str]] = defaultdict(list)
        for key, ds in self.datasets.items():
            if ds.digest and len(ds.digest) >= 8:
                by_digest[ds.digest.removesuffix(".dir")].append(key)
        alias: dict[str, str] = {}
        for keys in by_digest.values():
            if len(keys) > 1:
                canonical = sorted(keys)[0]
                for k in keys[1:] if keys[0] == canonical else keys:
                    if k != canonical:
                        alias[k] = canonical
        if not alias:
            return
        for k in alias:
            self.datasets.pop(k, None)

        def remap(refs: tuple[DatasetRef, ...]) -> tuple[DatasetRef, ...]:
            return tuple(replace(r, dataset_key=alias.get(r.dataset_key, r.dataset_key)) for r in refs)

        for key, run in list(self.runs.items()):
            if any(r.dataset_key in alias for r in (*run.inputs, *run.produced)):
                self.runs[key] = replace(run, inputs=remap(run.inputs), produced=remap(run.produced))

    def _model_of(self, mv: ModelVersion) -> str | None:
        """MLflow 2.x versions name their model by artifact path: find that logged model."""
        candidates = [m for m in self.logged_models.values() if m.run_key == mv.run_key]
        if not candidates:
            return None
        source = mv.source or ""
        for m in candidates:
            if source.rstrip("/").endswith("/" + m.name.strip("/")):
                return m.key
        return candidates[0].key if len(candidates) == 1 else None


def _unique(key: str, existing: Mapping[str, object], taken: Mapping[str, str]) -> str:
    if key not in existing:
        return key
    n = 2
    used = set(taken.values())
    while f"{key}-{n}" in existing or f"{key}-{n}" in used:
        n += 1
    return f"{key}-{n}"


def _fill(first: Any, second: Any) -> Any:
    """``first`` with its empty fields filled from ``second`` (the same record seen twice)."""
    changes = {}
    for f in fields(first):
        if getattr(first, f.name) in (None, "", (), {}) and getattr(second, f.name) not in (None, "", (), {}):
            changes[f.name] = getattr(second, f.name)
    return replace(first, **changes) if changes else first


def make_catalog(
    *,
    stores: Iterable[FoundStore] = (),
    experiments: Iterable[Experiment] = (),
    runs: Iterable[Run] = (),
    logged_models: Iterable[LoggedModel] = (),
    datasets: Iterable[Dataset] = (),
    models: Iterable[RegisteredModel] = (),
    versions: Iterable[ModelVersion] = (),
    problems: Iterable[Problem] = (),
    metric_goals: Mapping[str, str] | None = None,
) -> Catalog:
    """Sort the records and build the indexes."""
    exps = tuple(sorted(experiments, key=lambda e: (e.name.lower(), e.key)))
    run_list = tuple(sorted(runs, key=lambda r: (-(r.start_time or 0), r.key)))
    lms = tuple(sorted(logged_models, key=lambda m: m.key))
    dss = tuple(sorted(datasets, key=lambda d: d.key))
    mods = tuple(sorted(models, key=lambda m: m.name.lower()))
    vers = tuple(sorted(versions, key=lambda v: (v.model.lower(), version_sort_key(v.version))))
    probs = tuple(sorted(problems, key=lambda p: (p.origin.store, p.origin.path, p.reason)))

    by_model: dict[str, list[ModelVersion]] = defaultdict(list)
    by_run: dict[str, list[ModelVersion]] = defaultdict(list)
    for v in vers:
        by_model[v.model].append(v)
        if v.run_key:
            by_run[v.run_key].append(v)
    children: dict[str, list[str]] = defaultdict(list)
    by_dataset: dict[str, list[str]] = defaultdict(list)
    producers: dict[str, list[str]] = defaultdict(list)
    by_exp: dict[str, list[str]] = defaultdict(list)
    for r in run_list:
        if r.parent_key:
            children[r.parent_key].append(r.key)
        for ref in r.inputs:
            if r.key not in by_dataset[ref.dataset_key]:
                by_dataset[ref.dataset_key].append(r.key)
        for ref in r.produced:
            if r.key not in producers[ref.dataset_key]:
                producers[ref.dataset_key].append(r.key)
        if r.experiment_key:
            by_exp[r.experiment_key].append(r.key)
    return Catalog(
        stores=tuple(stores),
        experiments=exps,
        runs=run_list,
        logged_models=lms,
        datasets=dss,
        models=mods,
        versions=vers,
        problems=probs,
        run_by_key={r.key: r for r in run_list},
        experiment_by_key={e.key: e for e in exps},
        logged_model_by_key={m.key: m for m in lms},
        dataset_by_key={d.key: d for d in dss},
        model_by_name={m.name: m for m in mods},
        versions_by_model={k: tuple(v) for k, v in by_model.items()},
        children_by_run={k: tuple(v) for k, v in children.items()},
        versions_by_run={k: tuple(v) for k, v in by_run.items()},
        runs_by_dataset={k: tuple(v) for k, v in by_dataset.items()},
        producers_by_dataset={k: tuple(v) for k, v in producers.items()},
        runs_by_experiment={k: tuple(v) for k, v in by_exp.items()},
        metric_goals=dict(metric_goals or {}),
    )


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

    The default (used only when no source has model versions and no rule is configured):
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
        matched = [run for run in runs if _matches(rule, run, experiments)]
        out.extend(_number(rule.model, matched, rule.version, f"promote[{i}]", logged_models))
    return out


def _matches(rule: PromoteRule, run: Run, experiments: Mapping[str, Experiment]) -> bool:
    if run.deleted or (rule.only_finished and run.status != RunStatus.FINISHED):
        return False
    if rule.experiment is not None:
        exp = experiments.get(run.experiment_key or "")
        if exp is None or not fnmatch.fnmatchcase(exp.name, rule.experiment):
            return False
    for key, pattern in rule.tags.items():
        if key not in run.tags or not fnmatch.fnmatchcase(run.tags[key], pattern):
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


# ---------------------------------------------------------------------------------------------
# key metrics


def key_metrics(catalog: Catalog, runs: Sequence[Run], configured: Sequence[str] = (), limit: int = 4) -> list[str]:
    """The metrics worth a column: the configured ones that exist, else the most common ones.

    Ties go to evaluation metrics (``val``/``eval``/``test`` in the name), then by name.
    """
    counts: Counter[str] = Counter()
    for run in runs:
        for m in run.metrics:
            counts[m.key] += 1
    if configured:
        chosen = [k for k in configured if k in counts]
        if chosen:
            return chosen

    def rank(key: str) -> tuple[int, int, str]:
        lowered = key.lower()
        evaluation = any(t in lowered for t in ("val", "eval", "test"))
        return (-counts[key], 0 if evaluation else 1, key)

    return sorted(counts, key=rank)[:limit]


# ---------------------------------------------------------------------------------------------
# JSON view (``mlreport inspect`` and the golden files)


def to_jsonable(catalog: Catalog, history: bool = True) -> dict[str, Any]:
    def conv(value: Any) -> Any:
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, float):
            if math.isnan(value):
                return "NaN"
            if math.isinf(value):
                return "Infinity" if value > 0 else "-Infinity"
            return value
        if isinstance(value, MetricHistory):
            if not history:
                return None
            return {
                "steps": list(value.steps),
                "timestamps": [t if t >= 0 else None for t in value.timestamps],
                "values": [conv(v) for v in value.values],
            }
        if isinstance(value, Origin):
            return {"path": value.path, "format": value.format}
        if hasattr(value, "__dataclass_fields__"):
            return {f.name: conv(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, Mapping):
            return {str(k): conv(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [conv(v) for v in value]
        return value

    return {
        "stores": [{"reader": s.reader, "path": s.path} for s in catalog.stores],
        "experiments": conv(catalog.experiments),
        "runs": conv(catalog.runs),
        "logged_models": conv(catalog.logged_models),
        "datasets": conv(catalog.datasets),
        "models": conv(catalog.models),
        "versions": conv(catalog.versions),
        "problems": [
            {"path": p.origin.path, "format": p.origin.format, "reason": p.reason, "severity": p.severity.value}
            for p in catalog.problems
        ],
    }
