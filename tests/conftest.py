"""Shared fixtures: data paths, memory:// copies of fixture stores, the golden-file switch."""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
GOLDENS = ROOT / "tests" / "goldens"
_counter = itertools.count()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite tests/goldens/ from the current output (review the diff like code)",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


def to_memory(local: Path) -> str:
    """Upload a local tree to a fresh prefix of fsspec's memory filesystem; return its URL."""
    import fsspec

    fs = fsspec.filesystem("memory")
    prefix = f"/mlreport-test-{os.getpid()}-{next(_counter)}"
    for dirpath, _dirs, files in os.walk(local):
        for name in files:
            path = Path(dirpath) / name
            rel = path.relative_to(local).as_posix()
            fs.pipe_file(f"{prefix}/{rel}", path.read_bytes())
    return f"memory://{prefix}"


def tree_digest(root: Path) -> dict[str, str]:
    """Every file and directory under ``root`` with a checksum: compared before and after a
    build to prove that nothing in a source was created, changed or deleted."""
    out: dict[str, str] = {}
    for dirpath, dirs, files in os.walk(root):
        for d in dirs:
            out[os.path.relpath(os.path.join(dirpath, d), root) + "/"] = "dir"
        for f in files:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
    return out


@pytest.fixture
def chdir_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run in an empty folder (no mlreport.yml or mkdocs.yml around)."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def _logger_state() -> tuple[list[object], bool, int]:
    import logging

    logger = logging.getLogger("mlreport")
    return list(logger.handlers), logger.propagate, logger.level


_PRISTINE_LOGGING = _logger_state()


@pytest.fixture(autouse=True)
def _restore_mlreport_logging() -> Iterator[None]:
    """``cli.main`` configures the ``mlreport`` logger for a terminal (its own handler, no
    propagation); put it back as it was before any test (a module fixture may have called main
    too), so a later test's ``caplog`` still sees records."""
    import logging

    logger = logging.getLogger("mlreport")
    handlers, propagate, level = _PRISTINE_LOGGING
    logger.handlers[:], logger.propagate, logger.level = handlers, propagate, level  # type: ignore[assignment]
    yield
    logger.handlers[:], logger.propagate, logger.level = handlers, propagate, level  # type: ignore[assignment]
