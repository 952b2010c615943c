"""A build cache that someone else wrote cannot run code (issue 11: every input is untrusted).

CI restores the cache folder between jobs, so its pickles are input too. They are loaded through
``mlreport.safe_pickle``, which resolves only mlreport's record classes and plain containers: a
poisoned entry is a cache miss, and the site is the one a build without the cache makes.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mlreport import model, safe_pickle
from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.engine.cache import FORMAT, BuildCache
from mlreport.engine.deps import canonical_pickle
from mlreport.readers import _units
from mlreport.site import build_site

from .conftest import DATA, tree_digest
from .fuzz.test_fuzz_slice import STORES


class _Payload:
    """Unpickles as a call of ``func(*args)``: what an attacker's cache entry would hold."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.func, self.args


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("os", "system"),
        ("posix", "system"),
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("builtins", "getattr"),
        ("builtins", "__import__"),
        ("subprocess", "Popen"),
        ("shutil", "rmtree"),
        ("mlreport.publish", "atomic_replace"),  # an mlreport function, not a record
        ("mlreport.model", "MappingProxyType"),  # imported there, not defined there
        ("mlreport.model", "copyreg"),  # a module attribute
        ("mlreport.catalog", "read_catalog"),
        ("mlreport.model", "Run.__init__"),  # dotted names reach methods' globals
        ("mlreport.model", "__builtins__"),
    ],
)
def test_names_that_run_code_are_refused(module: str, name: str) -> None:
    with pytest.raises(pickle.UnpicklingError, match="is not an mlreport record"):
        safe_pickle.allowed(module, name)


def test_record_classes_are_resolved() -> None:
    assert safe_pickle.allowed("mlreport.model", "Run") is model.Run
    assert safe_pickle.allowed("mlreport.model", "MetricHistory") is model.MetricHistory
    assert safe_pickle.allowed("mlreport.model", "_mapping_proxy") is model._mapping_proxy
    assert safe_pickle.allowed("array", "array").__name__ == "array"


def test_a_payload_is_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    data = pickle.dumps(_Payload(os.system, f"touch {marker}"))
    with pytest.raises(pickle.UnpicklingError):
        safe_pickle.loads(data)
    with pytest.raises(pickle.UnpicklingError):
        _units.loads(data)  # the unit cache's own unpickler has the same limits
    assert not marker.exists()
    # the same bytes through plain pickle do run: the test would see a regression
    pickle.loads(data)
    assert marker.exists()


@pytest.mark.parametrize("store", STORES)
def test_every_fixture_catalog_loads_back_from_the_cache(tmp_path: Path, store: str) -> None:
    """The allowlist covers every class a real catalog pickles (else every build is a miss)."""
    config = Config(sources=(SourceConfig(str(DATA / store)),), output=str(tmp_path / "site"))
    catalog = read_catalog(config, history_dir=tmp_path)
    cache = BuildCache(tmp_path / "cache")
    cache.save_catalog("k", catalog)
    loaded = cache.load_catalog("k")
    assert loaded is not None
    # memo-less bytes: equal records, whichever of their strings the loader shared (interned)
    assert canonical_pickle(loaded.runs) == canonical_pickle(catalog.runs)
    for run in catalog.runs:
        _units.loads(_units.dumps(run))  # and every run record through the unit cache's codec


def _poison(cache: Path, marker: Path) -> int:
    """Replace every pickle in a build cache with a payload; returns how many were replaced."""
    payload = pickle.dumps(_Payload(os.system, f"touch {marker}"), protocol=5)
    n = 0
    for path in cache.rglob("*.pickle"):
        path.write_bytes(FORMAT + payload)
        n += 1
    for db_path in cache.rglob("*.sqlite"):
        db = sqlite3.connect(db_path)
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            n += db.execute(f"UPDATE {table} SET value = ?", (payload,)).rowcount
        db.commit()
        db.close()
    return n


def test_a_poisoned_cache_is_a_miss_and_builds_the_same_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    shutil.copytree(DATA / "mlflow" / "v3_file", store)

    def config(out: str) -> Config:
        return Config(
            sources=(SourceConfig(str(store / "mlruns")),),
            output=str(tmp_path / out),
            cache_dir=str(tmp_path / f"{out}-cache"),
        )

    build_site(config("site"))
    marker = tmp_path / "ran"
    assert _poison(tmp_path / "site-cache", marker) >= 3  # manifest, catalog, run units
    (store / "mlruns" / "0" / "meta.yaml").touch()  # the crawl key changes: units are read too
    build_site(config("site"))
    assert not marker.exists()
    build_site(config("fresh"))
    assert tree_digest(tmp_path / "site") == tree_digest(tmp_path / "fresh")
