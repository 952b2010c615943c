"""Concurrent reads ahead of the parser, for a local store whose files are not in the page cache.

A file store of 10,000 runs is 340,000 small files. Read one after the other from a cold page
cache, each costs a disk round trip and the crawl waits on the disk, not on the parser (issue 12:
36 s cold against 7 s warm). A few threads that read the next runs' files while the parser works
keep many requests in flight; the parser then finds them in the page cache.

Only a hint, and careful with what it opens: it never follows a symlink (``O_NOFOLLOW``, and
``scandir`` entries that are links are skipped), opens only regular files, never blocks on a
FIFO (``O_NONBLOCK``), and reads at most :data:`MAX_READ` bytes of a file. Whatever it cannot
read, the parser reads (and reports) itself. On a warm cache it is not started at all: the
first runs are read as a probe, and only reads that went to the disk turn it on (the blocks the
thread read, which a page-cache hit does not count; the time per file only where the platform
does not count blocks per thread: on a loaded machine a warm read is slow too, and 16 threads
started for nothing cost the crawl a sixth of its CPU).
"""

from __future__ import annotations

import os
import stat
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

try:
    import resource
except ImportError:  # not on Windows: the probe is timed there
    resource = None  # type: ignore[assignment]

#: Threads reading ahead (a cold disk here gave the most with about this many in flight).
THREADS = 16
#: How many runs ahead of the parser the readers may be.
WINDOW = 96
#: Bytes read of one file at most (what is not read is only not prefetched).
MAX_READ = 1 << 20
#: A probe that read this many blocks from the disk per file means a cold cache: start reading
#: ahead (a file read from the disk is 8 blocks of 512 bytes at least; from the page cache, 0).
COLD_BLOCKS_PER_FILE = 1.0
#: Where blocks are not counted per thread: a probe read slower than this per file means cold.
COLD_PER_FILE_S = 400e-6

_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def warm(directory: str, skip: frozenset[str] = frozenset({"artifacts"})) -> int:
    """Read the files under ``directory`` (listing, not reading, the ``skip`` subfolders);
    return how many files were touched. Never raises."""
    count = 0
    stack = [(directory, False)]
    while stack:
        path, list_only = stack.pop()
        try:
            with os.scandir(path) as it:
                entries = list(it)
        except OSError:
            continue
        for e in entries:
            try:
                if e.is_symlink():
                    continue
                if e.is_dir(follow_symlinks=False):
                    stack.append((e.path, list_only or e.name in skip))
                    continue
                if not e.is_file(follow_symlinks=False):
                    continue  # a FIFO, socket or device is never opened, not even non-blocking
                count += 1
                if list_only:
                    e.stat(follow_symlinks=False)
                    continue
                fd = os.open(e.path, _FLAGS)
                try:
                    if stat.S_ISREG(os.fstat(fd).st_mode):
                        os.read(fd, MAX_READ)
                finally:
                    os.close(fd)
            except OSError:
                continue
    return count


def blocks_read() -> int | None:
    """Blocks this thread has read from a disk so far (``ru_inblock``: a page-cache hit reads
    none); None where the platform does not count them per thread."""
    who = getattr(resource, "RUSAGE_THREAD", None) if resource is not None else None
    if who is None:
        return None
    try:
        return resource.getrusage(who).ru_inblock
    except (OSError, ValueError):
        return None


def is_cold(files: int, blocks: int | None, seconds: float) -> bool:
    """Whether reading ``files`` files (``blocks`` read from the disk meanwhile, when counted,
    in ``seconds``) says the store is not in the page cache."""
    if files <= 0:
        return False
    if blocks is not None:
        return blocks >= files * COLD_BLOCKS_PER_FILE
    return seconds / files > COLD_PER_FILE_S


class ReadAhead:
    """Keeps up to :data:`WINDOW` runs read ahead of the one being parsed, once the store
    turned out to be cold. Call :meth:`at` with the index of each run before parsing it, and
    :meth:`close` at the end."""

    def __init__(self, root: Path, run_dirs: list[str]) -> None:
        self.root = os.path.realpath(root)
        self.run_dirs = run_dirs
        self.pool: ThreadPoolExecutor | None = None
        self.next = 0
        self.pending: list[Future[int]] = []
        self.decided = False

    def _probe(self) -> bool:
        """Read the first runs (they are read now either way) and tell whether that went to the disk."""
        sample = self.run_dirs[:3]
        blocks = blocks_read()
        t0 = time.perf_counter()
        files = sum(self._warm(d) for d in sample)
        seconds = time.perf_counter() - t0
        after = blocks_read()
        self.next = len(sample)
        return is_cold(files, None if blocks is None or after is None else after - blocks, seconds)

    def at(self, index: int) -> None:
        if not self.decided:
            self.decided = True
            if len(self.run_dirs) > 8 and self._probe():
                self.pool = ThreadPoolExecutor(THREADS, thread_name_prefix="mlreport-readahead")
        if self.pool is None:
            return
        self.pending = [f for f in self.pending if not f.done()]
        limit = min(len(self.run_dirs), index + WINDOW)
        while self.next < limit:
            self.pending.append(self.pool.submit(self._warm, self.run_dirs[self.next]))
            self.next += 1

    def _warm(self, run_dir: str) -> int:
        path = os.path.join(self.root, run_dir)
        # a run folder reached through a link (to /etc, say) is not ours to read
        if os.path.realpath(path) != os.path.normpath(path):
            return 0
        return warm(path)

    def close(self) -> None:
        if self.pool is not None:
            for f in self.pending:
                f.cancel()
            self.pool.shutdown(wait=True)
            self.pool = None
