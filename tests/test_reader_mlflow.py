"""The MLflow readers on stores written by real mlflow 2.22.5 and 3.17.2, both backends."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mlreport.catalog import Catalog, read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.model import RunStatus

from .conftest import DATA, to_memory, tree_digest

STORES = {
    "v3_file": DATA / "mlflow" / "v3_file" / "mlruns",
    "v3_sqlite": DATA / "mlflow" / "v3_sqlite" / "mlflow.db",
    "v2_file": DATA / "mlflow" / "v2_file" / "mlruns",
    "v2_sqlite": DATA / "mlflow" / "v2_sqlite" / "mlflow.db",
}


def read(path: str | Path, **kwargs: object) -> Catalog:
    return read_catalog(Config(sources=(SourceConfig(str(path)),), **kwargs))  # type: ignore[arg-type]


def by_name(catalog: Catalog) -> dict[str, object]:
    return {r.name: r for r in catalog.runs}


@pytest.fixture(scope="module", params=sorted(STORES))
def store(request: pytest.FixtureRequest) -> tuple[str, Catalog]:
    return request.param, read(STORES[request.param])


def test_reads_every_active_run_and_leaves_deleted_ones_out(store: tuple[str, Catalog]) -> None:
    _, catalog = store
    names = sorted(r.name for r in catalog.runs)
    assert names == sorted(
        [
            "<script>alert(1)</script>",
            "baseline",
            "candidate",
            "failed-run",
            "killed-run",
            "still-running",
            "sweep",
            "trial-lr0.01",
            "trial-lr0.1",
        ]
    )
    assert sorted(e.name for e in catalog.experiments) == ["Default", "fixture-main"]
    assert catalog.problems == ()


def test_deleted_records_are_read_with_a_flag(store: tuple[str, Catalog]) -> None:
    name, _ = store
    catalog = read(STORES[name], include_deleted=True)
    runs = {r.name: r for r in catalog.runs}
    assert runs["deleted-run"].deleted and runs["orphan"].deleted
    assert not runs["baseline"].deleted
    deleted_exp = next(e for e in catalog.experiments if e.name == "fixture-deleted")
    assert deleted_exp.deleted


def test_statuses_users_and_times(store: tuple[str, Catalog]) -> None:
    _, catalog = store
    runs = by_name(catalog)
    assert runs["failed-run"].status is RunStatus.FAILED  # type: ignore[attr-defined]
    assert runs["killed-run"].status is RunStatus.KILLED  # type: ignore[attr-defined]
    assert runs["still-running"].status is RunStatus.RUNNING  # type: ignore[attr-defined]
    assert runs["still-running"].end_time is None  # type: ignore[attr-defined]
    assert runs["still-running"].user is None  # "unknown" means no user  # type: ignore[attr-defined]
    base = runs["baseline"]
    assert base.status is RunStatus.FINISHED  # type: ignore[attr-defined]
    assert base.user == "root"  # type: ignore[attr-defined]
    assert base.start_time is not None and base.end_time >= base.start_time  # type: ignore[attr-defined]


def test_params_tags_notes_and_git(store: tuple[str, Catalog]) -> None:
    _, catalog = store
    base = by_name(catalog)["baseline"]
    assert dict(base.params) == {"batch_size": "32", "epochs": "5", "lr": "0.01", "optimizer": "adam"}  # type: ignore[attr-defined]
    assert base.tags["owner"] == "alice"  # type: ignore[attr-defined]
    assert base.description == "# Baseline\n\nFirst run, *markdown* note."  # type: ignore[attr-defined]
    assert base.git.commit and len(base.git.commit) == 40  # type: ignore[attr-defined]
    evil = by_name(catalog)["<script>alert(1)</script>"]
    assert evil.params["pipes"] == "a|b *c* [x](y)"  # type: ignore[attr-defined]


def test_metric_history_final_min_max(store: tuple[str, Catalog]) -> None:
    name, catalog = store
    base = by_name(catalog)["baseline"]
    loss = base.metric("loss")  # type: ignore[attr-defined]
    assert loss is not None and loss.count == 5 and loss.final_step == 4
    # the step-0 line that log_model appends again is not a sixth point nor the final value
    assert list(loss.history.steps) == [0, 1, 2, 3, 4]
    assert loss.final == loss.history.values[-1] == loss.minimum
    assert base.metric("train/loss") is not None  # a key with "/" (nested dirs in file stores)
    assert base.metric("val/acc").count == 5  # type: ignore[union-attr]
    if name.startswith("v3"):
        eval_acc = base.metric("eval_acc")  # type: ignore[attr-defined]
        assert eval_acc.final_step == 4 and eval_acc.count == 1 and eval_acc.final == pytest.approx(0.81)
    weird = by_name(catalog)["<script>alert(1)</script>"].metric("weird")  # type: ignore[attr-defined]
    values = list(weird.history.values)
    assert math.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf and values[3] == 0.5
    assert weird.minimum == -math.inf and weird.maximum == math.inf and weird.final == 0.5


def test_nested_runs(store: tuple[str, Catalog]) -> None:
    _, catalog = store
    runs = by_name(catalog)
    sweep = runs["sweep"]
    children = {catalog.run_by_key[k].name for k in catalog.children_by_run[sweep.key]}  # type: ignore[attr-defined]
    assert children == {"trial-lr0.1", "trial-lr0.01"}


def test_datasets_and_inputs(store: tuple[str, Catalog]) -> None:
    _, catalog = store
    names = {d.name for d in catalog.datasets}
    assert names == {"train-ds", "eval-ds"}
    train = next(d for d in catalog.datasets if d.name == "train-ds")
    assert train.digest and train.key == f"train-ds@{train.digest}"
    assert train.source == "s3://fixture-bucket/train.parquet"
    base = by_name(catalog)["baseline"]
    contexts = {(catalog.dataset_by_key[i.dataset_key].name, i.context) for i in base.inputs}  # type: ignore[attr-defined]
    assert contexts == {("train-ds", "training"), ("eval-ds", "validation")}


def test_registry_versions_aliases_stages(store: tuple[str, Catalog]) -> None:
    name, catalog = store
    assert [m.name for m in catalog.models] == ["fixture model"]
    model = catalog.models[0]
    assert dict(model.aliases) == {"champion": "2"}
    assert model.description == "Doubles its input. Registered name has a space."
    assert model.tags["task"] == "regression"
    v1, v2 = catalog.versions
    assert (v1.version, v1.stage, v1.aliases) == ("1", "Staging", ())
    assert (v2.version, v2.stage, v2.aliases) == ("2", None, ("champion",))
    assert v1.tags["validation_status"] == "approved"
    assert catalog.run_by_key[v1.run_key].name == "baseline"  # type: ignore[index]
    assert catalog.run_by_key[v2.run_key].name == "candidate"  # type: ignore[index]
    # version -> logged model: MLflow 3 LoggedModel, or the 2.x model inside the run's artifacts
    lm = catalog.logged_model_by_key[v2.logged_model_key]  # type: ignore[index]
    assert lm.run_key == v2.run_key
    assert any(a.path == "MLmodel" for a in lm.artifacts)


def test_artifact_uris_from_another_machine_resolve_against_the_store(store: tuple[str, Catalog]) -> None:
    _, catalog = store
    base = by_name(catalog)["baseline"]
    paths = {a.path for a in base.artifacts}  # type: ignore[attr-defined]
    assert {"notes.txt", "config/config.json", "report/sub/deep/values.csv"} <= paths
    assert all(a.size is not None and a.size > 0 for a in base.artifacts)  # type: ignore[attr-defined]
    # the URIs still name the writing machine's absolute paths
    assert base.artifact_uri.startswith(("file:///work/main/", "/work/main/"))  # type: ignore[attr-defined]


def test_file_and_sqlite_backends_agree() -> None:
    for version in ("v2", "v3"):
        a = read(STORES[f"{version}_file"])
        b = read(STORES[f"{version}_sqlite"])

        def summary(c: Catalog) -> object:
            return sorted(
                (
                    r.name,
                    r.status,
                    dict(r.params),
                    {m.key: (m.final, m.count) for m in r.metrics if not math.isnan(m.final)},
                    r.user,
                    len(r.inputs),
                )
                for r in c.runs
            )

        assert summary(a) == summary(b), version
        assert [(v.model, v.version, v.stage, v.aliases) for v in a.versions] == [
            (v.model, v.version, v.stage, v.aliases) for v in b.versions
        ]


@pytest.mark.parametrize("name", ["v3_file", "v2_file", "v3_sqlite"])
def test_memory_store_reads_the_same_as_local(name: str) -> None:
    local = read(STORES[name])
    src = STORES[name]
    root = src.parent if src.is_file() else src
    url = to_memory(root)
    remote = read(url + ("/" + src.name if src.is_file() else ""))

    def strip(c: Catalog) -> object:
        return sorted(
            (
                r.name,
                dict(r.params),
                [(m.key, m.count) for m in r.metrics],
                [(a.path, a.size) for a in r.artifacts],
                r.origin.path,
            )
            for r in c.runs
        )

    assert strip(local) == strip(remote)
    assert [(v.model, v.version) for v in local.versions] == [(v.model, v.version) for v in remote.versions]


def test_reading_writes_nothing_into_the_store() -> None:
    before = {k: tree_digest(p.parent if p.is_file() else p) for k, p in STORES.items()}
    for p in STORES.values():
        read(p, include_deleted=True)
    after = {k: tree_digest(p.parent if p.is_file() else p) for k, p in STORES.items()}
    assert before == after
