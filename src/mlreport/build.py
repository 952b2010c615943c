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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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
    result = subprocess.run(
        command,
        cwd=config_file.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=functools.partial(child_dies_with_parent, os.getpid()),  # noqa: PLW1509 - no threads of ours fork here
    )
    for line in (result.stderr or "").splitlines():
        if line.strip():
            log.debug("%s: %s", builder, line)
    if result.returncode != 0:
        detail = builder_failure(result.stderr or result.stdout or "") or f"exit status {result.returncode}"
        raise BuildError(f"cannot build the site: {builder} failed: {detail}")
    if builder == "zensical":
        # Zensical has no --site-dir and wants the site inside its project: move it out.
        built = config_file.parent / "site"
        if built.resolve() != site_dir.resolve():
            if site_dir.exists():
                shutil.rmtree(site_dir)
            shutil.move(str(built), str(site_dir))


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
