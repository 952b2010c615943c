"""Reading metric histories back (mlreport.history_store): one descriptor per process, not an
open and a close per series (issue 7: every chart of every page reads one), and the same series
in the writer, in a copy unpickled elsewhere, and in a process forked from either."""

from __future__ import annotations

import gc
import os
import pickle
from array import array
from pathlib import Path

import pytest

from mlreport import history_store
from mlreport.history_store import HistoryFile
from mlreport.model import MetricHistory


def _series(n: int, scale: float) -> MetricHistory:
    return MetricHistory(
        array("q", range(n)), array("q", range(100, 100 + n)), array("d", [scale * i for i in range(n)])
    )


def _filled(tmp_path: Path) -> tuple[HistoryFile, list[tuple[tuple[int, int], MetricHistory]]]:
    h = HistoryFile(tmp_path)
    written = [(h.put(s), s) for s in (_series(3, 0.5), _series(50, -1.0), _series(1, 7.0))]
    return h, written


def _count_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []
    real = os.open

    def counting(path: str, *args: object, **kwargs: object) -> int:
        opened.append(str(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(history_store.os, "open", counting)
    return opened


def test_the_writer_reads_through_its_own_descriptor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h, written = _filled(tmp_path)
    opened = _count_opens(monkeypatch)
    for _ in range(3):
        for where, series in written:
            assert h.get(where) == series  # what was buffered is written before it is read
    assert opened == []


def test_a_copy_opens_the_file_once_and_closes_it_when_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h, written = _filled(tmp_path)
    copy = pickle.loads(pickle.dumps(h))  # what a spawned worker gets: the path
    opened = _count_opens(monkeypatch)
    for _ in range(3):
        for where, series in written:
            assert copy.get(where) == series
    assert opened == [h.path]
    fd = copy._reader[1]
    assert os.readlink(f"/proc/self/fd/{fd}") == os.readlink(h.path)
    del copy
    gc.collect()
    assert not os.path.exists(f"/proc/self/fd/{fd}") or os.readlink(f"/proc/self/fd/{fd}") != os.readlink(h.path)
    assert h.get(written[1][0]) == written[1][1]  # the writer's file is untouched


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
@pytest.mark.parametrize("which", ["writer", "copy"])
def test_a_forked_worker_reads_the_same_series(tmp_path: Path, which: str) -> None:
    h, written = _filled(tmp_path)
    source = h if which == "writer" else pickle.loads(pickle.dumps(h))
    source.get(written[0][0])  # a copy has opened its descriptor before the fork
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: every series, then whether it opened its own descriptor
        try:
            ok = all(source.get(where) == series for where, series in written)
            own = which == "writer" or source._reader[0] == os.getpid()
            os.write(write, b"1" if ok and own else b"0")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    os.close(read)
    assert all(source.get(where) == series for where, series in written)  # the parent still reads
