"""The normalized catalog records.

Readers turn each store format into these records; everything after the catalog (render, build)
sees only them and never knows which tool wrote a run. Records are immutable. Times are epoch
milliseconds (``int``) whatever the source unit, ``None`` when the source does not record them.
Every record carries an :class:`Origin` so that a page can name its source and a message its file.
"""

from __future__ import annotations

import copyreg
import enum
import math
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

EMPTY: Mapping[str, str] = MappingProxyType({})


def _mapping_proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


def _reduce_mapping_proxy(
    m: MappingProxyType[Any, Any],
) -> tuple[Callable[..., MappingProxyType[Any, Any]], tuple[Any]]:
    return _mapping_proxy, (dict(m),)


# Records hold read-only mappings, and a catalog must pickle (a process pool, a Dask cluster,
# the build cache): teach pickle to rebuild a mappingproxy from a plain copy of its dict.
copyreg.pickle(MappingProxyType, _reduce_mapping_proxy)


def _empty() -> Mapping[str, str]:
    return EMPTY


def frozen_map(items: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """An immutable mapping with keys in sorted order (sorted output is deterministic output)."""
    if not items:
        return EMPTY
    return MappingProxyType({k: items[k] for k in sorted(items)})


class RunStatus(enum.Enum):
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    UNKNOWN = "UNKNOWN"


class Severity(enum.Enum):
    WARNING = "warning"
    ERROR = "error"


def display_path(store_url: str, path: str) -> str:
    """A file of a store as pages and messages show it: the source as the user named it, then the
    path inside (``./mlruns`` + ``1/meta.yaml`` -> ``mlruns/1/meta.yaml``). Pure text: render and
    the CLI use it without importing a store."""
    base = store_url.rstrip("/") or store_url
    if not path:
        return base
    if base in (".", "./"):
        return path
    if base.startswith("./"):
        base = base[2:]
    return f"{base}{path}" if base.endswith("/") else f"{base}/{path}"  # the root "/" ends in one


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record came from.

    Attributes:
        store: the source as the user named it (a path or URL), shown on pages.
        path: the file or directory inside the store, relative to its root, ``/``-separated.
        format: the reader's name (``mlflow``, ``mlflow-sql``, ``wandb`` …).
    """

    store: str
    path: str
    format: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A record that could not be read: skipped, reported, and listed on the Problems page."""

    origin: Origin
    reason: str
    severity: Severity = Severity.WARNING

    def message(self) -> str:
        return f"cannot read {self.origin.path or self.origin.store}: {self.reason}"


@dataclass(frozen=True, slots=True, eq=False)
class MetricHistory:
    """Every logged point of one metric, sorted by (step, timestamp, value), duplicates dropped.

    Arrays keep 10,000-run stores in a few hundred MB; treat them as read-only.
    ``timestamps`` holds -1 where the source has no time for a point.
    """

    steps: array[int]
    timestamps: array[int]
    values: array[float]

    def __len__(self) -> int:
        return len(self.values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MetricHistory):
            return NotImplemented
        return (
            self.steps == other.steps
            and self.timestamps == other.timestamps
            and [_nan_key(v) for v in self.values] == [_nan_key(v) for v in other.values]
        )

    @classmethod
    def from_columns(
        cls, steps: list[int], timestamps: list[int], values: list[float], increasing: bool = False
    ) -> MetricHistory:
        """Build from parallel columns; fast when steps strictly increase (the usual file)."""
        if increasing or steps == sorted(set(steps)):
            return cls(array("q", steps), array("q", timestamps), array("d", values))
        points = list(dict.fromkeys(zip(steps, timestamps, values, strict=True)))
        total = sum(values)
        # Without NaN a tuple's own order is from_points' key, and dict.fromkeys keeps the first
        # of equal points as set() does: points already in order (a series logged twice at a
        # step, as the Trainer logs epoch) need no keyed sort.
        if total == total and points == sorted(points):
            s, t, v = zip(*points, strict=True)
            return cls(array("q", s), array("q", t), array("d", v))
        return cls.from_points(points)

    @classmethod
    def from_points(cls, points: list[tuple[int, int, float]]) -> MetricHistory:
        """Build from (step, timestamp_ms or -1, value) triples in any order, with duplicates."""
        unique = sorted(set(points), key=lambda p: (p[0], p[1], _nan_key(p[2])))
        return cls(
            array("q", [p[0] for p in unique]),
            array("q", [p[1] for p in unique]),
            array("d", [p[2] for p in unique]),
        )


def _nan_key(value: float) -> float:
    # NaN compares unequal to itself; sort and compare it as -inf so order stays total.
    return -math.inf if math.isnan(value) else value


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric of a run: the final value and the summary statistics, plus its history.

    ``final`` follows MLflow: the point with the largest (step, timestamp, value). Which of
    ``minimum``/``maximum`` is the best is the catalog's decision (:meth:`Catalog.best
    <mlreport.catalog.Catalog.best>`), since it depends on the store and the config. ``history`` is
    set by readers; in a crawled catalog it is ``None`` and :meth:`Catalog.history
    <mlreport.catalog.Catalog.history>` loads it.
    """

    key: str
    final: float
    final_step: int
    final_timestamp: int | None
    minimum: float | None
    minimum_step: int | None
    maximum: float | None
    maximum_step: int | None
    count: int
    history: MetricHistory | None = None

    @classmethod
    def from_history(cls, key: str, history: MetricHistory) -> Metric:
        n = len(history)
        if n == 0:
            raise ValueError(f"metric {key!r} has no points")
        # history is sorted by (step, timestamp, value): the last point is MLflow's "latest".
        last = n - 1
        values = history.values
        finite = [v for v in values if v == v]  # NaN is the only value unequal to itself
        if finite:
            low, high = min(finite), max(finite)
            min_i, max_i = values.index(low), values.index(high)
        else:
            min_i = max_i = -1
        ts = history.timestamps[last]
        return cls(
            key=key,
            final=history.values[last],
            final_step=history.steps[last],
            final_timestamp=ts if ts >= 0 else None,
            minimum=history.values[min_i] if min_i >= 0 else None,
            minimum_step=history.steps[min_i] if min_i >= 0 else None,
            maximum=history.values[max_i] if max_i >= 0 else None,
            maximum_step=history.steps[max_i] if max_i >= 0 else None,
            count=n,
            history=history,
        )

    @classmethod
    def from_columns(
        cls, key: str, steps: list[int], timestamps: list[int] | None, values: list[float]
    ) -> Metric:
        """``from_history(key, MetricHistory.from_columns(...))`` in one step (``timestamps``
        None: no time for any point). ``values`` must be floats. A reader builds one metric
        per series of every run: on the usual column (steps increasing, no NaN) the statistics
        are taken from the lists, which is faster than from the arrays (no boxing)."""
        n = len(steps)
        if n == 0 or steps != sorted(set(steps)):
            stamps = timestamps if timestamps is not None else [-1] * n
            return cls.from_history(key, MetricHistory.from_columns(steps, stamps, values))
        history = MetricHistory(
            array("q", steps),
            array("q", timestamps) if timestamps is not None else array("q", (-1,)) * n,
            array("d", values),
        )
        total = sum(values)
        if total != total:  # a NaN (or +inf and -inf): from_history leaves NaN out of min/max
            return cls.from_history(key, history)
        # the same points from_history picks: the first lowest and the first highest
        min_i = values.index(min(values))
        max_i = values.index(max(values))
        ts = history.timestamps[n - 1]
        return cls(
            key=key,
            final=history.values[n - 1],
            final_step=steps[n - 1],
            final_timestamp=ts if ts >= 0 else None,
            minimum=history.values[min_i],
            minimum_step=steps[min_i],
            maximum=history.values[max_i],
            maximum_step=steps[max_i],
            count=n,
            history=history,
        )

    @classmethod
    def single(cls, key: str, value: float, step: int = 0, timestamp: int | None = None) -> Metric:
        """A metric known only by its final value (a summary file with no history)."""
        nan = math.isnan(value)
        return cls(
            key=key,
            final=value,
            final_step=step,
            final_timestamp=timestamp,
            minimum=None if nan else value,
            minimum_step=None if nan else step,
            maximum=None if nan else value,
            maximum_step=None if nan else step,
            count=1,
            history=None,
        )


class Goal(enum.Enum):
    """Which way a metric is better."""

    MIN = "min"
    MAX = "max"


@dataclass(frozen=True, slots=True)
class MetricGoal:
    """A store's own statement of which way a metric is better.

    Readers yield one when the store declares it (a Trainer's ``metric_for_best_model`` with
    ``greater_is_better``, a model card's metric, a dvclive or manifest declaration); it outranks
    ``metric_goals`` in the config and the name vocabulary (see :meth:`Catalog.goal
    <mlreport.catalog.Catalog.goal>`). ``detail`` says where, for the page (``trainer_state.json:
    metric_for_best_model``).
    """

    key: str
    goal: Goal
    origin: Origin
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something a reader read and deliberately left out of the catalog, counted, with why.

    Not a Problem (nothing is wrong with it) but never silent either: the Problems page lists
    these so that it cannot claim that every record was read. ``what`` is a plural noun phrase
    (``deleted runs``, ``media files``).
    """

    origin: Origin
    what: str
    count: int
    reason: str
    keys: tuple[str, ...] = ()  # the records' keys where known (a link to one says why it is absent)


@dataclass(frozen=True, slots=True)
class Artifact:
    """A file logged with a run or a model: path relative to the artifact root, size in bytes.

    ``note`` says what the file is when its name does not (``Git LFS pointer (declared 5.7 GB,
    not fetched)``, ``DVC plot: y acc over step``); pages show it next to the path.
    ``location`` is where its bytes are: the file's path in the record's store (relative to the
    store root, as the reader read it), or ``None`` when the store only lists it (a manifest
    entry, a remote artifact URI). Previews read artifacts through it (:mod:`mlreport.previews`).
    """

    path: str
    size: int | None
    note: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A run's input: the dataset's catalog key plus the context it was used in."""

    dataset_key: str
    context: str | None = None
    tags: Mapping[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class GitInfo:
    commit: str | None = None
    branch: str | None = None
    repo_url: str | None = None
    dirty: bool | None = None


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of a pipeline run (a DVC stage): what it ran, read, wrote and measured.

    A pipeline execution is one :class:`Run`; its stages are rows of that run, not runs of their
    own. ``upstream`` names the stages whose outputs this one read.
    """

    name: str
    command: str | None = None
    params: Mapping[str, str] = field(default_factory=_empty)
    metrics: tuple[Metric, ...] = ()
    inputs: tuple[DatasetRef, ...] = ()
    produced: tuple[DatasetRef, ...] = ()
    output_model_keys: tuple[str, ...] = ()
    artifacts: tuple[Artifact, ...] = ()
    upstream: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Experiment:
    """A group of runs (an MLflow experiment, a W&B project, a DVC repo)."""

    key: str
    id: str
    name: str
    origin: Origin
    deleted: bool = False
    created: int | None = None
    updated: int | None = None
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=_empty)
    # The writing tool's own tags (MLflow's ``mlflow.*``), apart from the user's ``tags``, as on
    # :class:`Run`: pages fold them away and leave them out of search without knowing the tool.
    system_tags: Mapping[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Run:
    """One training or evaluation run.

    ``key`` is unique in the catalog (the run id, made unique across stores by the catalog);
    ``experiment_key`` and ``parent_key`` refer to other records' keys.
    """

    key: str
    id: str
    name: str
    origin: Origin
    experiment_key: str | None = None
    status: RunStatus = RunStatus.UNKNOWN
    start_time: int | None = None
    end_time: int | None = None
    user: str | None = None
    description: str | None = None
    params: Mapping[str, str] = field(default_factory=_empty)
    tags: Mapping[str, str] = field(default_factory=_empty)
    metrics: tuple[Metric, ...] = ()
    parent_key: str | None = None
    inputs: tuple[DatasetRef, ...] = ()
    produced: tuple[DatasetRef, ...] = ()  # datasets this run wrote (a DVC stage's outs)
    output_model_keys: tuple[str, ...] = ()
    artifacts: tuple[Artifact, ...] = ()
    artifact_uri: str | None = None
    git: GitInfo = field(default_factory=GitInfo)
    source_name: str | None = None
    deleted: bool = False
    stages: tuple[Stage, ...] = ()  # a pipeline run's steps (DVC), in run order
    # Tags the writing tool sets for itself (MLflow's ``mlflow.*``), apart from the user's ``tags``
    # so that pages show them in their own table without knowing which tool wrote the run.
    system_tags: Mapping[str, str] = field(default_factory=_empty)

    def metric(self, key: str) -> Metric | None:
        for m in self.metrics:
            if m.key == key:
                return m
        return None


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """A model artifact produced by a run (MLflow 3 LoggedModel, a W&B model artifact …)."""

    key: str
    id: str
    name: str
    origin: Origin
    experiment_key: str | None = None
    run_key: str | None = None
    status: str | None = None
    created: int | None = None
    updated: int | None = None
    model_type: str | None = None
    params: Mapping[str, str] = field(default_factory=_empty)
    tags: Mapping[str, str] = field(default_factory=_empty)
    metrics: tuple[Metric, ...] = ()
    artifacts: tuple[Artifact, ...] = ()
    artifact_uri: str | None = None
    # The model's signature as its MLmodel file declares it: part (``inputs``, ``outputs``,
    # ``params``) -> the column or tensor spec as the store's JSON text; empty when none.
    signature: Mapping[str, str] = field(default_factory=_empty)
    # The artifact path (relative to the model's artifacts) of its input example, when saved.
    input_example: str | None = None
    # The writing tool's own tags (MLflow's ``mlflow.*``), apart from the user's ``tags``, as on
    # :class:`Run`: pages fold them away and leave them out of search without knowing the tool.
    system_tags: Mapping[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset used by runs, identified the way its store identifies it.

    ``key`` is stable and made of the store's own identity (MLflow: ``<name>@<digest>``; DVC:
    ``<path>@<md5>``; a manifest: ``<name>@<digest>`` of its URI), so two datasets are one record
    only when their store says so. ``content_digest`` is the reader's comparable form of the
    digest when it differs from ``digest`` (DVC writes ``<md5>.dir`` for a folder): datasets
    with equal content digests are linked ("same content as", :meth:`Catalog.same_content
    <mlreport.catalog.Catalog.same_content>`), never merged.
    """

    key: str
    name: str
    origin: Origin
    digest: str | None = None
    source_type: str | None = None
    source: str | None = None
    schema: str | None = None
    profile: str | None = None
    content_digest: str | None = None

    @property
    def comparable_digest(self) -> str | None:
        """The digest that equals another store's for the same bytes."""
        return self.content_digest or self.digest


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A named model in a registry: its description, tags, and which version each alias names."""

    name: str
    origin: Origin
    description: str | None = None
    created: int | None = None
    updated: int | None = None
    tags: Mapping[str, str] = field(default_factory=_empty)
    aliases: Mapping[str, str] = field(default_factory=_empty)
    # The writing tool's own tags (MLflow's ``mlflow.*``), apart from the user's ``tags``, as on
    # :class:`Run`: pages fold them away and leave them out of search without knowing the tool.
    system_tags: Mapping[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One version of a registered (or promoted) model.

    ``run_key`` is the source run and ``logged_model_key`` the logged model behind it, when known.
    """

    model: str
    version: str
    origin: Origin
    stage: str | None = None
    aliases: tuple[str, ...] = ()
    status: str | None = None
    description: str | None = None
    created: int | None = None
    updated: int | None = None
    user: str | None = None
    source: str | None = None
    run_key: str | None = None
    logged_model_key: str | None = None
    tags: Mapping[str, str] = field(default_factory=_empty)
    promoted_by: str | None = None
    # The version's own numbers when they are not the source run's final ones (a Trainer
    # checkpoint's metrics as of its step); empty: pages show the run's.
    metrics: tuple[Metric, ...] = ()
    # The writing tool's own tags (MLflow's ``mlflow.*``), apart from the user's ``tags``, as on
    # :class:`Run`: pages fold them away and leave them out of search without knowing the tool.
    system_tags: Mapping[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Trace:
    """One traced request of an experiment (an MLflow trace of a GenAI app or agent).

    ``status`` is the store's word (``OK``, ``ERROR``, ``IN_PROGRESS``); ``request_time`` is epoch
    ms; the previews are the store's own short request and response texts (untrusted strings).
    ``metadata`` is the trace's request metadata, ``tags`` its tags.
    """

    key: str
    id: str
    origin: Origin
    experiment_key: str | None = None
    name: str | None = None
    status: str | None = None
    request_time: int | None = None
    duration_ms: int | None = None
    request_preview: str | None = None
    response_preview: str | None = None
    run_key: str | None = None
    metadata: Mapping[str, str] = field(default_factory=_empty)
    tags: Mapping[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class AliasMove:
    """A move of an alias or stage that the store itself recorded, with its time: a GTO
    assignment tag in git, a W&B run logging an artifact version with an alias, a manifest's
    ``promoted_at``. Stores that keep only the present (MLflow's registry) yield none; then the
    history is what mlreport's own builds saw (``history.json``).

    ``versions`` hold ``name`` from ``time`` (epoch ms) on; ``()`` means it was removed.
    ``kind`` is ``"alias"`` or ``"stage"``; ``source`` says where the store records it, in words
    ("GTO tag demo-model#prod#3").
    """

    model: str
    name: str
    versions: tuple[str, ...]
    time: int | None
    origin: Origin
    kind: str = "alias"
    source: str = ""


Record = (
    Experiment
    | Run
    | LoggedModel
    | Dataset
    | RegisteredModel
    | ModelVersion
    | Problem
    | MetricGoal
    | Skipped
    | Trace
    | AliasMove
)
