"""Write the W&B test stores: real offline runs from the real ``wandb``, plus hand-made cases.

Pinned version (the ``.wandb`` files in this directory were written by exactly this):
``wandb==0.31.0`` (Python 3.11; it pulls in protobuf 7.36.2 and pydantic 2.14.3).

Regenerate (from the repository root; deletes and rewrites the case directories named, or all):

    python3 -m venv /tmp/venv-wandb && /tmp/venv-wandb/bin/pip install "wandb==0.31.0" \
        numpy pillow plotly
    /tmp/venv-wandb/bin/python tests/data/wandb/make_fixtures.py tests/data/wandb [CASE ...]

What is real and what is hand-made (see README.md for the logical content):

* ``offline/wandb/``: three runs written by ``wandb.init(mode="offline")`` in a throwaway git
  repository (so the run record carries a commit and a remote), with the ``latest-run`` symlink
  wandb makes. ``logs/``, ``tmp/`` and the ``debug*.log`` symlinks are removed (not part of the
  format, and they hold absolute paths of the writing machine).
* ``online_style/wandb/``: the ``files/*`` an online run leaves behind, written BY HAND from
  FORMATS.md §2.2 (wandb 0.31.0 writes none of them offline): ``run-…-onl1ne01`` has only
  ``files/`` (legacy ``wandb_version``/``desc`` wrappers); ``run-…-mixed001`` has a real
  ``.wandb`` (written offline, then renamed into an online-style directory) next to hand-written
  ``files/config.yaml``, ``wandb-summary.json`` and ``wandb-metadata.json``.
* ``legacy_flat/wandb/``: the pre-0.10 layout (files directly in the run dir,
  ``wandb-history.jsonl``, a ``dryrun-*`` dir, a ``settings`` file) written BY HAND after the
  shapes in the corpus store ``wandb-connect4-v08`` (wandb 0.8.19); tiny, no copied content.
* ``broken/wandb/``: real offline runs corrupted by this script (truncated ``.wandb``, a flipped
  payload byte so the CRC fails, a bad header) plus hand-made dirs (a run killed before writing
  its ``.wandb``, a ``config.yaml`` that is not YAML).

* ``record/``: issue 8's cases, real offline runs: ``two_folders/checkout-{a,b}/wandb/`` (one
  project from two folders), ``local_time/wandb/`` (written with ``TZ=Asia/Kolkata``: a
  finished run, a run that died by ``os._exit`` (wandb-core still wrote its exit record), a
  run killed with its wandb-core (no exit record), and a hand-made dir with only
  ``files/output.log``, named like the finished run), ``media/wandb/`` (image, table, Plotly,
  HTML logged offline).
* ``alias_history/wandb/``: three runs logging one model with alias ``champion``: version A,
  then B, then A again (issue 9: the alias history the run dirs keep).

Run ids, project names and every logged value are fixed; timestamps come from the clock.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PINNED = "0.31.0"


def _git_repo(root: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "fixture", "GIT_AUTHOR_EMAIL": "fixture@example.com",
           "GIT_COMMITTER_NAME": "fixture", "GIT_COMMITTER_EMAIL": "fixture@example.com"}
    root.mkdir(parents=True, exist_ok=True)
    # The child runs as the repository's train.py, so the run records a relative code path.
    shutil.copy(__file__, root / "train.py")
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "remote", "add", "origin", "https://example.com/team/demo.git"],
        ["git", "add", "train.py"],
        ["git", "commit", "-q", "-m", "fixture"],
    ):
        subprocess.run(cmd, cwd=root, check=True, env=env)


# --- the child: runs wandb in a fresh process per store so no global state leaks ------------------


def _child(kind: str, workdir: Path) -> None:
    import wandb

    assert wandb.__version__ == PINNED, f"expected wandb {PINNED}, found {wandb.__version__}"
    os.chdir(workdir)
    payload = workdir / "payload"
    payload.mkdir(exist_ok=True)

    def model_artifact(
        name: str, content: str, aliases: list[str]
    ) -> tuple[wandb.Artifact, list[str]]:
        (payload / "weights.txt").write_text(content)
        (payload / "card.md").write_text(f"# {name}\n")
        art = wandb.Artifact(name, type="model", description="a tiny model",
                             metadata={"arch": "mlp"})
        art.add_file(str(payload / "weights.txt"))
        art.add_file(str(payload / "card.md"))
        return art, aliases

    def dataset_artifact() -> wandb.Artifact:
        (payload / "train.csv").write_text("x,y\n1,2\n3,4\n")
        art = wandb.Artifact("demo-data", type="dataset")
        art.add_file(str(payload / "train.csv"), name="data/train.csv")
        return art

    if kind == "offline":
        # Run 1: everything the reader maps.
        run = wandb.init(
            project="demo-proj", id="alpha001", name="wb-run-1", group="grp", job_type="train",
            notes="first <b>run</b>", tags=["baseline", "t2"], mode="offline", dir=str(workdir),
            config={"lr": 0.01, "epochs": 4,
                    "model": {"layers": 2, "act": "relu",
                              "opt": {"name": "adam", "betas": [0.9, 0.999]}},
                    "data_dir": None},
        )
        for step in range(4):
            row = {"loss": 1.0 / (step + 1), "acc": 0.5 + 0.1 * step, "epoch": step,
                   "nested": {"x": step * 2}, "phase": "warmup" if step == 0 else "main"}
            if step % 2 == 1:
                row["val_loss"] = 0.9 / (step + 1)
            run.log(row)
        run.config.update({"batch_size": 32})
        run.summary["best_acc"] = 0.8
        run.summary["acc"] = 0.95  # overrides the last logged acc (0.8)
        run.summary["hist"] = wandb.Histogram(np_histogram=([1, 2, 1], [0.0, 1.0, 2.0, 3.0]))
        art, aliases = model_artifact("demo-model", "w=1\n", ["best", "v-final"])
        run.log_artifact(art, aliases=aliases)
        run.log_artifact(dataset_artifact())
        run.finish()

        # Run 2: fails, another version of the same model.
        run = wandb.init(project="demo-proj", id="beta0002", name="wb-run-2", tags=["retry"],
                         mode="offline", dir=str(workdir), config={"lr": 0.1, "epochs": 2})
        for step in range(2):
            run.log({"loss": 2.0 - step, "acc": 0.3 + 0.1 * step})
        art, aliases = model_artifact("demo-model", "w=2\n", ["candidate"])
        run.log_artifact(art, aliases=aliases)
        run.finish(exit_code=1)

        # Run 3: another project; logs run 1's model again (same digest = same version).
        run = wandb.init(project="other-proj", id="gamma003", mode="offline", dir=str(workdir),
                         config={"lr": 0.05})
        run.log({"loss": 0.5}, step=5)
        run.log({"loss": 0.25}, step=10)
        art, aliases = model_artifact("demo-model", "w=1\n", ["prod"])
        run.log_artifact(art, aliases=aliases)
        run.finish()
    elif kind == "broken":
        for run_id in ("trunc001", "badcrc01", "badhdr01"):
            run = wandb.init(project="broken-proj", id=run_id, mode="offline", dir=str(workdir),
                             config={"lr": 0.01})
            # badcrc01 gets enough rows to span three 32 KiB blocks
            for step in range({"trunc001": 60, "badcrc01": 220, "badhdr01": 5}[run_id]):
                run.log({"loss": 1.0 / (step + 1), "acc": step / 400.0})
            run.finish()
    elif kind in ("folder_a", "folder_b"):
        # One project written from two checkouts (two wandb/ folders): one experiment.
        run_id = {"folder_a": "share0a1", "folder_b": "share0b1"}[kind]
        run = wandb.init(project="shared-proj", id=run_id, mode="offline", dir=str(workdir),
                         config={"lr": 0.01 if kind == "folder_a" else 0.02})
        for step in range(3):
            run.log({"loss": 1.0 / (step + 1)})
        run.finish()
    elif kind == "local_time":
        # TZ=Asia/Kolkata (UTC+05:30) in the parent: the dir name is local time, the run
        # record's start_time is UTC. finished1 exits. exited1 dies by os._exit(3) without
        # finish(): wandb-core still writes an exit record (exit code 0) when its client goes.
        run = wandb.init(project="tz-proj", id="finished1", mode="offline", dir=str(workdir))
        run.log({"loss": 0.5})
        run.finish()
        if os.fork() == 0:
            run = wandb.init(project="tz-proj", id="exited1", mode="offline", dir=str(workdir))
            run.log({"loss": 0.7})
            time.sleep(2)
            os._exit(3)
        os.wait()
    elif kind == "killed":
        # The whole process group (client and wandb-core) killed, as a lost machine would be:
        # no exit record.
        run = wandb.init(project="tz-proj", id="killed01", mode="offline", dir=str(workdir))
        for step in range(400):  # past wandb-core's write buffer, so that records reach the disk
            run.log({"loss": 1.0 / (step + 1), "acc": step / 400, "lr": 0.01, "epoch": step // 40})
        time.sleep(3)
        os.killpg(0, signal.SIGKILL)
    elif kind == "media":
        import numpy as np
        import plotly.graph_objects as go

        run = wandb.init(project="media-proj", id="media001", mode="offline", dir=str(workdir))
        pixels = (np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3) * 3).astype(np.uint8)
        table = wandb.Table(columns=["x", "label"], data=[[1, "a"], [2, "b"]])
        fig = go.Figure(data=[go.Scatter(x=[0, 1, 2], y=[1, 0, 2])])
        run.log({"examples": wandb.Image(pixels, caption="tiny"), "loss": 1.0})
        run.log({"samples": table, "chart": wandb.Plotly(fig),
                 "page": wandb.Html("<p>hello</p>"), "loss": 0.5})
        run.finish()
    elif kind == "alias_history":
        # issue 9: @champion moves A -> B -> A over three runs, one second apart
        for run_id, content in (("hist0001", "A"), ("hist0002", "B"), ("hist0003", "A")):
            run = wandb.init(project="alias-proj", id=run_id, mode="offline", dir=str(workdir))
            run.log({"loss": 1.0 if content == "A" else 0.5})
            art, aliases = model_artifact("churn-wb", f"weights {content}\n", ["champion"])
            run.log_artifact(art, aliases=aliases)
            run.finish()
            time.sleep(1)
    elif kind == "mixed":
        run = wandb.init(project="online-proj", id="mixed001", name="mixed-run", mode="offline",
                         dir=str(workdir), config={"lr": 0.02, "epochs": 3})
        for step in range(3):
            run.log({"loss": 0.5 - 0.1 * step})
        run.finish()
    else:
        raise SystemExit(f"unknown kind {kind}")


# --- the parent -----------------------------------------------------------------------------------


def _run_child(kind: str, extra_env: dict[str, str] | None = None) -> Path:
    work = Path(tempfile.mkdtemp(prefix=f"wandb-{kind}-"))
    _git_repo(work)
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true",
           "WANDB_DISABLE_CODE": "true", "WANDB_CONSOLE": "off", **(extra_env or {})}
    result = subprocess.run([sys.executable, "train.py", "--child", kind, str(work)], env=env,
                            cwd=work, start_new_session=True)
    if result.returncode != (-signal.SIGKILL if kind == "killed" else 0):
        raise SystemExit(f"the {kind} child failed ({result.returncode})")
    return work / "wandb"


def _clean(wandb_dir: Path) -> None:
    """Drop what is not part of the format (logs, code copies, the debug-log symlinks)."""
    for entry in wandb_dir.iterdir():
        if entry.name.startswith("debug") and (entry.is_symlink() or entry.is_file()):
            entry.unlink()
    for run_dir in wandb_dir.iterdir():
        if run_dir.is_symlink() or not run_dir.is_dir():
            continue
        for sub in ("logs", "tmp"):
            shutil.rmtree(run_dir / sub, ignore_errors=True)


def _run_dir(wandb_dir: Path, run_id: str) -> Path:
    (found,) = [p for p in wandb_dir.iterdir()
                if p.name.endswith(f"-{run_id}") and not p.is_symlink()]
    return found


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _offline(out: Path) -> None:
    src = _run_child("offline")
    _clean(src)
    shutil.copytree(src, out / "offline" / "wandb", symlinks=True)


def _online_style(out: Path) -> None:
    wdir = out / "online_style" / "wandb"
    # Hand-made: what an online run of the legacy Python service leaves in files/ (FORMATS.md §2.2).
    files = wdir / "run-20260101_090000-onl1ne01" / "files"
    _write(files / "config.yaml", """wandb_version: 1

_wandb:
  desc: null
  value:
    cli_version: 0.15.12
    python_version: 3.10.12
    t:
      1: [1, 55]
epochs:
  desc: null
  value: 3
lr:
  desc: null
  value: 0.001
model:
  desc: null
  value:
    act: gelu
    layers: 4
""")
    _write(files / "wandb-summary.json", json.dumps({
        "loss": 0.25, "acc": 0.8, "best_acc": 0.82, "train": {"f1": 0.7},
        "samples": {"_type": "table-file", "path": "media/table/samples_3_abc.table.json"},
        "note": "done", "_step": 3, "_runtime": 42.5, "_timestamp": 1767258042.5,
        "_wandb": {"runtime": 42},
    }))
    _write(files / "wandb-metadata.json", json.dumps({
        "os": "Linux-6.1.0-x86_64-with-glibc2.36", "python": "CPython 3.10.12",
        "startedAt": "2026-01-01T09:00:00.250000Z", "program": "/home/ana/proj/train.py",
        "codePath": "train.py", "git": {"remote": "https://example.com/team/proj.git",
                                        "commit": "0123456789abcdef0123456789abcdef01234567"},
        "email": "ana@example.com", "root": "/home/ana/proj", "host": "gpu-box",
        "username": "ana", "executable": "/usr/bin/python3", "cpu_count": 8,
    }, indent=2))
    _write(files / "requirements.txt", "torch==2.5.0\n")
    _write(files / "media" / "table" / "samples_3_abc.table.json",
           '{"columns": ["x"], "data": [[1]]}\n')

    # Real .wandb (written offline) in an online-style dir, with hand-written files/ beside it.
    src = _run_child("mixed")
    run_src = _run_dir(src, "mixed001")
    mixed = wdir / "run-20260102_100000-mixed001"
    mixed.mkdir(parents=True)
    shutil.copy(run_src / "run-mixed001.wandb", mixed / "run-mixed001.wandb")
    _write(mixed / "files" / "config.yaml", """_wandb:
  value:
    cli_version: 0.31.0
    m: []
epochs:
  value: 3
lr:
  value: 0.02
optimizer:
  value: sgd
""")
    _write(mixed / "files" / "wandb-summary.json", json.dumps({
        "loss": 0.35, "test_acc": 0.91, "_step": 2, "_runtime": 1.5, "_wandb": {"runtime": 1},
    }))
    _write(mixed / "files" / "wandb-metadata.json", json.dumps({
        "startedAt": "2026-01-02T10:00:00Z", "username": "bo", "email": "bo@example.com",
        "host": "laptop",
    }))
    (wdir / "latest-run").symlink_to("run-20260102_100000-mixed001")


def _legacy_flat(out: Path) -> None:
    wdir = out / "legacy_flat" / "wandb"
    _write(wdir / "settings", "[default]\nproject = flat-proj\nentity = someone\n\n")
    run = wdir / "run-20191230_133106-flat0001"
    _write(run / "config.yaml", """wandb_version: 1

_wandb:
  desc: null
  value:
    cli_version: 0.8.19
    framework: keras
decay:
  desc: null
  value: 1.0e-06
epochs:
  desc: null
  value: 3
""")
    rows = [
        {"epoch": 0, "reward": -9.0, "_runtime": 5.5, "_timestamp": 1577712671.25, "_step": 0},
        {"epoch": 1, "reward": 10.5, "_runtime": 6.0, "_timestamp": 1577712671.75, "_step": 1},
        {"epoch": 2, "reward": 4.0, "_runtime": 6.5, "_timestamp": 1577712672.25, "_step": 2},
    ]
    _write(run / "wandb-history.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    _write(run / "wandb-summary.json", json.dumps({
        "graph": {"_type": "graph", "format": "keras", "nodes": []},
        "epoch": 2, "reward": 4.0, "_step": 2, "_runtime": 6.5, "_timestamp": 1577712672.25,
    }))
    _write(run / "wandb-events.jsonl",
           '{"system.cpu": 50.1, "_wandb": true, "_timestamp": 1577712698, "_runtime": 31}\n')
    _write(run / "wandb-metadata.json", json.dumps({
        "root": "C:/Users/p/proj", "program": "c:/Users/p/proj/c4.py",
        "git": {"remote": "https://example.com/p/c4.git",
                "commit": "b9763d382d2ce587689a3aae0243387267a049e2"},
        "email": "p@example.com", "startedAt": "2019-12-30T13:31:06.786978", "host": "DESKTOP",
        "username": "P L", "os": "Windows-10", "python": "3.6.7", "state": "finished",
        "jobType": None, "mode": "run", "project": "flat-proj",
        "heartbeatAt": "2019-12-30T13:35:48.320489", "exitcode": 0,
    }, indent=4))
    dry = wdir / "dryrun-20191220_140406-dry00001"
    _write(dry / "config.yaml", "wandb_version: 1\n\nepochs:\n  desc: null\n  value: 1\n")
    _write(dry / "wandb-history.jsonl", "")
    _write(dry / "wandb-metadata.json", json.dumps({
        "startedAt": "2019-12-20T14:04:06.5", "state": "running", "mode": "dryrun",
        "project": "flat-proj", "jobType": "eval",
    }))


def _broken(out: Path) -> None:
    src = _run_child("broken")
    _clean(src)
    wdir = out / "broken" / "wandb"
    wdir.mkdir(parents=True)
    for run_id in ("trunc001", "badcrc01", "badhdr01"):
        run_src = _run_dir(src, run_id)
        dst = wdir / run_src.name
        dst.mkdir()
        data = (run_src / f"run-{run_id}.wandb").read_bytes()
        if run_id == "badcrc01":
            assert len(data) > 2 * 32768, "the bad-CRC run must span three blocks"
        if run_id == "trunc001":
            data = data[: len(data) - 100]  # cut inside the last record(s)
        elif run_id == "badcrc01":
            pos = 32768 + 200  # a payload byte inside the second block
            data = data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1 :]
        else:
            data = b"NOTWANDB" + data[8:]
        (dst / f"run-{run_id}.wandb").write_bytes(data)
    # Hand-made: killed before the .wandb was written (the corpus has five such runs).
    killed = wdir / "run-20260103_080000-killed01" / "files"
    _write(killed / "wandb-metadata.json", json.dumps({
        "startedAt": "2026-01-03T08:00:00.5Z", "host": "node7", "username": "cy",
        "program": "train.py", "git": {"commit": "feedface"},
    }))
    _write(killed / "requirements.txt", "numpy==2.1.0\n")
    _write(killed / "output.log", "epoch 1/10 \u2588\u2588\u2588\u258c 35%\n")
    # Hand-made: config.yaml that is not YAML; the summary is still read.
    badcfg = wdir / "run-20260104_080000-badcfg01" / "files"
    _write(badcfg / "config.yaml", "lr:\n  value: [0.1\nepochs: {value: 3\n")
    _write(badcfg / "wandb-summary.json", json.dumps({"loss": 0.5, "_step": 7}))


def _record(out: Path) -> None:
    """Cases of issue 8 ("the record is right"), each written by the real wandb."""
    root = out / "record"
    # two_folders/: one project, two wandb/ folders (two checkouts of one repository).
    for kind, folder in (("folder_a", "checkout-a"), ("folder_b", "checkout-b")):
        src = _run_child(kind)
        _clean(src)
        shutil.copytree(src, root / "two_folders" / folder / "wandb", symlinks=True)
    # local_time/: written at UTC+05:30, one run finished, one killed before its exit record;
    # plus a hand-made dir (as in the corpus: killed before anything but output.log was written).
    src = _run_child("local_time", {"TZ": "Asia/Kolkata"})
    _clean(src)
    dst = root / "local_time" / "wandb"
    shutil.copytree(src, dst, symlinks=True)
    killed = _run_child("killed", {"TZ": "Asia/Kolkata"})
    _clean(killed)
    shutil.copytree(_run_dir(killed, "killed01"), dst / _run_dir(killed, "killed01").name)
    stamp = _run_dir(dst, "finished1").name.split("-")[2]  # YYYYMMDD_HHMMSS, local time
    bare = dst / f"run-{stamp}-bare0001" / "files"
    _write(bare / "output.log", "epoch 1\n")
    # media/: an image, a table, a Plotly chart and an HTML page logged offline.
    src = _run_child("media")
    _clean(src)
    shutil.copytree(src, root / "media" / "wandb", symlinks=True)


def _alias_history(out: Path) -> None:
    """issue 9: @champion logged with version A, then B, then A again (its own store, so that the
    fuzz slice's corpus, which names its stores, keeps its case numbers)."""
    src = _run_child("alias_history")
    _clean(src)
    shutil.copytree(src, out / "alias_history" / "wandb", symlinks=True)


CASES = {"offline": _offline, "online_style": _online_style, "legacy_flat": _legacy_flat,
         "broken": _broken, "record": _record, "alias_history": _alias_history}


def main(out: Path, cases: list[str]) -> None:
    for case in cases:
        shutil.rmtree(out / case, ignore_errors=True)
        CASES[case](out)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]))
    elif len(sys.argv) >= 2 and all(c in CASES for c in sys.argv[2:]):
        main(Path(sys.argv[1]).resolve(), sys.argv[2:] or list(CASES))
    else:
        raise SystemExit(__doc__)
