"""Write the MLflow artifact-preview fixture with the real ``mlflow`` package.

Pinned: ``mlflow==3.17.2``, ``matplotlib==3.11.2``, ``scikit-learn==1.9.1``, ``numpy==2.4.6``,
``pandas==3.1.1``, ``pillow==13.0.0`` (Python 3.11). Regenerate from the repository root:

    python3 -m venv /tmp/venv-fid && /tmp/venv-fid/bin/pip install "mlflow==3.17.2" \
        "matplotlib==3.11.2" "scikit-learn==1.9.1"
    MLFLOW_ALLOW_FILE_STORE=true /tmp/venv-fid/bin/python tests/data/artifacts/make_mlflow.py tests/data/artifacts/mlflow

It writes ``OUTDIR/mlruns/``: one experiment ``previews`` with one run ``evaluate`` that logs every
artifact kind a page previews (``log_figure``, ``log_image``, ``log_table``, ``log_dict`` of a
confusion matrix, ``log_text`` of text, YAML and an HTML report) and an sklearn model with a
signature and an input example, registered as ``previews-model`` version 1. Ids and times come
from mlflow; values are fixed. The store is written in ``/tmp/mlreport-previews`` and copied:
mlflow 3.17's file store refuses a run whose path has a folder named ``artifacts`` above it
(ZDI-CAN-26649), as ``tests/data/artifacts/`` has, so the artifact URIs name that folder.
"""

import os
import shutil
import sys
import warnings
from pathlib import Path

PINNED = "3.17.2"
LABELS = ["cat", "dog", "bird"]
MATRIX = [[5, 1, 0], [2, 6, 1], [0, 1, 7]]


def main(final: Path) -> None:
    out = Path("/tmp/mlreport-previews")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    warnings.filterwarnings("ignore")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mlflow
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    assert mlflow.__version__ == PINNED, mlflow.__version__
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    os.chdir(out)
    uri = "file:" + str(out / "mlruns")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("previews")
    plt.rcParams["svg.hashsalt"] = "mlreport"  # stable ids in the SVG
    with mlflow.start_run(run_name="evaluate"):
        mlflow.log_params({"C": 1.0, "penalty": "l2"})
        for step in range(4):
            mlflow.log_metric("val_acc", 0.6 + 0.1 * step, step=step)
        fig, ax = plt.subplots(figsize=(3, 2), dpi=50)
        ax.plot([0, 1, 2, 3], [1.0, 0.6, 0.4, 0.3], label="loss")
        ax.legend()
        mlflow.log_figure(fig, "plots/loss.png")
        mlflow.log_figure(fig, "plots/loss.svg")
        plt.close(fig)
        gradient = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (12, 1))
        image = np.stack([gradient, gradient[::-1], np.full_like(gradient, 128)], axis=-1)
        mlflow.log_image(image, "images/sample.png")
        mlflow.log_table(
            {"id": [1, 2, 3, 4], "label": ["cat", "dog", "bird", "dog"], "score": [0.91, 0.45, 0.77, 0.62]},
            "eval/predictions.json",
        )
        mlflow.log_dict({"labels": LABELS, "matrix": MATRIX}, "eval/confusion_matrix.json")
        mlflow.log_dict({"model": {"C": 1.0, "penalty": "l2"}, "data": {"rows": 24}}, "config/train.yaml")
        mlflow.log_text("evaluated on 24 rows\nno warnings\n", "notes.txt")
        mlflow.log_text(
            "<!doctype html><html><head><title>Report</title></head><body>"
            "<h1>Evaluation report</h1><p>Accuracy 0.78.</p></body></html>",
            "report/index.html",
        )
        x = pd.DataFrame({"sepal": [5.1, 4.9, 6.2, 5.9, 6.7, 5.0], "petal": [1.4, 1.4, 4.5, 5.1, 5.8, 1.5]})
        y = np.array([0, 0, 1, 2, 2, 0])
        clf = LogisticRegression(max_iter=200).fit(x, y)
        mlflow.sklearn.log_model(
            clf, name="model", input_example=x.head(2), registered_model_name="previews-model",
            pip_requirements=["scikit-learn==1.9.1"],
        )
    if final.exists():
        shutil.rmtree(final)
    shutil.copytree(out / "mlruns", final / "mlruns")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
