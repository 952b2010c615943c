"""The Jinja2 environment of the page templates: a user's template folder first, then the
built-ins.

Templates write HTML (``version.html.j2``), which is final: it is never parsed as Markdown.
Autoescaping is on, so every ``{{ value }}`` from a store is text unless it is markup mlreport
built itself (a table, a chart, a sanitised note). ``{% extends "default:version.html.j2" %}``
reaches a built-in from an override of the same name and can replace one ``{% block %}``.
"""

from __future__ import annotations

from collections.abc import Mapping

import jinja2

from ..sanitize import PAGE_TEXT_LIMIT
from .page import heading
from .template_files import builtin_templates_dir, templates_digest  # noqa: F401 - its old home
from .text import h, md, short_name


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
