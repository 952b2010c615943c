"""The preview cache (engine/preview_cache.py): a build with a warm, a cold or a stale cache
gives the same previews, the same copies and the same site as one without it, and the site
budget still cuts the same files."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from mlreport.catalog import read_catalog
from mlreport.config import ArtifactsConfig, Config, SourceConfig
from mlreport.engine.preview_cache import PreviewCache
from mlreport.preview_records import Previews
from mlreport.previews import collect_previews
from mlreport.site import build_site

from .test_previews import MLFLOW, _run_dir


def _config(store: Path, **artifacts: int) -> Config:
    return Config(sources=(SourceConfig(str(store)),), artifacts=ArtifactsConfig(**artifacts))  # type: ignore[arg-type]


def _collect(store: Path, cache_dir: Path | None, **artifacts: int) -> tuple[Previews, PreviewCache | None]:
    config = _config(store, **artifacts)
    catalog = read_catalog(config)
    cache = PreviewCache(cache_dir, config.artifacts) if cache_dir is not None else None
    previews = collect_previews(catalog, config, cache=cache)
    if cache is not None:
        cache.save()
    return previews, cache


@pytest.fixture
def store(tmp_path: Path) -> Path:
    out = tmp_path / "mlruns"
    shutil.copytree(MLFLOW, out)
    return out


def test_a_warm_cache_gives_the_previews_of_no_cache(store: Path, tmp_path: Path) -> None:
    plain, _ = _collect(store, None)
    cold, c1 = _collect(store, tmp_path / "cache")
    warm, c2 = _collect(store, tmp_path / "cache")
    assert c1 is not None and c2 is not None
    assert c1.hits == 0 and c1.misses > 0
    assert c2.hits == c1.misses and c2.misses == 0  # every artifact came from the cache
    assert plain.files and plain == cold == warm
    assert dict(plain.files) == dict(warm.files)


def test_an_artifact_edited_in_place_with_the_same_size_and_mtime_is_read_again(store: Path, tmp_path: Path) -> None:
    _collect(store, tmp_path / "cache")
    notes = _run_dir(store) / "artifacts" / "notes.txt"
    st = notes.stat()
    text = notes.read_text()
    assert "24 rows" in text
    notes.write_text(text.replace("24 rows", "42 rows"))
    os.utime(notes, ns=(st.st_atime_ns, st.st_mtime_ns))  # the mtime put back: the ctime tells
    assert notes.stat().st_size == st.st_size and notes.stat().st_mtime_ns == st.st_mtime_ns
    stale, cache = _collect(store, tmp_path / "cache")
    fresh, _ = _collect(store, None)
    assert cache is not None and cache.misses == 1
    assert stale == fresh
    assert any(b"42 rows" in data for data in stale.files.values())


@pytest.mark.parametrize("warm_with_cut", [False, True])
def test_the_site_budget_cuts_the_same_files_with_the_cache(store: Path, tmp_path: Path, warm_with_cut: bool) -> None:
    everything, _ = _collect(store, None)
    sizes = sorted(len(d) for d in everything.files.values())
    budget = sum(sizes) - sizes[-1] - 1  # room for all but the largest copy
    cut, _ = _collect(store, None, max_site_bytes=budget)
    assert set(everything.files) - set(cut.files)
    # the cache filled by a build with the other budget: the budget is counted after it
    _collect(store, tmp_path / "cache", **({"max_site_bytes": budget} if warm_with_cut else {}))
    with_cache, cache = _collect(store, tmp_path / "cache", max_site_bytes=budget)
    assert with_cache == cut
    full, _ = _collect(store, tmp_path / "cache")
    assert full == everything
    assert cache is not None and cache.hits > 0


def test_a_damaged_cache_is_an_empty_one(store: Path, tmp_path: Path) -> None:
    plain, _ = _collect(store, None)
    _collect(store, tmp_path / "cache")
    index = tmp_path / "cache" / "previews" / "index.json"
    index.write_text(index.read_text().replace('"text"', '"txet"', 1).replace("[", "{", 3))
    damaged, cache = _collect(store, tmp_path / "cache")
    assert cache is not None and cache.hits == 0
    assert damaged == plain


@pytest.mark.parametrize(
    "damage",
    [b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe not text", b'{"key": 1, "entries": []}', b"[]"],
    ids=["nested past the recursion limit", "not UTF-8", "wrong types", "not an object"],
)
def test_a_hostile_index_is_an_empty_cache_not_a_crash(store: Path, tmp_path: Path, damage: bytes) -> None:
    plain, _ = _collect(store, None)
    _collect(store, tmp_path / "cache")
    (tmp_path / "cache" / "previews" / "index.json").write_bytes(damage)
    damaged, cache = _collect(store, tmp_path / "cache")
    assert cache is not None and cache.hits == 0
    assert damaged == plain


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_sites_built_with_a_warm_cold_and_stale_cache_are_the_same(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = replace(_config(store, max_bytes=2048), output=str(tmp_path / "site"), base_dir=tmp_path)
    build_site(config, jobs=1)
    notes = _run_dir(store) / "artifacts" / "notes.txt"
    notes.write_text(notes.read_text().replace("24 rows", "42 rows"))  # same size
    build_site(config, jobs=1)  # the cache of the first build, stale for notes.txt
    stale = _tree(tmp_path / "site")
    build_site(config, jobs=1)  # warm
    warm = _tree(tmp_path / "site")
    shutil.rmtree(tmp_path / "site")
    build_site(replace(config, cache_dir=str(tmp_path / "fresh-cache")), jobs=1)  # cold
    cold = _tree(tmp_path / "site")
    assert stale == warm == cold
    assert any(b"42 rows" in data for rel, data in cold.items() if rel.endswith("notes.txt"))


def test_an_artifact_outside_the_store_has_no_key(tmp_path: Path) -> None:
    # the key's lstat goes through the store's confinement: a location that escapes by '..' or
    # through a folder link is not statted (its read is refused; its key would follow a file
    # outside the store)
    from mlreport.model import Artifact
    from mlreport.stores import LocalStore

    root = tmp_path / "store"
    (root / "run").mkdir(parents=True)
    (root / "run" / "model.txt").write_text("m")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("s")
    (root / "run" / "out").symlink_to(tmp_path / "outside")
    store = LocalStore(root, str(root))
    cache = PreviewCache(tmp_path / "cache", ArtifactsConfig())

    def key(location: str) -> str | None:
        return cache.key("s", store, Artifact(path=location.rpartition("/")[2], size=1, location=location))

    assert key("run/model.txt") is not None
    assert key("run/../../outside/secret.txt") is None
    assert key("run/out/secret.txt") is None
