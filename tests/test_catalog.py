"""The catalog as a record: identity, federation, goals, fault and text boundaries, histories."""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from mlreport.catalog import (
    CONFIGURED,
    DECLARED,
    DEFAULT,
    VOCABULARY,
    Catalog,
    key_metrics,
    make_catalog,
    read_catalog,
    same_content_links,
    to_jsonable,
)
from mlreport.config import Config, PromoteRule, SourceConfig
from mlreport.crawl import clean_record, guarded
from mlreport.errors import SourceError, StoreAccessError
from mlreport.goals import is_counter, tokens, vocabulary_goal
from mlreport.history_store import HistoryFile
from mlreport.model import (
    Dataset,
    Experiment,
    Goal,
    Metric,
    MetricGoal,
    MetricHistory,
    Origin,
    Problem,
    Record,
    Run,
    Severity,
    Skipped,
)

from .conftest import DATA

ORIGIN = Origin("store", "", "test")


def _run(key: str, *metrics: str) -> Run:
    return Run(key=key, id=key, name=key, origin=ORIGIN, metrics=tuple(Metric.single(m, 1.0) for m in metrics))


# -- which way is better ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, goal",
    [
        ("loss", Goal.MIN),
        ("eval_loss", Goal.MIN),
        ("val/rmse", Goal.MIN),
        ("l2.valid", Goal.MIN),  # an MSE: took the maximum before
        ("tr_ls", Goal.MIN),
        ("val_ls", Goal.MIN),
        ("eval_wer", Goal.MIN),
        ("test_cer", Goal.MIN),
        ("perplexity", Goal.MIN),
        ("train_runtime", Goal.MIN),
        ("inference_latency_ms", Goal.MIN),
        ("train_mem_gpu_alloc_delta", Goal.MIN),  # a memory delta: took the maximum before
        ("valLoss", Goal.MIN),
        ("accuracy", Goal.MAX),
        ("eval_rouge1", Goal.MAX),
        ("val_f1", Goal.MAX),
        ("glossary_size", None),  # "loss" inside a word is not a loss
        ("something", None),
    ],
)
def test_the_name_vocabulary(key: str, goal: Goal | None) -> None:
    assert vocabulary_goal(key) is goal


def test_tokens_split_at_separators_and_case_changes() -> None:
    assert tokens("eval/valLoss_2") == ["eval", "val", "loss", "2"]
    assert tokens("l2.valid") == ["l2", "valid"]


def test_goal_order_store_then_config_then_vocabulary() -> None:
    declared = {"score": MetricGoal("score", Goal.MIN, ORIGIN, "trainer_state.json: metric_for_best_model")}
    catalog = make_catalog(metric_goals={"score": "max", "loss": "max"}, declared_goals=declared)
    assert (catalog.goal("score"), catalog.goal_source("score")) == (
        "min",
        f"{DECLARED} (trainer_state.json: metric_for_best_model)",
    )
    assert (catalog.goal("loss"), catalog.goal_source("loss")) == ("max", CONFIGURED)
    assert (catalog.goal("val_loss"), catalog.goal_source("val_loss")) == ("min", VOCABULARY)
    assert (catalog.goal("widgets"), catalog.goal_source("widgets")) == ("max", DEFAULT)


def test_best_follows_the_configured_goal() -> None:
    m = Metric.from_history("loss", MetricHistory.from_points([(0, -1, 3.0), (1, -1, 1.0), (2, -1, 2.0)]))
    assert make_catalog().best(m) == (1.0, 1)
    assert make_catalog(metric_goals={"loss": "max"}).best(m) == (3.0, 0)


def test_declared_goals_come_from_records_and_the_first_store_wins(tmp_path: Path) -> None:
    from mlreport.crawl import _Builder

    builder = _Builder(HistoryFile(tmp_path))
    first = MetricGoal("eval_wer", Goal.MIN, Origin("a", "", "t"))
    second = MetricGoal("eval_wer", Goal.MAX, Origin("b", "", "t"))
    from mlreport.catalog import FoundStore

    builder.add_store(FoundStore("a", "a", "t", "T", "", "a"), [first])
    builder.add_store(FoundStore("b", "b", "t", "T", "", "b"), [second])
    catalog = builder.finish(Config(sources=(SourceConfig("a"),)))
    assert catalog.goal("eval_wer") == "min" and catalog.declared_goals["eval_wer"].origin.store == "a"


@pytest.mark.parametrize(
    "key",
    ["eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "train_mem_cpu_peaked_delta", "epoch"],
)
def test_counters_are_never_key_metrics(key: str) -> None:
    assert is_counter(key)
    runs = [_run(f"r{i}", key, "eval_wer", "eval_rouge1") for i in range(3)]
    chosen = key_metrics(make_catalog(), runs, limit=4)
    assert key not in chosen and set(chosen) == {"eval_wer", "eval_rouge1"}


def test_quality_metrics_are_not_counters() -> None:
    assert not any(is_counter(k) for k in ("eval_wer", "eval_loss", "val_accuracy", "rouge2", "latency"))


def test_configured_key_metrics_win_and_unknown_ones_are_ignored() -> None:
    runs = [_run("r", "a_loss", "b_acc", "eval_runtime")]
    assert key_metrics(make_catalog(), runs, configured=("eval_runtime", "missing")) == ["eval_runtime"]
    assert key_metrics(make_catalog(), runs, configured=("missing",)) == ["a_loss", "b_acc"]


def test_a_declared_goal_ranks_a_metric_first_among_equals() -> None:
    runs = [_run("r", "zeta", "alpha")]
    declared = {"zeta": MetricGoal("zeta", Goal.MAX, ORIGIN)}
    assert key_metrics(make_catalog(declared_goals=declared), runs, limit=1) == ["zeta"]
    assert key_metrics(make_catalog(), runs, limit=1) == ["alpha"]


def test_the_metric_runs_say_they_optimise_is_the_first_key_metric() -> None:
    # a sweep parent names its objective (Optuna's metric, HF's metric_for_best_model ...): its
    # children and the experiment lead with it, so tables, sweeps, best runs and model pages agree
    parent = replace(_run("parent", "auc", "val_logloss", "train_logloss"), params={"metric": "auc"})
    children = [
        replace(_run(f"c{i}", "val_auc", "val_logloss", "train_logloss", "accuracy", "auc"), parent_key="parent")
        for i in range(3)
    ]
    catalog = make_catalog(runs=[parent, *children])
    assert key_metrics(catalog, children)[0] == "auc"  # the parent speaks for its children
    assert key_metrics(catalog, [parent, *children])[0] == "auc"
    plain = [replace(c, parent_key=None) for c in children]
    # no objective: the most common, evaluation metrics first, then by name
    assert key_metrics(make_catalog(runs=plain), plain) == ["val_auc", "val_logloss", "accuracy", "auc"]
    # the objective comes on top of the limit's most common others; HF prefixes eval_
    hf = [replace(_run("h", "eval_accuracy", "eval_loss", "loss"), params={"metric_for_best_model": "accuracy"})]
    assert key_metrics(make_catalog(runs=hf), hf, limit=1) == ["eval_accuracy", "eval_loss"]
    # a value that names no logged metric (LightGBM's objective=binary) is ignored; config wins
    lgbm = [replace(_run("l", "auc", "logloss"), params={"objective": "binary"})]
    assert key_metrics(make_catalog(runs=lgbm), lgbm) == ["auc", "logloss"]
    assert key_metrics(catalog, children, configured=("accuracy",)) == ["accuracy"]


# -- identity ------------------------------------------------------------------------------------


def test_equal_digests_link_and_never_merge() -> None:
    a = Dataset("train@abcdef12", "train", ORIGIN, digest="abcdef12")
    b = Dataset("data/x@abcdef12.dir", "data/x", ORIGIN, digest="abcdef12.dir", content_digest="abcdef12")
    c = Dataset("short@abc", "short", ORIGIN, digest="abc")
    d = Dataset("short2@abc", "short2", ORIGIN, digest="abc")
    assert same_content_links([a, b, c, d]) == {
        "data/x@abcdef12.dir": ("train@abcdef12",),
        "train@abcdef12": ("data/x@abcdef12.dir",),
    }  # digests shorter than 8 characters are no evidence


def _mlflow_copy(tmp_path: Path, case: str, name: str, registry: bool = True) -> Path:
    target = tmp_path / name
    shutil.copytree(DATA / "mlflow" / case, target)
    if not registry:
        shutil.rmtree(target / "mlruns" / "models")
    return target


def test_same_model_name_in_two_stores_stays_two_models(tmp_path: Path) -> None:
    a = _mlflow_copy(tmp_path, "v3_file", "a")
    b = _mlflow_copy(tmp_path, "v2_file", "b")
    sources = (SourceConfig(str(a), label="team-a"), SourceConfig(str(b), label="team-b"))
    catalog = read_catalog(Config(sources=sources))
    assert [m.name for m in catalog.models] == ["fixture model (team-a)", "fixture model (team-b)"]
    assert [(v.model, v.version) for v in catalog.versions] == [
        ("fixture model (team-a)", "1"),
        ("fixture model (team-a)", "2"),
        ("fixture model (team-b)", "1"),
        ("fixture model (team-b)", "2"),
    ]
    assert not [p for p in catalog.problems if "also in" in p.reason]  # no version skipped
    for v in catalog.versions:  # each version keeps its own store's run
        run = catalog.run_by_key[v.run_key or ""]
        assert run.origin.store == (str(a) if "team-a" in v.model else str(b))


def test_shared_models_merge_across_stores(tmp_path: Path) -> None:
    a = _mlflow_copy(tmp_path, "v3_file", "a")
    b = _mlflow_copy(tmp_path, "v2_file", "b")
    config = Config(sources=(SourceConfig(str(a)), SourceConfig(str(b))), shared_models=("fixture *",))
    catalog = read_catalog(config)
    assert [m.name for m in catalog.models] == ["fixture model"]
    skipped = [p.reason for p in catalog.problems if "also in" in p.reason]
    assert len(skipped) == 2 and all(r.startswith("fixture model version") for r in skipped)


def test_default_promotion_is_decided_per_store(tmp_path: Path) -> None:
    with_registry = _mlflow_copy(tmp_path, "v3_file", "registry")
    without = _mlflow_copy(tmp_path, "v3_file", "plain", registry=False)
    alone = read_catalog(Config(sources=(SourceConfig(str(without)),)))
    promoted = {(v.model, v.version) for v in alone.versions}
    assert promoted and all(v.promoted_by for v in alone.versions)
    both = read_catalog(Config(sources=(SourceConfig(str(with_registry)), SourceConfig(str(without)))))
    by_store = {(v.model, v.version) for v in both.versions if v.promoted_by}
    assert by_store == promoted  # a registry in one store does not take the other's model pages
    assert {(v.model, v.version) for v in both.versions if not v.promoted_by} == {
        ("fixture model", "1"),
        ("fixture model", "2"),
    }


def test_promote_rules_name_one_model_across_stores(tmp_path: Path) -> None:
    a = _mlflow_copy(tmp_path, "v3_file", "a", registry=False)
    b = _mlflow_copy(tmp_path, "v2_file", "b", registry=False)
    rule = PromoteRule(model="churn", experiment="fixture-main")
    catalog = read_catalog(Config(sources=(SourceConfig(str(a)), SourceConfig(str(b))), promote=(rule,)))
    assert [m.name for m in catalog.models] == ["churn"]
    stores = {catalog.run_by_key[v.run_key or ""].origin.store for v in catalog.versions}
    assert stores == {str(a), str(b)}


def test_manifest_folders_are_one_namespace(tmp_path: Path) -> None:
    for f in sorted((DATA / "manifest" / "several").glob("*.mlreport.yaml")):
        folder = tmp_path / f.name.split(".")[0]
        folder.mkdir()
        shutil.copy(f, folder / "mlreport.yaml")
    catalog = read_catalog(Config(sources=(SourceConfig(str(tmp_path)),)))
    assert [m.name for m in catalog.models] == ["fraud-detector"]


def test_wandb_folders_of_one_project_are_one_experiment(tmp_path: Path) -> None:
    for name in ("one", "two"):
        shutil.copytree(DATA / "wandb" / "offline" / "wandb", tmp_path / name / "wandb")
    catalog = read_catalog(Config(sources=(SourceConfig(str(tmp_path)),)))
    projects = [e for e in catalog.experiments if e.origin.format == "wandb"]
    assert len({e.name for e in projects}) == len(projects)  # never two experiments of one name
    assert sum(len(catalog.runs_by_experiment.get(e.key, ())) for e in projects) == len(catalog.runs)


# -- fault and text boundaries ------------------------------------------------------------------


def _records_then(exc: BaseException) -> Iterator[Record]:
    yield Experiment("e", "e", "e", ORIGIN)
    yield _run("r1")
    raise exc


def test_a_reader_failing_midway_keeps_what_it_yielded() -> None:
    out = list(guarded(lambda: _records_then(KeyError("run_id")), Origin("src", "mlruns", "x"), "X"))
    assert [type(r).__name__ for r in out] == ["Experiment", "Run", "Problem"]
    problem = out[-1]
    assert isinstance(problem, Problem) and problem.severity is Severity.ERROR
    assert (
        problem.message()
        == "cannot read mlruns: the X reader stopped (the 2 records read before are kept): KeyError: 'run_id'"
    )


def test_a_reader_failing_at_once_is_a_problem_not_a_crash() -> None:
    def boom() -> Iterator[Record]:
        raise ValueError("bad")

    out = list(guarded(boom, Origin("src", "", "x"), "X"))
    assert len(out) == 1 and isinstance(out[0], Problem)
    assert out[0].message() == "cannot read src: the X reader stopped (nothing was read): ValueError: bad"


def test_a_store_that_cannot_be_opened_still_raises() -> None:
    def denied() -> Iterator[Record]:
        raise StoreAccessError("cannot open s3://b: access denied")

    with pytest.raises(StoreAccessError):
        list(guarded(denied, ORIGIN, "X"))
    # ... and so does a store that stops answering half-way (a bucket server gone): a site
    # built from half a store would silently drop records (tests/test_buckets.py end to end)
    with pytest.raises(StoreAccessError):
        list(guarded(lambda: _records_then(StoreAccessError("gone")), ORIGIN, "X"))
    # any other mlreport error after some records is one Problem like any other failure
    out = list(guarded(lambda: _records_then(SourceError("bad")), ORIGIN, "X"))
    assert isinstance(out[-1], Problem) and "the 2 records read before are kept" in out[-1].reason


def test_every_string_a_reader_yields_is_cleaned() -> None:
    run = Run(
        key="r\x00",
        id="r",
        name="bad\x1bname\ud800",
        origin=ORIGIN,
        params={"p\x07": "v\x00"},
        tags={"ok": "fine"},
        metrics=(Metric.single("m\x0c", 1.0),),
    )
    cleaned = clean_record(run)
    assert cleaned.key == "r" and cleaned.name == "bad\ufffdname\ufffd"
    assert dict(cleaned.params) == {"p\ufffd": "v"} and cleaned.tags is run.tags
    assert cleaned.metrics[0].key == "m\ufffd"
    clean = _run("fine", "loss")
    assert clean_record(clean) is clean  # nothing to do: the same object


# -- hidden and skipped -------------------------------------------------------------------------


def test_skipped_records_are_counted_and_the_catalog_is_not_complete(tmp_path: Path) -> None:
    from mlreport.catalog import FoundStore
    from mlreport.crawl import _Builder

    builder = _Builder(HistoryFile(tmp_path))
    records: list[Record] = [
        _run("child"),
        Skipped(ORIGIN, "deleted runs", 2, "deleted in the store", keys=("gone1", "gone2")),
        Skipped(ORIGIN, "deleted experiments", 1, "deleted in the store"),
    ]
    builder.add_store(FoundStore("s", "s", "t", "T", "", "s"), records)
    catalog = builder.finish(Config(sources=(SourceConfig("s"),)))
    assert catalog.hidden_runs == {"deleted in the store": 2}
    assert catalog.hidden_experiments == {"deleted in the store": 1}
    assert catalog.is_hidden_run("gone1") and not catalog.is_hidden_run("child")
    assert not catalog.complete
    assert make_catalog().complete


# -- histories on disk --------------------------------------------------------------------------


def test_a_crawled_catalog_keeps_histories_on_disk_and_pickles(tmp_path: Path) -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(DATA / "mlflow" / "v3_file")),)), history_dir=tmp_path)
    run = next(r for r in catalog.runs if r.name == "baseline")
    loss = run.metric("loss")
    assert loss is not None and loss.history is None  # only the summary is held
    history = catalog.history(run.key, "loss")
    assert history is not None and list(history.steps) == [0, 1, 2, 3, 4] and history.values[-1] == loss.final
    copy: Catalog = pickle.loads(pickle.dumps(catalog))
    assert copy.history(run.key, "loss") == history
    assert to_jsonable(copy) == to_jsonable(catalog)
    assert copy.histories is not None and catalog.histories is not None
    path = Path(catalog.histories.path)
    # the file is in the history folder's file system, without a name there (mlreport.tempfiles:
    # a killed build leaves nothing behind); other processes open it through /proc
    assert path.exists() and os.stat(path).st_dev == os.stat(tmp_path).st_dev
    assert list(tmp_path.iterdir()) == []
    del copy
    assert path.exists()  # a copy (a worker's) never deletes the file
    assert catalog.history("no-such-run", "loss") is None


def test_history_file_round_trip(tmp_path: Path) -> None:
    store = HistoryFile(tmp_path)
    a = MetricHistory.from_points([(0, 5, 1.5), (1, -1, float("nan")), (2, 7, float("inf"))])
    b = MetricHistory.from_points([(10, 1, -2.0)])
    where_a, where_b = store.put(a), store.put(b)
    assert store.get(where_b) == b and store.get(where_a) == a
    path = Path(store.path)
    del store
    import gc

    gc.collect()
    assert not path.exists()  # the writer's file goes with it


def test_site_example_v4_shows_the_dataset_mlflow_logged() -> None:
    # issue 8: churn-classifier v4 and its run were shown trained on churn-2026-10-train from
    # 2026-10.parquet (a same-digest dataset merged into it); MLflow says 2026-11
    from .conftest import ROOT

    catalog = read_catalog(Config(sources=(SourceConfig(str(ROOT / "site_example")),)))
    v4 = next(v for v in catalog.versions if v.model == "churn-classifier" and v.version == "4")
    run = catalog.run_by_key[v4.run_key or ""]
    training = [catalog.dataset_by_key[r.dataset_key] for r in run.inputs if r.context == "training"]
    assert [(d.name, d.source) for d in training] == [("churn-2026-11-train", "s3://acme-data/churn/2026-11.parquet")]
    assert catalog.same_content(training[0].key)  # the October set has the same bytes: a link


def test_store_labels_are_short_relative_and_unique() -> None:
    from mlreport.catalog import FoundStore
    from mlreport.crawl import store_labels

    def found(source: str, path: str, label: str | None = None) -> FoundStore:
        display = source + (f"/{path}" if path else "")
        return FoundStore(source, label or display, "mlflow", "MLflow", path, display)

    cases = "/build/machine/tests/data/mlflow/cases"
    assert store_labels([found(cases, "file/mlruns"), found(cases, "sqlite/mlflow.db")]) == [
        "file/mlruns",
        "sqlite/mlflow.db",
    ]  # never the build machine's absolute path
    assert store_labels([found("/x/team/mlruns", ""), found("/y/team/mlruns", "")]) == [
        "x/team/mlruns",
        "y/team/mlruns",
    ]
    assert store_labels([found("/x/a", "", "team-a"), found("/x/a", "")]) == ["team-a", "a"]
    assert store_labels([found("/same", ""), found("/same", "")]) == ["same 1", "same 2"]
