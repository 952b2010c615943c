"""MkDocs runs beside the engine's render (site.py, build.start_builder): started before the
pages are digested, waited for after they are rendered, its files put in where no page is,
and stopped when the render fails."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import mlreport.engine.deps as deps
import mlreport.site as site_module
from mlreport.build import RunningBuilder
from mlreport.config import Config, SourceConfig
from mlreport.site import _taken_by, build_site

from .conftest import DATA, tree_digest

V3 = DATA / "mlflow" / "v3_file"


def _config(tmp_path: Path, out: str = "site") -> Config:
    store = tmp_path / "store"
    if not store.exists():
        shutil.copytree(V3, store)
    return Config(sources=(SourceConfig(str(store / "mlruns")),), output=str(tmp_path / out))


def test_mkdocs_runs_while_the_pages_are_digested_and_rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    events: list[str] = []
    start, wait, digest = site_module.start_builder, RunningBuilder.wait, deps.PageInputs.digest

    def started(*args: Any) -> RunningBuilder:
        events.append("start")
        return start(*args)

    def waited(self: RunningBuilder) -> None:
        events.append("wait")
        wait(self)

    def digested(self: deps.PageInputs, ref: Any) -> str:
        if not events or events[-1] != "digest":
            events.append("digest")
        return digest(self, ref)

    monkeypatch.setattr(site_module, "start_builder", started)
    monkeypatch.setattr(RunningBuilder, "wait", waited)
    monkeypatch.setattr(deps.PageInputs, "digest", digested)
    build_site(_config(tmp_path))
    assert events == ["start", "digest", "wait"]
    # and the nav stubs' pages MkDocs built are the engine's own pages in the site
    stub = (tmp_path / ".site.mlreport" / "mkdocs" / "runs" / "index.html").read_text()
    runs = (tmp_path / "site" / "runs" / "index.html").read_text()
    assert "baseline" not in stub and "baseline" in runs  # a run's name: on the engine's page only
    assert (tmp_path / "site" / "search" / "search_index.json").is_file()
    assert (tmp_path / "site" / "404.html").is_file()  # one of MkDocs' own files


def test_the_site_is_the_same_bytes_as_one_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")
    build_site(_config(tmp_path, "one"))
    build_site(_config(tmp_path, "two").with_overrides(cache_dir=str(tmp_path / "other-cache")))
    one, two = tree_digest(tmp_path / "one"), tree_digest(tmp_path / "two")
    ledger = {"history.json", "feed.xml"}
    assert {k: v for k, v in one.items() if k not in ledger} == {k: v for k, v in two.items() if k not in ledger}


def test_a_failed_render_stops_mkdocs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    builders: list[RunningBuilder] = []
    start = site_module.start_builder

    def started(*args: Any) -> RunningBuilder:
        builders.append(start(*args))
        return builders[-1]

    def broken(self: deps.PageInputs, ref: Any) -> str:
        raise RuntimeError("a render that fails")

    monkeypatch.setattr(site_module, "start_builder", started)
    monkeypatch.setattr(deps.PageInputs, "digest", broken)
    with pytest.raises(RuntimeError, match="a render that fails"):
        build_site(_config(tmp_path))
    assert len(builders) == 1
    assert builders[0]._process.poll() is not None  # not left running
    assert not (tmp_path / "site").exists()


def test_mkdocs_files_never_take_the_place_of_a_page() -> None:
    taken = _taken_by({"runs/index.html": 1, "reports/runs/a/index.html": 1, "notes": 1})
    assert taken("runs/index.html")  # a nav stub's page: the engine's
    assert taken("reports")  # a user's file named like the pages' folder
    assert taken("reports/runs")
    assert taken("notes/inside.txt")  # under a page's file
    assert not taken("404.html")
    assert not taken("runs/other.html")
    assert not taken("report")
    assert not taken("reports2/x")
