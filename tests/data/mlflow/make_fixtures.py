"""Write real MLflow test stores with the real ``mlflow`` package.

Pinned versions (the stores in this directory were written by exactly these):
  * mlflow 3.x: ``mlflow==3.17.2``  -> ``v3_file/mlruns/`` and ``v3_sqlite/{mlflow.db,mlruns/}``
  * mlflow 2.x: ``mlflow==2.22.5``  -> ``v2_file/mlruns/`` and ``v2_sqlite/{mlflow.db,mlruns/}``
  (Python 3.11; full ``mlflow``, not ``mlflow-skinny``, so that the sqlite backend works.
  mlflow 2.22.5 needs ``sqlalchemy<2.1``: with SQLAlchemy 2.1 its sqlite store fails to import
  ``FallbackAsyncAdaptedQueuePool``, hence the extra pin.)

Regenerate (from the repository root; each run deletes and rewrites its two stores):

    python3 -m venv /tmp/venv-mlflow3 && /tmp/venv-mlflow3/bin/pip install "mlflow==3.17.2"
    python3 -m venv /tmp/venv-mlflow2 && /tmp/venv-mlflow2/bin/pip install "mlflow==2.22.5" "sqlalchemy==2.0.58"
    /tmp/venv-mlflow3/bin/python tests/data/mlflow/make_fixtures.py tests/data/mlflow
    /tmp/venv-mlflow2/bin/python tests/data/mlflow/make_fixtures.py tests/data/mlflow

``python make_fixtures.py OUTDIR`` writes ``OUTDIR/v<major>_file/`` and ``OUTDIR/v<major>_sqlite/``
for the mlflow major version installed in the running interpreter.  Each backend is written by a
child process (``--backend file|sqlite``) so that mlflow's global state cannot leak between them.
Run ids, experiment ids (file store) and timestamps come from mlflow and differ on every run;
all data values are fixed or drawn from a seeded RNG.  See README.md for the logical content.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

PINNED = {"3": "3.17.2", "2": "2.22.5"}

XSS = "<script>alert(1)</script>"
MD_PIPES = "a|b *c* [x](y)"
MODEL_NAME = "fixture model"  # registered model name with a space

MODEL_CODE = '''\
"""Tiny pyfunc model for MLflow "models from code" (no pickle)."""
import mlflow
from mlflow.pyfunc import PythonModel


class Doubler(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input * 2


mlflow.models.set_model(Doubler())
'''


def write_store(backend: str, store_dir: Path) -> None:
    if backend == "file":
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    warnings.filterwarnings("ignore")

    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient

    major = mlflow.__version__.split(".")[0]
    assert mlflow.__version__ == PINNED[major], (mlflow.__version__, PINNED)
    v3 = major == "3"

    if store_dir.exists():
        shutil.rmtree(store_dir)
    store_dir.mkdir(parents=True)
    # sqlite: the default artifact root is ./mlruns relative to the cwd -> <store_dir>/mlruns
    os.chdir(store_dir)
    if backend == "file":
        uri = "file:" + str(store_dir / "mlruns")
    else:
        uri = "sqlite:///" + str(store_dir / "mlflow.db")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri, uri)

    rng = np.random.default_rng(20260101)
    # fixed path: MLmodel records model_code_path (absolute) of the code file
    work = Path(tempfile.gettempdir()) / "mlreport-fixture"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()

    # --- inputs shared by several runs -------------------------------------------------
    train_df = pd.DataFrame(
        {
            "x1": rng.normal(size=8).round(3),
            "x2": rng.integers(0, 5, size=8),
            "y": rng.integers(0, 2, size=8),
        }
    )
    train_ds = mlflow.data.from_pandas(
        train_df, source="s3://fixture-bucket/train.parquet", name="train-ds", targets="y"
    )
    feats = rng.normal(size=(6, 2)).round(3)
    eval_ds = mlflow.data.from_numpy(
        feats, targets=rng.integers(0, 2, size=6), source="data/eval.npy", name="eval-ds"
    )

    code_path = work / "model_code.py"
    code_path.write_text(MODEL_CODE)
    (work / "notes.txt").write_text("Plain text artifact.\n")
    (work / "config.json").write_text(json.dumps({"lr": 0.01, "layers": [16, 8]}, indent=1))
    rep = work / "report"
    (rep / "sub" / "deep").mkdir(parents=True)
    (rep / "index.md").write_text("# Report\n\nSee `sub/deep/values.csv`.\n")
    (rep / "sub" / "deep" / "values.csv").write_text("step,value\n0,1.0\n1,0.5\n")

    def log_model(registered_name=None):
        kwargs = dict(
            python_model=str(code_path),
            pip_requirements=[f"mlflow=={mlflow.__version__}"],
            input_example=pd.DataFrame({"x": [1.0, 2.0]}),
            registered_model_name=registered_name,
        )
        if v3:
            return mlflow.pyfunc.log_model(name="model", **kwargs)
        return mlflow.pyfunc.log_model(artifact_path="model", **kwargs)

    # --- experiment 1: fixture-main ------------------------------------------------------
    exp_id = mlflow.create_experiment("fixture-main", tags={"team": "qa", "purpose": "tests"})
    client.set_experiment_tag(exp_id, "mlflow.note.content", "Main **fixture** experiment.")
    mlflow.set_experiment(experiment_id=exp_id)

    # baseline: params, stepped metrics, '/' keys, datasets, artifacts, note, model v1
    with mlflow.start_run(run_name="baseline") as run:
        mlflow.log_params({"lr": 0.01, "epochs": 5, "optimizer": "adam"})
        mlflow.log_param("batch_size", 32)
        mlflow.set_tags({"team": "qa", "owner": "alice"})
        mlflow.set_tag("mlflow.note.content", "# Baseline\n\nFirst run, *markdown* note.")
        mlflow.log_input(train_ds, context="training")
        mlflow.log_input(eval_ds, context="validation")
        loss = 1.0
        for step in range(5):
            loss = round(loss * float(rng.uniform(0.55, 0.8)), 4)
            mlflow.log_metric("loss", loss, step=step)
            mlflow.log_metric("train/loss", loss + 0.01, step=step)
            mlflow.log_metric("val/acc", round(0.5 + 0.08 * step, 4), step=step)
        mlflow.log_metrics({"final_acc": 0.82, "f1": 0.79})
        if v3:  # log_metric(dataset=...) exists only in mlflow 3
            mlflow.log_metric("eval_acc", 0.81, step=4, dataset=eval_ds)
        else:
            mlflow.log_metric("eval_acc", 0.81, step=4)
        mlflow.log_artifact(str(work / "notes.txt"))
        mlflow.log_artifact(str(work / "config.json"), artifact_path="config")
        mlflow.log_artifacts(str(rep), artifact_path="report")
        mlflow.log_dict({"accuracy": 0.82, "f1": 0.79}, "eval/summary.json")
        log_model(MODEL_NAME)
        baseline_id = run.info.run_id

    # candidate: second registered version
    with mlflow.start_run(run_name="candidate"):
        mlflow.log_params({"lr": 0.005, "epochs": 8, "optimizer": "sgd"})
        mlflow.set_tag("owner", "bob")
        mlflow.log_input(train_ds, context="training")
        for step in range(8):
            mlflow.log_metric("loss", round(0.9 * 0.8**step, 4), step=step)
        mlflow.log_metric("final_acc", 0.86)
        log_model(MODEL_NAME)

    # hostile strings: HTML in run name / param / tag, Markdown pipes, nan/inf metric values
    with mlflow.start_run(run_name=XSS):
        mlflow.log_param("html", XSS)
        mlflow.log_param("pipes", MD_PIPES)
        mlflow.set_tag("comment", XSS)
        mlflow.set_tag("mlflow.note.content", f"Note with {XSS} and | pipes |")
        for step, value in enumerate([float("nan"), float("inf"), float("-inf"), 0.5]):
            mlflow.log_metric("weird", value, step=step)
        mlflow.log_metric("ok", 1.0)

    # sweep parent with two nested children (tag mlflow.parentRunId)
    with mlflow.start_run(run_name="sweep"):
        mlflow.log_param("search", "grid")
        for lr in (0.1, 0.01):
            with mlflow.start_run(run_name=f"trial-lr{lr}", nested=True):
                mlflow.log_param("lr", lr)
                for step in range(3):
                    mlflow.log_metric("loss", round(1.0 / (1 + step * lr * 10), 4), step=step)
        mlflow.log_metric("best_loss", 0.3333)

    # failed and killed runs
    mlflow.start_run(run_name="failed-run")
    mlflow.log_param("lr", 10.0)
    mlflow.log_metric("loss", 1.0, step=0)
    mlflow.log_metric("loss", float("nan"), step=1)
    mlflow.set_tag("error", "loss diverged")
    mlflow.end_run(status="FAILED")

    mlflow.start_run(run_name="killed-run")
    mlflow.log_param("lr", 0.001)
    mlflow.log_metric("loss", 0.95, step=0)
    mlflow.end_run(status="KILLED")

    # deleted run (soft delete: lifecycle_stage=deleted)
    with mlflow.start_run(run_name="deleted-run") as run:
        mlflow.log_param("lr", 0.5)
        mlflow.log_metric("loss", 0.7)
        deleted_run_id = run.info.run_id
    client.delete_run(deleted_run_id)

    # client-created run that is never terminated: status RUNNING, end_time null, no system tags
    r = client.create_run(exp_id, run_name="still-running")
    client.log_param(r.info.run_id, "lr", 0.02)
    client.log_metric(r.info.run_id, "loss", 0.6, step=0)

    # --- experiment 2: deleted experiment --------------------------------------------------
    gone_id = mlflow.create_experiment("fixture-deleted")
    with mlflow.start_run(experiment_id=gone_id, run_name="orphan"):
        mlflow.log_param("lr", 0.1)
        mlflow.log_metric("loss", 0.4)
    client.delete_experiment(gone_id)

    # --- registry: descriptions, tags, alias, stage ------------------------------------------
    client.update_registered_model(MODEL_NAME, description="Doubles its input. Registered name has a space.")
    client.set_registered_model_tag(MODEL_NAME, "task", "regression")
    client.update_model_version(MODEL_NAME, "1", description="Baseline version.")
    client.update_model_version(MODEL_NAME, "2", description="Candidate with **more epochs**.")
    client.set_model_version_tag(MODEL_NAME, "1", "validation_status", "approved")
    client.set_model_version_tag(MODEL_NAME, "2", "validation_status", "pending")
    client.set_registered_model_alias(MODEL_NAME, "champion", "2")
    client.transition_model_version_stage(MODEL_NAME, "1", "Staging")
    assert client.get_model_version(MODEL_NAME, "1").run_id == baseline_id

    shutil.rmtree(work)
    if backend == "sqlite":
        import sqlite3

        con = sqlite3.connect(store_dir / "mlflow.db")
        con.execute("VACUUM")
        con.close()
    print(f"mlflow {mlflow.__version__} {backend} store written to {store_dir}")


def cleanup(root: Path) -> None:
    for p in sorted(root.rglob("*"), reverse=True):
        if p.name == "__pycache__" and p.is_dir():
            shutil.rmtree(p)
        elif p.suffix == ".pyc" and p.is_file():
            p.unlink()


def main(argv):
    if len(argv) >= 3 and argv[1] == "--backend":
        write_store(argv[2], Path(argv[3]).resolve())
        return
    if len(argv) != 2:
        sys.exit(__doc__)
    import mlflow  # only to read the version

    outdir = Path(argv[1]).resolve()
    major = mlflow.__version__.split(".")[0]
    for backend in ("file", "sqlite"):
        store = outdir / f"v{major}_{backend}"
        subprocess.run([sys.executable, __file__, "--backend", backend, str(store)], check=True)
        cleanup(store)


if __name__ == "__main__":
    main(sys.argv)
