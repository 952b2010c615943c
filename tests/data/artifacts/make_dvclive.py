"""Write the dvclive artifact-preview fixture with the real ``dvclive``, in a DVC project.

Pinned: ``dvclive==3.49.1`` (with ``dvc==3.67.1``), ``pillow==13.0.0``, ``numpy==2.4.6``,
``scikit-learn==1.9.1`` (Python 3.11). Regenerate from the repository root:

    python3 -m venv /tmp/venv-art-dvclive && /tmp/venv-art-dvclive/bin/pip install "dvclive==3.49.1" \
        "pillow==13.0.0" "numpy==2.4.6" "scikit-learn==1.9.1"
    /tmp/venv-art-dvclive/bin/python tests/data/artifacts/make_dvclive.py tests/data/artifacts/dvclive

It writes ``OUTDIR/``: a DVC project (``dvc init --no-scm``) where one dvclive run logs params,
a metric over steps, an image (``log_image``), a confusion matrix (``log_sklearn_plot``) and a
custom plot (``log_plot``), declared in its own ``dvclive/dvc.yaml``.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main(out: Path) -> None:
    from importlib.metadata import version

    import numpy as np
    from dvclive import Live
    from PIL import Image

    assert version("dvclive") == "3.49.1", version("dvclive")
    work = Path(tempfile.mkdtemp(prefix="mlreport-dvclive-"))
    os.chdir(work)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run([str(Path(sys.executable).parent / "dvc"), "init", "--no-scm", "-q"], check=True, env=env)
    gradient = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (12, 1))
    pixels = np.stack([np.full_like(gradient, 32), gradient, gradient[::-1]], axis=-1)
    with Live("dvclive", dvcyaml="dvclive/dvc.yaml", save_dvc_exp=False) as live:
        live.log_param("epochs", 3)
        for step in range(3):
            live.log_metric("acc", 0.5 + step * 0.1)
            live.next_step()
        live.log_image("sample.png", Image.fromarray(pixels))
        live.log_sklearn_plot("confusion_matrix", [0, 0, 1, 1, 2, 2, 1], [0, 1, 1, 1, 2, 0, 1], name="cm.json")
        live.log_plot(
            "calibration",
            [{"bin": 0.1, "observed": 0.12}, {"bin": 0.5, "observed": 0.46}, {"bin": 0.9, "observed": 0.85}],
            x="bin",
            y="observed",
            template="linear",
            title="Calibration",
        )
    shutil.rmtree(work / ".dvc" / "tmp", ignore_errors=True)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(work, out)
    shutil.rmtree(work)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
