"""The catalog: one normalized record of every store read, with its indexes, links and lookups.

This is what render sees; it imports no reader and no store, and nothing in it knows which tool
wrote a record. Reading the sources into a catalog is :mod:`mlreport.crawl`
(:func:`read_catalog` here is a lazy wrapper kept for callers that import it from here). The
catalog is immutable and picklable; its lists are sorted so that everything rendered from it is
deterministic.

"Which way is better" has one definition for the whole code base: :meth:`Catalog.goal`, with
:meth:`Catalog.goal_source` saying where it came from, and :meth:`Catalog.best`.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .goals import is_counter, vocabulary_goal
from .history_store import HistoryFile, Location
from .model import (
    AliasMove,
    Dataset,
    Experiment,
    Goal,
    LoggedModel,
    Metric,
    MetricGoal,
    MetricHistory,
    ModelVersion,
    Origin,
    Problem,
    RegisteredModel,
    Run,
    Skipped,
    Trace,
)
from .sanitize import NAME_LIMIT, cut_text

if TYPE_CHECKING:
    from .config import Config

_T = TypeVar("_T")

#: what :meth:`Catalog.goal_source` answers
DECLARED = "declared by the store"
CONFIGURED = "metric_goals in mlreport.yml"
VOCABULARY = "name vocabulary"
DEFAULT = "no declaration; higher assumed"
#: characters of a declaration's detail that :meth:`Catalog.goal_source` keeps (a name's limit)
GOAL_DETAIL_LIMIT = NAME_LIMIT


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
    skipped: tuple[Skipped, ...] = ()
    traces: tuple[Trace, ...] = ()
    alias_moves: tuple[AliasMove, ...] = ()
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
    traces_by_experiment: Mapping[str, tuple[Trace, ...]] = field(default_factory=dict)
    alias_moves_by_model: Mapping[str, tuple[AliasMove, ...]] = field(default_factory=dict)
    same_content_by_dataset: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    metric_goals: Mapping[str, str] = field(default_factory=dict)
    declared_goals: Mapping[str, MetricGoal] = field(default_factory=dict)
    hidden_runs: Mapping[str, int] = field(default_factory=dict)
    hidden_experiments: Mapping[str, int] = field(default_factory=dict)
    hidden_run_keys: frozenset[str] = frozenset()
    histories: HistoryFile | None = None
    history_index: Mapping[str, Mapping[str, Location]] = field(default_factory=dict)

    # -- which way is better ------------------------------------------------------------------

    def goal(self, key: str) -> str:
        """``"min"`` or ``"max"``: what the store declares, then ``metric_goals`` in the config,
        then the name vocabulary (:mod:`mlreport.goals`); higher is better when none knows."""
        declared = self.declared_goals.get(key)
        if declared is not None:
            return declared.goal.value
        configured = self.metric_goals.get(key)
        if configured is not None:
            return configured
        return (vocabulary_goal(key) or Goal.MAX).value

    def source_kind(self, origin: Origin) -> str:
        """What kind of store a record came from, in the reader's own words ("MLflow file
        store"): pages show this, never the reader's name, so that nothing after the catalog
        depends on which reader wrote a record."""
        for s in self.stores:
            if s.reader == origin.format:
                return s.reader_label
        return "store"

    def goal_source(self, key: str) -> str:
        """Where :meth:`goal` took its answer from, for the page (``declared by the store`` …)."""
        declared = self.declared_goals.get(key)
        if declared is not None:
            if not declared.detail:
                return DECLARED
            # the detail names the metric, which may be a megabyte key: every page, table and
            # tooltip shows this text, so it is cut here once (issue 11, F25)
            detail, cut = cut_text(declared.detail, GOAL_DETAIL_LIMIT)
            return f"{DECLARED} ({detail}{'…' if cut else ''})"
        if key in self.metric_goals:
            return CONFIGURED
        return VOCABULARY if vocabulary_goal(key) is not None else DEFAULT

    def best(self, metric: Metric) -> tuple[float | None, int | None]:
        """The best value of ``metric`` and its step, by :meth:`goal` (NaN never counts)."""
        if self.goal(metric.key) == "min":
            return metric.minimum, metric.minimum_step
        return metric.maximum, metric.maximum_step

    # -- lookups ------------------------------------------------------------------------------

    def history(self, run_key: str, metric_key: str) -> MetricHistory | None:
        """The full history of one metric of one run (or logged model), loaded when a page
        needs it.

        Render asks for histories through this method only, never through ``Metric.history``:
        a crawled catalog keeps histories on disk (:mod:`mlreport.history_store`).
        """
        location = self.history_index.get(run_key, {}).get(metric_key)
        if location is not None and self.histories is not None:
            return self.histories.get(location)
        record: Run | LoggedModel | None = self.run_by_key.get(run_key) or self.logged_model_by_key.get(run_key)
        if record is None:
            return None
        for m in record.metrics:
            if m.key == metric_key:
                return m.history
        return None

    def version(self, model: str, version: str) -> ModelVersion | None:
        """The version of ``model`` named ``version`` (the first, if a store repeats one): one
        dict lookup, not a scan of the model's versions (a version page asks for its baseline
        and its neighbours; at 2,500 versions a model a scan each was quadratic, issue 7)."""
        found = self._positions(model).get(version)
        return self.versions_by_model[model][found] if found is not None else None

    def version_neighbours(self, model: str, version: str) -> tuple[ModelVersion | None, ModelVersion | None]:
        """The versions just before and just after ``version`` in the model's natural order
        (``versions_by_model``); ``(None, None)`` when the model has no such version."""
        found = self._positions(model).get(version)
        if found is None:
            return None, None
        versions = self.versions_by_model[model]
        return (versions[found - 1] if found > 0 else None, versions[found + 1] if found + 1 < len(versions) else None)

    def versions_of_logged_model(self, key: str) -> tuple[ModelVersion, ...]:
        """The model versions registered from the logged model ``key``, in catalog order."""
        index = self.derived("versions_by_logged_model", "", self._versions_by_logged_model)
        return index.get(key, ())

    def _versions_by_logged_model(self) -> dict[str, tuple[ModelVersion, ...]]:
        out: dict[str, list[ModelVersion]] = defaultdict(list)
        for v in self.versions:
            if v.logged_model_key:
                out[v.logged_model_key].append(v)
        return {k: tuple(vs) for k, vs in out.items()}

    def _positions(self, model: str) -> Mapping[str, int]:
        def positions() -> dict[str, int]:
            out: dict[str, int] = {}
            for i, v in enumerate(self.versions_by_model.get(model, ())):
                out.setdefault(v.version, i)  # the first, as a scan finds it
            return out

        return self.derived("version_positions", model, positions)

    def derived(self, name: str, key: Hashable, make: Callable[[], _T]) -> _T:
        """``make()``, made once per catalog, ``name`` and ``key`` in this process: an index or a
        summary computed from the (immutable) records, so that a page looks it up instead of
        scanning. Kept beside the fields, never pickled (:meth:`__getstate__`) nor compared."""
        memo: dict[tuple[str, Hashable], Any] | None = self.__dict__.get("_derived")
        if memo is None:
            memo = self.__dict__["_derived"] = {}  # frozen: set beside the fields, not through them
        try:
            return memo[(name, key)]  # type: ignore[no-any-return]
        except KeyError:
            value = memo[(name, key)] = make()
            return value

    def __getstate__(self) -> dict[str, Any]:
        # what :meth:`derived` made stays in this process: a worker or the unit cache gets the
        # records only (and rebuilds an index when it needs one)
        state = dict(self.__dict__)
        state.pop("_derived", None)
        return state

    def same_content(self, dataset_key: str) -> tuple[str, ...]:
        """The other datasets whose content digest equals this one's (a link, never a merge:
        each keeps its own name and source)."""
        return self.same_content_by_dataset.get(dataset_key, ())

    def is_hidden_run(self, run_key: str) -> bool:
        """True for a run the store has but this build does not show (deleted, without
        ``--include-deleted``): a link to it says "deleted", not "not in the store"."""
        return run_key in self.hidden_run_keys

    @property
    def complete(self) -> bool:
        """True only when every record was read and nothing was left out."""
        return not self.problems and not self.skipped and not self.hidden_runs and not self.hidden_experiments


def version_sort_key(version: str) -> tuple[Any, ...]:
    """Natural order: ``2`` before ``10``, ``v1.2.0`` before ``v1.10.0``.

    A run of digits compares by its length, then its digits (leading zeros dropped): the same
    order as its value, without ``int()``, which refuses a version string of 5,000 digits.
    """
    key: list[tuple[int, int, str]] = []
    for p in re.split(r"(\d+)", version):
        if not p:
            continue
        if p.isascii() and p.isdigit():
            digits = p.lstrip("0") or "0"
            key.append((0, len(digits), digits))
        else:
            key.append((1, 0, p))
    return tuple(key)


Progress = Callable[[str, int, int | None], None]


def read_catalog(
    config: Config, progress: Progress | None = None, history_dir: str | Path | None = None, units: Any = None
) -> Catalog:
    """Read every source of ``config`` into one catalog (see :func:`mlreport.crawl.read_catalog`)."""
    from .crawl import read_catalog as crawl

    return crawl(config, progress, history_dir, units)


_MOVED_TO_CRAWL = frozenset({"discover", "open_source", "promote", "matches"})


def __getattr__(name: str) -> Any:
    # the crawl's functions used to live here; other branches still import them from here
    if name in _MOVED_TO_CRAWL:
        from . import crawl

        return getattr(crawl, name)
    raise AttributeError(f"module 'mlreport.catalog' has no attribute {name!r}")


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
    skipped: Iterable[Skipped] = (),
    traces: Iterable[Trace] = (),
    alias_moves: Iterable[AliasMove] = (),
    metric_goals: Mapping[str, str] | None = None,
    declared_goals: Mapping[str, MetricGoal] | None = None,
    hidden_runs: Mapping[str, int] | None = None,
    hidden_experiments: Mapping[str, int] | None = None,
    hidden_run_keys: Iterable[str] = (),
    histories: HistoryFile | None = None,
    history_index: Mapping[str, Mapping[str, Location]] | None = None,
) -> Catalog:
    """Sort the records and build the indexes and links."""
    exps = tuple(sorted(experiments, key=lambda e: (e.name.lower(), e.key)))
    run_list = tuple(sorted(runs, key=lambda r: (-(r.start_time or 0), r.key)))
    lms = tuple(sorted(logged_models, key=lambda m: m.key))
    dss = tuple(sorted(datasets, key=lambda d: d.key))
    mods = tuple(sorted(models, key=lambda m: m.name.lower()))
    vers = tuple(sorted(versions, key=lambda v: (v.model.lower(), version_sort_key(v.version))))
    probs = tuple(sorted(problems, key=lambda p: (p.origin.store, p.origin.path, p.reason)))
    skips = tuple(sorted(skipped, key=lambda s: (s.origin.store, s.origin.path, s.what, s.reason)))
    # newest first within an experiment, as the runs are
    trs = tuple(sorted(traces, key=lambda t: (t.experiment_key or "", -(t.request_time or 0), t.id, t.key)))
    # oldest first: the order a history is told in
    moves = tuple(
        sorted(alias_moves, key=lambda m: (m.model, m.kind, m.name, m.time is not None, m.time or 0, m.source))
    )
    by_model_moves: dict[str, list[AliasMove]] = defaultdict(list)
    for mv_ in moves:
        by_model_moves[mv_.model].append(mv_)
    by_exp_traces: dict[str, list[Trace]] = defaultdict(list)
    for t in trs:
        if t.experiment_key:
            by_exp_traces[t.experiment_key].append(t)

    by_model: dict[str, list[ModelVersion]] = defaultdict(list)
    by_run: dict[str, list[ModelVersion]] = defaultdict(list)
    for v in vers:
        by_model[v.model].append(v)
        if v.run_key:
            by_run[v.run_key].append(v)
    children: dict[str, list[str]] = defaultdict(list)
    by_dataset: dict[str, dict[str, None]] = defaultdict(dict)
    producers: dict[str, dict[str, None]] = defaultdict(dict)
    by_exp: dict[str, list[str]] = defaultdict(list)
    for r in run_list:
        if r.parent_key:
            children[r.parent_key].append(r.key)
        # dicts as ordered sets: a list's "in" per run was quadratic in the runs of a dataset
        for ref in r.inputs:
            by_dataset[ref.dataset_key][r.key] = None
        for ref in r.produced:
            producers[ref.dataset_key][r.key] = None
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
        skipped=skips,
        traces=trs,
        alias_moves=moves,
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
        traces_by_experiment={k: tuple(v) for k, v in by_exp_traces.items()},
        alias_moves_by_model={k: tuple(v) for k, v in by_model_moves.items()},
        same_content_by_dataset=same_content_links(dss),
        metric_goals=dict(metric_goals or {}),
        declared_goals=dict(sorted((declared_goals or {}).items())),
        hidden_runs=dict(sorted((hidden_runs or {}).items())),
        hidden_experiments=dict(sorted((hidden_experiments or {}).items())),
        hidden_run_keys=frozenset(hidden_run_keys),
        histories=histories,
        history_index=dict(history_index or {}),
    )


def same_content_links(datasets: Sequence[Dataset]) -> dict[str, tuple[str, ...]]:
    """For each dataset, the others with the same content digest (``Dataset.comparable_digest``).

    Short digests (< 8 characters) are not evidence of equal content and link nothing."""
    by_digest: dict[str, list[str]] = defaultdict(list)
    for ds in datasets:
        digest = ds.comparable_digest
        if digest and len(digest) >= 8:
            by_digest[digest].append(ds.key)
    links: dict[str, tuple[str, ...]] = {}
    for keys in by_digest.values():
        if len(keys) > 1:
            for k in keys:
                links[k] = tuple(sorted(o for o in keys if o != k))
    return dict(sorted(links.items()))


# ---------------------------------------------------------------------------------------------
# key metrics


#: params whose value names the metric a run optimises: Optuna/Ray Tune/hyperopt sweeps
#: (``metric``, ``objective``), Hugging Face ``metric_for_best_model``, Keras/Lightning
#: checkpoint ``monitor``. The metric they name is the first key metric, so the runs table's
#: first column and default sort, the sweep's judge, the best-runs chart and the model pages
#: all name the same metric.
OBJECTIVE_PARAMS = (
    "metric",
    "metric_name",
    "objective",
    "objective_metric",
    "target_metric",
    "optimize_metric",
    "metric_for_best_model",
    "monitor",
)


def primary_metrics(runs: Sequence[Run], present: Mapping[str, int]) -> list[str]:
    """The metrics that runs say they optimise (see :data:`OBJECTIVE_PARAMS`), most named first,
    among those the runs have (``accuracy`` also finds ``eval_accuracy``, as the Hugging Face
    Trainer prefixes it)."""
    named: Counter[str] = Counter()
    for r in runs:
        for p in OBJECTIVE_PARAMS:
            value = r.params.get(p)
            if not value:
                continue
            for candidate in (value, f"eval_{value}"):
                if candidate in present:
                    named[candidate] += 1
                    break
    return [k for k, _ in sorted(named.items(), key=lambda kv: (-kv[1], kv[0]))]


def key_metrics(
    catalog: Catalog,
    runs: Sequence[Run],
    configured: Sequence[str] = (),
    limit: int = 4,
    context: Sequence[Run] = (),
) -> list[str]:
    """The metrics worth a column: the configured ones that exist, else the ones the runs (or
    their parent runs, or ``context``: a sweep parent speaks for its children) say they optimise,
    then the ``limit`` most common others.

    Runtime, throughput, memory and progress counters (:func:`mlreport.goals.is_counter`) are
    never chosen unless configured, nor are metrics only some runs have when others are common.
    Ties go to metrics with a declared or configured goal, then to evaluation metrics
    (``val``/``eval``/``test`` in the name), then by name.
    """
    counts: Counter[str] = Counter()
    for run in runs:
        for m in run.metrics:
            counts[m.key] += 1
    if configured:
        chosen = [k for k in configured if k in counts]
        if chosen:
            return chosen

    speakers: dict[str, Run] = {r.key: r for r in context}
    for run in runs:
        speakers.setdefault(run.key, run)
        parent = catalog.run_by_key.get(run.parent_key) if run.parent_key else None
        if parent is not None:
            speakers.setdefault(parent.key, parent)
    primary = primary_metrics([speakers[k] for k in sorted(speakers)], counts)

    def rank(key: str) -> tuple[int, int, int, str]:
        lowered = key.lower()
        evaluation = any(t in lowered for t in ("val", "eval", "test"))
        declared = key in catalog.declared_goals or key in catalog.metric_goals
        return (-counts[key], 0 if declared else 1, 0 if evaluation else 1, key)

    rest = sorted((k for k in counts if not is_counter(k) and k not in primary), key=rank)
    return primary + rest[:limit]


# ---------------------------------------------------------------------------------------------
# JSON view (``mlreport inspect`` and the golden files)


# fields added after the goldens were written, shown only when set (so old goldens stay valid)
_OMITTED_WHEN_NONE = frozenset({"content_digest", "location", "input_example"})
_OMITTED_WHEN_EMPTY = frozenset({"system_tags", "signature"})


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
            return {
                f.name: conv(getattr(value, f.name))
                for f in fields(value)
                if not (f.name in _OMITTED_WHEN_NONE and getattr(value, f.name) is None)
                and not (f.name in _OMITTED_WHEN_EMPTY and not getattr(value, f.name))
            }
        if isinstance(value, Mapping):
            return {str(k): conv(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [conv(v) for v in value]
        return value

    def run_view(run: Run) -> Any:
        out = conv(run)
        for m in out["metrics"]:
            full = catalog.history(run.key, m["key"]) if history else None
            if full is not None:
                m["history"] = conv(full)
        return out

    view: dict[str, Any] = {
        "stores": [{"reader": s.reader, "path": s.path} for s in catalog.stores],
        "experiments": conv(catalog.experiments),
        "runs": [run_view(r) for r in catalog.runs],
        "logged_models": conv(catalog.logged_models),
        "datasets": conv(catalog.datasets),
        "models": conv(catalog.models),
        "versions": conv(catalog.versions),
        "problems": [
            {"path": p.origin.path, "format": p.origin.format, "reason": p.reason, "severity": p.severity.value}
            for p in catalog.problems
        ],
    }
    # new sections appear only when they have something, so the existing goldens stay as they are
    if catalog.same_content_by_dataset:
        view["same_content"] = {k: list(v) for k, v in catalog.same_content_by_dataset.items()}
    if catalog.declared_goals:
        view["declared_goals"] = {
            k: {"goal": g.goal.value, "path": g.origin.path, "detail": g.detail}
            for k, g in catalog.declared_goals.items()
        }
    if catalog.hidden_runs or catalog.hidden_experiments:
        view["hidden"] = {"runs": dict(catalog.hidden_runs), "experiments": dict(catalog.hidden_experiments)}
    if catalog.traces:
        view["traces"] = conv(catalog.traces)
    if catalog.alias_moves:
        view["alias_moves"] = conv(catalog.alias_moves)
    if catalog.skipped:
        view["skipped"] = [
            {"path": s.origin.path, "format": s.origin.format, "what": s.what, "count": s.count, "reason": s.reason}
            for s in catalog.skipped
        ]
    return view
