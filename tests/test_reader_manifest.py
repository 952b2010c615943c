"""The mlreport manifest reader, its schema and its validation messages, on hand-written fixtures."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import re
import shutil
import sys
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path

import fsspec
import pytest
import yaml

from mlreport.catalog import discover, read_catalog, version_sort_key
from mlreport.config import Config, SourceConfig
from mlreport.model import (
    Artifact,
    Dataset,
    DatasetRef,
    Experiment,
    GitInfo,
    Metric,
    ModelVersion,
    Problem,
    Record,
    RegisteredModel,
    Run,
    RunStatus,
)
from mlreport.readers import ReadOptions, available_readers
from mlreport.readers import manifest as manifest_module
from mlreport.readers.manifest import (
    ManifestError,
    ManifestReader,
    dataset_name,
    is_manifest_name,
    load_manifest,
    manifest_schema,
    parse_history,
    parse_time,
    validate_manifest,
)
from mlreport.stores import Store, open_store

from .conftest import DATA, ROOT, to_memory

MANIFEST = DATA / "manifest"
READER = ManifestReader()
VALID = ("basic", "json_with_csv", "wide_csv", "jsonl_history", "several")
BROKEN = ("bad_metric_type", "missing_run_id", "yaml_syntax", "missing_history", "bad_history", "many_errors")
CASES = (*VALID, *BROKEN, "parent_child/sweep-42", "parent_child/sweep-42-trial-3")
STORE = open_store(str(MANIFEST))


def read(case: str, store: Store | None = None, **options: object) -> list[Record]:
    return list(READER.read(store or STORE, case, ReadOptions(**options)))  # type: ignore[arg-type]


def only(records: list[Record], kind: type) -> list:  # type: ignore[type-arg]
    return [r for r in records if isinstance(r, kind)]


def the_run(records: list[Record]) -> Run:
    (run,) = only(records, Run)
    return run


def metric(run: Run, key: str) -> Metric:
    m = run.metric(key)
    assert m is not None, key
    return m


def reasons(records: list[Record]) -> list[tuple[str, str]]:
    return [(p.origin.path, p.reason) for p in only(records, Problem)]


_ids = itertools.count()


def memory_store(files: Mapping[str, bytes | str]) -> Store:
    """A hand-made store: {relative path: content}."""
    fs = fsspec.filesystem("memory")
    prefix = f"/manifest-handmade-{os.getpid()}-{next(_ids)}"
    for rel, content in files.items():
        fs.pipe_file(f"{prefix}/{rel}", content.encode() if isinstance(content, str) else content)
    return open_store(f"memory://{prefix}")


def read_files(files: Mapping[str, bytes | str], path: str = "d", **options: object) -> list[Record]:
    return list(READER.read(memory_store(files), path, ReadOptions(**options)))  # type: ignore[arg-type]


MINIMAL = "mlreport_manifest: 1\nrun: {id: r1}\n"


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_detects_every_fixture_folder(case: str) -> None:
    assert READER.detect(STORE, case)


@pytest.mark.parametrize(
    "path",
    ["basic/mlreport.yaml", "json_with_csv/mlreport.json", "several/2026-02-01.mlreport.yaml"],
)
def test_detects_single_manifest_files(path: str) -> None:
    assert READER.detect(STORE, path)


@pytest.mark.parametrize(
    "path", ["_config_file", "_config_file/mlreport.yaml", "parent_child", "json_with_csv/history.csv"]
)
def test_does_not_detect_config_files_or_parents(path: str) -> None:
    assert not READER.detect(STORE, path)


def test_manifest_names() -> None:
    assert all(map(is_manifest_name, ("mlreport.yaml", "MLREPORT.JSON", "a.mlreport.yaml", "b.mlreport.json")))
    assert not any(is_manifest_name(n) for n in ("mlreport.yml", "x.mlreport.yml", "mlreport.yaml.bak", "report.yaml"))
    assert all(n.endswith(READER.file_suffixes) for n in ("mlreport.yaml", "x.mlreport.json"))
    assert READER.detects_dirs and not READER.owns_subtree


def test_detects_minified_and_indented_json() -> None:
    store = memory_store(
        {
            "a/mlreport.json": '{"run":{"id":"x"},"mlreport_manifest":1}',
            "b/mlreport.json": '{\n  "run": {"id": "x"},\n  "mlreport_manifest": 1\n}',
            "c/mlreport.yaml": "# mlreport_manifest is mentioned only in a comment\nrun: {id: x}\n",
        }
    )
    assert READER.detect(store, "a") and READER.detect(store, "b")
    assert not READER.detect(store, "c")


def test_the_reader_is_registered() -> None:
    assert isinstance(available_readers()["manifest"], ManifestReader)
    assert READER.label == "mlreport manifest"


# --- valid cases -----------------------------------------------------------------------------


def test_basic_run() -> None:
    records = read("basic")
    assert reasons(records) == []
    run = the_run(records)
    origin_path = "basic/mlreport.yaml"
    assert run.key == "manifest:argo-churn-train-7f3k2"
    assert run.id == "argo-churn-train-7f3k2"
    assert run.name == "churn-xgb nightly 2026-03-02"
    assert run.origin.path == origin_path and run.origin.format == "manifest"
    assert run.experiment_key == "manifest-exp:churn-nightly"
    assert run.status is RunStatus.FINISHED
    assert run.start_time == 1772413200000  # 2026-03-02T01:00:00Z
    assert run.end_time == 1772415750250  # 01:42:30.250Z
    assert run.user == "ci-bot"
    assert run.description == "Nightly retraining on the last 90 days of account events."
    assert dict(run.tags) == {"team": "growth", "scheduler": "argo", "retries": "0"}
    assert dict(run.params) == {
        "max_depth": "6",
        "learning_rate": "0.05",
        "n_estimators": "400",
        "objective": "binary:logistic",
        "early_stopping": "true",
        "features.window_days": "90",
        "features.include_support_tickets": "true",
        "eval_metrics": '["auc", "logloss"]',
    }
    assert list(run.params) == sorted(run.params)
    assert run.parent_key is None
    assert run.git == GitInfo(
        commit="4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        branch="main",
        repo_url="https://git.example.com/ml/churn.git",
        dirty=False,
    )
    assert run.artifacts == (
        Artifact("model/model.ubj", 1843200),
        Artifact("model/feature_list.json", 2210),
        Artifact("reports/shap_summary.png", None),
    )
    assert run.artifact_uri is None


def test_basic_metrics_merge_finals_and_inline_history() -> None:
    run = the_run(read("basic"))
    assert [m.key for m in run.metrics] == ["test_auc", "val_auc", "val_logloss"]
    auc = metric(run, "val_auc")
    assert auc.history is not None and list(auc.history.steps) == [100, 200, 300, 400]
    assert list(auc.history.timestamps) == [-1, -1, -1, -1]
    assert (auc.final, auc.final_step, auc.count, auc.minimum) == (0.912, 400, 4, 0.871)
    loss = metric(run, "val_logloss")
    assert loss.history is not None
    assert list(loss.history.timestamps) == [1772413800000, 1772414400000, 1772415000000, 1772415600000]
    assert (loss.final, loss.final_timestamp, loss.minimum, loss.minimum_step) == (0.241, 1772415600000, 0.241, 400)
    test_auc = metric(run, "test_auc")  # no history: one point at the run's last step
    assert (test_auc.final, test_auc.final_step, test_auc.count, test_auc.history) == (0.905, 400, 1, None)


def test_basic_datasets_and_inputs() -> None:
    records = read("basic")
    # a manifest's dataset is identified by its URI and digest (issue 8), named for the page
    train_key = "gs://acme-ml/features/churn/2026-03-01/train.parquet@9c1185a5c5e9fc54612808977ee8f548"
    assert only(records, Dataset) == [
        Dataset(
            key=train_key,
            name="train.parquet",
            origin=the_run(records).origin,
            digest="9c1185a5c5e9fc54612808977ee8f548",
            source_type="gs",
            source="gs://acme-ml/features/churn/2026-03-01/train.parquet",
        ),
        Dataset(
            key="gs://acme-ml/features/churn/holdout/",
            name="churn-holdout",
            origin=the_run(records).origin,
            source_type="gs",
            source="gs://acme-ml/features/churn/holdout/",
        ),
    ]
    assert the_run(records).inputs == (
        DatasetRef(train_key, "training"),
        DatasetRef("gs://acme-ml/features/churn/holdout/", "evaluation"),
    )


def test_basic_model_version_and_card() -> None:
    records = read("basic")
    (experiment,) = only(records, Experiment)
    assert (experiment.key, experiment.id, experiment.name) == ("manifest-exp:churn-nightly",) + ("churn-nightly",) * 2
    (model,) = only(records, RegisteredModel)
    assert model.name == "churn-classifier" and dict(model.aliases) == {"champion": "7"}
    (version,) = only(records, ModelVersion)
    assert (version.model, version.version, version.stage, version.aliases) == (
        "churn-classifier",
        "7",
        "production",
        ("champion",),
    )
    assert version.run_key == "manifest:argo-churn-train-7f3k2"
    assert version.description == "Gradient-boosted trees over 42 account features."
    assert dict(version.tags) == {
        "model_card.intended_use": "Rank accounts by their risk of cancelling within 30 days, "
        "for the retention team's outreach list.",
        "model_card.limitations": "Trained on EU accounts only. Not calibrated for accounts younger than 14 days.\n",
        "model_card.license": "proprietary",
    }
    kinds = [type(r).__name__ for r in records]
    assert kinds == ["Experiment", "Dataset", "Dataset", "Run", "RegisteredModel", "ModelVersion"]


def test_reading_the_file_is_reading_its_folder() -> None:
    assert read("basic/mlreport.yaml") == read("basic")


def test_json_manifest_with_long_csv_history() -> None:
    records = read("json_with_csv")
    assert reasons(records) == []
    run = the_run(records)
    assert run.key == "manifest:intent-bert-2026-03-05-12-01-07-123"
    assert run.status is RunStatus.FINISHED  # written FINISHED
    assert (run.start_time, run.end_time, run.user) == (1772712067000, 1772715667000, "maria")
    assert dict(run.tags) == {"gpu": "A10G", "spot": "true"}
    # label_smoothing is null: kept as the text null (readers/_common.py, docs/readers.md)
    assert dict(run.params) == {
        "base_model": "bert-base-uncased",
        "batch_size": "32",
        "epochs": "2",
        "label_smoothing": "null",
        "learning_rate": "3e-05",
    }
    assert [m.key for m in run.metrics] == ["eval/accuracy", "eval/loss", "train/loss"]
    train = metric(run, "train/loss")
    assert train.history is not None and list(train.history.steps) == [0, 100, 200, 300, 400]
    assert (train.final, train.final_timestamp, train.maximum, train.maximum_step) == (
        0.442,
        1772715487000,
        2.6391,
        0,
    )
    acc = metric(run, "eval/accuracy")
    assert (acc.count, acc.final, acc.minimum, acc.final_step) == (2, 0.874, 0.831, 400)
    assert run.git == GitInfo(commit="a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", branch="exp/lr-sweep")
    assert run.inputs == (DatasetRef("s3://acme-data/support/tickets-2026-02.jsonl@1f3870be274f6c49b3e31a0c6728957f", "training"),)
    (version,) = only(records, ModelVersion)
    assert (version.model, version.version, version.stage, version.aliases) == (
        "support-intent",
        "2026.03.1",
        "staging",
        ("candidate",),
    )
    assert dict(version.tags) == {
        "model_card.intended_use": "Route incoming support tickets to one of 14 queues.",
        "model_card.limitations": "English only.",
    }


def test_wide_csv_history() -> None:
    records = read("wide_csv")
    assert reasons(records) == []
    run = the_run(records)
    assert (run.id, run.name, run.status) == ("20260307-unet-seg", "20260307-unet-seg", RunStatus.FAILED)
    assert run.start_time == 1772871300000  # 2026-03-07 09:15:00+01:00
    assert run.end_time is None
    assert dict(run.params) == {
        "encoder": "resnet34",
        "image_size": "512",
        "optimizer.lr": "0.0003",
        "optimizer.name": "adamw",
        "optimizer.weight_decay": "0.01",
    }
    assert [(m.key, m.count, m.final, m.final_step) for m in run.metrics] == [
        ("loss", 4, 0.431, 4),
        ("val_iou", 2, 0.57, 3),
        ("val_loss", 2, 0.488, 3),
    ]
    loss = metric(run, "loss")
    assert loss.history is not None
    assert list(loss.history.timestamps) == [1772871600000, 1772871900000, 1772872200000, 1772872500000]
    assert only(records, ModelVersion) == [] and only(records, RegisteredModel) == []


def test_jsonl_history_in_a_subfolder_with_times_in_seconds() -> None:
    records = read("jsonl_history")
    assert reasons(records) == []
    run = the_run(records)
    assert (run.start_time, run.end_time) == (1772900000000, 1772903600000)
    ndcg = metric(run, "ndcg@10")
    assert ndcg.history is not None and list(ndcg.history.timestamps) == [
        1772900600500,
        1772901200500,
        1772901800500,
    ]
    assert (ndcg.count, ndcg.final, ndcg.final_step, ndcg.maximum) == (3, 0.431, 3, 0.429)  # the declared final
    assert [(m.key, m.count) for m in run.metrics] == [("ndcg@10", 3), ("train_loss", 3)]
    (version,) = only(records, ModelVersion)
    assert (version.model, version.version, version.aliases) == ("search-ranker", "12", ("shadow",))


def test_several_manifests_in_one_folder() -> None:
    records = read("several")
    assert reasons(records) == []
    runs = only(records, Run)
    assert [r.key for r in runs] == ["manifest:fraud-train-2026-02-01", "manifest:fraud-train-2026-03-01"]
    assert [r.origin.path for r in runs] == ["several/2026-02-01.mlreport.yaml", "several/2026-03-01.mlreport.yaml"]
    assert [dict(r.params) for r in runs] == [{"threshold": "0.8"}, {"threshold": "0.75"}]
    assert [(metric(r, "recall").final) for r in runs] == [0.62, 0.69]
    assert [e.key for e in only(records, Experiment)] == ["manifest-exp:fraud-monthly"]
    assert [d.key for d in only(records, Dataset)] == [
        "s3://acme-data/fraud/labels.parquet@0cc175b9c0f1b6a831c399e269772661",
        "s3://acme-data/fraud/merchant_categories.csv",
    ]
    (model,) = only(records, RegisteredModel)
    # both manifests say champion: the highest version holds it
    assert dict(model.aliases) == {"baseline": "1", "champion": "2"}
    versions = only(records, ModelVersion)
    assert [(v.version, v.aliases, v.run_key, v.description) for v in versions] == [
        ("1", ("baseline",), "manifest:fraud-train-2026-02-01", "First monthly model."),
        ("2", ("champion",), "manifest:fraud-train-2026-03-01", "Adds the merchant-category features."),
    ]


def test_parent_run_in_a_sibling_folder_is_found_and_linked() -> None:
    found = discover(STORE, "parent_child", available_readers())
    assert found == [("manifest", "parent_child/sweep-42"), ("manifest", "parent_child/sweep-42-trial-3")]
    parent = the_run(read("parent_child/sweep-42"))
    child = the_run(read("parent_child/sweep-42-trial-3"))
    assert parent.key == "manifest:sweep-42" and parent.name == "lr sweep"
    assert dict(parent.params) == {"lr": "[0.1, 0.01, 0.001]", "search": "grid"}
    assert child.parent_key == parent.key
    assert child.tags["mlreport.parent_run"] == "sweep-42"
    assert metric(child, "val_loss").final == 0.318


def test_catalog_links_child_to_parent_across_folders() -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(MANIFEST / "parent_child")),)))
    assert catalog.problems == ()
    assert catalog.children_by_run["manifest:sweep-42"] == ("manifest:sweep-42-trial-3",)


def test_catalog_merges_an_experiment_named_in_two_folders() -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(MANIFEST / "parent_child")),)))
    assert [e.key for e in catalog.experiments] == ["manifest-exp:sweeps"]


def test_discovery_finds_every_fixture_and_skips_the_config_file() -> None:
    found = discover(STORE, "", available_readers())
    assert [path for name, path in found if name == "manifest"] == [
        "bad_history",
        "bad_metric_type",
        "basic",
        "goals",
        "json_with_csv",
        "jsonl_history",
        "many_errors",
        "missing_history",
        "missing_run_id",
        "several",
        "wide_csv",
        "yaml_syntax",
        "parent_child/sweep-42",
        "parent_child/sweep-42-trial-3",
    ]


def test_config_file_named_mlreport_yaml_is_not_read_in_a_folder() -> None:
    assert read("_config_file") == []


def test_config_file_read_on_purpose_says_why_it_is_not_a_manifest() -> None:
    assert reasons(read("_config_file/mlreport.yaml")) == [
        (
            "_config_file/mlreport.yaml",
            "missing field 'mlreport_manifest'; missing field 'run'; sources: unknown field; and 1 more",
        )
    ]


# --- broken cases ----------------------------------------------------------------------------


def _chunked_folder() -> dict[str, str]:
    """Seven manifests: a broken one, a duplicate id, a missing history file, a history file
    outside the store, spread so that chunks of two hold problems of parsing and of building."""
    files = {f"d/{i}.mlreport.yaml": f"mlreport_manifest: 1\nrun: {{id: r{i}}}\n" for i in range(7)}
    files["d/1.mlreport.yaml"] = "mlreport_manifest: 1\nrun: [\n"
    files["d/2.mlreport.yaml"] = "mlreport_manifest: 1\nrun: {id: r0}\n"
    files["d/3.mlreport.yaml"] += "history_file: gone.csv\n"
    files["d/5.mlreport.yaml"] = "mlreport_manifest: 1\nrun: {id: r5, name: [x]}\n"
    files["d/6.mlreport.yaml"] += "history_file: ../out.csv\n"
    return files


def test_manifests_are_built_a_chunk_at_a_time_with_the_same_records(monkeypatch: pytest.MonkeyPatch) -> None:
    store = memory_store(_chunked_folder())
    whole = list(READER.read(store, "d", ReadOptions()))
    loaded: list[int] = [0]
    held: list[int] = []
    load, add = manifest_module.load_manifest, manifest_module._add

    def counted_load(name: str, data: bytes) -> object:
        loaded[0] += 1
        return load(name, data)

    def counted_add(out: object, item: object, points: object) -> None:
        held.append(loaded[0])  # manifests parsed when this one's records are built
        add(out, item, points)  # type: ignore[arg-type]

    monkeypatch.setattr(manifest_module, "_CHUNK", 2)
    monkeypatch.setattr(manifest_module, "load_manifest", counted_load)
    monkeypatch.setattr(manifest_module, "_add", counted_add)
    chunked = list(READER.read(store, "d", ReadOptions()))
    assert [repr(r) for r in chunked] == [repr(r) for r in whole]  # problems in the same order too
    # parsing's problems first, then building's, as when every file was parsed before any record
    assert [path for path, _reason in reasons(chunked)] == [f"d/{i}.mlreport.yaml" for i in (1, 5, 2, 3, 6)]
    assert held == [2, 4, 4, 6, 7]  # manifests 0, 2, 3, 4, 6: never more than a chunk parsed ahead


def test_wrong_metric_type_skips_the_manifest() -> None:
    records = read("bad_metric_type")
    assert records == [
        Problem(
            dataclasses.replace(records[0].origin, path="bad_metric_type/mlreport.yaml"),  # type: ignore[union-attr]
            "metrics.loss: expected a number, found a string ('abc')",
        )
    ]
    assert records[0].message() == (  # type: ignore[union-attr]
        "cannot read bad_metric_type/mlreport.yaml: metrics.loss: expected a number, found a string ('abc')"
    )


def test_missing_run_id() -> None:
    assert reasons(read("missing_run_id")) == [("missing_run_id/mlreport.json", "run: missing field 'id'")]
    assert only(read("missing_run_id"), Run) == []


def test_yaml_syntax_error() -> None:
    assert read("yaml_syntax") == [
        Problem(
            read("yaml_syntax")[0].origin,  # type: ignore[union-attr]
            "invalid YAML at line 7, column 1: found unexpected end of stream (while scanning a quoted scalar at line 4)",
        )
    ]
    assert reasons(read("yaml_syntax"))[0][0] == "yaml_syntax/mlreport.yaml"


def test_missing_history_file_keeps_the_run_and_its_inline_history() -> None:
    records = read("missing_history")
    assert reasons(records) == [
        (
            "missing_history/mlreport.yaml",
            "history_file: no such file 'metrics.csv'; the run is kept without its history",
        )
    ]
    rmse = metric(the_run(records), "rmse")
    assert (rmse.count, rmse.final, rmse.maximum) == (2, 4.12, 6.3)


def test_a_bad_history_line_costs_only_itself() -> None:
    records = read("bad_history")
    assert reasons(records) == [
        (
            "bad_history/history.csv",
            "1 line(s) skipped (line 4: value 'n/a' is not a number); the other lines are kept",
        )
    ]
    run = the_run(records)
    mae = metric(run, "mae")  # fuzz finding F4: lines 2, 3 and 5 are kept
    assert (mae.count, mae.final, list(mae.history.steps)) == (3, 12.4, [1, 2, 4])


def test_many_errors_show_the_first_three_in_document_order() -> None:
    assert reasons(read("many_errors")) == [
        (
            "many_errors/mlreport.yaml",
            "run.id: expected a non-empty string; "
            "run.status: expected one of running, scheduled, finished, failed, killed, found a string ('done'); "
            "run.start_time: expected an ISO 8601 time or epoch milliseconds, found a string ('yesterday'); "
            "and 3 more",
        )
    ]
    data = load_manifest("mlreport.yaml", (MANIFEST / "many_errors" / "mlreport.yaml").read_bytes())
    assert validate_manifest(data)[3:] == [
        "model.version: expected a string or an integer, found a number (1.1); write it in quotes",
        "metircs: unknown field (did you mean 'metrics'?)",
        "inputs[0]: missing field 'uri'",
    ]


# --- validation messages ---------------------------------------------------------------------


def _with(**fields: object) -> dict[str, object]:
    data: dict[str, object] = {"mlreport_manifest": 1, "run": {"id": "r"}}
    data.update(fields)
    return data


MESSAGE_CASES: list[tuple[object, list[str]]] = [
    (_with(), []),
    (_with(metrics={"loss": "abc"}), ["metrics.loss: expected a number, found a string ('abc')"]),
    (_with(metrics={"loss": True}), ["metrics.loss: expected a number, found a boolean (true)"]),
    (_with(metrics={"val loss": None}), ["metrics['val loss']: expected a number, found nothing"]),
    ([1, 2], ["expected a mapping, found a list of 2"]),
    ({"run": {"id": "r"}}, ["missing field 'mlreport_manifest'"]),
    (_with(mlreport_manifest=2), ["mlreport_manifest: expected 1, found a number (2)"]),
    (_with(mlreport_manifest="1"), ["mlreport_manifest: expected 1, found a string ('1')"]),
    (_with(run=None), ["run: expected a mapping, found nothing"]),
    (_with(run={"id": 42, "name": 7}), ["run.name: expected a string, found a number (7); write it in quotes"]),
    (
        _with(run={"id": "r", "status": "Finished"}),
        ["run.status: expected one of running, scheduled, finished, failed, killed, found a string ('Finished')"],
    ),
    (
        _with(run={"id": "r", "start_time": "2026-02-30T00:00:00Z"}),
        ["run.start_time: expected an ISO 8601 time or epoch milliseconds, found a string ('2026-02-30T00:00:00Z')"],
    ),
    (
        _with(run={"id": "r", "end_time": True}),
        ["run.end_time: expected an ISO 8601 time or epoch milliseconds, found a boolean (true)"],
    ),
    (_with(run={"id": "r", "nmae": "x", "x-owner": "me"}), ["run.nmae: unknown field (did you mean 'name'?)"]),
    (
        _with(history={"loss": [[1, 0.5], [2, "x"], [3], {"step": 4, "value": 1, "timestamp": "soon"}]}),
        [
            "history.loss[1][1]: expected a number, found a string ('x')",
            "history.loss[2]: expected a [step, value] pair, found a list of 1",
            "history.loss[3].timestamp: expected an ISO 8601 time or epoch milliseconds, found a string ('soon')",
        ],
    ),
    (
        _with(history={"loss": [{"step": 1.5, "value": 1}, {"value": 2}, "x"]}),
        [
            "history.loss[0].step: expected an integer, found a number (1.5)",
            "history.loss[1]: missing field 'step'",
            "history.loss[2]: expected a [step, value] pair or a {step, value, timestamp} mapping, found a string ('x')",
        ],
    ),
    (
        _with(history={"loss": [{"step": 1, "value": 2, "timestamp": "2026-13-01"}]}),
        ["history.loss[0].timestamp: expected an ISO 8601 time or epoch milliseconds, found a string ('2026-13-01')"],
    ),
    (_with(history={"loss": {"step": 1}}), ["history.loss: expected a list, found a mapping"]),
    (_with(model={"name": "m"}), ["model: missing field 'version'"]),
    (
        _with(model={"name": "", "version": "1", "aliases": "champion"}),
        [
            "model.name: expected a non-empty string",
            "model.aliases: expected a list, found a string ('champion')",
        ],
    ),
    (
        _with(inputs=[{"uri": "s3://b/x", "digest": 5}, {"uri": ""}]),
        [
            "inputs[0].digest: expected a string, found a number (5); write it in quotes",
            "inputs[1].uri: expected a non-empty string",
        ],
    ),
    (
        _with(git={"commit": 1234567, "dirty": "no"}),
        [
            "git.commit: expected a string, found a number (1234567); write it in quotes",
            "git.dirty: expected true or false, found a string ('no')",
        ],
    ),
    (
        _with(artifacts=[{"path": "a", "size": -1}, {"size": 3}]),
        [
            "artifacts[0].size: expected at least 0, found a number (-1)",
            "artifacts[1]: missing field 'path'",
        ],
    ),
    (_with(params={"nested": {"a": [1, {"b": None}]}}, **{"x-pipeline": {"any": "thing"}}), []),
    (
        _with(run={"id": "r", "tags": {"a": [1]}}),
        ["run.tags.a: expected a string or a number or true or false, found a list of 1"],
    ),
    (_with(history_file=""), ["history_file: expected a non-empty string"]),
    ("x" * 60, [f"expected a mapping, found a string ('{'x' * 39}…')"]),
]


@pytest.mark.parametrize(("data", "expected"), MESSAGE_CASES)
def test_validation_messages(data: object, expected: list[str]) -> None:
    assert validate_manifest(data) == expected


@pytest.mark.parametrize(("data", "expected"), MESSAGE_CASES)
def test_builtin_checker_says_the_same_as_jsonschema(data: object, expected: list[str]) -> None:
    pytest.importorskip("jsonschema")
    assert manifest_module._validate(data, use_jsonschema=False) == expected
    assert manifest_module._validate(data, use_jsonschema=True) == expected


@pytest.mark.parametrize("case", [*VALID, "many_errors", "bad_metric_type", "missing_run_id"])
def test_builtin_checker_agrees_on_fixtures(case: str) -> None:
    pytest.importorskip("jsonschema")
    for path in sorted((MANIFEST / case).glob("*mlreport.*")):
        data = load_manifest(path.name, path.read_bytes())
        assert manifest_module._validate(data, False) == manifest_module._validate(data, True)


def test_validation_without_jsonschema_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    with_jsonschema = {case: read(case) for case in (*VALID, *BROKEN)}
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # import jsonschema -> ImportError
    with pytest.raises(ImportError):
        import jsonschema  # noqa: F401

    def not_used(data: object) -> None:
        raise AssertionError("jsonschema was used")

    monkeypatch.setattr(manifest_module, "_jsonschema_errors", not_used)
    assert validate_manifest(_with(metrics={"loss": "abc"})) == [
        "metrics.loss: expected a number, found a string ('abc')"
    ]
    assert {case: read(case) for case in (*VALID, *BROKEN)} == with_jsonschema


def test_long_inline_history_is_checked_quickly_and_still_exactly() -> None:
    points = [[i, i / 10] for i in range(20000)]
    points[12345] = [12345, "bad"]
    assert validate_manifest(_with(history={"loss": points})) == [
        "history.loss[12345][1]: expected a number, found a string ('bad')"
    ]


# --- the schema ------------------------------------------------------------------------------


def test_schema_is_published_in_the_package_and_valid() -> None:
    text = files("mlreport.schemas").joinpath("manifest.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    assert schema == manifest_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)


def _schema_fields() -> list[str]:
    schema = manifest_schema()
    defs = schema["$defs"]
    out = []
    for key, sub in schema["properties"].items():
        out.append(key)
        target = defs[sub["$ref"].rsplit("/", 1)[-1]] if "$ref" in sub else sub
        if key in ("inputs", "artifacts"):
            target = defs[sub["items"]["$ref"].rsplit("/", 1)[-1]]
            out.extend(f"{key}[].{k}" for k in target["properties"])
        else:
            out.extend(f"{key}.{k}" for k in target.get("properties", {}))
    return out


DOC = (ROOT / "docs" / "manifest.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", _schema_fields())
def test_every_field_is_documented(name: str) -> None:
    assert f"`{name}`" in DOC


def _code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.S)


def test_the_documented_examples_are_valid_manifests() -> None:
    examples = [yaml.load(b, Loader=manifest_module._Loader) for b in _code_blocks("yaml")]
    examples += [json.loads(b) for b in _code_blocks("json")]
    assert len(examples) == 3
    for example in examples:
        assert validate_manifest(example) == []
    store = memory_store(
        {
            "a/mlreport.yaml": _code_blocks("yaml")[0],
            "a/history.csv": "step,metric,value\n1,val_auc,0.5\n",
            "b/mlreport.json": _code_blocks("json")[0],
            "b/history.csv": _code_blocks("text")[0],
        }
    )
    for folder in ("a", "b"):
        records = list(READER.read(store, folder, ReadOptions()))
        assert reasons(records) == [] and the_run(records).key == "manifest:argo-churn-train-7f3k2"


def test_the_documented_messages_are_the_real_ones() -> None:
    real = {p.reason for case in BROKEN for p in only(read(case), Problem)}
    documented = re.findall(r"^cannot read [^:]+: (.*)$", _code_blocks("text")[2], flags=re.M)
    assert len(documented) == 5
    assert set(documented) <= real


# --- values and history files ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-02T01:00:00Z", 1772413200000),
        ("2026-03-02T01:00:00", 1772413200000),
        ("2026-03-02 02:00:00+01:00", 1772413200000),
        ("2026-03-02T02:00:00.5+0100", 1772413200500),
        ("2026-03-02", 1772409600000),
        (1772413200000, 1772413200000),
        (1772413200, 1772413200000),
        (1772413200.25, 1772413200250),
        ("2026-02-30", None),
        ("tomorrow", None),
        (True, None),
        (math.inf, None),
    ],
)
def test_parse_time(value: object, expected: int | None) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    ("uri", "name"),
    [
        ("s3://b/data/train.csv", "train.csv"),
        ("gs://b/features/holdout/", "holdout"),
        ("https://host/d/x.parquet?version=3#frag", "x.parquet"),
        ("data\\raw\\a.csv", "a.csv"),
        ("s3://bucket", "bucket"),
    ],
)
def test_dataset_name(uri: str, name: str) -> None:
    assert dataset_name(uri) == name


def test_history_tsv_and_wide_jsonl() -> None:
    assert parse_history("h.tsv", b"step\tmetric\tvalue\n1\tloss\t0.5\n2\tloss\tnan\n")["loss"][0] == (1, -1, 0.5)
    points = parse_history(
        "h.jsonl",
        b'{"step": 1, "loss": 0.5, "acc": null, "timestamp": "2026-03-02T01:00:00Z"}\n{"step": 2.0, "acc": 0.7}\n',
    )
    assert points == {"loss": [(1, 1772413200000, 0.5)], "acc": [(2, -1, 0.7)]}


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("h.txt", b"1 2", "unknown history format '.txt' (use .csv, .tsv or .jsonl)"),
        ("h.csv", b"", "empty file"),
        (
            "h.csv",
            b"epoch,loss\n1,2\n",
            "line 1: no 'step' column (expected step,metric,value[,timestamp] or step,<metric>,…)",
        ),
        ("h.csv", b"step,loss\n1,2,3\n", "line 2: expected 2 fields, found 3"),
        ("h.csv", b"step,loss\n\none,2\n", "line 3: step 'one' is not an integer"),
        ("h.csv", b"step,metric,value\n1,,2\n", "line 2: empty metric name"),
        (
            "h.csv",
            b"step,timestamp,loss\n1,later,2\n",
            "line 2: timestamp 'later' is not an ISO 8601 time or epoch milliseconds",
        ),
        ("h.jsonl", b'{"step": 1, "loss": 1}\n{"step": 2, "loss": \n', "line 2: invalid JSON: expecting value"),
        ("h.jsonl", b"[1, 2]\n", "line 1: expected a JSON object, found a list"),
        ("h.jsonl", b'{"loss": 1}\n', "line 1: missing 'step'"),
        ("h.jsonl", b'{"step": "1", "loss": 1}\n', "line 1: step '1' is not an integer"),
        ("h.jsonl", b'{"step": 1, "metric": "loss"}\n', "line 1: value None is not a number"),
        ("h.jsonl", b'{"step": 1, "value": 2}\n', "line 1: 'metric' must be a non-empty string"),
        ("h.jsonl", b'{"step": 1, "loss": "high"}\n', "line 1: loss 'high' is not a number"),
        ("h.jsonl", b"\xff\xfe", "not UTF-8 text (byte 0)"),
    ],
)
def test_history_file_errors(name: str, content: bytes, reason: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_history(name, content)
    assert str(info.value) == reason


@pytest.mark.parametrize(
    ("history_file", "reason"),
    [
        ("s3://bucket/h.csv", "history_file: 's3://bucket/h.csv' is not a path relative to the manifest"),
        ("/abs/h.csv", "history_file: '/abs/h.csv' is not a path relative to the manifest"),
        ("../../h.csv", "history_file: '../../h.csv' is outside the store"),
    ],
)
def test_history_file_must_be_relative_and_inside(history_file: str, reason: str) -> None:
    records = read_files({"d/mlreport.yaml": MINIMAL + f"history_file: {history_file!r}\n"})
    assert reasons(records) == [("d/mlreport.yaml", f"{reason}; the run is kept without its history")]
    assert the_run(records).metrics == ()


def test_history_file_beside_the_folder_and_merged_with_inline_points() -> None:
    records = read_files(
        {
            "d/mlreport.yaml": MINIMAL + "history: {loss: [[1, 0.9]]}\nhistory_file: ../logs/h.csv\n",
            "logs/h.csv": "step,loss\n2,0.5\n",
        }
    )
    loss = metric(the_run(records), "loss")
    assert loss.history is not None and list(loss.history.values) == [0.9, 0.5]


def test_history_option_off_skips_the_file() -> None:
    files = {"d/mlreport.yaml": MINIMAL + "metrics: {loss: 0.5}\nhistory_file: missing.csv\n"}
    records = read_files(files, history=False)
    assert reasons(records) == [] and metric(the_run(records), "loss").count == 1


# --- hand-made edge cases --------------------------------------------------------------------


def test_duplicate_run_id_and_model_version_in_one_folder() -> None:
    records = read_files(
        {
            "d/a.mlreport.yaml": MINIMAL + "model: {name: m, version: 1}\n",
            "d/b.mlreport.yaml": MINIMAL,
            "d/c.mlreport.yaml": "mlreport_manifest: 1\nrun: {id: r2}\nmodel: {name: m, version: '1'}\n",
        }
    )
    assert [r.key for r in only(records, Run)] == ["manifest:r1", "manifest:r2"]
    assert [(v.version, v.run_key) for v in only(records, ModelVersion)] == [("1", "manifest:r1")]
    assert reasons(records) == [
        ("d/b.mlreport.yaml", "run.id: 'r1' is also the id of the run in d/a.mlreport.yaml; skipped"),
        (
            "d/c.mlreport.yaml",
            "model: m version 1 is also in d/a.mlreport.yaml; this version is skipped, the run is kept",
        ),
    ]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("mlreport.yaml", b"mlreport_manifest: 1\n\xff\n", "not UTF-8 text (byte 21)"),
        ("mlreport.yaml", b"mlreport_manifest:\n", "missing field 'run'; mlreport_manifest: expected 1, found nothing"),
        (
            "x.mlreport.yaml",
            b"mlreport_manifest: 1\n---\nrun: {}\n",
            "invalid YAML at line 2, column 1: found another document (expected a single document in the stream)",
        ),
        (
            "mlreport.json",
            b'{"mlreport_manifest": 1, "run": {"id": "x"},}',
            "invalid JSON at line 1, column 45: expecting property name enclosed in double quotes",
        ),
        (
            "mlreport.yaml",
            b"mlreport_manifest: 1\nrun: {id: x}\nrun: [\n",
            "invalid YAML at line 4, column 1: expected the node content, but found '<stream end>' (while parsing a flow node at line 4)",
        ),
    ],
)
def test_unreadable_manifests(name: str, content: bytes, reason: str) -> None:
    assert reasons(read_files({f"d/{name}": content})) == [(f"d/{name}", reason)]


def test_a_file_read_on_purpose_need_not_look_like_a_manifest() -> None:
    records = read_files({"d/run.yaml": "- mlreport_manifest: 1\n"}, path="d/run.yaml")
    assert reasons(records) == [("d/run.yaml", "expected a mapping, found a list of 1")]


def test_a_bom_and_yaml_types_that_must_stay_text() -> None:
    text = "\ufeff" + MINIMAL + "params: {day: 2026-03-02, flag: yes, version: '1.10', when: 2026-03-02T01:00:00Z}\n"
    run = the_run(read_files({"d/mlreport.yaml": text.encode()}))
    assert dict(run.params) == {"day": "2026-03-02", "flag": "true", "version": "1.10", "when": "2026-03-02T01:00:00Z"}


def test_integer_ids_and_versions_become_text() -> None:
    text = "mlreport_manifest: 1\nrun: {id: 1234, parent_run: 99}\nmodel: {name: m, version: 3, tags: {x: 1.5}}\n"
    records = read_files({"d/mlreport.yaml": text})
    run = the_run(records)
    assert (run.key, run.id, run.name, run.parent_key) == ("manifest:1234", "1234", "1234", "manifest:99")
    (version,) = only(records, ModelVersion)
    assert (version.version, dict(version.tags)) == ("3", {"x": "1.5"})


def test_unknown_status_case_and_minimal_manifest() -> None:
    run = the_run(read_files({"d/mlreport.yaml": MINIMAL}))
    assert (run.status, run.name, run.metrics, run.params, run.experiment_key) == (
        RunStatus.UNKNOWN,
        "r1",
        (),
        {},
        None,
    )
    assert the_run(read_files({"d/mlreport.yaml": "mlreport_manifest: 1\nrun: {id: r, status: KILLED}\n"})).status is (
        RunStatus.KILLED
    )


# --- memory:// -------------------------------------------------------------------------------


def _without_store(record: Record) -> Record:
    return dataclasses.replace(record, origin=dataclasses.replace(record.origin, store="-"))  # type: ignore[type-var]


@pytest.mark.parametrize("case", CASES)
def test_memory_store_reads_the_same_as_local(case: str) -> None:
    remote_store = open_store(to_memory(MANIFEST))
    local = read(case)
    remote = read(case, store=remote_store)
    assert remote and all(r.origin.store.startswith("memory://") for r in remote)  # type: ignore[union-attr]
    assert [_without_store(r) for r in remote] == [_without_store(r) for r in local]
    assert READER.detect(remote_store, case)


def test_an_alias_claimed_in_two_folders_goes_to_the_newer_version(tmp_path: Path) -> None:
    # the usual bucket layout: one folder per version, each manifest claiming @champion
    for name in sorted(p.name for p in (MANIFEST / "several").glob("*.mlreport.yaml")):
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        shutil.copy(MANIFEST / "several" / name, folder / "mlreport.yaml")
    catalog = read_catalog(Config(sources=(SourceConfig(str(tmp_path)),)))
    assert len(catalog.stores) == 2
    model = catalog.models[0]
    newest = max((v.version for v in catalog.versions), key=version_sort_key)
    assert model.aliases["champion"] == newest
    holders = [v.version for v in catalog.versions if "champion" in v.aliases]
    assert holders == [newest]


def test_manifests_nested_in_manifest_folders_are_found(tmp_path: Path) -> None:
    shutil.copytree(MANIFEST / "parent_child" / "sweep-42", tmp_path / "sweep")
    shutil.copytree(MANIFEST / "parent_child" / "sweep-42-trial-3", tmp_path / "sweep" / "trial-3")
    catalog = read_catalog(Config(sources=(SourceConfig(str(tmp_path)),)))
    assert sorted(s.path for s in catalog.stores) == ["sweep", "sweep/trial-3"]
    assert catalog.children_by_run["manifest:sweep-42"] == ("manifest:sweep-42-trial-3",)


def test_yaml_12_floats_without_a_dot_are_numbers(tmp_path: Path) -> None:
    # Go and JavaScript YAML writers emit 1e-07; PyYAML alone would read it as text
    (tmp_path / "mlreport.yaml").write_text(
        "mlreport_manifest: 1\nrun: {id: r1}\nparams: {lr: 1e-07}\nmetrics: {loss: 5e-05}\n"
    )
    catalog = read_catalog(Config(sources=(SourceConfig(str(tmp_path)),)))
    assert catalog.problems == ()
    run = catalog.runs[0]
    assert run.metric("loss").final == 5e-05  # type: ignore[union-attr]
    assert run.params["lr"] == "1e-07"


# --- hostile input (issue 11): every one is a Problem in fixed time and memory, never a crash ---


def _laughs(levels: int = 9) -> str:
    """A YAML "billion laughs": 9 levels of 9 aliases each expand to 9**9 strings."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _read_dir(tmp_path: Path) -> list[Record]:
    return list(READER.read(open_store(str(tmp_path)), "", ReadOptions()))


def _hostile_manifest(tmp_path: Path, body: str, name: str = "mlreport.yaml") -> list[Record]:
    (tmp_path / name).write_text(body, encoding="utf-8")
    return _read_dir(tmp_path)


_GOOD = "mlreport_manifest: 1\nrun: {id: good}\nmetrics: {acc: 0.5}\n"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "mlreport_manifest: 1\nrun: {id: r1}\nparams:\n"
            + "".join("  " + ln + "\n" for ln in _laughs().splitlines()),
            "invalid YAML: YAML aliases expand to more than 200,000 nodes",
        ),
        ("mlreport_manifest: 1\nrun: {id: r1}\nparams: {x: " + "[" * 300 + "]" * 300 + "}\n", "invalid YAML"),
        (
            "mlreport_manifest: 1\nrun: {id: r1}\nmetrics: {x: " + "9" * 5000 + "}\n",
            "invalid YAML: YAML value out of range",
        ),
    ],
    ids=["billion-laughs", "deep", "5000-digits"],
)
def test_hostile_yaml_is_one_problem_and_the_next_manifest_is_read(tmp_path: Path, body: str, reason: str) -> None:
    import tracemalloc

    (tmp_path / "good.mlreport.yaml").write_text(_GOOD, encoding="utf-8")
    tracemalloc.start()
    try:
        records = _hostile_manifest(tmp_path, body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    problems = [r for r in records if isinstance(r, Problem)]
    assert len(problems) == 1 and problems[0].origin.path == "mlreport.yaml"
    assert problems[0].reason.startswith(reason), problems[0].reason
    assert [r.id for r in records if isinstance(r, Run)] == ["good"]
    assert peak < 200 * 2**20  # the bomb is refused before anything walks it


def test_hostile_json_manifest(tmp_path: Path) -> None:
    deep = '{"mlreport_manifest": 1, "run": {"id": "r"}, "params": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    (tmp_path / "a.mlreport.json").write_text(deep, encoding="utf-8")
    huge = '{"mlreport_manifest": 1, "run": {"id": "h", "start_time": 1e300}, "metrics": {"m": ' + "9" * 5000 + "}}"
    (tmp_path / "b.mlreport.json").write_text(huge, encoding="utf-8")
    (tmp_path / "c.mlreport.json").write_bytes(b'{"mlreport_manifest": 1, "run": {"id": "\xff\xfe"}}')
    records = _read_dir(tmp_path)
    reasons = sorted((p.origin.path, p.reason) for p in records if isinstance(p, Problem))
    assert reasons == [
        ("a.mlreport.json", "invalid JSON: JSON nested too deep"),
        ("b.mlreport.json", "run.start_time: 1e+300 is out of range for a time; left out"),
        ("c.mlreport.json", "not UTF-8 text (byte 40)"),
    ]
    (run,) = [r for r in records if isinstance(r, Run)]
    assert run.start_time is None and run.metrics[0].final == math.inf


@pytest.mark.parametrize("name", ["a.mlreport.yaml", "a.mlreport.json"])
def test_an_integer_past_the_float_range_is_an_infinity_of_its_sign(tmp_path: Path, name: str) -> None:
    """YAML and JSON integers have no range: 10**400 as a final metric or a history value is
    the infinity of its sign (_common.float_of_int, every reader's rule). It was an
    OverflowError that cost the whole run ("unexpected content")."""
    big = str(10**400)
    body = json.dumps({"mlreport_manifest": 1, "run": {"id": "a"}, "metrics": {"m": "BIG", "n": "-BIG"},
                       "history": {"h": [[1, "BIG"], [2, "-BIG"], [3, 0.5]]}}).replace('"BIG"', big)
    body = body.replace('"-BIG"', "-" + big)
    records = _hostile_manifest(tmp_path, body, name)
    assert [r for r in records if isinstance(r, Problem)] == []
    (run,) = [r for r in records if isinstance(r, Run)]
    finals = {m.key: m.final for m in run.metrics}
    assert finals == {"h": 0.5, "m": math.inf, "n": -math.inf}
    (h,) = [m for m in run.metrics if m.key == "h"]
    assert h.history is not None and list(h.history.values) == [math.inf, -math.inf, 0.5]


def test_steps_beyond_int64_are_clamped_with_a_problem(tmp_path: Path) -> None:
    body = "mlreport_manifest: 1\nrun: {id: r}\nhistory:\n  loss: [[1, 0.5], [" + str(2**70) + ", 0.25]]\n"
    (tmp_path / "h.csv").write_text("step,loss\n1,0.5\n99999999999999999999999,0.1\n", encoding="utf-8")
    records = _hostile_manifest(tmp_path, body + "history_file: h.csv\n")
    (run,) = [r for r in records if isinstance(r, Run)]
    assert run.metrics[0].final_step == 2**63 - 1
    assert [p.reason for p in records if isinstance(p, Problem)] == [
        "history: 2 point(s) with a step or timestamp beyond the 64-bit range; clamped"
    ]


def test_nul_bytes_and_deep_jsonl_history_are_problems(tmp_path: Path) -> None:
    (tmp_path / "h.jsonl").write_text('{"step": 1, "loss": 0.5}\n' + "[" * 100_000 + "\n", encoding="utf-8")
    (tmp_path / "t.tsv").write_bytes(b"step\tloss\n1\t0.\x005\n")
    (tmp_path / "a.mlreport.yaml").write_text("mlreport_manifest: 1\nrun: {id: a}\nhistory_file: h.jsonl\n")
    (tmp_path / "b.mlreport.yaml").write_text("mlreport_manifest: 1\nrun: {id: b}\nhistory_file: t.tsv\n")
    records = _read_dir(tmp_path)
    assert sorted(r.id for r in records if isinstance(r, Run)) == ["a", "b"]
    assert sorted((p.origin.path, p.reason) for p in records if isinstance(p, Problem)) == [
        ("h.jsonl", "1 line(s) skipped (line 2: invalid JSON: JSON nested too deep); the other lines are kept"),
        ("t.tsv", "1 line(s) skipped (line 2: loss '0.\\x005' is not a number); the other lines are kept"),
    ]


def test_version_names_with_huge_numbers_sort(tmp_path: Path) -> None:
    assert manifest_module._version_key("1" * 5000) > manifest_module._version_key("9" * 4999)
    assert manifest_module._version_key("v010") == manifest_module._version_key("v10")


def test_two_datasets_with_one_name_and_one_digest_stay_apart(tmp_path: Path) -> None:
    """A dataset is its URI + digest: the same file name (and even the same content) read from
    two places is two datasets; the catalog links equal digests, it does not merge them."""
    for run_id, uri in (("a", "s3://b/2026-10/train.parquet"), ("b", "s3://b/2026-11/train.parquet")):
        (tmp_path / f"{run_id}.mlreport.yaml").write_text(
            f"mlreport_manifest: 1\nrun: {{id: {run_id}}}\ninputs:\n  - {{uri: '{uri}', digest: d41d8cd9}}\n"
        )
    records = _read_dir(tmp_path)
    assert [(d.key, d.name, d.source) for d in records if isinstance(d, Dataset)] == [
        ("s3://b/2026-10/train.parquet@d41d8cd9", "train.parquet", "s3://b/2026-10/train.parquet"),
        ("s3://b/2026-11/train.parquet@d41d8cd9", "train.parquet", "s3://b/2026-11/train.parquet"),
    ]


def test_metric_goals_are_declared_goals(tmp_path: Path) -> None:
    from mlreport.model import Goal, MetricGoal

    (tmp_path / "a.mlreport.yaml").write_text(
        "mlreport_manifest: 1\nrun: {id: a}\nmetrics: {l2.valid: 0.3, auc: 0.9}\nmetric_goals: {l2.valid: min, auc: max}\n"
    )
    (tmp_path / "b.mlreport.yaml").write_text("mlreport_manifest: 1\nrun: {id: b}\nmetric_goals: {auc: min}\n")
    records = _read_dir(tmp_path)
    goals = [(g.key, g.goal, g.detail) for g in records if isinstance(g, MetricGoal)]
    assert goals == [("auc", Goal.MAX, "a.mlreport.yaml: metric_goals"), ("l2.valid", Goal.MIN, "a.mlreport.yaml: metric_goals")]
    assert validate_manifest({"mlreport_manifest": 1, "run": {"id": "x"}, "metric_goals": {"auc": "up"}}) == [
        "metric_goals.auc: expected one of min, max, found a string ('up')"
    ]


def test_declared_goal_reaches_the_catalog() -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(MANIFEST / "goals")),)))
    assert catalog.goal("l2.valid") == "min" and catalog.goal("tr_acc") == "max"
    assert catalog.goal_source("l2.valid").startswith("declared by the store")


def test_one_bad_jsonl_line_or_a_cut_last_line_costs_only_itself(tmp_path: Path) -> None:
    """Fuzz finding F5: a live writer's cut last line, a flipped byte in the middle."""
    (tmp_path / "h.jsonl").write_bytes(b'{"step": 1, "loss": 0.5}\n{"step": 2, "loss": 0.\xff4}\n{"step": 3, "loss": 0.3}\n{"step": 4, "lo')
    (tmp_path / "m.mlreport.yaml").write_text("mlreport_manifest: 1\nrun: {id: m}\nhistory_file: h.jsonl\n")
    records = _read_dir(tmp_path)
    (run,) = [r for r in records if isinstance(r, Run)]
    loss = run.metric("loss")
    assert loss is not None and loss.history is not None and list(loss.history.steps) == [1, 3]
    (problem,) = [p for p in records if isinstance(p, Problem)]
    assert problem.reason.startswith("2 line(s) skipped (line 2: invalid JSON") and "and 1 more" in problem.reason
