"""Metric histories kept on disk, so the catalog holds summaries and a page loads its own series.

At 10^5 runs the histories are most of a store's bytes (a few dozen points per metric, several
metrics per run); holding them all made a 100,000-run crawl need ~9.5 GB (issue 12). The crawl
writes each run's histories here as the reader yields them and keeps only the
:class:`~mlreport.model.Metric` summaries; :meth:`mlreport.catalog.Catalog.history` reads one
series back when a page needs it.

The file is three packed arrays per series (steps ``q``, timestamps ``q``, values ``d``, native
byte order: the file never leaves the machine that wrote it). A :class:`HistoryFile` pickles as
its path and the number of bytes written, so that a process pool can read the same file; a Dask
worker on another machine gets the histories' bytes with its context instead
(:func:`mlreport.engine.remote.portable`).
"""

from __future__ import annotations

import os
import threading
import weakref
from array import array
from pathlib import Path

from . import tempfiles
from .model import MetricHistory

#: (byte offset, number of points) of one series in the file
Location = tuple[int, int]

#: Bytes of series :meth:`HistoryFile.put` keeps before it writes them.
_BUFFER = 1 << 20


class HistoryFile:
    """An append-only file of metric histories; the writer owns it and deletes it when collected.

    Args:
        directory: where the file goes (a work folder); the system's temp folder when None.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        if directory is not None:
            Path(directory).mkdir(parents=True, exist_ok=True)
        # nameless (tempfiles.scratch_file): a killed crawl leaves nothing on disk
        fd, name = tempfiles.scratch_file(directory)
        self.path = name
        self._size = 0
        self._writer: int | None = fd
        self._reader: tuple[int, int] | None = None  # (pid, descriptor) of a read-only copy
        self._buffer = bytearray()
        self._lock = threading.Lock()
        # only the process that created the file removes it (copies in workers do not)
        self._finalizer: weakref.finalize[..., HistoryFile] | None = weakref.finalize(self, _remove, name, fd)

    def put(self, history: MetricHistory) -> Location:
        """Append one series; returns where it is. Series are buffered and written a megabyte
        at a time (a write per series was a tenth of a crawl from the unit cache)."""
        if self._writer is None:
            raise ValueError("history file is read-only in this process")
        with self._lock:
            offset = self._size + len(self._buffer)
            self._buffer += history.steps
            self._buffer += history.timestamps
            self._buffer += history.values
            if len(self._buffer) >= _BUFFER:
                self._flush()
        return offset, len(history)

    def flush(self) -> None:
        """Write what :meth:`put` buffered (before another process reads the file)."""
        if self._writer is not None and self._buffer:  # a read-only copy has nothing buffered
            with self._lock:
                self._flush()

    def _flush(self) -> None:
        data = memoryview(self._buffer)
        while data and self._writer is not None:
            written = os.pwrite(self._writer, data, self._size)
            self._size += written
            data = data[written:]
        data.release()
        self._buffer = bytearray()

    def get(self, location: Location) -> MetricHistory:
        """The series written at ``location``."""
        self.flush()
        offset, n = location
        raw = os.pread(self._read_fd(), 24 * n, offset)
        if len(raw) != 24 * n:
            raise OSError(f"history file {self.path} is truncated")
        steps, timestamps, values = array("q"), array("q"), array("d")
        steps.frombytes(raw[: 8 * n])
        timestamps.frombytes(raw[8 * n : 16 * n])
        values.frombytes(raw[16 * n :])
        return MetricHistory(steps, timestamps, values)

    def _read_fd(self) -> int:
        """A descriptor to read the file through, opened once per process (every chart of every
        page asks for a series: an open and a close each, through /proc, was most of a read).

        The writer reads through its own read-write descriptor, and so does a worker forked from
        it (a forked descriptor is the same open file: ``pread`` takes no shared offset). A copy
        unpickled in another process opens the path once; the pid check makes a copy that is
        forked again open its own rather than trust one its parent may close."""
        if self._writer is not None:
            return self._writer
        reader = self._reader
        pid = os.getpid()
        if reader is None or reader[0] != pid:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            weakref.finalize(self, _close, fd)
            reader = self._reader = (pid, fd)
        return reader[1]

    @property
    def size(self) -> int:
        """Bytes written so far."""
        self.flush()
        return self._size

    def __getstate__(self) -> dict[str, object]:
        self.flush()
        return {"path": self.path, "size": self._size}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.path = str(state["path"])
        self._size = int(str(state["size"]))
        self._writer = None
        self._reader = None
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._finalizer = None

    def __repr__(self) -> str:
        return f"HistoryFile({self.path!r}, {self._size} bytes)"


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:  # pragma: no cover - already closed (the process is ending)
        pass


def _remove(path: str, fd: int) -> None:
    tempfiles.release_file(fd, path)
