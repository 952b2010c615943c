"""Write the Hugging Face Trainer fixture output dirs with transformers' own classes.

No torch is needed (or installed): ``TrainerState.save_to_json`` writes ``trainer_state.json``,
``TrainingSummary.to_model_card`` (with ``parse_log_history``, as ``Trainer.create_model_card``
does) writes ``README.md``, ``BertConfig.save_pretrained`` writes ``config.json``. The
``*_results.json`` files are written the way ``Trainer.save_metrics`` writes them
(``json.dump(metrics, f, indent=4, sort_keys=True)``, all_results.json the union): that method
lives in ``trainer_pt_utils``, which imports torch. The ``log_history`` values are invented; the
key sets follow ``Trainer.log()`` and the train/eval code (FORMATS.md §3). Git LFS pointers are
written by ``git lfs pointer --file`` (Debian's ``git-lfs`` 3.3.0).

Run from the repository root::

    python3.11 -m venv /tmp/venv-hf
    /tmp/venv-hf/bin/pip install transformers==5.23.0 huggingface-hub==2.4.0 tensorboardX==2.6.5
    apt-get install -y git-lfs
    HF_HUB_OFFLINE=1 /tmp/venv-hf/bin/python tests/data/hf/make_fixtures.py

Cases (see README.md here): ``full``, ``minimal``, ``broken_json``, ``lfs_pointer``,
``peft_events``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # TrainingSummary looks up licenses otherwise

from transformers import BertConfig  # noqa: E402
from transformers.modelcard import TrainingSummary, parse_log_history  # noqa: E402
from transformers.trainer_callback import TrainerState  # noqa: E402

HERE = Path(__file__).resolve().parent

TRAIN = [  # (step, epoch, loss, grad_norm, learning_rate): logging_steps=10
    (10, 0.5, 0.6931, 3.21, 4e-05),
    (20, 1.0, 0.5123, 2.87, 3e-05),
    (30, 1.5, 0.3512, 2.11, 2e-05),
    (40, 2.0, 0.2875, 1.95, 1e-05),
]
EVAL = {  # step -> (epoch, eval_loss, eval_accuracy, eval_f1): eval_strategy="epoch"
    20: (1.0, 0.40, 0.84, 0.88),
    40: (2.0, 0.43, 0.86, 0.89),
}


def train_entry(step: int, epoch: float, loss: float, grad_norm: float, lr: float) -> dict:
    return {"epoch": epoch, "grad_norm": grad_norm, "learning_rate": lr, "loss": loss, "step": step}


def eval_entry(step: int, prefix: str = "eval") -> dict:
    epoch, loss, acc, f1 = EVAL[step]
    return {
        "epoch": epoch,
        f"{prefix}_accuracy": acc,
        f"{prefix}_f1": f1,
        f"{prefix}_loss": loss,
        f"{prefix}_runtime": 1.2,
        f"{prefix}_samples_per_second": 340.0,
        f"{prefix}_steps_per_second": 42.5,
        "step": step,
    }


SUMMARY = {
    "epoch": 2.0, "step": 40, "total_flos": 1315286016000.0, "train_loss": 0.461025,
    "train_runtime": 55.1, "train_samples_per_second": 58.076, "train_steps_per_second": 0.726,
}


def history_until(step: int, final: bool) -> list[dict]:
    out: list[dict] = []
    for entry in TRAIN:
        if entry[0] > step:
            break
        out.append(train_entry(*entry))
        if entry[0] in EVAL:
            out.append(eval_entry(entry[0]))
    if final:
        # trainer.evaluate(test_ds, metric_key_prefix="test")
        out.append(eval_entry(40, prefix="test"))
        out.append(dict(SUMMARY))
    return out


def state(step: int, final: bool, best: bool = True) -> TrainerState:
    s = TrainerState(
        epoch=step / 20,
        global_step=step,
        max_steps=40,
        logging_steps=10,
        eval_steps=20,
        save_steps=20,
        train_batch_size=8,
        num_train_epochs=2,
        total_flos=SUMMARY["total_flos"] * step / 40,
        log_history=history_until(step, final),
    )
    if best:  # metric_for_best_model="loss": eval_loss was lowest at step 20
        s.best_metric = 0.40
        s.best_global_step = 20
        s.best_model_checkpoint = "outputs/full/checkpoint-20"
    return s


def save_metrics(out: Path, split: str, metrics: dict) -> None:
    """What Trainer.save_metrics writes: <split>_results.json and the union all_results.json."""
    with open(out / f"{split}_results.json", "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=4, sort_keys=True)
    path = out / "all_results.json"
    all_metrics = json.loads(path.read_text()) if path.exists() else {}
    all_metrics.update(metrics)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(all_metrics, f, indent=4, sort_keys=True)


def tiny_config() -> BertConfig:
    return BertConfig(
        vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, finetuning_task="mrpc",
        architectures=["BertForSequenceClassification"],
        id2label={0: "not_equivalent", 1: "equivalent"},
        label2id={"not_equivalent": 0, "equivalent": 1},
    )


def lfs_pointer(path: Path) -> str:
    return subprocess.run(
        ["git", "lfs", "pointer", f"--file={path}"], check=True, capture_output=True, text=True
    ).stdout


def fresh(name: str) -> Path:
    out = HERE / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


def make_full() -> None:
    out = fresh("full")
    config = tiny_config()
    for step in (20, 40):
        ckpt = out / f"checkpoint-{step}"
        config.save_pretrained(ckpt)
        state(step, final=False).save_to_json(str(ckpt / "trainer_state.json"))
    config.save_pretrained(out)
    final = state(40, final=True)
    final.save_to_json(str(out / "trainer_state.json"))
    train_metrics = {k: v for k, v in SUMMARY.items() if k != "step"}
    train_metrics["train_samples"] = 1600
    save_metrics(out, "train", train_metrics)
    eval_metrics = {k: v for k, v in eval_entry(20).items() if k != "step"}  # best model loaded
    eval_metrics["epoch"] = 2.0
    eval_metrics["eval_samples"] = 408
    save_metrics(out, "eval", eval_metrics)

    _, eval_lines, eval_results = parse_log_history(final.log_history)
    summary = TrainingSummary(
        model_name="bert-tiny-mrpc",
        language="en",
        license="apache-2.0",
        tags=["generated_from_trainer"],
        finetuned_from="google-bert/bert-base-uncased",
        tasks="text-classification",
        dataset=["glue"],
        dataset_tags=["glue"],
        dataset_args=["mrpc"],
        dataset_metadata=[{"config": "mrpc", "split": "validation"}],
        eval_results=eval_results,
        eval_lines=eval_lines,
        hyperparameters={
            "learning_rate": 5e-05, "train_batch_size": 8, "eval_batch_size": 8, "seed": 42,
            "optimizer": "Use adamw_torch with betas=(0.9,0.999) and epsilon=1e-08",
            "lr_scheduler_type": "linear", "num_epochs": 2,
        },
    )
    (out / "README.md").write_text(summary.to_model_card(), encoding="utf-8")


def make_minimal() -> None:
    """Only trainer_state.json, from a run stopped at step 30 (no summary entry, no best)."""
    out = fresh("minimal")
    s = state(30, final=False, best=False)
    s.log_history = [train_entry(*e) for e in TRAIN[:3]]
    s.save_to_json(str(out / "trainer_state.json"))


def make_broken_json() -> None:
    """A trainer_state.json cut off mid-write, next to a good checkpoint-20 state."""
    out = fresh("broken_json")
    (out / "checkpoint-20").mkdir()
    state(20, final=False).save_to_json(str(out / "checkpoint-20" / "trainer_state.json"))
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "trainer_state.json"
        state(40, final=True).save_to_json(str(full))
        text = full.read_text()
    (out / "trainer_state.json").write_text(text[: len(text) // 2], encoding="utf-8")


def make_lfs_pointer() -> None:
    """A clone without ``git lfs pull``: trainer_state.json and the weights are pointers."""
    out = fresh("lfs_pointer")
    tiny_config().save_pretrained(out)
    with tempfile.TemporaryDirectory() as tmp:
        real_state = Path(tmp) / "trainer_state.json"
        state(40, final=True).save_to_json(str(real_state))
        (out / "trainer_state.json").write_text(lfs_pointer(real_state))
        weights = Path(tmp) / "model.safetensors"
        weights.write_bytes(bytes(range(256)) * 4096)  # 1 MiB stand-in for the weights
        (out / "model.safetensors").write_text(lfs_pointer(weights))


# PEFT's LoraConfig as PeftConfigMixin.save_pretrained writes it (json, indent 2, sorted keys).
# peft itself imports torch, which this venv does not have: the dict is its to_dict() for
# LoraConfig(r=8, lora_alpha=16, target_modules=["query", "value"], lora_dropout=0.1,
# task_type="SEQ_CLS") on google-bert/bert-base-uncased (peft 0.21), written out by hand.
ADAPTER = {
    "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "google-bert/bert-base-uncased",
    "bias": "none", "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True,
    "layers_pattern": None, "layers_to_transform": None, "lora_alpha": 16, "lora_dropout": 0.1,
    "modules_to_save": ["classifier", "score"], "peft_type": "LORA", "r": 8, "rank_pattern": {},
    "revision": None, "target_modules": ["value", "query"], "task_type": "SEQ_CLS", "use_dora": False,
    "use_rslora": False,
}


def make_peft_events() -> None:
    """A LoRA run (adapter_config.json, no card, no config.json) with checkpoints and the
    TensorBoard event file that report_to="tensorboard" writes (tensorboardX's SummaryWriter,
    the writer transformers' TensorBoardCallback falls back to without torch)."""
    from tensorboardX import SummaryWriter

    out = fresh("peft_events")
    state(40, final=True).save_to_json(str(out / "trainer_state.json"))
    (out / "adapter_config.json").write_text(json.dumps(ADAPTER, indent=2, sort_keys=True) + "\n")
    for step in (20, 40):
        ckpt = out / f"checkpoint-{step}"
        ckpt.mkdir()
        state(step, final=False).save_to_json(str(ckpt / "trainer_state.json"))
        (ckpt / "adapter_config.json").write_text(json.dumps(ADAPTER, indent=2, sort_keys=True) + "\n")
    writer = SummaryWriter(str(out / "runs" / "lora-run"))
    for step, _epoch, loss, _gn, _lr in TRAIN:
        writer.add_scalar("train/loss", loss, step)
    writer.close()


if __name__ == "__main__":
    make_peft_events()
    make_full()
    make_minimal()
    make_broken_json()
    make_lfs_pointer()
