"""The alias ledger (``history.json``) and the feed, across real builds of a store whose alias moves."""

from __future__ import annotations

import http.server
import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlreport.catalog import read_catalog
from mlreport.cli import main
from mlreport.config import Config, SourceConfig
from mlreport.errors import BuildError
from mlreport.ledger import Holding, LedgerError, describe, dumps, load_previous, loads, observe, timeline
from mlreport.site import build_site

DAY = 86_400_000
T0 = 1_795_000_000  # seconds, 2026-11-18


def write_store(root: Path, champion: int, versions: int = 3) -> None:
    """A manifest store: versions 1..n of churn-classifier, ``@champion`` on one of them."""
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, versions + 1):
        aliases = "\n  aliases: [champion]" if n == champion else ""
        (root / f"v{n}.mlreport.yaml").write_text(
            "mlreport_manifest: 1\n"
            f"run: {{id: run-{n}, experiment: churn, status: finished, start_time: 2026-11-0{n}T01:00:00Z}}\n"
            f"model:\n  name: churn-classifier\n  version: '{n}'{aliases}\n"
            f"metrics: {{val_auc: 0.8{n}}}\n"
        )


def build(store: Path, site: Path, when: int, monkeypatch: pytest.MonkeyPatch, **extra: object) -> Path:
    monkeypatch.chdir(store.parent)  # no mkdocs.yml around: a standalone site
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(when))
    config = Config(sources=(SourceConfig(str(store)),), output=str(site), base_dir=store.parent, **extra)  # type: ignore[arg-type]
    build_site(config)
    return site / "history.json"


def test_three_builds_of_a_moving_alias_give_a_timeline_of_three(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, site = tmp_path / "store", tmp_path / "site"
    write_store(store, champion=1)
    first = build(store, site, T0, monkeypatch)
    ledger = loads(first.read_bytes())
    assert describe(timeline(ledger, "churn-classifier", "champion")) == "held by v1 (history starts here)"
    write_store(store, champion=2)
    build(store, site, T0 + 86_400, monkeypatch)
    write_store(store, champion=3)
    ledger = loads(build(store, site, T0 + 2 * 86_400, monkeypatch).read_bytes())
    entries = timeline(ledger, "churn-classifier", "champion")
    assert entries == (
        Holding(("3",), (T0 + 2 * 86_400) * 1000, "build"),
        Holding(("2",), (T0 + 86_400) * 1000, "build"),
        Holding(("1",), None, "start"),
    )
    assert describe(entries) == (
        "held by v3 since 2026-11-20, before that v2 since 2026-11-19, before that v1 (history starts here)"
    )
    # the feed lists both moves and the three new versions, newest first
    feed = ET.fromstring((site / "feed.xml").read_bytes())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.findtext("a:title", namespaces=ns) for e in feed.findall("a:entry", ns)]
    assert titles[:2] == ["churn-classifier @champion → v3", "churn-classifier @champion → v2"]
    assert sorted(titles[2:]) == [f"churn-classifier v{n}: new version" for n in (1, 2, 3)]


def test_a_build_without_the_previous_ledger_says_history_starts_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    write_store(store, champion=2)
    ledger = loads(build(store, tmp_path / "a", T0, monkeypatch).read_bytes())
    assert describe(timeline(ledger, "churn-classifier", "champion")) == "held by v2 (history starts here)"
    # nothing invented: no time for a holding the build did not see begin
    assert timeline(ledger, "churn-classifier", "champion")[0].since is None
    # a second build at another time with nothing moved writes the same bytes (deterministic)
    again = build(store, tmp_path / "a", T0 + 999, monkeypatch)
    assert again.read_bytes() == dumps(ledger)
    other = build(store, tmp_path / "b", T0 + 5_000, monkeypatch)
    assert other.read_bytes() == again.read_bytes()


class _Server(http.server.ThreadingHTTPServer):
    pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A previous site served on 127.0.0.1 (the published site a CI build reads back)."""
    root = tmp_path / "published"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.shutdown()
        server.server_close()


def test_the_ledger_is_read_back_from_the_published_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: tuple[str, Path]
) -> None:
    url, published = served
    store = tmp_path / "store"
    write_store(store, champion=1)
    # no history.json published yet (404): the history starts here
    first = build(store, tmp_path / "ci-1", T0, monkeypatch, history=url + "history.json")
    (published / "history.json").write_bytes(first.read_bytes())
    write_store(store, champion=2)
    second = build(store, tmp_path / "ci-2", T0 + 86_400, monkeypatch, history=url + "history.json")
    entries = timeline(loads(second.read_bytes()), "churn-classifier", "champion")
    assert [h.versions for h in entries] == [("2",), ("1",)]
    # a broken published ledger stops the build instead of starting the history over
    (published / "history.json").write_text("{not json")
    with pytest.raises(BuildError) as info:
        build(store, tmp_path / "ci-3", T0, monkeypatch, history=url + "history.json")
    assert str(info.value).startswith(f"cannot read the previous alias history {url}history.json: not JSON")


def test_history_flag_and_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    write_store(store, champion=1)
    bad = tmp_path / "history.json"
    bad.write_text('{"mlreport_history": 7, "models": {}}')
    status = main(["build", str(store), "-o", str(tmp_path / "site"), "--history", str(bad), "-q"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.strip() == (
        f"mlreport: cannot read the previous alias history {bad}: unsupported format 7 (this mlreport reads 1); "
        "fix or remove it (the history then starts again)"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"[]", "not an mlreport history ledger (no 'mlreport_history' key)"),
        (b'{"mlreport_history": 1, "models": []}', "'models' is not a mapping"),
        (
            b'{"mlreport_history": 1, "models": {"m": {"aliases": {"a": [{"versions": "3", "since": 1, "seen": "build"}]}}}}',
            "models.m.aliases.a[0].versions is not a list of strings",
        ),
        (
            b'{"mlreport_history": 1, "models": {"m": {"aliases": {"a": [{"versions": [], "since": "x", "seen": "build"}]}}}}',
            "models.m.aliases.a[0].since is not a time in milliseconds",
        ),
        (
            b'{"mlreport_history": 1, "models": {"m": {"stages": {"a": [{"versions": [], "since": 1, "seen": "?"}]}}}}',
            "models.m.stages.a[0].seen is not 'start' or 'build'",
        ),
    ],
)
def test_a_malformed_ledger_names_the_entry(text: bytes, reason: str) -> None:
    with pytest.raises(LedgerError) as info:
        loads(text)
    assert str(info.value) == reason


def test_a_missing_local_ledger_is_a_first_build(tmp_path: Path) -> None:
    assert load_previous(str(tmp_path / "nothing" / "history.json")) is None


def test_removed_alias_and_stage_moves(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write_store(store, champion=1)
    catalog = read_catalog(Config(sources=(SourceConfig(str(store)),)))
    start = observe(None, catalog, 1)
    write_store(store, champion=0)  # nobody holds @champion any more
    later = observe(start, read_catalog(Config(sources=(SourceConfig(str(store)),))), 2 * DAY)
    entries = timeline(later, "churn-classifier", "champion")
    assert [h.versions for h in entries] == [(), ("1",)]
    assert describe(entries) == "held by nobody (removed) since 1970-01-03, before that v1 (history starts here)"
    # the ledger survives a round trip byte for byte
    assert dumps(loads(dumps(later))) == dumps(later)
    assert json.loads(dumps(later))["mlreport_history"] == 1
