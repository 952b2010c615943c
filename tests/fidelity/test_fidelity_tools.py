"""mlreport's record of TensorBoard, Hugging Face Trainer and W&B stores, against each tool's reader.

``dump_tools.py`` reads each fixture with the tool's own reader (TensorBoard's
``EventMultiplexer``, transformers' ``TrainerState.load_from_json``, wandb's ``DataStore`` and
its ``Record`` protobufs), run by the Python in ``MLREPORT_FIDELITY_PYTHON`` (``.ci/run`` makes
one with every tool; ``MLREPORT_FIDELITY_PYTHON_<TOOL>`` overrides it for one tool). A tool that
does not import there is skipped, saying so. Every field compared is counted; a difference fails
unless it is one of the deliberate ones in ``README.md`` beside this file.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from mlreport.catalog import Catalog, read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.model import Run

from ..conftest import DATA
from .test_fidelity_mlflow import Tally, num

HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.fidelity


def python_for(tool: str) -> str:
    python = os.environ.get(f"MLREPORT_FIDELITY_PYTHON_{tool.upper()}") or os.environ.get("MLREPORT_FIDELITY_PYTHON")
    if not python:
        pytest.skip("MLREPORT_FIDELITY_PYTHON (a Python with the writing tools) not set")
    with tempfile.TemporaryDirectory() as cwd:
        check = subprocess.run(
            [python, str(HERE / "dump_tools.py"), tool, "--check"], capture_output=True, text=True, cwd=cwd
        )
    if check.returncode != 0:
        pytest.skip(f"{tool} does not import in {python}: {check.stderr.strip().splitlines()[-1:]}")
    return python


def dump(tool: str, path: Path) -> dict[str, Any]:
    # run in an empty folder: a tool that finds mlflow installed (transformers' callbacks) may
    # open MLflow's default store, ./mlflow.db, in the working directory (one was committed once)
    python = python_for(tool)
    with tempfile.TemporaryDirectory() as cwd:
        out = subprocess.run(
            [python, str(HERE / "dump_tools.py"), tool, str(path)],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
            cwd=cwd,
        )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def points(catalog: Catalog, run: Run, key: str) -> list[tuple[Any, ...]]:
    h = catalog.history(run.key, key)
    if h is None:
        m = run.metric(key)
        return [] if m is None else [(m.final_step, m.final_timestamp, num(m.final))]
    return list(zip(h.steps, h.timestamps, (num(v) for v in h.values), strict=True))


def report(tool: str, case: str, tally: Tally, tmp_path: Path) -> None:
    rows = {f: f"{tally.agree[f]}/{tally.total[f]}" for f in sorted(tally.total)}
    text = json.dumps({"tool": tool, "case": case, "agreement": rows, "differences": tally.differences}, indent=1)
    (tmp_path.parent / f"fidelity-{tool}-{case}.json").write_text(text)
    print(text)
    assert tally.total, "nothing was compared"
    assert not tally.differences, "\n".join(tally.differences[:20])


# ---------------------------------------------------------------------------------------------
# TensorBoard


def test_tensorboard_agrees_with_its_event_multiplexer(tmp_path: Path) -> None:
    report("tensorboard", "logdir", tensorboard_tally(DATA / "tensorboard" / "logdir"), tmp_path)


def tensorboard_tally(logdir: Path) -> Tally:
    """Every scalar TensorBoard's own reader finds in ``logdir``, against mlreport's record."""
    theirs = dump("tensorboard", logdir)
    catalog = read_catalog(Config(sources=(SourceConfig(str(logdir)),)))
    runs = {r.name: r for r in catalog.runs}
    t = Tally()
    for name, run in theirs["runs"].items():
        # an add_hparams sub-folder (tbx/<time>/) is its own run in TensorBoard; mlreport folds
        # it into the run it belongs to (README: deliberate differences)
        ours = runs.get(name) or runs.get(name.rsplit("/", 1)[0])
        t.check("run present", ours is not None, True, name)
        if ours is None:
            continue
        for tag, pts in run["history"].items():
            mine = points(catalog, ours, tag)
            t.check("metric present", ours.metric(tag) is not None, True, f"{name} {tag}")
            for p in pts:
                t.check("history point", tuple(p) in mine, True, f"{name} {tag} {p}")
            t.check("point count", len(mine), len(pts), f"{name} {tag}")
            m = ours.metric(tag)
            if m is not None:
                last = max(pts, key=lambda p: (p[0], p[1]))  # the latest step, then the latest write
                t.check("latest value", num(m.final), last[2], f"{name} {tag}")
    return t


# ---------------------------------------------------------------------------------------------
# Hugging Face Trainer


@pytest.mark.parametrize("case", ["full", "minimal"])
def test_hf_agrees_with_trainer_state(case: str, tmp_path: Path) -> None:
    report("hf", case, hf_tally(DATA / "hf" / case), tmp_path)


def _state_value(text: str | None, theirs: object) -> object:
    """Our text of a state field in the type TrainerState gives it (a number as a number)."""
    if text is None or not isinstance(theirs, (int, float)) or isinstance(theirs, bool):
        return text
    return type(theirs)(float(text)) if isinstance(theirs, int) else float(text)


def hf_tally(root: Path) -> Tally:
    """Every ``log_history`` entry of the run and its checkpoints, as ``TrainerState`` reads them."""
    theirs = dump("hf", root)
    catalog = read_catalog(Config(sources=(SourceConfig(str(root)),)))
    t = Tally()
    (run,) = catalog.runs
    state = theirs["runs"]["."]
    for key, pts in state["history"].items():
        mine = {(s, v) for s, _, v in points(catalog, run, key)}
        t.check("metric present", run.metric(key) is not None, True, key)
        for step, _, value in pts:
            t.check("history point", (step, value) in mine, True, f"{key} step {step} {value}")
    # the state's own fields: tags hf.<field> and the max_steps param, as TrainerState reads them
    for field in ("global_step", "best_metric", "best_model_checkpoint", "epoch"):
        t.check(f"state {field}", _state_value(run.tags.get(f"hf.{field}"), state[field]), state[field], field)
    t.check("state max_steps", _state_value(run.params.get("max_steps"), state["max_steps"]), state["max_steps"], "max_steps")
    # each checkpoint is a version showing the metrics logged at its own step
    versions = {v.version: v for v in catalog.versions}
    for name, ckpt in theirs["runs"].items():
        if name == ".":
            continue
        step = ckpt["global_step"]
        ours_v = next((v for v in versions.values() if v.version == name or v.version.endswith(f"-{step}")), None)
        t.check("checkpoint version present", ours_v is not None, True, name)
        if ours_v is None:
            continue
        metrics = {m.key: num(m.final) for m in ours_v.metrics}
        for key, pts in ckpt["history"].items():
            at_step = [v for s, _, v in pts if s == step]
            if at_step and key != "epoch":
                t.check("checkpoint metric", metrics.get(key), at_step[-1], f"{name} {key}")
    return t


# ---------------------------------------------------------------------------------------------
# W&B


def _flat(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and "value" not in value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(f"{prefix}.{k}", v))
        return out
    return {prefix: value["value"] if isinstance(value, dict) else value}


@pytest.mark.parametrize("case", ["offline", "record/local_time", "record/two_folders", "record/media", "online_style"])
def test_wandb_agrees_with_its_datastore(case: str, tmp_path: Path) -> None:
    report("wandb", case.replace("/", "-"), wandb_tally(DATA / "wandb" / case), tmp_path)


def wandb_tally(root: Path) -> Tally:
    """Every record of every ``.wandb`` file under ``root``, as wandb's own ``DataStore`` scans it."""
    theirs = dump("wandb", root)
    catalog = read_catalog(Config(sources=(SourceConfig(str(root)),)))
    runs = {r.id: r for r in catalog.runs}
    t = Tally()
    for folder, run in theirs["runs"].items():
        ours = runs.get(run.get("id") or folder.rsplit("-", 1)[-1])
        t.check("run present", ours is not None, True, folder)
        if ours is None:
            continue
        if run.get("name"):
            t.check("run name", ours.name, run["name"], folder)
        for key, pts in run["history"].items():
            mine = points(catalog, ours, key)
            for p in pts:
                t.check("history point", tuple(p) in mine, True, f"{folder} {key} {p}")
        for key, value in run["summary"].items():
            if key.startswith("_") or isinstance(value, (bool, dict, list, str)) or value is None:
                continue
            m = ours.metric(key)
            t.check("summary value", None if m is None else num(m.final), num(float(value)), f"{folder} {key}")
        for key, value in run["config"].items():
            if key == "_wandb":
                continue
            for flat_key, flat_value in _flat(key, value).items():
                want = flat_value if isinstance(flat_value, str) else json.dumps(flat_value)
                got = ours.params.get(flat_key)
                if got is not None and not isinstance(flat_value, str):
                    got = json.dumps(json.loads(got)) if _is_json(got) else got
                t.check("config value", got, want, f"{folder} {flat_key}")
        if run["exit_code"] is not None:
            want_status = "FINISHED" if run["exit_code"] == 0 else "FAILED"
            t.check("status from exit record", ours.status.value.upper(), want_status, folder)
    return t


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_float_formatting_is_the_same_on_both_sides() -> None:
    # the dumps travel as JSON: a non-finite value is spelled as the MLflow suite spells it
    assert num(math.inf) == "Infinity" and num(-math.inf) == "-Infinity" and num(math.nan) == "NaN"


# ---------------------------------------------------------------------------------------------
# GTO (the alias history in git tags)


def test_gto_stage_history_agrees_with_gto_history(tmp_path: Path) -> None:
    import os

    repo = tmp_path / "pipeline"
    repo.mkdir()
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (["init", "-q"], ["fetch", "-q", str(DATA / "dvc" / "pipeline.bundle"), "+refs/*:refs/*"],
                 ["checkout", "-q", "main"]):  # fmt: skip
        subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True)
    theirs = dump("gto", repo)["events"]
    catalog = read_catalog(Config(sources=(SourceConfig(str(repo)),)))
    ours = [m for m in catalog.alias_moves if m.kind == "stage"]
    t = Tally()
    t.check("assignments", len(ours), len(theirs), "count")
    for e in theirs:
        want = ((), e["time"]) if e["event"] == "unassignment" else ((e["version"],), e["time"])
        match = [m for m in ours if m.source == f"GTO tag {e['ref']}"]
        t.check("assignment present", len(match), 1, e["ref"])
        if match:
            t.check("assignment holder and time", (match[0].versions, match[0].time), want, e["ref"])
            t.check(
                "assignment model and stage", (match[0].model, match[0].name), (e["artifact"], e["stage"]), e["ref"]
            )
    report("gto", "pipeline", t, tmp_path)
