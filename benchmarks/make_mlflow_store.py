#!/usr/bin/env python3
"""Write a synthetic MLflow 3 *file* store for benchmarks.

    python benchmarks/make_mlflow_store.py OUTDIR --runs N [--experiments 5]
        [--versions 0] [--models 4] [--seed 0]
        [--origin /original/abs/path/mlruns]

The tree written to ``OUTDIR/mlruns/`` follows FORMATS.md §1.2-1.3 (mlflow 3.17.2):

- ``.trash/`` (empty) and ``0/meta.yaml`` (the "Default" experiment, no runs), as
  ``FileStore.__init__`` creates them;
- ``--experiments`` experiments with random 18-digit ids, each with ``meta.yaml`` and two
  experiment tags; the runs are split evenly over them;
- per run: ``meta.yaml``, 15 ``params/``, 10 ``tags/`` (system + user tags), 8 ``metrics/`` of
  50 steps each, and ``artifacts/config.json`` + ``artifacts/notes.txt`` (plus
  ``artifacts/model/MLmodel`` for runs that back a registered model version);
- ``models/<name>/`` registry entries: ``--versions`` versions spread round-robin over
  ``--models`` models, each version backed by a distinct FINISHED run
  (``source: runs:/<run_id>/model``, ``model_id: null``, as when a version is registered from a
  run path rather than from a LoggedModel). Per model the newest version is Production with
  alias ``champion``, the one before it Staging with alias ``challenger``, the one before that
  Archived, the rest None.

``artifact_location``/``artifact_uri``/``storage_location`` point under ``--origin``, a path
that should not exist here, as in a store copied from another machine.

About 5% of runs are FAILED (status 4); their loss curves end in ``nan`` on the last steps.
Everything comes from one seeded ``random.Random`` and a fixed base epoch, so the same
arguments give byte-identical files. YAML is formatted by hand (keys sorted, as
``yaml.safe_dump`` in mlflow writes them); stdlib only, no mlflow or PyYAML needed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

BASE_MS = 1767225600000  # 2026-01-01T00:00:00Z
STEPS = 50

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)

ADJECTIVES = (
    "bold", "brave", "bright", "calm", "clever", "crisp", "eager", "fancy", "gentle", "glad",
    "grand", "happy", "keen", "lucky", "merry", "noble", "polite", "proud", "quick", "quiet",
    "rare", "shy", "silent", "smart", "sunny", "swift", "tidy", "vast", "warm", "wise",
)
ANIMALS = (
    "ant", "bass", "bat", "bear", "bee", "carp", "cat", "colt", "crab", "crane", "deer", "dove",
    "duck", "eel", "fox", "frog", "goat", "hare", "hawk", "jay", "lark", "lynx", "mole", "moth",
    "newt", "owl", "ram", "seal", "slug", "swan", "toad", "wasp", "wolf", "yak",
)
USERS = ("alice", "bob", "carol", "dave", "erin", "frank")
TEAMS = ("vision", "nlp", "ranking", "forecasting")
MODEL_NAMES = (
    "churn-classifier", "fraud-detector", "demand-forecaster", "image-tagger",
    "ranker", "sentiment-model", "anomaly-scorer", "price-estimator",
)
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULERS = ("cosine", "linear", "constant", "step")
ARCHS = ("resnet18", "resnet50", "bert-base", "distilbert", "mlp", "xgboost")


class Writer:
    """Counts files and bytes while writing small files with raw os calls (fastest in CPython)."""

    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0

    def write(self, path: str, text: str) -> None:
        data = text.encode()
        fd = os.open(path, _FLAGS, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        self.files += 1
        self.bytes += len(data)


def exp_meta(origin: str, exp_id: str, name: str, ctime: int) -> str:
    return (
        f"artifact_location: file://{origin}/{exp_id}\n"
        f"creation_time: {ctime}\n"
        "effective_trace_archival_retention: null\n"
        f"experiment_id: '{exp_id}'\n"
        f"last_update_time: {ctime}\n"
        "lifecycle_stage: active\n"
        f"name: {name}\n"
        "trace_location: null\n"
        "workspace: default\n"
    )


def run_meta(origin: str, exp_id: str, run_id: str, name: str, start: int, end: int,
             status: int, user: str) -> str:
    return (
        f"artifact_uri: file://{origin}/{exp_id}/{run_id}/artifacts\n"
        f"end_time: {end}\n"
        "entry_point_name: ''\n"
        f"experiment_id: '{exp_id}'\n"
        "lifecycle_stage: active\n"
        f"run_id: {run_id}\n"
        f"run_name: {name}\n"
        "source_name: ''\n"
        "source_type: 4\n"
        "source_version: ''\n"
        f"start_time: {start}\n"
        f"status: {status}\n"
        "tags: []\n"
        f"user_id: {user}\n"
    )


def make_params(rng: random.Random, run_no: int) -> dict[str, str]:
    lr = rng.choice((1e-4, 3e-4, 0.001, 0.003, 0.01, 0.03))
    return {
        "arch": rng.choice(ARCHS),
        "batch_size": str(rng.choice((16, 32, 64, 128, 256))),
        "dataset": rng.choice(("train-v1", "train-v2", "train-v3")),
        "dropout": str(rng.choice((0.0, 0.1, 0.2, 0.3, 0.5))),
        "epochs": str(STEPS),
        "grad_clip": str(rng.choice((0.5, 1.0, 5.0))),
        "hidden_size": str(rng.choice((128, 256, 512, 768, 1024))),
        "lr": str(lr),
        "max_seq_len": str(rng.choice((128, 256, 512))),
        "num_layers": str(rng.randint(2, 24)),
        "optimizer": rng.choice(OPTIMIZERS),
        "scheduler": rng.choice(SCHEDULERS),
        "seed": str(run_no),
        "warmup_steps": str(rng.choice((0, 100, 500, 1000))),
        "weight_decay": str(rng.choice((0.0, 1e-5, 1e-4, 0.01))),
    }


def metric_files(rng: random.Random, start: int, step_ms: int, lr: float,
                 failed: bool) -> tuple[dict[str, str], int]:
    """Return {key: file text} for 8 plausible curves and the last timestamp used."""
    r = rng.random
    l0 = 1.5 + r() * 1.5          # initial loss
    floor = 0.05 + r() * 0.4      # asymptotic train loss
    gap = 0.02 + r() * 0.2        # generalisation gap
    k = 0.04 + r() * 0.12         # decay rate
    acc_max = 0.7 + r() * 0.28
    gnorm0 = 2.0 + r() * 8.0
    sps = 800.0 + r() * 3000.0
    nan_from = STEPS - 1 - int(r() * 3) if failed else STEPS
    cols: dict[str, list[str]] = {key: [] for key in (
        "accuracy", "f1", "grad_norm", "loss", "lr", "samples_per_sec", "val_accuracy",
        "val_loss")}
    ts = start
    for step in range(STEPS):
        ts = start + step * step_ms + int(r() * 200)
        decay = math.exp(-k * step)
        loss = floor + (l0 - floor) * decay + (r() - 0.5) * 0.04
        vloss = loss + gap * (1 + step / STEPS) + (r() - 0.5) * 0.06
        acc = acc_max * (1 - decay) + 0.1 * decay + (r() - 0.5) * 0.02
        vacc = acc - gap * 0.3 + (r() - 0.5) * 0.02
        f1 = vacc - 0.02 - r() * 0.03
        cur_lr = lr * 0.5 * (1 + math.cos(math.pi * step / STEPS))
        gnorm = gnorm0 * (0.3 + decay) + r()
        speed = sps + (r() - 0.5) * sps * 0.1
        if step >= nan_from:
            loss = vloss = gnorm = math.nan
        pre = f"{ts} "
        suf = f" {step}\n"
        cols["accuracy"].append(f"{pre}{round(acc, 6)!r}{suf}")
        cols["f1"].append(f"{pre}{round(f1, 6)!r}{suf}")
        cols["grad_norm"].append(f"{pre}{round(gnorm, 4)!r}{suf}")
        cols["loss"].append(f"{pre}{round(loss, 6)!r}{suf}")
        cols["lr"].append(f"{pre}{round(cur_lr, 8)!r}{suf}")
        cols["samples_per_sec"].append(f"{pre}{round(speed, 2)!r}{suf}")
        cols["val_accuracy"].append(f"{pre}{round(vacc, 6)!r}{suf}")
        cols["val_loss"].append(f"{pre}{round(vloss, 6)!r}{suf}")
    return {key: "".join(lines) for key, lines in cols.items()}, ts


def mlmodel(run_id: str, created_ms: int) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(created_ms / 1000))
    return (
        "artifact_path: model\n"
        "flavors:\n"
        "  python_function:\n"
        "    env:\n"
        "      virtualenv: python_env.yaml\n"
        "    loader_module: mlflow.pyfunc.model\n"
        "    python_version: 3.11.7\n"
        "mlflow_version: 3.17.2\n"
        f"run_id: {run_id}\n"
        f"utc_time_created: '{stamp}.{created_ms % 1000:03d}000'\n"
    )


def generate(out: str, runs: int, experiments: int, versions: int, models: int, seed: int,
             origin: str) -> Writer:
    rng = random.Random(seed)
    w = Writer()
    root = os.path.join(out, "mlruns")
    os.makedirs(root)
    os.mkdir(os.path.join(root, ".trash"))
    os.mkdir(os.path.join(root, "0"))
    w.write(os.path.join(root, "0", "meta.yaml"), exp_meta(origin, "0", "Default", BASE_MS))

    exp_ids: list[str] = []
    while len(exp_ids) < experiments:
        eid = str(rng.randrange(10**17, 10**18))
        if eid not in exp_ids:
            exp_ids.append(eid)

    # run_id -> (exp_id, end_time, status, user)
    run_info: dict[str, tuple[str, int, int, str]] = {}
    run_no = 0
    for j, eid in enumerate(exp_ids):
        ctime = BASE_MS + 1000 + j * 3_600_000
        edir = os.path.join(root, eid)
        os.mkdir(edir)
        team = TEAMS[j % len(TEAMS)]
        w.write(os.path.join(edir, "meta.yaml"),
                exp_meta(origin, eid, f"{team}-exp-{j:02d}", ctime))
        os.mkdir(os.path.join(edir, "tags"))
        w.write(os.path.join(edir, "tags", "team"), team)
        w.write(os.path.join(edir, "tags", "mlflow.note.content"),
                f"Synthetic benchmark experiment {j} ({team}).")
        commits = [f"{rng.getrandbits(160):040x}" for _ in range(8)]
        n_here = runs // experiments + (1 if j < runs % experiments else 0)
        t = ctime + 60_000
        for _ in range(n_here):
            run_id = f"{rng.getrandbits(128):032x}"
            while run_id in run_info:
                run_id = f"{rng.getrandbits(128):032x}"
            rdir = os.path.join(edir, run_id)
            os.mkdir(rdir)
            start = t + rng.randrange(0, 300_000)
            t = start
            failed = rng.random() < 0.05
            status = 4 if failed else 3
            user = rng.choice(USERS)
            name = f"{rng.choice(ADJECTIVES)}-{rng.choice(ANIMALS)}-{rng.randrange(1000)}"
            params = make_params(rng, run_no)
            step_ms = rng.randrange(500, 20_000)
            metrics, last_ts = metric_files(rng, start + 1000, step_ms, float(params["lr"]),
                                            failed)
            end = last_ts + rng.randrange(200, 5000)

            w.write(os.path.join(rdir, "meta.yaml"),
                    run_meta(origin, eid, run_id, name, start, end, status, user))
            d = os.path.join(rdir, "params")
            os.mkdir(d)
            for key, value in params.items():
                w.write(os.path.join(d, key), value)
            d = os.path.join(rdir, "tags")
            os.mkdir(d)
            tags = {
                "mlflow.runName": name,
                "mlflow.user": user,
                "mlflow.source.name": "train.py",
                "mlflow.source.type": "LOCAL",
                "mlflow.source.git.commit": rng.choice(commits),
                "mlflow.source.git.branch": rng.choice(("main", "main", "dev", "exp/sweep")),
                "team": team,
                "stage": rng.choice(("dev", "dev", "staging", "prod")),
                "priority": rng.choice(("low", "medium", "high")),
                "sweep_id": f"sweep-{j:02d}-{run_no // 50:04d}",
            }
            for key, value in tags.items():
                w.write(os.path.join(d, key), value)
            d = os.path.join(rdir, "metrics")
            os.mkdir(d)
            for key, text in metrics.items():
                w.write(os.path.join(d, key), text)
            d = os.path.join(rdir, "artifacts")
            os.mkdir(d)
            w.write(os.path.join(d, "config.json"),
                    json.dumps({"params": params, "run_name": name}, indent=2, sort_keys=True))
            w.write(os.path.join(d, "notes.txt"),
                    f"run {name}\nstatus: {'FAILED' if failed else 'FINISHED'}\n")
            run_info[run_id] = (eid, end, status, user)
            run_no += 1

    if versions:
        write_registry(rng, w, root, origin, run_info, versions, models)
    return w


def write_registry(rng: random.Random, w: Writer, root: str, origin: str,
                   run_info: dict[str, tuple[str, int, int, str]], versions: int,
                   models: int) -> None:
    finished = [rid for rid, info in run_info.items() if info[2] == 3]
    if versions <= len(finished):
        chosen = rng.sample(finished, versions)
    else:
        # As many versions as runs: failed runs get registered too (a registry allows it).
        others = [rid for rid, info in run_info.items() if info[2] != 3]
        chosen = finished + rng.sample(others, versions - len(finished))
    names = [MODEL_NAMES[i % len(MODEL_NAMES)] + (f"-{i // len(MODEL_NAMES)}"
                                                  if i >= len(MODEL_NAMES) else "")
             for i in range(models)]
    per_model: list[list[str]] = [[] for _ in range(models)]
    for i, rid in enumerate(chosen):
        per_model[i % models].append(rid)
    mroot = os.path.join(root, "models")
    os.mkdir(mroot)
    for mi, (name, rids) in enumerate(zip(names, per_model, strict=True)):
        if not rids:
            continue
        rids.sort(key=lambda rid: (run_info[rid][1], rid))  # versions follow run end time
        mdir = os.path.join(mroot, name)
        os.mkdir(mdir)
        n = len(rids)
        created: list[int] = []
        prev = 0
        for rid in rids:
            c = max(run_info[rid][1] + rng.randrange(60_000, 3_600_000), prev + 1000)
            created.append(c)
            prev = c
        promote = created[-1] + rng.randrange(3_600_000, 86_400_000)
        stages = ["None"] * n
        aliases: dict[str, int] = {}
        for back, (stage, alias) in enumerate((("Production", "champion"),
                                               ("Staging", "challenger"),
                                               ("Archived", None))):
            if back < n:
                stages[n - 1 - back] = stage
                if alias:
                    aliases[alias] = n - back
        model_ctime = created[0] - 1000
        last_update = promote
        for v, rid in enumerate(rids, start=1):
            eid = run_info[rid][0]
            updated = promote if stages[v - 1] != "None" else created[v - 1]
            vdir = os.path.join(mdir, f"version-{v}")
            os.mkdir(vdir)
            w.write(os.path.join(vdir, "meta.yaml"), (
                f"creation_timestamp: {created[v - 1]}\n"
                f"current_stage: {stages[v - 1]}\n"
                "deployment_job_state: null\n"
                "description: null\n"
                f"last_updated_timestamp: {updated}\n"
                "model_id: null\n"
                f"name: {name}\n"
                f"run_id: {rid}\n"
                "run_link: null\n"
                f"source: runs:/{rid}/model\n"
                "status: READY\n"
                "status_message: null\n"
                f"storage_location: file://{origin}/{eid}/{rid}/artifacts/model\n"
                "user_id: null\n"
                f"version: {v}\n"
                "workspace: default\n"))
            os.mkdir(os.path.join(vdir, "tags"))
            w.write(os.path.join(vdir, "tags", "validated"),
                    "true" if stages[v - 1] in ("Production", "Staging") else "false")
            w.write(os.path.join(vdir, "tags", "framework"), "pyfunc")
            adir = os.path.join(root, eid, rid, "artifacts", "model")
            os.mkdir(adir)
            w.write(os.path.join(adir, "MLmodel"), mlmodel(rid, run_info[rid][1]))
        if aliases:
            alias_yaml = "aliases:\n" + "".join(
                f"  {a}: '{v}'\n" for a, v in sorted(aliases.items()))
            os.mkdir(os.path.join(mdir, "aliases"))
            for a, v in aliases.items():
                w.write(os.path.join(mdir, "aliases", a), str(v))
        else:
            alias_yaml = "aliases: {}\n"
        w.write(os.path.join(mdir, "meta.yaml"), (
            alias_yaml
            + f"creation_timestamp: {model_ctime}\n"
            "deployment_job_id: null\n"
            "deployment_job_state: null\n"
            f"description: Synthetic registered model {mi}\n"
            f"last_updated_timestamp: {last_update}\n"
            f"name: {name}\n"
            "workspace: default\n"))
        os.mkdir(os.path.join(mdir, "tags"))
        w.write(os.path.join(mdir, "tags", "task"), rng.choice(("classification", "regression")))
        w.write(os.path.join(mdir, "tags", "owner"), rng.choice(USERS))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write a synthetic MLflow 3 file store "
                                            "to OUTDIR/mlruns/.")
    p.add_argument("outdir")
    p.add_argument("--runs", type=int, required=True)
    p.add_argument("--experiments", type=int, default=5)
    p.add_argument("--versions", type=int, default=0,
                   help="registered model versions in all (default 0)")
    p.add_argument("--models", type=int, default=4,
                   help="registered models to spread the versions over (default 4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--origin", default="/original/abs/path/mlruns",
                   help="absolute path the store pretends to have been written at")
    a = p.parse_args(argv)
    if a.runs < 0 or a.experiments < 1 or a.versions < 0 or a.models < 1:
        p.error("--runs/--versions must be >= 0, --experiments/--models >= 1")
    if a.versions > a.runs:
        p.error("--versions cannot exceed --runs (each version needs its own run)")
    if not a.origin.startswith("/"):
        p.error("--origin must be an absolute POSIX path")
    if os.path.exists(os.path.join(a.outdir, "mlruns")):
        p.error(f"{os.path.join(a.outdir, 'mlruns')} already exists")
    t0 = time.perf_counter()
    w = generate(a.outdir, a.runs, a.experiments, a.versions, a.models, a.seed,
                 a.origin.rstrip("/"))
    secs = time.perf_counter() - t0
    print(f"make_mlflow_store: {a.runs} runs, {a.experiments} experiments, "
          f"{a.versions} versions, {w.files} files, {w.bytes} bytes, {secs:.2f} s "
          f"-> {os.path.join(a.outdir, 'mlruns')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
