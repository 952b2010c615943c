"""Work units run in parallel: an ordered ``map`` over a local process pool or a Dask cluster.

A work unit is a plain module-level function over picklable inputs, so the same call runs
in-process (``jobs=1``), on every local core (a process pool, the default), or on a
``dask.distributed`` cluster named by its scheduler address (``--scheduler tcp://host:8786``,
``scheduler:`` in ``mlreport.yml``; the optional extra ``mlreport[dask]``). Results always
come back in the order of ``items``, so output never depends on the number of workers or on
which worker finished first (DESIGN.md decision 12).

A large read-only input that every unit needs (the catalog, the site plan) is passed once as
``context``: it reaches each local worker once (inherited by ``fork`` where the platform has
it, pickled once per worker otherwise) and each Dask worker once (scattered, broadcast), and
the function is called as ``fn(context, item)``.

Usage::

    from mlreport.executor import Executor

    with Executor(jobs=None, scheduler=None) as ex:
        for result in ex.map(read_one, paths):
            ...
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

from .errors import BuildError, UsageError

log = logging.getLogger("mlreport.executor")

T = TypeVar("T")
R = TypeVar("R")

# The context of the current local worker: set by the pool initializer (or inherited on fork).
_CONTEXT: Any = None
_NO_CONTEXT = object()


def default_jobs() -> int:
    """The number of cores this process may use (the CPU affinity mask, not the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def _init_worker(context: Any) -> None:
    global _CONTEXT
    _CONTEXT = context


def _init_forked() -> None:
    # The context was set in the parent before the fork; nothing to unpickle. A forked worker
    # inherits the parent's signal handlers: Pool.terminate ends workers with SIGTERM, and a
    # worker running an inherited Python handler (one that raises SystemExit, say) can hang in
    # multiprocessing's exit path holding the task queue's lock, so the default is restored.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _call_plain(job: tuple[Callable[[Any], Any], Any]) -> Any:
    fn, item = job
    return fn(item)


def _call_with_context(job: tuple[Callable[[Any, Any], Any], Any]) -> Any:
    fn, item = job
    return fn(_CONTEXT, item)


def _call_chunk(fn: Callable[..., Any], has_context: bool, context: Any, chunk: Sequence[Any]) -> list[Any]:
    """One Dask task: a chunk of items, so a task is worth its scheduling overhead."""
    if not has_context:
        return [fn(item) for item in chunk]
    return [fn(context, item) for item in chunk]


class Executor:
    """Runs work units in-process, on a local process pool, or on a Dask cluster.

    Args:
        jobs: worker processes; ``None`` means every core, ``1`` runs in this process (no pool,
            nothing pickled: what tests and small sites use).
        scheduler: a ``dask.distributed`` scheduler address (``tcp://host:8786``); when given,
            ``jobs`` is ignored and the cluster's workers run the units.
    """

    def __init__(self, jobs: int | None = None, scheduler: str | None = None) -> None:
        if jobs is not None and jobs < 1:
            raise UsageError(f"cannot run {jobs} jobs: expected 1 or more")
        self.jobs = default_jobs() if jobs is None else jobs
        self.scheduler = scheduler
        self._client: Any = None

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def workers(self) -> int:
        """How many units can run at once (Dask: the cluster's worker threads)."""
        if self.scheduler:
            info = self._dask().scheduler_info()
            return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))
        return self.jobs

    def map(
        self,
        fn: Callable[..., R],
        items: Iterable[Any],
        *,
        context: Any = _NO_CONTEXT,
        chunksize: int | None = None,
    ) -> Iterator[R]:
        """``fn(item)`` (or ``fn(context, item)``) for every item, results in the items' order.

        Results are yielded as they become available in order, so a caller can write each one
        and drop it (memory stays bounded by the chunks in flight). An exception in a unit is
        raised here, in the caller, when its result is reached.
        """
        work = list(items)
        if not work:
            return iter(())
        if self.scheduler:
            return self._map_dask(fn, work, context, chunksize)
        if self.jobs == 1 or len(work) == 1:
            if context is _NO_CONTEXT:
                return (fn(item) for item in work)
            return (fn(context, item) for item in work)
        return self._map_pool(fn, work, context, chunksize)

    # -- local pool ---------------------------------------------------------------------------

    def _map_pool(self, fn: Callable[..., R], work: list[Any], context: Any, chunksize: int | None) -> Iterator[R]:
        global _CONTEXT
        processes = min(self.jobs, len(work))
        size = chunksize or max(1, min(64, len(work) // (processes * 8) or 1))
        methods = multiprocessing.get_all_start_methods()
        has_context = context is not _NO_CONTEXT
        ctx: Any
        if "fork" in methods:
            # fork: the workers inherit the context from this process, nothing is pickled.
            ctx = multiprocessing.get_context("fork")
            previous = _CONTEXT
            _CONTEXT = context if has_context else None
            try:
                pool = ctx.Pool(processes, initializer=_init_forked)
            finally:
                _CONTEXT = previous
        else:  # pragma: no cover - macOS/Windows spawn: pickle the context once per worker
            ctx = multiprocessing.get_context("spawn")
            pool = ctx.Pool(processes, initializer=_init_worker, initargs=(context if has_context else None,))
        caller = _call_with_context if has_context else _call_plain
        return _drain(pool, pool.imap(caller, ((fn, item) for item in work), chunksize=size))

    # -- Dask ---------------------------------------------------------------------------------

    def _dask(self) -> Any:
        if self._client is None:
            try:
                # imported by name: an optional extra, untyped, loaded only when a cluster is named
                distributed: Any = importlib.import_module("distributed")
            except ImportError:
                raise UsageError(
                    f"cannot use the scheduler {self.scheduler}: dask.distributed is not installed; "
                    "install mlreport[dask]"
                ) from None
            try:
                self._client = distributed.Client(self.scheduler, timeout=30, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise BuildError(f"cannot reach the scheduler {self.scheduler}: {exc}") from None
        return self._client

    def _map_dask(self, fn: Callable[..., R], work: list[Any], context: Any, chunksize: int | None) -> Iterator[R]:
        client = self._dask()
        workers = self.workers
        size = chunksize or max(1, min(256, len(work) // (workers * 4) or 1))
        has_context = context is not _NO_CONTEXT
        # a sentinel does not survive pickling, hence the flag
        shared = client.scatter(context, broadcast=True) if has_context else None
        chunks = [work[i : i + size] for i in range(0, len(work), size)]
        # pure=False: two chunks with equal items are still two tasks (a unit may read a store)
        futures = [client.submit(_call_chunk, fn, has_context, shared, chunk, pure=False) for chunk in chunks]

        def results() -> Iterator[R]:
            try:
                for future in futures:
                    yield from future.result()
            finally:
                for future in futures:
                    future.release()

        return results()


def _drain(pool: Any, results: Iterator[R]) -> Iterator[R]:
    """Yield the pool's results, then shut it down (also when the caller stops early)."""
    try:
        yield from results
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()


def parallel_map(
    fn: Callable[..., R],
    items: Iterable[Any],
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    context: Any = _NO_CONTEXT,
    chunksize: int | None = None,
) -> list[R]:
    """:meth:`Executor.map` as a one-shot call that returns a list (closes its pool/client)."""
    with Executor(jobs=jobs, scheduler=scheduler) as ex:
        return list(ex.map(fn, items, context=context, chunksize=chunksize))


__all__ = ["Executor", "default_jobs", "parallel_map"]
