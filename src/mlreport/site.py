"""The whole pipeline behind ``mlreport build``: read, render, write, build."""

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
from .errors import UsageError
from .publish import atomic_replace, check_output, clear_staging, output_lock, protected_paths, work_dir_for
from .render.pages import render_site
from .render.site_config import ASSETS, dump_yaml, extended_config, load_user_config, standalone_config

log = logging.getLogger("mlreport.site")

Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class BuildResult:
    catalog: Catalog
    site_dir: Path
    work_dir: Path
    pages: int
    stats: WriteStats
    timings: dict[str, float] = field(default_factory=dict)


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


def build_site(config: Config, progress: Progress | None = None, catalog: Catalog | None = None) -> BuildResult:
    """Read the sources of ``config`` and build the site into ``config.output``."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if catalog is None:
        catalog = read_catalog(config, progress)
    timings["read"] = time.perf_counter() - t0

    site_dir = Path(config.output).expanduser()
    if not site_dir.is_absolute():
        site_dir = Path.cwd() / site_dir
    site_dir = site_dir.resolve()
    work_dir = work_dir_for(site_dir)
    docs_dir = work_dir / "docs"
    guarded = protected_paths(config)
    check_output(site_dir, [work_dir], guarded)

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
    pages = render_site(catalog, render_config, templates_dir)
    pages.update(asset_pages(prefix))
    # review (issue 9): the alias ledger and the Atom feed, published with the site
    from .ledger import history_pages, previous_location

    where = previous_location(config.history, str(site_dir), prefix)
    pages.update(history_pages(catalog, config.title, config.site_url, prefix, where))
    for rel, data in user_pages.items():
        pages.setdefault(rel, data)
    timings["render"] = time.perf_counter() - t1

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
    # builder writes into a staging folder; only the swap below touches the published site.
    with output_lock(site_dir):
        t2 = time.perf_counter()
        stats = write_pages(docs_dir, pages)
        config_file = work_dir / "mkdocs.yml"
        text = "# generated by mlreport; edit mlreport.yml or your own mkdocs.yml instead\n" + dump_yaml(mk)
        if not config_file.is_file() or config_file.read_text(encoding="utf-8") != text:
            config_file.write_text(text, encoding="utf-8")
        timings["write"] = time.perf_counter() - t2

        t3 = time.perf_counter()
        staging = clear_staging(site_dir)
        run_builder(config.builder, config_file, staging, source_date_epoch(catalog))
        atomic_replace(staging, site_dir)
        timings["build"] = time.perf_counter() - t3
    return BuildResult(catalog, site_dir, work_dir, len(pages), stats, timings)
