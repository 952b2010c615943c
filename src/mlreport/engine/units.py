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
from ..previews import Previews
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
    previews: Previews | None = None  # artifacts (issue 10): artifact previews, read before render


@dataclass(frozen=True)
class Rendered:
    """One page's output: its files (site-relative path, bytes) and its search entries."""

    ref: PageRef
    files: tuple[tuple[str, bytes], ...]
    search: tuple[SearchEntry, ...]


# The renderer of the context this process renders for. The context itself is kept (not its
# id): a later build's context may be allocated where a freed one was.
_RENDERER: tuple[RenderContext, SiteRenderer] | None = None


def renderer_for(ctx: RenderContext) -> SiteRenderer:
    """One :class:`SiteRenderer` per context and process (URLs and per-model data once)."""
    global _RENDERER
    if _RENDERER is None or _RENDERER[0] is not ctx:
        _RENDERER = (
            ctx,
            SiteRenderer(ctx.catalog, ctx.config, ctx.templates_dir, ledger=ctx.ledger, previews=ctx.previews),
        )
    return _RENDERER[1]


def prepare(ctx: RenderContext, renderer: SiteRenderer | None = None) -> None:
    """Make this process ready to render ``ctx`` before a pool forks from it: the renderer (URL
    plan, key metrics, compiled templates) and the theme are then built once and inherited by
    every local worker instead of once per worker. ``renderer`` must have been made from the
    context's catalog, config, templates and ledger."""
    global _RENDERER
    if renderer is not None:
        _RENDERER = (ctx, renderer)
    else:
        renderer_for(ctx)
    if ctx.theme is not None:
        theme_for(ctx.theme)


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


__all__ = ["RenderContext", "Rendered", "prepare", "render_page", "renderer_for"]
