"""MLflow SQLite backend (``mlflow.db``), opened read-only, without the ``mlflow`` package.

Schema notes: FORMATS.md §1.6. Columns differ between MLflow versions, so every query is built
from the columns that ``PRAGMA table_info`` reports, and tables that an older schema lacks
(datasets, logged models, aliases) are simply absent from the result. How the file is opened
and the fault boundary per table and row: :mod:`._sqlite`.

Each table is read by one query, ordered by ``run_uuid`` and streamed in chunks (``metrics``
also by key and step, the order of ``index_metrics_run_uuid_key_step``, so SQLite sorts
nothing); the runs are merged with their rows of the other tables in one pass, like sorted
lists, and histories are built column-wise (one array per column), so memory holds one run's
rows, not the metrics table. Rows keyed by a ``run_uuid`` that has no row in ``runs`` (its page
damaged, or the row deleted) are still shown as a run, with one Problem: the experiment and
artifacts are found by the run's folder under an experiment's artifact root, or by its datasets.

A database of more than :data:`UNIT_RUNS` runs is read in units, contiguous ranges of
``run_uuid`` told apart by SQLite's own comparisons, each merged the same way by its own
queries; with ``--jobs`` > 1 the units are read on the crawl's process pool (as the file store's
runs), and the records, their order and the Problems are the same whatever the number of jobs.
"""

from __future__ import annotations

import copy
import logging
import math
import operator
import sqlite3
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate, compress, count, groupby
from operator import itemgetter
from typing import Any, cast

from ..model import (
    Artifact,
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
    Skipped,
    Trace,
    frozen_map,
)
from ..stores import Store, join
from . import ReadOptions
from ._common import ReadContext
from ._mlflow import (
    LOG_MODEL_HISTORY_TAG,
    LOGGED_MODEL_STATUS,
    NOTE_TAG,
    PARENT_TAG,
    RUN_NAME_TAG,
    SOURCE_NAME_TAG,
    TRACE_NAME_TAG,
    TRACE_RUN_METADATA,
    ModelLinks,
    as_int,
    as_str,
    bad_int,
    git_info,
    hidden,
    iso_ms,
    mlmodel_signature,
    parse_log_model_history,
    parse_status,
    resolve_artifact_dir,
    run_user,
    shown,
    split_tags,
)
from ._mlflow_metrics import sorted_metric
from ._sqlite import ChangingDatabase, Tables, open_snapshot, sql_order
from ._units import dumps, loads, trust
from .mlflow_file import _dataset_source, _flavors, dataset_key, logged_model_from_source

log = logging.getLogger("mlreport.readers.mlflow_sql")

_SQLITE_MAGIC = b"SQLite format 3\x00"
# MLflow writes +-inf as +-DBL_MAX in the metrics tables (FORMATS.md §1.6).
_DBL_MAX = 1.7976931348623157e308
# What a damaged file still shows of MLflow's schema (the CREATE statements in sqlite_master).
_SCHEMA_MARKS = (b"CREATE TABLE experiments", b'CREATE TABLE "experiments"', b"alembic_version")
_HEAD_SCAN = 1 << 20
_EXPERIMENTS_MARKS = (b"CREATE TABLE experiments (", b'CREATE TABLE "experiments" (')
_RUNS_MARKS = (b"CREATE TABLE runs (", b'CREATE TABLE "runs" (')
_MLFLOW_TABLES = frozenset(
    {"alembic_version", "experiments", "runs", "metrics", "latest_metrics", "params", "tags", "experiment_tags"}
)

# Columns that some MLflow schema versions lack: reading without them is normal, not a Problem.
_OPTIONAL = {
    "experiments": frozenset({"creation_time", "last_update_time", "artifact_location"}),
    "datasets": frozenset({"experiment_id"}),
    "runs": frozenset({"name", "deleted_time"}),
    "metrics": frozenset({"step", "is_nan"}),
    "latest_metrics": frozenset({"is_nan"}),
    "model_versions": frozenset({"storage_location"}),
    "registered_models": frozenset(),
    "logged_models": frozenset({"status_message"}),
    "trace_info": frozenset({"trace_name", "response_preview", "request_preview"}),
}


class MlflowSqlReader:
    """Reads an ``mlflow.db`` SQLite file, resolving artifacts against the file's folder."""

    name = "mlflow-sql"
    label = "MLflow SQLite"
    file_suffixes = (".db", ".sqlite", ".sqlite3")

    def detect(self, store: Store, path: str) -> bool:
        if store.kind(path) != "file":
            return False
        try:
            head = store.read_head(path, _HEAD_SCAN)
        except OSError:
            return False
        if not head.startswith(_SQLITE_MAGIC):
            # A header overwritten by garbage: still MLflow's if its schema text is there.
            return any(mark in head for mark in _SCHEMA_MARKS)
        if any(m in head for m in _EXPERIMENTS_MARKS) and any(m in head for m in _RUNS_MARKS):
            # MLflow's schema text, in the first pages: no need to open (and, beside a -wal, copy) it
            return True
        try:
            with store.local_copy(path) as local, open_snapshot(local) as connect:
                conn = connect()
                try:
                    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
                finally:
                    conn.close()
                repaired = bool(getattr(connect, "notes", None))
        except sqlite3.DatabaseError:
            # Damaged, but detected as what it is so that the user hears why it cannot be read.
            return any(mark in head for mark in _SCHEMA_MARKS)
        # A repaired table list may have lost the experiments or runs entry: MLflow's still,
        # by its other tables, so that the Problems say what was lost.
        # So is one whose runs table was dropped (by hand or by a tool): its other tables are read.
        known = len(tables & _MLFLOW_TABLES)
        return {"experiments", "runs"} <= tables or known >= 3 and (repaired or "alembic_version" in tables)

    def read(self, store: Store, path: str, options: ReadOptions) -> Iterator[Record]:
        origin = Origin(store.url, path, self.name)
        try:
            with store.local_copy(path) as local, open_snapshot(local) as connect:
                try:
                    tables = Tables(connect, _OPTIONAL)
                except sqlite3.DatabaseError as exc:
                    yield Problem(origin, f"damaged MLflow database: {exc}")
                    return
                for table in ("experiments", "runs"):
                    if table not in tables.tables:
                        yield Problem(origin, f"the database has no table '{table}' (damaged, or dropped)")
                try:
                    yield from _Reading(store, path, options, tables).records()
                finally:
                    tables.close()
        except ChangingDatabase as exc:
            yield Problem(origin, str(exc))
        except sqlite3.DatabaseError as exc:
            yield Problem(origin, f"damaged MLflow database: {exc}")
        except OSError as exc:
            yield Problem(origin, f"cannot read the database: {exc.strerror or exc}")


def _metric_value(value: object, is_nan: object) -> float:
    if is_nan:
        return math.nan
    if isinstance(value, (bytes, str)):
        raise ValueError(f"value {shown(value)} is not a number")
    v = float(value)  # type: ignore[arg-type]
    if v >= _DBL_MAX:
        return math.inf
    if v <= -_DBL_MAX:
        return -math.inf
    return v


def _fix_values(values: Sequence[Any], nans: Sequence[Any]) -> array[float]:
    """The value column as floats: NaN where ``is_nan``, +-inf for +-DBL_MAX. Raises
    TypeError/ValueError for a cell that is not a number (the careful path takes over)."""
    column = array("d", values)
    if any(nans) or (column and (max(column) >= _DBL_MAX or min(column) <= -_DBL_MAX)):
        column = array("d", (_metric_value(v, n) for v, n in zip(column, nans, strict=True)))
    return column


def _history(steps: Sequence[Any], timestamps: Sequence[Any], values: array[float]) -> MetricHistory:
    """Columns of one metric in step order -> a history, without a point tuple each when the
    steps strictly increase (the usual metric); otherwise sorted by (step, timestamp, value)."""
    step_col = array("q", steps)
    ts_col = array("q", timestamps)
    if len(step_col) < 2 or all(map(operator.lt, step_col, step_col[1:])):
        return MetricHistory(step_col, ts_col, values)
    return MetricHistory.from_points(list(zip(step_col, ts_col, values, strict=True)))


def _column_metric(key: str, points: list[tuple[Any, ...]]) -> Metric:
    """One metric's rows (step, timestamp, value, is_nan) in step order -> a
    metric, its history three arrays. Raises TypeError/ValueError for a cell that is not a
    number (the careful path takes over).

    The usual metric (no NaN, no +-inf, steps strictly increasing) costs a few C calls and no
    Python per point: the summary is taken from the columns, as :meth:`Metric.from_history`
    would (the same first minimum, first maximum and last point). The arrays check the cells'
    types; the scans run over the row tuples' own objects, which the arrays would box again
    (80,000 metrics in a 10,000-run store, issue 12), and the records are built by their makers.
    """
    steps, timestamps, values, nans = zip(*points, strict=True)
    column = array("d", values)
    step_col = array("q", steps)
    ts_col = array("q", timestamps)
    low, high = min(values), max(values)
    n = len(column)
    if any(nans) or high >= _DBL_MAX or low <= -_DBL_MAX or n > 1 and not all(map(operator.lt, steps, steps[1:])):
        return Metric.from_history(key, _history(step_col, ts_col, _fix_values(column, nans)))
    return sorted_metric(key, step_col, ts_col, column, values.index(low), values.index(high))


def _name(key: object) -> str:
    return key if type(key) is str else "" if key is None else str(key)


def _run_metrics(sizes: list[tuple[Any, ...]], rows: list[tuple[Any, ...]]) -> list[Metric] | None:
    """One run's metrics from its points (step, timestamp, value, is_nan; ordered by key and
    step) and the (run_uuid, key, count) of each metric, when every one of them is usual (no
    NaN, no +-inf, steps strictly increasing): what :func:`_column_metric` makes of each, with
    one transposition and one array per column for the whole run, the metrics slices of them
    (issue 12). None when any metric is not usual (take them one by one); raises
    TypeError/ValueError for a cell that is not a number."""
    steps, timestamps, values, nans = zip(*rows, strict=True)
    if any(nans):
        return None
    step_col = array("q", steps)
    ts_col = array("q", timestamps)
    column = array("d", values)
    ends = list(accumulate(map(_COUNT, sizes)))
    # where a step is not below the next one: only where the next metric starts
    if not set(compress(count(1), map(operator.ge, steps, steps[1:]))) <= set(ends):
        return None
    out = []
    at = 0
    for group, end in zip(sizes, ends, strict=True):
        part = values[at:end]
        low, high = min(part), max(part)
        if high >= _DBL_MAX or low <= -_DBL_MAX:
            return None
        key = group[1]
        out.append(
            sorted_metric(
                key if type(key) is str else _name(key),
                step_col[at:end],
                ts_col[at:end],
                column[at:end],
                part.index(low),
                part.index(high),
            )
        )
        at = end
    return out


class _Reading:
    def __init__(self, store: Store, path: str, options: ReadOptions, tables: Tables) -> None:
        self.store = store
        self.path = path
        self.options = options
        self.db = tables
        self.base = path.rsplit("/", 1)[0] if "/" in path else ""
        self.links = ModelLinks()
        # resolve_artifact_dir asks only is_dir; _Dirs answers it with fewer stats (same answers)
        self.dirs = cast(Store, _Dirs(store))
        self.deleted_runs: list[str] = []
        # origins and problems through the readers' one helper (issue 8); a database row has
        # no file of its own, so its origin names the table row: '<file>#<table>/<id>'
        self.ctx = ReadContext(store, path, MlflowSqlReader.name)
        self.file_problems: list[tuple[str, str]] = []  # files beside the database (an MLmodel)
        # where a run whose runs row is lost may be found (_recovered_home)
        self.artifact_roots: dict[str, str] = {}
        self.dataset_experiments: dict[str, str | None] = {}

    def origin(self, what: str) -> Origin:
        """The origin of a record read from the row ``what`` (``runs/<id>``, ``tags/<id>/<key>``)."""
        return self.ctx.origin(f"{self.path}#{what}")

    def problems(self) -> Iterator[Problem | Skipped]:
        # the rows' problems first, then the files' (the order they were always yielded in)
        self.db.finish()
        for where, reason in self.db.problems:
            self.ctx.problem(f"{self.path}#{where}", reason)
        self.db.problems.clear()
        for where, reason in self.file_problems:
            self.ctx.problem(where, reason)
        self.file_problems.clear()
        yield from self.ctx.drain()

    def _artifacts(self, artifact_dir: str | None) -> tuple[Artifact, ...]:
        if not artifact_dir:
            return ()
        return tuple(Artifact(p, s, None, join(artifact_dir, p)) for p, s in self.store.walk_files(artifact_dir))

    def _signature(self, artifacts: tuple[Artifact, ...]) -> tuple[Mapping[str, str], str | None]:
        """The signature and input example a model's MLmodel file declares; a bad file is a Problem."""
        signature, example, problem = mlmodel_signature(self.store, artifacts)
        if problem is not None:
            self.file_problems.append(problem)
        return signature, example

    def records(self) -> Iterator[Record]:
        experiments: dict[str, Experiment] = {}
        hidden_experiments = []
        for exp in self._experiments():
            experiments[exp.id] = exp
            if self.options.include_deleted or not exp.deleted:
                yield exp
            else:
                hidden_experiments.append(exp.key)
        datasets = self._datasets()
        by_key: dict[str, Dataset] = {}
        for d in datasets.values():
            by_key.setdefault(d.key, d)
        for key in sorted(by_key):
            yield by_key[key]
        yield from self.problems()
        yield from self._runs(experiments, datasets)
        yield from self.problems()
        yield from self._logged_models(experiments)
        yield from self._traces(experiments)
        yield from self._registry()
        yield from self.problems()
        yield from hidden(self.ctx.origin(self.path), hidden_experiments, self.deleted_runs)

    def _time(self, table: str, row: str, column: str, value: object) -> int | None:
        if bad_int(value):
            self.db.row_problem(table, row, f"{column} {shown(value)} is not an int64 time; shown as unknown")
        return as_int(value)

    def _experiments(self) -> Iterator[Experiment]:
        db = self.db
        experiment_tags: dict[str, dict[str, str]] = defaultdict(dict)
        for exp_id, key, value in db.select("experiment_tags", ["experiment_id", "key", "value"], ident=2):
            experiment_tags[str(exp_id)][str(key)] = _text(value)
        for exp_id, name, stage, created, updated, location in db.select(
            "experiments",
            ["experiment_id", "name", "lifecycle_stage", "creation_time", "last_update_time", "artifact_location"],
            required=["experiment_id"],
            order="experiment_id",
        ):
            eid = str(exp_id)
            if isinstance(location, str) and location:
                self.artifact_roots[eid] = location
            tags = experiment_tags.get(eid, {})
            description = tags.pop(NOTE_TAG, None)
            user_tags, system_tags = split_tags(tags)
            yield Experiment(
                key=f"exp:{eid}",
                id=eid,
                name=as_str(name) or eid,
                origin=self.origin(f"experiments/{eid}"),
                deleted=stage == "deleted",
                created=self._time("experiments", eid, "creation_time", created),
                updated=self._time("experiments", eid, "last_update_time", updated),
                description=description,
                tags=frozen_map(user_tags),
                system_tags=frozen_map(system_tags),
            )

    def _datasets(self) -> dict[str, Dataset]:
        datasets: dict[str, Dataset] = {}
        for uuid, name, digest, source_type, source, schema, profile, exp_id in self.db.select(
            "datasets",
            [
                "dataset_uuid",
                "name",
                "digest",
                "dataset_source_type",
                "dataset_source",
                "dataset_schema",
                "dataset_profile",
                "experiment_id",
            ],
            required=["dataset_uuid"],
            order="dataset_uuid",
        ):
            ds_name = as_str(name) or str(uuid)
            ds_digest = as_str(digest)
            datasets[str(uuid)] = Dataset(
                key=dataset_key(ds_name, ds_digest),
                name=ds_name,
                origin=self.origin(f"datasets/{uuid}"),
                digest=ds_digest,
                source_type=as_str(source_type),
                source=_dataset_source(as_str(source)),
                schema=as_str(schema),
                profile=as_str(profile),
            )
            key = datasets[str(uuid)].key
            home = None if exp_id is None else str(exp_id)
            if self.dataset_experiments.setdefault(key, home) != home:
                self.dataset_experiments[key] = None  # one name and digest in two experiments
        return datasets

    def _run_links(self, datasets: dict[str, Dataset]) -> tuple[dict[str, list[DatasetRef]], dict[str, list[str]]]:
        db = self.db
        input_tags: dict[str, dict[str, str]] = defaultdict(dict)
        for uuid, name, value in db.select("input_tags", ["input_uuid", "name", "value"], ident=2):
            input_tags[str(uuid)][str(name)] = _text(value)
        run_inputs: dict[str, list[DatasetRef]] = defaultdict(list)
        run_outputs: dict[str, list[str]] = defaultdict(list)
        for uuid, source_type, source_id, destination_type, destination_id in db.select(
            "inputs",
            ["input_uuid", "source_type", "source_id", "destination_type", "destination_id"],
            required=["source_type", "source_id", "destination_type", "destination_id"],
            order="input_uuid",
        ):
            if source_type == "DATASET" and destination_type == "RUN":
                ds = datasets.get(str(source_id))
                if ds is None:
                    continue
                itags = dict(input_tags.get(str(uuid), {}))
                context = itags.pop("mlflow.data.context", None)
                run_inputs[str(destination_id)].append(DatasetRef(ds.key, context, frozen_map(itags)))
            elif source_type == "RUN_OUTPUT":
                run_outputs[str(source_id)].append(str(destination_id))
        return run_inputs, run_outputs

    def _runs(self, experiments: dict[str, Experiment], datasets: dict[str, Dataset]) -> Iterator[Record]:
        """Every run, merged in one pass with its rows of the other tables.

        One query per table, each ordered by ``run_uuid`` and streamed (``metrics`` also by
        key and step, the order of ``index_metrics_run_uuid_key_step``): the groups of equal
        ``run_uuid`` are merged like sorted lists, so memory holds one run's rows. A group
        whose run has no row in ``runs`` (its page damaged, or the row deleted by hand) is
        still a run, recovered from what the other tables hold (:meth:`_recovered`).

        A large database is read in units, contiguous ranges of ``run_uuid`` (:func:`_units`),
        each merged as above by its own queries and its own :class:`Tables`; their records,
        Problems and side effects are taken in unit order, so the result does not depend on
        where a unit was read: here, or on the crawl's process pool when ``options.jobs`` > 1
        (decision 12, as the file store's runs).
        """
        db = self.db
        run_inputs, run_outputs = self._run_links(datasets)
        try:
            total = db.conn.execute('SELECT count(*) FROM "runs"').fetchone()[0] if db.has("runs") else 0
        except sqlite3.DatabaseError:
            total = None
        self.options.progress("runs", 0, total)
        units = _units(db, total)
        if len(units) == 1:  # the whole tables, read here (what a small database always was)
            recovered: list[str] = []
            yield from self._merge(db, "", (), experiments, run_inputs, run_outputs, recovered, total)
            if recovered:
                self._report_recovered(recovered, db.damaged("runs"))
            return
        inp = _UnitInput(self, experiments, run_inputs, run_outputs)
        pooled = self._pool(inp, units)
        done = 0
        recovered_all: list[str] = []
        runs_damaged = False
        for unit in units:
            if pooled is not None:
                records, after = cast(tuple[tuple[Record, ...], _UnitEffects], loads(next(pooled)))
                trust(records)  # cleaned in the worker: the crawl does not clean them again
                yield from records
            else:
                effects: list[_UnitEffects] = []
                yield from _unit_records(inp, unit, effects)
                after = effects[0]
            events, links, file_problems, deleted, unit_recovered, damaged, refused, runs = after
            db.replay(events)
            for key, run_id, artifact_path in links:
                self.links.logged_model(key, run_id, artifact_path)
            self.file_problems.extend(file_problems)
            self.deleted_runs.extend(deleted)
            recovered_all.extend(unit_recovered)
            runs_damaged = runs_damaged or damaged
            store_refused = getattr(self.store, "refused", None)
            if isinstance(store_refused, dict):
                for where, reason in refused:
                    store_refused.setdefault(where, reason)
            done += runs
            if total:
                self.options.progress("runs", min(done, total), total)
        if pooled is not None:
            for _ in pooled:  # to its end: the pool is closed and its workers joined
                pass
        if recovered_all:
            self._report_recovered(recovered_all, runs_damaged)

    def _pool(self, inp: _UnitInput, units: list[tuple[str, tuple[object, ...]]]) -> Iterator[bytes] | None:
        """The units read on the crawl's process pool (as the file store's runs), or None: one
        job, or a store a forked worker should not read (remote, or one that prefetches)."""
        jobs = self.options.jobs
        if jobs <= 1 or self.store.local_root() is None or self.store.prefetches:
            return None
        from ..executor import Executor

        return Executor(jobs=jobs).map(_read_unit_pooled, units, context=inp, chunksize=1)

    def _merge(
        self,
        db: Tables,
        where: str,
        args: tuple[object, ...],
        experiments: dict[str, Experiment],
        run_inputs: dict[str, list[DatasetRef]],
        run_outputs: dict[str, list[str]],
        recovered: list[str],
        total: int | None,
    ) -> Iterator[Record]:
        """The runs whose ``run_uuid`` is in ``where`` (all of them: ""), merged with their rows."""
        include_deleted = self.options.include_deleted
        kw: dict[str, Any] = {"where": where, "args": args}
        runs = _ByRun(_by_run(db.select("runs", _RUN_COLUMNS, required=["run_uuid"], order="run_uuid", **kw)), "runs")
        tags = _ByRun(_by_run(db.select("tags", _KV, required=_KV[:2], order="run_uuid", ident=2, **kw)), "tags")
        params = _ByRun(_by_run(db.select("params", _KV, required=_KV[:2], order="run_uuid", ident=2, **kw)), "params")
        metrics: _ByRun
        if self.options.history:
            # what index_metrics_run_uuid_key_step gives without a sort; ties are sorted per metric.
            # A run's points come at once, without their run_uuid and key (Tables.blocks).
            metric_blocks = db.blocks(
                "metrics", _METRIC_KEYS, _POINT_COLUMNS, order=_METRIC_ORDER, required=_METRIC_REQUIRED, ident=2, **kw
            )
            metrics = _ByRun(metric_blocks, "metrics", size=_points)
        else:
            metric_rows = db.select(
                "latest_metrics", _LATEST_COLUMNS, required=_METRIC_REQUIRED, order="run_uuid", ident=2, **kw
            )
            metrics = _ByRun(_by_run(metric_rows), "latest_metrics")
        streams = (runs, tags, params, metrics)
        done = 0
        while True:
            heads = [s.key for s in streams if s.live]
            if not heads:
                break
            # all text (the usual case): Python's order is SQLite's (BINARY on UTF-8 is code points)
            uuid = min(cast(list[str], heads)) if all(type(h) is str for h in heads) else min(heads, key=sql_order)
            run_rows = runs.take(uuid)
            tag_rows, param_rows, metric_group = tags.take(uuid), params.take(uuid), metrics.take(uuid)
            if not (run_rows or tag_rows or param_rows or metric_group):
                for s in streams:  # a key equal to nothing, not even itself: never stall on it
                    if s.live and s.key is uuid:
                        s.skip()
                continue
            run_id = str(uuid)
            lost_row = not run_rows
            if lost_row:
                recovered.append(run_id)
                run_rows = [(uuid, None, RunStatus.UNKNOWN.value, *(None,) * (len(_RUN_COLUMNS) - 3))]
            for row in run_rows:
                done += 1
                if total and (done % 200 == 0 or done == total):
                    self.options.progress("runs", done, total)
                try:
                    yield from self._run(
                        row,
                        experiments,
                        run_inputs,
                        run_outputs,
                        include_deleted,
                        (tag_rows, param_rows, metric_group),
                        recovered=lost_row,
                    )
                except (ValueError, TypeError, OverflowError) as exc:  # one run, never the database
                    db.row_problem("runs", run_id, f"run skipped: {exc}")
        for s in streams:
            for key, n in s.late:
                db.row_problem(
                    s.table,
                    str(key),
                    f"{n} rows come after their run in the table's order (a collation this reader does not"
                    " know); not shown",
                )

    def _report_recovered(self, recovered: list[str], damaged: bool) -> None:
        shown_ids = ", ".join(recovered[:3]) + (f" and {len(recovered) - 3} more" if len(recovered) > 3 else "")
        damage = "its rows unreadable" if damaged else "no row for them"
        n = len(recovered)
        self.db.problem(
            "runs",
            f"table 'runs' has {damage}: {n} run{'s' if n > 1 else ''} ({shown_ids}) recovered from"
            " their params, metrics and tags, without status, times or user (the experiment and"
            " artifacts found by their folder where it exists)",
        )

    def _run(
        self,
        row: tuple[Any, ...],
        experiments: dict[str, Experiment],
        run_inputs: dict[str, list[DatasetRef]],
        run_outputs: dict[str, list[str]],
        include_deleted: bool,
        rows: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[Any]],
        recovered: bool = False,
    ) -> Iterator[Record]:
        uuid, name, status, start, end, user_id, stage, uri, exp_id = row
        run_id = str(uuid)
        if recovered:
            exp_id, uri = self._recovered_home(run_id, experiments, run_inputs)
        run_exp = experiments.get(str(exp_id))
        deleted = stage == "deleted" or (run_exp is not None and run_exp.deleted)
        if deleted and not include_deleted:
            self.deleted_runs.append(run_id)
            return
        tag_rows, param_rows, metric_rows = rows
        run_tags = _key_values(tag_rows)
        params = _key_values(param_rows)
        metrics = self._metrics(run_id, metric_rows) if self.options.history else self._latest(run_id, metric_rows)
        artifact_uri = as_str(uri)
        artifact_dir = resolve_artifact_dir(self.dirs, artifact_uri, [self.base], run_id)
        artifacts = self._artifacts(artifact_dir)
        model_keys = list(run_outputs.get(run_id, []))
        for entry in parse_log_model_history(run_tags.get(LOG_MODEL_HISTORY_TAG)):
            artifact_path = str(entry.get("artifact_path") or "model")
            key = str(entry.get("model_uuid") or f"{run_id}/{artifact_path}")
            if key in model_keys:
                continue
            model_keys.append(key)
            self.links.logged_model(key, run_id, artifact_path)
            prefix = artifact_path.rstrip("/") + "/"
            model_files = tuple(replace(a, path=a.path[len(prefix) :]) for a in artifacts if a.path.startswith(prefix))
            signature, example = self._signature(model_files)
            yield LoggedModel(
                key=key,
                id=key,
                name=artifact_path,
                origin=self.origin(f"tags/{run_id}/{LOG_MODEL_HISTORY_TAG}"),
                experiment_key=run_exp.key if run_exp else None,
                run_key=run_id,
                status="READY",
                model_type=_flavors(entry),
                created=iso_ms(entry.get("utc_time_created")),  # MLmodel's own time, UTC
                artifacts=model_files,
                signature=signature,
                input_example=example,
            )
        user_tags, system_tags = split_tags(run_tags)
        yield Run(
            key=run_id,
            id=run_id,
            name=as_str(name) or run_tags.get(RUN_NAME_TAG) or run_id,
            origin=self.origin(f"runs/{run_id}"),
            experiment_key=run_exp.key if run_exp else None,
            status=parse_status(status),
            start_time=self._time("runs", run_id, "start_time", start),
            end_time=self._time("runs", run_id, "end_time", end),
            user=run_user(as_str(user_id), run_tags),
            description=run_tags.get(NOTE_TAG),
            params=frozen_map(params),
            tags=frozen_map(user_tags),
            system_tags=frozen_map(system_tags),
            metrics=metrics,
            parent_key=run_tags.get(PARENT_TAG),
            inputs=tuple(sorted(run_inputs.get(run_id, []), key=lambda r: (r.dataset_key, r.context or ""))),
            output_model_keys=tuple(model_keys),
            artifacts=artifacts,
            artifact_uri=artifact_uri,
            git=git_info(run_tags),
            source_name=run_tags.get(SOURCE_NAME_TAG),
            deleted=deleted,
        )

    def _metrics(self, run_id: str, block: Any) -> tuple[Metric, ...]:
        """One run's metrics (``Tables.blocks``: their counts, and their points ordered by key and
        step), ordered by key, a column array each."""
        if not block:  # _ByRun.take: the run has no metrics
            return ()
        sizes, rows = block
        try:
            fast = _run_metrics(sizes, rows)
        except (TypeError, ValueError, OverflowError):
            fast = None
        metrics: list[Metric] = []
        if fast is not None:
            metrics = fast
        else:
            at = 0
            for _run, key, n in sizes:
                points = rows[at : at + n]
                at += n
                name = _name(key)
                metric: Metric | None
                try:
                    metric = _column_metric(name, points)
                except (TypeError, ValueError, OverflowError):
                    history = self._careful("metrics", run_id, key, points)
                    metric = None if history is None else Metric.from_history(name, history)
                if metric is not None:
                    metrics.append(metric)
        if len(metrics) > 1 and any(a.key >= b.key for a, b in zip(metrics, metrics[1:], strict=False)):
            merged: dict[str, Metric] = {}
            for m in metrics:
                merged.setdefault(m.key, m)
            metrics = [merged[k] for k in sorted(merged)]
        return tuple(metrics)

    def _careful(self, table: str, run_id: str, key: object, rows: Sequence[tuple[Any, ...]]) -> MetricHistory | None:
        """One metric point at a time: a bad cell costs its point and a Problem."""
        points: list[tuple[int, int, float]] = []
        for row in rows:
            step, ts, value, is_nan = row
            try:
                point_step = 0 if step is None else as_int(step)
                if point_step is None:
                    raise ValueError(f"step {shown(step)} is not an int64")
                point_ts = -1 if ts is None else as_int(ts)
                if point_ts is None:
                    raise ValueError(f"timestamp {shown(ts)} is not an int64")
                points.append((point_step, point_ts, _metric_value(value, is_nan)))
            except (TypeError, ValueError, OverflowError) as exc:
                self.db.row_problem(table, f"{run_id}/{key}", f"point skipped: {exc}")
        return MetricHistory.from_points(points) if points else None

    def _latest(self, run_id: str, rows: list[tuple[Any, ...]]) -> tuple[Metric, ...]:
        out: dict[str, Metric] = {}
        for _run, key, value, ts, step, is_nan in rows:
            try:
                point_step = 0 if step is None else as_int(step)
                if point_step is None:
                    raise ValueError(f"step {shown(step)} is not an int64")
                out[str(key)] = Metric.single(str(key), _metric_value(value, is_nan), point_step, as_int(ts))
            except (TypeError, ValueError, OverflowError) as exc:
                self.db.row_problem("latest_metrics", f"{run_id}/{key}", f"value skipped: {exc}")
        return tuple(out[k] for k in sorted(out))

    def _recovered_home(
        self, run_id: str, experiments: dict[str, Experiment], run_inputs: dict[str, list[DatasetRef]]
    ) -> tuple[object, str | None]:
        """The experiment and artifact URI of a run whose ``runs`` row is lost: the experiment
        whose artifact root holds a folder named after the run (MLflow's layout,
        ``<artifact_location>/<run_id>/artifacts``), else the one of the datasets it used."""
        for exp_id, location in sorted(self.artifact_roots.items()):
            uri = f"{location.rstrip('/')}/{run_id}/artifacts"
            if resolve_artifact_dir(self.dirs, uri, [self.base], run_id) is not None:
                return exp_id, uri
        homes = {self.dataset_experiments.get(ref.dataset_key) for ref in run_inputs.get(run_id, [])} - {None}
        if len(homes) == 1 and (home := homes.pop()) in experiments:
            return home, None
        return None, None

    def _owned(self, table: str, owner: str, key: str, value: str) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = defaultdict(dict)
        for who, k, v in self.db.select(table, [owner, key, value], required=[owner, key], ident=2):
            out[str(who)][str(k)] = _text(v)
        return out

    def _logged_models(self, experiments: dict[str, Experiment]) -> Iterator[Record]:
        db = self.db
        params = self._owned("logged_model_params", "model_id", "param_key", "param_value")
        tags = self._owned("logged_model_tags", "model_id", "tag_key", "tag_value")
        metric_rows: dict[str, list[tuple[str, tuple[Any, ...]]]] = defaultdict(list)
        for model_id, name, ts, step, value in db.select(
            "logged_model_metrics",
            ["model_id", "metric_name", "metric_timestamp_ms", "metric_step", "metric_value"],
            required=["model_id", "metric_name", "metric_value"],
            ident=2,
        ):
            metric_rows[str(model_id)].append((str(name), (step, ts, value, False)))
        for row in db.select(
            "logged_models",
            [
                "model_id",
                "experiment_id",
                "name",
                "artifact_location",
                "creation_timestamp_ms",
                "last_updated_timestamp_ms",
                "status",
                "lifecycle_stage",
                "model_type",
                "source_run_id",
            ],
            required=["model_id"],
            order="model_id",
        ):
            mid, exp_id, name, uri, created, updated, status, stage, model_type, source_run = row
            model_id = str(mid)
            if stage == "deleted" and not self.options.include_deleted:
                continue
            by_key: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
            for metric_name, point in metric_rows.get(model_id, []):
                by_key[metric_name].append(point)
            metrics = []
            for k in sorted(by_key):
                history = self._careful("logged_model_metrics", model_id, k, by_key[k])
                if history is not None:
                    metrics.append(Metric.from_history(k, history))
            exp = experiments.get(str(exp_id))
            artifact_uri = as_str(uri)
            artifact_dir = resolve_artifact_dir(self.dirs, artifact_uri, [self.base], model_id)
            model_files = self._artifacts(artifact_dir)
            signature, example = self._signature(model_files)
            user_tags, system_tags = split_tags(tags.get(model_id, {}))
            yield LoggedModel(
                key=model_id,
                id=model_id,
                name=as_str(name) or model_id,
                origin=self.origin(f"logged_models/{model_id}"),
                experiment_key=exp.key if exp else None,
                run_key=self._remember(model_id, as_str(source_run)),
                status=LOGGED_MODEL_STATUS.get(status, str(status)) if isinstance(status, int) else as_str(status),
                created=self._time("logged_models", model_id, "creation_timestamp_ms", created),
                updated=self._time("logged_models", model_id, "last_updated_timestamp_ms", updated),
                model_type=as_str(model_type),
                params=frozen_map(params.get(model_id, {})),
                tags=frozen_map(user_tags),
                system_tags=frozen_map(system_tags),
                metrics=tuple(metrics),
                artifacts=model_files,
                artifact_uri=artifact_uri,
                signature=signature,
                input_example=example,
            )

    def _traces(self, experiments: dict[str, Experiment]) -> Iterator[Trace]:
        metadata = self._owned("trace_request_metadata", "request_id", "key", "value")
        tags = self._owned("trace_tags", "request_id", "key", "value")
        for row in self.db.select(
            "trace_info",
            [
                "request_id",
                "experiment_id",
                "timestamp_ms",
                "execution_time_ms",
                "status",
                "request_preview",
                "response_preview",
                "trace_name",
            ],
            required=["request_id"],
            order="request_id",
        ):
            rid, exp_id, ts, duration, status, request, response, trace_name = row
            trace_id = str(rid)
            exp = experiments.get(str(exp_id))
            if exp is not None and exp.deleted and not self.options.include_deleted:
                continue
            meta = metadata.get(trace_id, {})
            trace_tags = tags.get(trace_id, {})
            yield Trace(
                key=trace_id,
                id=trace_id,
                origin=self.origin(f"trace_info/{trace_id}"),
                experiment_key=exp.key if exp else None,
                name=as_str(trace_name) or trace_tags.get(TRACE_NAME_TAG),
                status=as_str(status),
                request_time=self._time("trace_info", trace_id, "timestamp_ms", ts),
                duration_ms=as_int(duration),
                request_preview=as_str(request),
                response_preview=as_str(response),
                run_key=meta.get(TRACE_RUN_METADATA),
                metadata=frozen_map(meta),
                tags=frozen_map(trace_tags),
            )

    def _remember(self, model_id: str, run_id: str | None) -> str | None:
        self.links.logged_model(model_id, run_id)
        return run_id

    def _registry(self) -> Iterator[Record]:
        db = self.db
        model_tags = self._owned("registered_model_tags", "name", "key", "value")
        aliases: dict[str, dict[str, str]] = defaultdict(dict)
        for name, alias, version in db.select(
            "registered_model_aliases", ["name", "alias", "version"], required=["name", "alias"], ident=2
        ):
            aliases[str(name)][str(alias)] = str(version)
        for name, created, updated, description in db.select(
            "registered_models",
            ["name", "creation_time", "last_updated_time", "description"],
            required=["name"],
            order="name",
        ):
            model = str(name)
            user_tags, system_tags = split_tags(model_tags.get(model, {}))
            yield RegisteredModel(
                name=model,
                origin=self.origin(f"registered_models/{model}"),
                description=as_str(description),
                created=self._time("registered_models", model, "creation_time", created),
                updated=self._time("registered_models", model, "last_updated_time", updated),
                tags=frozen_map(user_tags),
                system_tags=frozen_map(system_tags),
                aliases=frozen_map(aliases.get(model, {})),
            )
        version_tags: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        for name, version, key, value in db.select(
            "model_version_tags", ["name", "version", "key", "value"], required=["name", "version", "key"], ident=3
        ):
            version_tags[(str(name), str(version))][str(key)] = _text(value)
        for row in db.select(
            "model_versions",
            [
                "name",
                "version",
                "creation_time",
                "last_updated_time",
                "description",
                "user_id",
                "current_stage",
                "source",
                "run_id",
                "status",
            ],
            required=["name", "version"],
            order="name, version",
            ident=2,
        ):
            name, version, created, updated, description, user_id, current_stage, source, run_id, status = row
            stage = as_str(current_stage)
            if stage == "Deleted_Internal":
                continue
            model, ver = str(name), str(version)
            where = f"{model}/{ver}"
            source_text = as_str(source)
            run_key, model_key = self.links.version(as_str(run_id), logged_model_from_source(source_text), source_text)
            vtags, vsystem = split_tags(version_tags.get((model, ver), {}))
            yield ModelVersion(
                model=model,
                version=ver,
                origin=self.origin(f"model_versions/{where}"),
                stage=None if stage in (None, "None") else stage,
                aliases=tuple(sorted(a for a, v in aliases.get(model, {}).items() if v == ver)),
                status=as_str(status),
                description=as_str(description),
                created=self._time("model_versions", where, "creation_time", created),
                updated=self._time("model_versions", where, "last_updated_time", updated),
                user=as_str(user_id),
                source=source_text,
                run_key=run_key,
                logged_model_key=model_key,
                tags=frozen_map(vtags),
                system_tags=frozen_map(vsystem),
            )


_RUN_COLUMNS = [
    "run_uuid",
    "name",
    "status",
    "start_time",
    "end_time",
    "user_id",
    "lifecycle_stage",
    "artifact_uri",
    "experiment_id",
]
_KV = ["run_uuid", "key", "value"]
_METRIC_KEYS = ["run_uuid", "key"]
_POINT_COLUMNS = ["step", "timestamp", "value", "is_nan"]
_LATEST_COLUMNS = ["run_uuid", "key", "value", "timestamp", "step", "is_nan"]
_METRIC_REQUIRED = ["run_uuid", "key", "value"]
_METRIC_ORDER = 'run_uuid, "key", step'
_RUN = itemgetter(0)
_COUNT = itemgetter(2)


#: A database with more runs than this is read in units of this many runs (contiguous ranges of
#: ``run_uuid``), on the crawl's process pool when it has more than one job; a smaller one is
#: read whole, by one query per table.
UNIT_RUNS = 1000
_RUN_TABLES = ("runs", "tags", "params", "metrics", "latest_metrics")
_UUID = '"run_uuid"'

Unit = tuple[str, tuple[object, ...]]  # a WHERE clause on run_uuid and its arguments


def _units(db: Tables, total: int | None) -> list[Unit]:
    """The ranges of ``run_uuid`` a database is read in, by SQLite's own comparisons, so that
    every row of every table is in exactly one: ``IS NULL``, ``< b1``, ``>= b1 AND < b2``, ...,
    ``>= bn``, the bounds every :data:`UNIT_RUNS`-th run. The whole tables (one unit) for a
    small database, and wherever the tables might order or compare ``run_uuid`` unlike each
    other (a declared collation, a column that is not text: their merge is one pass), or the
    runs' ids cannot be read."""
    whole: list[Unit] = [("", ())]
    if not total or total <= UNIT_RUNS or not db.has("runs"):
        return whole
    try:
        for table in _RUN_TABLES:
            if table not in db.tables:
                continue
            row = db.conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name = ?", (table,)).fetchone()
            if row is None or not isinstance(row[0], str) or "collate" in row[0].lower():
                return whole
            kinds = {r[1]: str(r[2]).upper() for r in db.conn.execute(f'PRAGMA table_info("{table}")')}
            if not any(t in kinds.get("run_uuid", "") for t in ("CHAR", "CLOB", "TEXT")):
                return whole
        uuids = [r[0] for r in db.conn.execute(f'SELECT {_UUID} FROM "runs" ORDER BY {_UUID}')]
    except sqlite3.Error:
        return whole
    bounds = [u for u in uuids[UNIT_RUNS::UNIT_RUNS] if type(u) is str]
    if not bounds or any(a >= b for a, b in zip(bounds, bounds[1:], strict=False)):
        return whole
    units: list[Unit] = [(f"{_UUID} IS NULL", ()), (f"{_UUID} < ?", (bounds[0],))]
    units += [(f"{_UUID} >= ? AND {_UUID} < ?", (a, b)) for a, b in zip(bounds, bounds[1:], strict=False)]
    units.append((f"{_UUID} >= ?", (bounds[-1],)))
    return units


@dataclass(frozen=True)
class _UnitInput:
    """What reading a unit needs (inherited by a forked worker, as the file store's units)."""

    reading: _Reading
    experiments: dict[str, Experiment]
    run_inputs: dict[str, list[DatasetRef]]
    run_outputs: dict[str, list[str]]


# what reading a unit leaves to take, besides its records: problem events, logged-model links,
# file problems, deleted runs, recovered runs, whether the runs table was damaged, the store's
# refusals, runs read
_UnitEffects = tuple[
    tuple[tuple[str, str, str, str], ...],
    tuple[tuple[str, str | None, str | None], ...],
    tuple[tuple[str, str], ...],
    tuple[str, ...],
    tuple[str, ...],
    bool,
    tuple[tuple[str, str], ...],
    int,
]


class _Links:
    """ModelLinks.logged_model's calls, kept for the reader that takes the unit's records."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, str | None]] = []

    def logged_model(self, key: str, run_id: str | None, artifact_path: str | None = None) -> None:
        self.calls.append((key, run_id, artifact_path))


def _unit_records(inp: _UnitInput, unit: Unit, after: list[_UnitEffects]) -> Iterator[Record]:
    """One unit's runs, merged by its own queries and its own Tables (a connection of its own),
    streamed; what reading them left to take (its Problems, links ...) is put in ``after``."""
    where, args = unit
    parent = inp.reading
    db = parent.db.unit()
    reading = copy.copy(parent)
    links = _Links()
    reading.db, reading.links = db, cast(ModelLinks, links)
    reading.options = replace(parent.options, progress=_no_progress)
    reading.deleted_runs, reading.file_problems = [], []
    recovered: list[str] = []
    runs = 0
    try:
        for record in reading._merge(
            db, where, args, inp.experiments, inp.run_inputs, inp.run_outputs, recovered, None
        ):
            runs += type(record) is Run
            yield record
        damaged = db.damaged("runs")
    finally:
        db.close()
    refused = getattr(parent.store, "refused", None)
    after.append(
        (
            tuple(db.events or ()),
            tuple(links.calls),
            tuple(reading.file_problems),
            tuple(reading.deleted_runs),
            tuple(recovered),
            damaged,
            tuple(refused.items()) if isinstance(refused, dict) else (),
            runs + len(reading.deleted_runs),
        )
    )


def _read_unit_pooled(inp: _UnitInput, unit: Unit) -> bytes:
    """:func:`_read_unit` in a crawl worker: its records cleaned as the crawl cleans them (the
    parent only loads them), all of it as bytes."""
    from ..crawl import clean_record  # the crawl imports the readers

    after: list[_UnitEffects] = []
    records = tuple(_unit_records(inp, unit, after))
    return dumps((clean_record(records), after[0]))


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


class _Dirs:
    """``store.is_dir`` that first checks each parent folder once (remembered).

    An artifact URI written on another machine (``file:///home/x/mlruns/1/<run>/artifacts``)
    is tried suffix by suffix (``home/x/...``, ``x/...``, ``mlruns/...``), at each of which the
    store checks every component of the path: about 40 ``lstat`` calls a run, for folders that
    do not exist. A path whose parent is not a folder is not one either, so the answer is the
    same, and a refused link is refused (and recorded by the store) under its own name either way.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._known: dict[str, bool] = {}

    def is_dir(self, path: str) -> bool:
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            known = self._known.get(parent)
            if known is None:
                known = self._known[parent] = self._store.is_dir(parent)
            if not known:
                return False
        return self._store.is_dir(path)


def _by_run(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[object, list[tuple[Any, ...]]]]:
    """Rows ordered by ``run_uuid`` (their first column) as (run_uuid, its rows)."""
    for uuid, group in groupby(rows, key=_RUN):
        yield uuid, list(group)


def _points(block: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]) -> int:
    return len(block[1])


class _ByRun:
    """One table's groups of rows, ordered by ``run_uuid``, taken a run at a time.

    ``take`` is called with the keys of a merge in SQLite's order; a group whose key the merge
    has passed already (a table ordered by another collation) is counted in ``late``, in
    rows (``size`` of a group).
    """

    def __init__(self, groups: Iterator[tuple[object, Any]], table: str, size: Callable[[Any], int] = len) -> None:
        self.table = table
        self._groups = groups
        self._size = size
        self.late: list[tuple[object, int]] = []
        self._passed: set[object] = set()
        self.key: object = None
        self.live = True
        self._rows: list[Any] = []
        self._next()

    def _next(self) -> None:
        for key, rows in self._groups:
            if key in self._passed:
                self.late.append((key, self._size(rows)))
                continue
            self.key, self._rows = key, rows
            return
        self.live, self.key, self._rows = False, None, []

    def skip(self) -> None:
        self.late.append((self.key, self._size(self._rows)))
        self._next()

    def take(self, key: object) -> list[Any]:
        """The rows of run ``key`` (none if this table has none); the merge has passed it after."""
        self._passed.add(key)
        if not self.live or self.key != key or type(self.key) is not type(key):
            return []
        rows = self._rows
        self._next()
        return rows


def _key_values(rows: Sequence[tuple[Any, ...]]) -> dict[str, str]:
    """(run_uuid, key, value) rows as a dict, text as :func:`_text` makes it."""
    return {k if type(k) is str else str(k): v if type(v) is str else _text(v) for _run, k, v in rows}


def _text(value: object) -> str:
    """A cell as text: NULL is empty; numbers and blobs (which a TEXT column may hold) as text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
