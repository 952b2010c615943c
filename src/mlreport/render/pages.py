"""The page set: catalog + config -> pages, one family module each.

Pure: no file system, no fsspec. Where pages live is :mod:`mlreport.render.urls`; what every
family shares is :mod:`mlreport.render.base`; each family (home, models, versions, runs,
datasets) is its own module, and :class:`SiteRenderer` is their union plus the list of pages.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..catalog import Catalog
from ..config import Config
from ..model import ModelVersion
from ..preview_records import Previews
from .base import PAGE_KINDS, RenderBase
from .dataset_pages import DatasetPages
from .home_pages import HomePages
from .model_pages import ModelPages
from .page import Asset, Page
from .run_pages import RunPages
from .urls import Urls, docs_path, plan_urls, safe_title
from .version_pages import VersionPages

PageSet = dict[str, str | bytes]
PageRef = tuple[str, str]


class SiteRenderer(HomePages, ModelPages, VersionPages, RunPages, DatasetPages, RenderBase):
    """Renders every page of the site from one catalog."""

    def refs(self) -> list[PageRef]:
        """Every page of the site as a (family, key) reference, in site order: the units of
        work that :meth:`render_ref` renders one at a time (in any process)."""
        out: list[PageRef] = [("home", ""), ("models", "")]
        for m in self.c.models:
            out += [("model", m.name), ("compare", m.name)]
            out += [("version", f"{m.name}\0{v.version}") for v in self.c.versions_by_model.get(m.name, ())]
            out += [("alias", f"{m.name}\0{a}") for a in m.aliases]
        out.append(("experiments", ""))
        out += [("experiment", e.key) for e in self.c.experiments]
        out.append(("runs", ""))
        out += [("run", r.key) for r in self.c.runs]
        out.append(("datasets", ""))
        out += [("dataset", d.key) for d in self.c.datasets]
        out += [("logged_model", lm.key) for lm in self.c.logged_models]
        out.append(("problems", ""))
        return out

    def version_of(self, model: str, version: str) -> ModelVersion:
        """The version of ``model`` named ``version`` (:meth:`Catalog.version`: a dict built
        once, not a scan of the model's versions for each of its pages); KeyError if none."""
        found = self.c.version(model, version)
        if found is None:
            raise KeyError((model, version))
        return found

    def render_ref(self, ref: PageRef) -> list[Page | Asset]:
        """The page (and the files it comes with) that ``ref`` names."""
        family, key = ref
        self.out = []
        if family == "home":
            self.home()
        elif family == "models":
            self.models_index()
        elif family in ("model", "compare"):
            m = self.model_by_name[key]
            self.model_page(m) if family == "model" else self.compare_page(m)
        elif family == "version":
            name, version = key.split("\0", 1)
            m = self.model_by_name[name]
            self.version_page(m, self.version_of(name, version))
        elif family == "alias":
            name, alias = key.split("\0", 1)
            self.alias_page(self.model_by_name[name], alias)
        elif family == "experiments":
            self.experiments_index()
        elif family == "experiment":
            self.experiment_page(self.c.experiment_by_key[key])
        elif family == "runs":
            self.runs_index()
        elif family == "run":
            self.run_page(self.c.run_by_key[key])
        elif family == "datasets":
            self.datasets_index()
        elif family == "dataset":
            self.dataset_page(self.c.dataset_by_key[key])
        elif family == "logged_model":
            self.logged_model_page(self.c.logged_model_by_key[key])
        elif family == "problems":
            self.problems_page()
        else:
            raise ValueError(f"unknown page family '{family}'")
        return self.out

    def render_all(self) -> list[Page | Asset]:
        out: list[Page | Asset] = []
        for ref in self.refs():
            out += self.render_ref(ref)
        return out


def render_site(
    catalog: Catalog, config: Config, templates_dir: str | None = None, previews: Previews | None = None
) -> list[Page | Asset]:
    """Every page of the site (and its CSV files), in site order, rendered in this process."""
    return SiteRenderer(catalog, config, templates_dir, previews=previews).render_all()


def markdown_pages(items: Iterable[Page | Asset]) -> PageSet:
    """The page set as a plain MkDocs project: {docs-relative path: Markdown text or bytes}."""
    out: PageSet = {}
    for item in items:
        if isinstance(item, Page):
            out[item.src_uri] = item.markdown()
        else:
            out[item.path] = item.data
    return out


__all__ = [
    "PAGE_KINDS",
    "PageRef",
    "PageSet",
    "SiteRenderer",
    "Urls",
    "docs_path",
    "markdown_pages",
    "plan_urls",
    "render_site",
    "safe_title",
]
