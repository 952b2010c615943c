"""Dump an MLflow store as MLflow's own client reads it (run in a venv that has mlflow).

    python dump_mlflow.py TRACKING_URI > dump.json

Test-only: mlreport never imports mlflow. The fidelity test compares this dump with
``mlreport inspect`` field by field.
"""

from __future__ import annotations

import json
import math
import os
import sys

os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # mlflow >= 3.13 refuses file stores otherwise

from mlflow.entities import ViewType  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402


def num(v: float) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def main() -> None:
    uri = sys.argv[1]
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    out: dict[str, object] = {"experiments": [], "runs": [], "models": [], "versions": [], "logged_models": []}
    exps = client.search_experiments(view_type=ViewType.ALL)
    for e in exps:
        out["experiments"].append(  # type: ignore[attr-defined]
            {
                "id": e.experiment_id,
                "name": e.name,
                "deleted": e.lifecycle_stage == "deleted",
                "tags": dict(e.tags),
                "created": e.creation_time,
            }
        )
        try:
            found = client.search_runs([e.experiment_id], run_view_type=ViewType.ALL, max_results=50000)
        except Exception as exc:  # noqa: BLE001 - MLflow's own reader fails on some stores: say so
            out.setdefault("errors", []).append(f"search_runs({e.experiment_id}): {type(exc).__name__}")  # type: ignore[union-attr]
            found = []
        for r in found:
            history = {}
            for key in r.data.metrics:
                try:
                    points = client.get_metric_history(r.info.run_id, key)
                except Exception as exc:  # noqa: BLE001 - e.g. a run of a deleted experiment
                    out.setdefault("errors", []).append(
                        f"get_metric_history({r.info.run_id}, {key}): {type(exc).__name__}"
                    )  # type: ignore[union-attr]
                    continue
                history[key] = sorted((p.step, p.timestamp, num(p.value)) for p in points)
            datasets = [
                {
                    "name": d.dataset.name,
                    "digest": d.dataset.digest,
                    "context": next((t.value for t in d.tags if t.key == "mlflow.data.context"), None),
                    "source": d.dataset.source,
                    "source_type": d.dataset.source_type,
                }
                for d in (r.inputs.dataset_inputs if r.inputs else [])
            ]
            out["runs"].append(  # type: ignore[attr-defined]
                {
                    "id": r.info.run_id,
                    "name": r.info.run_name,
                    "experiment_id": r.info.experiment_id,
                    "status": r.info.status,
                    "user": r.info.user_id,
                    "start_time": r.info.start_time,
                    "end_time": r.info.end_time,
                    "deleted": r.info.lifecycle_stage == "deleted",
                    "params": dict(r.data.params),
                    "tags": dict(r.data.tags),
                    "latest": {k: num(v) for k, v in r.data.metrics.items()},
                    "history": history,
                    "datasets": datasets,
                }
            )
        try:
            models = client.search_logged_models(experiment_ids=[e.experiment_id])
        except Exception:  # noqa: BLE001 - mlflow 2.x has no logged models
            models = []
        for m in models:
            out["logged_models"].append(  # type: ignore[attr-defined]
                {
                    "id": m.model_id,
                    "name": m.name,
                    "run_id": m.source_run_id,
                    "created": m.creation_timestamp,
                    "status": str(m.status),
                    "tags": dict(m.tags),
                    "params": dict(m.params),
                }
            )
    for rm in client.search_registered_models():
        out["models"].append(  # type: ignore[attr-defined]
            {
                "name": rm.name,
                "aliases": {k: str(v) for k, v in rm.aliases.items()},
                "tags": dict(rm.tags),
                "description": rm.description,
                "created": rm.creation_timestamp,
            }
        )
        for found in client.search_model_versions(f"name='{rm.name}'"):
            # search_model_versions leaves aliases empty; get_model_version fills them
            v = client.get_model_version(found.name, found.version)
            out["versions"].append(  # type: ignore[attr-defined]
                {
                    "model": v.name,
                    "version": str(v.version),
                    "run_id": v.run_id,
                    "stage": v.current_stage,
                    "aliases": sorted(v.aliases),
                    "tags": dict(v.tags),
                    "description": v.description,
                    "created": v.creation_timestamp,
                    "source": v.source,
                    "model_id": getattr(v, "model_id", None),
                }
            )
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
