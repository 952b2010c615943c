"""The built site: escaping, determinism, links, search, offline, nav, extending a mkdocs.yml."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

from mlreport.config import Config, SourceConfig
from mlreport.site import build_site

from .conftest import DATA, ROOT, tree_digest

V3 = DATA / "mlflow" / "v3_file"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("site")
    mp = pytest.MonkeyPatch()
    mp.chdir(work)  # no mkdocs.yml here: a standalone site
    store = work / "store"
    shutil.copytree(V3, store)
    before = tree_digest(store)
    config = Config(sources=(SourceConfig(str(store)),), output=str(work / "out"), title="Fixture <b>report</b>")
    build_site(config)
    assert tree_digest(store) == before, "the build wrote into the source"
    mp.undo()
    return work / "out"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        href = a.get("href") or a.get("xlink:href")
        if tag == "a" and href:
            self.links.append(href)
        if tag == "table" and a.get("data-rows"):
            # rows that mlreport.js renders: [text, url, sort, class] per cell
            for row in json.loads(a["data-rows"] or "[]"):
                self.links += [cell[1] for cell in row if len(cell) > 1 and cell[1]]
        if tag in ("script", "img", "iframe") and a.get("src"):
            self.scripts.append(a["src"] or "")
        if tag == "link" and a.get("href"):
            self.scripts.append(a["href"] or "")


def _html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_store_strings_are_text_never_markup(site: Path) -> None:
    for page in _html_files(site):
        text = page.read_text(encoding="utf-8")
        assert "<script>alert(1)</script>" not in text, page
        assert "<b>report</b>" not in text, page
    evil = next(p for p in (site / "runs").glob("*/index.html") if "alert" in p.read_text())
    body = evil.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body or "&lt;script&gt;alert&#40;1&#41;&lt;/script&gt;" in body
    # the pipes and Markdown of a param value stay in one table cell, as text
    assert "<td>a|b *c* [x](y) </td>" in body


def test_every_internal_link_and_asset_exists(site: Path) -> None:
    checked = 0
    for page in _html_files(site):
        if page.name == "404.html":
            continue  # MkDocs writes it with root-absolute links, for any depth
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for href in parser.links + parser.scripts:
            url = urlparse(href)
            if url.scheme or href.startswith(("#", "mailto:")) or not url.path:
                continue
            target = (page.parent / unquote(url.path)).resolve()
            if href.endswith("/") or target.is_dir():
                target = target / "index.html"
            assert target.is_file(), f"{page.relative_to(site)} links to missing {href}"
            checked += 1
    assert checked > 500


def test_no_request_can_leave_the_site(site: Path) -> None:
    for page in _html_files(site):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        external = [s for s in parser.scripts if urlparse(s).scheme in ("http", "https") or s.startswith("//")]
        assert external == [], page
        assert "fonts.googleapis" not in page.read_text()
    assert len(list(site.rglob("plotly*.js"))) == 1


def test_detail_pages_stay_out_of_the_nav(site: Path) -> None:
    config = yaml.safe_load((site.parent / ".out.mlreport" / "mkdocs.yml").read_text())
    assert [next(iter(item)) for item in config["nav"]] == [
        "Home",
        "Models",
        "Experiments",
        "Runs",
        "Datasets",
        "Problems",
    ]
    nav = (site / "index.html").read_text()
    assert "fixture-model/1/" not in nav.split('class="md-content"')[0]


def test_search_finds_names_versions_aliases_params_but_not_bulky_tables(site: Path) -> None:
    index = json.loads((site / "search" / "search_index.json").read_text())
    runs = json.loads((site / "search" / "search_index.runs.json").read_text())  # the second part
    text = json.dumps(index) + json.dumps(runs)
    for needle in ("fixture model", "version 2", "@champion", "baseline", "alice", "adam", "Staging"):
        assert needle in text, needle
    # artifact lists and the lineage SVG are excluded from the index
    assert "serving_input_example.json" not in text
    assert "mlr-arrow" not in text


def test_csv_downloads(site: Path) -> None:
    runs = (site / "runs" / "runs.csv").read_text().splitlines()
    assert runs[0].startswith("Run,Status,Experiment,Started,Duration,User")
    assert len(runs) == 1 + 9
    versions = (site / "models" / "fixture-model" / "versions.csv").read_text().splitlines()
    assert versions[0].startswith("Version,Status,Stage,Aliases")
    assert [v.split(",")[0] for v in versions[1:]] == ["2", "1"]


def test_two_builds_are_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        build_site(Config(sources=(SourceConfig(str(V3)),), output=str(out)))
        outs.append(tree_digest(out))
    assert outs[0] == outs[1]


def test_extends_the_mkdocs_yml_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Team docs\n\nOur own page.\n")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Team\ntheme:\n  name: material\n  palette: {primary: red}\n"
        "markdown_extensions:\n  - pymdownx.emoji:\n      emoji_index: !!python/name:material.extensions.emoji.twemoji\n"
        "nav:\n  - Home: index.md\n"
    )
    monkeypatch.chdir(tmp_path)
    build_site(Config(sources=(SourceConfig(str(V3)),), output="site", title="Models"))
    site = tmp_path / "site"
    assert "Our own page." in (site / "index.html").read_text()
    assert (site / "reports" / "models" / "fixture-model" / "2" / "index.html").is_file()
    generated = (tmp_path / ".site.mlreport" / "mkdocs.yml").read_text()
    assert "!!python/name:material.extensions.emoji.twemoji" in generated
    config = yaml.safe_load(generated.replace("!!python/name:", ""))
    assert config["theme"]["palette"] == {"primary": "red"} and config["theme"]["font"] is False
    assert config["nav"][0] == {"Home": "index.md"}
    assert list(config["nav"][1]) == ["Models"]
    assert (tmp_path / "mkdocs.yml").read_text().startswith("site_name: Team")  # theirs untouched


def test_project_docs_build_with_the_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's first command, minus the install: the docs site with the example report."""
    from mlreport.cli import main

    work = tmp_path / "repo"
    for name in ("mkdocs.yml", "mlreport.yml"):
        shutil.copy(ROOT / name, work / name) if work.exists() else (
            work.mkdir(),
            shutil.copy(ROOT / name, work / name),
        )
    shutil.copytree(ROOT / "docs", work / "docs")
    shutil.copytree(ROOT / "site_example", work / "site_example")
    monkeypatch.chdir(work)
    assert main(["build", "site_example/", "-q"]) == 0
    site = work / "site"
    assert (site / "getting-started" / "index.html").is_file()
    model = site / "example" / "models" / "churn-classifier"
    assert sorted(p.name for p in model.iterdir() if p.is_dir()) == ["1", "2", "3", "4", "@challenger", "@champion", "compare"]
    champion = (model / "@champion" / "index.html").read_text()
    # the alias page links to its holder and shows its history (no redirect: issue 9)
    assert re.search(r'points at <a href="\.\./3/">version 3</a>', champion)
    assert "held by" in champion and "history starts here" in champion
