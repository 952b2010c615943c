"""The Jinja2 environment: a user's template folder first, then the built-ins.

``{% extends "default:version.md.j2" %}`` reaches a built-in from an override of the same name.
Every ``{{ … }}`` output that is not already trusted markup is escaped for Markdown by
``finalize`` (see :func:`~mlreport.render.text.md`), so a template cannot forget to escape.
"""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
from markupsafe import Markup

from .text import md


def builtin_templates_dir() -> Path:
    """The packaged templates (inside the wheel), or the source tree's ``templates/``."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "templates"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "templates"


def _finalize(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    return md(value)


def _yaml_string(value: object) -> Markup:
    """A YAML (JSON) double-quoted scalar for front matter."""
    return Markup(json.dumps("" if value is None else str(value), ensure_ascii=False))


def make_environment(user_dir: str | None = None) -> jinja2.Environment:
    builtin = jinja2.FileSystemLoader(str(builtin_templates_dir()))
    loaders: list[jinja2.BaseLoader] = []
    if user_dir:
        loaders.append(jinja2.FileSystemLoader(user_dir))
    loaders.append(jinja2.PrefixLoader({"default": builtin}, delimiter=":"))
    loaders.append(builtin)
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=False,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yaml"] = _yaml_string
    env.filters["md"] = md
    return env
