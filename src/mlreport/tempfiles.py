"""Temporary files and folders that a killed process cannot leave behind for good.

A build killed with SIGKILL runs no ``finally`` and no finalizer, so ``tempfile.mkstemp`` and
``TemporaryDirectory`` in the system's temp folder leak (issue 11: 139 history files, 445 MB, and
60 theme folders were left in ``/tmp``). Two kinds of scratch space avoid that:

- :func:`scratch_file` is a file with no name: ``O_TMPFILE`` (or a name unlinked at once), so
  the kernel frees it when the last descriptor closes, however the process ends. Other local
  processes (the render pool) open it as ``/proc/<pid>/fd/<fd>`` while its creator lives.
- :func:`scratch_dir` is a folder for what needs names on disk (an SQLite copy and its
  journal, MkDocs' config and docs folder). It goes in this process's *area*, a folder holding
  a ``flock``-ed lock file; the kernel releases the lock when the process dies, so the next
  mlreport process that makes an area beside it sees a free lock and removes the dead area.
  While a build holds its output lock (:func:`mlreport.publish.output_lock`), areas go in the
  build's own work folder (:func:`in_work_folder`), beside the output; otherwise in one
  per-user folder of the system's temp folder, ``mlreport-<uid>``. An area is removed when its
  process exits normally.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

LOCK = ".lock"
#: an area without a lock file this old was left by a process killed while making it
_HALF_MADE_SECONDS = 60.0

_guard = threading.RLock()
_roots: list[Path] = []  # work folders of the builds this process holds, innermost last
_areas: dict[Path, tuple[Path, int]] = {}  # root -> (this process's area, its lock fd)
_owner = os.getpid()  # only this process removes the areas (a forked child shares them)


def scratch_file(directory: str | Path | None = None) -> tuple[int, str]:
    """A new empty read-write file without a name; the kernel frees it with its last descriptor.

    Args:
        directory: the file system to put it on; the system's temp folder when None.

    Returns:
        The descriptor (close-on-exec) and a path by which other processes of this machine can
        open it while this one holds the descriptor (``/proc/<pid>/fd/<fd>``). Without
        ``/proc`` the file is named in this process's area instead (swept if it is killed).
    """
    where = str(directory) if directory is not None else tempfile.gettempdir()
    pid = os.getpid()
    if os.path.isdir(f"/proc/{pid}/fd"):
        try:
            fd = os.open(where, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
        except (AttributeError, OSError):  # no O_TMPFILE on this kernel or file system
            fd, name = tempfile.mkstemp(prefix="mlreport-", dir=where)
            os.unlink(name)
        return fd, f"/proc/{pid}/fd/{fd}"
    fd, name = tempfile.mkstemp(prefix="mlreport-", dir=_area())  # pragma: no cover - no /proc
    return fd, name  # pragma: no cover


def release_file(fd: int, path: str) -> None:
    """Close a :func:`scratch_file` (and remove its name, where it has one)."""
    with contextlib.suppress(OSError):
        os.close(fd)
    if not path.startswith("/proc/"):
        with contextlib.suppress(OSError):
            os.unlink(path)


def scratch_dir(prefix: str = "mlreport-") -> tempfile.TemporaryDirectory[str]:
    """A new private folder in this process's area, removed by ``cleanup()``, when collected or
    when the process exits, and by the next mlreport process if this one is killed."""
    return tempfile.TemporaryDirectory(prefix=prefix, dir=_area())


@contextlib.contextmanager
def in_work_folder(folder: Path) -> Iterator[None]:
    """Put scratch folders under ``folder`` (a build's work folder) for the block.

    The caller holds the output lock, so any area left there belongs to a build that was killed:
    those are removed now. This process's own area stays until it exits (a theme loaded for
    this build is kept for the next one in the same process), or until this block ends empty.
    """
    folder = Path(folder)
    with _guard:
        _sweep(folder)
        _roots.append(folder)
    try:
        yield
    finally:
        with _guard:
            _roots.remove(folder)
            if folder not in _roots:
                area = _areas.get(folder)
                if area is not None and set(os.listdir(area[0])) <= {LOCK}:
                    _drop(folder)
                with contextlib.suppress(OSError):
                    folder.rmdir()


def _area() -> Path:
    """This process's area under the current root, made (and its dead neighbours swept) once."""
    with _guard:
        root = _roots[-1] if _roots else _user_folder()
        known = _areas.get(root)
        if known is not None and known[0].is_dir():
            return known[0]
        for _ in range(3):  # another process may remove an empty root between mkdir and mkdtemp
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            _sweep(root)
            try:
                area = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))
                break
            except FileNotFoundError:
                continue
        else:
            area = Path(tempfile.mkdtemp(prefix="mlreport-"))
        fd = os.open(area / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        _areas[root] = (area, fd)
        return area


def _user_folder() -> Path:
    """``mlreport-<uid>`` in the system's temp folder, when it is ours and private."""
    base = Path(tempfile.gettempdir()) / f"mlreport-{os.getuid()}"
    try:
        base.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(base)
    except OSError:
        return Path(tempfile.mkdtemp(prefix="mlreport-"))
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        # someone else made it (a shared /tmp): a private folder of our own instead
        return Path(tempfile.mkdtemp(prefix="mlreport-"))
    return base


def _sweep(root: Path) -> None:
    """Remove the areas under ``root`` whose process is gone (their lock is free)."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    mine = {area for area, _ in _areas.values()}
    for entry in entries:
        path = Path(entry.path)
        if path in mine or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            fd = os.open(path / LOCK, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                if time.time() - entry.stat(follow_symlinks=False).st_mtime > _HALF_MADE_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)
            continue
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live process holds it
        finally:
            os.close(fd)  # also releases the lock we may just have taken
        shutil.rmtree(path, ignore_errors=True)


def _drop(root: Path) -> None:
    area, fd = _areas.pop(root)
    shutil.rmtree(area, ignore_errors=True)
    with contextlib.suppress(OSError):
        os.close(fd)


@atexit.register
def _remove_areas() -> None:
    if os.getpid() != _owner:
        return  # a forked child exiting: the areas are its parent's
    with _guard:
        for root in list(_areas):
            _drop(root)
            with contextlib.suppress(OSError):
                root.rmdir()  # the per-user folder or the work folder's, when now empty


def _after_fork_in_child() -> None:
    # The child keeps using the parent's areas (it shares their locks) and never removes them
    # (_owner); a lock held by another thread of the parent at the fork would never be released.
    _guard._at_fork_reinit()  # type: ignore[attr-defined]


os.register_at_fork(after_in_child=_after_fork_in_child)
