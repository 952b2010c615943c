"""The theme wrap: what mlreport relies on in MkDocs 1.6 / Material 9.7+, and that the fast path
(a theme page per shape, filled in) gives exactly the bytes of a full template render."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import pytest

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.engine.output import page_titles
from mlreport.engine.theme import ThemeSpec, ThemeWrap
from mlreport.previews import collect_previews
from mlreport.render.page import Page
from mlreport.render.pages import render_site
from mlreport.site import build_site

from .conftest import DATA, ROOT


def test_the_mkdocs_and_material_contract_we_rely_on() -> None:
    import material
    import mkdocs
    from mkdocs.commands.build import get_context
    from mkdocs.structure.pages import Page as MkPage
    from mkdocs.structure.toc import AnchorLink

    assert mkdocs.__version__.startswith("1.6.")
    major, minor = (int(x) for x in material.__version__.split(".")[:2])
    assert major == 9 and minor >= 7
    assert list(inspect.signature(get_context).parameters) == ["nav", "files", "config", "page", "base_url"]
    assert list(inspect.signature(MkPage).parameters) == ["title", "file", "config"]
    assert list(inspect.signature(AnchorLink).parameters) == ["title", "id", "level"]
    templates = Path(material.__file__).parent / "templates"
    content = (templates / "partials" / "content.html").read_text()
    assert '{% if "\\u003ch1" not in page.content %}' in content and "{{ page.content }}" in content
    base = (templates / "base.html").read_text()
    assert '"navigation" in page.meta.hide' in base and '"toc" in page.meta.hide' in base
    assert "page.meta.title" in base
    assert '{% extends "base.html" %}' in (templates / "main.html").read_text()


def _wrap_for(site_work: Path) -> ThemeWrap:
    text = (site_work / "mkdocs.yml").read_text(encoding="utf-8")
    titles = page_titles(site_work / "docs")
    return ThemeWrap(ThemeSpec(text, str(site_work), tuple(sorted(titles)), titles, 1_700_000_000))


@pytest.mark.parametrize("embedded", [False, True], ids=["standalone", "embedded"])
def test_every_page_shape_gives_the_full_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedded: bool
) -> None:
    if embedded:
        for name in ("mkdocs.yml",):
            shutil.copy(ROOT / name, tmp_path / name)
        shutil.copytree(ROOT / "docs", tmp_path / "docs")
    monkeypatch.chdir(tmp_path)
    sources = (SourceConfig(str(ROOT / "site_example")), SourceConfig(str(DATA / "mlflow" / "v3_file")))
    config = Config(sources=sources, output="site", title="Shapes <i>x</i>", site_url="https://ml.example/")
    build_site(config, jobs=1)
    wrap = _wrap_for(tmp_path / ".site.mlreport")
    prefix = "reports" if embedded else None
    catalog = read_catalog(config)
    # the artifact previews the build read, so that the pages are the site's
    previews = collect_previews(catalog, config, f"{prefix}/" if prefix else "")
    rendered = render_site(catalog, config.with_overrides(prefix=prefix), previews=previews)
    pages = [p for p in rendered if isinstance(p, Page)]
    assert len(pages) > 60
    for page in pages:
        assert wrap.wrap(page) == wrap.render(page).encode("utf-8"), page.url
    assert sum(1 for s in wrap._shapes.values() if s is not None) >= 5
    assert all(s is not None for s in wrap._shapes.values()), "every shape of the built-in pages fills in"
    # and the site on disk is what the wrap gives
    version = next(p for p in pages if p.url.endswith("models/churn-classifier/3/"))
    assert (tmp_path / "site" / version.dest).read_bytes() == wrap.render(version).encode("utf-8")


def test_a_theme_that_prints_the_page_differently_falls_back_to_full_renders(tmp_path: Path) -> None:
    """A custom_dir override that prints the URL in a form the shape cannot fill in (upper
    case) still gets exactly the full render, page by page."""
    work = tmp_path / "w"
    (work / "docs").mkdir(parents=True)
    (work / "overrides").mkdir()
    (work / "overrides" / "main.html").write_text(
        '{% extends "base.html" %}{% block content %}{{ page.url | upper }}{{ super() }}{% endblock %}'
    )
    (work / "docs" / "index.md").write_text("# Home\n")
    (work / "mkdocs.yml").write_text(
        "site_name: t\ndocs_dir: docs\nsite_dir: site\ntheme:\n  name: material\n  custom_dir: overrides\n"
    )
    wrap = _wrap_for(work)
    body = '<h1 id="a">A<a class="headerlink" href="#a" title="Permanent link">&para;</a></h1><p>x</p>'
    pages = [Page(f"runs/r{i}/", f"r{i}", body) for i in range(3)]
    for page in pages:
        out = wrap.wrap(page)
        assert out == wrap.render(page).encode("utf-8")
        assert page.url.upper().encode() in out
    assert list(wrap._shapes.values()) == [None]


@pytest.mark.parametrize("directory_urls", [True, False])
def test_a_page_url_is_what_mkdocs_file_gives(tmp_path: Path, directory_urls: bool) -> None:
    """The wrap computes a page's URL without a MkDocs File per page: it must be File's."""
    from mkdocs.structure.files import File

    work = tmp_path / "w"
    (work / "docs").mkdir(parents=True)
    (work / "docs" / "index.md").write_text("# Home\n")
    (work / "mkdocs.yml").write_text(
        f"site_name: t\ndocs_dir: docs\nsite_dir: site\nuse_directory_urls: {str(directory_urls).lower()}\n"
    )
    wrap = _wrap_for(work)
    for url in ("runs/abc/", "models/fixture model/1/", "models/modèle-ß/@champion/", "a/b c/d%e/", "x/"):
        page = Page(url, "t", "<p>x</p>")
        expected = File(page.src_uri, str(work / "docs"), "site", directory_urls).url
        assert wrap._url(page) == expected
