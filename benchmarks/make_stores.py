#!/usr/bin/env python3
"""Write a synthetic run store of any supported format for benchmarks.

    python benchmarks/make_stores.py FORMAT OUTDIR --runs N [--seed 0]

FORMAT is one of ``mlflow``, ``wandb``, ``hf``, ``dvc``, ``dvc-projects``, ``tensorboard``,
``manifest`` (see :data:`FORMATS`). The store is
written below ``OUTDIR/<format>/`` and the path to give mlreport as a source is printed last.
Every format gets comparable content per run: 15 params (config keys, hyperparameters), 8
metrics of 50 steps, a few tags (where the format has them); about 5% of the runs fail and
their loss curves end in ``nan``. The on-disk layouts are the real ones (FORMATS.md):

- ``mlflow``: ``make_mlflow_store.py`` (an MLflow 3 file store, 5 experiments).
- ``wandb``: ``wandb/run-YYYYMMDD_HHMMSS-<id>/run-<id>.wandb`` + ``latest-run`` symlink. The
  ``.wandb`` transaction log is written as wandb-core writes it (§2.3): the header record, the
  run record (config, tags, group, job type, start time), one summary + one history record per
  step (``_step``/``_timestamp``/``_runtime`` + the 8 metrics, ``nested_key`` items), a final
  summary and the exit record (exit code 1 for failed runs). There is no ``files/``: this is
  what an offline run leaves behind (the only complete record of a run is the ``.wandb``).
- ``hf``: N Trainer output dirs, each with ``trainer_state.json`` (50 training and 50
  evaluation ``log_history`` entries and the final summary entry), ``all_results.json``,
  ``train_results.json``, ``eval_results.json``, ``config.json`` and the ``README.md`` model
  card that ``Trainer.create_model_card`` writes (front matter + hyperparameter list).
- ``dvc``: one dvclive-only project (no git, no ``dvc.yaml``): the main ``dvclive/`` dir and
  N-1 nested ``dvclive/trial-XXXX/`` dirs (the reader's child runs), each with
  ``metrics.json``, ``params.yaml`` and ``plots/metrics/{train,eval}/<leaf>.tsv``.
- ``dvc-projects``: N folders, each a dvclive-only project with one ``dvclive/`` dir.
- ``tensorboard``: a logdir with N run dirs, each one ``events.out.tfevents.*`` file (TFRecord
  framing, CRC-32C): the ``brain.Event:2`` event, an hparams ``session_start_info`` (the 15
  params), one ``simple_value`` event per metric and step (as PyTorch's ``SummaryWriter``
  writes them), three text summaries (run tags) and the hparams ``session_end_info``.
- ``manifest``: N ``<i>.mlreport.yaml`` mlreport manifests in one folder (docs/manifest.md):
  run (id, name, experiment, status, times, user, 3 tags), 15 params, 8 final metrics, the
  8 inline histories as ``[step, value]`` pairs, git.

Everything comes from one seeded ``random.Random`` and a fixed base time, so the same
arguments give byte-identical files (the ``latest-run`` symlink aside, which is a link). Only
the standard library is used; the protobuf, TFRecord and LevelDB-log encoders are below.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import struct
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_mlflow_store as mm  # noqa: E402 - a sibling script, not a package

BASE_S = mm.BASE_MS // 1000  # 2026-01-01T00:00:00Z
STEPS = mm.STEPS  # 50
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)

# The 8 metrics every format gets: (name, kind) where kind picks the curve below.
METRICS = ("loss", "accuracy", "grad_norm", "lr", "samples_per_sec", "val_loss", "val_accuracy", "f1")


class Writer:
    """Writes small files with raw os calls and counts them."""

    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0

    def write(self, path: str, data: str | bytes) -> None:
        raw = data.encode() if isinstance(data, str) else data
        fd = os.open(path, _FLAGS, 0o644)
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        self.files += 1
        self.bytes += len(raw)


# --- shared synthetic content ---------------------------------------------------------------------


def typed(value: str) -> object:
    """make_mlflow_store's string params back to JSON/YAML types."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def curves(rng: random.Random, lr: float, failed: bool) -> dict[str, list[float]]:
    """8 plausible series of STEPS values (the same shapes as make_mlflow_store)."""
    r = rng.random
    l0 = 1.5 + r() * 1.5
    floor = 0.05 + r() * 0.4
    gap = 0.02 + r() * 0.2
    k = 0.04 + r() * 0.12
    acc_max = 0.7 + r() * 0.28
    gnorm0 = 2.0 + r() * 8.0
    sps = 800.0 + r() * 3000.0
    nan_from = STEPS - 1 - int(r() * 3) if failed else STEPS
    out: dict[str, list[float]] = {key: [] for key in METRICS}
    for step in range(STEPS):
        decay = math.exp(-k * step)
        loss = floor + (l0 - floor) * decay + (r() - 0.5) * 0.04
        vloss = loss + gap * (1 + step / STEPS) + (r() - 0.5) * 0.06
        acc = acc_max * (1 - decay) + 0.1 * decay + (r() - 0.5) * 0.02
        vacc = acc - gap * 0.3 + (r() - 0.5) * 0.02
        gnorm = gnorm0 * (0.3 + decay) + r()
        if step >= nan_from:
            loss = vloss = gnorm = math.nan
        out["loss"].append(round(loss, 6))
        out["accuracy"].append(round(acc, 6))
        out["grad_norm"].append(round(gnorm, 4))
        out["lr"].append(round(lr * 0.5 * (1 + math.cos(math.pi * step / STEPS)), 8))
        out["samples_per_sec"].append(round(sps + (r() - 0.5) * sps * 0.1, 2))
        out["val_loss"].append(round(vloss, 6))
        out["val_accuracy"].append(round(vacc, 6))
        out["f1"].append(round(vacc - 0.02 - r() * 0.03, 6))
    return out


class RunSpec:
    """One synthetic run, the same fields whatever the format."""

    def __init__(self, rng: random.Random, no: int, t: int) -> None:
        self.no = no
        self.id = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
        self.name = f"{rng.choice(mm.ADJECTIVES)}-{rng.choice(mm.ANIMALS)}-{rng.randrange(1000)}"
        self.failed = rng.random() < 0.05
        self.user = rng.choice(mm.USERS)
        self.team = rng.choice(mm.TEAMS)
        self.stage = rng.choice(("dev", "dev", "staging", "prod"))
        self.params_str = mm.make_params(rng, no)
        self.params = {k: typed(v) for k, v in self.params_str.items()}
        self.params["dataset"] = self.params_str["dataset"]  # keep strings as strings
        self.start = t  # epoch seconds
        self.step_s = rng.randrange(1, 20)
        self.jitter = [rng.random() * 0.2 for _ in range(STEPS)]
        self.curves = curves(rng, float(self.params_str["lr"]), self.failed)

    def ts(self, step: int) -> float:
        """Wall time of a step, epoch seconds."""
        return self.start + 1 + step * self.step_s + self.jitter[step]

    @property
    def runtime(self) -> float:
        return self.ts(STEPS - 1) - self.start + 0.5


def run_specs(rng: random.Random, runs: int) -> list[RunSpec]:
    specs: list[RunSpec] = []
    seen: set[str] = set()
    t = BASE_S + 3600
    for no in range(runs):
        t += rng.randrange(0, 300)
        spec = RunSpec(rng, no, t)
        while spec.id in seen:
            spec.id = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
        seen.add(spec.id)
        specs.append(spec)
    return specs


def jnum(x: float) -> str:
    """A float as JSON text (``NaN`` as Python's json and wandb-core write it)."""
    return json.dumps(x)


# --- protobuf encoding (varint + length-delimited is all these formats need) ----------------------


def varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def pb_int(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def pb_bytes(number: int, value: bytes | str) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return varint((number << 3) | 2) + varint(len(raw)) + raw


def pb_double(number: int, value: float) -> bytes:
    return varint((number << 3) | 1) + struct.pack("<d", value)


def pb_float(number: int, value: float) -> bytes:
    return varint((number << 3) | 5) + struct.pack("<f", value)


# --- W&B: the .wandb transaction log (FORMATS.md §2.3) --------------------------------------------

WB_BLOCK = 32768
WB_FULL, WB_FIRST, WB_MIDDLE, WB_LAST = 1, 2, 3, 4


class LevelDbLog:
    """LevelDB log writer after the 7-byte W&B header (offsets count from the file start)."""

    def __init__(self) -> None:
        self.buf = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))

    def add(self, record: bytes) -> None:
        buf = self.buf
        left = len(record)
        off = 0
        begin = True
        while True:
            leftover = WB_BLOCK - len(buf) % WB_BLOCK
            if leftover < 7:
                buf += bytes(leftover)
                leftover = WB_BLOCK
            avail = leftover - 7
            frag = min(left, avail)
            end = frag == left
            kind = WB_FULL if begin and end else WB_FIRST if begin else WB_LAST if end else WB_MIDDLE
            payload = record[off : off + frag]
            crc = zlib.crc32(payload, zlib.crc32(bytes([kind])))
            buf += struct.pack("<IHB", crc, frag, kind)
            buf += payload
            off += frag
            left -= frag
            begin = False
            if end:
                return


def wb_item(key: str, value_json: str, nested: bool) -> bytes:
    """ConfigItem/SummaryItem/HistoryItem: key=1 or nested_key=2, value_json=16."""
    return pb_bytes(2 if nested else 1, key) + pb_bytes(16, value_json)


def wandb_log(spec: RunSpec, project: str, group: str) -> bytes:
    log = LevelDbLog()
    num = 0
    info = pb_bytes(200, pb_bytes(1, spec.id))  # _info {stream_id}

    def record(body: bytes) -> None:
        nonlocal num
        num += 1
        log.add(pb_int(1, num) + body + info)

    # header: version_info {producer, min_consumer}
    record(pb_bytes(21, pb_bytes(1, pb_bytes(1, "0.31.0") + pb_bytes(2, "0.70.0"))))
    config = pb_bytes(1, wb_item("_wandb", "{}", False)) + b"".join(
        pb_bytes(1, wb_item(k, json.dumps(v), False)) for k, v in spec.params.items()
    )
    start = spec.start
    run = (
        pb_bytes(1, spec.id)
        + pb_bytes(3, project)
        + pb_bytes(4, config)
        + pb_bytes(6, group)
        + pb_bytes(7, "train")
        + pb_bytes(8, spec.name)
        + pb_bytes(9, f"synthetic run {spec.no}")
        + pb_bytes(10, spec.team)
        + pb_bytes(10, spec.stage)
        + pb_bytes(13, "bench-host")
        + pb_bytes(17, pb_int(1, int(start)) + pb_int(2, 123_000_000))
    )
    record(pb_bytes(17, run))
    record(pb_bytes(3, pb_bytes(1, wb_item("_wandb", "{}", True)) + pb_bytes(1, wb_item("_runtime", "0", False))))
    c = spec.curves
    for step in range(STEPS):
        ts = spec.ts(step)
        items = [
            wb_item("_timestamp", jnum(ts), True),
            wb_item("_runtime", jnum(round(ts - start, 6)), True),
            wb_item("_step", str(step), True),
        ]
        items.extend(wb_item(key, jnum(c[key][step]), True) for key in METRICS)
        body = b"".join(pb_bytes(1, it) for it in items)
        record(pb_bytes(3, body))  # wandb-core writes the summary update before each row
        record(pb_bytes(2, body + pb_bytes(2, pb_int(1, step) if step else b"")))
    record(pb_bytes(3, pb_bytes(1, wb_item("best_val_accuracy", jnum(max(c["val_accuracy"])), True))))
    exit_body = (pb_int(1, 1) if spec.failed else b"") + pb_int(2, int(spec.runtime))
    record(pb_bytes(18, exit_body))
    return bytes(log.buf)


def gen_wandb(root: str, runs: int, seed: int, w: Writer) -> str:
    rng = random.Random(seed)
    base = os.path.join(root, "wandb")
    os.makedirs(base)
    project = "bench-project"
    last = ""
    for spec in run_specs(rng, runs):
        stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime(spec.start))
        name = f"run-{stamp}-{spec.id}"
        d = os.path.join(base, name)
        os.mkdir(d)
        group = f"sweep-{spec.no // 50:04d}"
        w.write(os.path.join(d, f"run-{spec.id}.wandb"), wandb_log(spec, project, group))
        last = name
    if last:
        os.symlink(last, os.path.join(base, "latest-run"))
    return root


# --- Hugging Face Trainer output dirs (FORMATS.md §3) --------------------------------------------


def gen_hf(root: str, runs: int, seed: int, w: Writer) -> str:
    rng = random.Random(seed)
    os.makedirs(root)
    for spec in run_specs(rng, runs):
        d = os.path.join(root, f"{spec.name}-{spec.no:05d}")
        os.mkdir(d)
        p = spec.params
        c = spec.curves
        logging_steps = 10
        batch = p["batch_size"]
        history: list[dict[str, object]] = []
        for i in range(STEPS):
            step = (i + 1) * logging_steps
            epoch = round((i + 1) / STEPS * STEPS / 10, 4)  # 10 logging steps per epoch
            history.append(
                {
                    "epoch": epoch,
                    "grad_norm": c["grad_norm"][i],
                    "learning_rate": c["lr"][i],
                    "loss": c["loss"][i],
                    "step": step,
                }
            )
            history.append(
                {
                    "epoch": epoch,
                    "eval_accuracy": c["val_accuracy"][i],
                    "eval_f1": c["f1"][i],
                    "eval_loss": c["val_loss"][i],
                    "eval_runtime": round(spec.step_s * 0.1 + spec.jitter[i], 4),
                    "eval_samples_per_second": c["samples_per_sec"][i],
                    "eval_steps_per_second": round(c["samples_per_sec"][i] / batch, 3),
                    "step": step,
                }
            )
        global_step = STEPS * logging_steps
        epochs = STEPS / 10
        train_loss = round(sum(x for x in c["loss"] if not math.isnan(x)) / STEPS, 6)
        runtime = round(spec.runtime, 4)
        summary = {
            "total_flos": float(rng.randrange(10**12, 10**14)),
            "train_loss": train_loss,
            "train_runtime": runtime,
            "train_samples_per_second": round(global_step * batch / runtime, 3),
            "train_steps_per_second": round(global_step / runtime, 3),
        }
        if not spec.failed:
            history.append({"epoch": epochs, "step": global_step, **summary})
        best = min(range(STEPS), key=lambda i: (math.isnan(c["val_loss"][i]), c["val_loss"][i]))
        state = {
            "best_global_step": (best + 1) * logging_steps,
            "best_metric": c["val_loss"][best],
            "best_model_checkpoint": f"{os.path.basename(d)}/checkpoint-{(best + 1) * logging_steps}",
            "epoch": epochs,
            "eval_steps": logging_steps,
            "global_step": global_step,
            "is_hyper_param_search": False,
            "is_local_process_zero": True,
            "is_world_process_zero": True,
            "log_history": history,
            "logging_steps": logging_steps,
            "max_steps": global_step,
            "num_input_tokens_seen": 0,
            "num_train_epochs": int(epochs),
            "save_steps": 100,
            "stateful_callbacks": {},
            "total_flos": summary["total_flos"],
            "train_batch_size": batch,
            "trial_name": None,
            "trial_params": None,
        }
        w.write(os.path.join(d, "trainer_state.json"), json.dumps(state, indent=2, sort_keys=True) + "\n")
        last = STEPS - 1
        ev = {
            "epoch": epochs,
            "eval_accuracy": c["val_accuracy"][last],
            "eval_f1": c["f1"][last],
            "eval_loss": c["val_loss"][last],
            "eval_runtime": history[-2 if not spec.failed else -1]["eval_runtime"],
            "eval_samples": 2000,
            "eval_samples_per_second": c["samples_per_sec"][last],
            "eval_steps_per_second": round(c["samples_per_sec"][last] / batch, 3),
        }
        tr = {"epoch": epochs, "train_samples": 20000, **summary}
        if not spec.failed:
            w.write(os.path.join(d, "train_results.json"), json.dumps(tr, indent=4, sort_keys=True) + "\n")
            w.write(os.path.join(d, "eval_results.json"), json.dumps(ev, indent=4, sort_keys=True) + "\n")
            w.write(os.path.join(d, "all_results.json"), json.dumps({**ev, **tr}, indent=4, sort_keys=True) + "\n")
        config = {
            "architectures": ["BertForSequenceClassification"],
            "attention_probs_dropout_prob": p["dropout"],
            "finetuning_task": p["dataset"],
            "hidden_act": "gelu",
            "hidden_dropout_prob": p["dropout"],
            "hidden_size": p["hidden_size"],
            "id2label": {"0": "neg", "1": "pos"},
            "intermediate_size": p["hidden_size"] * 4,
            "label2id": {"neg": 0, "pos": 1},
            "max_position_embeddings": p["max_seq_len"],
            "model_type": "bert",
            "num_attention_heads": 8,
            "num_hidden_layers": p["num_layers"],
            "transformers_version": "5.23.0",
            "vocab_size": 30522,
        }
        w.write(os.path.join(d, "config.json"), json.dumps(config, indent=2, sort_keys=True) + "\n")
        w.write(os.path.join(d, "README.md"), hf_card(spec, os.path.basename(d)))
    return root


def hf_card(spec: RunSpec, name: str) -> str:
    p = spec.params
    acc = spec.curves["val_accuracy"][-1]
    return (
        "---\nlibrary_name: transformers\nlicense: apache-2.0\nbase_model: google-bert/bert-base-uncased\n"
        f"tags:\n- generated_from_trainer\n- {spec.team}\n- {spec.stage}\n"
        f"datasets:\n- {p['dataset']}\nmetrics:\n- accuracy\n"
        f"model-index:\n- name: {name}\n  results:\n  - task:\n      name: Text Classification\n"
        "      type: text-classification\n"
        f"    dataset:\n      name: {p['dataset']}\n      type: {p['dataset']}\n"
        f"    metrics:\n    - name: Accuracy\n      type: accuracy\n      value: {acc}\n---\n\n"
        f"# {name}\n\nThis model is a fine-tuned version of google-bert/bert-base-uncased.\n\n"
        "## Training procedure\n\n### Training hyperparameters\n\n"
        "The following hyperparameters were used during training:\n"
        f"- learning_rate: {p['lr']}\n- train_batch_size: {p['batch_size']}\n"
        f"- eval_batch_size: {p['batch_size']}\n- seed: {p['seed']}\n"
        f"- optimizer: {p['optimizer']}\n- lr_scheduler_type: {p['scheduler']}\n"
        f"- lr_scheduler_warmup_steps: {p['warmup_steps']}\n- num_epochs: {STEPS // 10}\n"
        f"- weight_decay: {p['weight_decay']}\n- max_grad_norm: {p['grad_clip']}\n\n"
        "### Framework versions\n\n- Transformers 5.23.0\n"
    )


# --- DVC / dvclive (FORMATS.md §4) ----------------------------------------------------------------

# metric -> path under plots/metrics (dvclive writes "a/b" as a/b.tsv, the column named "b")
DVC_NAMES = {
    "loss": "train/loss",
    "accuracy": "train/accuracy",
    "grad_norm": "train/grad_norm",
    "lr": "train/lr",
    "samples_per_sec": "train/samples_per_sec",
    "val_loss": "eval/loss",
    "val_accuracy": "eval/accuracy",
    "f1": "eval/f1",
}


def yaml_float(x: float) -> str:
    """As PyYAML writes floats: ``1e-05`` is a string to YAML 1.1 readers, ``1.0e-05`` a float."""
    if math.isnan(x):
        return ".nan"
    text = repr(x)
    return text.replace("e", ".0e") if "e" in text and "." not in text else text


def yaml_scalar(value: object) -> str:
    if isinstance(value, str):
        return value  # plain words and dashes only here
    if isinstance(value, float):
        return yaml_float(value)
    return str(value)


def dvclive_dir(d: str, spec: RunSpec, w: Writer) -> None:
    p = spec.params
    os.makedirs(os.path.join(d, "plots", "metrics", "train"))
    os.mkdir(os.path.join(d, "plots", "metrics", "eval"))
    finals: dict[str, dict[str, float]] = {}
    for key, name in DVC_NAMES.items():
        group, leaf = name.split("/")
        values = spec.curves[key]
        rows = [f"step\t{leaf}\n"]
        rows.extend(f"{s}\t{v!r}\n" for s, v in enumerate(values))
        w.write(os.path.join(d, "plots", "metrics", group, f"{leaf}.tsv"), "".join(rows))
        finals.setdefault(group, {})[leaf] = values[-1]
    metrics = {**finals, "step": STEPS - 1}
    w.write(os.path.join(d, "metrics.json"), json.dumps(metrics, indent=4) + "\n")
    nested = {
        "optim": ("lr", "weight_decay", "grad_clip", "scheduler", "warmup_steps"),
        "model": ("arch", "hidden_size", "num_layers", "dropout", "max_seq_len"),
    }
    lines = []
    grouped = {k for keys in nested.values() for k in keys}
    for k, v in p.items():
        if k not in grouped:
            lines.append(f"{k}: {yaml_scalar(v)}\n")
    for group, keys in nested.items():
        lines.append(f"{group}:\n")
        lines.extend(f"  {k}: {yaml_scalar(p[k])}\n" for k in keys)
    w.write(os.path.join(d, "params.yaml"), "".join(lines))


def gen_dvc(root: str, runs: int, seed: int, w: Writer) -> str:
    rng = random.Random(seed)
    live = os.path.join(root, "dvclive")
    os.makedirs(live)
    for spec in run_specs(rng, runs):
        d = live if spec.no == 0 else os.path.join(live, f"trial-{spec.no:05d}")
        dvclive_dir(d, spec, w)
    return root


def gen_dvc_projects(root: str, runs: int, seed: int, w: Writer) -> str:
    rng = random.Random(seed)
    os.makedirs(root)
    for spec in run_specs(rng, runs):
        dvclive_dir(os.path.join(root, f"{spec.name}-{spec.no:05d}", "dvclive"), spec, w)
    return root


# --- TensorBoard event files (FORMATS.md §5) ------------------------------------------------------


def _crc32c_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _CRC32C
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc(length)) + data + struct.pack("<I", masked_crc(data))


def tb_event(wall_time: float, step: int, body: bytes) -> bytes:
    return tfrecord(pb_double(1, wall_time) + (pb_int(2, step) if step else b"") + body)


def tb_plugin_meta(plugin: str, content: bytes = b"") -> bytes:
    """SummaryMetadata {plugin_data=1 {plugin_name=1, content=2}}."""
    return pb_bytes(1, pb_bytes(1, plugin) + (pb_bytes(2, content) if content else b""))


def pb_value(value: object) -> bytes:
    """google.protobuf.Value: number_value=2, string_value=3, bool_value=4."""
    if isinstance(value, bool):
        return pb_int(4, int(value))
    if isinstance(value, (int, float)):
        return pb_double(2, float(value))
    return pb_bytes(3, str(value))


def tb_events(spec: RunSpec) -> bytes:
    out = [tb_event(spec.start, 0, pb_bytes(3, "brain.Event:2"))]
    # hparams session_start_info: HParamsPluginData {version=1, session_start_info=3 {hparams=1 map,
    # group_name=4, start_time_secs=5}}
    hp = b"".join(pb_bytes(1, pb_bytes(1, k) + pb_bytes(2, pb_value(v))) for k, v in spec.params.items())
    start_info = pb_bytes(3, hp + pb_bytes(4, spec.team) + pb_double(5, float(spec.start)))
    value = pb_bytes(1, "_hparams_/session_start_info") + pb_bytes(9, tb_plugin_meta("hparams", start_info))
    out.append(tb_event(spec.start + 0.01, 0, pb_bytes(5, pb_bytes(1, value))))
    # tensorboardX add_text: tag "<tag>/text_summary", a DT_STRING (7) tensor of shape [1]
    for tag, text in (("team", spec.team), ("stage", spec.stage), ("user", spec.user)):
        tensor = pb_int(1, 7) + pb_bytes(2, pb_bytes(2, pb_int(1, 1))) + pb_bytes(8, text)
        value = pb_bytes(1, f"{tag}/text_summary") + pb_bytes(8, tensor) + pb_bytes(9, tb_plugin_meta("text"))
        out.append(tb_event(spec.start + 0.02, 0, pb_bytes(5, pb_bytes(1, value))))
    c = spec.curves
    for step in range(STEPS):
        ts = spec.ts(step)
        for key in METRICS:
            value = pb_bytes(1, key) + pb_float(2, c[key][step])
            out.append(tb_event(ts, step, pb_bytes(5, pb_bytes(1, value))))
    # session_end_info=4 {status=1 (1 success, 2 failure), end_time_secs=2}
    end_info = pb_bytes(4, pb_int(1, 2 if spec.failed else 1) + pb_double(2, spec.start + spec.runtime))
    value = pb_bytes(1, "_hparams_/session_end_info") + pb_bytes(9, tb_plugin_meta("hparams", end_info))
    out.append(tb_event(spec.start + spec.runtime, 0, pb_bytes(5, pb_bytes(1, value))))
    return b"".join(out)


def gen_tensorboard(root: str, runs: int, seed: int, w: Writer) -> str:
    rng = random.Random(seed)
    os.makedirs(root)
    for spec in run_specs(rng, runs):
        d = os.path.join(root, f"{spec.name}-{spec.no:05d}")
        os.mkdir(d)
        pid = rng.randrange(1000, 60000)
        w.write(os.path.join(d, f"events.out.tfevents.{spec.start}.bench-host.{pid}.0"), tb_events(spec))
    return root


# --- mlreport manifests (docs/manifest.md) --------------------------------------------------------


def manifest_yaml(spec: RunSpec) -> str:
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(spec.start))
    end_ms = int(round((spec.start + spec.runtime) * 1000))
    lines = [
        "mlreport_manifest: 1\n",
        "run:\n",
        f"  id: run-{spec.id}\n",
        f"  name: {spec.name}\n",
        f"  experiment: {spec.team}-nightly\n",
        f"  status: {'failed' if spec.failed else 'finished'}\n",
        f"  start_time: {iso}\n",
        f"  end_time: {end_ms}\n",
        f"  user: {spec.user}\n",
        f"  tags: {{team: {spec.team}, stage: {spec.stage}, scheduler: argo}}\n",
        "params:\n",
    ]
    lines.extend(f"  {k}: {yaml_scalar(v)}\n" for k, v in spec.params.items())
    c = spec.curves
    lines.append("metrics:\n")
    lines.extend(f"  {key}: {yaml_float(c[key][-1])}\n" for key in METRICS)
    lines.append("history:\n")
    for key in METRICS:
        points = ", ".join(f"[{step}, {yaml_float(v)}]" for step, v in enumerate(c[key]))
        lines.append(f"  {key}: [{points}]\n")
    lines.append(f"git:\n  commit: '{spec.no:040x}'\n  branch: main\n")
    return "".join(lines)


def gen_manifest(root: str, runs: int, seed: int, w: Writer) -> str:
    rng = random.Random(seed)
    os.makedirs(root)
    for spec in run_specs(rng, runs):
        w.write(os.path.join(root, f"{spec.no:05d}.mlreport.yaml"), manifest_yaml(spec))
    return root


# --- MLflow (make_mlflow_store.py) ----------------------------------------------------------------


def gen_mlflow(root: str, runs: int, seed: int, w: Writer) -> str:
    sub = mm.generate(root, runs, 5, 0, 4, seed, "/original/abs/path/mlruns")
    w.files += sub.files
    w.bytes += sub.bytes
    return os.path.join(root, "mlruns")


FORMATS: dict[str, Callable[[str, int, int, Writer], str]] = {
    "mlflow": gen_mlflow,
    "wandb": gen_wandb,
    "hf": gen_hf,
    "dvc": gen_dvc,
    "dvc-projects": gen_dvc_projects,
    "tensorboard": gen_tensorboard,
    "manifest": gen_manifest,
}


def generate(fmt: str, outdir: str, runs: int, seed: int = 0) -> tuple[str, Writer]:
    """Write the store below ``outdir/<fmt>``; return (the source path to read, the counts)."""
    w = Writer()
    root = os.path.join(outdir, fmt)
    if os.path.exists(root):
        raise FileExistsError(f"{root} already exists")
    return FORMATS[fmt](root, runs, seed, w), w


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write a synthetic run store of FORMAT to OUTDIR/<FORMAT>/.")
    p.add_argument("format", choices=sorted(FORMATS))
    p.add_argument("outdir")
    p.add_argument("--runs", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.runs < 1:
        p.error("--runs must be >= 1")
    t0 = time.perf_counter()
    try:
        source, w = generate(a.format, a.outdir, a.runs, a.seed)
    except FileExistsError as exc:
        p.error(str(exc))
    secs = time.perf_counter() - t0
    print(f"make_stores: {a.format}, {a.runs} runs, {w.files} files, {w.bytes} bytes, {secs:.2f} s", file=sys.stderr)
    print(source)
    return 0


if __name__ == "__main__":
    sys.exit(main())
