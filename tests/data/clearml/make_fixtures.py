"""Write tests/data/clearml/offline/ with the real clearml package, in offline mode.

    python -m venv /tmp/clearml-venv && /tmp/clearml-venv/bin/pip install clearml==2.1.12
    /tmp/clearml-venv/bin/python tests/data/clearml/make_fixtures.py

ClearML's offline mode (``Task.set_offline(True)``) writes one session folder per task under
``$HOME/.clearml/cache/offline/``: ``task.json`` (the task: project, name, hyperparameters,
tags, script), ``metrics.jsonl`` (batches of scalar events) and ``log.jsonl`` (console lines),
plus a zip of the same folder for ``Task.import_offline_session``. The folders are copied here
without the zips; nothing is edited by hand except ``broken/``, written below on purpose.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

TASK = r"""
import sys
from clearml import Task
Task.set_offline(offline_mode=True)
name, lr = sys.argv[1], float(sys.argv[2])
task = Task.init(project_name="demo-project", task_name=name, auto_connect_frameworks=False,
                 auto_connect_arg_parser=False, auto_resource_monitoring=False)
task.connect({"lr": lr, "epochs": 3, "optimizer": {"name": "adam", "beta1": 0.9}, "dropout": None})
task.add_tags(["baseline", "qa"] if name == "train-baseline" else ["candidate"])
logger = task.get_logger()
for i in range(4):
    logger.report_scalar("loss", "train", value=1.0 / (i + 1) * lr * 100, iteration=i)
    logger.report_scalar("accuracy", "val", value=0.5 + 0.1 * i, iteration=i)
logger.report_single_value("test_f1", 0.83 if name == "train-baseline" else 0.86)
task.close()
"""


def main() -> None:
    out = HERE / "offline"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "CLEARML_OFFLINE_MODE": "1"}
        for name, lr in (("train-baseline", "0.01"), ("train-candidate", "0.02")):
            subprocess.run([sys.executable, "-c", TASK, name, lr], env=env, check=True, cwd=home)
        cache = Path(home) / ".clearml" / "cache" / "offline"
        for folder in sorted(p for p in cache.iterdir() if p.is_dir()):
            shutil.copytree(folder, out / folder.name)
    broken = HERE / "broken"
    shutil.rmtree(broken, ignore_errors=True)
    first = sorted(out.iterdir())[0]
    shutil.copytree(first, broken / "offline-broken")
    lines = (broken / "offline-broken" / "metrics.jsonl").read_text().splitlines()
    lines.insert(1, '[{"type": "training_stats_scalar", "metric": "loss", "variant": "train", "iter": 9, ')
    (broken / "offline-broken" / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    (broken / "offline-notjson").mkdir()
    (broken / "offline-notjson" / "task.json").write_text("{not json")


if __name__ == "__main__":
    main()
