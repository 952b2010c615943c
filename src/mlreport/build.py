"""Write the page set into a docs dir, then run the site builder as a subprocess.

The builder is behind :func:`run_builder`, so the default (MkDocs + Material) can change in one
line (DESIGN.md decision 1). Builds are reproducible: ``SOURCE_DATE_EPOCH`` pins the dates MkDocs
writes into the sitemap, so two builds of the same input are byte-identical.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BuildError
from .publish import child_dies_with_parent

log = logging.getLogger("mlreport.build")

BUILDER_COMMANDS = {
    "mkdocs": [sys.executable, "-m", "mkdocs"],
    "properdocs": ["properdocs"],
    "zensical": ["zensical"],
}


@dataclass(frozen=True)
class WriteStats:
    written: int
    unchanged: int
    removed: int


def write_pages(docs_dir: Path, pages: Mapping[str, str | bytes]) -> WriteStats:
    """Make ``docs_dir`` hold exactly ``pages``: write what changed, remove what is gone.

    Unchanged files keep their mtime, so ``mlreport serve`` and MkDocs see only real changes.
    """
    docs_dir.mkdir(parents=True, exist_ok=True)
    written = unchanged = removed = 0
    wanted = set()
    for rel, content in pages.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        target = docs_dir / rel
        wanted.add(target)
        try:
            if target.stat().st_size == len(data) and target.read_bytes() == data:
                unchanged += 1
                continue
        except FileNotFoundError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written += 1
    for path in sorted(docs_dir.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
            removed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return WriteStats(written, unchanged, removed)


def run_builder(builder: str, config_file: Path, site_dir: Path, source_date_epoch: int | None) -> None:
    """Build the site with ``builder`` (``mkdocs``, ``properdocs`` or ``zensical``) into
    ``site_dir``, a staging folder of mlreport's own (``--clean`` is only ever run on it)."""
    start_builder(builder, config_file, site_dir, source_date_epoch).wait()


class RunningBuilder:
    """A site builder started by :func:`start_builder`: :meth:`wait` for its site (a failure is
    a :class:`BuildError` then), or :meth:`stop` it when the build fails elsewhere first."""

    def __init__(
        self, builder: str, config_file: Path, site_dir: Path, process: subprocess.Popen[bytes], out: Any, err: Any
    ) -> None:
        self.builder, self.config_file, self.site_dir = builder, config_file, site_dir
        self._process, self._out, self._err = process, out, err
        self._waited = False
        self._failure: BuildError | None = None

    def _close(self) -> None:
        self._out.close()
        self._err.close()

    def wait(self) -> None:
        """Wait for the builder; a failure is a :class:`BuildError` (again on every call)."""
        if self._waited:
            if self._failure is not None:
                raise self._failure
            return
        try:
            returncode = self._process.wait()
            stdout, stderr = (_read_back(f) for f in (self._out, self._err))
        finally:
            self._waited = True
            self._close()
        for line in stderr.splitlines():
            if line.strip():
                log.debug("%s: %s", self.builder, line)
        if returncode != 0:
            detail = builder_failure(stderr or stdout) or f"exit status {returncode}"
            self._failure = BuildError(f"cannot build the site: {self.builder} failed: {detail}")
            raise self._failure
        if self.builder == "zensical":
            # Zensical has no --site-dir and wants the site inside its project: move it out.
            built = self.config_file.parent / "site"
            if built.resolve() != self.site_dir.resolve():
                if self.site_dir.exists():
                    shutil.rmtree(self.site_dir)
                shutil.move(str(built), str(self.site_dir))

    def stop(self) -> None:
        """Kill the builder if it still runs (nothing once it was waited for)."""
        if self._waited:
            return
        self._waited = True
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._close()


def _read_back(file: Any) -> str:
    file.seek(0)
    return str(file.read().decode("utf-8", "replace"))


def start_builder(builder: str, config_file: Path, site_dir: Path, source_date_epoch: int | None) -> RunningBuilder:
    """Start :func:`run_builder`'s build without waiting for it (the engine renders its own
    pages meanwhile). Its output goes to a temporary file, not a pipe: a chatty builder never
    blocks on a pipe nobody reads until the end."""
    if builder not in BUILDER_COMMANDS:
        raise BuildError(f"unknown builder '{builder}' (known: {', '.join(BUILDER_COMMANDS)})")
    command = [*BUILDER_COMMANDS[builder], "build", "-f", str(config_file)]
    if builder != "zensical":
        command += ["-d", str(site_dir), "--clean"]
    if builder == "mkdocs" and not log.isEnabledFor(logging.DEBUG):
        command.append("-q")
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"
    env["DISABLE_MKDOCS_2_WARNING"] = "true"
    env["SOURCE_DATE_EPOCH"] = str(source_date_epoch or 0)
    if command[0] != sys.executable and shutil.which(command[0]) is None:
        raise BuildError(f"cannot build the site: '{command[0]}' is not installed")
    log.info("building the site with %s", builder)
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    try:
        process = subprocess.Popen(
            command,
            cwd=config_file.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            preexec_fn=functools.partial(child_dies_with_parent, os.getpid()),  # noqa: PLW1509 - no threads of ours fork here
        )
    except BaseException:
        out.close()
        err.close()
        raise
    return RunningBuilder(builder, config_file, site_dir, process, out, err)


def builder_failure(output: str) -> str:
    """What a failed builder said, in one line: its error lines without a traceback's frames
    (``Traceback …``, ``File "…"``, indented source lines) or its progress lines, at most the
    last two, tidied."""
    kept = []
    for line in output.splitlines():
        if not line.strip() or line[:1].isspace() or line.startswith(("Traceback ", 'File "')):
            continue
        if re.match(r"(INFO|DEBUG|WARNING)\b", line):
            continue  # progress and warnings, not the reason it failed
        kept.append(re.sub(r"^ERROR\s+-\s+", "ERROR: ", line.strip()))
    text = "; ".join(kept[-2:])
    return text if len(text) <= 400 else text[:399] + "…"
