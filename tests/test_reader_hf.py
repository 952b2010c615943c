"""The Hugging Face Trainer reader on output dirs written with transformers 5.23.0's classes."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import shutil
from array import array
from collections.abc import Mapping
from pathlib import Path

import fsspec
import pytest

from mlreport.model import (
    Artifact,
    Dataset,
    DatasetRef,
    Goal,
    Metric,
    MetricGoal,
    MetricHistory,
    ModelVersion,
    Problem,
    Record,
    RegisteredModel,
    Run,
    RunStatus,
)
from mlreport.readers import ReadOptions
from mlreport.readers.hf import (
    _STATE_TYPES,
    HfTrainerReader,
    _history_span,
    _series,
    _state_value_fault,
    card_hyperparameters,
    lfs_pointer,
    split_front_matter,
)
from mlreport.stores import Store, open_store

from .conftest import DATA, to_memory

HF = DATA / "hf"
CASES = ("full", "minimal", "broken_json", "lfs_pointer", "peft_events")
READER = HfTrainerReader()


def read(case: str, store: Store | None = None, **options: object) -> list[Record]:
    store = store or open_store(str(HF))
    return list(READER.read(store, case, ReadOptions(**options)))  # type: ignore[arg-type]


def only(records: list[Record], kind: type) -> list:  # type: ignore[type-arg]
    return [r for r in records if isinstance(r, kind)]


def the_run(records: list[Record]) -> Run:
    (run,) = only(records, Run)
    return run


def metric(run: Run, key: str):  # type: ignore[no-untyped-def]
    m = run.metric(key)
    assert m is not None, key
    return m


_ids = itertools.count()


def memory_store(files: Mapping[str, bytes | str]) -> Store:
    """A hand-made store: {relative path: content}."""
    fs = fsspec.filesystem("memory")
    prefix = f"/hf-handmade-{os.getpid()}-{next(_ids)}"
    for rel, content in files.items():
        fs.pipe_file(f"{prefix}/{rel}", content.encode() if isinstance(content, str) else content)
    return open_store(f"memory://{prefix}")


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_detects_every_fixture_output_dir(case: str) -> None:
    assert READER.detect(open_store(str(HF)), case)


def test_does_not_detect_other_dirs() -> None:
    assert not READER.detect(open_store(str(DATA)), "hf")
    assert not READER.detect(open_store(str(DATA)), "tensorboard/logdir")


def test_detects_results_with_config_and_checkpoint_only_dirs() -> None:
    store = memory_store({
        "a/config.json": "{}", "a/eval_results.json": '{"eval_loss": 0.5}',
        "b/checkpoint-5/trainer_state.json": "{}",
        "c/config.json": "{}",
    })
    assert READER.detect(store, "a")
    assert READER.detect(store, "b")
    assert not READER.detect(store, "c")


# --- full: a finished run with checkpoints and a model card ----------------------------------


def test_full_run_identity_status_and_origin() -> None:
    run = the_run(read("full"))
    assert (run.key, run.id, run.name) == ("hf:full", "full", "bert-tiny-mrpc")
    assert run.status is RunStatus.FINISHED
    assert run.start_time is None and run.end_time is None and run.user is None
    assert run.experiment_key is None
    assert run.origin.path == "full/trainer_state.json" and run.origin.format == "hf"


def test_full_run_metric_histories_over_steps() -> None:
    run = the_run(read("full"))
    loss = metric(run, "loss")
    assert list(loss.history.steps) == [10, 20, 30, 40]
    assert list(loss.history.values) == [0.6931, 0.5123, 0.3512, 0.2875]
    assert list(loss.history.timestamps) == [-1, -1, -1, -1]
    assert loss.final_timestamp is None
    eval_loss = metric(run, "eval_loss")
    assert (eval_loss.count, eval_loss.final, eval_loss.final_step) == (2, 0.43, 40)
    assert (eval_loss.minimum, eval_loss.minimum_step) == (0.40, 20)
    assert metric(run, "eval_accuracy").final == 0.86
    assert metric(run, "test_loss").count == 1 and metric(run, "test_f1").final == 0.89
    epoch = metric(run, "epoch")  # the epoch of every entry, duplicates at one step dropped
    assert list(epoch.history.steps) == [10, 20, 30, 40]
    assert list(epoch.history.values) == [0.5, 1.0, 1.5, 2.0]
    for key, grad in (("grad_norm", 1.95), ("learning_rate", 1e-05)):
        assert metric(run, key).count == 4 and metric(run, key).final == grad


def test_full_run_summary_entry_and_results_files() -> None:
    run = the_run(read("full"))
    assert metric(run, "train_runtime").final == 55.1
    assert metric(run, "train_loss").final == 0.461025
    assert metric(run, "total_flos").final == 1315286016000.0
    # only in *_results.json: single values at the last step, no history
    samples = metric(run, "train_samples")
    assert (samples.final, samples.final_step, samples.count) == (1600.0, 40, 1)
    assert samples.history is None
    assert metric(run, "eval_samples").final == 408.0
    # a key with a history keeps it: all_results.json's eval_loss (best model, 0.4) does not win
    assert metric(run, "eval_loss").final == 0.43
    assert [m.key for m in run.metrics] == sorted(m.key for m in run.metrics)
    assert len(run.metrics) == 25  # 23 from the state and results, 2 from the card's model-index
    assert metric(run, "accuracy (glue/mrpc/validation)").final == 0.86


def test_full_run_params_from_state_card_and_config() -> None:
    run = the_run(read("full"))
    assert {k: run.params[k] for k in (
        "train_batch_size", "num_train_epochs", "max_steps", "logging_steps", "eval_steps",
        "save_steps",
    )} == {"train_batch_size": "8", "num_train_epochs": "2", "max_steps": "40",
           "logging_steps": "10", "eval_steps": "20", "save_steps": "20"}
    assert run.params["learning_rate"] == "5e-05"
    assert run.params["seed"] == "42"
    assert run.params["optimizer"] == "Use adamw_torch with betas=(0.9,0.999) and epsilon=1e-08"
    assert run.params["lr_scheduler_type"] == "linear"
    assert run.params["config.architectures"] == '["BertForSequenceClassification"]'
    assert run.params["config.model_type"] == "bert"
    assert run.params["config.finetuning_task"] == "mrpc"
    assert run.params["config.transformers_version"] == "5.23.0"
    assert run.params["config.hidden_size"] == "32"
    assert run.params["config.num_hidden_layers"] == "2"
    assert run.params["config.num_labels"] == "2"
    assert run.params["config.id2label"] == '{"0": "not_equivalent", "1": "equivalent"}'
    assert "config.label2id" not in run.params and "config.pad_token_id" not in run.params
    assert list(run.params) == sorted(run.params)


def test_full_run_tags() -> None:
    run = the_run(read("full"))
    assert dict(run.tags) == {
        "hf.base_model": "google-bert/bert-base-uncased",
        "hf.best_global_step": "20",
        "hf.best_metric": "0.4",
        "hf.best_model_checkpoint": "outputs/full/checkpoint-20",
        "hf.epoch": "2.0",
        "hf.global_step": "40",
        "hf.is_hyper_param_search": "false",
        "hf.language": "en",
        "hf.library_name": "transformers",
        "hf.license": "apache-2.0",
        "hf.tags": "generated_from_trainer",
    }


def test_full_dataset_lineage() -> None:
    records = read("full")
    (ds,) = only(records, Dataset)
    assert ds == Dataset(key="glue", name="glue", origin=ds.origin, source_type="hugging_face",
                         source="glue")
    assert ds.origin.path == "full/README.md"
    assert the_run(records).inputs == (
        DatasetRef("glue", "evaluation", {"args": "mrpc", "config": "mrpc", "split": "validation"}),
        DatasetRef("glue", "training", {}),
    )


def test_full_checkpoints_are_model_versions_with_best_alias() -> None:
    records = read("full")
    (model,) = only(records, RegisteredModel)
    assert model.name == "bert-tiny-mrpc" and dict(model.aliases) == {"best": "checkpoint-20"}
    assert model.origin.path == "full/README.md"
    versions = only(records, ModelVersion)
    assert [(v.model, v.version, v.aliases, dict(v.tags)) for v in versions] == [
        ("bert-tiny-mrpc", "checkpoint-20", ("best",), {"hf.epoch": "1.0", "hf.step": "20"}),
        ("bert-tiny-mrpc", "checkpoint-40", (), {"hf.epoch": "2.0", "hf.step": "40"}),
        ("bert-tiny-mrpc", "final", (), {"hf.epoch": "2.0", "hf.step": "40"}),
    ]
    assert {v.run_key for v in versions} == {"hf:full"}
    assert [v.source for v in versions] == ["full/checkpoint-20", "full/checkpoint-40", "full"]
    assert [v.origin.path for v in versions] == ["full/checkpoint-20", "full/checkpoint-40", "full"]


def test_checkpoint_versions_show_the_metrics_logged_by_their_step() -> None:
    versions = {v.version: v for v in only(read("full"), ModelVersion)}
    at20 = {m.key: (m.final, m.final_step) for m in versions["checkpoint-20"].metrics}
    # eval_loss 0.4 at step 20 is the best checkpoint's value, not the run's final 0.43
    assert at20["eval_loss"] == (0.4, 20) and at20["loss"] == (0.5123, 20)
    assert "train_runtime" not in at20 and "test_accuracy" not in at20  # logged later
    assert versions["checkpoint-20"].metrics[0].history is None  # charts come from the run
    at40 = {m.key: m for m in versions["checkpoint-40"].metrics}
    assert (at40["eval_loss"].final, at40["eval_loss"].minimum, at40["eval_loss"].count) == (0.43, 0.4, 2)
    assert versions["final"].metrics == ()  # the output dir is the run's own result


def test_checkpoint_metrics_helper_cuts_each_history_at_the_step() -> None:
    from mlreport.readers.hf import _checkpoint_metrics

    loss = Metric.from_history("loss", MetricHistory.from_points([(5, -1, 3.0), (10, -1, 2.0), (15, -1, 1.0)]))
    late = Metric.from_history("late", MetricHistory.from_points([(12, -1, 9.0)]))
    got = _checkpoint_metrics({"loss": loss, "late": late, "single": Metric.single("single", 1.0)}, [4, 10, 14])
    assert {n: [(m.key, m.final, m.count) for m in ms] for n, ms in got.items()} == {
        4: [],
        10: [("loss", 2.0, 2)],
        14: [("late", 9.0, 1), ("loss", 2.0, 2)],
    }


def test_full_artifacts_are_every_file_with_its_size() -> None:
    run = the_run(read("full"))
    expected = sorted(
        (p.relative_to(HF / "full").as_posix(), p.stat().st_size)
        for p in (HF / "full").rglob("*") if p.is_file()
    )
    assert sorted((a.path, a.size) for a in run.artifacts) == expected
    assert len(run.artifacts) == 10


def test_full_reads_no_problem_and_records_come_in_order() -> None:
    records = read("full")
    assert only(records, Problem) == []
    assert [type(r).__name__ for r in records] == [
        "MetricGoal", "Dataset", "Run", "RegisteredModel", "ModelVersion", "ModelVersion", "ModelVersion",
    ]


def test_reading_the_output_dir_as_store_root_gives_the_same_keys() -> None:
    records = list(READER.read(open_store(str(HF / "full")), "", ReadOptions()))
    run = the_run(records)
    assert (run.key, run.id, run.name) == ("hf:full", "full", "bert-tiny-mrpc")
    assert [v.source for v in only(records, ModelVersion)][-1] == "."


def test_history_false_drops_the_arrays_but_keeps_the_summary() -> None:
    run = the_run(read("full", history=False))
    loss = metric(run, "loss")
    assert loss.history is None and (loss.final, loss.count, loss.minimum) == (0.2875, 4, 0.2875)


# --- minimal ---------------------------------------------------------------------------------


def test_minimal_dir_with_only_trainer_state() -> None:
    records = read("minimal")
    assert [type(r).__name__ for r in records] == ["Run"]
    run = the_run(records)
    assert (run.key, run.name, run.status) == ("hf:minimal", "minimal", RunStatus.UNKNOWN)
    assert [m.key for m in run.metrics] == ["epoch", "grad_norm", "learning_rate", "loss"]
    assert all(m.count == 3 and m.final_step == 30 for m in run.metrics)
    assert metric(run, "loss").final == 0.3512
    assert dict(run.tags) == {"hf.epoch": "1.5", "hf.global_step": "30",
                              "hf.is_hyper_param_search": "false"}
    assert run.params["train_batch_size"] == "8" and run.inputs == ()
    assert run.artifacts == (Artifact("trainer_state.json", 896, None, "minimal/trainer_state.json"),)


# --- broken ----------------------------------------------------------------------------------


def test_broken_json_is_a_problem_and_the_checkpoint_state_stands_in() -> None:
    records = read("broken_json")
    (problem,) = only(records, Problem)
    assert problem.origin.path == "broken_json/trainer_state.json"
    assert problem.reason == "not valid JSON: Unterminated string starting at (line 47, column 7)"
    assert problem.message() == (
        "cannot read broken_json/trainer_state.json: "
        "not valid JSON: Unterminated string starting at (line 47, column 7)"
    )
    run = the_run(records)
    assert run.status is RunStatus.UNKNOWN
    assert metric(run, "loss").count == 2 and metric(run, "eval_loss").final == 0.4
    assert run.tags["hf.global_step"] == "20"
    (version,) = only(records, ModelVersion)
    assert (version.model, version.version) == ("broken_json", "checkpoint-20")
    assert version.aliases == ("best",)
    assert records[-1] == problem


def test_lfs_pointer_trainer_state_is_a_problem_not_parsed() -> None:
    records = read("lfs_pointer")
    (problem,) = only(records, Problem)
    assert problem.origin.path == "lfs_pointer/trainer_state.json"
    assert problem.reason == (
        "git-lfs pointer, not the file "
        "(oid sha256:c5f86c60a7d1b2c19090e608a9f673e72e5d7868fd33a8d2bb1fcc2ac05de866, size 1964)"
    )
    run = the_run(records)
    assert run.metrics == () and run.status is RunStatus.UNKNOWN
    assert run.params["config.model_type"] == "bert"
    assert run.tags["hf.git_lfs_pointers"] == (
        "model.safetensors: 1048576 bytes (pointer 132 bytes); "
        "trainer_state.json: 1964 bytes (pointer 129 bytes)"
    )
    assert run.artifacts == (  # a pointer is listed as a pointer: its own size, the declared one in the note
        Artifact("config.json", 827, None, "lfs_pointer/config.json"),  # where its bytes are (previews)
        Artifact("model.safetensors", 132, note="Git LFS pointer (declared 1.0 MB, not fetched)"),
        Artifact("trainer_state.json", 129, note="Git LFS pointer (declared 2.0 kB, not fetched)"),
    )
    (version,) = only(records, ModelVersion)
    assert (version.model, version.version, dict(version.tags)) == ("lfs_pointer", "final", {})


def test_human_size_and_lfs_note() -> None:
    from mlreport.readers.hf import human_size, lfs_note

    assert [human_size(n) for n in (0, 999, 1000, 5_700_000_000, 999_950, 10**18)] == [
        "0 bytes", "999 bytes", "1.0 kB", "5.7 GB", "1.0 MB", "1000.0 PB",
    ]
    assert lfs_note(("sha256:x", 5_700_000_000)) == "Git LFS pointer (declared 5.7 GB, not fetched)"
    assert lfs_note(("sha256:x", None)) == "Git LFS pointer (not fetched)"


def test_lfs_pointer_parser() -> None:
    text = (HF / "lfs_pointer" / "model.safetensors").read_bytes()
    assert lfs_pointer(text) == (
        "sha256:fbbab289f7f94b25736c58be46a994c441fd02552cc6022352e3d86d2fab7c83", 1048576
    )
    assert lfs_pointer(b'{"version": 1}') is None
    assert lfs_pointer(b"version https://git-lfs.github.com/spec/v1\n" + b"x" * 2000) is None


def test_handmade_damage_is_reported_and_reading_goes_on() -> None:
    state = {"global_step": 3, "log_history": [
        {"loss": 1.0, "step": 1}, {"loss": 0.5}, "junk", {"loss": 0.25, "step": 3},
    ]}
    store = memory_store({
        "out/trainer_state.json": json.dumps(state),
        "out/README.md": "---\nmodel-index: [unclosed\n---\n# card\n",
        "out/config.json": "[1, 2]",
        "out/all_results.json": b"\xff\xfe not utf-8",
    })
    records = list(READER.read(store, "out", ReadOptions()))
    problems = sorted((p.origin.path, p.reason) for p in only(records, Problem))
    assert problems == [
        ("out/README.md", "invalid YAML front matter at line 2"),
        ("out/all_results.json", "not UTF-8 text"),
        ("out/config.json", "not a JSON object"),
        ("out/trainer_state.json", "2 log_history entries have no step; skipped"),
    ]
    run = the_run(records)
    assert list(metric(run, "loss").history.steps) == [1, 3]


def test_model_index_results_are_keyed_by_dataset_split_and_type() -> None:
    card = """---
base_model: [org/a, org/b]
datasets: imdb
model-index:
- name: my-model
  results:
  - task: {type: text-classification}
    dataset: {name: IMDB, type: imdb, split: test}
    metrics:
    - {type: accuracy, value: 0.9}
    - {type: rouge1, value: 41.5}
    - {type: note, value: n/a}
    - {type: f1, name: F1 macro, value: 0.7}
    - {type: f1, name: F1 micro, value: 0.8}
  - task: {type: text-classification}
    dataset: {name: IMDB, type: imdb, split: validation}
    metrics:
    - {type: accuracy, value: 0.92}
---
## Training hyperparameters
- seed: 7
"""
    state = {"global_step": 12, "log_history": [{"eval_accuracy": 0.88, "step": 12}]}
    store = memory_store({"m/README.md": card, "m/trainer_state.json": json.dumps(state)})
    run = the_run(list(READER.read(store, "m", ReadOptions())))
    assert run.name == "my-model"
    assert {m.key: m.final for m in run.metrics if m.key != "eval_accuracy"} == {
        "accuracy (imdb/test)": 0.9,  # the test and the validation value both survive
        "accuracy (imdb/validation)": 0.92,
        "rouge1 (imdb/test)": 41.5,
        "f1 (imdb/test) · F1 macro": 0.7,  # one type, two names: the name tells them apart
        "f1 (imdb/test) · F1 micro": 0.8,
    }
    assert metric(run, "rouge1 (imdb/test)").final_step == 12
    assert metric(run, "eval_accuracy").final == 0.88  # the Trainer's own value stands beside them
    assert run.tags["hf.base_model"] == "org/a, org/b"
    assert run.params["seed"] == "7"
    assert run.inputs == (DatasetRef("imdb", "evaluation", {"split": "test"}),
                          DatasetRef("imdb", "evaluation", {"split": "validation"}),
                          DatasetRef("imdb", "training", {}))


def test_model_index_metrics_are_judged_by_their_type_and_are_key_metrics_before_counters(tmp_path: Path) -> None:
    # the card names what was measured (the Hub's metric type) but no direction: the type's word
    # decides (wer: lower is better), the page says so, and the card's results are the run's key
    # metrics rather than the Trainer's runtime and throughput counters (issue 8)
    from mlreport.catalog import key_metrics, read_catalog
    from mlreport.config import Config, SourceConfig

    card = """---
model-index:
- name: asr
  results:
  - task: {type: automatic-speech-recognition}
    dataset: {name: LibriSpeech, type: librispeech_asr, split: test}
    metrics:
    - {type: wer, value: 0.12}
---
"""
    state = {"global_step": 10, "log_history": [
        {"eval_wer": 0.2, "eval_runtime": 3.5, "eval_samples_per_second": 80.0, "eval_steps_per_second": 9.0, "step": 10},
    ]}
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "README.md").write_text(card)
    (tmp_path / "m" / "trainer_state.json").write_text(json.dumps(state))
    catalog = read_catalog(Config(sources=(SourceConfig(str(tmp_path / "m")),)))
    key = "wer (librispeech_asr/test)"
    assert (catalog.goal(key), catalog.goal_source(key)) == ("min", "name vocabulary")
    assert catalog.best(metric(catalog.runs[0], key)) == (0.12, 10)
    assert key not in catalog.declared_goals  # a card declares no direction
    assert key_metrics(catalog, catalog.runs) == ["eval_wer", key]


def test_card_metric_keys_name_the_task_only_when_there_are_several() -> None:
    from mlreport.readers.hf import _card_metric_keys

    found = [(("summarization", "cnn", "3.0.0", "test", "rouge1", "ROUGE-1"), 40.0),
             (("translation", "wmt", "", "", "bleu", ""), 30.0),
             (("translation", "wmt", "", "", "bleu", ""), 31.0)]
    assert _card_metric_keys(found) == [
        ("summarization: rouge1 (cnn/3.0.0/test)", 40.0),
        ("translation: bleu (wmt)", 30.0),  # stated twice: the first stands
    ]
    assert _card_metric_keys([(("", "", "", "", "accuracy", "Accuracy"), 0.5)]) == [("accuracy", 0.5)]


def test_front_matter_and_hyperparameter_helpers() -> None:
    assert split_front_matter("---\na: 1\n---\nbody") == ("a: 1", "body")
    assert split_front_matter("# no front matter") == (None, "# no front matter")
    assert split_front_matter("---\nnever closed") == (None, "---\nnever closed")
    body = "### Training hyperparameters\n\n- lr: 0.1\n- seed: 3\n\n### Training results\n- x: 1\n"
    assert card_hyperparameters(body) == {"lr": "0.1", "seed": "3"}


# --- memory:// -------------------------------------------------------------------------------


def _without_store(record: Record) -> Record:
    return dataclasses.replace(record, origin=dataclasses.replace(record.origin, store="-"))  # type: ignore[type-var]


@pytest.mark.parametrize("case", CASES)
def test_memory_store_reads_the_same_as_local(case: str) -> None:
    remote_store = open_store(to_memory(HF))
    local = read(case)
    remote = read(case, store=remote_store)
    assert remote and all(r.origin.store.startswith("memory://") for r in remote)  # type: ignore[union-attr]
    assert [_without_store(r) for r in remote] == [_without_store(r) for r in local]


# --- corpus-like shapes ----------------------------------------------------------------------


def test_v4_config_name_or_path_is_the_base_model_without_a_card() -> None:
    config = {"_name_or_path": "google/vit-base-patch16-224-in21k", "model_type": "vit"}
    store = memory_store({"o/config.json": json.dumps(config), "o/train_results.json": "{}"})
    run = the_run(list(READER.read(store, "o", ReadOptions())))
    assert run.tags["hf.base_model"] == "google/vit-base-patch16-224-in21k"
    assert run.params["config._name_or_path"] == "google/vit-base-patch16-224-in21k"
    local = memory_store({"o/config.json": json.dumps({"_name_or_path": "./output/x"})})
    assert "hf.base_model" not in the_run(list(READER.read(local, "o", ReadOptions()))).tags


# --- hostile input (issue 11) ----------------------------------------------------------------


def _laughs_yaml(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_hostile_files_are_problems_and_the_rest_is_read() -> None:
    state = {
        "global_step": 2**70,
        "log_history": [{"loss": 1.0, "step": 1}, {"loss": 0.5, "step": 1e300}, {"eval_x": 10**400, "step": 2}],
    }
    store = memory_store({
        "out/trainer_state.json": json.dumps(state),
        "out/README.md": "---\n" + _laughs_yaml() + "---\n# card\n",
        "out/config.json": '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "out/eval_results.json": '{"eval_acc": ' + "9" * 5000 + "}",
    })
    records = list(READER.read(store, "out", ReadOptions()))
    problems = sorted((p.origin.path, p.reason) for p in only(records, Problem))
    assert problems == [
        ("out/README.md", "YAML front matter refused: YAML aliases expand to more than 1,000,000 nodes"),
        ("out/config.json", "not valid JSON: JSON nested too deep"),
    ]
    run = the_run(records)
    assert list(metric(run, "loss").history.steps) == [1, 2**63 - 1]  # clamped to int64
    assert metric(run, "eval_acc").final == math.inf  # 5,000 digits: a float past the range
    assert metric(run, "eval_x").final == math.inf  # 10**400: past the float range, an infinity
    assert run.tags["hf.global_step"] == str(2**70)


@pytest.mark.parametrize("huge", [10**400, -(10**400)], ids=["1e400", "-1e400"])
def test_an_integer_past_the_float_range_is_an_infinity_of_its_sign(huge: int) -> None:
    """JSON integers have no range: 10**400 in log_history, all_results.json or a card metric is
    the infinity of its sign, the one rule of _common.json_number (every reader), not dropped."""
    state = {"global_step": 2, "log_history": [{"loss": 1.0, "huge": 1.5, "step": 1}, {"loss": huge, "huge": huge, "step": 2}]}
    card = "---\nmodel-index:\n- name: out\n  results:\n  - task: {type: text-classification}\n"
    card += f"    metrics:\n    - {{type: accuracy, name: Accuracy, value: {huge}}}\n---\n"
    store = memory_store({
        "out/trainer_state.json": json.dumps(state),
        "out/all_results.json": json.dumps({"eval_big": huge, "train_runtime": 1.0}),
        "out/README.md": card,
    })
    records = list(READER.read(store, "out", ReadOptions()))
    assert only(records, Problem) == []
    run = the_run(records)
    inf = math.copysign(math.inf, 1 if huge > 0 else -1)
    assert list(metric(run, "loss").history.values) == [1.0, inf]
    assert list(metric(run, "huge").history.values) == [1.5, inf]
    assert metric(run, "eval_big").final == inf
    assert metric(run, "accuracy").final == inf  # the card's model-index value


def test_an_unexpected_fault_is_one_problem_naming_the_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlreport.readers import hf

    def boom(*_a: object, **_k: object) -> object:
        raise OverflowError("planted")

    monkeypatch.setattr(hf, "_config_params", boom)
    store = memory_store({"out/trainer_state.json": '{"global_step": 1}', "out/config.json": "{}"})
    records = list(READER.read(store, "out", ReadOptions()))
    assert [(p.origin.path, p.reason) for p in only(records, Problem)] == [
        ("out/trainer_state.json", "cannot read: OverflowError: planted")
    ]


# --- declared goals (issue 8) ---------------------------------------------------------------


def test_best_metric_in_the_state_declares_which_way_is_better() -> None:
    records = read("full")
    (goal,) = only(records, MetricGoal)
    assert (goal.key, goal.goal, goal.origin.path) == ("eval_loss", Goal.MIN, "full/trainer_state.json")
    assert goal.detail == "trainer_state.json: best_metric 0.4 at step 20 is the lowest eval_loss"


def test_training_args_json_declares_the_goal_exactly() -> None:
    args = {"metric_for_best_model": "wer", "greater_is_better": False, "output_dir": "x"}
    state = {"global_step": 2, "best_metric": 0.9, "best_global_step": 2,
             "log_history": [{"eval_wer": 0.5, "step": 1}, {"eval_wer": 0.9, "step": 2}]}
    store = memory_store({"o/trainer_state.json": json.dumps(state), "o/training_args.json": json.dumps(args)})
    (goal,) = only(list(READER.read(store, "o", ReadOptions())), MetricGoal)
    assert (goal.key, goal.goal) == ("eval_wer", Goal.MIN)
    assert goal.detail == "training_args.json: metric_for_best_model=wer, greater_is_better=false"


@pytest.mark.parametrize(
    "history",
    [
        [{"eval_a": 0.5, "eval_b": 0.5, "step": 2}, {"eval_a": 0.1, "eval_b": 0.9, "step": 4}],  # two fit
        [{"eval_a": 0.5, "step": 2}, {"eval_a": 0.5, "step": 4}],  # a constant series says nothing
        [{"eval_a": 0.3, "step": 2}, {"eval_a": 0.1, "step": 4}, {"eval_a": 0.9, "step": 6}],  # neither end
    ],
    ids=["ambiguous", "constant", "not-an-extreme"],
)
def test_no_goal_is_inferred_when_the_state_is_not_conclusive(history: list[dict[str, float]]) -> None:
    state = {"global_step": 6, "best_metric": history[0]["eval_a"], "best_model_checkpoint": "o/checkpoint-2",
             "log_history": history}
    store = memory_store({"o/trainer_state.json": json.dumps(state)})
    assert only(list(READER.read(store, "o", ReadOptions())), MetricGoal) == []


def test_peft_adapter_config_and_event_file_date() -> None:
    """peft_events: trainer_state.json by TrainerState, the event file by tensorboardX's
    SummaryWriter, adapter_config.json in PEFT's format (make_fixtures.py)."""
    run = the_run(read("peft_events"))
    assert run.start_time == 1796164938000  # events.out.tfevents.1796164938.<host>: epoch seconds, UTC
    assert run.end_time is None  # not in a file name; mtimes are not used
    assert {k: v for k, v in run.params.items() if k.startswith("peft.")} == {
        "peft.base_model_name_or_path": "google-bert/bert-base-uncased",
        "peft.bias": "none",
        "peft.init_lora_weights": "true",
        "peft.lora_alpha": "16",
        "peft.lora_dropout": "0.1",
        "peft.modules_to_save": '["classifier", "score"]',
        "peft.peft_type": "LORA",
        "peft.r": "8",
        "peft.target_modules": '["query", "value"]',  # sorted: PEFT saves a set in no fixed order
        "peft.task_type": "SEQ_CLS",
        "peft.use_dora": "false",
        "peft.use_rslora": "false",
    }
    assert (run.tags["hf.base_model"], run.tags["hf.base_model_relation"]) == ("google-bert/bert-base-uncased", "adapter")


def test_the_cards_base_model_wins_over_the_adapters() -> None:
    # the card is the author's word; adapter_config.json's base is only the fallback
    adapter = {"peft_type": "LORA", "r": 4, "base_model_name_or_path": "org/adapter-base"}
    state = {"global_step": 1, "log_history": [{"loss": 0.5, "step": 1}]}
    card = "---\nbase_model: org/card-base\n---\n# card\n"
    files = {"o/adapter_config.json": json.dumps(adapter), "o/trainer_state.json": json.dumps(state)}
    run = the_run(list(READER.read(memory_store({**files, "o/README.md": card}), "o", ReadOptions())))
    assert run.tags["hf.base_model"] == "org/card-base" and run.params["peft.base_model_name_or_path"] == "org/adapter-base"
    bare = the_run(list(READER.read(memory_store(files), "o", ReadOptions())))
    assert (bare.tags["hf.base_model"], bare.tags["hf.base_model_relation"]) == ("org/adapter-base", "adapter")


def test_checkpoint_dirs_and_file_times_date_nothing(tmp_path: Path) -> None:
    # "dates from event files or checkpoint dirs where present": a checkpoint-N dir holds no time
    # (its name is a step; trainer_state.json has none), and mtimes are not the store's word
    # (a copy or checkout sets them): a dir without event files has no dates, whatever its mtimes
    out = tmp_path / "full"
    shutil.copytree(HF / "full", out)
    for i, path in enumerate(sorted(out.rglob("*"))):
        os.utime(path, (1_600_000_000 + i * 3600, 1_600_000_000 + i * 3600))
    records = list(READER.read(open_store(str(tmp_path)), "full", ReadOptions()))
    run = the_run(records)
    assert (run.start_time, run.end_time) == (None, None)
    versions = only(records, ModelVersion)
    assert len(versions) == 3 and {v.created for v in versions} == {None}


def test_event_file_times_helper() -> None:
    from mlreport.readers.hf import _event_file_times

    files = [("runs/a/events.out.tfevents.1796164938.vm", 10), ("runs/b/events.out.tfevents.1796000000.h.12.0", 5),
             ("runs/c/events.out.tfevents.x.h", 1), ("notes.txt", 3)]
    assert _event_file_times(files) == (1796000000000, None)
    assert _event_file_times([]) == (None, None)


def test_a_state_without_a_usable_log_history_falls_back_to_the_newest_checkpoint() -> None:
    """Fuzz finding F3: a damaged top-level state costs what a missing one costs."""
    good = {"global_step": 20, "log_history": [{"loss": 0.5, "step": 20}]}
    store = memory_store({
        "o/trainer_state.json": json.dumps({"global_step": 40, "log_history": ""}),
        "o/checkpoint-20/trainer_state.json": json.dumps(good),
    })
    records = list(READER.read(store, "o", ReadOptions()))
    assert [(p.origin.path, p.reason) for p in only(records, Problem)] == [
        ("o/trainer_state.json", "no usable log_history; checkpoint-20/trainer_state.json's is shown")
    ]
    assert metric(the_run(records), "loss").final == 0.5


# --- F18: the newest checkpoint's state stands in for what the top-level state lost ------------


def _case_files(case: str) -> dict[str, bytes]:
    root = HF / case
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _trainer_json(state: object) -> bytes:
    # how transformers' TrainerState.save_to_json writes it: the fast path compares these bytes
    return (json.dumps(state, indent=2, sort_keys=True) + "\n").encode()


def _points(run: Run) -> set[tuple[str, int]]:
    return {(m.key, s) for m in run.metrics if m.history is not None for s in m.history.steps}


def _newest_checkpoint_state(files: Mapping[str, bytes]) -> tuple[str, dict[str, object]]:
    names = [rel for rel in files if rel.startswith("checkpoint-") and rel.endswith("/trainer_state.json")]
    rel = max(names, key=lambda r: int(r.split("/")[0].split("-")[1]))
    return rel, json.loads(files[rel])


@pytest.mark.parametrize("case", ["full", "peft_events"])
def test_a_damaged_top_level_point_is_taken_from_the_newest_checkpoint(case: str) -> None:
    """Fuzz finding F18 (seed 2 cases 660, 2637, 3381, 6436): a value swapped for one of another
    type or a key renamed in the top-level log_history lost a point the checkpoint's state has.
    Every (entry, key) the newest checkpoint also has is damaged in turn."""
    files = _case_files(case)
    top = json.loads(files["trainer_state.json"])
    ckpt_rel, ckpt = _newest_checkpoint_state(files)
    pristine = the_run(read(case))
    wanted = _points(pristine)
    shared = len(ckpt["log_history"])  # type: ignore[arg-type]
    checked = 0
    for i in range(shared):
        for key in sorted(top["log_history"][i]):
            if key == "step":
                continue
            for damage in (True, None, "x", [1], {"a": 1}, "rename"):
                state = json.loads(files["trainer_state.json"])
                entry = state["log_history"][i]
                if damage == "rename":
                    entry[key[:1] + "[" + key[2:]] = entry.pop(key)
                else:
                    entry[key] = damage
                records = list(
                    READER.read(memory_store({**files, "trainer_state.json": _trainer_json(state)}), "", ReadOptions())
                )
                run = the_run(records)
                assert wanted <= _points(run), (i, key, damage)
                step = top["log_history"][i]["step"]
                elsewhere = any(key in e and e["step"] == step for j, e in enumerate(top["log_history"]) if j != i)
                expected = (
                    []
                    if elsewhere
                    else [("trainer_state.json", f"1 log_history point(s) missing here; taken from {ckpt_rel}")]
                )
                assert [(p.origin.path, p.reason) for p in only(records, Problem)] == expected, (i, key, damage)
                checked += 1
    assert checked > 20


@pytest.mark.parametrize("case", ["full", "peft_events"])
def test_a_renamed_setting_is_taken_from_the_newest_checkpoint(case: str) -> None:
    """Seed 2 cases 5937, 8382: best_global_step or train_batch_size renamed in the top-level
    state lost the tag or param the checkpoint's state has."""
    files = _case_files(case)
    ckpt_rel, ckpt = _newest_checkpoint_state(files)
    pristine = the_run(read(case))
    for key in ("train_batch_size", "best_global_step", "num_train_epochs"):
        state = json.loads(files["trainer_state.json"])
        if key not in state or key not in ckpt:
            continue
        state[f"{key}_renamed"] = state.pop(key)
        records = list(
            READER.read(memory_store({**files, "trainer_state.json": _trainer_json(state)}), "", ReadOptions())
        )
        run = the_run(records)
        assert set(pristine.params) <= set(run.params) and set(pristine.tags) <= set(run.tags), key
        assert ("trainer_state.json", f"no {key}; {ckpt_rel}'s is shown") in [
            (p.origin.path, p.reason) for p in only(records, Problem)
        ]


@pytest.mark.parametrize("case", ["full", "peft_events"])
def test_damage_to_a_state_value_is_a_problem_and_the_same_step_checkpoint_stands_in(case: str) -> None:
    """Fuzz seed 3 case 98719: the key 'epoch' of the top-level state renamed (to a 1 MB one)
    lost hf.epoch silently, although the newest checkpoint's state, of the step training ended
    at, has it. The class: every key read from the state, renamed or given a value of the wrong
    type or a huge text, is a Problem naming the file and the key, and the checkpoint's value
    stands in where it is of that step (or, for the settings, of any earlier step)."""
    files = _case_files(case)
    ckpt_rel, ckpt = _newest_checkpoint_state(files)
    top = json.loads(files["trainer_state.json"])
    pristine = the_run(read(case))
    checked = 0
    for key in sorted(k for k in _STATE_TYPES if top.get(k) is not None and ckpt.get(k) is not None):
        wrong = "x" * 1_000_000 if not isinstance(top[key], str) else ["a list"]
        for damage, reason in (
            ("rename", f"no {key}; {ckpt_rel}'s is shown"),
            (wrong, f"{_state_value_fault(key, wrong)}; {ckpt_rel}'s is shown"),
        ):
            state = json.loads(files["trainer_state.json"])
            if damage == "rename":
                state["x" * 1_000_000] = state.pop(key)
            else:
                state[key] = damage
            records = list(
                READER.read(memory_store({**files, "trainer_state.json": _trainer_json(state)}), "", ReadOptions())
            )
            run = the_run(records)
            assert (run.params, run.tags) == (pristine.params, pristine.tags), (key, str(damage)[:10])
            assert [(p.origin.path, p.reason) for p in only(records, Problem)] == [("trainer_state.json", reason)]
            checked += 1
    assert checked >= 12


def test_a_wrongly_typed_state_value_without_a_stand_in_is_kept_as_text_with_a_problem() -> None:
    state = {
        "global_step": 20,
        "epoch": "x" * 1_000_000,
        "train_batch_size": True,
        "best_model_checkpoint": "c" * 5_000,
        "is_hyper_param_search": 0,
        "log_history": [{"loss": 0.5, "step": 20}],
    }
    records = list(READER.read(memory_store({"o/trainer_state.json": _trainer_json(state)}), "o", ReadOptions()))
    run = the_run(records)
    assert run.tags["hf.epoch"] == "x" * 1_000_000 and run.params["train_batch_size"] == "true"
    assert sorted(p.reason for p in only(records, Problem) if p.origin.path == "o/trainer_state.json") == [
        "best_model_checkpoint is 5,000 characters of text; kept as text",
        "epoch is text, not a number; kept as text",
        "is_hyper_param_search is a number, not true/false; kept as text",
        "train_batch_size is true/false, not a number; kept as text",
    ]


def test_an_earlier_checkpoint_does_not_stand_in_for_the_epoch() -> None:
    # checkpoint-20 is of step 20, training ended at 40: its epoch understates where it ended
    ckpt = {"global_step": 20, "epoch": 1.0, "train_batch_size": 8, "log_history": [{"loss": 0.9, "step": 20}]}
    top = {"global_step": 40, "log_history": [{"loss": 0.9, "step": 20}, {"loss": 0.8, "step": 40}]}
    store = memory_store(
        {"o/trainer_state.json": _trainer_json(top), "o/checkpoint-20/trainer_state.json": _trainer_json(ckpt)}
    )
    records = list(READER.read(store, "o", ReadOptions()))
    run = the_run(records)
    assert "hf.epoch" not in run.tags and run.params["train_batch_size"] == "8"
    assert [p.reason for p in only(records, Problem)] == ["no train_batch_size; checkpoint-20/trainer_state.json's is shown"]


def test_the_byte_compare_and_the_full_parse_give_the_same_run() -> None:
    # Compact JSON (not the Trainer's indent=2) takes the full parse of the checkpoint's state.
    files = _case_files("full")
    compact = {
        rel: json.dumps(json.loads(data)).encode() if rel.endswith("trainer_state.json") else data
        for rel, data in files.items()
    }
    fast = list(READER.read(memory_store(files), "", ReadOptions()))
    slow = list(READER.read(memory_store(compact), "", ReadOptions()))
    assert only(fast, Problem) == [] and only(slow, Problem) == []
    a, b = the_run(fast), the_run(slow)
    assert (a.metrics, a.params, a.tags) == (b.metrics, b.params, b.tags)
    # and the fixture as the Trainer wrote it does take the byte compare
    top, ckpt = files["trainer_state.json"], files["checkpoint-40/trainer_state.json"]
    top_span, span = _history_span(top), _history_span(ckpt)
    assert top_span is not None and span is not None
    assert top[top_span[0] : top_span[1]].startswith(ckpt[span[0] : span[1]])
    assert _history_span(compact["trainer_state.json"]) is None


def test_a_checkpoint_newer_than_the_final_state_is_not_used() -> None:
    # An earlier training into the same dir left checkpoint-40; this one ended at step 20.
    old = {
        "global_step": 40,
        "train_batch_size": 8,
        "log_history": [{"loss": 0.9, "step": 30}, {"loss": 0.8, "step": 40}],
    }
    new = {"global_step": 20, "log_history": [{"loss": 0.5, "step": 20}]}
    store = memory_store(
        {"o/trainer_state.json": _trainer_json(new), "o/checkpoint-40/trainer_state.json": _trainer_json(old)}
    )
    records = list(READER.read(store, "o", ReadOptions()))
    run = the_run(records)
    assert _points(run) == {("loss", 20)} and "train_batch_size" not in run.params
    assert only(records, Problem) == []


# --- F19: the model card's name survives damage its front matter parses past ------------------


@pytest.mark.parametrize("damage", ["deep_plain_scalar", "byte_in_body"])
def test_a_damaged_card_that_still_parses_keeps_the_model_and_its_name(damage: str) -> None:
    """Fuzz finding F19 (seed 2 cases 890, 1110) is a rename, not a loss: the harness's
    reference (README.md removed) names the model by its dir ('full'); the damaged card still
    parses, so the model keeps its model-index name, and every version stays."""
    files = _case_files("full")
    card = files["README.md"]
    if damage == "deep_plain_scalar":
        mutated = card.replace(b"type: text-classification", b"type: f" + b"[" * 300, 1)
    else:
        at = card.index(b"learning_rate: ")
        mutated = card[: at + 6] + b"\xff" + card[at + 6 :]
    assert mutated != card
    pristine = read("full")
    records = list(READER.read(memory_store({**files, "README.md": mutated}), "", ReadOptions()))
    assert [m.name for m in only(records, RegisteredModel)] == [m.name for m in only(pristine, RegisteredModel)]
    assert [m.name for m in only(records, RegisteredModel)] == ["bert-tiny-mrpc"]
    assert [v.version for v in only(records, ModelVersion)] == [v.version for v in only(pristine, ModelVersion)]
    assert the_run(records).name == "bert-tiny-mrpc"
    removed = {rel: data for rel, data in files.items() if rel != "README.md"}
    without = list(READER.read(memory_store(removed), "", ReadOptions()))
    assert [v.version for v in only(without, ModelVersion)] == [v.version for v in only(pristine, ModelVersion)]


# --- F22: damage to README.md never costs more than its removal -------------------------------


def _proven(records: list[Record]) -> set[tuple[object, ...]]:
    """What the folder proves, whatever the card says: the run with its params, tags, metrics,
    points and artifacts, one model named like the run and every version of it. The model's
    name is left out: a card that still parses names it (F19: a rename, not a loss)."""
    (run,) = only(records, Run)
    out: set[tuple[object, ...]] = {("run", run.key)}
    out |= {("param", k) for k in run.params} | {("tag", k) for k in run.tags}
    out |= {("artifact", a.path) for a in run.artifacts if a.path != "README.md"}
    for m in run.metrics:
        out.add(("metric", m.key))
        if m.history is not None:
            out |= {("point", m.key, s, repr(v)) for s, v in zip(m.history.steps, m.history.values, strict=True)}
    models = only(records, RegisteredModel)
    assert [m.name for m in models] == [run.name]
    out |= {("version", v.version, v.run_key) for v in only(records, ModelVersion) if v.model == run.name}
    return out


def _card_damages(card: bytes) -> list[tuple[str, bytes]]:
    """Values a YAML safe loader builds beyond JSON in every field the reader takes from the
    card, names that cannot name a model, and byte damage all along the file."""
    values = [
        b"2024-01-01", b"2024-01-01 10:00:00", b"!!binary aGVsbG8=", b"!!set {a, b}", b"{1: a, b: c}",
        b"{d: 2024-01-01}", b"&self [*self]", b"!!omap [a: 1]", b"[2024-01-01, {2: x}]", b"{}", b"[]", b"~",
    ]
    fields = [b"library_name: transformers", b"license: apache-2.0", b"- en", b"- glue\n",
              b"base_model: google-bert/bert-base-uncased", b"name: Text Classification",
              b"type: text-classification", b"config: mrpc", b"split: validation", b"args: mrpc",
              b"type: accuracy", b"value: 0.86", b"- name: bert-tiny-mrpc", b"      type: glue"]
    out = []
    for old in fields:
        assert old in card, old
        lead, _, _ = old.partition(b":") if b":" in old else (b"-", b"", b"")
        for value in values:
            new = lead + (b": " if b":" in old else b" ") + value + (b"\n" if old.endswith(b"\n") else b"")
            out.append((f"{old!r} -> {value!r}", card.replace(old, new, 1)))
    for name in (b"'   '", b"{a: 1}", b"[x]", b"!!binary aGVsbG8=", b"''"):
        out.append((f"name {name!r}", card.replace(b"- name: bert-tiny-mrpc", b"- name: " + name, 1)))
    for at in range(0, len(card), 29):
        out.append((f"cut at {at}", card[:at]))
    for at in range(0, len(card), 61):
        for byte in (b"[", b'"', b"&", b"*", b":", b"\t", b"\xff", b"{"):
            out.append((f"{byte!r} at {at}", card[:at] + byte + card[at + 1 :]))
    return out


def test_damage_to_the_card_never_costs_more_than_removing_it() -> None:
    """Fuzz finding F22 (seed 3; the class): a value in the card's front matter that YAML types
    beyond JSON (a date in a dataset's config, !!binary, !!set, keys of several types, an alias
    inside its own anchor) raised out of the output dir's read, and the run, the model and its
    three versions were lost, where a folder without README.md keeps them all. Every damage
    here keeps at least what removal keeps (the model under the card's name, or the folder's)."""
    files = _case_files("full")
    removed = {rel: data for rel, data in files.items() if rel != "README.md"}
    reference = _proven(list(READER.read(memory_store(removed), "", ReadOptions())))
    assert len([f for f in reference if f[0] == "version"]) == 3  # the versions removal keeps
    damages = _card_damages(files["README.md"])
    assert len(damages) > 400
    for label, card in damages:
        records = list(READER.read(memory_store({**files, "README.md": card}), "", ReadOptions()))
        proven = _proven(records)
        missing = {f for f in reference - proven if f[0] != "run" and f[0] != "version"}
        assert not missing, (label, sorted(missing, key=repr)[:5])
        run_key = the_run(records).key
        assert {f[1] for f in proven if f[0] == "version" and f[2] == run_key} == {
            f[1] for f in reference if f[0] == "version"
        }, label
        for problem in only(records, Problem):
            assert problem.origin.path == "README.md", (label, problem)


def test_a_model_index_name_that_is_not_text_leaves_the_folder_s_name() -> None:
    files = _case_files("full")
    for name, shown in ((b"'   '", "'   '"), (b"{a: 1}", "{'a': 1}"), (b"[x]", "['x']")):
        card = files["README.md"].replace(b"- name: bert-tiny-mrpc", b"- name: " + name, 1)
        records = list(READER.read(memory_store({**files, "README.md": card}), "", ReadOptions()))
        run = the_run(records)
        assert run.name == run.id and [m.name for m in only(records, RegisteredModel)] == [run.id]
        assert [(p.origin.path, p.reason) for p in only(records, Problem)] == [
            ("README.md", f"model-index name {shown} is not a name; the folder's name is used")
        ]
    # a number or a date is a name as written
    card = files["README.md"].replace(b"- name: bert-tiny-mrpc", b"- name: 2024-01-01", 1)
    records = list(READER.read(memory_store({**files, "README.md": card}), "", ReadOptions()))
    assert the_run(records).name == "2024-01-01" and only(records, Problem) == []


def test_yaml_values_beyond_json_in_the_card_are_their_text() -> None:
    files = _case_files("full")
    card = files["README.md"].replace(b"config: mrpc", b"config: 2024-01-01", 1)
    card = card.replace(b"args: mrpc", b"args: !!set {b, a}", 1)
    records = list(READER.read(memory_store({**files, "README.md": card}), "", ReadOptions()))
    run = the_run(records)
    (ref,) = [r for r in run.inputs if r.context == "evaluation"]
    assert dict(ref.tags) == {"config": "2024-01-01", "split": "validation", "args": '["a", "b"]'}
    assert "accuracy (glue/2024-01-01/validation)" in {m.key for m in run.metrics}
    assert only(records, Problem) == []


_NAN = float("nan")
_COLUMNS = [
    ([10, 20, 30], [0.5, 0.25, 0.75]),  # increasing: the fast path
    ([10, 10, 20, 20, 30], [0.1, 0.1, 0.2, 0.2, 0.3]),  # epoch as the Trainer logs it
    ([10, 10, 20], [0.3, 0.1, 0.2]),  # two values at a step, out of order
    ([30, 10, 20, 10], [1.0, 2.0, 3.0, 2.0]),  # steps out of order, a duplicate
    ([10, 20, 30], [0.5, _NAN, 0.25]),  # NaN: left out of the minimum and maximum
    ([10, 10, 20], [_NAN, 0.5, 0.5]),
    ([10, 20], [_NAN, _NAN]),
    ([10, 20, 30], [math.inf, -math.inf, 1.0]),  # sums to NaN without a NaN
    ([10, 20, 30], [0.0, -0.0, 0.0]),  # equal values: the first of them is the minimum
    ([10, 20, 30, 40], [2.0, 1.0, 1.0, 2.0]),
    ([5], [3.0]),
]


@pytest.mark.parametrize(("steps", "values"), _COLUMNS)
@pytest.mark.parametrize("stamped", [False, True])
def test_metric_from_columns_is_from_history_of_the_points(steps: list[int], values: list[float], stamped: bool) -> None:
    # Metric.from_columns is the readers' fast path (issue 12): it must build what the general
    # path (every point sorted by its key, duplicates dropped) builds, NaN and -0.0 included.
    stamps = [1000 + 7 * i for i in range(len(steps))] if stamped else None
    points = list(zip(steps, stamps or [-1] * len(steps), values, strict=True))
    expected = Metric.from_history("k", MetricHistory.from_points(points))
    got = Metric.from_columns("k", list(steps), stamps, list(values))
    assert repr(got) == repr(expected)
    assert got.history == expected.history
    via_columns = MetricHistory.from_columns(list(steps), [p[1] for p in points], list(values))
    assert repr(via_columns) == repr(expected.history)


# --- the series builder (issue 12) --------------------------------------------------------------

_COLUMNS = [
    ([10, 20, 30], [0.5, 0.25, 0.125]),  # the usual column
    ([10, 10, 20, 20, 30], [0.1, 0.1, 0.2, 0.2, 0.3]),  # epoch: in the training and the eval entry
    ([10, 10, 20], [0.0, -0.0, 1.0]),  # equal points, the first kept (its sign shows in repr)
    ([10, 10, 20], [-0.0, 0.0, 1.0]),
    ([10, 10, 20], [1.0, 2.0, 3.0]),  # one step, two values: sorted by value
    ([30, 20, 10], [3.0, 2.0, 1.0]),  # steps back
    ([10, 20, 10], [1.0, 2.0, 1.0]),
    ([10, 20, 30], [1.0, math.nan, 0.5]),  # NaN is no minimum
    ([10, 10, 20], [math.nan, math.nan, 1.0]),
    ([10, 20], [math.inf, -math.inf]),  # their sum is NaN
    ([10, 20, 30], [2.0, 1.0, 1.0]),  # the first lowest
    ([500], [1.5e9]),
]


@pytest.mark.parametrize(("steps", "values"), _COLUMNS)
def test_series_is_what_from_columns_builds(steps: list[int], values: list[float]) -> None:
    got = _series("m", list(steps), list(values), [], {})
    want = Metric.from_columns("m", list(steps), None, list(values))
    assert repr(got) == repr(want)
    assert got.history is not None and want.history is not None
    assert repr(list(got.history.values)) == repr(list(want.history.values))


def test_series_share_the_arrays_of_equal_steps() -> None:
    steps_seen: list[tuple[list[int], array[int]]] = []
    stamps: dict[int, array[int]] = {}
    loss = _series("loss", [10, 20, 30], [3.0, 2.0, 1.0], steps_seen, stamps)
    grad = _series("grad_norm", [10, 20, 30], [5.0, 4.0, 6.0], steps_seen, stamps)
    other = _series("eval_loss", [15, 25, 35], [2.0, 1.0, 0.5], steps_seen, stamps)
    assert loss.history is not None and grad.history is not None and other.history is not None
    assert grad.history.steps is loss.history.steps and grad.history.timestamps is loss.history.timestamps
    assert list(other.history.steps) == [15, 25, 35]
    assert repr(grad) == repr(Metric.from_columns("grad_norm", [10, 20, 30], None, [5.0, 4.0, 6.0]))
    assert repr(other) == repr(Metric.from_columns("eval_loss", [15, 25, 35], None, [2.0, 1.0, 0.5]))
