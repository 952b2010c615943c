"""Alias history the stores keep themselves (issue 9): GTO tags in git, W&B runs logging an
artifact with an alias, manifests' ``model.promoted_at``; merged with mlreport's own ledger by
the rule in :func:`mlreport.ledger.merge`, shown with their source on model and alias pages and
in the feed. MLflow keeps none: its pages say the history is what the builds saw."""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.ledger import Holding, describe, dumps, loads, merge, timeline, with_store_history
from mlreport.site import build_site

from .conftest import DATA, ROOT

ATOM = {"a": "http://www.w3.org/2005/Atom"}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def gto_repo(tmp_path: Path) -> Path:
    """The DVC pipeline repository with its GTO tags (written by gto 1.10.1), from its bundle."""
    target = tmp_path / "pipeline"
    target.mkdir()
    git(target, "init", "-q")
    git(target, "fetch", "-q", str(DATA / "dvc" / "pipeline.bundle"), "+refs/*:refs/*")
    git(target, "checkout", "-q", "main")
    return target


def site_of(source: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(out.parent)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1797000000")
    build_site(Config(sources=(SourceConfig(str(source)),), output=str(out), base_dir=out.parent))
    return out


def timelines(page: Path) -> list[str]:
    return [re.sub(r"<[^>]+>", "", p) for p in re.findall(r'<p class="mlreport-timeline">(.*?)</p>', page.read_text())]


def test_gto_assignment_tags_are_the_stage_history(
    gto_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(gto_repo)),)))
    moves = [(m.kind, m.name, m.versions, m.time, m.source) for m in catalog.alias_moves]
    # what `gto history demo-model` says (tests/fidelity compares it with gto itself)
    assert [m for m in moves if m[0] == "alias"] == [
        ("alias", "prod", ("v1.0.0",), 1795505125000, "GTO tag demo-model#prod#1"),
        ("alias", "prod", ("v1.1.0",), 1795505126000, "GTO tag demo-model#prod#3"),
        ("alias", "staging", ("v1.0.0",), 1795505125000, "GTO tag demo-model#staging#2"),
    ]
    assert [m[1:] for m in moves if m[0] == "stage"] == [m[1:] for m in moves if m[0] == "alias"]
    site = site_of(gto_repo, tmp_path / "site", monkeypatch)
    model_page = site / "models" / "demo-model" / "index.html"
    assert timelines(model_page)[0] == (
        "@prod: held by v1.1.0 since 2026-11-24 (GTO tag demo-model#prod#3), "
        "before that v1.0.0 since 2026-11-24 (GTO tag demo-model#prod#1)"
    )
    assert "From the history the store keeps" in model_page.read_text()
    assert timelines(site / "models" / "demo-model" / "@prod" / "index.html") == [timelines(model_page)[0]]
    # the feed has the store's moves at their own times; history.json only what builds saw
    feed = ET.fromstring((site / "feed.xml").read_bytes())
    titles = [e.findtext("a:title", namespaces=ATOM) for e in feed.findall("a:entry", ATOM)]
    assert "demo-model @prod → v1.1.0" in titles and "demo-model stage prod → v1.1.0" in titles
    ledger = loads((site / "history.json").read_bytes())
    assert all(h.seen == "start" for m in ledger.models.values() for e in m.aliases.values() for h in e)
    assert b"GTO" not in (site / "history.json").read_bytes()


def test_wandb_runs_that_log_an_alias_are_its_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # written by wandb 0.31.0 offline: @champion logged with version A, then B, then A again
    store = DATA / "wandb" / "alias_history"
    catalog = read_catalog(Config(sources=(SourceConfig(str(store)),)))
    moves = [(m.name, m.versions, m.source) for m in catalog.alias_moves]
    a, b = moves[0][1], moves[1][1]
    assert a != b and moves == [
        ("champion", a, "W&B run hist0001 logged it with this alias"),
        ("champion", b, "W&B run hist0002 logged it with this alias"),
        ("champion", a, "W&B run hist0003 logged it with this alias"),
    ]
    times = [m.time for m in catalog.alias_moves]
    assert times == sorted(times) and None not in times
    assert catalog.model_by_name["churn-wb"].aliases["champion"] == a[0]
    site = site_of(store, tmp_path / "site", monkeypatch)
    (line,) = timelines(site / "models" / "churn-wb" / "index.html")
    label = {v: f"v{v}" if v[:1].isdigit() else v for v in (a[0], b[0])}  # as pages label versions
    assert line.startswith(f"@champion: held by {label[a[0]]} since ")
    assert line.count("before that") == 2 and f"before that {label[b[0]]} since " in line
    assert line.endswith("(W&amp;B run hist0001 logged it with this alias)")


def manifests(root: Path, promoted: dict[str, str | None]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for version, when in promoted.items():
        extra = f"\n  promoted_at: '{when}'" if when else ""
        (root / f"v{version}.mlreport.yaml").write_text(
            "mlreport_manifest: 1\n"
            f"run: {{id: run-{version}, experiment: churn}}\n"
            f"model:\n  name: churn\n  version: '{version}'\n  stage: Production\n  aliases: [champion]{extra}\n"
        )
    return root


def test_manifest_promoted_at_dates_the_moves_and_decides_the_holder(tmp_path: Path) -> None:
    # v3 was promoted before v2 (a rollback): the one promoted last holds the alias
    store = manifests(tmp_path / "dated", {"1": "2026-10-01T00:00:00Z", "2": "2026-11-20", "3": "2026-11-01"})
    catalog = read_catalog(Config(sources=(SourceConfig(str(store)),)))
    assert catalog.model_by_name["churn"].aliases == {"champion": "2"}
    assert [(m.kind, m.versions, m.source) for m in catalog.alias_moves if m.kind == "alias"] == [
        ("alias", ("1",), "v1.mlreport.yaml: model.promoted_at"),
        ("alias", ("3",), "v3.mlreport.yaml: model.promoted_at"),
        ("alias", ("2",), "v2.mlreport.yaml: model.promoted_at"),
    ]
    assert [m.versions for m in catalog.alias_moves if m.kind == "stage"] == [("1",), ("3",), ("2",)]
    shown = with_store_history(None, catalog)
    assert shown is not None
    assert describe(timeline(shown, "churn", "champion")) == (
        "held by v2 since 2026-11-20 (v2.mlreport.yaml: model.promoted_at), "
        "before that v3 since 2026-11-01 (v3.mlreport.yaml: model.promoted_at), "
        "before that v1 since 2026-10-01 (v1.mlreport.yaml: model.promoted_at)"
    )
    # when a claimant has no promoted_at, the highest version holds it, as before
    undated = manifests(tmp_path / "undated", {"1": "2026-10-01", "2": "2026-11-20", "3": None})
    assert read_catalog(Config(sources=(SourceConfig(str(undated)),))).model_by_name["churn"].aliases == {
        "champion": "3"
    }


def test_a_promoted_at_that_is_no_date_is_a_problem_naming_it(tmp_path: Path) -> None:
    store = manifests(tmp_path / "bad", {"1": "2026-02-30"})
    catalog = read_catalog(Config(sources=(SourceConfig(str(store)),)))
    assert [p.reason for p in catalog.problems if "promoted_at" in p.reason] == [
        "model.promoted_at: expected an ISO 8601 time or epoch milliseconds, found a string ('2026-02-30')"
    ]
    assert not catalog.alias_moves


def h(versions: tuple[str, ...], since: int | None, seen: str = "build", source: str | None = None) -> Holding:
    return Holding(versions, since, seen, source)


def test_the_merge_rule() -> None:
    store = [h(("3",), 300, "store", "tag 3"), h(("4",), 500, "store", "tag 4")]
    # no store history: the ledger as it is
    ledger = (h(("1",), None, "start"), h(("2",), 200))
    assert merge(ledger, []) == ledger
    # the ledger's dated holdings before the store's first move stay; its start and anything
    # after the first store move go, agreeing (v3 at 350) or not (v9 at 400)
    merged = merge((h(("1",), None, "start"), h(("2",), 200), h(("3",), 350), h(("9",), 400)), store)
    assert merged == (h(("2",), 200), *store)
    # consecutive holdings by the same versions are one, the earliest
    assert merge((h(("3",), 100),), store) == (h(("3",), 100), store[1])
    # undated store moves: the ledger gives way entirely
    assert merge(ledger, [h(("5",), None, "store", "x")]) == (h(("5",), None, "store", "x"),)


def test_the_ledger_file_never_holds_the_stores_history(tmp_path: Path) -> None:
    store = manifests(tmp_path / "dated", {"1": "2026-10-01", "2": "2026-11-20"})
    catalog = read_catalog(Config(sources=(SourceConfig(str(store)),)))
    shown = with_store_history(None, catalog)
    assert shown is not None and shown.models["churn"].aliases["champion"]
    assert dumps(shown) == dumps(loads(dumps(shown))) and b"promoted_at" not in dumps(shown)


def test_mlflow_pages_say_the_history_is_what_builds_saw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = site_of(ROOT / "site_example" / "mlruns", tmp_path / "site", monkeypatch)
    page = (site / "models" / "churn-classifier" / "index.html").read_text()
    assert "The store keeps only the current aliases and stages: this is what mlreport" in page
    assert "(history starts here)" in page
