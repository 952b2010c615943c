"""The page model: what render hands to the build, one object per page of the site.

A :class:`Page` is final HTML for the page's body (never parsed as Markdown), its title, the
Material features it hides, and the search entries that stand for it: the build wraps the body
in the theme's ``main.html`` and writes the search index from the entries, without parsing any
HTML. An :class:`Asset` is any other file a page comes with (its CSV download).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True, slots=True)
class SearchEntry:
    """One document of Material's search index (``search/search_index.json``)."""

    location: str
    title: str
    text: str
    boost: float | None = None

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"location": self.location, "title": self.title, "text": self.text}
        if self.boost is not None:
            out["boost"] = self.boost
        return out


@dataclass(frozen=True, slots=True)
class Heading:
    """A heading of a page: ``title`` is its HTML (escaped text), as MkDocs' TOC holds it."""

    level: int
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Page:
    """A generated page: ``url`` is its directory relative to the site root (``runs/abc/``,
    ``""`` for the home page), ``body`` its HTML."""

    url: str
    title: str
    body: str
    hide: tuple[str, ...] = ("navigation",)
    search: tuple[SearchEntry, ...] = ()
    search_exclude: bool = False  # for the Markdown builders' front matter
    boost: float | None = None
    # the digest of the inputs it was rendered from (mlreport.engine.deps), set by the build's
    # render unit: the digest is taken before the page exists, since an unchanged one is what
    # lets a build skip rendering the page at all
    digest: str = ""

    @property
    def src_uri(self) -> str:
        """The page's source path in MkDocs terms (``runs/abc/index.md``)."""
        return f"{self.url}index.md"

    @property
    def dest(self) -> str:
        return f"{self.url}index.html"

    def headings(self) -> tuple[Heading, ...]:
        """The headings mlreport's templates wrote (``h1()``/``h2()``): the page's TOC."""
        return tuple(Heading(int(m.group(1)), m.group(2), m.group(3)) for m in _HEADING.finditer(self.body))

    def markdown(self) -> str:
        """The page as a Markdown file for the plain MkDocs/Zensical/ProperDocs builders: front
        matter, then the HTML body as one raw block that Markdown passes through unparsed."""
        lines = ["---", f"title: {_yaml(self.title)}"]
        if self.hide:
            lines.append("hide:")
            lines += [f"  - {h}" for h in self.hide]
        if self.search_exclude:
            lines += ["search:", "  exclude: true"]
        elif self.boost is not None:
            lines += ["search:", f"  boost: {self.boost:g}"]
        lines += ["---", "", '<div class="mlreport-page" markdown="0">', self.body.strip("\n"), "</div>", ""]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Asset:
    """A file that is not a page (a CSV download), at ``path`` relative to the site root."""

    path: str
    data: bytes


_HEADING = re.compile(r'<h([12]) id="([^"]+)">(.*?)<a class="headerlink"')


def _yaml(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


_ANCHOR_DROP = re.compile(r"[^\w\s-]")
_ANCHOR_DASH = re.compile(r"[-\s]+")


def anchor(text: str) -> str:
    """A heading id the way Python-Markdown's ``toc`` makes one (so old links keep working)."""
    import unicodedata

    value = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    value = _ANCHOR_DASH.sub("-", _ANCHOR_DROP.sub("", value).strip().lower())
    return value or "section"


def heading(level: int, text: object) -> Markup:
    """``<hN id=…>text¶</hN>`` with the permalink Material styles (what ``toc`` wrote)."""
    shown = str(text)
    ident = anchor(shown)
    return Markup(
        f'<h{level} id="{ident}">{escape(shown)}<a class="headerlink" href="#{ident}" title="Permanent link">'
        f"&para;</a></h{level}>"
    )


__all__ = ["Asset", "Heading", "Page", "SearchEntry", "anchor", "heading"]
