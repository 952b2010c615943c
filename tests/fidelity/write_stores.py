"""Write a store with the real tool, during the fidelity test (run in a venv that has the tool).

    python write_stores.py mlflow file|sqlite DIR SEED   # MLflow's fluent API and client
    python write_stores.py wandb DIR SEED                # wandb.init(mode="offline")
    python write_stores.py tensorboard DIR SEED          # TensorBoard's own EventFileWriter
    python write_stores.py hf DIR SEED                   # transformers' TrainerState + TrainerCallback

Test-only: mlreport never imports these tools. The content is drawn from a seeded RNG so that a
failure can be replayed (``SEED``), and made of what real stores hold and what the committed
fixtures have little of: many points a metric, repeated and out-of-order steps, explicit
timestamps, extreme and non-finite values, Unicode and long params and tags, a batch-logged run,
runs in every status, deleted runs and a deleted experiment, nested runs, two datasets with one
digest and two names, logged models, registered models with versions, aliases, tags,
descriptions and stages, and a version registered from a logged model without a run id.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import warnings
from pathlib import Path

WORDS = ["alpha", "β-test", "日本", "x y", "a/b", "<b>bold</b>", "pipe|cell", "", "0", "true", "1e-3", "null"]

MODEL_CODE = '''\
"""A tiny pyfunc model (MLflow's models from code: nothing pickled)."""
import mlflow
from mlflow.pyfunc import PythonModel


class Doubler(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input * 2


mlflow.models.set_model(Doubler())
'''


def value(rng: random.Random, step: int) -> float:
    """A metric value of the kinds real runs log, now and then an extreme or non-finite one."""
    roll = rng.random()
    if roll < 0.03:
        return rng.choice([math.inf, -math.inf, math.nan])
    if roll < 0.08:
        return rng.choice([0.0, -0.0, 1e-300, -1e300, 5e-324, 1.7976931348623157e308, 123456789012345.0])
    return round(math.exp(-step / 10) + rng.gauss(0, 0.05), rng.choice([2, 4, 17]))


def text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.1:
        return "v" * rng.randint(250, 6000)  # MLflow 3 allows 6,000 characters a param
    if roll < 0.5:
        return rng.choice(WORDS)
    return str(rng.choice([rng.randint(-5, 10**6), round(rng.uniform(-1, 1), 6), rng.random() < 0.5]))


# ---------------------------------------------------------------------------------------------
# MLflow


def mlflow_store(backend: str, root: Path, seed: int) -> None:
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    warnings.filterwarnings("ignore")
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    os.chdir(root)  # SQLite: the default artifact root is ./mlruns
    uri = f"file:{root / 'mlruns'}" if backend == "file" else f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri, uri)
    code = root.parent / f"model_code_{backend}.py"
    code.write_text(MODEL_CODE)

    frame = pd.DataFrame({"x": [rng.random() for _ in range(6)], "y": [rng.randint(0, 1) for _ in range(6)]})
    train = mlflow.data.from_pandas(frame, source="s3://fid-bucket/train.parquet", name="train", targets="y")
    # the same content under another name and source: two datasets, one digest (issue 8)
    same = mlflow.data.from_pandas(frame, source="s3://fid-bucket/copy.parquet", name="train-copy", targets="y")
    evals = mlflow.data.from_numpy(np.arange(12.0).reshape(6, 2), source="data/eval.npy", name="eval")

    exp_a = mlflow.create_experiment("fid-a", tags={"team": "fidelity", "seed": str(seed)})
    exp_b = mlflow.create_experiment("fid-b ünï")
    t0 = 1_790_000_000_000 + rng.randint(0, 10**8)
    model_ids: list[tuple[str, str]] = []
    for i in range(14):
        exp = exp_a if i % 3 else exp_b
        with mlflow.start_run(experiment_id=exp, run_name=f"run-{i} {rng.choice(WORDS)}") as run:
            rid = run.info.run_id
            params = {f"p{j}_{rng.choice(['lr', 'seed', 'name', 'opt'])}": text(rng) for j in range(rng.randint(0, 7))}
            if params:
                mlflow.log_params(params)
            mlflow.set_tags({f"tag{j}": text(rng)[:5000] for j in range(rng.randint(0, 4))})
            for key in rng.sample(["loss", "val/loss", "acc", "eval_acc", "lr", "time ms", "m.x"], rng.randint(1, 5)):
                n = rng.choice([1, 2, 5, 40, 250])
                steps = sorted(rng.randint(0, n) for _ in range(n)) if rng.random() < 0.5 else list(range(n))
                if rng.random() < 0.2:
                    rng.shuffle(steps)  # logged out of step order
                # times rise within a key (MLflow's SQL store refuses a model's metric twice at
                # one step and time) and are equal across keys
                times = [t0 + i * 100_000 + k * rng.choice([1, 997]) for k in range(n)]
                points = [Metric(key, value(rng, s), t, s) for s, t in zip(steps, sorted(times), strict=True)]
                if n > 40:  # a long series in batches, as loggers send it; the rest a call a point
                    for at in range(0, n, 200):
                        client.log_batch(rid, metrics=points[at : at + 200])
                else:
                    for m in points:
                        mlflow.log_metric(key, m.value, step=m.step, timestamp=m.timestamp)
            if i % 4 == 0:
                mlflow.log_input(train, context="training")
                mlflow.log_input(evals, context="validation")
                # a metric logged against a dataset (MLflow 3): a 5-field line in the file store
                mlflow.log_metric("eval_auc", round(rng.random(), 4), step=rng.randint(1, 9), dataset=evals)
            elif i % 4 == 1:
                mlflow.log_input(same, context="training")
            if i in (2, 5, 9):
                info = mlflow.pyfunc.log_model(
                    name=f"model-{i}", python_model=str(code), pip_requirements=[f"mlflow=={mlflow.__version__}"]
                )
                model_ids.append((info.model_id, rid))
            if i == 7:
                with mlflow.start_run(run_name="child", nested=True):
                    mlflow.log_metric("loss", 0.5, step=3)
        if i == 11:
            client.set_terminated(rid, "FAILED")
        elif i == 12:
            client.set_terminated(rid, "KILLED")
        elif i == 13:
            client.delete_run(rid)
    # a batch of everything at once, from the client, with a run that is never ended
    batch = client.create_run(exp_a, run_name="batch")
    bid = batch.info.run_id
    client.log_batch(
        bid,
        metrics=[Metric("b", value(rng, s), t0 + s, s) for s in range(50)],
        params=[Param(f"bp{j}", text(rng)[:6000]) for j in range(5)],
        tags=[RunTag("btag", rng.choice(WORDS))],
    )
    # a deleted experiment with a run in it
    gone = mlflow.create_experiment("fid-gone")
    with mlflow.start_run(experiment_id=gone, run_name="orphan"):
        mlflow.log_param("lr", "0.1")
        mlflow.log_metric("loss", 0.25, step=1)
    client.delete_experiment(gone)

    # the registry
    for name in ("fid model", "fid-other"):
        client.create_registered_model(name, tags={"task": rng.choice(WORDS)}, description=f"{name}: {seed}")
    for n, (model_id, rid) in enumerate(model_ids):
        name = "fid model" if n < 2 else "fid-other"
        v = client.create_model_version(name, f"models:/{model_id}", run_id=rid, tags={"n": str(n)})
        client.update_model_version(name, v.version, description=f"version {n} {rng.choice(WORDS)}")
    # registered from the logged model alone: MLflow 3 leaves run_id empty (issue 8)
    client.create_model_version("fid-other", f"models:/{model_ids[0][0]}", model_id=model_ids[0][0])
    client.set_registered_model_alias("fid model", "champion", "2")
    client.set_registered_model_alias("fid model", "old", "1")
    client.set_registered_model_alias("fid-other", "only", "1")
    client.transition_model_version_stage("fid model", "1", "Archived")
    client.transition_model_version_stage("fid model", "2", "Production")
    client.set_model_version_tag("fid model", "2", "validation_status", "approved")
    code.unlink()


# ---------------------------------------------------------------------------------------------
# W&B (offline)


def wandb_store(root: Path, seed: int) -> None:
    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true")
    os.environ.update(WANDB_DISABLE_CODE="true", WANDB__DISABLE_STATS="true", WANDB_CONSOLE="off")
    home = root.parent / "wandb-home"  # its settings, cache and staging stay in the test's folder
    os.environ.update(WANDB_CONFIG_DIR=str(home), WANDB_CACHE_DIR=str(home), WANDB_DATA_DIR=str(home))
    import wandb

    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(3):
        config = {"lr": rng.choice([0.1, 0.01, 1e-5]), "name": rng.choice(WORDS), "opt": {"beta": rng.random()}}
        run = wandb.init(project="fid", dir=str(root), config=config, name=f"wb-{i}", reinit="finish_previous")
        for step in range(rng.choice([3, 30, 200])):
            row = {"loss": value(rng, step), "acc": round(rng.random(), 4)}
            if step % 7 == 0:
                row["val/loss"] = value(rng, step)
            run.log(row, step=step)
        run.summary["best_acc"] = 0.5 + i / 10
        run.finish(exit_code=0 if i != 2 else 1)


# ---------------------------------------------------------------------------------------------
# TensorBoard (its own writer: no TensorFlow, no torch)


def tensorboard_store(root: Path, seed: int) -> None:
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    rng = random.Random(seed)
    t0 = 1_790_000_000.0 + rng.randint(0, 10**5)
    for run in ("train", "eval", "nested/run"):
        writer = EventFileWriter(str(root / run))
        for step in range(rng.choice([5, 50, 400])):
            for tag in ("loss", "lr", "metrics/acc"):
                v = value(rng, step)
                if not math.isfinite(v) or abs(v) > 3e38:
                    v = 0.5  # a float32 field: TensorBoard keeps no double
                summary = Summary(value=[Summary.Value(tag=tag, simple_value=v)])
                writer.add_event(Event(wall_time=t0 + step * 1.5, step=step, summary=summary))
        writer.close()


# ---------------------------------------------------------------------------------------------
# Hugging Face Trainer: what Trainer writes, through its own TrainerState and callback, no torch


def hf_store(root: Path, seed: int) -> None:
    from transformers import TrainerState

    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    state = TrainerState(max_steps=60, num_train_epochs=3, logging_steps=5, eval_steps=20, save_steps=20)
    state.best_metric = None
    for step in range(5, 61, 5):
        state.global_step = step
        state.epoch = step / 20
        state.log_history.append(
            {"loss": round(2 / step + rng.random() / 10, 4), "learning_rate": 5e-5 * (1 - step / 60),
             "grad_norm": round(rng.uniform(0.5, 3), 4), "epoch": state.epoch, "step": step}
        )  # fmt: skip
        if step % 20 == 0:
            eval_loss = round(1 / step + rng.random() / 50, 5)
            state.log_history.append(
                {"eval_loss": eval_loss, "eval_accuracy": round(rng.random(), 4), "eval_runtime": 1.5,
                 "eval_samples_per_second": 200.0, "epoch": state.epoch, "step": step}
            )  # fmt: skip
            if state.best_metric is None or eval_loss < state.best_metric:
                state.best_metric, state.best_model_checkpoint = eval_loss, str(root / f"checkpoint-{step}")
            ckpt = root / f"checkpoint-{step}"
            ckpt.mkdir()
            state.save_to_json(str(ckpt / "trainer_state.json"))  # what Trainer._save_checkpoint does
    state.log_history.append(
        {"train_runtime": 12.5, "train_samples_per_second": 80.0, "train_loss": 0.4, "epoch": 3.0, "step": 60}
    )
    state.save_to_json(str(root / "trainer_state.json"))
    (root / "training_args.json").write_text(
        json.dumps({"metric_for_best_model": "eval_loss", "greater_is_better": False, "learning_rate": 5e-5})
    )


def main() -> None:
    tool = sys.argv[1]
    if tool == "mlflow":
        mlflow_store(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))
    elif tool == "wandb":
        wandb_store(Path(sys.argv[2]), int(sys.argv[3]))
    elif tool == "tensorboard":
        tensorboard_store(Path(sys.argv[2]), int(sys.argv[3]))
    elif tool == "hf":
        hf_store(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
