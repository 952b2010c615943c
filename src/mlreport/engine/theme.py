"""Wrap a page body in the MkDocs theme's ``main.html``, the way ``mkdocs build`` does.

MkDocs 1.6 and Material 9.7+ are frozen releases, so their template context is a stable
contract. What this module relies on (``tests/test_engine_theme.py`` pins it):

- ``mkdocs.config.load_config``, ``config.plugins.on_startup/on_config/on_env``,
  ``config.theme.get_env()`` and ``mkdocs.commands.build.get_context(nav, files, config, page)``;
- ``mkdocs.structure.files.File``/``Files``/``set_exclusions``,
  ``mkdocs.structure.nav.get_navigation`` and ``mkdocs.structure.pages.Page`` whose ``content``,
  ``toc``, ``meta`` and ``active`` the theme reads;
- ``mkdocs.structure.toc.AnchorLink`` for the page's table of contents;
- the theme's ``main.html`` reading ``page.meta.hide``/``page.meta.title``, and ``partials/
  content.html`` printing ``page.content`` (it adds an ``<h1>`` only when the body has none).

A worker builds one :class:`ThemeWrap` from a picklable :class:`ThemeSpec` (the generated
``mkdocs.yml``, the documentation pages MkDocs knows and their titles) and reuses it for every
page. Plugin page events (``on_page_context``, ``on_post_page``) are not run for generated pages:
the search index comes from the catalog, and a user's plugins are for the user's pages.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import tempfiles
from ..render.page import Heading, Page

log = logging.getLogger("mlreport.engine.theme")


@dataclass(frozen=True)
class ThemeSpec:
    """Everything a worker needs to rebuild the theme and nav that ``mkdocs build`` had."""

    config_text: str  # the generated mkdocs.yml (paths in it are absolute or relative to base)
    base_dir: str  # the folder the generated mkdocs.yml lives in
    doc_uris: tuple[str, ...]  # every documentation page MkDocs built (user pages, nav pages)
    titles: Mapping[str, str]  # their titles, as MkDocs found them
    source_date_epoch: int
    # files the config names by absolute path (theme custom_dir, hooks, INHERIT), carried for a
    # worker that does not have them: (path, ((relative path, bytes), ...)); see engine.remote
    bundle: tuple[tuple[str, tuple[tuple[str, bytes], ...]], ...] = ()

    def digest(self) -> str:
        h = hashlib.sha256()
        h.update(self.config_text.encode())
        h.update(repr((self.doc_uris, sorted(self.titles.items()), self.source_date_epoch)).encode())
        return h.hexdigest()


@contextmanager
def _source_date(epoch: int) -> Iterator[None]:
    """MkDocs reads the build date from ``SOURCE_DATE_EPOCH``: pin it while rendering."""
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        if old is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


class ThemeWrap:
    """The theme environment, config and nav of one site, ready to wrap page bodies."""

    def __init__(self, spec: ThemeSpec) -> None:
        from mkdocs.config import load_config
        from mkdocs.structure.files import File, Files, set_exclusions
        from mkdocs.structure.nav import get_navigation

        self.spec = spec
        # MkDocs checks that docs_dir exists; the pages themselves are never read here, so an
        # empty private folder stands in for it (a Dask worker on another machine has none).
        self._tmp = tempfiles.scratch_dir("mlreport-theme-")  # swept if the build is killed
        docs = Path(self._tmp.name) / "docs"
        docs.mkdir()
        config_file = Path(spec.base_dir) / "mkdocs.yml"
        with _source_date(spec.source_date_epoch), _quiet_mkdocs():
            if (
                not spec.bundle
                and config_file.is_file()
                and config_file.read_text(encoding="utf-8") == spec.config_text
            ):
                cfg = load_config(config_file=str(config_file), docs_dir=str(docs))
            else:
                copy = Path(self._tmp.name) / "mkdocs.yml"
                copy.write_text(_unbundle(spec, Path(self._tmp.name) / "bundle"), encoding="utf-8")
                cfg = load_config(config_file=str(copy), docs_dir=str(docs))
            cfg.plugins.on_startup(command="build", dirty=False)
            cfg = cfg.plugins.on_config(cfg)
            files = Files(
                [File(uri, str(docs), str(cfg.site_dir), bool(cfg.use_directory_urls)) for uri in spec.doc_uris]
            )
            set_exclusions(files, cfg)
            self.nav = get_navigation(files, cfg)
            for file in files.documentation_pages():
                # a title from the nav config wins, as in MkDocs; else what the page says
                if file.page is not None and file.src_uri in spec.titles and "title" not in vars(file.page):
                    file.page.title = spec.titles[file.src_uri]
            env = cfg.theme.get_env()
            self.env = cfg.plugins.on_env(env, config=cfg, files=files)
        self.config = cfg
        self.files = files
        self.doc_files = files.documentation_pages()
        self.template = self.env.get_template("main.html")
        self._docs = str(docs)
        self._shapes: dict[tuple[object, ...], _Shape | None] = {}
        self._known = {f.src_uri for f in files}
        self._directory_urls = bool(cfg.use_directory_urls)

    def wrap(self, page: Page) -> bytes:
        """The page's final HTML: its body in the theme's ``main.html``."""
        if page.src_uri not in self._known:
            heads = page.headings()  # once: a 40 KB body's regex scan was a quarter of the wrap
            key = _shape_key(page, heads)
            if key not in self._shapes:
                self._shapes[key] = self._make_shape(page)
            shape = self._shapes[key]
            if shape is not None:
                return shape.fill(page, self._url(page), heads).encode("utf-8", errors="xmlcharrefreplace")
        return self.render(page).encode("utf-8", errors="xmlcharrefreplace")

    def render(self, page: Page) -> str:
        """The theme's ``main.html`` for ``page``, rendered in full, as ``mkdocs build`` does."""
        from mkdocs.commands.build import get_context
        from mkdocs.structure.files import File
        from mkdocs.structure.pages import Page as MkPage
        from mkdocs.structure.toc import AnchorLink, TableOfContents

        known = self.files.get_file_from_path(page.src_uri)
        with _source_date(self.spec.source_date_epoch):
            if known is not None and known.page is not None:
                mk = known.page  # a page in the nav: the theme marks it active
            else:
                file = File(page.src_uri, self._docs, str(self.config.site_dir), bool(self.config.use_directory_urls))
                mk = MkPage(page.title, file, self.config)
                mk.edit_url = None  # generated: there is no source file to edit
            mk.content = page.body
            mk.meta = {"title": page.title, **({"hide": list(page.hide)} if page.hide else {})}
            mk.toc = TableOfContents(_toc(page.headings(), AnchorLink))
            mk.active = True
            try:
                context = get_context(self.nav, self.doc_files, self.config, mk)
                return str(self.template.render(context))
            finally:
                mk.active = False
                if known is None:
                    mk.file.page = None

    def _url(self, page: Page) -> str:
        """What MkDocs' ``File(page.src_uri, …).url`` is, without making a File per page (an
        ``index.md`` goes to ``index.html``; with directory URLs its URL is the folder)."""
        return quote(page.url if self._directory_urls else page.dest)

    def _make_shape(self, page: Page) -> _Shape | None:
        """The theme's output for every page shaped like ``page`` (same depth, hidden features
        and sections), with markers where the title, body, heading id and URL go. Used only if
        filling it in gives exactly what a full render of ``page`` gives."""
        parent, _, last = page.url.rstrip("/").rpartition("/")
        if not last:
            return None
        # Only the last segment is a marker: relative links to the nav's pages depend on the
        # folders the page shares with them (``runs/x/`` -> ``../``), so those stay real.
        url = f"{parent}/{_URL}/" if parent else f"{_URL}/"
        heads = page.headings()
        h1 = f'<h1 id="{_H1ID}">{_H1TEXT}<a class="headerlink" href="#{_H1ID}" title="Permanent link">&para;</a></h1>'
        sections = "".join(
            f'<h2 id="{h.id}">{h.title}<a class="headerlink" href="#{h.id}">&para;</a></h2>'
            for h in heads
            if h.level == 2
        )
        marked = Page(url, _TITLE, h1 + _BODY + sections, page.hide)
        shape = _Shape.parse(self.render(marked), url, sections)
        if shape is None or shape.fill(page, self._url(page)) != self.render(page):
            log.debug("theme: no shape for %s; every such page is rendered in full", page.url)
            return None
        return shape


def _unbundle(spec: ThemeSpec, folder: Path) -> str:
    """Write the spec's bundled files under ``folder``; the config text naming them there."""
    text = spec.config_text
    for i, (original, files) in enumerate(spec.bundle):
        root = folder / str(i)
        for rel, data in files:
            target = root / (rel or Path(original).name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        here = root / Path(original).name if files and files[0][0] == "" else root
        text = text.replace(original, str(here))
    return text


_TITLE = "mlrTITLE7f3a9c"
_BODY = "mlrBODY7f3a9c"
_H1ID = "mlrh1id7f3a9c"
_URL = "mlrurl7f3a9c"
_H1TEXT = "mlrh1text7f3a9c"


def _shape_key(page: Page, heads: tuple[Heading, ...]) -> tuple[object, ...]:
    first = heads[0] if heads and heads[0].level == 1 else None
    return (
        page.url.rstrip("/").rpartition("/")[0],
        page.hide,
        first is not None,
        tuple((h.id, h.title) for h in heads if h.level == 2),
    )


@dataclass(frozen=True)
class _Shape:
    """A rendered theme page split at its markers: literal parts, and the slot after each."""

    parts: tuple[str, ...]
    slots: tuple[str, ...]

    @classmethod
    def parse(cls, html: str, marked_url: str, sections: str) -> _Shape | None:
        import re

        # the body slot holds the marker and the section headings that followed it
        body_at = html.find(_BODY)
        if body_at < 0 or html.count(_BODY) != 1 or not html.startswith(sections, body_at + len(_BODY)):
            return None
        html = html[:body_at] + _BODY + html[body_at + len(_BODY) + len(sections) :]
        # the heading written with the page's title stands for the body's own h1
        h1 = f'<h1 id="{_H1ID}">{_H1TEXT}<a class="headerlink" href="#{_H1ID}" title="Permanent link">&para;</a></h1>'
        html = html.replace(h1 + _BODY, _BODY)
        pattern = re.compile("(" + "|".join(re.escape(m) for m in (marked_url, _TITLE, _BODY, _H1ID, _H1TEXT)) + ")")
        pieces = pattern.split(html)
        parts = tuple(pieces[0::2])
        slots = tuple(pieces[1::2])
        literal = "".join(parts)
        if any(m in literal for m in (_URL, _TITLE, _H1ID, _H1TEXT, _BODY)):
            return None  # a marker in a form this parser does not know (partly escaped, cut)
        return cls(parts, tuple("url" if s == marked_url else s for s in slots))

    def fill(self, page: Page, url: str, heads: tuple[Heading, ...] | None = None) -> str:
        heads = page.headings() if heads is None else heads
        values = {
            "url": url,
            _TITLE: page.title,
            _BODY: page.body,
            _H1ID: heads[0].id if heads and heads[0].level == 1 else "",
            _H1TEXT: heads[0].title if heads and heads[0].level == 1 else "",
        }
        out = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            out.append(values[slot])
            out.append(part)
        return "".join(out)


def _toc(headings: tuple[Heading, ...], anchor_link: Any) -> list[Any]:
    """Material's TOC: the h1, with the page's h2 sections under it (what ``toc`` builds)."""
    top: list[Any] = []
    for hd in headings:
        link = anchor_link(hd.title, hd.id, hd.level)
        if hd.level == 1 or not top:
            top.append(link)
        else:
            top[-1].children.append(link)
    return top


@contextmanager
def _quiet_mkdocs() -> Iterator[None]:
    """MkDocs logs every page missing from the nav at INFO; here all of them are, on purpose."""
    logger = logging.getLogger("mkdocs")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


_CACHE: dict[str, ThemeWrap] = {}


def theme_for(spec: ThemeSpec) -> ThemeWrap:
    """One :class:`ThemeWrap` per spec and process (a worker builds it once)."""
    key = spec.digest()
    wrap = _CACHE.get(key)
    if wrap is None:
        _CACHE.clear()
        wrap = _CACHE[key] = ThemeWrap(spec)
    return wrap


__all__ = ["ThemeSpec", "ThemeWrap", "theme_for"]
