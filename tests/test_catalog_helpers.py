"""The crawl's helpers tested directly: promotion rules and their conditions."""

from __future__ import annotations

from mlreport.config import PromoteRule
from mlreport.crawl import matches, promote
from mlreport.model import Experiment, Origin, Run, RunStatus

ORIGIN = Origin("s", "", "t")
EXPS = {"e1": Experiment("e1", "1", "churn-2026", ORIGIN), "e2": Experiment("e2", "2", "fraud", ORIGIN)}


def run(key: str, exp: str = "e1", status: RunStatus = RunStatus.FINISHED, start: int = 0, **kw: object) -> Run:
    return Run(
        key=key, id=key, name=f"n-{key}", origin=ORIGIN, experiment_key=exp, status=status, start_time=start, **kw
    )  # type: ignore[arg-type]


def test_tag_conditions_are_checked() -> None:
    rule = PromoteRule(model="m", tags={"stage": "cand*"})
    assert matches(rule, run("a", tags={"stage": "candidate"}), EXPS)
    assert not matches(rule, run("b", tags={"stage": "prod"}), EXPS)
    assert not matches(rule, run("c"), EXPS)  # a missing tag never matches
    assert matches(PromoteRule(model="m", tags={"stage": "*"}), run("d", tags={"stage": ""}), EXPS)


def test_a_tag_condition_may_name_a_system_tag() -> None:
    # the reader files a tool's own tags (mlflow.source.type …) under system_tags; a rule written
    # against the store's tag still matches, and a user's tag of the same name comes first
    rule = PromoteRule(model="m", tags={"mlflow.source.type": "JOB"})
    assert matches(rule, run("a", system_tags={"mlflow.source.type": "JOB"}), EXPS)
    assert not matches(rule, run("b", system_tags={"mlflow.source.type": "LOCAL"}), EXPS)
    assert not matches(rule, run("c", tags={"mlflow.source.type": "LOCAL"}, system_tags={"mlflow.source.type": "JOB"}), EXPS)


def test_param_experiment_and_status_conditions_are_checked() -> None:
    assert matches(PromoteRule(model="m", params={"lr": "0.0*"}), run("a", params={"lr": "0.01"}), EXPS)
    assert not matches(PromoteRule(model="m", params={"lr": "0.0*"}), run("b", params={"lr": "0.1"}), EXPS)
    assert matches(PromoteRule(model="m", experiment="churn-*"), run("c"), EXPS)
    assert not matches(PromoteRule(model="m", experiment="churn-*"), run("d", exp="e2"), EXPS)
    assert not matches(PromoteRule(model="m"), run("e", status=RunStatus.FAILED), EXPS)
    assert matches(PromoteRule(model="m", only_finished=False), run("f", status=RunStatus.FAILED), EXPS)
    assert not matches(PromoteRule(model="m", only_finished=False), run("g", deleted=True), EXPS)


def test_promotion_numbers_by_start_time_and_names_by_scheme() -> None:
    runs = [run("b", start=2), run("a", start=1), run("c", start=3, tags={"skip": "1"})]
    rule = PromoteRule(model="churn", experiment="churn-*")
    versions = promote([rule], runs, EXPS, {}, default=False)
    assert [(v.version, v.run_key, v.promoted_by) for v in versions] == [
        ("1", "a", "promote[0]"),
        ("2", "b", "promote[0]"),
        ("3", "c", "promote[0]"),
    ]
    named = promote([PromoteRule(model="churn", version="run_name")], runs[:2], EXPS, {}, default=False)
    assert [v.version for v in named] == ["n-a", "n-b"]


def test_the_default_promotes_finished_runs_that_logged_a_model() -> None:
    runs = [run("a", output_model_keys=("m1",)), run("b"), run("c", status=RunStatus.FAILED, output_model_keys=("m2",))]
    versions = promote([], runs, EXPS, {}, default=True)
    assert [(v.model, v.run_key) for v in versions] == [("churn-2026", "a")]
