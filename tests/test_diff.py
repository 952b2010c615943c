"""``mlreport diff``: goldens of the Markdown comment and the JSON on fixture stores, exit codes.

The fixture stores in ``tests/review_data/`` are mlreport manifests (one per model version), the
same data a pipeline writes; ``site_example/`` is the real MLflow store. Refresh the goldens with
``--update-goldens`` and review the diff like code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlreport.cli import main

from .conftest import GOLDENS, ROOT
from .test_goldens import check_golden

REVIEW = ROOT / "tests" / "review_data"
SITE_URL = "https://ml.example.internal/models/"

# (golden name, candidate, extra arguments, expected exit status)
CASES = [
    ("passes", "churn-classifier@challenger", [], 0),
    ("fails-gate", "churn-classifier/4", [], 1),
    ("changed-data", "churn-classifier/5", ["--site-url", SITE_URL], 0),
    ("no-baseline", "fraud-detector/2", [], 0),
    ("pr-run", "pr-run", [], 0),
    ("against-version", "churn-classifier@champion", ["--against", "churn-classifier/1"], 0),
]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(("name", "candidate", "extra", "expected"), CASES, ids=[c[0] for c in CASES])
def test_diff_goldens(
    name: str,
    candidate: str,
    extra: list[str],
    expected: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    update_goldens: bool,
) -> None:
    monkeypatch.chdir(REVIEW)
    status, markdown, _ = run(["diff", candidate, "-q", *extra], capsys)
    assert status == expected
    check_golden(GOLDENS / "diff" / f"{name}.md", markdown, update_goldens)
    status, text, _ = run(["diff", candidate, "-q", "--format", "json", *extra], capsys)
    assert status == expected
    data = json.loads(text)
    assert data["status"] == ("fail" if expected else "pass")
    check_golden(GOLDENS / "diff" / f"{name}.json", text, update_goldens)


def test_diff_on_the_example_store_says_which_version_serves(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, update_goldens: bool
) -> None:
    monkeypatch.chdir(tmp_path)  # no mlreport.yml: the defaults (baseline @champion, no gates)
    status, markdown, _ = run(
        ["diff", "churn-classifier@challenger", str(ROOT / "site_example" / "mlruns"), "-q"], capsys
    )
    assert status == 0
    check_golden(GOLDENS / "diff" / "site-example.md", markdown, update_goldens)
    # v2 has the stage Production while @champion is v3: the comment says so
    assert "stage Production is v2 while <code>&#64;champion</code> is v3" in markdown
    assert "/compare/1ccf8eea19c94039bb5c4659754aadb4f74e0370...0e157f5cbb5190a4383b9541221675c1549cc153" in markdown


def test_the_comparison_follows_the_catalog_goal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # metric_goals in mlreport.yml turns train_time_s into a "max" metric: the verdict flips
    config = tmp_path / "mlreport.yml"
    config.write_text(f"sources: ['{REVIEW / 'registry'}']\nmetric_goals: {{train_time_s: max}}\n")
    status, text, _ = run(["diff", "churn-classifier/3", "-q", "-c", str(config), "--format", "json"], capsys)
    assert status == 0
    metric = next(m for m in json.loads(text)["metrics"] if m["key"] == "train_time_s")
    assert (metric["goal"], metric["verdict"], metric["goal_source"]) == (
        "max",
        "better",
        "metric_goals in mlreport.yml",
    )
    status, text, _ = run(["diff", "churn-classifier/3", str(REVIEW / "registry"), "-q", "--format", "json"], capsys)
    metric = next(m for m in json.loads(text)["metrics"] if m["key"] == "train_time_s")
    assert (metric["goal"], metric["verdict"]) == ("min", "worse")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["diff", "churn-clasifier@champion"],
            "mlreport: cannot compare churn-clasifier@champion: no model 'churn-clasifier'; did you mean 'churn-classifier'?",
        ),
        (
            ["diff", "churn-classifier@production"],
            "mlreport: cannot compare churn-classifier@production: churn-classifier has no alias @production "
            "(aliases: @challenger, @champion)",
        ),
        (
            ["diff", "churn-classifier/9"],
            "mlreport: cannot compare churn-classifier/9: churn-classifier has no version 9 (versions: 1, 2, 3, 4, 5)",
        ),
        (
            ["diff", "churn-classifier/3", "--against", "@gold"],
            "mlreport: cannot compare @gold: churn-classifier has no alias @gold (aliases: @challenger, @champion)",
        ),
        (
            ["diff", "registry#nope"],
            "mlreport: cannot compare registry#nope: no run nope in registry (runs: churn-2026-09, churn-2026-10, "
            "churn-2026-10-shallow, churn-2026-10-tuned, churn-2026-11, fraud-2026-10, fraud-2026-11)",
        ),
        (
            ["diff", "registry"],
            "mlreport: cannot compare registry: registry holds 7 runs; name one as registry#<run_id>",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REVIEW)
    status, out, err = run([*argv, "-q"], capsys)
    assert (status, out) == (2, "")
    assert err.strip().splitlines() == [message]


def test_a_source_that_does_not_exist_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REVIEW)
    status, out, err = run(["diff", "x", "no/such/store", "-q"], capsys)
    # the message is the store layer's; diff only passes it on
    assert (status, out, len(err.strip().splitlines())) == (2, "", 1)
    assert err.startswith("mlreport: cannot ") and "no/such/store" in err


def test_a_store_path_plus_run_id_is_a_candidate(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REVIEW)
    status, text, _ = run(["diff", "registry#churn-2026-10-shallow", "-q", "--format", "json"], capsys)
    data = json.loads(text)
    assert (status, data["candidate"]["version"], data["baseline"]["version"]) == (1, "4", "2")


def test_an_unknown_gate_metric_is_a_warning_naming_the_closest(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "mlreport.yml"
    config.write_text(
        f"sources: ['{REVIEW / 'registry'}']\ngates:\n  - {{metric: val_acu, min: 0.8}}\n"
        "  - {metric: val_auc, min: 0.8, model: frod-*}\n"
    )
    status, out, err = run(["diff", "churn-classifier/3", "-c", str(config)], capsys)
    assert status == 0
    assert err.splitlines() == [
        "mlreport: reading " + str(REVIEW / "registry") + " (mlreport manifest)",
        "mlreport: warning: gates[0].metric: no run logs 'val_acu'; did you mean 'val_auc'?",
        "mlreport: warning: gates[1].model: 'frod-*' matches no model (models: churn-classifier, fraud-detector)",
    ]
    assert "> [!WARNING]\n> gates&#91;0&#93;.metric&#58; no run logs" in out
