"""The whole pipeline behind ``mlreport build``: read, render, build, swap in.

Two ways to build (``builder`` in ``mlreport.yml``):

- ``mkdocs`` (the default): MkDocs builds the user's own pages, the theme's files and one small
  stub for each section page of the nav; mlreport renders every page it generates to final HTML
  with the same theme templates, in parallel (:mod:`mlreport.executor`), and writes the search
  index from the catalog. No generated page is ever parsed as Markdown (DESIGN.md decision 1).
- ``mkdocs-full``, ``zensical``, ``properdocs``: the plain generated-Markdown project, built
  entirely by that tool (for people who want a plain MkDocs project).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .build import WriteStats, run_builder, write_pages
from .catalog import Catalog, read_catalog
from .config import Config
from .engine.output import page_titles, write_search_index, write_sitemap
from .engine.theme import ThemeSpec
from .engine.units import RenderContext, render_page
from .errors import UsageError
from .executor import Executor
from .publish import atomic_replace, check_output, clear_staging, output_lock, protected_paths, work_dir_for
from .render.page import Page, SearchEntry
from .render.pages import PAGE_KINDS, SiteRenderer, markdown_pages
from .render.site_config import ASSETS, dump_yaml, extended_config, load_user_config, standalone_config

log = logging.getLogger("mlreport.site")

Progress = Callable[[str, int, int | None], None]
ENGINE = "mkdocs"  # the builder name of mlreport's own engine
SMALL_SITE = 400  # pages: below this, render in this process
NAV_FAMILIES = ("home", "models", "experiments", "runs", "datasets", "problems")


@dataclass(frozen=True)
class BuildResult:
    catalog: Catalog
    site_dir: Path
    work_dir: Path
    pages: int
    stats: WriteStats
    timings: dict[str, float] = field(default_factory=dict)
    search_bytes: int = 0


def plotly_js() -> bytes:
    """plotly.min.js from the installed plotly wheel (shipped once per site, never a CDN)."""
    return resources.files("plotly").joinpath("package_data/plotly.min.js").read_bytes()


def asset_pages(prefix: str) -> dict[str, str | bytes]:
    here = resources.files("mlreport.render").joinpath("assets")
    return {
        f"{prefix}{ASSETS}plotly.min.js": plotly_js(),
        f"{prefix}{ASSETS}mlreport.js": here.joinpath("mlreport.js").read_bytes(),
        f"{prefix}{ASSETS}mlreport.css": here.joinpath("mlreport.css").read_bytes(),
    }


def user_mkdocs(config: Config) -> Path | None:
    """The ``mkdocs.yml`` to extend: the configured one, else one in the current folder."""
    if config.mkdocs:
        path = Path(config.mkdocs)
        if not path.is_absolute():
            path = config.base_dir / path
        if not path.is_file():
            raise UsageError(f"cannot extend {config.mkdocs}: no such file")
        return path
    candidate = Path.cwd() / "mkdocs.yml"
    return candidate if candidate.is_file() else None


def source_date_epoch(catalog: Catalog) -> int:
    """The newest time in the catalog (seconds): the build's date, taken from the input."""
    newest = 0
    for r in catalog.runs:
        newest = max(newest, r.end_time or 0, r.start_time or 0)
    for v in catalog.versions:
        newest = max(newest, v.updated or 0, v.created or 0)
    return newest // 1000


def output_dir(config: Config) -> Path:
    site_dir = Path(config.output).expanduser()
    if not site_dir.is_absolute():
        site_dir = Path.cwd() / site_dir
    return site_dir.resolve()


def nav_stub(page_title: str, hide: tuple[str, ...]) -> str:
    """The Markdown MkDocs builds for a section page of the nav: only its title and settings
    (mlreport writes the page itself afterwards; search entries come from the catalog)."""
    lines = ["---", f"title: {dump_yaml({'t': page_title})[3:].strip()}"]
    if hide:
        lines += ["hide:", *[f"  - {h}" for h in hide]]
    lines += ["search:", "  exclude: true", "---", "", ""]
    return "\n".join(lines)


def build_site(
    config: Config,
    progress: Progress | None = None,
    catalog: Catalog | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
) -> BuildResult:
    """Read the sources of ``config`` and build the site into ``config.output``."""
    timings: dict[str, float] = {}
    jobs = jobs if jobs is not None else config.jobs
    scheduler = scheduler or config.scheduler
    t0 = time.perf_counter()
    if catalog is None:
        catalog = read_catalog(config, progress)
    timings["read"] = time.perf_counter() - t0

    site_dir = output_dir(config)
    work_dir = work_dir_for(site_dir)
    docs_dir = work_dir / "docs"
    guarded = protected_paths(config)
    check_output(site_dir, [work_dir], guarded)
    engine = config.builder == ENGINE

    t1 = time.perf_counter()
    extend = user_mkdocs(config)
    prefix = ""
    user_pages: dict[str, str | bytes] = {}
    user: dict[str, object] = {}
    if extend is not None:
        user = load_user_config(extend)
        prefix = (config.prefix or "reports").strip("/") + "/"
        user_docs = (extend.parent / str(user.get("docs_dir") or "docs")).resolve()
        check_output(site_dir, [work_dir], [*guarded, user_docs])
        if user_docs.is_dir():
            for path in sorted(user_docs.rglob("*")):
                if path.is_file():
                    user_pages[path.relative_to(user_docs).as_posix()] = path.read_bytes()
        clash = [p for p in user_pages if p.startswith(prefix)]
        if clash:
            raise UsageError(
                f"cannot add the report under '{prefix}': {extend.name}'s docs already have "
                f"{clash[0]}; set 'prefix' in mlreport.yml"
            )
    elif config.prefix:
        prefix = config.prefix.strip("/") + "/"
    render_config = config.with_overrides(prefix=prefix.rstrip("/") or None)
    templates_dir = None
    if config.templates:
        t = Path(config.templates)
        templates_dir = str(t if t.is_absolute() else config.base_dir / t)

    renderer = SiteRenderer(catalog, render_config, templates_dir)
    refs = renderer.refs()
    docs: dict[str, str | bytes] = dict(asset_pages(prefix))
    if engine:
        for family, _key in refs:
            if family in NAV_FAMILIES:
                url = prefix if family == "home" else f"{prefix}{family}/"
                default, hide, _exclude, _boost = PAGE_KINDS[family]
                docs[f"{url}index.md"] = nav_stub(default or config.title, hide)
    else:
        items = [item for ref in refs for item in renderer.render_ref(ref)]
        docs.update(markdown_pages(items))
    # review (issue 9): the alias ledger and the Atom feed, published with the site
    from .ledger import history_pages, previous_location

    where = previous_location(config.history, str(site_dir), prefix)
    docs.update(history_pages(catalog, config.title, config.site_url, prefix, where))
    for rel, data in user_pages.items():
        docs.setdefault(rel, data)
    timings["plan"] = time.perf_counter() - t1

    if extend is not None:
        mk = extended_config(
            user,
            extend,
            prefix,
            config.title,
            "docs",
            "site",
            [p for p in user_pages if p.endswith(".md")],
        )
    else:
        # Paths relative to the generated mkdocs.yml: Zensical wants both inside its folder,
        # and MkDocs gets the real output with -d.
        mk = standalone_config(config.title, config.site_url, "docs", "site")
    if config.site_url and extend is not None:
        mk.setdefault("site_url", config.site_url)

    # Exclusive from here: the work folder and the swap belong to one build at a time. The
    # site is built in a staging folder; only the swap at the end touches the published site.
    with output_lock(site_dir):
        t2 = time.perf_counter()
        stats = write_pages(docs_dir, docs)
        config_file = work_dir / "mkdocs.yml"
        text = "# generated by mlreport; edit mlreport.yml or your own mkdocs.yml instead\n" + dump_yaml(mk)
        if not config_file.is_file() or config_file.read_text(encoding="utf-8") != text:
            config_file.write_text(text, encoding="utf-8")
        timings["write"] = time.perf_counter() - t2

        epoch = source_date_epoch(catalog)
        staging = clear_staging(site_dir)
        t3 = time.perf_counter()
        run_builder(
            "mkdocs" if engine or config.builder == "mkdocs-full" else config.builder, config_file, staging, epoch
        )
        timings["mkdocs"] = time.perf_counter() - t3

        search_bytes = 0
        pages = len(refs)
        if engine:
            t4 = time.perf_counter()
            spec = ThemeSpec(text, str(work_dir), tuple(sorted(page_titles(docs_dir))), page_titles(docs_dir), epoch)
            ctx = RenderContext(catalog, render_config, templates_dir, spec)
            entries: list[SearchEntry] = []
            urls: list[str] = []
            if jobs is None and scheduler is None and len(refs) < SMALL_SITE:
                jobs = 1  # starting workers (and a theme in each) costs more than a small site
            with Executor(jobs=jobs, scheduler=scheduler) as ex:
                for rendered in ex.map(render_page, refs, context=ctx):
                    for rel, data in rendered.files:
                        target = staging / rel
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(data)
                        if rel.endswith("index.html"):
                            urls.append(rel[: -len("index.html")])
                    entries += rendered.search
            timings["render"] = time.perf_counter() - t4
            search_bytes = write_search_index(staging, entries)
            write_sitemap(staging, str(mk.get("site_url") or "") or None, urls, epoch)
        atomic_replace(staging, site_dir)
    return BuildResult(catalog, site_dir, work_dir, pages, stats, timings, search_bytes)


__all__ = ["BuildResult", "Page", "build_site"]
