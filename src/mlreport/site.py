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
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .build import RunningBuilder, WriteStats, run_builder, start_builder, write_pages
from .config import Config
from .engine.cache import (
    BuildCache,
    BuildSummary,
    Manifest,
    PageEntry,
    Snapshot,
    default_cache_dir,
    listing_fingerprint,
    site_listing,
)
from .engine.code import code_digest
from .errors import UsageError
from .publish import (
    MARKER,
    atomic_replace,
    check_output,
    clear_staging,
    mark,
    output_lock,
    protected_paths,
    recover,
    remove_left_over,
    staging_dir_for,
    swap_in,
    work_dir_for,
)

# What renders and builds is imported by the functions that use it: a build with nothing
# changed needs none of it, and importing it was a tenth of that build (issue 7).
from .render.page import Page

if TYPE_CHECKING:
    from .catalog import Catalog
    from .engine.theme import ThemeSpec
    from .engine.tree import Tree
    from .ledger import Ledger
    from .render.pages import PageRef, SiteRenderer

log = logging.getLogger("mlreport.site")

Progress = Callable[[str, int, int | None], None]
ENGINE = "mkdocs"  # the builder name of mlreport's own engine
SMALL_SITE = 400  # pages: below this, render in this process
NAV_FAMILIES = ("home", "models", "experiments", "runs", "datasets", "problems")
LATER_SEARCH = frozenset({"run"})  # page families whose search entries load second


def warning_lines(catalog: Catalog, config: Config | None = None, gates: bool = True) -> list[str]:
    """The warnings a catalog gives: names in the config it does not know, then each problem
    (one line naming the file and the reason)."""
    from .config import unknown_names
    from .stores import display_path

    lines = list(unknown_names(config, catalog, gates)) if config is not None else []
    for p in catalog.problems:
        where = display_path(p.origin.store, p.origin.path)
        lines.append(p.message() if p.origin.store in ("", ".") else f"cannot read {where}: {p.reason}")
    return lines


def summarise(catalog: Catalog, config: Config) -> BuildSummary:
    c = catalog
    return BuildSummary(
        len(c.models),
        len(c.versions),
        len(c.experiments),
        len(c.runs),
        len(c.problems),
        tuple(warning_lines(c, config)),
    )


@dataclass(frozen=True)
class BuildResult:
    site_dir: Path
    work_dir: Path
    pages: int
    stats: WriteStats
    timings: dict[str, float] = field(default_factory=dict)
    search_bytes: int = 0
    summary: BuildSummary = BuildSummary()
    # the catalog, or how to get it: a build with nothing changed does not load it
    loaded: Catalog | None = None
    load: Callable[[], Catalog] | None = field(default=None, repr=False, compare=False)

    @property
    def catalog(self) -> Catalog:
        """The catalog the site shows (read from the build cache on first use when the build
        found nothing changed)."""
        if self.loaded is None:
            assert self.load is not None
            object.__setattr__(self, "loaded", self.load())
        assert self.loaded is not None
        return self.loaded


def plotly_js() -> bytes:
    """plotly.min.js from the installed plotly wheel (shipped once per site, never a CDN)."""
    return resources.files("plotly").joinpath("package_data/plotly.min.js").read_bytes()


def asset_pages(prefix: str) -> dict[str, str | bytes]:
    from .render.site_config import ASSETS

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
    from .render.site_config import dump_yaml

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


def _crawl_key(
    config: Config, snapshots: dict[str, Snapshot] | None = None, meanwhile: Callable[[], object] | None = None
) -> str | None:
    """The crawl's inputs: the sources' listings and the config. None when a source is not a
    local path (a bucket is crawled every time). ``meanwhile`` runs during the sources' walk
    (:func:`listing_fingerprint`)."""
    roots = []
    for source in config.sources:
        if "://" in source.path and not source.path.startswith("file://"):
            return None
        p = Path(source.path.removeprefix("file://")).expanduser()
        roots.append((p if p.is_absolute() else config.base_dir / p).resolve())
    kept = replace(config, output="", builder="", jobs=None, scheduler=None, cache_dir=None, strict=False)
    # the package's own code too: a catalog pickled by other code (an upgrade, a checkout edit)
    # may lack a field the records have now
    # a big store's walk on the pool
    fingerprint = listing_fingerprint(roots, snapshots, jobs=config.jobs, meanwhile=meanwhile)
    text = f"{__version__}\n{code_digest()}\n{kept!r}\n{fingerprint}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _build_key(config: Config, crawl_key: str | None) -> str | None:
    """Everything a build reads, without reading the catalog: the sources (their listing), the
    config, the templates, the user's mkdocs.yml and docs, and the installed tools. None when a
    source is not local (then every build renders)."""
    from .render.site_config import load_user_config
    from .render.template_files import templates_digest

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


class _SiteCheck:
    """Whether the published site is still what the last build listed, found once: during the
    sources' walk (this process waits for the walk's workers then), or when first asked.
    ``token`` names the manifest whose listing it compared (:meth:`answers`)."""

    def __init__(self, site_dir: Path, files: dict[str, tuple[int, int]], token: str = "") -> None:
        self.site_dir, self.files, self.token = site_dir, files, token
        self._matches: bool | None = None

    def answers(self, manifest: Manifest) -> bool:
        """Whether this check, already made, is about ``manifest`` (the same build's, not one
        another build saved since) and its site."""
        return self._matches is not None and bool(self.token) and manifest.token == self.token

    def run(self) -> None:
        if self._matches is None:
            self._matches = bool(self.files) and site_listing_matches(self.site_dir, self.files)

    def matches(self) -> bool:
        self.run()
        return bool(self._matches)


def _global_digest(config: Config, templates_dir: str | None, spec: ThemeSpec) -> str:
    """What every page depends on: mlreport, the templates, the theme and nav, the config (the
    build date is not in it: the theme prints no date on a page)."""
    from .engine.remote import read_tree, theme_paths
    from .render.template_files import templates_digest

    theme = replace(spec, source_date_epoch=0).digest()
    # the files the config names by path (custom_dir overrides, hooks): they shape every page
    for path in theme_paths(spec.config_text):
        theme += hashlib.sha256(repr((path, read_tree(Path(path)))).encode()).hexdigest()
    kept = replace(config, jobs=None, scheduler=None, cache_dir=None, strict=False)
    text = f"{__version__}\n{code_digest()}\n{templates_digest(templates_dir)}\n{theme}\n{kept!r}"
    return hashlib.sha256(text.encode()).hexdigest()


def _ref_key(ref: tuple[str, str]) -> str:
    return f"{ref[0]}\0{ref[1]}"


def _published(site_dir: Path, files: tuple[tuple[str, int, int], ...]) -> bool:
    """True when a page's files in the published site are still as written."""
    for rel, size, mtime in files:
        try:
            st = os.stat(site_dir / rel)
        except OSError:
            return False
        if st.st_size != size or st.st_mtime_ns != mtime:
            return False
    return True


def _mkdocs_key(text: str, docs: dict[str, str | bytes], epoch: int) -> str:
    """Everything MkDocs' part of the site is made from: its config, every file of its docs
    folder, the files the config names by path, the build's date and the tools. Equal: the
    folder MkDocs built last time is what it would build now, and it is not run."""
    from importlib.metadata import version

    from .engine.remote import read_tree, theme_paths

    h = hashlib.blake2b(digest_size=32)
    for part in (text, str(epoch), code_digest(), *(version(d) for d in ("mkdocs", "mkdocs-material", "Jinja2"))):
        h.update(part.encode("utf-8", "surrogateescape") + b"\0")
    for rel in sorted(docs):
        data = docs[rel]
        raw = data.encode("utf-8") if isinstance(data, str) else data
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + len(raw).to_bytes(8, "little") + raw)
    for path in theme_paths(text):
        h.update(repr((path, read_tree(Path(path)))).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


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
    handed = catalog is not None
    # Nothing changed (sources, config, templates, the user's docs, the tools): the published
    # site is what this build would write, so it is kept as it is, and the catalog is not even
    # loaded (its summary is kept with the site). The published site is listed while the
    # sources are walked (issue 7's nothing-changed budget: the two listings were serial).
    previous = cache.load_manifest(pages=False) if engine and not handed else Manifest()
    site_check = _SiteCheck(site_dir, previous.files if previous.site == str(site_dir) else {}, previous.token)
    crawl_key = None if handed else _crawl_key(config, snapshots, site_check.run if previous.files else None)
    build_key = _build_key(config, crawl_key) if engine else None
    if build_key is not None:
        if (
            previous.build_key == build_key
            and previous.site == str(site_dir)
            and previous.files
            and previous.summary is not None
            and site_check.matches()
        ):
            log.info("nothing changed since the last build: %s is up to date", site_dir)
            timings["total"] = time.perf_counter() - t0
            kept = WriteStats(0, len(previous.files), 0)
            key = crawl_key

            def load() -> Catalog:
                from .catalog import read_catalog

                found = cache.load_catalog(key) if key else None
                return found if found is not None else read_catalog(config)

            return BuildResult(
                site_dir, work_dir, previous.page_count, kept, timings, summary=previous.summary, load=load
            )

    # what renders the site: imported only now that it is needed
    from .catalog import read_catalog
    from .engine.preview_cache import PreviewCache
    from .previews import collect_previews
    from .render.pages import PAGE_KINDS, SiteRenderer, markdown_pages
    from .render.site_config import dump_yaml, extended_config, load_user_config, standalone_config

    if catalog is None:
        catalog = cache.load_catalog(crawl_key) if crawl_key else None
        if catalog is None:
            catalog = read_catalog(config, progress, units=cache.units(snapshots) if crawl_key else None)
            if crawl_key:
                cache.save_catalog(crawl_key, catalog)
        else:
            log.info("sources unchanged since the last build: the crawl comes from the cache")
    timings["read"] = time.perf_counter() - t0

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
    # one new run: the other artifacts' previews come from the cache, the budget counted again
    preview_cache = PreviewCache(cache.folder, config.artifacts) if config.artifacts.previews else None
    tp = time.perf_counter()
    previews = collect_previews(catalog, config, prefix, cache=preview_cache)
    if preview_cache is not None:
        preview_cache.save()
        log.info("artifact previews: %d from the cache, %d read", preview_cache.hits, preview_cache.misses)
    timings["previews"] = time.perf_counter() - tp
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
    # files mlreport writes as they are: the review's ledger and feed (issue 9), the artifact
    # copies the previews show (issue 10). The engine puts them into the site itself, so that
    # MkDocs' inputs, and whether it runs at all, do not change with each new run's artifacts
    static: dict[str, bytes] = {
        **history_pages(catalog, ledger, config.title, config.site_url, prefix),
        **previews.files,
    }
    if not engine:
        docs.update(static)
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
    summary = summarise(catalog, config)

    # Exclusive from here: the work folder and the swap belong to one build at a time. The
    # site is built in a staging folder; only the swap at the end touches the published site.
    with output_lock(site_dir):
        recover(site_dir)  # a swap stopped between two renames (no atomic exchange here)
        remove_left_over(site_dir)
        t2 = time.perf_counter()
        stats = write_pages(docs_dir, docs)
        config_file = work_dir / "mkdocs.yml"
        text = "# generated by mlreport; edit mlreport.yml or your own mkdocs.yml instead\n" + dump_yaml(mk)
        if not config_file.is_file() or config_file.read_text(encoding="utf-8") != text:
            config_file.write_text(text, encoding="utf-8")
        timings["write"] = time.perf_counter() - t2
        epoch = source_date_epoch(catalog)
        if not engine:
            staging = clear_staging(site_dir)
            t3 = time.perf_counter()
            run_builder(config.builder if config.builder != "mkdocs-full" else "mkdocs", config_file, staging, epoch)
            timings["mkdocs"] = time.perf_counter() - t3
            atomic_replace(staging, site_dir)
            return BuildResult(site_dir, work_dir, len(refs), stats, timings, 0, summary, loaded=catalog)
        job = _EngineJob(
            config, render_config, catalog, renderer, refs, cache, site_dir, work_dir, text, docs, epoch, mk, static
        )
        job.site_check = site_check
        try:
            search_bytes = _publish(job, templates_dir, ledger, previews, jobs, scheduler, timings)
        except Exception:
            # MkDocs may have failed for the same reason first (a user's hook or mkdocs.yml,
            # which the engine's theme loads in this process too): its one line is the error
            if job.builder is not None:
                job.builder.wait()
            raise
        finally:
            if job.builder is not None:
                job.builder.stop()  # a failed render does not leave MkDocs running (no-op once waited)
        manifest = job.manifest
        manifest.build_key = build_key or ""
        manifest.summary = summary
        cache.save_manifest(manifest)
    return BuildResult(site_dir, work_dir, len(refs), stats, timings, search_bytes, summary, loaded=catalog)


@dataclass
class _EngineJob:
    """One engine build's inputs, from the plan to the swap."""

    config: Config
    render_config: Config
    catalog: Catalog
    renderer: SiteRenderer
    refs: list[PageRef]
    cache: BuildCache
    site_dir: Path
    work_dir: Path
    config_text: str
    docs: dict[str, str | bytes]
    epoch: int
    mk: dict[str, object]
    static: dict[str, bytes]  # files put into the site as they are, over MkDocs' (not through it)
    manifest: Manifest = field(default_factory=Manifest)
    site_check: _SiteCheck | None = None  # the published site's listing, compared during the walk
    builder: RunningBuilder | None = None  # MkDocs, while it runs beside the render


MKDOCS_DIR = "mkdocs"  # in the work folder: what MkDocs built last (its --clean only ever runs here)
DIRTY = "spare.dirty"  # in the work folder: the spare is being changed (a build stopped here)


def _spare(job: _EngineJob, previous: Manifest) -> tuple[Tree, dict[str, PageEntry]]:
    """The spare tree to update into the new site, and what it is known to hold. A spare that
    is not the one the last build left (another builder ran, or a build was stopped while
    changing it) is emptied: then every page is linked from the published site."""
    from .engine.tree import Tree

    staging = staging_dir_for(job.site_dir)
    dirty = job.work_dir / DIRTY
    known = previous.site == str(job.site_dir) and previous.spare_id and not dirty.exists()
    try:
        st = os.lstat(staging)
        same = known and (st.st_dev, st.st_ino) == previous.spare_id
    except FileNotFoundError:
        same = False
    if not same:
        clear_staging(job.site_dir)
    dirty.write_text("the spare site is being changed by a build\n", encoding="utf-8")
    recorded = {rel: (size, mtime) for rel, (size, mtime) in previous.spare_files.items()} if same else {}
    return Tree(staging, recorded), (dict(previous.spare_pages) if same else {})


def _publish(
    job: _EngineJob,
    templates_dir: str | None,
    ledger: Ledger | None,
    previews: Any,
    jobs: int | None,
    scheduler: str | None,
    timings: dict[str, float],
) -> int:
    """Build the engine's site into the spare tree and swap it in; returns the size of the
    search index's first part. ``job.manifest`` is what was published."""
    from .engine.deps import PageInputs
    from .engine.output import page_titles, write_search_index, write_sitemap
    from .engine.page_store import PageStore
    from .engine.remote import portable
    from .engine.theme import ThemeSpec
    from .engine.units import RenderContext, prepare, render_page
    from .executor import Executor

    site_dir, work_dir, refs = job.site_dir, job.work_dir, job.refs
    previous = job.cache.load_manifest()
    tree, spare_pages = _spare(job, previous)
    staging = tree.root
    # the published site as the last build left it (nothing added or edited by hand): then,
    # once swapped out, it is a spare whose every file is known
    # (listed once: the walk's check answers when it compared this very manifest's listing; the
    # second listing of 20,000 pages' files was ~1.3 s CPU of a one-new-run build)
    check = job.site_check
    if previous.site != str(site_dir):
        published = False
    elif check is not None and check.answers(previous):
        published = check.matches()
    else:
        published = site_listing_matches(site_dir, previous.files)

    # MkDocs: the user's pages, the theme's files and the nav stubs, in its own folder, run
    # only when what it builds from changed. It runs while the pages are digested and rendered
    # (a subprocess on one core, which the serial digests left idle: seconds of a cold build);
    # its files are put into the site after the pages, where no page or static file is
    built = work_dir / MKDOCS_DIR
    mk_key = _mkdocs_key(job.config_text, job.docs, job.epoch)
    if not (
        previous.mkdocs_key == mk_key and previous.mkdocs_files and site_listing_matches(built, previous.mkdocs_files)
    ):
        job.builder = start_builder("mkdocs", work_dir / "mkdocs.yml", built, job.epoch)  # stopped if we fail
        previous.mkdocs_files = {}
    for rel in sorted(job.static):
        tree.put(rel, job.static[rel])

    t4 = time.perf_counter()
    titles = page_titles(work_dir / "docs")
    spec = ThemeSpec(job.config_text, str(work_dir), tuple(sorted(titles)), titles, job.epoch)
    ctx = RenderContext(
        job.catalog, job.render_config, templates_dir, spec, ledger=ledger, previews=previews.for_render()
    )
    g = _global_digest(job.render_config, templates_dir, spec)
    inputs = PageInputs(job.renderer, g)
    digests = [inputs.digest(ref) for ref in refs]
    inputs.close()
    timings["digests"] = time.perf_counter() - t4
    t5 = time.perf_counter()
    linkable = previous.site == str(site_dir) and site_dir.is_dir()
    store = PageStore(job.cache.folder)
    manifest = job.manifest
    todo: list[int] = []
    kept = linked = restored = 0
    for i, (ref, digest) in enumerate(zip(refs, digests, strict=True)):
        key = _ref_key(ref)
        spare = spare_pages.get(key)
        old = previous.pages.get(key)
        if spare is not None and spare[0] == digest and all(tree.intact(rel, (s, m)) for rel, s, m in spare[1]):
            # the spare holds this very page already: its folder is not touched
            manifest.pages[key] = spare
            kept += 1
            continue
        if old is None or old[0] != digest:
            todo.append(i)
        elif linkable and _published(site_dir, old[1]):
            for rel, _, _ in old[1]:
                tree.link(site_dir / rel, rel)
            manifest.pages[key] = old
            if not store.has(digest):  # a cache from before the store, or pruned by hand
                store.put(digest, staging, [rel for rel, _, _ in old[1]])
            linked += 1
        elif store.restore(digest, tree, old[1]):
            manifest.pages[key] = old
            restored += 1
        else:
            todo.append(i)
    if jobs is None and scheduler is None and len(todo) < SMALL_SITE:
        jobs = 1  # starting workers (and a theme in each) costs more than a few pages
    if todo and scheduler is None:
        prepare(ctx, job.renderer)  # built once here, inherited by forked workers
    with Executor(jobs=jobs, scheduler=scheduler) as ex:
        # a cluster's workers may not have this machine's folders: the context carries them
        shipped = portable(ctx) if scheduler and todo else ctx
        units = ex.map(render_page, [(refs[i], digests[i]) for i in todo], context=shipped)
        # each page is written as it comes (in page order), so only the pages in flight are
        # held in memory
        for i, rendered in zip(todo, units, strict=True):
            if rendered.digest != digests[i]:  # pragma: no cover - a unit answering another page
                raise AssertionError(f"page {refs[i]} came back rendered for another digest")
            stats_of = []
            for rel, data in rendered.files:
                size, mtime = tree.write(rel, data)
                stats_of.append((rel, size, mtime))
            store.put(rendered.digest, staging, [rel for rel, _ in rendered.files])
            manifest.pages[_ref_key(refs[i])] = (rendered.digest, tuple(stats_of), rendered.search)
    # the run pages' entries are the second part of the index, loaded after the first has
    # answered (engine/output.py)
    entries = [e for ref in refs if ref[0] not in LATER_SEARCH for e in manifest.pages[_ref_key(ref)][2]]
    later = [e for ref in refs if ref[0] in LATER_SEARCH for e in manifest.pages[_ref_key(ref)][2]]
    urls = [
        rel[: -len("index.html")]
        for ref in refs
        for rel, _, _ in manifest.pages[_ref_key(ref)][1]
        if rel.endswith("index.html")
    ]
    log.info("pages: %d rendered, %d from the cache, %d unchanged", len(todo), restored, kept + linked)
    timings["render"] = time.perf_counter() - t5
    t3 = time.perf_counter()
    if job.builder is not None:
        job.builder.wait()
    mk_files = site_listing(built)
    taken = _taken_by(tree.files)
    for rel in mk_files:
        if rel not in job.static and not taken(rel):
            tree.link(built / rel, rel)
    job.manifest.mkdocs_key = mk_key
    job.manifest.mkdocs_files = mk_files
    timings["mkdocs"] = time.perf_counter() - t3
    search_bytes = write_search_index(staging, entries, later, source=built, tree=tree)
    write_sitemap(staging, str(job.mk.get("site_url") or "") or None, urls, job.epoch, source=built, tree=tree)
    store.keep(digests)
    mark(staging)
    tree.files[MARKER] = tree_stat(staging / MARKER)
    tree.prune(spare_files_of(spare_pages))
    # the swap: the spare becomes the site, the site the next build's spare
    first = not os.path.lexists(site_dir)
    swap_in(staging, site_dir)
    manifest.site = str(site_dir)
    manifest.files = dict(tree.files)
    if first:
        # no site before this one: the spare is made as links to this site's files now (in a
        # cold build, ~1 s at 20,000 pages), so that the next build changes only its pages
        mirror(site_dir, staging, manifest.files)
        next_spare = (manifest.files, manifest.pages)
    else:
        next_spare = (previous.files, previous.pages) if published else ({}, {})
    try:
        st = os.lstat(staging)
        manifest.spare_id = (st.st_dev, st.st_ino) if next_spare[0] else None
    except FileNotFoundError:
        manifest.spare_id = None
    manifest.spare_files = dict(next_spare[0]) if manifest.spare_id else {}
    manifest.spare_pages = dict(next_spare[1]) if manifest.spare_id else {}
    (work_dir / DIRTY).unlink(missing_ok=True)
    return search_bytes


def _taken_by(files: Mapping[str, object]) -> Callable[[str], bool]:
    """Whether a site path is taken by ``files`` (this build's pages and static files): the path
    itself, a folder of one of them, or under one of them. MkDocs' output comes in after the
    pages and never replaces them (a nav stub's page is the engine's; a user's file ``reports``
    must not remove the ``reports/`` folder of the pages), as when it was put in first."""
    folders = {rel[:i] for rel in files for i, c in enumerate(rel) if c == "/"}

    def taken(rel: str) -> bool:
        if rel in files or rel in folders:
            return True
        return any(c == "/" and rel[:i] in files for i, c in enumerate(rel))

    return taken


def mirror(site_dir: Path, spare: Path, files: dict[str, tuple[int, int]]) -> None:
    """Make ``spare`` a tree of hard links to every file of ``site_dir`` (listed in ``files``)."""
    from .engine.tree import Tree

    tree = Tree(spare, {})
    for rel in sorted(files):
        tree.link(site_dir / rel, rel)


def spare_files_of(pages: dict[str, PageEntry]) -> set[str]:
    return {rel for _digest, files, _search in pages.values() for rel, _, _ in files}


def tree_stat(path: Path) -> tuple[int, int]:
    st = os.lstat(path)
    return (st.st_size, st.st_mtime_ns)


__all__ = ["BuildResult", "BuildSummary", "Page", "build_site", "warning_lines"]
