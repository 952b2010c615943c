"""Write the W&B artifact-preview fixture with the real ``wandb`` package, offline.

Pinned: ``wandb==0.31.0``, ``numpy==2.4.6``, ``pillow==13.0.0`` (Python 3.11). Regenerate from
the repository root:

    python3 -m venv /tmp/venv-art-wandb && /tmp/venv-art-wandb/bin/pip install "wandb==0.31.0" \
        "numpy==2.4.6" "pillow==13.0.0"
    /tmp/venv-art-wandb/bin/python tests/data/artifacts/make_wandb.py tests/data/artifacts/wandb

It writes ``OUTDIR/wandb/offline-run-*-preview1/``: one run that logs ``wandb.Image`` (a numpy
array), a ``wandb.Table`` and ``wandb.plot.confusion_matrix``. ``logs/``, ``tmp/`` and the
``debug*.log`` links are removed (not part of the format; they hold absolute paths).
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

PINNED = "0.31.0"


def main(out: Path) -> None:
    import numpy as np
    import wandb

    assert wandb.__version__ == PINNED, wandb.__version__
    os.environ["WANDB_MODE"] = "offline"
    os.environ["WANDB_SILENT"] = "true"
    work = Path(tempfile.mkdtemp(prefix="mlreport-wandb-"))
    run = wandb.init(project="previews-proj", id="preview1", name="preview-run", mode="offline", dir=str(work))
    gradient = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (12, 1))
    pixels = np.stack([gradient, np.full_like(gradient, 64), gradient[::-1]], axis=-1)
    table = wandb.Table(columns=["id", "label", "score"], data=[[1, "cat", 0.91], [2, "dog", 0.45], [3, "bird", 0.77]])
    y_true = [0, 0, 1, 1, 2, 2, 2, 1, 0]
    preds = [0, 1, 1, 1, 2, 0, 2, 1, 0]
    for step in range(3):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    run.log(
        {
            "sample": wandb.Image(pixels, caption="gradient"),
            "predictions": table,
            "confusion": wandb.plot.confusion_matrix(y_true=y_true, preds=preds, class_names=["cat", "dog", "bird"]),
        },
        step=3,
    )
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
