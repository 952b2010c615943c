"""The render work unit: one page reference in, its final files and search entries out.

:func:`render_page` is a plain module-level function over picklable inputs, so
:mod:`mlreport.executor` can run it in this process, on every local core, or on a Dask cluster,
and the output is the same bytes whichever runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..catalog import Catalog
from ..config import Config
from ..ledger import Ledger
from ..previews import Previews
from ..render.page import Asset, Page, SearchEntry
from ..render.pages import PageRef, SiteRenderer
from ..render.templates import make_environment
from .theme import ThemeSpec, ThemeWrap


@dataclass(frozen=True)
class RenderContext:
    """What every unit shares (sent once per worker): the catalog and how to render it."""

    catalog: Catalog
    config: Config
    templates_dir: str | None
    theme: ThemeSpec | None  # None: the Markdown builders (``mkdocs-full``, ``zensical`` …)
    ledger: Ledger | None = None  # review (issue 9): the alias history the pages show
    previews: Previews | None = None  # artifacts (issue 10): artifact previews, read before render
    # the user's templates as (name, text), when they travel with the context (a Dask worker
    # does not have templates_dir; see mlreport.engine.remote)
    templates: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True)
class Rendered:
    """One page's output: its files (site-relative path, bytes), its search entries and the
    input digest it was rendered for (:mod:`mlreport.engine.deps`)."""

    ref: PageRef
    files: tuple[tuple[str, bytes], ...]
    search: tuple[SearchEntry, ...]
    digest: str = ""


# The renderer of the context this process renders for. The context itself is kept (not its
# id): a later build's context may be allocated where a freed one was.
_RENDERER: tuple[RenderContext, SiteRenderer] | None = None
# Its theme, also per context: the same spec (config text) can name files that changed since
# (a custom_dir override edited between two builds in one process).
_THEME: tuple[RenderContext, ThemeWrap] | None = None


def theme_of(ctx: RenderContext) -> ThemeWrap | None:
    """The context's :class:`ThemeWrap`, built once per context and process."""
    global _THEME
    if ctx.theme is None:
        return None
    if _THEME is None or _THEME[0] is not ctx:
        _THEME = None  # the previous one is dropped before the next is built
        _THEME = (ctx, ThemeWrap(ctx.theme))
    return _THEME[1]


def renderer_for(ctx: RenderContext) -> SiteRenderer:
    """One :class:`SiteRenderer` per context and process (URLs and per-model data once)."""
    global _RENDERER
    if _RENDERER is None or _RENDERER[0] is not ctx:
        own = None if ctx.templates is not None else ctx.templates_dir
        renderer = SiteRenderer(ctx.catalog, ctx.config, own, ledger=ctx.ledger, previews=ctx.previews)
        if ctx.templates is not None:
            renderer.env = make_environment(dict(ctx.templates))
        _RENDERER = (ctx, renderer)
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
    theme_of(ctx)


def render_page(ctx: RenderContext, job: PageRef | tuple[PageRef, str]) -> Rendered:
    """Render the page a job names: HTML wrapped in the theme, or Markdown for MkDocs. A job is
    a page reference and the input digest it is rendered for (computed before the page exists:
    an unchanged digest is what lets the build skip rendering it), or a bare reference."""
    if isinstance(job[0], tuple):
        ref, digest = job
    else:
        ref, digest = job, ""
    items = [replace(i, digest=digest) if isinstance(i, Page) else i for i in renderer_for(ctx).render_ref(ref)]
    files: list[tuple[str, bytes]] = []
    search: list[SearchEntry] = []
    wrap = theme_of(ctx)
    for item in items:
        if isinstance(item, Asset):
            files.append((item.path, item.data))
        elif isinstance(item, Page):
            if wrap is not None:
                files.append((item.dest, wrap.wrap(item)))
            else:
                files.append((item.src_uri, item.markdown().encode("utf-8")))
            search += item.search
    return Rendered(ref, tuple(files), tuple(search), digest)


__all__ = ["RenderContext", "Rendered", "prepare", "render_page", "renderer_for", "theme_of"]
