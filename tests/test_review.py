"""The comparison model and the gates, function by function (``mlreport.review``, ``mlreport.gates``)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig, load_config
from mlreport.diff import code, sparkline
from mlreport.errors import ConfigError
from mlreport.gates import Gate, GateStatus, evaluate, model_metrics
from mlreport.model import EMPTY, LoggedModel, Origin
from mlreport.review import (
    DataStatus,
    Verdict,
    compare_spec,
    compare_version,
    judge,
    neighbours,
    signature_changes,
    thin,
    web_url,
)

from .conftest import ROOT

REGISTRY = ROOT / "tests" / "review_data" / "registry"


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return read_catalog(Config(sources=(SourceConfig(str(REGISTRY)),), base_dir=ROOT))


@pytest.mark.parametrize(
    ("goal", "candidate", "baseline", "verdict"),
    [
        ("max", 0.9, 0.8, Verdict.BETTER),
        ("max", 0.7, 0.8, Verdict.WORSE),
        ("min", 0.7, 0.8, Verdict.BETTER),
        ("min", 0.9, 0.8, Verdict.WORSE),
        ("min", 0.8, 0.8, Verdict.SAME),
        ("max", 0.8, None, Verdict.NEW),
        ("max", None, 0.8, Verdict.DROPPED),
        ("max", math.nan, 0.8, Verdict.NOT_COMPARABLE),
        ("max", math.inf, math.inf, Verdict.SAME),
        ("min", math.nan, None, Verdict.NOT_COMPARABLE),
    ],
)
def test_judge_by_goal(goal: str, candidate: float | None, baseline: float | None, verdict: Verdict) -> None:
    assert judge(goal, candidate, baseline) is verdict


@pytest.mark.parametrize(
    ("remote", "web"),
    [
        ("git@github.com:acme/ml-platform.git", "https://github.com/acme/ml-platform"),
        ("git@gitlab.example.com:group/sub/repo.git", "https://gitlab.example.com/group/sub/repo"),
        ("ssh://git@gitlab.example.com:2222/group/repo.git", "https://gitlab.example.com/group/repo"),
        ("https://ci-token@github.com/acme/repo.git/", "https://github.com/acme/repo"),
        ("http://git.internal/acme/repo", "http://git.internal/acme/repo"),
        ("/home/me/repo", None),
        ("file:///srv/git/repo.git", None),
        ("https://github.com/acme/repo\"><script>", None),
        ("https://github.com", None),
        (None, None),
    ],
)
def test_web_url_of_a_remote(remote: str | None, web: str | None) -> None:
    assert web_url(remote) == web


def test_a_version_that_holds_the_baseline_compares_with_the_previous_one(catalog) -> None:  # type: ignore[no-untyped-def]
    champion = next(v for v in catalog.versions if v.model == "churn-classifier" and v.version == "2")
    c = compare_version(catalog, champion)
    assert c.baseline is not None and c.baseline.version == "1"
    assert c.baseline_note == "the previous version v1 (this version holds @champion)"
    first = next(v for v in catalog.versions if v.model == "churn-classifier" and v.version == "1")
    c = compare_version(catalog, first)  # an older version than the champion is still compared with it
    assert c.baseline is not None and (c.baseline.version, c.baseline_note) == ("2", "@champion (v2)")


def test_previous_and_next_follow_the_natural_version_order(catalog) -> None:  # type: ignore[no-untyped-def]
    before, after = neighbours(catalog, "churn-classifier", "2")
    assert (before.version if before else None, after.version if after else None) == ("1", "3")
    assert neighbours(catalog, "churn-classifier", "5")[1] is None
    assert neighbours(catalog, "churn-classifier", "1")[0] is None


def test_changed_data_pairs_inputs_by_name_and_context(catalog) -> None:  # type: ignore[no-untyped-def]
    c = compare_spec(catalog, "churn-classifier/5")
    by_role = {d.role: d for d in c.datasets}
    assert by_role["evaluation"].status is DataStatus.SAME
    assert by_role["training"].status is DataStatus.CHANGED
    assert by_role["training"].changed_fields == ("digest", "source")
    # v1 read other training data under the same name: changed, not "added" plus "removed"
    c = compare_spec(catalog, "churn-classifier/2", against="churn-classifier/1")
    training = next(d for d in c.datasets if d.role == "training")
    assert training.status is DataStatus.CHANGED
    assert [p.key for p in c.params] == ["max_depth"]


def test_the_same_commit_is_no_code_change_and_links_are_https(catalog) -> None:  # type: ignore[no-untyped-def]
    c = compare_spec(catalog, "churn-classifier/5")
    assert c.code is not None and not c.code.changed and c.code.compare_url is None
    c = compare_spec(catalog, "churn-classifier/3")
    assert c.code is not None and c.code.compare_url == (
        "https://github.com/acme/churn/compare/2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"
        "...3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"
    )


def test_serving_says_which_version_serves(catalog) -> None:  # type: ignore[no-untyped-def]
    c = compare_spec(catalog, "churn-classifier/3")
    assert c.serving is not None
    assert (c.serving.alias_holder, dict(c.serving.stages)) == ("2", {"production": ("2",)})
    assert c.serving.note is None  # stage production and @champion agree on v2


@dataclass(frozen=True, slots=True)
class _Signed(LoggedModel):
    signature: Mapping[str, str] = field(default_factory=lambda: EMPTY)


def _signed(inputs: str, outputs: str = '[{"type": "double"}]') -> _Signed:
    return _Signed(
        key="m", id="m", name="model", origin=Origin("s", "p", "mlflow"), signature={"inputs": inputs, "outputs": outputs}
    )


def test_signature_differences() -> None:
    before = _signed('[{"type": "long", "name": "store_id"}, {"type": "double", "name": "price"}]')
    after = _signed('[{"type": "long", "name": "store_id"}, {"type": "float", "name": "price"}, {"type": "long", "name": "promo"}]')
    changes = [(s.part, s.field, s.candidate, s.baseline) for s in signature_changes(after, before)]
    assert changes == [("inputs", "price", "float", "double"), ("inputs", "promo", "long", None)]
    assert signature_changes(after, None) == ()
    # unreadable JSON is no crash: that part has no fields, so each of the other's is a difference
    assert [s.field for s in signature_changes(_signed("not json"), before)] == ["price", "store_id"]


def _config(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "mlreport.yml"
    path.write_text(text)
    return load_config(path)


def test_gates_config(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "baseline: '@prod'\ngates:\n  - {metric: val_auc, min: 0.86}\n"
        "  - {metric: val_logloss, max_regression: 2%, model: churn-*}\n  - {metric: rmse, max_regression: 0.5, max: 3}\n",
    )
    assert config.baseline == "prod"
    assert config.gates == (
        Gate("val_auc", min=0.86),
        Gate("val_logloss", max_regression=0.02, relative=True, model="churn-*"),
        Gate("rmse", max=3.0, max_regression=0.5, relative=False),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gates: {metric: a}", "mlreport.yml: gates: expected a list of gates, found a mapping"),
        ("gates: [{metric: a}]", "mlreport.yml: gates[0]: a gate needs min, max or max_regression"),
        ("gates: [{min: 1}]", "mlreport.yml: gates[0]: expected the name of a metric"),
        ("gates: [{metric: a, mni: 1}]", "mlreport.yml: gates[0].mni: unknown key (known: metric, min, max, max_regression, model)"),
        ("gates: [{metric: a, min: high}]", "mlreport.yml: gates[0].min: expected a number, found 'high'"),
        ("gates: [{metric: a, min: 2, max: 1}]", "mlreport.yml: gates[0]: min 2 is above max 1"),
        (
            "gates: [{metric: a, max_regression: 2 percent}]",
            "mlreport.yml: gates[0].max_regression: expected a percentage such as 2% or an amount such as 0.005, found '2 percent'",
        ),
        (
            "gates: [{metric: a, max_regression: -1}]",
            "mlreport.yml: gates[0].max_regression: expected a percentage such as 2% or an amount such as 0.005, found '-1'",
        ),
        ("gates: [{metric: a, min: 1, model: [x]}]", "mlreport.yml: gates[0].model: expected a glob on the model name, found a list"),
        ("baseline: [x]", "mlreport.yml: baseline: expected a string, found a list"),
    ],
)
def test_gate_config_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _config(tmp_path, text)
    assert str(info.value) == message


def test_regression_gates_follow_the_worse_direction(catalog) -> None:  # type: ignore[no-untyped-def]
    known = model_metrics(catalog, "churn-classifier")
    gates = [
        Gate("val_logloss", max_regression=0.02),  # min metric: up is worse
        Gate("val_auc", max_regression=0.01),  # max metric: down is worse
        Gate("val_auc", max_regression=0.02, relative=False),  # an amount: 0.028 down is over
        Gate("not_logged_anywhere", min=1),
        Gate("val_auc", min=0.5, model="fraud-*"),  # does not apply to churn
    ]
    c = compare_spec(catalog, "churn-classifier/4")  # val_auc 0.852 vs 0.88, logloss 0.318 vs 0.300
    results = [(r.gate.metric, r.status, r.reason) for r in evaluate(gates, c, known)]
    assert results == [
        ("val_logloss", GateStatus.FAIL, "6% worse than the baseline (over 2%)"),
        ("val_auc", GateStatus.FAIL, "3.18% worse than the baseline (over 1%)"),
        ("val_auc", GateStatus.FAIL, "0.028 worse than the baseline (over 0.02)"),
        ("not_logged_anywhere", GateStatus.SKIP, "not_logged_anywhere is not logged by this model"),
    ]
    c = compare_spec(catalog, "churn-classifier/3")  # better on both
    assert [r.status for r in evaluate(gates[:3], c, known)] == [GateStatus.PASS] * 3
    # no baseline: a regression gate does not apply, an absolute one still does
    c = compare_spec(catalog, "fraud-detector/2")
    results = [(r.status, r.reason) for r in evaluate([Gate("val_auc", max_regression=0.01), Gate("val_auc", min=0.95)], c)]
    assert results == [(GateStatus.SKIP, "no baseline to compare with"), (GateStatus.FAIL, "0.936 < 0.95")]


def test_a_metric_the_version_lacks_fails_its_gate(catalog) -> None:  # type: ignore[no-untyped-def]
    c = compare_spec(catalog, "churn-classifier/3")
    known = {"val_auc", "val_logloss", "val_f1"}  # another version logs val_f1
    (result,) = evaluate([Gate("val_f1", min=0.5)], c, known)
    assert (result.status, result.reason) == (GateStatus.FAIL, "val_f1 is not logged by this version")


def test_comment_text_is_inert() -> None:
    hostile = "@octocat #12 <img src=x onerror=alert(1)> **b** [l](javascript:x) | `tick` $x$ ~~s~~\nnext"
    text = re.sub(r"&#\d+;", "", code(hostile))
    for raw in ("@", "#", "<img", "**", "[l]", "|", "`", "$", "~~", "\n"):
        assert raw not in text[len("<code>") : -len("</code>")]
    assert code("x" * 500).endswith("…</code>")


def test_sparkline_and_thinning() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([1.0]) == ""
    assert sparkline([2, 2, 2]) == "▄▄▄"
    assert sparkline([0, math.nan, 1]) == "▁█"
    assert thin(list(range(100)), 5) == (0, 25, 50, 74, 99)
