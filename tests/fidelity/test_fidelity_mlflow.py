"""mlreport's record of an MLflow store, field by field against MLflow's own client.

Runs only with ``MLREPORT_FIDELITY_PYTHON`` set to a Python that has ``mlflow`` (``.ci/run``
makes one in ``.ci/venv-fidelity``; mlreport itself never imports mlflow). Each store is copied
first: MLflow's client may migrate or touch what it opens. Every field compared is counted;
a difference fails the test unless it is one of the deliberate ones documented in
``tests/fidelity/README.md``. The counts are printed and written to ``fidelity-mlflow.json``
beside the test's tmp folder (``-s`` shows them).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mlreport.catalog import Catalog, read_catalog
from mlreport.config import Config, SourceConfig

from ..conftest import DATA

PYTHON = os.environ.get("MLREPORT_FIDELITY_PYTHON")
HERE = Path(__file__).resolve().parent

pytestmark = [
    pytest.mark.fidelity,
    pytest.mark.skipif(not PYTHON, reason="MLREPORT_FIDELITY_PYTHON (a Python with mlflow) not set"),
]

# store -> (what to copy, tracking URI inside the copy)
CASES = {
    "v3_file": ("mlflow/v3_file", "file:{root}/mlruns"),
    "v3_sqlite": ("mlflow/v3_sqlite", "sqlite:///{root}/mlflow.db"),
    "v2_sqlite": ("mlflow/v2_sqlite", "sqlite:///{root}/mlflow.db"),
    "site_example": ("../../site_example", "file:{root}/mlruns"),
}


def restore_empty_run_folders(mlruns: Path) -> None:
    """Git keeps no empty folder, and MLflow's file store finds a run only when its folder has
    ``metrics/``, ``params/`` and ``artifacts/`` (``FileStore._is_valid_run_directory``): the
    copy gets back the empty ones MLflow wrote."""
    for meta in mlruns.glob("*/*/meta.yaml"):
        if "run_id:" in meta.read_text(encoding="utf-8"):
            for sub in ("metrics", "params", "artifacts", "tags"):
                (meta.parent / sub).mkdir(exist_ok=True)


def dump(uri: str) -> dict[str, Any]:
    assert PYTHON is not None
    out = subprocess.run(
        [PYTHON, str(HERE / "dump_mlflow.py"), uri], capture_output=True, text=True, check=True, timeout=600
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def num(v: float | str | None) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


class Tally:
    def __init__(self) -> None:
        self.agree: Counter[str] = Counter()
        self.total: Counter[str] = Counter()
        self.differences: list[str] = []

    def check(self, field: str, ours: object, theirs: object, where: str) -> None:
        self.total[field] += 1
        if ours == theirs:
            self.agree[field] += 1
        else:
            self.differences.append(f"{field} {where}: mlreport {ours!r} != mlflow {theirs!r}")


def _all_tags(t: Tally, record: Any, where: str) -> dict[str, str]:
    """A record's tags as MLflow returns them (the user's and its own ``mlflow.*`` together),
    checking on the way that the reader put MLflow's own, and only those, in ``system_tags``."""
    user, system = dict(record.tags), dict(record.system_tags)
    split = all(k.startswith("mlflow.") for k in system) and not any(k.startswith("mlflow.") for k in user)
    t.check("system tags split", split, True, where)
    return {**user, **system}


def compare(catalog: Catalog, theirs: dict[str, Any]) -> Tally:
    t = Tally()
    exps = {e.id: e for e in catalog.experiments}
    for e in theirs["experiments"]:
        ours = exps.get(e["id"])
        t.check("experiment present", ours is not None, True, e["id"])
        if ours is not None:
            t.check("experiment name", ours.name, e["name"], e["id"])
            t.check("experiment deleted", ours.deleted, e["deleted"], e["id"])
            if "created" in e:
                t.check("experiment created", ours.created, e["created"], e["id"])
                # mlflow.note.content is the experiment's description, the rest its tags
                tags = {**_all_tags(t, ours, e["id"]), **({"mlflow.note.content": ours.description} if ours.description else {})}
                t.check("experiment tags", tags, e["tags"], e["id"])
    runs = {r.id: r for r in catalog.runs}
    for r in theirs["runs"]:
        ours = runs.get(r["id"])
        t.check("run present", ours is not None, True, r["id"])
        if ours is None:
            continue
        t.check("run name", ours.name, r["name"], r["id"])
        t.check("run status", ours.status.value, r["status"], r["id"])
        t.check("run start_time", ours.start_time, r["start_time"], r["id"])
        t.check("run end_time", ours.end_time, r["end_time"], r["id"])
        t.check("run deleted", ours.deleted, r["deleted"], r["id"])
        if "user" in r:
            t.check("run user", ours.user or "", r["user"] or "", r["id"])
        for k, v in r["params"].items():
            t.check("param", ours.params.get(k), v, f"{r['id']} {k}")
        all_tags = _all_tags(t, ours, r["id"])
        for k, v in r["tags"].items():
            t.check("tag", all_tags.get(k), v, f"{r['id']} {k}")
        for k, v in r["latest"].items():
            m = ours.metric(k)
            t.check("latest value", None if m is None else num(m.final), num(v), f"{r['id']} {k}")
        for k, points in r["history"].items():
            h = catalog.history(ours.key, k)
            mine = [] if h is None else list(zip(h.steps, h.timestamps, (num(x) for x in h.values), strict=True))
            theirs_pts = [tuple(p) for p in points]
            echoes = 0
            for p in theirs_pts:
                if p not in mine and p[0] == 0 and any(q[0] != 0 and q[1:] == p[1:] for q in mine):
                    # MLflow 3 writes a logged model's metrics again at step 0 (same time, same
                    # value); mlreport drops that exact echo (README: deliberate differences)
                    t.check("history point", "step-0 echo dropped", True, f"{r['id']} {k} {p}")
                    echoes += 1
                    continue
                t.check("history point", p in mine, True, f"{r['id']} {k} {p}")
            # and nothing more: as many points as MLflow returns, less the echoes dropped
            want = len(theirs_pts) - echoes
            if len(mine) != want and len(mine) == len(set(theirs_pts)) - echoes:
                # the file store's log_model echo of a point that is itself at step 0 is the same
                # line twice; mlreport keeps it once (README: deliberate differences)
                t.check("history length", "exact duplicate dropped", True, f"{r['id']} {k}")
                continue
            t.check("history length", len(mine), want, f"{r['id']} {k}")
        refs = sorted(
            (catalog.dataset_by_key[ref.dataset_key].name, catalog.dataset_by_key[ref.dataset_key].digest, ref.context)
            for ref in ours.inputs
            if ref.dataset_key in catalog.dataset_by_key
        )
        mlflow_refs = sorted((d["name"], d["digest"], d["context"]) for d in r["datasets"])
        t.check("run datasets", refs, mlflow_refs, r["id"])
        if r["datasets"] and "source" in r["datasets"][0]:
            sources = sorted(
                (catalog.dataset_by_key[ref.dataset_key].source_type, catalog.dataset_by_key[ref.dataset_key].source)
                for ref in ours.inputs
                if ref.dataset_key in catalog.dataset_by_key
            )
            t.check(
                "dataset source", sources, sorted((d["source_type"], _uri(d["source"])) for d in r["datasets"]), r["id"]
            )
    models = {m.name: m for m in catalog.models}
    for m in theirs["models"]:
        ours_m = models.get(m["name"])
        t.check("model present", ours_m is not None, True, m["name"])
        if ours_m is not None:
            t.check("model aliases", dict(ours_m.aliases), m["aliases"], m["name"])
            t.check("model tags", _all_tags(t, ours_m, m["name"]), m["tags"], m["name"])
            t.check("model description", ours_m.description or "", m["description"] or "", m["name"])
            if "created" in m:
                t.check("model created", ours_m.created, m["created"], m["name"])
    versions = {(v.model, v.version): v for v in catalog.versions}
    for v in theirs["versions"]:
        ours_v = versions.get((v["model"], v["version"]))
        where = f"{v['model']} {v['version']}"
        t.check("version present", ours_v is not None, True, where)
        if ours_v is None:
            continue
        run = catalog.run_by_key.get(ours_v.run_key or "")
        t.check("version run", run.id if run else None, v["run_id"] or None, where)
        t.check("version stage", ours_v.stage or "None", v["stage"] or "None", where)
        t.check("version aliases", sorted(ours_v.aliases), v["aliases"], where)
        t.check("version tags", _all_tags(t, ours_v, where), v["tags"], where)
        if "created" in v:
            t.check("version description", ours_v.description or "", v["description"] or "", where)
            t.check("version created", ours_v.created, v["created"], where)
            t.check("version source", ours_v.source, v["source"], where)
            if v.get("model_id"):
                t.check("version logged model", ours_v.logged_model_key, v["model_id"], where)
    lms = {m.id: m for m in catalog.logged_models}
    for lm in theirs["logged_models"]:
        ours_lm = lms.get(lm["id"])
        t.check("logged model present", ours_lm is not None, True, lm["id"])
        if ours_lm is not None:
            run = catalog.run_by_key.get(ours_lm.run_key or "")
            t.check("logged model name", ours_lm.name, lm["name"], lm["id"])
            t.check("logged model run", run.id if run else None, lm["run_id"], lm["id"])
            if "created" in lm:
                t.check("logged model created", ours_lm.created, lm["created"], lm["id"])
                t.check("logged model status", ours_lm.status, lm["status"], lm["id"])
                t.check("logged model params", dict(ours_lm.params), lm["params"], lm["id"])
                t.check("logged model tags", _all_tags(t, ours_lm, lm["id"]), lm["tags"], lm["id"])
    return t


def _uri(source: str | None) -> str | None:
    """The URI in MLflow's dataset source JSON (``{"uri": "s3://…"}``), as mlreport shows it."""
    try:
        data = json.loads(source or "")
    except ValueError:
        return source
    return str(data.get("uri") or data.get("url") or source) if isinstance(data, dict) else source


def deliberate(difference: str) -> bool:
    """The documented deliberate differences (README.md in this folder)."""
    # mlreport keeps inf where MLflow's SQLite store returns the largest double
    if difference.startswith(("history point", "latest value")) and "1.7976931348623157e+308" in difference:
        return True
    # MLflow's file store client reads a point logged with ``dataset=`` (a 5-field line) as no
    # history at all; mlreport keeps the point at the step it was logged at, as MLflow's SQLite does
    if re.match(r"history length \S+ .*: mlreport [1-9]\d* != mlflow 0$", difference):
        return True
    # MLflow names a run without a user "unknown"; mlreport shows no user
    if difference.startswith("run user") and difference.endswith("mlreport '' != mlflow 'unknown'"):
        return True
    # mlreport drops the step-0 echo MLflow 3 writes when a model is logged
    return difference.startswith(("history point", "history length")) and (
        "mlreport 'step-0 echo dropped'" in difference or "mlreport 'exact duplicate dropped'" in difference
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_mlreport_agrees_with_mlflow(case: str, tmp_path: Path) -> None:
    rel, uri = CASES[case]
    copy = tmp_path / "store"
    shutil.copytree((DATA / rel).resolve(), copy)
    if uri.startswith("file:"):
        restore_empty_run_folders(copy / "mlruns")
    check_store(case, copy, uri.format(root=copy), tmp_path)


def check_store(case: str, root: Path, uri: str, tmp_path: Path) -> Tally:
    """Compare the store at ``root`` (MLflow's ``uri``) field by field; fail on any difference
    that is not a documented deliberate one; print and save the counts per field."""
    theirs = dump(uri)
    catalog = read_catalog(Config(sources=(SourceConfig(str(root)),), include_deleted=True))
    tally = compare(catalog, theirs)
    rows = {f: f"{tally.agree[f]}/{tally.total[f]}" for f in sorted(tally.total)}
    unexplained = [d for d in tally.differences if not deliberate(d)]
    report = {
        "case": case,
        "agreement": rows,
        "deliberate": len(tally.differences) - len(unexplained),
        "differences": tally.differences,
        "mlflow_errors": theirs.get("errors", []),
    }
    (tmp_path.parent / f"fidelity-mlflow-{case}.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    assert tally.total["history point"] and tally.total["run present"], "nothing was compared"
    assert not unexplained, "\n".join(unexplained[:20])
    return tally
