"""Artifact previews in a built site (issue 10): the copies, what pages show, the Problems page,
the version page's signature table, and goldens of the pages that show previews."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from mlreport.catalog import read_catalog
from mlreport.config import ArtifactsConfig, Config, SourceConfig
from mlreport.previews import HTML_GUARD, collect_previews
from mlreport.render.page import Page
from mlreport.render.pages import SiteRenderer
from mlreport.site import build_site

from .conftest import GOLDENS, ROOT
from .test_goldens import check_golden
from .test_previews import MLFLOW, WANDB, _run_dir, png


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("previews-site")
    store = work / "mlruns"
    shutil.copytree(MLFLOW, store)
    hostile = _run_dir(store) / "artifacts" / "hostile"
    hostile.mkdir()
    (hostile / "big.png").write_bytes(png(2, 2, b"x" * 3000))
    (hostile / "script.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    (hostile / "report.html").write_text("<script>document.title='pwned'</script><p onmouseover=x()>hi</p>")
    out = work / "site"
    config = Config(
        sources=(SourceConfig(str(store)),),
        output=str(out),
        base_dir=work,
        artifacts=ArtifactsConfig(max_bytes=2048),
    )
    mp = pytest.MonkeyPatch()
    mp.chdir(work)  # not the checkout: its mkdocs.yml would make this a docs site with a report inside
    try:
        build_site(config, jobs=1)
    finally:
        mp.undo()
    return store, out


def test_copies_are_in_the_site_under_their_run(site: tuple[Path, Path]) -> None:
    store, out = site
    run = _run_dir(store)
    page = out / "runs" / run.name
    for rel in ("images/sample.png", "notes.txt", "eval/confusion_matrix.json", "eval/predictions.json"):
        assert (page / "artifacts" / rel).read_bytes() == (run / "artifacts" / rel).read_bytes()
    assert not (page / "artifacts" / "plots" / "loss.png").exists()  # 3.7 KB: over max_bytes 2 KB
    assert not (page / "artifacts" / "hostile" / "script.svg").exists()
    report = (page / "artifacts" / "hostile" / "report.html").read_bytes()
    assert report.startswith(b"\n" + HTML_GUARD)


def test_the_run_page_shows_previews_and_says_what_was_not_copied(site: tuple[Path, Path]) -> None:
    store, out = site
    html = (out / "runs" / _run_dir(store).name / "index.html").read_text()
    assert '<img src="artifacts/images/sample.png" alt="images/sample.png"' in html
    assert '<iframe class="mlreport-preview-frame" sandbox="" referrerpolicy="no-referrer"' in html
    assert "allow-scripts" not in html
    assert "<script>alert(1)" not in html and "document.title=" not in html  # nothing inlined
    assert "mlreport-preview-heatmap" in html and "&#34;type&#34;:&#34;heatmap&#34;" in html
    assert "files not copied into the site" in html
    assert "not copied: 3.7 KB is over artifacts.max_bytes (2.0 KB)" in html
    assert 'href="artifacts/notes.txt" download>Download</a>' in html


def test_the_problems_page_lists_files_not_copied(site: tuple[Path, Path]) -> None:
    _, out = site
    text = (out / "problems" / "problems.csv").read_text()
    assert "plots/loss.png" in text and "artifact not copied into the site: 3.7 KB is over artifacts.max_bytes" in text
    assert "hostile/script.svg" in text and "SVG with script" in text


def test_the_version_page_has_the_signature_table(site: tuple[Path, Path]) -> None:
    _, out = site
    html = (out / "models" / "previews-model" / "1" / "index.html").read_text()
    assert 'id="signature"' in html
    rows = json.loads(
        html.split('id="signature"', 1)[1].split('data-rows="', 1)[1].split('"', 1)[0].replace("&#34;", '"')
    )
    assert [[c[0] for c in r] for r in rows] == [
        ["inputs", "sepal", "double", ""],
        ["inputs", "petal", "double", ""],
        ["outputs", "[0]", "long", ""],
    ]
    assert "Input example: <code>input_example.json</code>" in html


def test_signature_parsing_of_each_spec_kind() -> None:
    from mlreport.model import LoggedModel, Origin, frozen_map
    from mlreport.render.previews import _fields, signature_table

    cols = '[{"type": "double", "name": "x", "required": false}, {"type": "string", "name": "s"}]'
    assert _fields(cols) == [("x", "double", "optional"), ("s", "string", "")]
    tensor = '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 28, 28]}}]'
    assert _fields(tensor) == [("[0]", "tensor float32", "shape [-1, 28, 28]")]
    params = '[{"name": "temperature", "type": "double", "default": 0.5, "shape": null}]'
    assert _fields(params) == [("temperature", "double", "default 0.5")]
    assert _fields("not json") == [("", "", "not json")]
    lm = LoggedModel("m", "m", "m", Origin("s", "p", "mlflow"), signature=frozen_map({"inputs": cols}))
    assert signature_table(lm) is not None
    assert signature_table(LoggedModel("m", "m", "m", Origin("s", "p", "mlflow"))) is None


def test_mlmodel_signature_is_read_and_a_broken_mlmodel_is_a_problem(tmp_path: Path) -> None:
    root = tmp_path / "mlruns"
    shutil.copytree(MLFLOW, root)
    catalog = read_catalog(Config(sources=(SourceConfig(str(root)),)))
    (lm,) = catalog.logged_models
    assert set(lm.signature) == {"inputs", "outputs"} and lm.input_example == "input_example.json"
    assert json.loads(lm.signature["inputs"])[0]["name"] == "sepal"
    mlmodel = next(root.glob("*/models/*/artifacts/MLmodel"))
    mlmodel.write_text("signature: [unclosed\n")
    catalog = read_catalog(Config(sources=(SourceConfig(str(root)),)))
    (lm,) = catalog.logged_models
    assert not lm.signature
    (problem,) = [p for p in catalog.problems if p.origin.path.endswith("MLmodel")]
    assert problem.message() == f"cannot read {problem.origin.path}: MLmodel is not valid YAML"


@pytest.mark.parametrize(
    ("name", "source", "family"),
    [("mlflow-run", MLFLOW, "run"), ("mlflow-version", MLFLOW, "version"), ("wandb-run", WANDB, "run")],
)
def test_preview_page_goldens(
    name: str, source: Path, family: str, update_goldens: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    rel = str(source.relative_to(ROOT))
    config = Config(sources=(SourceConfig(rel),), title="Previews")
    catalog = read_catalog(config)
    renderer = SiteRenderer(catalog, config, previews=collect_previews(catalog, config))
    ref = next(r for r in renderer.refs() if r[0] == family)
    (page,) = [p for p in renderer.render_ref(ref) if isinstance(p, Page)]
    check_golden(GOLDENS / "pages" / "previews" / f"{name}.html", page.body, update_goldens)


def test_an_incremental_build_follows_a_changed_artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same name, same size, other bytes: the run page and the copy are rebuilt, nothing else."""
    store = tmp_path / "mlruns"
    shutil.copytree(MLFLOW, store)
    monkeypatch.chdir(tmp_path)
    config = Config(sources=(SourceConfig(str(store)),), output=str(tmp_path / "site"), base_dir=tmp_path)
    run = _run_dir(store)
    page = tmp_path / "site" / "runs" / run.name
    build_site(config, jobs=1)
    first = (page / "index.html").read_bytes()
    version_page = (tmp_path / "site" / "models" / "previews-model" / "1" / "index.html").read_bytes()
    notes = run / "artifacts" / "notes.txt"
    notes.write_text(notes.read_text().replace("24 rows", "42 rows"))
    build_site(config, jobs=1)
    second = (page / "index.html").read_bytes()
    assert second != first and b"evaluated on 42 rows" in second and b"evaluated on 24 rows" not in second
    assert (page / "artifacts" / "notes.txt").read_bytes() == notes.read_bytes()
    assert (tmp_path / "site" / "models" / "previews-model" / "1" / "index.html").read_bytes() == version_page
    # and a build from scratch gives the same bytes as the incremental one
    shutil.rmtree(tmp_path / "site")
    build_site(replace(config, cache_dir=str(tmp_path / "fresh-cache")), jobs=1)
    assert (page / "index.html").read_bytes() == second
