"""What the site says about the record (issue 8): traces listed on their experiment's page, and
pages that name the kind of store in the reader's own words, never the reader's name."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from mlreport.catalog import FoundStore, make_catalog, read_catalog
from mlreport.cli import main
from mlreport.config import Config, SourceConfig
from mlreport.model import Origin, Trace
from mlreport.render import traces as traces_mod
from mlreport.render.tables import Cell
from mlreport.render.traces import traces_block

from .conftest import DATA, ROOT

CASES = DATA / "mlflow" / "cases"


def build(source: Path, out: Path) -> Path:
    here = Path.cwd()
    try:
        os.chdir(out.parent)
        assert main(["build", str(source), "-o", str(out), "-q"]) == 0
    finally:
        os.chdir(here)
    return out


@pytest.mark.parametrize("case", ["file", "sqlite"])
def test_traces_are_listed_on_their_experiments_page(case: str, tmp_path: Path) -> None:
    source = CASES / "file" if case == "file" else CASES / "sqlite" / "mlflow.db"
    catalog = read_catalog(Config(sources=(SourceConfig(str(source)),)))
    assert sorted((t.name, t.status) for t in catalog.traces) == [("answer", "OK"), ("fails", "ERROR")]
    (exp_key,) = {t.experiment_key for t in catalog.traces}
    assert exp_key in catalog.experiment_by_key and len(catalog.traces_by_experiment[exp_key]) == 2
    site = build(source, tmp_path / "site")
    pages = [p for p in (site / "experiments").rglob("index.html") if "mlreport-traces" in p.read_text()]
    assert len(pages) == 1
    html = pages[0].read_text()
    assert '<p class="mlreport-traces">2 traces (1 ERROR, 1 OK).</p>' in html
    for t in catalog.traces:
        assert json.dumps(t.id).replace('"', "&#34;") in html
    # the request previews, escaped inside the table's data
    assert "what is mlreport?" in html
    # no other experiment page has a traces section
    assert html.count('<h2 id="traces">') == 1


def test_inspect_lists_the_traces(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(CASES / "file"), "-q"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert sorted((t["name"], t["status"]) for t in view["traces"]) == [("answer", "OK"), ("fails", "ERROR")]


def trace(i: int, **kw: object) -> Trace:
    fields: dict[str, object] = {
        "key": f"tr-{i}",
        "id": f"tr-{i}",
        "origin": Origin("s", "p", "x"),
        "experiment_key": "e",
        "status": "OK",
        "request_time": 1_700_000_000_000 + i,
        "duration_ms": i,
    }
    fields.update(kw)
    return Trace(**fields)  # type: ignore[arg-type]


def test_the_traces_block_escapes_cuts_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_run(key: str | None) -> Cell:
        return Cell(key or "")

    assert traces_block((), no_run) is None
    hostile = trace(1, request_preview="<script>alert(1)</script>\n" + "x" * 500, status="ERROR", run_key="r1")
    block = str(traces_block([hostile, trace(2), trace(3, status=None)], no_run))
    assert "<script>" not in block and "&lt;script&gt;" in block
    assert "3 traces (1 ERROR, 1 OK, 1 unknown)." in block
    row = re.search(r"data-rows=\"(.*?)\"", block)
    assert row is not None
    rows = json.loads(
        row.group(1).replace("&#34;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
    request = rows[0][6][0]
    assert request.startswith("<script>alert(1)</script> xxx") and len(request) == traces_mod.PREVIEW
    assert request.endswith("…") and rows[0][5] == ["r1"] and rows[0][4][0] == "1"
    monkeypatch.setattr(traces_mod, "MAX_ROWS", 2)
    block = str(traces_block([trace(i) for i in range(5)], no_run))
    assert "5 traces (5 OK); the newest 2 are listed." in block and block.count("tr-") == 2


def test_an_experiments_traces_are_newest_first_so_the_cut_keeps_the_newest(monkeypatch: pytest.MonkeyPatch) -> None:
    # the block lists the first MAX_ROWS and says "the newest N": the catalog's order makes that true
    undated = trace(9, request_time=None)
    catalog = make_catalog(traces=[trace(1), undated, trace(3), trace(2)])
    assert [t.id for t in catalog.traces_by_experiment["e"]] == ["tr-3", "tr-2", "tr-1", "tr-9"]
    monkeypatch.setattr(traces_mod, "MAX_ROWS", 2)
    block = str(traces_block(catalog.traces_by_experiment["e"], lambda key: Cell(key or "")))
    assert "the newest 2 are listed" in block
    assert re.findall(r"tr-\d", block) == ["tr-3", "tr-2"]


def test_pages_name_the_kind_of_store_not_the_reader(tmp_path: Path) -> None:
    # no template reads the reader's name
    for template in (ROOT / "templates").glob("*.j2"):
        assert "origin.format" not in template.read_text(), template.name
    site = build(ROOT / "site_example" / "mlruns", tmp_path / "site")
    lines = {
        line
        for page in site.rglob("index.html")
        for line in re.findall(r'<div class="mlreport-provenance"[^>]*>Source: .*?</div>', page.read_text())
    }
    assert lines and all("(MLflow file store) · generated by" in line for line in lines)
    assert not any("(mlflow)" in line for line in lines)
    # the catalog answers from the stores it read; a record of an unknown reader is a "store"
    found = FoundStore("src", "src", "mlflow", "MLflow file store", "", "src")
    catalog = make_catalog(stores=[found])
    assert catalog.source_kind(Origin("src", "x", "mlflow")) == "MLflow file store"
    assert catalog.source_kind(Origin("src", "x", "other")) == "store"


def test_a_changed_trace_rerenders_its_experiment_page_incrementally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlreport.site import build_site

    from .conftest import tree_digest

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")  # one clock: unchanged pages are kept
    store = tmp_path / "store"
    shutil.copytree(CASES / "file", store)

    def config(out: str, cache: str | None = None) -> Config:
        return Config(sources=(SourceConfig(str(store)),), output=out, cache_dir=cache)

    build_site(config(str(tmp_path / "site")))
    info = next((store / "mlruns").glob("*/traces/tr-05c59ae651e1205c9d3404ce42967166/trace_info.yaml"))
    info.write_text(info.read_text().replace("state: OK", "state: ERROR"))
    build_site(config(str(tmp_path / "site")))
    build_site(config(str(tmp_path / "full"), str(tmp_path / "fresh-cache")))
    ledger = {"history.json", "feed.xml"}
    incremental = {k: v for k, v in tree_digest(tmp_path / "site").items() if k not in ledger}
    assert incremental == {k: v for k, v in tree_digest(tmp_path / "full").items() if k not in ledger}
    page = next(
        p for p in (tmp_path / "site" / "experiments").rglob("index.html") if "mlreport-traces" in p.read_text()
    )
    assert "2 traces (2 ERROR)." in page.read_text()


@pytest.mark.parametrize("case", ["pipeline", "live_dvcyaml", "nested"])
def test_dvc_declares_no_goal_so_the_config_or_vocabulary_decides(case: str) -> None:
    # dvc.yaml's metrics/plots and dvclive's log_metric carry no direction (docs/formats.md)
    source = DATA / "dvc" / case
    catalog = read_catalog(Config(sources=(SourceConfig(str(source)),)))
    keys = {m.key for r in catalog.runs for m in r.metrics}
    assert keys and not catalog.declared_goals
    assert {catalog.goal_source(k) for k in keys} <= {"name vocabulary", "no declaration; higher assumed"}
    configured = read_catalog(Config(sources=(SourceConfig(str(source)),), metric_goals={k: "min" for k in keys}))
    assert {configured.goal_source(k) for k in keys} == {"metric_goals in mlreport.yml"}
