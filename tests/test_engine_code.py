"""What the build cache is keyed on besides the sources: mlreport's own code, every file of the
package. The page key once listed the folders it hashed (render/, engine/, model.py) and missed
card.py, review.py, catalog.py, plots.py… that render reads from outside them: a new mlreport
with a fixed card served the old cards from the cache."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from mlreport import site
from mlreport.config import Config, SourceConfig
from mlreport.engine import cache, code

from .conftest import DATA

V3 = DATA / "mlflow" / "v3_file"


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
    spec = site.ThemeSpec("site_name: x\n", "/nowhere", (), {}, 0)
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
