"""The render work unit: one page reference in, its final files and search entries out.

:func:`render_page` is a plain module-level function over picklable inputs, so
:mod:`mlreport.executor` can run it in this process, on every local core, or on a Dask cluster,
and the output is the same bytes whichever runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import Catalog
from ..config import Config
from ..ledger import Ledger
from ..render.page import Asset, Page, SearchEntry
from ..render.pages import PageRef, SiteRenderer
from .theme import ThemeSpec, theme_for


@dataclass(frozen=True)
class RenderContext:
    """What every unit shares (sent once per worker): the catalog and how to render it."""

    catalog: Catalog
    config: Config
    templates_dir: str | None
    theme: ThemeSpec | None  # None: the Markdown builders (``mkdocs-full``, ``zensical`` …)
    ledger: Ledger | None = None  # review (issue 9): the alias history the pages show


@dataclass(frozen=True)
class Rendered:
    """One page's output: its files (site-relative path, bytes) and its search entries."""

    ref: PageRef
    files: tuple[tuple[str, bytes], ...]
    search: tuple[SearchEntry, ...]


_RENDERERS: dict[int, SiteRenderer] = {}


def renderer_for(ctx: RenderContext) -> SiteRenderer:
    """One :class:`SiteRenderer` per context and process (URLs and per-model data once)."""
    r = _RENDERERS.get(id(ctx))
    if r is None:
        _RENDERERS.clear()
        r = _RENDERERS[id(ctx)] = SiteRenderer(ctx.catalog, ctx.config, ctx.templates_dir, ledger=ctx.ledger)
    return r


def render_page(ctx: RenderContext, ref: PageRef) -> Rendered:
    """Render the page ``ref`` names: HTML wrapped in the theme, or Markdown for MkDocs."""
    items = renderer_for(ctx).render_ref(ref)
    files: list[tuple[str, bytes]] = []
    search: list[SearchEntry] = []
    wrap = theme_for(ctx.theme) if ctx.theme is not None else None
    for item in items:
        if isinstance(item, Asset):
            files.append((item.path, item.data))
        elif isinstance(item, Page):
            if wrap is not None:
                files.append((item.dest, wrap.wrap(item)))
            else:
                files.append((item.src_uri, item.markdown().encode("utf-8")))
            search += item.search
    return Rendered(ref, tuple(files), tuple(search))


__all__ = ["RenderContext", "Rendered", "render_page", "renderer_for"]
