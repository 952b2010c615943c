"""Write the DVC / dvclive fixture stores under tests/data/dvc/ with the real tools.

Real-tool cases need two throwaway virtualenvs (never the project's python):

    python3.11 -m venv /tmp/dvcvenv
    /tmp/dvcvenv/bin/pip install "dvc==3.67.1" "dvclive==3.49.1" "gto==1.10.1"
    python3.11 -m venv /tmp/dvclive0
    /tmp/dvclive0/bin/pip install "dvclive==0.12.1"

then, from the repository root:

    /tmp/dvcvenv/bin/python tests/data/dvc/make_fixtures.py \
        [--dvclive0-python /tmp/dvclive0/bin/python] [--only pipeline nested live_dvcyaml old templated broken]

Cases (see README.md): ``pipeline`` (+ ``pipeline.bundle``: its git history, cloned by the tests),
``nested`` and ``old_dvclive`` are written by dvc/dvclive/gto; ``templated`` and the broken cases
(``broken_yaml``, ``missing_metrics``, ``stale_lock``, ``bad_tsv``) are hand-made text.
Commit dates are fixed; the GTO tags (gto sets its own tagger date), the ``dvc exp run`` commit and
the dvclive timestamps carry the time the script ran (they are the tools' own values), so a rerun
changes those and the tests' expected experiment sha.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent

ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "GTO_NO_ANALYTICS": "1",
    "GIT_AUTHOR_NAME": "Ada Example",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Example",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def run(cmd: list[str], cwd: Path, date: str | None = None, **kw: object) -> str:
    env = dict(ENV)
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    out = subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True, **kw)
    return out.stdout


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))


def run_outside_git(cmd: list[str], out_dir: Path) -> None:
    """Run a dvclive script in a scratch folder outside any git repository, then copy its output.

    dvclive 3.x runs `dvc init` at the top of the enclosing git repository when it finds one
    without DVC, which inside this project would write a stray `.dvc/` into it.
    """
    with tempfile.TemporaryDirectory(prefix="dvcfix-") as tmp:
        env = {**ENV, "GIT_CEILING_DIRECTORIES": tmp}
        subprocess.run(cmd, cwd=tmp, env=env, check=True, capture_output=True)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.copytree(tmp, out_dir)


def venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


PREPARE = """
import pathlib, yaml
params = yaml.safe_load(open("params.yaml"))["prepare"]
rows = open("data/raw.csv").read().splitlines()
n = max(1, int(len(rows) * (1 - params["split"])))
out = pathlib.Path("data/prepared"); out.mkdir(parents=True, exist_ok=True)
(out / "train.csv").write_text("\\n".join(rows[:n]) + "\\n")
(out / "test.csv").write_text("\\n".join(rows[n:]) + "\\n")
"""

TRAIN = """
import json, pathlib, yaml
from dvclive import Live
params = yaml.safe_load(open("params.yaml"))["train"]
lr, epochs = params["lr"], params["epochs"]
with Live("dvclive") as live:
    live.log_params(params)
    acc = 0.5
    for epoch in range(epochs):
        loss = 1.0 / (1 + epoch * lr * 10)
        acc = min(0.99, 0.5 + epoch * lr * 5)
        live.log_metric("train/loss", loss, timestamp=True)
        live.log_metric("acc", acc)
        live.next_step()
    live.log_metric("best_acc", acc, plot=False)
    pathlib.Path("models").mkdir(exist_ok=True)
    pathlib.Path("models/model.json").write_text(json.dumps({"lr": lr, "epochs": epochs}))
    live.log_artifact("models/model.json", type="model", name="demo-model",
                      desc="demo classifier", labels=["cv", "demo"], meta={"framework": "none"})
"""

EVALUATE = """
import json, pathlib
model = json.load(open("models/model.json"))
acc = round(0.6 + model["lr"] * model["epochs"], 4)
pathlib.Path("eval").mkdir(exist_ok=True)
pathlib.Path("eval/metrics.json").write_text(json.dumps({"test": {"acc": acc, "loss": round(1 - acc, 4)}}))
"""  # noqa: E501

DVC_YAML = """
stages:
  prepare:
    cmd: python src/prepare.py
    deps:
    - src/prepare.py
    - data/raw.csv
    params:
    - prepare.split
    outs:
    - data/prepared
  train:
    cmd: python src/train.py
    deps:
    - src/train.py
    - data/prepared
    params:
    - train
    outs:
    - models/model.json
  evaluate:
    cmd: python src/evaluate.py
    deps:
    - src/evaluate.py
    - models/model.json
    - data/prepared
    metrics:
    - eval/metrics.json:
        cache: false
"""


def set_params(repo: Path, lr: float, epochs: int) -> None:
    write(
        repo / "params.yaml",
        f"""
        prepare:
          split: 0.25
        train:
          lr: {lr}
          epochs: {epochs}
          model:
            layers: 2
        """,
    )


def make_pipeline(out_dir: Path, bundle: Path) -> None:
    """A git repo: dvc init, `dvc add` data, 3 stages, dvclive in train, 3 commits, GTO, one exp."""
    with tempfile.TemporaryDirectory(prefix="dvcfix-") as tmp:
        repo = Path(tmp) / "pipeline"
        repo.mkdir()
        dvc, gto = venv_bin("dvc"), venv_bin("gto")
        run(["git", "init", "-q", "-b", "main"], repo)
        run(["git", "config", "user.name", "Ada Example"], repo)
        run(["git", "config", "user.email", "ada@example.com"], repo)
        run([dvc, "init", "-q"], repo)
        run([dvc, "config", "core.analytics", "false"], repo)
        write(repo / "data/raw.csv", "".join(f"{i},{i % 3}\n" for i in range(8)))
        run([dvc, "add", "-q", "data/raw.csv"], repo)
        write(repo / "src/prepare.py", PREPARE)
        write(repo / "src/train.py", TRAIN)
        write(repo / "src/evaluate.py", EVALUATE)
        write(repo / "dvc.yaml", DVC_YAML)
        set_params(repo, 0.01, 3)
        env_path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
        os.environ["PATH"] = env_path
        ENV["PATH"] = env_path
        run(["git", "add", "-A"], repo)
        run(["git", "commit", "-q", "-m", "Add pipeline"], repo, date="2026-11-01T09:00:00+00:00")

        commits = []
        for lr, epochs, date in (
            [
                (0.01, 3, "2026-11-02T10:00:00+00:00"),
                (0.05, 3, "2026-11-03T10:00:00+00:00"),
                (0.05, 4, "2026-11-04T10:00:00+00:00"),
            ]
        ):
            set_params(repo, lr, epochs)
            run([dvc, "repro", "-q"], repo)
            run(["git", "add", "-A"], repo)
            run(["git", "commit", "-q", "-m", f"Train lr={lr} epochs={epochs}"], repo, date=date)
            commits.append(run(["git", "rev-parse", "HEAD"], repo).strip())

        # GTO registry: versions and stage assignments as annotated tags (real gto).
        tag_dates = iter(
            [f"2026-11-0{d}T12:00:00+00:00" for d in (2, 3, 3, 4, 5)]
        )
        gto_calls = [
            ["register", "demo-model", commits[0], "--version", "v1.0.0"],
            ["register", "demo-model", commits[1], "--version", "v1.1.0"],
            ["assign", "demo-model", "--version", "v1.0.0", "--stage", "prod"],
            ["assign", "demo-model", "--version", "v1.0.0", "--stage", "staging"],
            ["assign", "demo-model", "--version", "v1.1.0", "--stage", "prod"],
        ]
        for args in gto_calls:
            run([gto, *args], repo, date=next(tag_dates))

        # One DVC experiment from the last commit.
        run([dvc, "exp", "run", "-q", "-S", "train.lr=0.1", "-n", "exp-lr01"], repo)
        # Leave the work tree as the last commit has it.
        run(["git", "checkout", "-q", "--", "."], repo)
        run([dvc, "checkout", "-q", "--force"], repo)

        if bundle.exists():
            bundle.unlink()
        run(["git", "bundle", "create", str(bundle), "--all"], repo)

        if out_dir.exists():
            shutil.rmtree(out_dir)
        tracked = run(["git", "ls-files", "-z"], repo).split("\0")
        for rel in filter(None, tracked):
            target = out_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / rel, target)


def make_nested(out_dir: Path) -> None:
    """dvclive without DVC: a main dvclive dir and two fold dirs nested inside it."""
    script = """
from dvclive import Live
with Live("dvclive", dvcyaml=None, save_dvc_exp=False) as live:
    live.log_param("folds", 2)
    for step in range(3):
        live.log_metric("train/loss", 1.0 - step * 0.25)
        live.log_metric("eval/loss", 1.1 - step * 0.2)
        live.next_step()
for fold in range(2):
    with Live(f"dvclive/fold_{fold}", dvcyaml=None, save_dvc_exp=False) as live:
        live.log_param("fold", fold)
        for step in range(2 + fold):
            live.log_metric("train/loss", 0.9 - step * 0.1 - fold * 0.05)
            live.next_step()
"""
    run_outside_git([sys.executable, "-c", script], out_dir)


def make_live_dvcyaml(out_dir: Path) -> None:
    """dvclive in a DVC project without pipeline stages, writing its own `dvclive/dvc.yaml`:
    the artifact (a model, via `log_artifact`, which runs `dvc add`) and a confusion-matrix plot
    are declared there, with paths relative to `dvclive/`."""
    script = """
import os, subprocess
subprocess.run(["dvc", "init", "--no-scm", "-q"], check=True)
from dvclive import Live
os.makedirs("models", exist_ok=True)
with Live("dvclive", dvcyaml="dvclive/dvc.yaml", save_dvc_exp=False) as live:
    live.log_param("lr", 0.01)
    for step in range(3):
        live.log_metric("train/loss", 1.0 / (step + 1))
        live.log_metric("acc", 0.5 + step * 0.1)
        live.next_step()
    with open("models/model.pt", "w") as f:
        f.write("weights")
    live.log_artifact("models/model.pt", type="model", name="tiny-model", desc="a tiny model", labels=["demo"])
    live.log_sklearn_plot("confusion_matrix", [0, 1, 1, 0], [0, 1, 0, 0], name="cm.json")
"""
    env_path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    os.environ["PATH"] = env_path
    ENV["PATH"] = env_path
    run_outside_git([sys.executable, "-c", script], out_dir)
    for junk in ("cache", "tmp"):  # the cache copy of the model and DVC's scratch space
        shutil.rmtree(out_dir / ".dvc" / junk, ignore_errors=True)


def make_old(out_dir: Path, python: str) -> None:
    """dvclive 0.12.1: `dvclive.json` summary beside `dvclive/scalars/*.tsv`."""
    script = """
from dvclive import Live
live = Live()
live.log_param("lr", 0.1)
for i in range(3):
    live.log("train/loss", 1.0 / (i + 1))
    live.log("acc", 0.5 + i * 0.1)
    live.next_step()
"""
    run_outside_git([python, "-c", script], out_dir)
    (out_dir / "dvclive/report.html").unlink(missing_ok=True)  # a vega page, not run data


def make_templated(out_dir: Path) -> None:
    """Hand-made, mirroring the corpus dvc-llama-skypilot: vars, ${} and foreach stages."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    write(
        out_dir / "params.yaml",
        """
        train:
          model_size: 7b
          epochs: 2
        data:
          val_size: 0.2
        """,
    )
    write(
        out_dir / "dvc.yaml",
        """
        vars:
          - raw_dir: data/raw
          - custom.yaml
        stages:
          split:
            foreach:
              - identity.jsonl
              - orca.jsonl
            do:
              cmd: python src/split.py "${raw_dir}/${item}"
              deps:
                - src/split.py
                - ${raw_dir}/${item}
              params:
                - data.val_size
              outs:
                - data/split/train_${item}:
                    cache: false
          convert:
            foreach:
              small: {size: 1, fmt: csv}
              large: {size: 100, fmt: parquet}
            do:
              cmd: python src/convert.py --size ${item.size} --name ${key} --out ${out_root}
              deps:
                - data/split
              outs:
                - data/${key}.${item.fmt}
          train:
            cmd: python src/train.py --missing ${nowhere.to.be.found}
            deps:
              - src/train.py
              - data/small.csv
              - models/Llama-2-${train.model_size}-chat-hf
            params:
              - train
            outs:
              - models/finetuned-${train.model_size}
        """,
    )
    write(out_dir / "custom.yaml", "out_root: build/out\n")
    write(
        out_dir / "dvc.lock",
        """
        schema: '2.0'
        stages:
          split@identity.jsonl:
            cmd: python src/split.py "data/raw/identity.jsonl"
            deps:
            - path: data/raw/identity.jsonl
              hash: md5
              md5: a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1
              size: 100
            - path: src/split.py
              hash: md5
              md5: b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2
              size: 50
            params:
              params.yaml:
                data.val_size: 0.2
            outs:
            - path: data/split/train_identity.jsonl
              hash: md5
              md5: c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3
              size: 80
          split@orca.jsonl:
            cmd: python src/split.py "data/raw/orca.jsonl"
            deps:
            - path: data/raw/orca.jsonl
              hash: md5
              md5: d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4
              size: 200
            - path: src/split.py
              hash: md5
              md5: b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2
              size: 50
            params:
              params.yaml:
                data.val_size: 0.2
            outs:
            - path: data/split/train_orca.jsonl
              hash: md5
              md5: e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5
              size: 160
          split@platypus.jsonl:
            cmd: python src/split.py "data/raw/platypus.jsonl"
            deps:
            - path: data/raw/platypus.jsonl
              hash: md5
              md5: f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6
              size: 300
            outs:
            - path: data/split/train_platypus.jsonl
              hash: md5
              md5: a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7
              size: 240
          convert@small:
            cmd: python src/convert.py --size 1 --name small --out build/out
            deps:
            - path: data/split
              hash: md5
              md5: b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8.dir
              size: 240
              nfiles: 2
            outs:
            - path: data/small.csv
              hash: md5
              md5: c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9
              size: 10
          train:
            cmd: python src/train.py --missing ${nowhere.to.be.found}
            deps:
            - path: data/small.csv
              hash: md5
              md5: c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9
              size: 10
            - path: models/Llama-2-7b-chat-hf
              hash: md5
              md5: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.dir
              size: 1000
              nfiles: 3
            - path: src/train.py
              hash: md5
              md5: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
              size: 70
            params:
              params.yaml:
                train:
                  model_size: 7b
                  epochs: 2
            outs:
            - path: models/finetuned-7b
              hash: md5
              md5: cccccccccccccccccccccccccccccccc.dir
              size: 500
              nfiles: 2
        """,
    )


def make_broken(root: Path) -> None:
    """Hand-made broken stores, one fault each."""
    for name in ("broken_yaml", "missing_metrics", "stale_lock", "bad_tsv"):
        if (root / name).exists():
            shutil.rmtree(root / name)
    write(
        root / "broken_yaml/dvc.yaml",
        """
        stages:
          train:
            cmd: python train.py
            deps: [data.csv
            outs:
            - model.bin
        """,
    )
    write(root / "broken_yaml/params.yaml", "lr: 0.1\n")
    write(
        root / "broken_yaml/dvc.lock",
        """
        schema: '2.0'
        stages:
          train:
            cmd: python train.py
            deps:
            - path: data.csv
              md5: 0123456789abcdef0123456789abcdef
              size: 4
            outs:
            - path: model.bin
              md5: fedcba9876543210fedcba9876543210
              size: 2
        """,
    )

    write(
        root / "missing_metrics/dvc.yaml",
        """
        stages:
          evaluate:
            cmd: python evaluate.py
            metrics:
            - eval/metrics.json:
                cache: false
        metrics:
        - eval/summary.yaml
        - eval/scores.json
        """,
    )
    write(root / "missing_metrics/eval/scores.json", '{"f1": 0.5, "name": "not a number"}\n')
    write(root / "missing_metrics/eval/metrics.json", "{not json\n")

    write(
        root / "stale_lock/dvc.yaml",
        """
        stages:
          train:
            cmd: python train.py
            deps:
            - data.csv
            outs:
            - model.bin
        """,
    )
    write(
        root / "stale_lock/dvc.lock",
        """
        schema: '2.0'
        stages:
          featurize:
            cmd: python featurize.py
            deps:
            - path: raw.csv
              md5: 0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
              size: 9
            outs:
            - path: data.csv
              md5: 1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e
              size: 4
          train:
            cmd: python train.py
            deps:
            - path: data.csv
              md5: 1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e
              size: 4
            outs:
            - path: model.bin
              md5: 2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d
              size: 2
        """,
    )

    write(root / "bad_tsv/dvclive/metrics.json", '{"loss": 0.25, "step": 2}\n')
    (root / "bad_tsv/dvclive/plots/metrics").mkdir(parents=True, exist_ok=True)
    (root / "bad_tsv/dvclive/plots/metrics/loss.tsv").write_text(
        "step\tloss\n0\t1.0\n1\toops\n2\t0.25\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dvclive0-python", default="/tmp/dvclive0/bin/python")
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    todo = set(args.only or ["pipeline", "nested", "live_dvcyaml", "old", "templated", "broken"])
    if "pipeline" in todo:
        make_pipeline(HERE / "pipeline", HERE / "pipeline.bundle")
    if "nested" in todo:
        make_nested(HERE / "nested")
    if "live_dvcyaml" in todo:
        make_live_dvcyaml(HERE / "live_dvcyaml")
    if "old" in todo:
        make_old(HERE / "old_dvclive", args.dvclive0_python)
    if "templated" in todo:
        make_templated(HERE / "templated")
    if "broken" in todo:
        make_broken(HERE)


if __name__ == "__main__":
    main()
