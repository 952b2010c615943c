"""mlreport.executor: ordered results whatever the number of workers, in-process, pool and Dask."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from mlreport.errors import UsageError
from mlreport.executor import Executor, default_jobs, parallel_map


def square(x: int) -> int:
    return x * x


def scaled(context: dict[str, int], x: int) -> tuple[int, int]:
    return x * context["factor"], os.getpid()


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


def test_in_process_runs_here_and_keeps_order() -> None:
    out = parallel_map(scaled, range(5), jobs=1, context={"factor": 3})
    assert [v for v, _ in out] == [0, 3, 6, 9, 12]
    assert {pid for _, pid in out} == {os.getpid()}


@pytest.mark.parametrize("jobs", [2, 3])
def test_pool_results_are_in_item_order_and_equal_to_in_process(jobs: int) -> None:
    items = list(range(200))
    assert parallel_map(square, items, jobs=jobs, chunksize=7) == parallel_map(square, items, jobs=1)


def test_pool_passes_the_context_to_other_processes() -> None:
    out = parallel_map(scaled, range(40), jobs=2, context={"factor": 2}, chunksize=5)
    assert [v for v, _ in out] == [2 * x for x in range(40)]
    assert os.getpid() not in {pid for _, pid in out}


def test_an_exception_in_a_unit_reaches_the_caller() -> None:
    with pytest.raises(ValueError, match="three"):
        parallel_map(fail_on_three, range(10), jobs=2, chunksize=1)
    with pytest.raises(ValueError, match="three"):
        parallel_map(fail_on_three, range(10), jobs=1)


def test_results_stream_and_an_early_stop_shuts_the_pool_down() -> None:
    with Executor(jobs=2) as ex:
        results: Iterator[int] = ex.map(square, range(1000), chunksize=10)
        assert next(results) == 0
        assert next(results) == 1
        results.close()  # type: ignore[attr-defined]


def test_no_items_and_bad_job_counts() -> None:
    assert parallel_map(square, [], jobs=2) == []
    assert default_jobs() >= 1
    with pytest.raises(UsageError, match="cannot run 0 jobs: expected 1 or more"):
        Executor(jobs=0)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, processes=True
    ) as c:
        yield str(c.scheduler_address)


def test_dask_gives_the_local_results_in_order(cluster: str) -> None:
    items = list(range(100))
    with Executor(scheduler=cluster) as ex:
        assert ex.workers == 2
        got = list(ex.map(scaled, items, context={"factor": 5}, chunksize=9))
    assert [v for v, _ in got] == [5 * x for x in items]
    assert len({pid for _, pid in got}) == 2, "both workers took part"
    assert parallel_map(square, items, scheduler=cluster) == [x * x for x in items]


def test_dask_unit_exceptions_reach_the_caller(cluster: str) -> None:
    with pytest.raises(ValueError, match="three"):
        parallel_map(fail_on_three, range(10), scheduler=cluster, chunksize=2)
