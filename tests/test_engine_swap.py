"""The engine's swap: the new site replaces the old in one step, the old one is kept as the next
build's spare and updated in place, so a build costs the pages that changed, not the site.

What holds whatever happens (tests/test_safety_output.py: a killed build leaves the previous site
byte-identical, a second build of one output is refused in one line) is tested there; here: the
spare, what it saves, and that it never changes what is published. Windows is out of scope (the
lock is ``flock``, the swap ``renameat2``, with two renames where that is missing).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from mlreport import publish
from mlreport.config import Config, SourceConfig
from mlreport.engine.tree import Tree
from mlreport.site import DIRTY, MKDOCS_DIR, build_site

from .conftest import DATA, tree_digest

V3 = DATA / "mlflow" / "v3_file"
EXP = "716778322394665320"
LEDGER = {"history.json", "feed.xml"}  # the alias ledger accumulates across builds on purpose


def _site(path: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(path).items() if k not in LEDGER}


def _config(store: Path, out: Path, **kw: object) -> Config:
    return Config(sources=(SourceConfig(str(store / "mlruns")),), output=str(out), **kw)  # type: ignore[arg-type]


def _ledger(site: Path) -> Path:
    """The alias ledger a build reads from the site before it (an input of its pages), kept
    for the full build to read the same."""
    kept = site.parent / f"ledger-{len(list(site.parent.glob('ledger-*')))}.json"
    shutil.copy(site / "history.json", kept)
    return kept


def _full(store: Path, tmp_path: Path, name: str, history: Path, **kw: object) -> dict[str, str]:
    """The same site built from scratch: no cache, no previous site, the same ledger."""
    out = tmp_path / name
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(tmp_path / f".{name}.mlreport", ignore_errors=True)
    cache = tmp_path / f"{name}-cache"
    shutil.rmtree(cache, ignore_errors=True)
    build_site(_config(store, out, cache_dir=str(cache), history=str(history), **kw))
    return _site(out)


def _new_run(store: Path, new_id: str, name: str) -> None:
    src = store / "mlruns" / EXP / "806aa75703714a4ca086ab79bf1391ba"
    dst = src.parent / new_id
    shutil.copytree(src, dst)
    meta = dst / "meta.yaml"
    meta.write_text(meta.read_text().replace(src.name, new_id).replace("run_name: baseline", f"run_name: {name}"))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")  # the ledger's clock, the same for the full builds
    shutil.copytree(V3, tmp_path / "store")
    return tmp_path / "store"


def test_builds_in_a_row_each_give_the_bytes_of_a_full_build(store: Path, tmp_path: Path) -> None:
    """Each build updates the spare, which holds the site from two builds back: a run added,
    an alias moved, a run deleted, the title changed and changed back, one after the other."""
    site = tmp_path / "site"
    build_site(_config(store, site))
    spare = publish.staging_dir_for(site)
    assert spare.is_dir() and _site(spare) == _site(site)  # the first build leaves a spare too
    steps = [
        ("new run", {}),
        ("changed alias", {}),
        ("deleted run", {}),
        ("title", {"title": "Another title"}),
        ("title back", {}),
    ]
    for change, kw in steps:
        if change == "new run":
            _new_run(store, "0123456789abcdef0123456789abcdef", "brand-new-run")
        elif change == "changed alias":
            (store / "mlruns" / "models" / "fixture model" / "aliases" / "champion").write_text("1")
        elif change == "deleted run":
            shutil.rmtree(store / "mlruns" / EXP / "c8311cc51d6b498792dd45b70f970e7b")
        before = _site(site)
        ledger = _ledger(site)
        build_site(_config(store, site, **kw))
        after = _site(site)
        assert after != before, change
        assert after == _full(store, tmp_path, "full", ledger, **kw), change
        assert (site / publish.MARKER).is_file()
        assert not (publish.work_dir_for(site) / DIRTY).exists()


def test_an_unchanged_page_folder_is_not_touched(store: Path, tmp_path: Path) -> None:
    """After a new run, a page that did not change keeps its folder: the spare already held
    it, so the build neither linked nor wrote it (the old engine made 20,000 folders anew)."""
    site = tmp_path / "site"
    build_site(_config(store, site))
    page = "runs/c8311cc51d6b498792dd45b70f970e7b"
    folders = {os.stat(site / page).st_ino, os.stat(publish.staging_dir_for(site) / page).st_ino}
    files = {os.stat(site / page / "index.html").st_ino}
    for i in range(3):
        _new_run(store, f"{i:032x}", f"new-run-{i}")
        build_site(_config(store, site))
        assert os.stat(site / page).st_ino in folders, i
        assert os.stat(site / page / "index.html").st_ino in files, i
    assert "new-run-2" in (site / "runs" / "index.html").read_text()


def test_mkdocs_runs_only_when_what_it_builds_changed(
    store: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site = tmp_path / "site"
    build_site(_config(store, site))
    assert (publish.work_dir_for(site) / MKDOCS_DIR / "search" / "search_index.json").is_file()
    caplog.set_level(logging.INFO, logger="mlreport")
    # a run that changes nothing MkDocs builds from (no newer date: it is a copy)
    _new_run(store, "0123456789abcdef0123456789abcdef", "brand-new-run")
    ledger = _ledger(site)
    build_site(_config(store, site))
    assert "building the site with mkdocs" not in caplog.text
    assert _site(site) == _full(store, tmp_path, "full", ledger)
    caplog.clear()
    ledger = _ledger(site)
    build_site(_config(store, site, title="Another title"))  # the nav's title: MkDocs builds again
    assert "building the site with mkdocs" in caplog.text
    assert _site(site) == _full(store, tmp_path, "full2", ledger, title="Another title")
    # MkDocs' folder edited (or damaged) by hand: it is built again, not trusted
    caplog.clear()
    next((publish.work_dir_for(site) / MKDOCS_DIR).rglob("*.css")).write_text("damaged")
    _new_run(store, "1123456789abcdef0123456789abcdef", "another-run")
    ledger = _ledger(site)
    build_site(_config(store, site, title="Another title"))
    assert "building the site with mkdocs" in caplog.text
    assert _site(site) == _full(store, tmp_path, "full3", ledger, title="Another title")


@pytest.mark.parametrize("damage", ["a build stopped while changing it", "a file edited", "a file added by hand"])
def test_a_spare_not_as_left_is_not_trusted(store: Path, tmp_path: Path, damage: str) -> None:
    site = tmp_path / "site"
    build_site(_config(store, site))
    _new_run(store, "0123456789abcdef0123456789abcdef", "brand-new-run")
    build_site(_config(store, site))
    spare = publish.staging_dir_for(site)
    work = publish.work_dir_for(site)
    if damage == "a build stopped while changing it":
        # what a SIGKILL between two files leaves: a page half replaced, a stray file, the mark
        (spare / "stray.html").write_text("left by a killed build")
        page = next((spare / "runs").glob("*/index.html"))
        page.unlink()
        page.write_text("half written")
        (work / DIRTY).write_text("")
    elif damage == "a file edited":
        page = next((spare / "runs").glob("*/index.html"))
        page.unlink()
        page.write_text("edited")
    else:
        # added to the published site: once swapped out, that spare is emptied before use
        (site / "stray.html").write_text("added by hand")
    _new_run(store, "1123456789abcdef0123456789abcdef", "another-run")
    ledger = _ledger(site)
    build_site(_config(store, site))
    assert _site(site) == _full(store, tmp_path, "full", ledger)
    if damage == "a file added by hand":
        # each build replaces the site whole; the stray file went aside with the old site,
        # and that spare, not as the last build left it, is emptied before the next build
        _new_run(store, "2123456789abcdef0123456789abcdef", "third-run")
        ledger = _ledger(site)
        build_site(_config(store, site))
        assert _site(site) == _full(store, tmp_path, "full", ledger)
        assert not (spare / "stray.html").exists()


def test_an_output_given_through_a_symbolic_link(store: Path, tmp_path: Path) -> None:
    """``-o public`` where ``public`` links to the real folder: the site is built and swapped at
    the real folder (the link is the user's and stays as it is), incrementally as any other."""
    real = tmp_path / "www" / "report"
    real.parent.mkdir()
    (tmp_path / "public").symlink_to(real, target_is_directory=True)
    build_site(_config(store, tmp_path / "public"))
    assert (tmp_path / "public").is_symlink() and os.readlink(tmp_path / "public") == str(real)
    assert (real / "index.html").is_file() and not real.is_symlink()
    assert publish.staging_dir_for(real).is_dir()
    _new_run(store, "0123456789abcdef0123456789abcdef", "brand-new-run")
    ledger = _ledger(real)
    build_site(_config(store, tmp_path / "public"))
    assert (tmp_path / "public").is_symlink()
    assert "brand-new-run" in (tmp_path / "public" / "runs" / "index.html").read_text()
    assert _site(real) == _full(store, tmp_path, "full", ledger)


# ---------------------------------------------------------------------------------------------
# swap_in and the tree, directly


def _folder(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "index.html").write_text(text)
    return path


def test_swap_in_keeps_the_old_site_as_the_spare(tmp_path: Path) -> None:
    site = _folder(tmp_path / "site", "old")
    publish.mark(site)
    new = _folder(publish.staging_dir_for(site), "new")
    publish.swap_in(new, site)
    assert (site / "index.html").read_text() == "new" and (site / publish.MARKER).is_file()
    assert (new / "index.html").read_text() == "old"  # nothing deleted: the next build's spare
    assert not site.is_symlink()


def test_swap_in_without_an_atomic_exchange(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "_exchange", lambda a, b: False)
    site = _folder(tmp_path / "site", "old")
    publish.mark(site)
    new = _folder(publish.staging_dir_for(site), "new")
    publish.swap_in(new, site)
    assert (site / "index.html").read_text() == "new"
    assert (new / "index.html").read_text() == "old"
    old = publish.work_dir_for(site) / publish.OLD_NAME
    assert not old.exists()
    # stopped after the second rename: the replaced site waits aside, the next build removes it
    new.rename(old)
    publish.remove_left_over(site)
    assert not old.exists() and (site / "index.html").read_text() == "new"


def test_the_tree_never_writes_through_a_shared_file(tmp_path: Path) -> None:
    """Every file is a hard link shared with the published site and the page cache: changing
    one in the tree makes a new file, and the other names keep their bytes."""
    published = tmp_path / "published"
    published.mkdir()
    (published / "a.html").write_text("published")
    spare = tmp_path / "spare"
    tree = Tree(spare, {})
    tree.link(published / "a.html", "a.html")
    tree.link(published / "a.html", "b/c.html")
    assert os.path.samefile(published / "a.html", spare / "b" / "c.html")
    tree.write("a.html", b"new")
    tree.write("b/c.html", b"newer")
    assert (published / "a.html").read_text() == "published"
    assert (spare / "a.html").read_text() == "new"
    # what is recorded and not put again is removed, with the folders it leaves empty
    again = Tree(spare, dict(tree.files))
    assert again.intact("a.html")
    assert again.prune() == 1
    assert not (spare / "b").exists() and (spare / "a.html").is_file()
    # a file changed since it was recorded is not intact
    (spare / "a.html").write_text("edited in place")
    assert not Tree(spare, dict(again.files)).intact("a.html")


def test_the_tree_keeps_a_recorded_file_that_already_holds_the_bytes(tmp_path: Path) -> None:
    """``put`` (the ledger, the feed, artifact copies: files mlreport writes as they are) keeps
    the spare's file when it holds those bytes, and writes a new one otherwise."""
    spare = tmp_path / "spare"
    tree = Tree(spare, {})
    tree.put("a/copy.json", b"same")
    tree.put("b.txt", b"old")
    again = Tree(spare, dict(tree.files))
    inode = os.stat(spare / "a" / "copy.json").st_ino
    again.put("a/copy.json", b"same")
    assert os.stat(spare / "a" / "copy.json").st_ino == inode  # kept, not written
    again.put("b.txt", b"new")  # same size, other bytes
    assert (spare / "b.txt").read_bytes() == b"new"
    (spare / "a" / "copy.json").unlink()
    (spare / "a" / "copy.json").write_bytes(b"edit")  # not as recorded: written anew
    Tree(spare, dict(again.files)).put("a/copy.json", b"same")
    assert (spare / "a" / "copy.json").read_bytes() == b"same"


def test_the_tree_turns_a_folder_into_a_file_and_a_file_into_a_folder(tmp_path: Path) -> None:
    """The last site's folder where the new site has a file, and its file where the new site
    has a folder (a page that became a file, a file that became a page's folder): the spare
    is the tree's own, so each is replaced, and prune leaves what the new site holds."""
    spare = tmp_path / "spare"
    tree = Tree(spare, {})
    tree.write("runs/a/index.html", b"page a")
    tree.write("runs/b", b"a file b")
    again = Tree(spare, dict(tree.files))
    again.write("runs/a", b"now a file")
    again.write("runs/b/index.html", b"now a page")
    assert again.prune() == 2
    assert (spare / "runs" / "a").read_bytes() == b"now a file"
    assert (spare / "runs" / "b" / "index.html").read_bytes() == b"now a page"
