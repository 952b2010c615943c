"""Temporary files cannot outlive a killed build (mlreport.tempfiles).

A build killed with SIGKILL runs no cleanup. Its metric-history file has no name (the kernel
frees it), and its temporary folders (theme, SQLite copies) sit in an area whose lock dies with
the process, in the build's work folder: the next build removes them under the output lock.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlreport import publish, tempfiles
from mlreport.history_store import HistoryFile
from mlreport.model import MetricHistory

from .conftest import DATA, ROOT

V3 = DATA / "mlflow" / "v3_file" / "mlruns"


def _env(tmpdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src")
    env["TMPDIR"] = str(tmpdir)
    return env


def _everything(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(V3, tmp_path / "store")
    (tmp_path / "tmp").mkdir()
    return tmp_path


def _build(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlreport", "build", "store", "-q", "-o", "site"],
        cwd=project,
        env=_env(project / "tmp"),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _kill_when(project: Path, ready: str) -> None:
    """Start a build and SIGKILL it as soon as ``ready`` holds (a builder or a theme folder)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlreport", "build", "store", "-q", "-o", "site"],
        cwd=project,
        env=_env(project / "tmp"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    work = publish.work_dir_for(project / "site")
    deadline = time.monotonic() + 300
    seen = False
    while time.monotonic() < deadline and proc.poll() is None:
        if ready == "builder":
            seen = publish.staging_dir_for(project / "site").exists()
        else:
            seen = any((work / publish.SCRATCH_NAME).glob("*/mlreport-theme-*"))
        if seen:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert seen, f"the build ended before {ready} was seen"


def test_a_normal_build_leaves_no_temporary_file(project: Path) -> None:
    done = _build(project)
    assert done.returncode == 0, done.stderr
    assert _everything(project / "tmp") == []
    assert not (publish.work_dir_for(project / "site") / publish.SCRATCH_NAME).exists()


@pytest.mark.parametrize("ready", ["builder", "theme"])
def test_a_killed_build_leaves_nothing_after_the_next_build(project: Path, ready: str) -> None:
    _kill_when(project, ready)
    work = publish.work_dir_for(project / "site")
    if ready == "theme":  # the killed build's folder is there until the next build
        assert any((work / publish.SCRATCH_NAME).glob("*/mlreport-theme-*"))
    # the history file had no name: nothing of the killed build is in the temp folder
    assert _everything(project / "tmp") == []
    done = _build(project)
    assert done.returncode == 0, done.stderr
    assert _everything(project / "tmp") == []
    assert not (work / publish.SCRATCH_NAME).exists()


# ---------------------------------------------------------------------------------------------
# the helpers themselves


def test_a_scratch_file_has_no_name_and_other_processes_read_it(tmp_path: Path) -> None:
    fd, path = tempfiles.scratch_file(tmp_path)
    try:
        assert os.listdir(tmp_path) == []
        os.write(fd, b"histories")
        out = subprocess.run([sys.executable, "-c", f"print(open({path!r}, 'rb').read())"], capture_output=True)
        assert out.stdout.strip() == b"b'histories'"
    finally:
        tempfiles.release_file(fd, path)
    assert os.listdir(tmp_path) == []


def test_a_history_file_leaves_no_name_and_reads_back(tmp_path: Path) -> None:
    from array import array

    h = HistoryFile(tmp_path)
    loc = h.put(MetricHistory(array("q", [1, 2]), array("q", [10, 20]), array("d", [0.5, 0.25])))
    assert os.listdir(tmp_path) == []
    got = h.get(loc)
    assert list(got.values) == [0.5, 0.25]


_HOLD = """
import sys, time
from pathlib import Path
from mlreport import tempfiles
ctx = tempfiles.in_work_folder(Path(sys.argv[1]))
ctx.__enter__()
d = tempfiles.scratch_dir("mlreport-test-")
(Path(d.name) / "f").write_text("x")
print(d.name, flush=True)
time.sleep(600)
"""


def _holder(root: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(root)], env=_env(root.parent), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_the_area_of_a_dead_process_is_swept_and_a_live_ones_is_not(tmp_path: Path) -> None:
    root = tmp_path / "work" / "tmp"
    dead, dead_dir = _holder(root)
    live, live_dir = _holder(root)
    try:
        dead.kill()
        dead.wait()
        assert dead_dir.is_dir()  # nothing ran at its death
        with tempfiles.in_work_folder(root):
            d = tempfiles.scratch_dir("mlreport-mine-")
            assert Path(d.name).parent.parent == root
            assert not dead_dir.parent.exists()  # its area: lock free, removed
            assert (live_dir / "f").read_text() == "x"  # held by a live process: kept
            d.cleanup()
    finally:
        live.kill()
        live.wait()
    assert live_dir.is_dir()


def test_a_work_folder_that_ends_empty_is_removed(tmp_path: Path) -> None:
    root = tmp_path / "tmp"
    with tempfiles.in_work_folder(root):
        with tempfiles.scratch_dir() as d:
            assert Path(d).is_dir()
    assert not root.exists()
