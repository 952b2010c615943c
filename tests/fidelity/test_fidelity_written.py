"""mlreport against the writing tools' own readers, on stores the tools write during the test.

The committed fixtures (``test_fidelity_mlflow.py``, ``test_fidelity_tools.py``) were written once;
here each tool writes a fresh store in the test's tmp folder (``write_stores.py``, run by the
fidelity Python: MLflow's fluent API and client into a file store and into SQLite, a wandb
offline run, TensorBoard's own ``EventFileWriter``, transformers' ``TrainerState``), from a seeded
RNG whose content the fixtures have little of (long series, repeated and shuffled steps,
extreme and non-finite values, Unicode and 6,000-character params, every run status, deleted
runs and experiments, two datasets with one digest, logged models, a registry with aliases,
stages and a version registered from a logged model alone). Then the tool's own reader and
``mlreport``'s crawl read it, and every field is compared as on the fixtures.
``MLREPORT_FIDELITY_SEED`` picks another seed (default 20261202) to replay or widen a run.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from .test_fidelity_mlflow import PYTHON, check_store
from .test_fidelity_tools import hf_tally, python_for, report, tensorboard_tally, wandb_tally

HERE = Path(__file__).resolve().parent
SEED = int(os.environ.get("MLREPORT_FIDELITY_SEED", "20261202"))

pytestmark = pytest.mark.fidelity


def write(tool: str, *args: str) -> None:
    """``write_stores.py TOOL ARGS… SEED`` in the tool's Python, from an empty folder (a tool that
    finds mlflow installed may open ./mlflow.db where it runs)."""
    python = PYTHON if tool == "mlflow" else python_for(tool)
    if not python:
        pytest.skip("MLREPORT_FIDELITY_PYTHON (a Python with mlflow) not set")
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "WANDB_DIR": args[-1]}
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run(
            [python, str(HERE / "write_stores.py"), tool, *args, str(SEED)],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=cwd,
            env=env,
        )
    assert done.returncode == 0, f"{tool} could not write its store:\n{done.stderr[-3000:]}"


@pytest.mark.parametrize("backend", ["file", "sqlite"])
def test_a_store_mlflow_writes_now_reads_as_mlflow_reads_it(backend: str, tmp_path: Path) -> None:
    root = tmp_path / "store"
    write("mlflow", backend, str(root))
    uri = f"file:{root / 'mlruns'}" if backend == "file" else f"sqlite:///{root / 'mlflow.db'}"
    tally = check_store(f"written-{backend}", root, uri, tmp_path)
    # what the writer put there was compared, not an empty corner of it
    assert tally.total["run present"] >= 17 and tally.total["history point"] >= 1000
    assert tally.total["experiment deleted"] == 4 and tally.total["version present"] == 4
    assert tally.total["logged model present"] == 3 and tally.total["dataset source"] >= 8


def test_a_run_wandb_writes_offline_now_reads_as_its_datastore_reads_it(tmp_path: Path) -> None:
    python_for("wandb")
    root = tmp_path / "wandb-store"
    write("wandb", str(root))
    tally = wandb_tally(root)
    assert tally.total["run present"] == 3 and tally.total["history point"] >= 30
    assert tally.total["status from exit record"] == 3 and tally.total["config value"] >= 9
    report("wandb", "written", tally, tmp_path)


def test_events_tensorboard_writes_now_read_as_its_multiplexer_reads_them(tmp_path: Path) -> None:
    python_for("tensorboard")
    root = tmp_path / "logdir"
    write("tensorboard", str(root))
    tally = tensorboard_tally(root)
    assert tally.total["run present"] == 3 and tally.total["history point"] >= 45
    report("tensorboard", "written", tally, tmp_path)


def test_a_trainer_state_transformers_writes_now_reads_as_trainer_state_reads_it(tmp_path: Path) -> None:
    python_for("hf")
    root = tmp_path / "hf-run"
    write("hf", str(root))
    tally = hf_tally(root)
    assert tally.total["history point"] >= 60 and tally.total["checkpoint version present"] == 3
    report("hf", "written", tally, tmp_path)
