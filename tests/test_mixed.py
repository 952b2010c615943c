"""Several stores in one catalog: discovery in a project folder, cross-store links by digest."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig

from .conftest import DATA

DVC_PREPARED = "572d5d6c6aca16471e0ac34916d4aa9b.dir"  # the md5 of data/prepared in the DVC fixture


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(DATA / "dvc" / "pipeline", project)
    shutil.copytree(DATA / "mlflow" / "v3_file" / "mlruns", project / "mlruns")
    shutil.copytree(DATA / "wandb" / "offline" / "wandb", project / "wandb")
    return project


def test_a_project_folder_yields_every_store_inside(tmp_path: Path) -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(_project(tmp_path))),)))
    assert sorted((s.reader, s.path) for s in catalog.stores) == [("dvc", ""), ("mlflow", "mlruns"), ("wandb", "wandb")]
    formats = {r.origin.format for r in catalog.runs}
    assert formats == {"dvc", "mlflow", "wandb"}


def test_equal_digests_across_stores_are_linked_never_merged(tmp_path: Path) -> None:
    project = _project(tmp_path)
    # An MLflow run logged the DVC stage's output as its training data, with the DVC md5.
    for meta in (project / "mlruns").glob("*/datasets/*/meta.yaml"):
        text = meta.read_text()
        if "name: train-ds" in text:
            meta.write_text(re.sub(r"digest: \S+", f"digest: {DVC_PREPARED.removesuffix('.dir')}", text))
    catalog = read_catalog(Config(sources=(SourceConfig(str(project)),)))
    same = sorted(d.key for d in catalog.datasets if d.comparable_digest == DVC_PREPARED[:32])
    dvc_key, mlflow_key = f"data/prepared@{DVC_PREPARED}", f"train-ds@{DVC_PREPARED[:32]}"
    assert same == [dvc_key, mlflow_key]  # two records, each with its own name and source
    assert catalog.dataset_by_key[mlflow_key].name == "train-ds"
    assert catalog.dataset_by_key[dvc_key].name == "data/prepared"
    assert catalog.same_content(mlflow_key) == (dvc_key,)
    assert catalog.same_content(dvc_key) == (mlflow_key,)
    assert {catalog.run_by_key[k].origin.format for k in catalog.runs_by_dataset[mlflow_key]} == {"mlflow"}
    # the DVC pipeline run produced it, in its stage 'prepare' (stages are rows of the run)
    (producer,) = [catalog.run_by_key[k] for k in catalog.producers_by_dataset[dvc_key]]
    assert producer.name == "workspace"
    assert [s.name for s in producer.stages if any(r.dataset_key == dvc_key for r in s.produced)] == ["prepare"]
    baseline = next(r for r in catalog.runs if r.name == "baseline")
    assert mlflow_key in {ref.dataset_key for ref in baseline.inputs}


def test_a_mixed_site_is_byte_identical_across_builds(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mlreport.site import build_site

    from .conftest import tree_digest

    monkeypatch.chdir(tmp_path)
    sources = tuple(
        SourceConfig(str(DATA / fmt / case))
        for fmt, case in (
            ("mlflow", "v2_sqlite"),
            ("wandb", "offline"),
            ("hf", "full"),
            ("dvc", "pipeline"),
            ("tensorboard", "logdir"),
            ("manifest", "basic"),
        )
    )
    digests = []
    for name in ("one", "two"):
        result = build_site(Config(sources=sources, output=name))
        assert {s.reader for s in result.catalog.stores} == {
            "mlflow-sql",
            "wandb",
            "hf",
            "dvc",
            "tensorboard",
            "manifest",
        }
        digests.append(tree_digest(tmp_path / name))
    assert digests[0] == digests[1]
