"""A render context that needs no path of the building machine: what a Dask worker gets.

A local worker reads three things by path: the metric histories (a file in the build cache or
the system's temp folder, :mod:`mlreport.history_store`), the user's template folder, and the
files the generated ``mkdocs.yml`` names (the theme's ``custom_dir``, ``hooks``, ``INHERIT``).
A worker of a cluster on other machines has none of them, so :func:`portable` puts their
contents into the context itself: the scheduler sends it once to every worker (scattered,
broadcast), and a worker writes the theme's files into its own temp folder.

The cost is the histories' size once per worker (about 10 MB per 1,000 runs of 8 metrics x 50
steps); the output is the same bytes as a local build (``tests/test_engine_dask.py`` runs the
workers in a mount namespace where the build's folders do not exist).
"""

from __future__ import annotations

import copy
import os
import threading
from array import array
from dataclasses import replace
from pathlib import Path

from ..catalog import Catalog
from ..history_store import HistoryFile, Location
from ..model import MetricHistory
from .units import RenderContext

#: theme keys and top-level keys of the generated mkdocs.yml that hold a path
THEME_PATH_KEYS = ("custom_dir",)
TOP_PATH_KEYS = ("hooks", "INHERIT")


class HistoryBytes(HistoryFile):
    """A history file's bytes held in memory (read-only): pickles as its content, not its path."""

    def __init__(self, data: bytes) -> None:  # noqa: D107 - no file, nothing to create
        self.path = "<in memory>"
        self._data = data
        self._size = len(data)
        self._writer = None
        self._lock = threading.Lock()
        self._finalizer = None

    @classmethod
    def of(cls, histories: HistoryFile) -> HistoryBytes:
        with open(histories.path, "rb") as f:
            return cls(f.read(histories.size))

    def get(self, location: Location) -> MetricHistory:
        offset, n = location
        raw = self._data[offset : offset + 24 * n]
        if len(raw) != 24 * n:
            raise OSError("history data is truncated")
        steps, timestamps, values = array("q"), array("q"), array("d")
        steps.frombytes(raw[: 8 * n])
        timestamps.frombytes(raw[8 * n : 16 * n])
        values.frombytes(raw[16 * n :])
        return MetricHistory(steps, timestamps, values)

    def __getstate__(self) -> dict[str, object]:
        return {"data": self._data}

    def __setstate__(self, state: dict[str, object]) -> None:
        data = state["data"]
        self.__init__(data if isinstance(data, bytes) else b"")  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"HistoryBytes({self._size} bytes)"


def read_tree(root: Path) -> tuple[tuple[str, bytes], ...]:
    """Every file under ``root`` (or ``root`` itself), as (relative path, bytes), sorted."""
    if root.is_file():
        return (("", root.read_bytes()),)
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out.append((path.relative_to(root).as_posix(), path.read_bytes()))
    return tuple(out)


def theme_paths(config_text: str) -> list[str]:
    """The absolute paths the generated ``mkdocs.yml`` names (theme files, hooks, INHERIT)."""
    import yaml

    try:
        data = yaml.safe_load(config_text)
    except yaml.YAMLError:
        return []
    if not isinstance(data, dict):
        return []
    found: list[str] = []
    theme = data.get("theme")
    if isinstance(theme, dict):
        found += [str(theme[k]) for k in THEME_PATH_KEYS if isinstance(theme.get(k), str)]
    for key in TOP_PATH_KEYS:
        value = data.get(key)
        found += [str(v) for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
    return [p for p in found if os.path.isabs(p) and os.path.exists(p)]


def portable(ctx: RenderContext) -> RenderContext:
    """``ctx`` with everything its units would read by path carried as data."""
    catalog: Catalog = ctx.catalog
    if catalog.histories is not None and not isinstance(catalog.histories, HistoryBytes):
        catalog = copy.copy(catalog)
        object.__setattr__(catalog, "histories", HistoryBytes.of(ctx.catalog.histories))  # type: ignore[arg-type]
    templates = ctx.templates
    if ctx.templates_dir and templates is None:
        root = Path(ctx.templates_dir)
        templates = tuple((rel, data.decode("utf-8")) for rel, data in read_tree(root)) if root.is_dir() else ()
    theme = ctx.theme
    if theme is not None and not theme.bundle:
        bundle = tuple((p, read_tree(Path(p))) for p in theme_paths(theme.config_text))
        theme = replace(theme, bundle=bundle)
    return replace(ctx, catalog=catalog, templates=templates, theme=theme)


__all__ = ["HistoryBytes", "portable", "read_tree", "theme_paths"]
