"""The Jinja2 environment of the page templates: a user's template folder first, then the
built-ins.

Templates write HTML (``version.html.j2``), which is final: it is never parsed as Markdown.
Autoescaping is on, so every ``{{ value }}`` from a store is text unless it is markup mlreport
built itself (a table, a chart, a sanitised note). ``{% extends "default:version.html.j2" %}``
reaches a built-in from an override of the same name and can replace one ``{% block %}``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import jinja2

from ..sanitize import PAGE_TEXT_LIMIT
from .page import heading
from .text import h, md, short_name


def builtin_templates_dir() -> Path:
    """The packaged templates (inside the wheel), or the source tree's ``templates/``."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "templates"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "templates"


def _finalize(value: object) -> object:
    # every {{ value }} a template prints: a plain string from a store is cut to the page limit
    # (issue 11, F6); markup mlreport built (tables, charts, notes) is bounded where it is made
    if value is None:
        return ""
    if type(value) is str and len(value) > PAGE_TEXT_LIMIT:
        return short_name(value, PAGE_TEXT_LIMIT)
    return value


def make_environment(user_dir: str | Mapping[str, str] | None = None) -> jinja2.Environment:
    """The page templates: ``user_dir`` (a folder, or its templates as {name: text}) first."""
    builtin = jinja2.FileSystemLoader(str(builtin_templates_dir()))
    loaders: list[jinja2.BaseLoader] = []
    if isinstance(user_dir, Mapping):
        loaders.append(jinja2.DictLoader(dict(user_dir)))
    elif user_dir:
        loaders.append(jinja2.FileSystemLoader(user_dir))
    loaders.append(jinja2.PrefixLoader({"default": builtin}, delimiter=":"))
    loaders.append(builtin)
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        # a build reads each template once: no stat of every template (and of what it extends)
        # on every page; a changed template is a new build (its digest is in every page's)
        auto_reload=False,
    )
    env.globals["h"] = h
    # headings show at most NAME_LIMIT characters of a name (issue 11, F6: a 1 MB model name)
    env.globals["h1"] = lambda text: heading(1, short_name(text))
    env.globals["h2"] = lambda text: heading(2, short_name(text))
    env.filters["md"] = md
    return env


def templates_digest(user_dir: str | None = None) -> str:
    """A digest of every template the pages can use (the user's and the built-ins): part of
    each page's input digest, so an edited template re-renders the pages."""
    digest = hashlib.sha256()
    for folder in [builtin_templates_dir(), *([Path(user_dir)] if user_dir else [])]:
        digest.update(str(folder).encode())
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.is_file():
                digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
