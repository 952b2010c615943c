"""Registry names that stay distinct when their text is cleaned (issue 11, fuzz seed 3 case 90926).

A model's name and a version's name are identities: the catalog merges two registered models of
one name and skips the second copy of a (model, version). The crawl cleans every store string
(:func:`mlreport.sanitize.clean_text`: NUL removed, other control characters and lone
surrogates as U+FFFD), and cleaning is not one-to-one: ``"a\\x00"`` and ``"a"`` both become
``"a"``, ``"\\x01"`` and ``"\\x02"`` both ``"\\ufffd"``, and ``"\\x00"`` becomes the empty name,
which no page can title. So a name that cleaning changes keeps a digest of its raw text:
``"a ~ffe9aaea"`` (for ``"a\\x00"``), ``"unnamed ~6e340b9c"`` (for ``"\\x00"``). The digest
is of the raw text alone, so the registered model, its versions and its alias moves, read
apart, still name each other, and two builds give the same name. A clean name is never changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from types import MappingProxyType
from typing import TypeVar

from .model import AliasMove, ModelVersion, Problem, RegisteredModel
from .sanitize import clean_text

#: What a name that cleans to nothing is called, before its digest.
UNNAMED = "unnamed"

R = TypeVar("R", RegisteredModel, ModelVersion, AliasMove)


def distinct_name(raw: str) -> str:
    """``raw`` when cleaning leaves it as it is; else its clean text (or :data:`UNNAMED`) and
    ``~`` with the first 8 hex digits of the raw text's SHA-256."""
    clean = clean_text(raw)
    if clean == raw:
        return raw
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{clean.strip() or UNNAMED} ~{digest}"


def keep_names_distinct(raw: R, cleaned: R) -> tuple[R, list[Problem]]:
    """``cleaned`` (the crawl's cleaning of ``raw``) with its model and version names made by
    :func:`distinct_name` from ``raw``'s, and one Problem for each name of ``raw`` that
    changed (the caller says each name once). The Problems are clean text: their origin is the
    cleaned record's (a path may hold the raw name: ``mlflow.db#registered_models/a\x00b``)."""
    names: list[tuple[str, str, str]] = []  # (what, raw, shown)

    def name(what: str, text: str) -> str:
        shown = distinct_name(text)
        if shown != text:
            names.append((what, text, shown))
        return shown

    out: R
    if isinstance(raw, RegisteredModel):
        assert isinstance(cleaned, RegisteredModel)
        aliases = {clean_text(a): distinct_name(v) for a, v in raw.aliases.items()}
        shown_aliases = MappingProxyType(dict(sorted(aliases.items())))
        out = replace(cleaned, name=name("model name", raw.name), aliases=shown_aliases)
    elif isinstance(raw, ModelVersion):
        assert isinstance(cleaned, ModelVersion)
        out = replace(cleaned, model=name("model name", raw.model), version=name("version name", raw.version))
    else:
        assert isinstance(cleaned, AliasMove)
        versions = tuple(distinct_name(v) for v in raw.versions)
        out = replace(cleaned, model=name("model name", raw.model), versions=versions)
    problems = [
        Problem(out.origin, f"{what} {ascii(text)[:80]} holds characters a page cannot show; named '{shown[:120]}'")
        for what, text, shown in names
    ]
    return out, problems
