"""The catalog is the record; render reads only the record (issue 8: "render imports no reader and
no store", "nothing after the catalog knows which tool wrote a run").
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig, load_config, source_as_named
from mlreport.model import display_path
from mlreport.render.page import Asset, Page
from mlreport.render.pages import render_site

from .conftest import DATA, ROOT

SRC = ROOT / "src" / "mlreport"
#: what reads stores: render and the record never import it
CRAWL_SIDE = ("mlreport.readers", "mlreport.crawl", "mlreport.stores", "fsspec")


def _imports(path: str) -> set[str]:
    """Every module a file imports, at any level of the file (function-level imports too)."""
    tree = ast.parse((SRC / path).read_text(encoding="utf-8"))
    package = ("mlreport." + path.removesuffix(".py").replace("/", ".")).rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
    return out


@pytest.mark.parametrize("path", sorted(str(p.relative_to(SRC)) for p in (SRC / "render").glob("*.py")))
def test_no_render_module_imports_a_reader_the_crawl_or_a_store(path: str) -> None:
    bad = sorted(m for m in _imports(path) if m.startswith(CRAWL_SIDE))
    assert not bad, f"render/{path}: {bad}"


def test_the_import_scan_sees_relative_and_function_level_imports() -> None:
    # the check above can fail: the crawl module itself imports readers and stores both ways
    found = _imports("crawl.py")
    assert "mlreport.readers" in found and "mlreport.stores" in found
    assert "mlreport.readers._common" in _imports("readers/hf.py")


def test_importing_render_loads_no_reader_and_no_store() -> None:
    code = f"import sys, mlreport.render.pages\nprint(sorted(m for m in sys.modules if m.startswith({CRAWL_SIDE!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_display_path_is_the_source_as_named_then_the_file() -> None:
    assert display_path("./mlruns", "1/meta.yaml") == "mlruns/1/meta.yaml"
    assert display_path("s3://b/x/", "") == "s3://b/x"
    assert display_path("/", "a") == "/a" and display_path("/", "") == "/"
    assert display_path(".", "a/b") == "a/b" and display_path("./", "a") == "a"
    assert display_path("runs", "") == "runs" and display_path("runs", "a") == "runs/a"
    # the stores module answers the same (it re-exports the record's function)
    from mlreport.stores import display_path as stores_display

    assert stores_display is display_path


# ---------------------------------------------------------------------------------------------
# no format rule after the catalog: no tool's name or tag prefix in what render and the record
# modules do (docstrings and comments may name a tool; code and templates may not)

#: the tools and formats the readers know; "manifest" is left out (mlreport's own format, and
#: the engine's word for its cache listing)
TOOL_WORDS = re.compile(
    r"(?<![A-Za-z0-9])(mlflow|wandb|w&b|weights & biases|dvc|dvclive|gto|hf|hugging ?face|transformers"
    r"|trainer|tensorboard|tfevents|clearml|aim)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
#: a store's own markers that are no tool's name: DVC's ``<md5>.dir`` of a folder (the reader
#: gives ``Dataset.content_digest`` without it; the catalog once stripped it itself)
FORMAT_MARKERS = re.compile(r"(?<![A-Za-z0-9_])\.dir(?![A-Za-z0-9_])")
#: what runs after the catalog: render, the record, review, the engine
AFTER_CATALOG = sorted(
    [str(p.relative_to(SRC)) for p in (SRC / "render").glob("*.py")]
    + [str(p.relative_to(SRC)) for p in (SRC / "engine").glob("*.py")]
    + "card.py review.py review_html.py ledger.py gates.py diff.py comment.py feed.py site.py build.py publish.py"
    " serve.py history_store.py preview_records.py goals.py catalog.py model.py".split()
)
#: (file, text) -> why it is not a rule about which tool wrote a record
ALLOWED = {
    ("render/model_card.py", "Hugging Face model card"): "the card is written in Hugging Face's README"
    " format: it names the output's format, not a store's",
}


def tool_rules(path: str, source: str) -> list[str]:
    """Code in ``source`` that names a tool: a string (not a docstring) with a tool's name or tag
    prefix in it (``k.startswith("mlflow.")``), or a reader name compared with a constant
    (``origin.format == "wandb"``)."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            match = TOOL_WORDS.search(node.value) or FORMAT_MARKERS.search(node.value)
            if match and not any((path, text) in ALLOWED for text in _pieces(node.value)):
                found.append(f"{path}:{node.lineno}: {node.value[:80]!r}")
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and s.attr in ("format", "reader") for s in sides) and any(
                isinstance(s, ast.Constant) and isinstance(s.value, str) for s in sides
            ):
                found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
    return found


def _pieces(text: str) -> list[str]:
    return [allowed for (_, allowed) in ALLOWED if allowed in text]


@pytest.mark.parametrize("path", AFTER_CATALOG)
def test_nothing_after_the_catalog_names_a_tool(path: str) -> None:
    assert not tool_rules(path, (SRC / path).read_text(encoding="utf-8"))


def test_render_reads_no_reader_name() -> None:
    # pages name a store's format as its reader declares it (the catalog's store label), never by
    # printing or testing Origin.format, the reader's name
    for path in sorted((SRC / "render").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        reads = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "format" and id(n) not in called]
        assert not reads, f"render/{path.name}: Origin.format read at lines {reads}"


@pytest.mark.parametrize("path", sorted(p.name for p in (ROOT / "templates").glob("*.j2")))
def test_templates_name_no_tool_and_no_reader(path: str) -> None:
    text = re.sub(r"\{#.*?#\}", "", (ROOT / "templates" / path).read_text(encoding="utf-8"), flags=re.DOTALL)
    assert not TOOL_WORDS.search(text), f"templates/{path}: {TOOL_WORDS.search(text)}"
    assert not re.search(r"\.format\b(?!\s*\()", text), f"templates/{path} prints a reader's name"


@pytest.mark.parametrize("path", sorted(p.name for p in (SRC / "render" / "assets").glob("*.js")))
def test_page_scripts_name_no_tool(path: str) -> None:
    text = (SRC / "render" / "assets" / path).read_text(encoding="utf-8")
    code = re.sub(r"(?m)(^|\s)//.*$", "", re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL))
    assert not TOOL_WORDS.search(code), f"render/assets/{path}: {TOOL_WORDS.search(code)}"


def test_the_tool_scan_finds_the_rules_it_is_for() -> None:
    # the scan can fail: the rule this file was written against, and the other shapes of it
    old = 'def _tags_text(tags):\n    """``mlflow.*`` are not searched"""\n    return [k for k in tags if not k.startswith("mlflow.")]\n'
    assert tool_rules("render/base.py", old) == ["render/base.py:3: 'mlflow.'"]
    assert tool_rules("render/x.py", "ok = origin.format == 'wandb'\n")
    assert tool_rules("render/x.py", "ok = 'dvc' != r.origin.format\n")
    assert tool_rules("render/x.py", "label = f'{k} (HF)'\n")
    assert tool_rules("render/x.py", "x = {'dvc.path': 1}\n")
    assert tool_rules("catalog.py", "d = digest.removesuffix('.dir')\n") == ["catalog.py:1: '.dir'"]
    # and lets through what only mentions a tool in prose, and the named exceptions
    assert not tool_rules("render/x.py", '"""MLflow\'s ``mlflow.note.content`` is Markdown."""\n# mlflow\n')
    assert not tool_rules("render/model_card.py", "t = 'Download (Hugging Face model card)'\n")
    assert not tool_rules("render/x.py", "name = 'mlflowish trainers'\n")


def test_one_definition_of_which_way_is_better() -> None:
    # Catalog.goal (the store, then metric_goals, then the vocabulary) is the only judge: no other
    # module asks the name vocabulary, so none can ignore a declared or configured goal
    judges = ("vocabulary_goal", "LOWER_IS_BETTER", "HIGHER_IS_BETTER")
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel in ("goals.py", "catalog.py"):
            continue
        names = {n.id for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.Name)}
        imported = {m.rsplit(".", 1)[-1] for m in _imports(rel)}
        assert not (names | imported) & set(judges), f"{rel} judges goals itself"


# ---------------------------------------------------------------------------------------------
# provenance without leaks: the source as the user named it, from the config's or working folder


@pytest.mark.parametrize(
    ("path", "base", "shown"),
    [
        ("/w/proj/mlruns", "/w/proj", "mlruns"),
        ("/w/proj/a/mlflow.db", "/w/proj", "a/mlflow.db"),
        ("/w/proj", "/w/proj", "."),
        ("/w/proj/", "/w/proj", "."),
        ("/w/other/mlruns", "/w/proj", "/w/other/mlruns"),  # outside: named as written
        ("/w/projects/x", "/w/proj", "/w/projects/x"),  # a folder that only starts alike
        ("mlruns", "/w/proj", "mlruns"),
        ("../mlruns", "/w/proj", "../mlruns"),
        ("~/mlruns", "/w/proj", "~/mlruns"),
        ("s3://b/w/proj/mlruns", "/w/proj", "s3://b/w/proj/mlruns"),
        ("file:///w/proj/mlruns", "/w/proj", "file:///w/proj/mlruns"),
    ],
)
def test_source_as_named(path: str, base: str, shown: str) -> None:
    assert source_as_named(path, Path(base)) == shown


def test_a_source_reached_through_a_link_is_named_from_the_real_folder(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "mlruns").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    assert source_as_named(str(tmp_path / "link" / "mlruns"), real) == "mlruns"


def _leaks(site: list[Page | Asset], text: str) -> list[str]:
    out = []
    for item in site:
        if isinstance(item, Page):
            if text in item.body or text in item.title or any(text in e.text for e in item.search):
                out.append(item.url)
        elif text.encode() in item.data:
            out.append(item.path)
    return out


def test_a_site_from_an_absolute_source_shows_no_path_of_the_build_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    shutil.copytree(DATA / "mlflow" / "v3_file" / "mlruns", project / "mlruns")
    monkeypatch.chdir(project)
    # as `mlreport build $PWD/mlruns` in CI names it
    config = Config(sources=(SourceConfig(str(project / "mlruns")),))
    assert config.sources[0].path == "mlruns"
    catalog = read_catalog(config)
    assert catalog.runs and {s.display for s in catalog.stores} == {"mlruns"}
    site = list(render_site(catalog, Config(title="t")))
    assert not _leaks(site, str(tmp_path))


def test_a_config_names_its_sources_from_its_own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    shutil.copytree(DATA / "mlflow" / "v3_file" / "mlruns", project / "runs" / "mlruns")
    (project / "mlreport.yml").write_text(f"sources:\n  - {project / 'runs' / 'mlruns'}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # not the config's folder
    config = load_config(project / "mlreport.yml")
    assert [s.path for s in config.sources] == ["runs/mlruns"]
    catalog = read_catalog(config)
    assert catalog.runs and not _leaks(list(render_site(catalog, config)), str(tmp_path))


def test_an_absolute_source_is_still_read_after_the_working_folder_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Config names an absolute source inside its base folder by the relative path; reading
    must resolve that path from the same folder, not from the working folder at build time
    (an API caller who makes the Config and then changes folder lost the source)."""
    project = tmp_path / "project"
    shutil.copytree(DATA / "mlflow" / "v3_file" / "mlruns", project / "mlruns")
    monkeypatch.chdir(project)
    config = Config(sources=(SourceConfig(str(project / "mlruns")),))
    assert config.sources[0].path == "mlruns"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    catalog = read_catalog(config)
    assert catalog.runs and not catalog.problems
    # the output guard protects the same folder the crawl reads
    from mlreport.publish import protected_paths

    assert (project / "mlruns").resolve() in protected_paths(config)
