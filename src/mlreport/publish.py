"""Publishing the site safely: the output guard, the ownership marker, the lock, the atomic swap.

The contract (DESIGN.md decision 9): nothing in a source is ever written, and nothing mlreport did
not write is ever deleted. So:

- :func:`check_output` refuses an output or work folder that is, holds or sits inside a source, and
  one that holds files mlreport did not write. A folder is mlreport's when it carries the
  :data:`MARKER` file, which every site and work folder gets when it is made.
- :func:`output_lock` makes a build exclusive per output: a second build of the same folder is
  refused at once (an advisory ``flock`` on a file in the work folder, released by the kernel
  however the holder ends, SIGKILL included).
- :func:`atomic_replace` (the Markdown builders) and :func:`swap_in` (mlreport's engine) swap a
  completely built site in place of the old one with one atomic exchange: a build that fails or
  is interrupted at any point leaves the previous site byte-identical. ``swap_in`` keeps the old
  site as the next build's spare instead of deleting it. The builder subprocess only ever
  writes into the work folder; only mlreport renames, and the builder dies with mlreport
  (:func:`child_dies_with_parent`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import tempfiles
from .errors import BuildError, UsageError

if TYPE_CHECKING:
    from .config import Config

log = logging.getLogger("mlreport.publish")

MARKER = ".mlreport-site"
MARKER_TEXT = "This folder was written by mlreport; each build replaces it whole.\n"
WORK_MARKER_TEXT = "This folder is mlreport's work folder for the site beside it; it is safe to delete.\n"
LOCK_NAME = "build.lock"
SCRATCH_NAME = "tmp"  # the build's temporary folders (mlreport.tempfiles), swept under the lock
OLD_NAME = "previous"  # where the replaced site waits to be deleted when no atomic exchange exists


def work_dir_for(site_dir: Path) -> Path:
    """The work folder of a site: a hidden sibling, so a staged site is on the same filesystem."""
    return site_dir.parent / f".{site_dir.name}.mlreport"


def resolve_output(output: str) -> Path:
    """The site folder ``output`` names (relative to the current folder), absolute and resolved."""
    site_dir = Path(output).expanduser()
    if not site_dir.is_absolute():
        site_dir = Path.cwd() / site_dir
    return site_dir.resolve()


def staging_dir_for(site_dir: Path) -> Path:
    """Where the builder writes the next site (inside the work folder; only mlreport moves it)."""
    return work_dir_for(site_dir) / "site"


def shown(path: Path) -> str:
    """A path as messages show it: relative to the current folder when inside it."""
    try:
        rel = path.relative_to(Path.cwd().resolve())
    except ValueError:
        return str(path)
    return str(rel) if str(rel) != "." else "."


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def _within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def local_sources(paths: Iterable[str | Path]) -> list[Path]:
    """The local ones of ``paths`` (URLs are skipped; ``file://`` is a local path), resolved."""
    out = []
    for p in paths:
        text = str(p)
        if text.startswith("file://"):
            text = text[len("file://") :]
        elif "://" in text:
            continue
        out.append(_real(text))
    return out


def protected_paths(config: Config) -> list[Path]:
    """What an output must keep clear of: every local source (as the crawl resolves it) and the
    user's templates folder."""
    out = []
    for source in config.sources:
        text = source.path
        if "://" in text and not text.startswith("file://"):
            continue
        text = text.removeprefix("file://")
        p = Path(text).expanduser()
        if not p.is_absolute():
            p = config.base_dir / p  # as the crawl resolves it (crawl._resolve_local)
        out.append(_real(p))
    if config.templates:
        t = Path(config.templates).expanduser()
        out.append(_real(t if t.is_absolute() else config.base_dir / t))
    return out


def is_ours(folder: Path) -> bool:
    """True when ``folder`` carries mlreport's marker (a site or work folder it wrote)."""
    try:
        return (folder / MARKER).is_file() and not (folder / MARKER).is_symlink()
    except OSError:
        return False


def check_output(site_dir: Path, work_dirs: Sequence[Path], sources: Iterable[str | Path]) -> None:
    """Refuse an output or work folder that could harm a source or a folder mlreport did not write.

    Raises:
        UsageError: one line naming the folder and the reason, when a folder is a source, holds
            a source, sits inside a source, is a file, or holds files without mlreport's marker.
    """
    roots = local_sources(sources)
    for role, folder in [("the site", site_dir), *(("the work folder", w) for w in work_dirs)]:
        real = _real(folder)
        where = f"cannot write {role} to {shown(real)}"
        for src in roots:
            if real == src:
                raise UsageError(f"{where}: it is a source; choose another output folder with -o")
            if _within(src, real):
                raise UsageError(f"{where}: it holds the source {shown(src)}; choose another output folder with -o")
            if _within(real, src):
                raise UsageError(f"{where}: it is inside the source {shown(src)}; choose a folder outside it with -o")
        if os.path.lexists(folder) and not os.path.isdir(folder):
            raise UsageError(f"{where}: it is a file, not a folder")
        if folder.is_symlink():
            raise UsageError(f"{where}: it is a symbolic link; give the real folder with -o")
        if real.is_dir() and not is_ours(real):
            try:
                names = os.listdir(real)
            except OSError as exc:
                raise UsageError(f"{where}: {exc.strerror or exc}") from None
            if names:
                raise UsageError(
                    f"{where}: it holds files mlreport did not write; choose an empty or new folder, or delete it first"
                )


def mark(folder: Path, text: str = MARKER_TEXT) -> None:
    """Put mlreport's marker into ``folder`` (made if missing); one already there is left as
    it is (a build's listing of its site includes it)."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    with contextlib.suppress(OSError):
        if not marker.is_symlink() and marker.read_text(encoding="utf-8") == text:
            return
    marker.unlink(missing_ok=True)
    marker.write_text(text, encoding="utf-8")


def prepare_work_dir(site_dir: Path) -> Path:
    """Make the work folder (marked as ours) and return it."""
    work = work_dir_for(site_dir)
    if not is_ours(work):
        mark(work, WORK_MARKER_TEXT)
    return work


# ---------------------------------------------------------------------------------------------
# the lock

_held: dict[Path, tuple[int, int]] = {}  # lock path -> (fd, depth): reentrant within a process
_held_guard = threading.Lock()


@contextlib.contextmanager
def output_lock(site_dir: Path) -> Iterator[None]:
    """Hold the build lock of ``site_dir`` for the block; reentrant within one process.

    A work folder that holds nothing but the lock afterwards (a build that failed before writing
    anything) is removed again, so a refused or failed first build leaves no trace.

    Raises:
        BuildError: another process is building the same output (one line, exit 1).
    """
    work = work_dir_for(site_dir)
    path = work / LOCK_NAME
    with _held_guard:
        if path in _held:
            fd, depth = _held[path]
            _held[path] = (fd, depth + 1)
        else:
            _held[path] = (_acquire(site_dir, path), 1)
    try:
        # temporary folders go beside the output while the lock is held; what a killed build
        # left there is removed now
        with tempfiles.in_work_folder(work / SCRATCH_NAME):
            yield
    finally:
        with _held_guard:
            fd, depth = _held[path]
            if depth > 1:
                _held[path] = (fd, depth - 1)
            else:
                del _held[path]
                _tidy_unused(work)
                os.close(fd)  # releases the flock


def _acquire(site_dir: Path, path: Path) -> int:
    prepare_work_dir(site_dir)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            if holder is None:  # the holder has the lock but has not written its pid yet
                time.sleep(0.05)
                holder = _read_pid(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                who = f" (pid {holder})" if holder else ""
                raise BuildError(f"cannot build {shown(site_dir)}: another mlreport build is writing it{who}") from None
            raise BuildError(f"cannot lock {shown(path)}: {exc.strerror or exc}") from None
        # The holder before us may have removed the file (see _tidy_unused) after we opened it:
        # a lock on an unlinked file locks nothing, so try again on the file that is there now.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
        except FileNotFoundError:
            same = False
        if same:
            # fixed width, written in place: a build refused meanwhile reads a whole pid
            os.pwrite(fd, f"{os.getpid():>12}\n".encode(), 0)
            os.ftruncate(fd, 13)
            return fd
        os.close(fd)
        prepare_work_dir(site_dir)


def _tidy_unused(work: Path) -> None:
    try:
        names = set(os.listdir(work))
    except OSError:
        return
    if names <= {MARKER, LOCK_NAME}:
        with contextlib.suppress(OSError):
            (work / LOCK_NAME).unlink()
            (work / MARKER).unlink()
            work.rmdir()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


# ---------------------------------------------------------------------------------------------
# the swap

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def recover(site_dir: Path) -> None:
    """Undo a swap cut short between its two renames (only without an atomic exchange)."""
    old = work_dir_for(site_dir) / OLD_NAME
    if not os.path.lexists(site_dir) and is_ours(old):
        os.rename(old, site_dir)
        log.info("restored the previous site %s after an interrupted build", shown(site_dir))


def atomic_replace(new_dir: Path, site_dir: Path) -> None:
    """Put the completely built ``new_dir`` in place of ``site_dir`` in one step; delete the old.

    ``new_dir`` must be on the same filesystem (:func:`staging_dir_for` is). This is
    :func:`swap_in` and then the replaced site, left at ``new_dir``, deleted, only if it is ours
    (checked by :func:`check_output` under the lock). Whatever interrupts this, ``site_dir`` is
    either the whole old site or the whole new one; an old site a stop leaves at ``new_dir`` is
    the staging folder, which the next build clears (:func:`clear_staging`).
    """
    swap_in(new_dir, site_dir)
    _remove_old(new_dir)


def swap_in(new_dir: Path, site_dir: Path) -> None:
    """Put the completely built ``new_dir`` in place of ``site_dir`` in one step and leave the
    replaced site at ``new_dir``: the engine's spare, which the next build updates in place
    (:mod:`mlreport.engine.tree`) instead of deleting 20,000 pages now and linking them again
    then. Nothing is deleted here.

    With ``renameat2(RENAME_EXCHANGE)`` the two folders trade places atomically: ``site_dir`` is
    at every instant the whole old site or the whole new one, and stays a real folder (not a
    link: ``tar``, ``cp -r``, ``docker COPY`` and upload actions see the files). Without it
    (another kernel or file system) three renames, and :func:`recover` undoes a stop between
    the first two; a stop before the third leaves the old site aside, removed by the next build.
    """
    mark(new_dir)
    recover(site_dir)
    if not os.path.lexists(site_dir):
        os.rename(new_dir, site_dir)
        return
    if site_dir.is_symlink() or not site_dir.is_dir():
        raise BuildError(f"cannot replace {shown(site_dir)}: it is not a folder")
    if _exchange(new_dir, site_dir):
        return
    old = work_dir_for(site_dir) / OLD_NAME
    _remove_old(old)
    os.rename(site_dir, old)
    os.rename(new_dir, site_dir)
    os.rename(old, new_dir)


def remove_left_over(site_dir: Path) -> None:
    """Delete a replaced site a stopped :func:`swap_in` left aside (ours, marked)."""
    if os.path.lexists(site_dir):
        _remove_old(work_dir_for(site_dir) / OLD_NAME)


def _remove_old(folder: Path) -> None:
    """Delete a replaced site: it must be ours (marked) or empty; never anything else."""
    if not os.path.lexists(folder):
        return
    if folder.is_symlink() or not folder.is_dir():
        raise BuildError(f"cannot remove {shown(folder)}: it is not a folder mlreport wrote")
    if is_ours(folder) or not any(os.scandir(folder)):
        shutil.rmtree(folder)
        return
    raise BuildError(f"cannot remove {shown(folder)}: it holds files mlreport did not write")


def clear_staging(site_dir: Path) -> Path:
    """An empty staging folder for the next build (left-overs of a killed build are removed)."""
    staging = staging_dir_for(site_dir)
    if os.path.lexists(staging):
        if staging.is_symlink() or not staging.is_dir():
            staging.unlink()
        else:
            shutil.rmtree(staging)
    return staging


# ---------------------------------------------------------------------------------------------
# the builder subprocess

_PR_SET_PDEATHSIG = 1


def child_dies_with_parent(parent: int) -> None:
    """``preexec_fn`` for the builder (``parent`` is mlreport's pid): the kernel kills the builder
    when mlreport ends (even by SIGKILL), so it can never outlive mlreport. Linux only; elsewhere
    the staging folder still keeps the published site out of its reach."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # mlreport died before prctl took effect
        os._exit(1)


__all__ = [
    "MARKER",
    "atomic_replace",
    "check_output",
    "child_dies_with_parent",
    "clear_staging",
    "is_ours",
    "local_sources",
    "mark",
    "output_lock",
    "protected_paths",
    "prepare_work_dir",
    "recover",
    "remove_left_over",
    "resolve_output",
    "staging_dir_for",
    "swap_in",
    "work_dir_for",
]
