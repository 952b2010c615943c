"""Write small MLflow 3.17.2 stores, one case each, with the real ``mlflow`` package (issue 8).

    python3 -m venv /tmp/venv-mlflow3 && /tmp/venv-mlflow3/bin/pip install "mlflow==3.17.2"
    /tmp/venv-mlflow3/bin/python tests/data/mlflow/make_cases.py tests/data/mlflow/cases

Writes ``cases/file/mlruns/`` (file store, ``MLFLOW_ALLOW_FILE_STORE=true``) and
``cases/sqlite/mlflow.db`` (+ ``cases/sqlite/mlruns/`` artifacts) with the same content:

- ``constant``: a metric ``c`` = 1.0 logged at steps 0, 1, 2 with one timestamp, then
  ``log_model``: MLflow 3 appends the step-0 point again; the real step-0 point must stay.
  Also ``d`` logged with a dataset at steps 0 and 3 (one timestamp): the echo of the step-3 line
  is a ``ts 1.0 0 name digest`` line, the real step-0 line is the same text earlier in the file.
- a registered version created from the logged model with no ``run_id``
  (``create_model_version(source="models:/m-…", model_id=…)``): its run is the logged
  model's ``source_run_id``.
- ``twin-a`` and ``twin-b``: two datasets with the same content (digest) but different names and
  sources, both inputs of run ``twins``.
- ``parent`` with child ``child``; ``parent`` is deleted afterwards.
- two traces (``@mlflow.trace``): one OK, one that raised (status ERROR).
- file store only: a second store nested at ``mlruns/mlruns/`` (what running MLflow from inside
  ``mlruns/`` writes), with one run ``nested-run``.

Ids and timestamps come from mlflow and change on every run; tests look things up by name.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

MODEL_CODE = '''\
import mlflow
from mlflow.pyfunc import PythonModel


class Doubler(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input * 2


mlflow.models.set_model(Doubler())
'''


def write(backend: str, out: Path) -> None:
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    warnings.filterwarnings("ignore")
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient

    assert mlflow.__version__ == "3.17.2", mlflow.__version__
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    os.chdir(out)
    uri = f"file:{out / 'mlruns'}" if backend == "file" else f"sqlite:///{out / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri, uri)
    work = Path(tempfile.mkdtemp(prefix="mlreport-cases-"))
    code = work / "model_code.py"
    code.write_text(MODEL_CODE)

    exp_id = mlflow.create_experiment("cases")
    mlflow.set_experiment(experiment_id=exp_id)
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    ds = mlflow.data.from_pandas(df, source="data/d.csv", name="d-ds")

    with mlflow.start_run(run_name="constant") as run:
        ts = 1767225600000
        for step in range(3):
            client.log_metric(run.info.run_id, "c", 1.0, timestamp=ts, step=step)
        mlflow.log_metric("d", 1.0, step=0, timestamp=ts, dataset=ds)
        mlflow.log_metric("d", 1.0, step=3, timestamp=ts, dataset=ds)
        info = mlflow.pyfunc.log_model(name="model", python_model=str(code), pip_requirements=["mlflow==3.17.2"])
        constant_id = run.info.run_id
    client.create_registered_model("cases model")
    client.create_model_version("cases model", source=f"models:/{info.model_id}", model_id=info.model_id)
    del constant_id

    twin_a = mlflow.data.from_pandas(df, source="s3://bucket/a.parquet", name="twin-a")
    twin_b = mlflow.data.from_pandas(df, source="s3://bucket/b.parquet", name="twin-b")
    assert twin_a.digest == twin_b.digest
    with mlflow.start_run(run_name="twins"):
        mlflow.log_input(twin_a, context="training")
        mlflow.log_input(twin_b, context="validation")

    with mlflow.start_run(run_name="parent") as parent:
        with mlflow.start_run(run_name="child", nested=True):
            mlflow.log_metric("loss", 0.5)
    client.delete_run(parent.info.run_id)

    @mlflow.trace(name="answer")
    def answer(question: str) -> str:
        return question.upper()

    @mlflow.trace(name="fails")
    def fails(question: str) -> str:
        raise ValueError("no answer")

    answer("what is mlreport?")
    try:
        fails("why?")
    except ValueError:
        pass
    mlflow.flush_trace_async_logging() if hasattr(mlflow, "flush_trace_async_logging") else None

    if backend == "file":
        nested = out / "mlruns" / "mlruns"
        nested_uri = f"file:{nested}"
        mlflow.set_tracking_uri(nested_uri)
        nested_client = MlflowClient(nested_uri)
        nested_exp = nested_client.create_experiment("nested")
        run = nested_client.create_run(nested_exp, run_name="nested-run")
        nested_client.log_metric(run.info.run_id, "loss", 0.25, step=0)
        nested_client.set_terminated(run.info.run_id)
    shutil.rmtree(work)
    # 3.17.2 fills a version's run_id from its logged model; versions written by other clients
    # (the real stores) have none. That one field is edited by hand, after mlflow wrote it.
    if backend == "file":
        meta = out / "mlruns" / "models" / "cases model" / "version-1" / "meta.yaml"
        lines = meta.read_text().splitlines(keepends=True)
        meta.write_text("".join("run_id: ''\n" if ln.startswith("run_id: ") else ln for ln in lines))
    else:
        import sqlite3

        conn = sqlite3.connect(out / "mlflow.db")
        conn.execute("UPDATE model_versions SET run_id = NULL WHERE name = 'cases model'")
        conn.commit()
        conn.close()


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--backend":
        write(sys.argv[2], Path(sys.argv[3]).resolve())
        return
    out = Path(sys.argv[1]).resolve()
    for backend in ("file", "sqlite"):
        subprocess.run([sys.executable, __file__, "--backend", backend, str(out / backend)], check=True)


if __name__ == "__main__":
    main()
