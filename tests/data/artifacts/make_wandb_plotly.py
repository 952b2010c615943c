"""Write the W&B plotly fixture with the real ``wandb`` package, offline: one run that logs a
plotly figure with ``wandb.Plotly`` (W&B saves it as ``media/plotly/*.plotly.json``).

Pinned: ``wandb==0.31.0``, ``plotly==7.1.0`` (Python 3.11). Regenerate from the repository root:

    python3 -m venv /tmp/venv-pages-wandb && /tmp/venv-pages-wandb/bin/pip install "wandb==0.31.0" "plotly==7.1.0"
    /tmp/venv-pages-wandb/bin/python tests/data/artifacts/make_wandb_plotly.py tests/data/artifacts/wandb_plotly

``logs/``, ``tmp/`` and the ``debug*.log`` links are removed (not part of the format; they hold
absolute paths), as in make_wandb.py.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path


def main(out: Path) -> None:
    import plotly.graph_objects as go
    import wandb

    assert wandb.__version__ == "0.31.0", wandb.__version__
    os.environ["WANDB_MODE"] = "offline"
    os.environ["WANDB_SILENT"] = "true"
    work = Path(tempfile.mkdtemp(prefix="mlreport-wandb-plotly-"))
    run = wandb.init(project="previews-proj", id="plotly1", name="plotly-run", mode="offline", dir=str(work))
    for step in range(3):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    fig = go.Figure(
        data=[
            go.Scatter(x=[0.0, 0.25, 0.5, 0.75, 1.0], y=[0.0, 0.62, 0.81, 0.93, 1.0], mode="lines", name="ROC"),
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash"}),
        ],
        layout=go.Layout(title={"text": "ROC curve"}, xaxis={"title": {"text": "FPR"}}, yaxis={"title": {"text": "TPR"}}),
    )
    run.log({"roc": wandb.Plotly(fig)}, step=3)
    run.finish()
    src = work / "wandb"
    for p in list(src.rglob("*")):
        if p.is_symlink() and p.name.startswith("debug"):
            p.unlink()
    for d in src.glob("offline-run-*"):
        for junk in ("logs", "tmp"):
            shutil.rmtree(d / junk, ignore_errors=True)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copytree(src, out / "wandb", symlinks=True)
    shutil.rmtree(work)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
