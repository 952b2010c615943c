"""The build cache's catalog pickled with its runs and versions apart (issue 12: 100,000 runs
crawled within 1 GB): :func:`mlreport.readers._units.dump_apart` and :func:`load_apart` tested
directly: the same records back, shared where they were shared, a damaged stream refused, and
the dump's memory bounded by a chunk instead of the whole catalog."""

from __future__ import annotations

import io
import pickle
import tracemalloc
from dataclasses import fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from mlreport.catalog import Catalog, make_catalog, read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.engine.cache import FORMAT, BuildCache
from mlreport.engine.deps import canonical_pickle
from mlreport.model import Artifact, Metric, ModelVersion, Origin, Run, RunStatus
from mlreport.readers import _units

from .conftest import DATA

ORIGIN = Origin("s", "", "t")


def _catalog(n: int) -> Catalog:
    runs = [
        Run(
            key=f"r{i}",
            id=f"{i:032x}",
            name=f"run-{i}",
            origin=ORIGIN,
            experiment_key="e",
            status=RunStatus.FINISHED,
            start_time=i,
            # as the crawl leaves them: read-only mappings
            params=MappingProxyType({f"param_{j}": f"value {i} {j}" for j in range(12)}),
            tags=MappingProxyType({f"tag_{j}": f"{i}-{j}" for j in range(8)}),
            metrics=tuple(Metric(f"m{j}", float(i), 50, i, 0.0, 0, float(i), 50, 50) for j in range(6)),
            artifacts=(Artifact(f"plots/{i}.png", 1000 + i, None, f"r{i}/artifacts/plots/{i}.png"),),
        )
        for i in range(n)
    ]
    versions = [ModelVersion("churn", str(i), ORIGIN, run_key=f"r{i}") for i in range(0, n, 3)]
    return make_catalog(runs=runs, versions=versions)


def _round_trip(catalog: Catalog) -> Catalog:
    buffer = io.BytesIO()
    _units.dump_apart(catalog, (*catalog.runs, *catalog.versions), buffer)
    buffer.seek(0)
    loaded = _units.load_apart(buffer)
    assert buffer.read() == b""  # every pickle of the stream was read
    assert isinstance(loaded, Catalog)
    return loaded


def _same_records(a: Catalog, b: Catalog) -> None:
    for f in fields(Catalog):
        if f.name != "histories":
            assert canonical_pickle(getattr(a, f.name)) == canonical_pickle(getattr(b, f.name)), f.name


@pytest.mark.parametrize("chunk", [1, 2, 7, 1000])
def test_the_same_records_come_back_shared_as_they_were(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(_units, "APART_CHUNK", chunk)
    catalog = _catalog(20)
    loaded = _round_trip(catalog)
    _same_records(catalog, loaded)
    # a record apart is one object wherever the catalog holds it
    for run in loaded.runs:
        assert loaded.run_by_key[run.key] is run
    by_model = loaded.versions_by_model["churn"]
    assert len(by_model) == len(loaded.versions)
    assert all(x is y for x, y in zip(by_model, loaded.versions, strict=True))
    assert all(loaded.versions_by_run[v.run_key][0] is v for v in loaded.versions if v.run_key)
    # and the names that repeat in every run are one string again (interned on load)
    first, second = loaded.runs[0], loaded.runs[1]
    assert next(iter(first.params)) is next(iter(second.params))


def test_every_fixture_catalog_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_units, "APART_CHUNK", 3)  # several chunks even for a small store
    for store in ("mlflow/v3_file", "site_example"):
        root = DATA / store if (DATA / store).exists() else Path(__file__).parents[1] / store
        catalog = read_catalog(Config(sources=(SourceConfig(str(root)),), output=str(tmp_path / "site")))
        assert len(catalog.runs) > 3
        _same_records(catalog, _round_trip(catalog))


def _damaged(count: Any, chunks: list[Any], ids: dict[int, Any], value: Any) -> io.BytesIO:
    buffer = io.BytesIO()
    _units._Pickler(buffer, protocol=5).dump(count)
    for chunk in chunks:
        _units._Pickler(buffer, protocol=5).dump(chunk)
    _units._ApartPickler(buffer, ids).dump(value)
    buffer.seek(0)
    return buffer


def test_a_damaged_stream_is_refused() -> None:
    run = _catalog(1).runs[0]
    cases = [
        _damaged(1, [(run,)], {id(run): 1}, [run]),  # names a record past the count
        _damaged(0, [], {id(run): 0}, [run]),
        _damaged(1, [(run,)], {id(run): "0"}, [run]),  # a name that is not an index
        _damaged(-1, [], {}, [1]),
        _damaged("1", [], {}, [1]),
        _damaged(1, [()], {}, [1]),  # an empty chunk would never end the count
        _damaged(1, [(run, run)], {}, [1]),  # more records than counted
        _damaged(2, [[run, run]], {}, [1]),  # a chunk is a tuple
    ]
    for buffer in cases:
        with pytest.raises(pickle.UnpicklingError):
            _units.load_apart(buffer)
    # cut short: what the cache's reader takes as a miss
    with pytest.raises((pickle.UnpicklingError, EOFError)):
        _units.load_apart(io.BytesIO(_damaged(3, [(run,)], {}, [1]).getvalue()[:40]))


def test_a_damaged_catalog_file_is_a_miss(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    catalog = _catalog(5)
    cache.save_catalog("k", catalog)
    path = tmp_path / "cache" / "crawl" / "k.pickle"
    loaded = cache.load_catalog("k")
    assert loaded is not None
    _same_records(catalog, loaded)
    run = catalog.runs[0]
    path.write_bytes(FORMAT + _damaged(1, [(run,)], {id(run): 9}, catalog).getvalue())
    assert cache.load_catalog("k") is None


def _peak(dump: Any) -> int:
    tracemalloc.start()
    try:
        dump()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_dump_holds_a_chunk_not_the_catalog(tmp_path: Path) -> None:
    """What the memo of one pickle of the whole catalog kept alive (each record's field tuple,
    each mapping's keys and values) is dropped after each chunk: the dump's peak grows with the
    catalog in one pickle, and hardly at all apart (the index of the records apart is all)."""
    peaks: dict[int, tuple[int, int]] = {}
    for n in (2000, 6000):
        catalog = _catalog(n)
        apart = (*catalog.runs, *catalog.versions)

        def whole(catalog: Catalog = catalog) -> None:
            with (tmp_path / "whole").open("wb") as f:
                _units.dump(catalog, f)

        def chunked(catalog: Catalog = catalog, apart: tuple[Any, ...] = apart) -> None:
            with (tmp_path / "apart").open("wb") as f:
                _units.dump_apart(catalog, apart, f)

        peaks[n] = (_peak(whole), _peak(chunked))
    (whole_small, apart_small), (whole_big, apart_big) = peaks[2000], peaks[6000]
    assert whole_big > 3 * whole_small  # the memo of one pickle: the whole catalog
    assert apart_big < 1.5 * apart_small, peaks  # a chunk's memo, then dropped
    assert apart_big * 4 < whole_big, peaks
