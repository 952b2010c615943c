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

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from . import __version__
from .build import WriteStats, run_builder, write_pages
from .catalog import Catalog, read_catalog
from .config import Config
from .engine.cache import BuildCache, Manifest, Snapshot, default_cache_dir, listing_fingerprint, site_listing
from .engine.code import code_digest
from .engine.deps import PageInputs
from .engine.output import page_titles, write_search_index, write_sitemap
from .engine.page_store import PageStore
from .engine.remote import portable, read_tree, theme_paths
from .engine.theme import ThemeSpec
from .engine.units import RenderContext, prepare, render_page
from .errors import UsageError
from .executor import Executor
from .previews import collect_previews
from .publish import (
    atomic_replace,
    check_output,
    clear_staging,
    mark,
    output_lock,
    protected_paths,
    work_dir_for,
)
from .render.page import Page
from .render.pages import PAGE_KINDS, SiteRenderer, markdown_pages
from .render.site_config import ASSETS, dump_yaml, extended_config, load_user_config, standalone_config
from .render.templates import templates_digest

log = logging.getLogger("mlreport.site")

Progress = Callable[[str, int, int | None], None]
ENGINE = "mkdocs"  # the builder name of mlreport's own engine
SMALL_SITE = 400  # pages: below this, render in this process
NAV_FAMILIES = ("home", "models", "experiments", "runs", "datasets", "problems")
LATER_SEARCH = frozenset({"run"})  # page families whose search entries load second


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
        f"{prefix}{ASSETS}runs-table.js": here.joinpath("runs-table.js").read_bytes(),
        f"{prefix}{ASSETS}runs-table.css": here.joinpath("runs-table.css").read_bytes(),
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


def _cache_dir(config: Config, site_dir: Path) -> Path:
    if config.cache_dir:
        folder = Path(config.cache_dir).expanduser()
        return (folder if folder.is_absolute() else Path.cwd() / folder).resolve()
    return default_cache_dir(site_dir)


def _crawl_key(config: Config, snapshots: dict[str, Snapshot] | None = None) -> str | None:
    """The crawl's inputs: the sources' listings and the config. None when a source is not a
    local path (a bucket is crawled every time)."""
    roots = []
    for source in config.sources:
        if "://" in source.path and not source.path.startswith("file://"):
            return None
        p = Path(source.path.removeprefix("file://")).expanduser()
        roots.append((p if p.is_absolute() else config.base_dir / p).resolve())
    kept = replace(config, output="", builder="", jobs=None, scheduler=None, cache_dir=None, strict=False)
    # the package's own code too: a catalog pickled by other code (an upgrade, a checkout edit)
    # may lack a field the records have now
    fingerprint = listing_fingerprint(roots, snapshots, jobs=config.jobs)  # a big store's walk on the pool
    text = f"{__version__}\n{code_digest()}\n{kept!r}\n{fingerprint}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _build_key(config: Config, crawl_key: str | None) -> str | None:
    """Everything a build reads, without reading the catalog: the sources (their listing), the
    config, the templates, the user's mkdocs.yml and docs, and the installed tools. None when a
    source is not local (then every build renders)."""
    if crawl_key is None:
        return None
    from importlib.metadata import version

    extend = user_mkdocs(config)
    parts = [crawl_key, repr(replace(config, jobs=None, scheduler=None, cache_dir=None, strict=False))]
    parts += [__version__, code_digest(), *(version(d) for d in ("mkdocs", "mkdocs-material", "plotly", "Jinja2"))]
    templates = None
    if config.templates:
        t = Path(config.templates)
        templates = str(t if t.is_absolute() else config.base_dir / t)
    parts.append(templates_digest(templates))
    if extend is not None:
        parts.append(extend.read_text(encoding="utf-8", errors="replace"))
        user = load_user_config(extend)
        parts.append(listing_fingerprint([(extend.parent / str(user.get("docs_dir") or "docs")).resolve()]))
        # and what it names by path (theme overrides, hooks, an inherited config): an edited
        # override changes every page
        theme = user.get("theme")
        named = [theme.get("custom_dir")] if isinstance(theme, dict) else []
        hooks = user.get("hooks")
        named += [*(hooks if isinstance(hooks, list) else []), user.get("INHERIT")]
        paths = [(extend.parent / n).resolve() for n in named if isinstance(n, str)]
        parts.append(listing_fingerprint([p for p in paths if p.exists()]))
    parts.append(str(Path.cwd()))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def site_listing_matches(site_dir: Path, files: dict[str, tuple[int, int]]) -> bool:
    try:
        return site_listing(site_dir) == files
    except OSError:
        return False


def _global_digest(config: Config, templates_dir: str | None, spec: ThemeSpec) -> str:
    """What every page depends on: mlreport, the templates, the theme and nav, the config (the
    build date is not in it: the theme prints no date on a page)."""
    theme = replace(spec, source_date_epoch=0).digest()
    # the files the config names by path (custom_dir overrides, hooks): they shape every page
    for path in theme_paths(spec.config_text):
        theme += hashlib.sha256(repr((path, read_tree(Path(path)))).encode()).hexdigest()
    kept = replace(config, jobs=None, scheduler=None, cache_dir=None, strict=False)
    text = f"{__version__}\n{code_digest()}\n{templates_digest(templates_dir)}\n{theme}\n{kept!r}"
    return hashlib.sha256(text.encode()).hexdigest()


def _ref_key(ref: tuple[str, str]) -> str:
    return f"{ref[0]}\0{ref[1]}"


def _link_files(site_dir: Path, staging: Path, files: tuple[tuple[str, int, int], ...]) -> bool:
    """Hard-link a page's files from the published site when they are still as written."""
    for rel, size, mtime in files:
        try:
            st = os.stat(site_dir / rel)
        except OSError:
            return False
        if st.st_size != size or st.st_mtime_ns != mtime:
            return False
    for rel, _, _ in files:
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(target):
            target.unlink()  # MkDocs' stub of a nav page
        try:
            os.link(site_dir / rel, target)
        except OSError:
            shutil.copy2(site_dir / rel, target)
    return True


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
    engine = config.builder == ENGINE
    site_dir = output_dir(config)
    work_dir = work_dir_for(site_dir)
    docs_dir = work_dir / "docs"
    cache = BuildCache(_cache_dir(config, site_dir))
    guarded = protected_paths(config)
    check_output(site_dir, [work_dir, cache.folder], guarded)
    mark(cache.folder)  # ours: a later build may clean it

    t0 = time.perf_counter()
    snapshots: dict[str, Snapshot] = {}  # the sources' one walk: the crawl key and each run's
    crawl_key = _crawl_key(config, snapshots)
    if catalog is None:
        catalog = cache.load_catalog(crawl_key) if crawl_key else None
        if catalog is None:
            catalog = read_catalog(config, progress, units=cache.units(snapshots) if crawl_key else None)
            if crawl_key:
                cache.save_catalog(crawl_key, catalog)
        else:
            log.info("sources unchanged since the last build: the crawl comes from the cache")
    else:
        crawl_key = None  # a catalog handed in: its inputs are not known here
    timings["read"] = time.perf_counter() - t0

    # Nothing changed (sources, config, templates, the user's docs, the tools): the published
    # site is what this build would write, so it is kept as it is.
    build_key = _build_key(config, crawl_key) if engine else None
    if build_key is not None:
        previous = cache.load_manifest()
        if (
            previous.build_key == build_key
            and previous.site == str(site_dir)
            and previous.files
            and site_listing_matches(site_dir, previous.files)
        ):
            log.info("nothing changed since the last build: %s is up to date", site_dir)
            timings["total"] = time.perf_counter() - t0
            kept = WriteStats(0, len(previous.files), 0)
            return BuildResult(catalog, site_dir, work_dir, len(previous.pages), kept, timings)

    t1 = time.perf_counter()
    extend = user_mkdocs(config)
    prefix = ""
    user_pages: dict[str, str | bytes] = {}
    user: dict[str, object] = {}
    if extend is not None:
        user = load_user_config(extend)
        prefix = (config.prefix or "reports").strip("/") + "/"
        user_docs = (extend.parent / str(user.get("docs_dir") or "docs")).resolve()
        check_output(site_dir, [work_dir, cache.folder], [*guarded, user_docs])
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

    # review (issue 9): the alias ledger, read back and advanced before the pages that show it
    from .ledger import history_pages, observe_build, previous_location

    ledger = observe_build(catalog, previous_location(config.history, str(site_dir), prefix))
    # artifacts (issue 10): artifact bytes are read here, before render, through the stores
    previews = collect_previews(catalog, config, prefix)
    if previews.problems:
        catalog = replace(catalog, problems=catalog.problems + previews.problems)
    renderer = SiteRenderer(catalog, render_config, templates_dir, ledger=ledger, previews=previews)
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
    docs.update(history_pages(catalog, ledger, config.title, config.site_url, prefix))  # review (issue 9)
    docs.update(previews.files)  # artifacts (issue 10): the copies the previews show
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
        manifest = Manifest()
        if engine:
            t4 = time.perf_counter()
            titles = page_titles(docs_dir)
            spec = ThemeSpec(text, str(work_dir), tuple(sorted(titles)), titles, epoch)
            ctx = RenderContext(
                catalog, render_config, templates_dir, spec, ledger=ledger, previews=previews.for_render()
            )
            g = _global_digest(render_config, templates_dir, spec)
            inputs = PageInputs(renderer, g)
            digests = [inputs.digest(ref) for ref in refs]
            inputs.close()
            timings["digests"] = time.perf_counter() - t4
            previous = cache.load_manifest()
            linkable = previous.site == str(site_dir) and site_dir.is_dir()
            store = PageStore(cache.folder)
            todo: list[int] = []
            linked = restored = 0
            for i, (ref, digest) in enumerate(zip(refs, digests, strict=True)):
                old = previous.pages.get(_ref_key(ref))
                if old is None or old[0] != digest:
                    todo.append(i)
                elif linkable and _link_files(site_dir, staging, old[1]):
                    manifest.pages[_ref_key(ref)] = (digest, old[1], old[2])
                    if not store.has(digest):  # a cache from before the store, or pruned by hand
                        store.put(digest, staging, [rel for rel, _, _ in old[1]])
                    linked += 1
                elif store.restore(digest, staging, old[1]):
                    manifest.pages[_ref_key(ref)] = (digest, old[1], old[2])
                    restored += 1
                else:
                    todo.append(i)
            if jobs is None and scheduler is None and len(todo) < SMALL_SITE:
                jobs = 1  # starting workers (and a theme in each) costs more than a few pages
            if todo and scheduler is None:
                prepare(ctx, renderer)  # built once here, inherited by forked workers
            with Executor(jobs=jobs, scheduler=scheduler) as ex:
                # a cluster's workers may not have this machine's folders: the context carries them
                shipped = portable(ctx) if scheduler and todo else ctx
                units = ex.map(render_page, [refs[i] for i in todo], context=shipped)
                # each page is written as it comes (in page order), so only the pages in flight
                # are held in memory
                for i, rendered in zip(todo, units, strict=True):
                    stats_of = []
                    for rel, data in rendered.files:
                        target = staging / rel
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(data)
                        st = target.stat()
                        stats_of.append((rel, st.st_size, st.st_mtime_ns))
                    store.put(digests[i], staging, [rel for rel, _ in rendered.files])
                    manifest.pages[_ref_key(refs[i])] = (digests[i], tuple(stats_of), rendered.search)
            # the run pages' entries are the second part of the index, loaded after the first
            # has answered (engine/output.py)
            entries = [e for ref in refs if ref[0] not in LATER_SEARCH for e in manifest.pages[_ref_key(ref)][2]]
            later = [e for ref in refs if ref[0] in LATER_SEARCH for e in manifest.pages[_ref_key(ref)][2]]
            urls = [
                rel[: -len("index.html")]
                for ref in refs
                for rel, _, _ in manifest.pages[_ref_key(ref)][1]
                if rel.endswith("index.html")
            ]
            log.info("pages: %d rendered, %d from the cache, %d unchanged", len(todo), restored, linked)
            timings["render"] = time.perf_counter() - t4
            search_bytes = write_search_index(staging, entries, later)
            write_sitemap(staging, str(mk.get("site_url") or "") or None, urls, epoch)
            store.keep(digests)
        atomic_replace(staging, site_dir)
        if engine:
            manifest.site = str(site_dir)
            manifest.build_key = build_key or ""
            manifest.files = site_listing(site_dir)
            cache.save_manifest(manifest)
    return BuildResult(catalog, site_dir, work_dir, pages, stats, timings, search_bytes)


__all__ = ["BuildResult", "Page", "build_site"]
