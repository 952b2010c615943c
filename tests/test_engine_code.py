"""What the build cache is keyed on besides the sources: mlreport's own code, every file of the
package. The page key once listed the folders it hashed (render/, engine/, model.py) and missed
card.py, review.py, catalog.py, plots.py… that render reads from outside them: a new mlreport
with a fixed card served the old cards from the cache."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlreport import site
from mlreport.config import Config, SourceConfig
from mlreport.engine import cache, code
from mlreport.engine.theme import ThemeSpec
from mlreport.engine.units import Rendered

from .conftest import DATA, ROOT

V3 = DATA / "mlflow" / "v3_file"
BROKEN = DATA / "mlflow" / "broken" / "mlruns"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "mlreport", *args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of mlreport's package that the code digest reads instead of the installed one."""
    copy = tmp_path / "package" / "mlreport"
    shutil.copytree(code.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(code, "PACKAGE", copy)
    return copy


def _edit(package: Path, rel: str) -> None:
    path = package / rel
    path.write_bytes(path.read_bytes() + b"\n# edited in a checkout\n")


@pytest.mark.parametrize(
    "edited",
    [
        "card.py",  # render reads the model card from outside render/ (the old key missed it)
        "review.py",
        "catalog.py",
        "plots.py",
        "readers/mlflow_file.py",
        "render/tables.py",
        "render/assets/mlreport.js",
        "engine/search_worker.js",
        "schemas/manifest.schema.json",
    ],
)
def test_an_edit_anywhere_in_the_package_changes_every_key(package: Path, edited: str) -> None:
    config = Config(sources=(SourceConfig(str(V3)),))
    spec = ThemeSpec("site_name: x\n", "/nowhere", (), {}, 0)
    assert (package / edited).is_file()

    def keys() -> tuple[str, str, str | None, bytes]:
        crawl = site._crawl_key(config)
        return (
            code.code_digest(),
            site._global_digest(config, None, spec),  # every page's digest
            site._build_key(config, crawl),  # "nothing changed"
            cache._code_salt(),  # the unit cache
        )

    before = keys()
    _edit(package, edited)
    after = keys()
    assert all(b != a for b, a in zip(before, after, strict=True))


def test_compiled_files_are_not_code(package: Path) -> None:
    before = code.code_digest()
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "site.cpython-311.pyc").write_bytes(b"compiled")
    (package / "card.cpython-311.pyc").write_bytes(b"compiled")
    assert code.code_digest() == before


def test_the_code_digest_is_of_the_files_not_of_their_times(package: Path) -> None:
    before = code.code_digest()
    path = package / "card.py"
    path.write_bytes(path.read_bytes())  # touched, same bytes
    assert code.code_digest() == before


def test_the_code_digest_names_each_file_by_its_path(package: Path) -> None:
    """Two files of one name in two folders (render/__init__.py, engine/__init__.py) are not
    interchangeable: the old key hashed the name alone."""
    before = code.code_digest()
    (package / "engine" / "extra.py").write_text("x = 1\n")
    moved = code.code_digest()
    (package / "engine" / "extra.py").rename(package / "render" / "extra.py")
    assert len({before, moved, code.code_digest()}) == 3


def test_a_new_mlreport_re_renders_every_page(
    tmp_path: Path, package: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A rebuild after an edit to card.py (outside the folders the old key listed) renders every
    page again instead of keeping the pages the old code wrote."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(V3, tmp_path / "store")
    config = Config(sources=(SourceConfig(str(tmp_path / "store" / "mlruns")),), output=str(tmp_path / "site"))

    def build() -> str:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="mlreport.site"):
            result = site.build_site(config, jobs=1)
        lines = [r.getMessage() for r in caplog.records if r.name == "mlreport.site"]
        done = [line for line in lines if line.startswith(("pages:", "nothing changed"))]
        assert len(done) == 1, lines
        return done[0].replace(str(result.pages), "N", 1)

    assert build().startswith("pages: N rendered, 0 from the cache, 0 unchanged")
    assert build().startswith("nothing changed")
    _edit(package, "card.py")
    assert build() == "pages: N rendered, 0 from the cache, 0 unchanged"


def test_a_page_records_the_digest_it_was_rendered_for(tmp_path: Path) -> None:
    from mlreport.catalog import read_catalog
    from mlreport.engine.units import RenderContext, render_page
    from mlreport.render.page import Page
    from mlreport.render.pages import SiteRenderer

    config = Config(sources=(SourceConfig(str(V3)),))
    catalog = read_catalog(config)
    ref = next(r for r in SiteRenderer(catalog, config).refs() if r[0] == "run")
    ctx = RenderContext(catalog, config, None, None)  # the Markdown form: no theme needed
    done = render_page(ctx, (ref, "d" * 40))
    assert isinstance(done, Rendered) and done.digest == "d" * 40 and done.ref == ref
    assert render_page(ctx, ref).digest == ""  # a bare reference: rendered for no digest
    assert Page("x/", "x", "").digest == ""


def test_nothing_changed_reports_what_the_first_build_reported(tmp_path: Path) -> None:
    """The catalog is not loaded when nothing changed: its warnings and counts come from what
    the build before kept, line for line, and --strict still fails."""
    shutil.copytree(BROKEN, tmp_path / "mlruns")
    first = run_cli("build", "mlruns", "-o", "out", "-v", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = run_cli("build", "mlruns", "-o", "out", "-v", cwd=tmp_path)
    assert "nothing changed since the last build" in again.stderr

    def warnings(err: str) -> list[str]:
        return [line for line in err.splitlines() if ": warning: " in line]

    def counts(err: str) -> str:  # "built out in 1.2s: 1 models, … 6 problems", without the time
        return next(line for line in err.splitlines() if line.startswith("mlreport: built ")).split(": ", 2)[2]

    assert warnings(again.stderr) == warnings(first.stderr) and len(warnings(first.stderr)) == 6
    assert counts(again.stderr) == counts(first.stderr) and counts(first.stderr).endswith(" 6 problems")
    strict = run_cli("build", "mlruns", "-o", "out", "--strict", "-q", cwd=tmp_path)
    assert strict.returncode == 1
    assert strict.stderr.splitlines()[-1] == "mlreport: error: 6 record(s) could not be read (--strict)"


if sys.platform == "win32":  # pragma: no cover
    pytest.skip("the engine's swap and lock are POSIX (Windows is out of scope)", allow_module_level=True)
