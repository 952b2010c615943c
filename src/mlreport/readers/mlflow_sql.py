"""MLflow SQLite backend (``mlflow.db``), opened read-only, without the ``mlflow`` package.

Schema notes: FORMATS.md §1.6. Columns differ between MLflow versions, so every query is built
from the columns that ``PRAGMA table_info`` reports, and tables that an older schema lacks
(datasets, logged models, aliases) are simply absent from the result.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

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
    frozen_map,
)
from ..stores import Store
from . import ReadOptions
from ._mlflow import (
    LOG_MODEL_HISTORY_TAG,
    LOGGED_MODEL_STATUS,
    NOTE_TAG,
    PARENT_TAG,
    RUN_NAME_TAG,
    SOURCE_NAME_TAG,
    as_int,
    as_str,
    git_info,
    parse_log_model_history,
    parse_status,
    resolve_artifact_dir,
    run_user,
)
from .mlflow_file import _dataset_source, _flavors, dataset_key, logged_model_from_source

log = logging.getLogger("mlreport.readers.mlflow_sql")

_SQLITE_MAGIC = b"SQLite format 3\x00"
# MLflow writes +-inf as +-DBL_MAX in the metrics tables (FORMATS.md §1.6).
_DBL_MAX = 1.7976931348623157e308


@contextlib.contextmanager
def open_readonly(path: Path) -> Iterator[sqlite3.Connection]:
    """Open a SQLite file so that nothing next to it is created or changed.

    ``immutable=1`` takes no locks and never creates ``-wal``/``-shm`` files; when a ``-wal``
    file exists its content would be ignored that way, so then plain read-only mode is used.
    """
    uri_path = quote(str(path.resolve()))
    wal = path.with_name(path.name + "-wal")
    mode = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    conn = sqlite3.connect(f"file:{uri_path}?{mode}", uri=True)
    try:
        yield conn
    finally:
        conn.close()


class _Db:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        self._columns: dict[str, set[str]] = {}

    def columns(self, table: str) -> set[str]:
        if table not in self._columns:
            self._columns[table] = (
                {r[1] for r in self.conn.execute(f'PRAGMA table_info("{table}")')} if table in self.tables else set()
            )
        return self._columns[table]

    def select(self, table: str, wanted: list[str], order: str = "") -> list[dict[str, object]]:
        """Rows of ``table`` as dicts; a wanted column the schema lacks reads as None."""
        if table not in self.tables:
            return []
        present = [c for c in wanted if c in self.columns(table)]
        if not present:
            return []
        sql = f'SELECT {", ".join(present)} FROM "{table}"'
        if order:
            sql += f" ORDER BY {order}"
        rows = []
        for values in self.conn.execute(sql):
            row: dict[str, object] = dict.fromkeys(wanted)
            row.update(zip(present, values, strict=True))
            rows.append(row)
        return rows


def _metric_value(value: object, is_nan: object) -> float:
    if is_nan:
        return math.nan
    v = float(value)  # type: ignore[arg-type]
    if v >= _DBL_MAX:
        return math.inf
    if v <= -_DBL_MAX:
        return -math.inf
    return v


class MlflowSqlReader:
    """Reads an ``mlflow.db`` SQLite file, resolving artifacts against the file's folder."""

    name = "mlflow-sql"
    label = "MLflow SQLite"
    file_suffixes = (".db", ".sqlite", ".sqlite3")

    def detect(self, store: Store, path: str) -> bool:
        if store.kind(path) != "file":
            return False
        try:
            head = store.read_head(path, 16)
        except OSError:
            return False
        if head != _SQLITE_MAGIC:
            return False
        try:
            with store.local_copy(path) as local, open_readonly(local) as conn:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.Error:
            return False
        return {"experiments", "runs"} <= tables

    def read(self, store: Store, path: str, options: ReadOptions) -> Iterator[Record]:
        try:
            with store.local_copy(path) as local, open_readonly(local) as conn:
                yield from _Reading(store, path, options, _Db(conn)).records()
        except sqlite3.DatabaseError as exc:
            yield Problem(Origin(store.url, path, self.name), f"not a readable MLflow database: {exc}")


class _Reading:
    def __init__(self, store: Store, path: str, options: ReadOptions, db: _Db) -> None:
        self.store = store
        self.path = path
        self.options = options
        self.db = db
        self.base = path.rsplit("/", 1)[0] if "/" in path else ""

    def origin(self, what: str) -> Origin:
        # Records in a database have no file of their own: name the table row instead.
        return Origin(self.store.url, f"{self.path}#{what}", MlflowSqlReader.name)

    def records(self) -> Iterator[Record]:
        db = self.db
        include_deleted = self.options.include_deleted

        experiment_tags: dict[str, dict[str, str]] = defaultdict(dict)
        for row in db.select("experiment_tags", ["experiment_id", "key", "value"]):
            experiment_tags[str(row["experiment_id"])][str(row["key"])] = str(row["value"] or "")
        experiments: dict[str, Experiment] = {}
        for row in db.select(
            "experiments",
            ["experiment_id", "name", "lifecycle_stage", "creation_time", "last_update_time"],
            "experiment_id",
        ):
            exp_id = str(row["experiment_id"])
            tags = experiment_tags.get(exp_id, {})
            exp = Experiment(
                key=f"exp:{exp_id}",
                id=exp_id,
                name=as_str(row["name"]) or exp_id,
                origin=self.origin(f"experiments/{exp_id}"),
                deleted=row["lifecycle_stage"] == "deleted",
                created=as_int(row["creation_time"]),
                updated=as_int(row["last_update_time"]),
                description=tags.pop(NOTE_TAG, None),
                tags=frozen_map(tags),
            )
            experiments[exp_id] = exp
            if include_deleted or not exp.deleted:
                yield exp

        datasets: dict[str, Dataset] = {}
        for row in db.select(
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
            "dataset_uuid",
        ):
            name = as_str(row["name"]) or str(row["dataset_uuid"])
            digest = as_str(row["digest"])
            datasets[str(row["dataset_uuid"])] = Dataset(
                key=dataset_key(name, digest),
                name=name,
                origin=self.origin(f"datasets/{row['dataset_uuid']}"),
                digest=digest,
                source_type=as_str(row["dataset_source_type"]),
                source=_dataset_source(as_str(row["dataset_source"])),
                schema=as_str(row["dataset_schema"]),
                profile=as_str(row["dataset_profile"]),
            )
        by_key: dict[str, Dataset] = {}
        for d in datasets.values():
            by_key.setdefault(d.key, d)
        for key in sorted(by_key):
            yield by_key[key]

        input_tags: dict[str, dict[str, str]] = defaultdict(dict)
        for row in db.select("input_tags", ["input_uuid", "name", "value"]):
            input_tags[str(row["input_uuid"])][str(row["name"])] = str(row["value"] or "")
        run_inputs: dict[str, list[DatasetRef]] = defaultdict(list)
        run_outputs: dict[str, list[str]] = defaultdict(list)
        for row in db.select(
            "inputs",
            ["input_uuid", "source_type", "source_id", "destination_type", "destination_id"],
            "input_uuid",
        ):
            if row["source_type"] == "DATASET" and row["destination_type"] == "RUN":
                ds = datasets.get(str(row["source_id"]))
                if ds is None:
                    continue
                itags = dict(input_tags.get(str(row["input_uuid"]), {}))
                context = itags.pop("mlflow.data.context", None)
                run_inputs[str(row["destination_id"])].append(DatasetRef(ds.key, context, frozen_map(itags)))
            elif row["source_type"] == "RUN_OUTPUT":
                run_outputs[str(row["source_id"])].append(str(row["destination_id"]))

        params = self._key_values("params", "run_uuid", "key", "value")
        run_tag_rows = self._key_values("tags", "run_uuid", "key", "value")
        histories = self._histories() if self.options.history else {}
        latest = self._latest() if not self.options.history else {}

        runs = db.select(
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
                "deleted_time",
            ],
            "run_uuid",
        )
        total = len(runs)
        self.options.progress("runs", 0, total)
        for done, row in enumerate(runs, 1):
            run_id = str(row["run_uuid"])
            run_exp = experiments.get(str(row["experiment_id"]))
            deleted = row["lifecycle_stage"] == "deleted" or (run_exp is not None and run_exp.deleted)
            if deleted and not include_deleted:
                continue
            run_tags: dict[str, str] = run_tag_rows.get(run_id, {})
            metrics: list[Metric] = []
            if histories:
                for key, points in sorted(histories.get(run_id, {}).items()):
                    metrics.append(Metric.from_history(key, MetricHistory.from_points(points)))
            else:
                for key, (value, step, ts) in sorted(latest.get(run_id, {}).items()):
                    metrics.append(Metric.single(key, value, step, ts))
            artifact_uri = as_str(row["artifact_uri"])
            artifact_dir = resolve_artifact_dir(self.store, artifact_uri, [self.base], run_id)
            artifacts = tuple(Artifact(p, s) for p, s in self.store.walk_files(artifact_dir)) if artifact_dir else ()
            model_keys = list(run_outputs.get(run_id, []))
            for entry in parse_log_model_history(run_tags.get(LOG_MODEL_HISTORY_TAG)):
                artifact_path = str(entry.get("artifact_path") or "model")
                key = str(entry.get("model_uuid") or f"{run_id}/{artifact_path}")
                if key in model_keys:
                    continue
                model_keys.append(key)
                prefix = artifact_path.rstrip("/") + "/"
                yield LoggedModel(
                    key=key,
                    id=key,
                    name=artifact_path,
                    origin=self.origin(f"tags/{run_id}/{LOG_MODEL_HISTORY_TAG}"),
                    experiment_key=run_exp.key if run_exp else None,
                    run_key=run_id,
                    status="READY",
                    model_type=_flavors(entry),
                    artifacts=tuple(
                        Artifact(a.path[len(prefix) :], a.size) for a in artifacts if a.path.startswith(prefix)
                    ),
                )
            yield Run(
                key=run_id,
                id=run_id,
                name=as_str(row["name"]) or run_tags.get(RUN_NAME_TAG) or run_id,
                origin=self.origin(f"runs/{run_id}"),
                experiment_key=run_exp.key if run_exp else None,
                status=parse_status(row["status"]),
                start_time=as_int(row["start_time"]),
                end_time=as_int(row["end_time"]),
                user=run_user(as_str(row["user_id"]), run_tags),
                description=run_tags.get(NOTE_TAG),
                params=frozen_map(params.get(run_id, {})),
                tags=frozen_map(run_tags),
                metrics=tuple(metrics),
                parent_key=run_tags.get(PARENT_TAG),
                inputs=tuple(sorted(run_inputs.get(run_id, []), key=lambda r: (r.dataset_key, r.context or ""))),
                output_model_keys=tuple(model_keys),
                artifacts=artifacts,
                artifact_uri=artifact_uri,
                git=git_info(run_tags),
                source_name=run_tags.get(SOURCE_NAME_TAG),
                deleted=deleted,
            )
            if done % 200 == 0 or done == total:
                self.options.progress("runs", done, total)

        yield from self._logged_models(experiments)
        yield from self._registry()

    def _key_values(self, table: str, owner: str, key: str, value: str) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = defaultdict(dict)
        for row in self.db.select(table, [owner, key, value]):
            out[str(row[owner])][str(row[key])] = "" if row[value] is None else str(row[value])
        return out

    def _histories(self) -> dict[str, dict[str, list[tuple[int, int, float]]]]:
        out: dict[str, dict[str, list[tuple[int, int, float]]]] = defaultdict(lambda: defaultdict(list))
        for row in self.db.select("metrics", ["run_uuid", "key", "value", "timestamp", "step", "is_nan"]):
            out[str(row["run_uuid"])][str(row["key"])].append(
                (as_int(row["step"]) or 0, as_int(row["timestamp"]) or -1, _metric_value(row["value"], row["is_nan"]))
            )
        return out

    def _latest(self) -> dict[str, dict[str, tuple[float, int, int | None]]]:
        out: dict[str, dict[str, tuple[float, int, int | None]]] = defaultdict(dict)
        for row in self.db.select("latest_metrics", ["run_uuid", "key", "value", "timestamp", "step", "is_nan"]):
            out[str(row["run_uuid"])][str(row["key"])] = (
                _metric_value(row["value"], row["is_nan"]),
                as_int(row["step"]) or 0,
                as_int(row["timestamp"]),
            )
        return out

    def _logged_models(self, experiments: dict[str, Experiment]) -> Iterator[Record]:
        db = self.db
        params = self._key_values("logged_model_params", "model_id", "param_key", "param_value")
        tags = self._key_values("logged_model_tags", "model_id", "tag_key", "tag_value")
        metric_points: dict[str, dict[str, list[tuple[int, int, float]]]] = defaultdict(lambda: defaultdict(list))
        for row in db.select(
            "logged_model_metrics",
            ["model_id", "metric_name", "metric_timestamp_ms", "metric_step", "metric_value"],
        ):
            metric_points[str(row["model_id"])][str(row["metric_name"])].append(
                (
                    as_int(row["metric_step"]) or 0,
                    as_int(row["metric_timestamp_ms"]) or -1,
                    _metric_value(row["metric_value"], False),
                )
            )
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
            "model_id",
        ):
            model_id = str(row["model_id"])
            if row["lifecycle_stage"] == "deleted" and not self.options.include_deleted:
                continue
            exp = experiments.get(str(row["experiment_id"]))
            uri = as_str(row["artifact_location"])
            artifact_dir = resolve_artifact_dir(self.store, uri, [self.base], model_id)
            status = row["status"]
            yield LoggedModel(
                key=model_id,
                id=model_id,
                name=as_str(row["name"]) or model_id,
                origin=self.origin(f"logged_models/{model_id}"),
                experiment_key=exp.key if exp else None,
                run_key=as_str(row["source_run_id"]),
                status=LOGGED_MODEL_STATUS.get(status, str(status)) if isinstance(status, int) else as_str(status),
                created=as_int(row["creation_timestamp_ms"]),
                updated=as_int(row["last_updated_timestamp_ms"]),
                model_type=as_str(row["model_type"]),
                params=frozen_map(params.get(model_id, {})),
                tags=frozen_map(tags.get(model_id, {})),
                metrics=tuple(
                    Metric.from_history(k, MetricHistory.from_points(p))
                    for k, p in sorted(metric_points.get(model_id, {}).items())
                ),
                artifacts=tuple(Artifact(p, s) for p, s in self.store.walk_files(artifact_dir)) if artifact_dir else (),
                artifact_uri=uri,
            )

    def _registry(self) -> Iterator[Record]:
        db = self.db
        model_tags = self._key_values("registered_model_tags", "name", "key", "value")
        aliases: dict[str, dict[str, str]] = defaultdict(dict)
        for row in db.select("registered_model_aliases", ["name", "alias", "version"]):
            aliases[str(row["name"])][str(row["alias"])] = str(row["version"])
        for row in db.select(
            "registered_models", ["name", "creation_time", "last_updated_time", "description"], "name"
        ):
            name = str(row["name"])
            yield RegisteredModel(
                name=name,
                origin=self.origin(f"registered_models/{name}"),
                description=as_str(row["description"]),
                created=as_int(row["creation_time"]),
                updated=as_int(row["last_updated_time"]),
                tags=frozen_map(model_tags.get(name, {})),
                aliases=frozen_map(aliases.get(name, {})),
            )
        version_tags: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        for row in db.select("model_version_tags", ["name", "version", "key", "value"]):
            version_tags[(str(row["name"]), str(row["version"]))][str(row["key"])] = str(row["value"] or "")
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
            "name, version",
        ):
            stage = as_str(row["current_stage"])
            if stage == "Deleted_Internal":
                continue
            name, version = str(row["name"]), str(row["version"])
            source = as_str(row["source"])
            yield ModelVersion(
                model=name,
                version=version,
                origin=self.origin(f"model_versions/{name}/{version}"),
                stage=None if stage in (None, "None") else stage,
                aliases=tuple(sorted(a for a, v in aliases.get(name, {}).items() if v == version)),
                status=as_str(row["status"]),
                description=as_str(row["description"]),
                created=as_int(row["creation_time"]),
                updated=as_int(row["last_updated_time"]),
                user=as_str(row["user_id"]),
                source=source,
                run_key=as_str(row["run_id"]),
                logged_model_key=logged_model_from_source(source),
                tags=frozen_map(version_tags.get((name, version), {})),
            )
