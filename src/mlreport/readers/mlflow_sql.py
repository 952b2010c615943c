"""MLflow SQLite backend (``mlflow.db``), opened read-only, without the ``mlflow`` package.

Schema notes: FORMATS.md §1.6. Columns differ between MLflow versions, so every query is built
from the columns that ``PRAGMA table_info`` reports, and tables that an older schema lacks
(datasets, logged models, aliases) are simply absent from the result. How the file is opened
and the fault boundary per table and row: :mod:`._sqlite`.

Runs are read one at a time in ``run_uuid`` order, each with its own ordered metric query, and
histories are built column-wise (one ``zip`` per run, one array per column), so memory holds
one run's rows, not the metrics table.
"""

from __future__ import annotations

import logging
import math
import operator
import sqlite3
from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

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
    Trace,
    frozen_map,
)
from ..stores import Store, join
from . import ReadOptions
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
from ._sqlite import ChangingDatabase, Tables, open_snapshot
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
    "experiments": frozenset({"creation_time", "last_update_time"}),
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


class _Reading:
    def __init__(self, store: Store, path: str, options: ReadOptions, tables: Tables) -> None:
        self.store = store
        self.path = path
        self.options = options
        self.db = tables
        self.base = path.rsplit("/", 1)[0] if "/" in path else ""
        self.links = ModelLinks()
        self.deleted_runs: list[str] = []
        self.file_problems: list[Problem] = []  # files beside the database (an MLmodel)

    def origin(self, what: str) -> Origin:
        # Records in a database have no file of their own: name the table row instead.
        return Origin(self.store.url, f"{self.path}#{what}", MlflowSqlReader.name)

    def problems(self) -> Iterator[Problem]:
        self.db.finish()
        for where, reason in self.db.problems:
            yield Problem(self.origin(where), reason)
        self.db.problems.clear()
        yield from self.file_problems
        self.file_problems.clear()

    def _artifacts(self, artifact_dir: str | None) -> tuple[Artifact, ...]:
        if not artifact_dir:
            return ()
        return tuple(Artifact(p, s, None, join(artifact_dir, p)) for p, s in self.store.walk_files(artifact_dir))

    def _signature(self, artifacts: tuple[Artifact, ...]) -> tuple[Mapping[str, str], str | None]:
        """The signature and input example a model's MLmodel file declares; a bad file is a Problem."""
        signature, example, problem = mlmodel_signature(self.store, artifacts)
        if problem is not None:
            self.file_problems.append(Problem(Origin(self.store.url, problem[0], MlflowSqlReader.name), problem[1]))
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
        yield from hidden(
            Origin(self.store.url, self.path, MlflowSqlReader.name), hidden_experiments, self.deleted_runs
        )

    def _time(self, table: str, row: str, column: str, value: object) -> int | None:
        if bad_int(value):
            self.db.row_problem(table, row, f"{column} {shown(value)} is not an int64 time; shown as unknown")
        return as_int(value)

    def _experiments(self) -> Iterator[Experiment]:
        db = self.db
        experiment_tags: dict[str, dict[str, str]] = defaultdict(dict)
        for exp_id, key, value in db.select("experiment_tags", ["experiment_id", "key", "value"], ident=2):
            experiment_tags[str(exp_id)][str(key)] = _text(value)
        for exp_id, name, stage, created, updated in db.select(
            "experiments",
            ["experiment_id", "name", "lifecycle_stage", "creation_time", "last_update_time"],
            required=["experiment_id"],
            order="experiment_id",
        ):
            eid = str(exp_id)
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
        for uuid, name, digest, source_type, source, schema, profile in self.db.select(
            "datasets",
            [
                "dataset_uuid",
                "name",
                "digest",
                "dataset_source_type",
                "dataset_source",
                "dataset_schema",
                "dataset_profile",
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
        db = self.db
        include_deleted = self.options.include_deleted
        run_inputs, run_outputs = self._run_links(datasets)
        try:
            total = db.conn.execute('SELECT count(*) FROM "runs"').fetchone()[0] if db.has("runs") else 0
        except sqlite3.DatabaseError:
            total = None
        self.options.progress("runs", 0, total)
        done = 0
        for row in db.select(
            "runs",
            [
                "run_uuid",
                "name",
                "status",
                "start_time",
                "end_time",
                "user_id",
                "lifecycle_stage",
                "artifact_uri",
                "experiment_id",
            ],
            required=["run_uuid"],
            order="run_uuid",
        ):
            done += 1
            if total and (done % 200 == 0 or done == total):
                self.options.progress("runs", done, total)
            try:
                yield from self._run(row, experiments, run_inputs, run_outputs, include_deleted)
            except (ValueError, TypeError, OverflowError) as exc:  # one run, never the database
                db.row_problem("runs", str(row[0]), f"run skipped: {exc}")

    def _run(
        self,
        row: tuple[Any, ...],
        experiments: dict[str, Experiment],
        run_inputs: dict[str, list[DatasetRef]],
        run_outputs: dict[str, list[str]],
        include_deleted: bool,
    ) -> Iterator[Record]:
        uuid, name, status, start, end, user_id, stage, uri, exp_id = row
        run_id = str(uuid)
        run_exp = experiments.get(str(exp_id))
        deleted = stage == "deleted" or (run_exp is not None and run_exp.deleted)
        if deleted and not include_deleted:
            self.deleted_runs.append(run_id)
            return
        run_tags = self._key_values("tags", run_id)
        params = self._key_values("params", run_id)
        metrics = self._metrics(run_id) if self.options.history else self._latest(run_id)
        artifact_uri = as_str(uri)
        artifact_dir = resolve_artifact_dir(self.store, artifact_uri, [self.base], run_id)
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

    def _key_values(self, table: str, run_id: str) -> dict[str, str]:
        return {
            str(key): _text(value)
            for _run, key, value in self.db.rows(
                table,
                ["run_uuid", "key", "value"],
                required=["run_uuid", "key"],
                where="run_uuid = ?",
                args=(run_id,),
                ident=2,
            )
        }

    def _metrics(self, run_id: str) -> tuple[Metric, ...]:
        rows = self.db.rows(
            "metrics",
            ["run_uuid", "key", "step", "timestamp", "value", "is_nan"],
            required=["run_uuid", "key", "value"],
            where="run_uuid = ?",
            args=(run_id,),
            # what index_metrics_run_uuid_key_step gives without a sort; ties are sorted below
            order='"key", step',
            ident=2,
        )
        if not rows:
            return ()
        _runs, keys, steps, timestamps, values, nans = zip(*rows, strict=True)
        if keys[0] is None or not all(isinstance(k, str) for k in (keys[0], keys[-1])):
            keys = tuple("" if k is None else str(k) for k in keys)
        metrics = []
        start = 0
        n = len(keys)
        while start < n:
            key = keys[start]
            end = bisect_right(keys, key, start)
            if end <= start:  # keys not in order (mixed types): take the run of equal keys
                end = start + 1
                while end < n and keys[end] == key:
                    end += 1
            history: MetricHistory | None
            try:
                column = _fix_values(values[start:end], nans[start:end])
                history = _history(steps[start:end], timestamps[start:end], column)
            except (TypeError, ValueError, OverflowError):
                history = self._careful("metrics", run_id, key, rows[start:end])
            if history is not None:
                metrics.append(Metric.from_history(str(key), history))
            start = end
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
            _run, _key, step, ts, value, is_nan = row
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

    def _latest(self, run_id: str) -> tuple[Metric, ...]:
        out: dict[str, Metric] = {}
        for _run, key, value, ts, step, is_nan in self.db.select(
            "latest_metrics",
            ["run_uuid", "key", "value", "timestamp", "step", "is_nan"],
            required=["run_uuid", "key", "value"],
            where="run_uuid = ?",
            args=(run_id,),
            ident=2,
        ):
            try:
                point_step = 0 if step is None else as_int(step)
                if point_step is None:
                    raise ValueError(f"step {shown(step)} is not an int64")
                out[str(key)] = Metric.single(str(key), _metric_value(value, is_nan), point_step, as_int(ts))
            except (TypeError, ValueError, OverflowError) as exc:
                self.db.row_problem("latest_metrics", f"{run_id}/{key}", f"value skipped: {exc}")
        return tuple(out[k] for k in sorted(out))

    def _owned(self, table: str, owner: str, key: str, value: str) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = defaultdict(dict)
        for who, k, v in self.db.select(table, [owner, key, value], required=[owner, key], ident=2):
            out[str(who)][str(k)] = _text(v)
        return out

    def _logged_models(self, experiments: dict[str, Experiment]) -> Iterator[Record]:
        db = self.db
        params = self._owned("logged_model_params", "model_id", "param_key", "param_value")
        tags = self._owned("logged_model_tags", "model_id", "tag_key", "tag_value")
        metric_rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for model_id, name, ts, step, value in db.select(
            "logged_model_metrics",
            ["model_id", "metric_name", "metric_timestamp_ms", "metric_step", "metric_value"],
            required=["model_id", "metric_name", "metric_value"],
            ident=2,
        ):
            metric_rows[str(model_id)].append((model_id, name, step, ts, value, False))
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
            for r in metric_rows.get(model_id, []):
                by_key[str(r[1])].append(r)
            metrics = []
            for k in sorted(by_key):
                history = self._careful("logged_model_metrics", model_id, k, by_key[k])
                if history is not None:
                    metrics.append(Metric.from_history(k, history))
            exp = experiments.get(str(exp_id))
            artifact_uri = as_str(uri)
            artifact_dir = resolve_artifact_dir(self.store, artifact_uri, [self.base], model_id)
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


def _text(value: object) -> str:
    """A cell as text: NULL is empty; numbers and blobs (which a TEXT column may hold) as text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
