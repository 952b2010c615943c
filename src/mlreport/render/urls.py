"""Where every page lives: the public URL contract (DESIGN.md) in one place.

Model pages are ``models/<model>/``, versions ``models/<model>/<version>/``, aliases
``models/<model>/@<alias>/``, runs ``runs/<run>/``, experiments ``experiments/<name>/``,
datasets ``datasets/<name>/``, logged models ``logged-models/<id>/``. Slugs come from
:func:`~mlreport.render.text.assign_slugs`: collision-safe, and each depends only on the names
that collide with it, so a link a reviewer pasted keeps working when other records arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..catalog import Catalog
from .text import assign_slugs, slugify


def safe_title(text: str) -> str:
    """A page title for MkDocs/Material, which print titles without escaping: characters that
    could open markup are swapped for look-alikes, so the title is inert in any context."""
    table = str.maketrans({"<": "‹", ">": "›", "&": "＆", '"': "”", "'": "’", "`": "ˋ", "\n": " ", "\r": " "})
    return " ".join(text.translate(table).split())[:120] or "untitled"


@dataclass(frozen=True)
class Urls:
    """Every page's directory (relative to the docs root, with the configured prefix)."""

    prefix: str
    model: Mapping[str, str]
    version: Mapping[tuple[str, str], str]
    alias: Mapping[tuple[str, str], str]
    run: Mapping[str, str]
    experiment: Mapping[str, str]
    dataset: Mapping[str, str]
    logged_model: Mapping[str, str]

    def p(self, path: str) -> str:
        return f"{self.prefix}{path}"


def plan_urls(catalog: Catalog, prefix: str = "") -> Urls:
    model_slugs = assign_slugs((m.name for m in catalog.models), "model")
    version: dict[tuple[str, str], str] = {}
    alias: dict[tuple[str, str], str] = {}
    for name, versions in catalog.versions_by_model.items():
        vslugs = assign_slugs((v.version for v in versions), "version", reserved=("compare",))
        for v in versions:
            version[(name, v.version)] = f"{prefix}models/{model_slugs[name]}/{vslugs[v.version]}/"
    for m in catalog.models:
        aslugs = assign_slugs(m.aliases, "alias")
        for a in m.aliases:
            alias[(m.name, a)] = f"{prefix}models/{model_slugs[m.name]}/@{aslugs[a]}/"
    # Run URLs are by run id; two runs with one id (two stores) are told apart by their keys.
    run_ids: dict[str, list[str]] = {}
    for r in catalog.runs:
        run_ids.setdefault(r.id, []).append(r.key)
    run_slugs = assign_slugs((r.id for r in catalog.runs), "run")
    run_urls = {}
    for rid, keys in run_ids.items():
        for i, key in enumerate(sorted(keys)):
            slug = run_slugs[rid] if i == 0 else f"{run_slugs[rid]}-{slugify(key)[-12:]}"
            run_urls[key] = f"{prefix}runs/{slug}/"
    exp_slugs = assign_slugs((e.name for e in catalog.experiments), "experiment")
    exp_count: dict[str, int] = {}
    exp_urls = {}
    for e in sorted(catalog.experiments, key=lambda e: e.key):
        slug = exp_slugs[e.name]
        n = exp_count.get(slug, 0)
        exp_count[slug] = n + 1
        exp_urls[e.key] = f"{prefix}experiments/{slug if n == 0 else f'{slug}-{slugify(e.key)}'}/"
    ds_names = {d.key: (f"{d.name}-{d.digest[:8]}" if d.digest else d.name) for d in catalog.datasets}
    ds_slugs = assign_slugs(ds_names.values(), "dataset")
    lm_slugs = assign_slugs((m.key for m in catalog.logged_models), "model")
    return Urls(
        prefix=prefix,
        model={m.name: f"{prefix}models/{model_slugs[m.name]}/" for m in catalog.models},
        version=version,
        alias=alias,
        run=run_urls,
        experiment=exp_urls,
        dataset={k: f"{prefix}datasets/{ds_slugs[v]}/" for k, v in ds_names.items()},
        logged_model={m.key: f"{prefix}logged-models/{lm_slugs[m.key]}/" for m in catalog.logged_models},
    )


def docs_path(page_dir: str) -> str:
    return f"{page_dir}index.md" if page_dir else "index.md"


__all__ = ["Urls", "docs_path", "plan_urls", "safe_title"]
