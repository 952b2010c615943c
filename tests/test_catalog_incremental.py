"""The crawl reads only what changed (issue 7): the sources are walked once per build, each run
folder is keyed by its files, and a crawl through the unit cache gives exactly the catalog of a
crawl without it, after every kind of change to a store."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlreport.catalog import Catalog, read_catalog, to_jsonable
from mlreport.config import Config, SourceConfig
from mlreport.engine.cache import BuildCache, Snapshot, UnitCache, listing_fingerprint
from mlreport.site import build_site

from .conftest import DATA, tree_digest

V3 = DATA / "mlflow" / "v3_file"
EXP = "716778322394665320"
RUN = "806aa75703714a4ca086ab79bf1391ba"
OTHER = "c8311cc51d6b498792dd45b70f970e7b"


# -- the one walk ---------------------------------------------------------------------------------


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    for run in ("a", "b"):
        (root / "exp" / run / "params").mkdir(parents=True)
        (root / "exp" / run / "params" / "lr").write_text("0.1")
        (root / "exp" / run / "meta.yaml").write_text(f"run_id: {run}\n")
    return root


def test_a_snapshot_digests_each_folder_from_one_walk(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    one = Snapshot(root)
    assert one.fingerprint == Snapshot(root).fingerprint
    a, b = one.digest(str(root / "exp" / "a")), one.digest(str(root / "exp" / "b"))
    assert a is not None and b is not None and a != b  # the folder's name is not in its digest,
    # but its files' inodes are
    # a leaf folder (params/) is not kept: most folders of a store are leaves
    assert one.digest(str(root / "exp" / "a" / "params")) is None
    (root / "exp" / "a" / "params" / "lr").write_text("0.25")  # another size
    two = Snapshot(root)
    assert two.digest(str(root / "exp" / "a")) != a
    assert two.digest(str(root / "exp" / "b")) == b
    assert two.fingerprint != one.fingerprint


@pytest.mark.parametrize(
    "change",
    ["same size, new time", "new file", "removed file", "renamed file", "replaced (new inode)", "new folder"],
)
def test_every_kind_of_change_changes_the_run_folder_digest(tmp_path: Path, change: str) -> None:
    root = _tree(tmp_path)
    run = root / "exp" / "a"
    before = Snapshot(root)
    lr = run / "params" / "lr"
    if change == "same size, new time":
        lr.write_text("0.2")
        st = lr.stat()
        os.utime(lr, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    elif change == "new file":
        (run / "params" / "wd").write_text("0")
    elif change == "removed file":
        lr.unlink()
    elif change == "renamed file":
        lr.rename(run / "params" / "LR")
    elif change == "replaced (new inode)":
        st = lr.stat()
        tmp = run / "params" / "lr.tmp"
        tmp.write_text("0.1")
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        tmp.replace(lr)
    else:
        (run / "metrics").mkdir()
    after = Snapshot(root)
    assert after.digest(str(run)) != before.digest(str(run))
    assert after.digest(str(root / "exp" / "b")) == before.digest(str(root / "exp" / "b"))
    assert after.fingerprint != before.fingerprint


def test_a_folder_holding_a_link_has_no_digest_but_the_fingerprint_sees_the_link(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "exp" / "a" / "artifacts").symlink_to(outside)
    snap = Snapshot(root)
    # what is behind the link is not walked: neither the folder nor any above it can be trusted
    assert snap.digest(str(root / "exp" / "a")) is None
    assert snap.digest(str(root / "exp")) is None
    assert snap.digest(str(root / "exp" / "b")) is not None
    (root / "exp" / "a" / "artifacts").unlink()
    (root / "exp" / "a" / "artifacts").symlink_to(tmp_path)
    assert Snapshot(root).fingerprint != snap.fingerprint


def test_a_very_deep_store_is_walked_without_recursion(tmp_path: Path) -> None:
    root = tmp_path / "deep"
    path = str(root)
    os.mkdir(path)
    for _ in range(600):
        path += "/d"
        os.mkdir(path)
    Path(path, "f").write_text("x")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)  # shallower than the store
    try:
        snap = Snapshot(root)
    finally:
        sys.setrecursionlimit(limit)
    assert snap.digest(str(root)) is not None


def test_listing_fingerprint_keeps_each_walk_for_the_crawl(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    kept: dict[str, Snapshot] = {}
    fp = listing_fingerprint([root], kept)
    assert fp == listing_fingerprint([root])
    assert list(kept) == [os.path.realpath(root)]
    (root / "exp" / "a" / "meta.yaml").write_text("run_id: a2\n")
    assert listing_fingerprint([root]) != fp


# -- the unit cache -------------------------------------------------------------------------------


def test_the_unit_cache_keeps_what_was_used_and_drops_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "units.sqlite"
    cache = UnitCache(path, {})
    k1, k2 = cache.key("a", 1), cache.key("b", 2)
    assert k1 != k2 and cache.key("a", 1) == k1
    cache.put(k1, ("one",))
    cache.put(k2, ("two",))
    cache.close(True)
    again = UnitCache(path, {})
    assert again.get(k1) == ("one",)
    assert again.get(cache.key("c")) is None
    assert (again.hits, again.misses) == (1, 1)
    again.close(True)  # k2 was not used by this crawl: dropped
    third = UnitCache(path, {})
    assert third.get(k2) is None and third.get(k1) == ("one",)
    third.close(False)  # an incomplete crawl drops nothing
    fourth = UnitCache(path, {})
    assert fourth.get(k1) == ("one",)
    fourth.close(False)


def test_a_damaged_unit_cache_is_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "units.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    cache = UnitCache(path, {})
    assert cache.get(cache.key("x")) is None
    cache.put(cache.key("x"), 1)
    cache.close(True)
    again = UnitCache(path, {})
    assert again.get(cache.key("x")) == 1
    again.close(False)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE units2 SET value = x'00ff'")
    damaged = UnitCache(path, {})
    assert damaged.get(cache.key("x")) is None  # an entry that does not unpickle: a miss
    damaged.close(False)


def test_a_unit_outside_every_walk_has_no_digest(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    cache = UnitCache(tmp_path / "u.sqlite", {os.path.realpath(root): Snapshot(root)})
    assert cache.digest(root / "exp" / "a") is not None
    assert cache.digest(tmp_path) is None
    assert cache.digest(str(root) + "x") is None  # a sibling whose name starts like the root
    cache.close(False)


# -- crawls through the cache give the catalog of a full crawl ------------------------------------


def _dump(catalog: Catalog) -> Any:
    data = to_jsonable(catalog, history=False)
    data.pop("history_index", None)
    data.pop("histories", None)
    histories = {(run.key, m.key): catalog.history(run.key, m.key) for run in catalog.runs for m in run.metrics}
    # as bytes: a NaN point equals itself
    return data, {
        k: None if h is None else (h.steps.tobytes(), h.timestamps.tobytes(), h.values.tobytes())
        for k, h in histories.items()
    }


def _crawl(store: Path, cache_dir: Path | None, work: Path) -> tuple[Catalog, UnitCache | None]:
    config = Config(sources=(SourceConfig(str(store / "mlruns")),))
    if cache_dir is None:
        return read_catalog(config, history_dir=work), None
    snapshots: dict[str, Snapshot] = {}
    listing_fingerprint([(store / "mlruns").resolve()], snapshots)
    units = BuildCache(cache_dir).units(snapshots)
    return read_catalog(config, history_dir=work, units=units), units


def _runs_of(store: Path) -> int:
    return sum(
        1
        for exp in (store / "mlruns").iterdir()
        if exp.is_dir() and exp.name.isdigit()
        for run in exp.iterdir()
        if run.is_dir() and (run / "meta.yaml").is_file()
    )


def _new_run(store: Path) -> None:
    src = store / "mlruns" / EXP / RUN
    new_id = "0123456789abcdef0123456789abcdef"
    shutil.copytree(src, src.parent / new_id)
    meta = src.parent / new_id / "meta.yaml"
    meta.write_text(meta.read_text().replace(RUN, new_id).replace("run_name: baseline", "run_name: brand-new"))


def _appended_metric(store: Path) -> None:
    with (store / "mlruns" / EXP / RUN / "metrics" / "loss").open("a") as f:
        f.write("1767225999000 0.01 99\n")


def _changed_tag(store: Path) -> None:
    (store / "mlruns" / EXP / RUN / "tags" / "team").write_text("another team")


def _dirty_tag(store: Path) -> None:
    # text the crawl must clean: a hit from the cache is as clean as a fresh read
    (store / "mlruns" / EXP / RUN / "tags" / "team").write_bytes(b"\x1b[31mred\x00 team\xed\xa0\x80")
    (store / "mlruns" / EXP / RUN / "params" / "evil\x07name").write_text("v\x01")


def _deleted_run(store: Path) -> None:
    shutil.rmtree(store / "mlruns" / EXP / OTHER)


def _run_marked_deleted(store: Path) -> None:
    meta = store / "mlruns" / EXP / OTHER / "meta.yaml"
    meta.write_text(meta.read_text().replace("lifecycle_stage: active", "lifecycle_stage: deleted"))


def _broken_run(store: Path) -> None:
    (store / "mlruns" / EXP / OTHER / "meta.yaml").write_text("run_id: [unclosed\n")


def _changed_dataset(store: Path) -> None:
    # an experiment-level file the runs refer to: every run of the experiment is read again
    for meta in (store / "mlruns" / EXP / "datasets").glob("*/meta.yaml"):
        meta.write_text(meta.read_text().replace("name: ", "name: renamed-", 1))


def _changed_experiment(store: Path) -> None:
    meta = store / "mlruns" / EXP / "meta.yaml"
    meta.write_text(meta.read_text().replace("name: ", "name: renamed ", 1))


CHANGES: dict[str, tuple[Callable[[Path], None], Callable[[int], int]]] = {
    # change -> (what it does, how many runs of N are read again)
    "nothing": (lambda store: None, lambda n: 0),
    "new run": (_new_run, lambda n: 1),
    "appended metric line": (_appended_metric, lambda n: 1),
    "changed tag": (_changed_tag, lambda n: 1),
    "text to clean": (_dirty_tag, lambda n: 1),
    "deleted run": (_deleted_run, lambda n: 0),
    "run marked deleted": (_run_marked_deleted, lambda n: 1),
    "broken run": (_broken_run, lambda n: 1),
    "changed dataset": (_changed_dataset, lambda n: n),
    "changed experiment": (_changed_experiment, lambda n: n),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_crawl_through_the_unit_cache_is_the_full_crawl(tmp_path: Path, change: str) -> None:
    store = tmp_path / "store"
    shutil.copytree(V3, store)
    cache_dir = tmp_path / "cache"
    first, units = _crawl(store, cache_dir, tmp_path / "w1")
    assert units is not None and units.hits == 0 and units.misses == _runs_of(store)
    apply, reread = CHANGES[change]
    apply(store)
    n = _runs_of(store)
    cached, units = _crawl(store, cache_dir, tmp_path / "w2")
    full, _ = _crawl(store, None, tmp_path / "w3")
    assert _dump(cached) == _dump(full)
    assert units is not None and units.misses == reread(n)
    assert units.hits + units.misses == n
    # and the Problems too (a broken run's Problem comes from the cache on the next crawl)
    again, units = _crawl(store, cache_dir, tmp_path / "w4")
    assert units is not None and units.misses == 0
    assert _dump(again) == _dump(full)


def test_a_run_with_artifacts_elsewhere_is_read_every_time(tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(V3, store)
    run = store / "mlruns" / EXP / RUN
    elsewhere = store / "mlruns" / "elsewhere" / RUN / "artifacts"  # found by the URI, in the store
    elsewhere.parent.mkdir(parents=True)
    shutil.move(run / "artifacts", elsewhere)
    meta = run / "meta.yaml"
    lines = [
        f"artifact_uri: file://{elsewhere}" if line.startswith("artifact_uri:") else line
        for line in meta.read_text().splitlines()
    ]
    meta.write_text("\n".join(lines) + "\n")
    cache_dir = tmp_path / "cache"
    _crawl(store, cache_dir, tmp_path / "w1")
    (elsewhere / "late.txt").write_text("written after the first build")
    cached, units = _crawl(store, cache_dir, tmp_path / "w2")
    full, _ = _crawl(store, None, tmp_path / "w3")
    assert _dump(cached) == _dump(full)
    assert units is not None and units.misses >= 1


def test_one_new_run_in_a_build_reads_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    shutil.copytree(V3, store)
    n = _runs_of(store)

    def config(out: str) -> Config:
        return Config(sources=(SourceConfig(str(store / "mlruns")),), output=str(tmp_path / out))

    build_site(config("site"))
    _new_run(store)
    with caplog.at_level(logging.INFO, logger="mlreport.engine.cache"):
        build_site(config("site"))
    assert f"run folders: {n} unchanged since the last build, 1 read" in caplog.text
    build_site(config("fresh"))  # its own cache: everything read
    assert tree_digest(tmp_path / "site").keys() == tree_digest(tmp_path / "fresh").keys()


@pytest.mark.parametrize("fixture", ["v2_file", "v3_file", "broken"])
def test_every_run_from_the_cache_is_the_full_crawl(tmp_path: Path, fixture: str) -> None:
    # MLflow 2.x versions find their logged model through the links the runs registered: a run
    # taken from the cache registers them too
    store = tmp_path / "store"
    shutil.copytree(DATA / "mlflow" / fixture, store)
    if not (store / "mlruns").is_dir():
        pytest.skip(f"{fixture} has no mlruns/")
    cache_dir = tmp_path / "cache"
    _crawl(store, cache_dir, tmp_path / "w1")
    cached, units = _crawl(store, cache_dir, tmp_path / "w2")
    full, _ = _crawl(store, None, tmp_path / "w3")
    assert units is not None and units.misses == 0 and units.hits > 0
    assert _dump(cached) == _dump(full)


def test_the_reader_yields_the_same_records_from_the_cache(tmp_path: Path) -> None:
    # below the crawl (whose own fallback would hide a version that lost its logged model)
    from mlreport.readers import ReadOptions
    from mlreport.readers.mlflow_file import MlflowFileReader
    from mlreport.stores import open_store

    store = tmp_path / "store"
    shutil.copytree(DATA / "mlflow" / "v2_file", store)
    root = (store / "mlruns").resolve()

    def read(units: UnitCache | None) -> list[Any]:
        return list(MlflowFileReader().read(open_store(str(root)), "", ReadOptions(units=units)))

    def units() -> UnitCache:
        snapshots: dict[str, Snapshot] = {}
        listing_fingerprint([root], snapshots)
        return BuildCache(tmp_path / "cache").units(snapshots)

    first = units()
    plain = read(first)
    first.close(True)
    second = units()
    cached = read(second)
    second.close(True)
    assert second.misses == 0 and second.hits > 0
    assert repr(cached) == repr(plain) == repr(read(None))
    assert any(type(r).__name__ == "ModelVersion" and r.logged_model_key for r in cached)


@pytest.mark.parametrize("fixture", ["v2_file", "v3_file", "broken"])
def test_runs_read_on_the_process_pool_give_the_catalog_of_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture: str
) -> None:
    from mlreport.readers import mlflow_file

    monkeypatch.setattr(mlflow_file, "POOL_MIN_RUNS", 1)  # every experiment on the pool
    store = DATA / "mlflow" / fixture / "mlruns"

    def crawl(jobs: int, work: str, cache: Path | None = None) -> Catalog:
        config = Config(sources=(SourceConfig(str(store)),), jobs=jobs)
        units = None
        if cache is not None:
            snapshots: dict[str, Snapshot] = {}
            listing_fingerprint([store.resolve()], snapshots)
            units = BuildCache(cache).units(snapshots)
        return read_catalog(config, history_dir=tmp_path / work, units=units)

    one = _dump(crawl(1, "w1"))
    assert _dump(crawl(2, "w2")) == one
    # through the unit cache: the pool's runs are kept, and the next crawl takes them from it
    assert _dump(crawl(2, "w3", tmp_path / "cache")) == one
    again = crawl(2, "w4", tmp_path / "cache")
    assert _dump(again) == one


def test_records_travel_as_bytes_unchanged_with_their_names_interned() -> None:
    from dataclasses import replace

    from mlreport.model import Metric, MetricHistory, Origin, Problem, Run, frozen_map
    from mlreport.readers._units import dumps, fast_replace, loads

    history = MetricHistory.__new__(MetricHistory)
    m = Metric.single("loss", float("nan"))
    name = "".join(["learning", "_rate"])  # a fresh string, not the interned literal
    run = Run(
        key="r",
        id="r",
        name="r",
        origin=Origin("u", "p", "mlflow"),
        params=frozen_map({name: "0.1", "long": "x" * 100}),
        metrics=(m,),
    )
    value = ((run,), (Problem(Origin("u", "p", "mlflow"), "why"),), ("gone",))
    back = loads(dumps(value))
    assert repr(back) == repr(value)
    (loaded,) = back[0]
    key = next(iter(loaded.params))
    assert key == "learning_rate" and key is __import__("sys").intern("learning_rate")
    assert type(loaded.params).__name__ == "mappingproxy"
    assert fast_replace(run, name="other", metrics=()) == replace(run, name="other", metrics=())
    assert fast_replace(m, history=None) == replace(m, history=None)
    del history


# -- the registry: each registered model folder is a unit too ------------------------------------

MODEL = "fixture model"


def _v2_run_logged_another_model(store: Path) -> None:
    # the folder of the model is unchanged; what its version links to (the logged model of the
    # run it names) changed in the run: the link is looked up again, not kept with the model
    tag = store / "mlruns" / "169632163454191882" / "50ca0327699448d0875c5a26abc1dc10" / "tags"
    path = tag / "mlflow.log-model.history"
    path.write_text(path.read_text().replace("6ec933052f98466ba852f395836b15df", "0" * 32))


def _models(store: Path) -> Path:
    return store / "mlruns" / "models" / MODEL


REGISTRY_CHANGES: dict[str, tuple[str, Callable[[Path], None], int]] = {
    # change -> (fixture, what it does, registered models read again)
    "nothing": ("v3_file", lambda store: None, 0),
    "moved alias": ("v3_file", lambda s: (_models(s) / "aliases" / "champion").write_text("1"), 1),
    "new version": (
        "v3_file",
        lambda s: shutil.copytree(_models(s) / "version-2", _models(s) / "version-3"),
        1,
    ),
    "changed version tag": (
        "v3_file",
        lambda s: (_models(s) / "version-1" / "tags" / "validation_status").write_text("rejected"),
        1,
    ),
    "deleted version": ("v3_file", lambda s: shutil.rmtree(_models(s) / "version-1"), 1),
    "text to clean": (
        "v3_file",
        lambda s: (_models(s) / "version-1" / "tags" / "validation_status").write_bytes(b"ok\x00\x1b[1m"),
        1,
    ),
    "broken version": ("v3_file", lambda s: (_models(s) / "version-2" / "meta.yaml").write_text("version: [\n"), 1),
    "the run's logged model changed": ("v2_file", _v2_run_logged_another_model, 0),
}


@pytest.mark.parametrize("change", list(REGISTRY_CHANGES))
def test_a_registry_through_the_unit_cache_is_the_full_crawl(tmp_path: Path, change: str) -> None:
    fixture, apply, reread = REGISTRY_CHANGES[change]
    store = tmp_path / "store"
    shutil.copytree(DATA / "mlflow" / fixture, store)
    cache_dir = tmp_path / "cache"
    _, units = _crawl(store, cache_dir, tmp_path / "w1")
    assert units is not None and units.other == [0, 1]  # one registered model, read
    apply(store)
    cached, units = _crawl(store, cache_dir, tmp_path / "w2")
    full, _ = _crawl(store, None, tmp_path / "w3")
    assert _dump(cached) == _dump(full)
    assert units is not None and units.other == [1 - reread, reread]
    again, units = _crawl(store, cache_dir, tmp_path / "w4")
    assert _dump(again) == _dump(full)
    # a model whose text the crawl cleans is not kept (its versions are linked by the raw text)
    assert units is not None and units.other == ([0, 1] if change == "text to clean" else [1, 0])


@pytest.mark.parametrize("jobs", [2, None])
def test_a_walk_split_over_the_pool_gives_the_digests_of_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int | None
) -> None:
    from mlreport.engine import cache

    monkeypatch.setattr(cache, "WALK_POOL_MIN", 1)  # every store's run folders on the pool
    monkeypatch.setattr(cache, "_WALK_BATCH", 1)  # one run folder a batch: order matters
    root = tmp_path / "store"
    shutil.copytree(V3, root)
    mlruns = root / "mlruns"
    (mlruns / EXP / RUN / "params" / "linked").symlink_to(mlruns / EXP / OTHER / "meta.yaml")  # untrusted
    (mlruns / EXP / "lonely").mkdir()  # a folder with nothing under it
    for top in (root, mlruns, mlruns / EXP):
        one, split = Snapshot(top, jobs=1), Snapshot(top, jobs=jobs)
        assert split.fingerprint == one.fingerprint
        assert split.folders == one.folders
    assert one.digest(str((mlruns / EXP / RUN).resolve())) is None  # the link: not trusted
    assert one.digest(str((mlruns / EXP / OTHER).resolve())) is not None


@pytest.mark.parametrize("jobs", [1, 2])
def test_meanwhile_runs_once_while_the_walk_is_under_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    # issue 7's nothing-changed build lists the published site while the sources are walked:
    # the call comes once, before a run folder's digest is folded in when the pool walks
    # (this process idle), and leaves the digests as they are
    from mlreport.engine import cache

    monkeypatch.setattr(cache, "WALK_POOL_MIN", 1)
    mlruns = tmp_path / "store" / "mlruns"
    shutil.copytree(V3 / "mlruns", mlruns)
    events: list[str] = []
    fold = cache._fold

    def spy(parent: list[Any], name: str, digest: bytes, trusted: bool) -> None:
        events.append("fold")
        fold(parent, name, digest, trusted)

    monkeypatch.setattr(cache, "_fold", spy)
    plain = listing_fingerprint([mlruns], jobs=jobs)
    events.clear()
    both = listing_fingerprint([mlruns, tmp_path / "store"], jobs=jobs, meanwhile=lambda: events.append("meanwhile"))
    assert events.count("meanwhile") == 1
    if jobs != 1:
        assert events[0] == "meanwhile"  # before the first run folder's digest came back
    assert listing_fingerprint([mlruns, tmp_path / "store"], jobs=jobs) == both
    assert listing_fingerprint([mlruns], jobs=jobs, meanwhile=lambda: None) == plain
    called: list[int] = []
    listing_fingerprint([], meanwhile=lambda: called.append(1))
    assert not called  # no source walked: the caller asks for the listing itself
    file_root = tmp_path / "mlflow.db"
    file_root.write_bytes(b"x")
    listing_fingerprint([file_root], meanwhile=lambda: called.append(1))
    assert called == [1]  # a file source has no walk; still called once


def test_registered_models_read_on_the_process_pool_come_back_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlreport import executor
    from mlreport.readers import ReadOptions, mlflow_file
    from mlreport.readers.mlflow_file import MlflowFileReader
    from mlreport.stores import open_store

    monkeypatch.setattr(mlflow_file, "POOL_MIN_RUNS", 1)  # two models of a few versions are "many"
    used: list[tuple[str, list[Any]]] = []
    real = executor.Executor.map

    def spy(self: executor.Executor, fn: Any, items: Any, **kw: Any) -> Any:
        items = list(items)
        used.append((fn.__name__, items))
        return real(self, fn, items, **kw)

    monkeypatch.setattr(executor.Executor, "map", spy)
    root = tmp_path / "mlruns"
    shutil.copytree(DATA / "mlflow" / "v2_file" / "mlruns", root)
    models = root / "models"
    for name in ("a second model", "third"):  # three models, each its own unit
        shutil.copytree(models / "fixture model", models / name)
        meta = models / name / "meta.yaml"
        meta.write_text(meta.read_text().replace("name: fixture model", f"name: {name}"))
    store = open_store(str(root))
    pooled = list(MlflowFileReader().read(store, "", ReadOptions(jobs=2)))
    assert [len(items) for name, items in used if name == "_read_model_unit"] == [3]
    assert repr(pooled) == repr(list(MlflowFileReader().read(store, "", ReadOptions(jobs=1))))


def test_runs_cleaned_in_a_crawl_worker_are_not_cleaned_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlreport import crawl
    from mlreport.model import Run
    from mlreport.readers import mlflow_file

    monkeypatch.setattr(mlflow_file, "POOL_MIN_RUNS", 1)  # every experiment on the pool
    real = crawl.clean_record
    cleaned: list[str] = []

    def spy(value: Any) -> Any:
        if isinstance(value, Run):
            cleaned.append(value.key)  # in this process only: a forked worker counts its own
        return real(value)

    monkeypatch.setattr(crawl, "clean_record", spy)
    config = Config(sources=(SourceConfig(str(DATA / "mlflow" / "v3_file" / "mlruns")),), jobs=1)
    one = read_catalog(config)
    assert cleaned, "one process: the crawl cleans every run it is given"
    cleaned.clear()
    pooled = read_catalog(Config(sources=config.sources, jobs=2))
    assert cleaned == [] and len(pooled.runs) == len(one.runs) > 0
