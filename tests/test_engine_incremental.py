"""Incremental builds: after each kind of change, a rebuild that reuses the cache and the
published site gives exactly the bytes of a full build from scratch; so does a build whose cache
is missing, stale or damaged."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mlreport.config import Config, SourceConfig
from mlreport.site import build_site

from .conftest import DATA, tree_digest

V3 = DATA / "mlflow" / "v3_file"
EXP = "716778322394665320"
# the alias ledger (history.json) and its feed accumulate across builds on purpose
LEDGER = {"history.json", "feed.xml"}


def _site(path: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(path).items() if k not in LEDGER}


def _new_run(store: Path) -> None:
    src = store / "mlruns" / EXP / "806aa75703714a4ca086ab79bf1391ba"
    new_id = "0123456789abcdef0123456789abcdef"
    dst = src.parent / new_id
    shutil.copytree(src, dst)
    meta = dst / "meta.yaml"
    meta.write_text(meta.read_text().replace(src.name, new_id).replace("run_name: baseline", "run_name: brand-new-run"))


def _changed_alias(store: Path) -> None:
    (store / "mlruns" / "models" / "fixture model" / "aliases" / "champion").write_text("1")


def _deleted_run(store: Path) -> None:
    shutil.rmtree(store / "mlruns" / EXP / "c8311cc51d6b498792dd45b70f970e7b")


def _config(title: str = "Report", templates: Path | None = None) -> Callable[[Path, Path], Config]:
    def make(store: Path, out: Path) -> Config:
        return Config(
            sources=(SourceConfig(str(store / "mlruns")),),
            output=str(out),
            title=title,
            templates=str(templates) if templates else None,
        )

    return make


def _built_then_new_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """A copy of the fixture store built into ``site``, then one new run added to it."""
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    shutil.copytree(V3, store)
    config = _config()(store, tmp_path / "site")
    build_site(config)
    _new_run(store)
    return config


@pytest.mark.parametrize("change", ["new run", "changed alias", "deleted run", "changed config", "changed template"])
def test_an_incremental_build_gives_the_bytes_of_a_full_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    shutil.copytree(V3, store)
    templates = tmp_path / "templates"
    templates.mkdir()
    before = _config(templates=templates)
    after = before
    build_site(before(store, tmp_path / "site"))
    first = _site(tmp_path / "site")
    # the previous ledger is an input of the next build (its pages show the alias history):
    # the full build below reads the same one
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")  # and a move is dated by the build's clock
    shutil.copy(tmp_path / "site" / "history.json", tmp_path / "previous-history.json")
    if change == "new run":
        _new_run(store)
    elif change == "changed alias":
        _changed_alias(store)
    elif change == "deleted run":
        _deleted_run(store)
    elif change == "changed config":
        after = _config(title="Another title", templates=templates)
    else:
        (templates / "run.html.j2").write_text(
            '{% extends "default:run.html.j2" %}{% block lineage %}<p>no lineage here</p>{% endblock %}'
        )
    result = build_site(after(store, tmp_path / "site"))
    incremental = _site(tmp_path / "site")
    full = tmp_path / "full"
    build_site(
        after(store, full).with_overrides(
            cache_dir=str(tmp_path / "fresh-cache"), history=str(tmp_path / "previous-history.json")
        )
    )
    assert incremental == _site(full)
    assert incremental != first, "the change shows"
    assert result.pages > 20
    if change == "new run":
        runs = (tmp_path / "site" / "runs" / "index.html").read_text()
        assert "brand-new-run" in runs
        assert "brand-new-run" in (tmp_path / "site" / "experiments" / "fixture-main" / "index.html").read_text()
        assert "brand-new-run" in (tmp_path / "site" / "search" / "search_index.runs.json").read_text()
    if change == "changed template":
        assert "no lineage here" in next((tmp_path / "site" / "runs").glob("*/index.html")).read_text()


def test_nothing_changed_renders_nothing_and_keeps_the_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    config = _config()(V3, tmp_path / "site")
    build_site(config)
    first = _site(tmp_path / "site")
    caplog.set_level("INFO", logger="mlreport")
    result = build_site(config)
    assert _site(tmp_path / "site") == first
    assert "nothing changed since the last build" in caplog.text
    # found before the catalog is loaded: neither crawled nor read back from the cache, and
    # what `mlreport build` reports of it was kept with the site
    assert "the crawl comes from the cache" not in caplog.text
    assert "reading " not in caplog.text
    assert result.loaded is None
    assert (result.summary.runs, result.summary.problems) == (len(result.catalog.runs), len(result.catalog.problems))
    # a page of the published site edited by hand: the site is rebuilt, not trusted
    page = next((tmp_path / "site" / "runs").glob("*/index.html"))
    page.write_text("edited by hand")
    caplog.clear()
    build_site(config)
    assert "nothing changed since the last build" not in caplog.text
    # only that page is rendered again (its cached copy was the same file, edited with it)
    assert "pages: 1 rendered, 0 from the cache" in caplog.text
    assert _site(tmp_path / "site") == first


def test_a_build_with_nothing_changed_imports_no_renderer(tmp_path: Path) -> None:
    # issue 7's nothing-changed budget: importing the page builders, the theme and the previews
    # was a tenth of that build; it walks the sources, lists the site and stops
    import os
    import subprocess
    import sys

    command = [sys.executable, "-X", "importtime", "-m", "mlreport", "build", "-v", str(V3 / "mlruns"), "-o", "site"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    subprocess.run(command, cwd=tmp_path, env=env, check=True, capture_output=True)
    again = subprocess.run(command, cwd=tmp_path, env=env, check=True, capture_output=True, text=True)
    assert "nothing changed since the last build" in again.stderr
    imported = {
        line.rpartition("|")[2].strip() for line in again.stderr.splitlines() if line.startswith("import time:")
    }
    assert "mlreport.engine.cache" in imported  # the check itself
    heavy = {"mlreport.render.pages", "mlreport.engine.deps", "mlreport.engine.units", "mlreport.previews", "jinja2"}
    assert not heavy & imported


@pytest.mark.parametrize("damage", ["no cache", "no previous site", "damaged cache"])
def test_a_missing_or_damaged_cache_gives_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    monkeypatch.chdir(tmp_path)
    config = _config()(V3, tmp_path / "site")
    build_site(config)
    first = _site(tmp_path / "site")
    cache = tmp_path / ".site.cache"
    assert (cache / "manifest.pickle").is_file() and any(p.is_file() for p in (cache / "rendered").rglob("*"))
    if damage == "no cache":
        shutil.rmtree(cache)
    elif damage == "no previous site":
        shutil.rmtree(tmp_path / "site")
    else:
        for path in (cache / "rendered").rglob("*"):
            if path.is_file():
                path.write_bytes(b"not a page")
        for path in (cache / "crawl").glob("*.pickle"):
            path.write_bytes(b"not a catalog")
        page = next((tmp_path / "site" / "runs").glob("*/index.html"))
        page.write_text("edited by hand")  # the published copy no longer matches
    caplog.set_level("INFO", logger="mlreport")
    build_site(config)
    assert _site(tmp_path / "site") == first
    if damage == "no previous site":  # what CI has: the cache restored, no site
        assert "pages: 0 rendered" in caplog.text
    else:
        assert "pages: 0 rendered" not in caplog.text


def test_an_edited_theme_override_re_renders_the_generated_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files the user's mkdocs.yml names by path (``custom_dir``) shape every page: an edit is a
    change, not 'nothing changed', and every generated page shows it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Team docs\n")
    (tmp_path / "overrides").mkdir()
    override = tmp_path / "overrides" / "main.html"
    override.write_text('{% extends "base.html" %}{% block announce %}first-banner{% endblock %}')
    (tmp_path / "mkdocs.yml").write_text("site_name: Team\ntheme:\n  name: material\n  custom_dir: overrides\n")
    config = _config()(V3, tmp_path / "site")
    build_site(config)
    page = next((tmp_path / "site" / "reports" / "runs").glob("*/index.html"))
    assert "first-banner" in page.read_text()
    override.write_text('{% extends "base.html" %}{% block announce %}second-banner{% endblock %}')
    build_site(config)
    assert "second-banner" in page.read_text()
    build_site(config.with_overrides(output=str(tmp_path / "full"), cache_dir=str(tmp_path / "fresh-cache")))
    assert _site(tmp_path / "site") == _site(tmp_path / "full")


def test_one_new_run_renders_only_the_pages_it_is_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The second build reads the unchanged runs back from the unit cache, the first parsed
    them: equal records, but with their strings shared differently. Their digests must not
    differ (a plain pickle's memo made them: one new run re-rendered every version page)."""
    config = _built_then_new_run(tmp_path, monkeypatch)
    caplog.set_level("INFO", logger="mlreport")
    result = build_site(config)
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("pages: "))
    rendered = int(line.split()[1])
    # the new run's page, its experiment's page, the index pages (home, models, experiments,
    # runs, datasets, problems) and the datasets it reads; no version, model or other run page
    assert 0 < rendered <= 12, line
    assert result.pages - rendered >= 15  # of 27


def test_a_record_digest_does_not_depend_on_how_its_strings_are_shared() -> None:
    import pickle

    from mlreport.engine.deps import canonical_pickle

    value = "".join(["0.", "1"])  # a string object of its own
    shared = {"lr": value, "eta": value}
    apart = {"lr": "".join(["0.", "1"]), "eta": "".join(["0.", "1"])}
    assert shared == apart
    assert pickle.dumps(shared, 5) != pickle.dumps(apart, 5)  # what the digest must not see
    assert canonical_pickle(shared) == canonical_pickle(apart)
    # and inside records, which go through the unit codec's reducers (a mapping proxy, a run)
    from dataclasses import replace
    from types import MappingProxyType

    from mlreport.catalog import read_catalog

    run = read_catalog(Config(sources=(SourceConfig(str(V3 / "mlruns")),))).runs[0]
    one = replace(run, params=MappingProxyType(shared))
    two = replace(run, params=MappingProxyType(apart))
    assert pickle.dumps(one, 5) != pickle.dumps(two, 5)
    assert canonical_pickle(one) == canonical_pickle(two)
    assert canonical_pickle(replace(run, params=MappingProxyType({"lr": "0.2", "eta": value}))) != canonical_pickle(one)


def test_a_one_new_run_build_lists_the_published_site_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the listing compared during the sources' walk answers the publish step too (a second
    # listing of every file of a 20,000-page site was ~1.3 s CPU of a one-new-run build)
    import mlreport.site as site_module

    config = _built_then_new_run(tmp_path, monkeypatch)
    listed: list[Path] = []
    listing = site_module.site_listing

    def counted(folder: Path) -> dict[str, tuple[int, int]]:
        listed.append(Path(folder))
        return listing(folder)

    monkeypatch.setattr(site_module, "site_listing", counted)
    build_site(config)
    assert listed.count(tmp_path / "site") == 1
    # (its bytes are a full build's: test_an_incremental_build_gives_the_bytes_of_a_full_build)
    assert "brand-new-run" in (tmp_path / "site" / "runs" / "index.html").read_text()


def test_the_walk_s_site_check_answers_only_for_the_manifest_it_compared(tmp_path: Path) -> None:
    from mlreport.engine.cache import Manifest
    from mlreport.site import _SiteCheck

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("x")
    st = (site / "index.html").stat()
    files = {"index.html": (st.st_size, st.st_mtime_ns)}
    check = _SiteCheck(site, files, token="a")
    assert not check.answers(Manifest(token="a"))  # not made yet
    check.run()
    assert check.answers(Manifest(token="a")) and check.matches()
    assert not check.answers(Manifest(token="b"))  # another build saved its manifest since
    assert not _SiteCheck(site, files, token="").answers(Manifest(token=""))
