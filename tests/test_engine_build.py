"""The build engine end to end: the plain-Markdown builders still build, the engine's site
matches them page for page, and the output does not depend on the number of workers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlreport.config import Config, SourceConfig
from mlreport.site import build_site

from .conftest import DATA, ROOT, tree_digest

V3 = DATA / "mlflow" / "v3_file"


def _pages(site: Path) -> set[str]:
    return {p.relative_to(site).as_posix() for p in site.rglob("index.html")}


def test_mkdocs_full_builds_the_same_pages_from_generated_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sources = (SourceConfig(str(V3)),)
    build_site(Config(sources=sources, output="engine"))
    build_site(Config(sources=sources, output="full", builder="mkdocs-full"))
    assert _pages(tmp_path / "engine") == _pages(tmp_path / "full")
    md = (tmp_path / ".full.mlreport" / "docs" / "models" / "fixture-model" / "1" / "index.md").read_text()
    assert md.startswith('---\ntitle: "fixture model · version 1"\n')
    assert '<div class="mlreport-page" markdown="0">' in md
    full = (tmp_path / "full" / "models" / "fixture-model" / "1" / "index.html").read_text()
    assert '<h2 id="lineage">Lineage' in full and "svg" in full
    # MkDocs' own search index of the Markdown project still has the version page
    index = json.loads((tmp_path / "full" / "search" / "search_index.json").read_text())
    assert "fixture model · version 1" in {d["title"] for d in index["docs"]}


def test_the_site_is_the_same_whatever_the_number_of_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sources = (SourceConfig(str(ROOT / "site_example")), SourceConfig(str(V3)))
    digests = []
    for jobs in (1, 2):
        out = tmp_path / f"site{jobs}"
        build_site(Config(sources=sources, output=str(out)), jobs=jobs)
        digests.append(tree_digest(out))
    assert digests[0] == digests[1]


def test_a_two_worker_dask_cluster_builds_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    distributed = pytest.importorskip("distributed")
    monkeypatch.chdir(tmp_path)
    sources = (SourceConfig(str(ROOT / "site_example")), SourceConfig(str(V3)))
    build_site(Config(sources=sources, output="local"), jobs=1)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, processes=True
    ) as cluster:
        address = str(cluster.scheduler_address)
        config = Config(sources=sources, output="dask", scheduler=address)
        build_site(config)
        with distributed.Client(address) as client:
            assert len(client.scheduler_info()["workers"]) == 2
    assert tree_digest(tmp_path / "local") == tree_digest(tmp_path / "dask")


def test_engine_config_keys_are_checked(tmp_path: Path) -> None:
    from mlreport.config import load_config
    from mlreport.errors import ConfigError

    path = tmp_path / "mlreport.yml"
    path.write_text("jobs: 3\nscheduler: tcp://10.0.0.5:8786\ncache_dir: .cache\n")
    config = load_config(path)
    assert (config.jobs, config.scheduler, config.cache_dir) == (3, "tcp://10.0.0.5:8786", ".cache")
    for text, message in [
        ("jobs: 0\n", "mlreport.yml: jobs: expected a whole number of 1 or more, found 0"),
        (
            "scheduler: localhost\n",
            "mlreport.yml: scheduler: expected a Dask scheduler address like tcp://host:8786, found 'localhost'",
        ),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError) as err:
            load_config(path)
        assert str(err.value) == message


def test_version_of_finds_each_version_as_the_scan_did() -> None:
    from mlreport.catalog import read_catalog
    from mlreport.render.pages import SiteRenderer

    config = Config(sources=(SourceConfig(str(ROOT / "site_example")), SourceConfig(str(V3))))
    r = SiteRenderer(read_catalog(config), config)
    pairs = [(name, v) for name, vs in r.c.versions_by_model.items() for v in vs]
    assert len(pairs) > 5
    for name, v in pairs:
        first = next(x for x in r.c.versions_by_model[name] if x.version == v.version)
        assert r.version_of(name, v.version) is first
    with pytest.raises(KeyError):
        r.version_of(pairs[0][0], "no such version")
