"""The cyclic collector's settings during a crawl, and that the caller gets its own back (issue 12)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from mlreport import crawl
from mlreport.catalog import Catalog
from mlreport.config import Config, SourceConfig
from mlreport.crawl import CRAWL_GC_THRESHOLD, collector_tuned_for_crawl, read_catalog

from .conftest import DATA


@pytest.fixture(autouse=True)
def caller_settings() -> Iterator[tuple[int, int, int]]:
    """A caller's own thresholds, distinct from both CPython's default and the crawl's."""
    saved = gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(123, 4, 5)
    try:
        yield (123, 4, 5)
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)


def test_inside_the_objects_alive_before_are_frozen_and_the_threshold_tuned() -> None:
    before = object.__new__(type("Before", (), {}))  # a tracked object that exists before the crawl
    assert gc.is_tracked(before)
    with collector_tuned_for_crawl():
        assert gc.get_threshold() == CRAWL_GC_THRESHOLD
        assert gc.get_freeze_count() > 0
        assert not any(o is before for o in gc.get_objects())  # frozen: no generation holds it
    assert gc.get_threshold() == (123, 4, 5)
    assert gc.get_freeze_count() == 0
    assert any(o is before for o in gc.get_objects())


def test_an_exception_inside_restores_the_settings() -> None:
    with pytest.raises(KeyError), collector_tuned_for_crawl():
        raise KeyError("x")
    assert gc.get_threshold() == (123, 4, 5)
    assert gc.get_freeze_count() == 0


def test_a_callers_own_freeze_is_kept() -> None:
    # Followed by two tracked objects, not by gc.get_freeze_count(): a frozen object that dies
    # (any of the suite's 300,000) lowers the count, so equal counts failed 1 run in the suite.
    caller_frozen = object.__new__(type("CallerFrozen", (), {}))
    gc.freeze()
    made_after = object.__new__(type("MadeAfter", (), {}))
    with collector_tuned_for_crawl():
        assert gc.get_threshold() == CRAWL_GC_THRESHOLD
        assert gc.get_freeze_count() > 0
        # nothing more frozen by the crawl: what the caller made after its freeze is collectable
        assert any(o is made_after for o in gc.get_objects())
    # and nothing of the caller's unfrozen: what it froze is in no generation
    assert gc.get_freeze_count() > 0
    assert not any(o is caller_frozen for o in gc.get_objects())
    assert gc.get_threshold() == (123, 4, 5)


def test_read_catalog_reads_under_the_tuned_collector_and_gives_the_settings_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[tuple[int, int, int], int]] = []
    read_sources = crawl._read_sources

    def spy(*args: object, **kwargs: object) -> Catalog:
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        return read_sources(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(crawl, "_read_sources", spy)
    catalog = read_catalog(Config(sources=(SourceConfig(str(DATA / "manifest" / "basic")),)))
    assert catalog.runs
    assert len(seen) == 1 and seen[0][0] == CRAWL_GC_THRESHOLD and seen[0][1] > 0
    assert gc.get_threshold() == (123, 4, 5) and gc.get_freeze_count() == 0
