"""The page set: catalog + config -> {docs-relative path: Markdown text or bytes}.

Pure: no file system, no fsspec. URLs follow the public contract in DESIGN.md
(``models/<model>/``, ``models/<model>/<version>/``, ``runs/<run>/``, ``experiments/<name>/``,
``datasets/<name>/``); slugs come from :func:`~mlreport.render.text.assign_slugs`, so they are
collision-safe and depend only on the names that collide.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from markupsafe import Markup

from .. import __version__, review_html
from ..catalog import Catalog, key_metrics
from ..config import Config
from ..ledger import Ledger
from ..model import Dataset, Experiment, LoggedModel, Metric, ModelVersion, RegisteredModel, Run
from .charts import category_figure, figure_div, line_figure
from .lineage import Node, lineage_svg
from .page import Asset, Page, SearchEntry
from .tables import Cell, csv_bytes, html_table, key_value_table, num
from .templates import make_environment
from .text import (
    assign_slugs,
    fmt_duration,
    fmt_number,
    fmt_size,
    fmt_time,
    h,
    note,
    rel_url,
    slugify,
)

PageSet = dict[str, str | bytes]
PageRef = tuple[str, str]

# template -> (title when the page has none of its own, hidden features, excluded from search,
# search boost)
PAGE_KINDS: dict[str, tuple[str | None, tuple[str, ...], bool, float | None]] = {
    "home": (None, (), False, None),
    "models": ("Models", ("navigation", "toc"), False, None),
    "experiments": ("Experiments", ("navigation", "toc"), False, None),
    "runs": ("Runs", ("navigation", "toc"), False, None),
    "datasets": ("Datasets", ("navigation", "toc"), False, None),
    "problems": ("Problems", ("navigation", "toc"), True, None),
    "model": (None, ("navigation",), False, 3),
    "version": (None, ("navigation",), False, 2),
    "alias": (None, ("navigation",), True, None),
    "compare": (None, ("navigation", "toc"), True, None),
    "run": (None, ("navigation",), False, None),
    "experiment": (None, ("navigation",), False, None),
    "dataset": (None, ("navigation",), False, None),
    "logged_model": (None, ("navigation",), False, None),
}
MAX_CHARTS = 24
MAX_COMPARE = 12
MODEL_CARD = "model_card."  # version tags a reader fills from a model card (intended use …)
KEY_PARAMS = 8
# Search entries stay short: at 10,000 runs + 10,000 versions the index must stay under 4 MB
# (issue 7), so a version names its 4 most telling params and its key metrics to 4 digits, and a run
# its id, experiment, user and first tag (the others are on its page).
SEARCH_PARAMS = 4


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


class SiteRenderer:
    """Renders every page of the site from one catalog."""

    def __init__(
        self, catalog: Catalog, config: Config, templates_dir: str | None = None, ledger: Ledger | None = None
    ) -> None:
        self.c = catalog
        self.ledger = ledger  # review (issue 9): alias history for model and alias pages
        self.config = config
        self.prefix = (config.prefix.strip("/") + "/") if config.prefix else ""
        self.urls = plan_urls(catalog, self.prefix)
        self.env = make_environment(templates_dir)
        self.model_key_metrics = {
            m.name: key_metrics(
                catalog,
                [r for v in catalog.versions_by_model.get(m.name, ()) if (r := self._run(v.run_key))],
                config.key_metrics,
            )
            for m in catalog.models
        }
        self.model_by_name = {m.name: m for m in catalog.models}
        self.out: list[Page | Asset] = []
        self._varying: dict[str, frozenset[str]] = {}

    # -- helpers ------------------------------------------------------------------------------

    def _run(self, key: str | None) -> Run | None:
        return self.c.run_by_key.get(key) if key else None

    def _version_run(self, v: ModelVersion) -> Run | None:
        """The version's source run, carrying the version's own numbers when it has them (a
        checkpoint's metrics at its step, not the run's final ones)."""
        run = self._run(v.run_key)
        if run is not None and v.metrics:
            return replace(run, metrics=v.metrics)
        return run

    def link(self, here: str, target: str | None) -> str | None:
        return rel_url(here, target) if target is not None else None

    def render(self, template: str, here: str, **context: Any) -> Page:
        """The page at ``here`` from ``template`` (``version.html.j2``); its title, hidden
        features and search settings come from :data:`PAGE_KINDS`, its search entries from the
        ``search`` argument (made from the catalog, never from the HTML)."""
        kind = template.split(".", 1)[0]
        default_title, hide, exclude, boost = PAGE_KINDS[kind]
        search: Sequence[SearchEntry] = context.pop("search", ())
        title = context.pop("title", None) or (default_title or safe_title(self.config.title))
        tpl = self.env.get_template(template)
        body = tpl.render(
            here=here,
            root=rel_url(here, self.prefix) if self.prefix else rel_url(here, ""),
            site_title=self.config.title,
            mlreport_version=__version__,
            safe_title=safe_title,
            title=title,
            **context,
        )
        if not search and not exclude:
            search = (SearchEntry(here, title, "", boost),)
        return Page(here, title, body, hide, tuple(search), exclude, boost)

    def emit(self, page_dir: str, page: Page) -> None:
        self.out.append(page)

    def asset(self, path: str, data: bytes) -> None:
        self.out.append(Asset(path, data))

    def metric_cells(self, run: Run | None, keys: Sequence[str]) -> list[Cell]:
        cells = []
        for key in keys:
            m = run.metric(key) if run else None
            cells.append(num(m.final, fmt_number(m.final)) if m else Cell(""))
        return cells

    def status_cell(self, run: Run | None) -> Cell:
        if run is None:
            return Cell("")
        return Cell(
            run.status.value.lower(),
            html=Markup(f'<span class="mlr-status mlr-{run.status.value.lower()}">')
            + h(run.status.value.lower())
            + Markup("</span>"),
        )

    # -- the pages ----------------------------------------------------------------------------

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
            self.version_page(m, next(v for v in self.c.versions_by_model[name] if v.version == version))
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

    def home(self) -> None:
        here = self.prefix
        latest = sorted(self.c.versions, key=lambda v: (-(v.created or 0), v.model, v.version))[:10]
        model_rows = []
        for m in self.c.models:
            versions = self.c.versions_by_model.get(m.name, ())
            aliases = " ".join(f"@{a}→{v}" for a, v in m.aliases.items())
            newest = versions[-1] if versions else None
            model_rows.append(
                [
                    Cell(m.name, self.link(here, self.urls.model[m.name])),
                    num(len(versions), str(len(versions))),
                    Cell(aliases),
                    Cell(
                        newest.version if newest else "",
                        self.link(here, self.urls.version.get((m.name, newest.version))) if newest else None,
                    ),
                ]
            )
        latest_rows = [
            [
                Cell(v.model, self.link(here, self.urls.model.get(v.model))),
                Cell(v.version, self.link(here, self.urls.version[(v.model, v.version)])),
                Cell(" ".join(f"@{a}" for a in v.aliases)),
                Cell(v.stage or ""),
                Cell(fmt_time(v.created), sort=v.created),
            ]
            for v in latest
        ]
        counts = [
            ("Models", len(self.c.models), "models/"),
            ("Model versions", len(self.c.versions), "models/"),
            ("Experiments", len(self.c.experiments), "experiments/"),
            ("Runs", len(self.c.runs), "runs/"),
            ("Datasets", len(self.c.datasets), "datasets/"),
            ("Problems", len(self.c.problems), "problems/"),
        ]
        stores = [[Cell(s.display), Cell(s.reader_label), Cell(s.reader)] for s in self.c.stores]
        self.emit(
            here,
            self.render(
                "home.html.j2",
                here,
                search=(self.entry(here, safe_title(self.config.title)),),
                counts=[(n, c, rel_url(here, self.urls.p(p))) for n, c, p in counts],
                models_table=html_table(
                    ["Model", "Versions", "Aliases", "Latest version"],
                    model_rows,
                    searchable=True,
                    numeric=[False, True],
                    empty="No models yet.",
                ),
                latest_table=html_table(
                    ["Model", "Version", "Aliases", "Stage", "Created"],
                    latest_rows,
                    searchable=True,
                    empty="No model versions yet.",
                ),
                stores_table=html_table(["Store", "Format", "Reader"], stores, searchable=False),
                catalog=self.c,
            ),
        )

    def models_index(self) -> None:
        here = self.urls.p("models/")
        columns = ["Model", "Versions", "Aliases", "Latest version", "Stage", "Updated", "Description"]
        rows = []
        for m in self.c.models:
            versions = self.c.versions_by_model.get(m.name, ())
            newest = versions[-1] if versions else None
            rows.append(
                [
                    Cell(m.name, self.link(here, self.urls.model[m.name])),
                    num(len(versions), str(len(versions))),
                    Cell(" ".join(f"@{a}→{v}" for a, v in m.aliases.items())),
                    Cell(
                        newest.version if newest else "",
                        self.link(here, self.urls.version.get((m.name, newest.version))) if newest else None,
                    ),
                    Cell(newest.stage or "" if newest else ""),
                    Cell(fmt_time(m.updated or (newest.created if newest else None)), sort=m.updated),
                    Cell((m.description or "")[:200]),
                ]
            )
        if self.config.gates:  # review (issue 9): the gates of each model's newest version
            columns.insert(4, "Gates")
            for m, row in zip(self.c.models, rows, strict=True):
                row.insert(4, review_html.newest_gates(self, m.name))
        self.asset(here + "models.csv", csv_bytes(columns, rows))
        self.emit(
            here,
            self.render(
                "models.html.j2",
                here,
                table=html_table(
                    columns,
                    rows,
                    csv_url="models.csv",
                    searchable=True,
                    numeric=[False, True],
                    empty="No models: no registry was found and no promotion rule matched.",
                ),
            ),
        )

    def compare_page(self, m: RegisteredModel) -> None:
        """Every version side by side: key metrics, then every other metric, then the params
        that differ between versions (the question a reviewer asks: what changed?)."""
        here = self.urls.model[m.name] + "compare/"
        versions = list(self.c.versions_by_model.get(m.name, ()))[-MAX_COMPARE:]
        runs = [self._version_run(v) for v in versions]
        keys = self.model_key_metrics[m.name]
        metric_keys = list(keys) + sorted({mm.key for r in runs if r for mm in r.metrics} - set(keys))
        param_values: dict[str, list[str]] = {}
        for i, r in enumerate(runs):
            for k, val in r.params.items() if r else ():
                param_values.setdefault(k, [""] * len(runs))[i] = val
        differing = sorted(k for k, vals in param_values.items() if len(set(vals)) > 1)
        same = sorted(k for k, vals in param_values.items() if len(set(vals)) == 1)
        columns = ["", *[f"v{v.version}" + (" @" + " @".join(v.aliases) if v.aliases else "") for v in versions]]
        rows: list[list[Cell]] = []
        rows.append(
            [Cell("run")]
            + [Cell(r.name if r else "", self.link(here, self.urls.run.get(r.key)) if r else None) for r in runs]
        )
        for key in metric_keys:
            row = [Cell(f"metric: {key}")]
            for r in runs:
                mm = r.metric(key) if r else None
                row.append(num(mm.final, fmt_number(mm.final)) if mm else Cell(""))
            rows.append(row)
        for key in differing:
            rows.append([Cell(f"param: {key}"), *[Cell(v) for v in param_values[key]]])
        self.emit(
            here,
            self.render(
                "compare.html.j2",
                here,
                model=m,
                title=safe_title(f"{m.name} · compare versions"),
                model_url=self.link(here, self.urls.model[m.name]),
                table=html_table(columns, rows, searchable=False, sortable=False),
                count=len(versions),
                total=len(self.c.versions_by_model.get(m.name, ())),
                same_params=key_value_table([(k, Cell(param_values[k][0])) for k in same], searchable=False),
                compare=review_html.compare_payload(self, here, m.name),  # review (issue 9)
            ),
        )

    def model_page(self, m: RegisteredModel) -> None:
        here = self.urls.model[m.name]
        versions = self.c.versions_by_model.get(m.name, ())
        keys = self.model_key_metrics[m.name]
        columns = ["Version", "Status", "Stage", "Aliases", *keys, "Source run", "Created"]
        rows = []
        for v in reversed(versions):
            run = self._version_run(v)
            rows.append(
                [
                    Cell(
                        v.version,
                        self.link(here, self.urls.version[(m.name, v.version)]),
                        sort=_version_sort(v.version),
                    ),
                    self.status_cell(run) if run else Cell(v.status or ""),
                    Cell(v.stage or ""),
                    Cell(" ".join(f"@{a}" for a in v.aliases)),
                    *self.metric_cells(run, keys),
                    Cell(run.name if run else (v.run_key or ""), self.link(here, self.urls.run.get(v.run_key or ""))),
                    Cell(fmt_time(v.created), sort=v.created),
                ]
            )
        if self.config.gates:  # review (issue 9): each version's gates, after the key metrics
            columns.insert(4 + len(keys), "Gates")
            for v, row in zip(reversed(versions), rows, strict=True):
                row.insert(4 + len(keys), review_html.gate_summary(review_html.version_review(self, v)[1]))
        self.asset(here + "versions.csv", csv_bytes(columns, rows))
        charts = []
        labels = [v.version for v in versions]
        for key in keys:
            values: list[float | None] = []
            for v in versions:
                run = self._version_run(v)
                metric = run.metric(key) if run else None
                values.append(metric.final if metric else None)
            if sum(1 for x in values if x is not None) >= 1:
                charts.append(figure_div(category_figure(f"{key} across versions", labels, [(key, values)])))
        aliases = [
            (
                a,
                ver,
                self.link(here, self.urls.alias[(m.name, a)]),
                self.link(here, self.urls.version.get((m.name, ver))),
            )
            for a, ver in m.aliases.items()
        ]
        self.emit(
            here,
            self.render(
                "model.html.j2",
                here,
                search=(
                    self.entry(
                        here,
                        f"{m.name} · model",
                        m.description,
                        *(f"@{a} {ver}" for a, ver in m.aliases.items()),
                        _tags_text(m.tags),
                        boost=3,
                    ),
                ),
                model=m,
                title=safe_title(f"{m.name} · model"),
                description=note(m.description) if m.description else None,
                aliases=aliases,
                tags_table=self.tags_table(m.tags),
                versions_table=html_table(
                    columns,
                    rows,
                    csv_url="versions.csv",
                    searchable=True,
                    numeric=[False, False, False, False, *[True] * len(keys)],
                ),
                charts=charts,
                key_metrics=keys,
                timeline=review_html.model_timeline(self, here, m.name),
                origin=m.origin,
                store_display=_display(m.origin.store, m.origin.path),
            ),
        )

    def alias_page(self, m: RegisteredModel, alias: str) -> None:
        here = self.urls.alias[(m.name, alias)]
        version = m.aliases[alias]
        target = self.urls.version.get((m.name, version))
        self.emit(
            here,
            self.render(
                "alias.html.j2",
                here,
                model=m,
                alias=alias,
                version=version,
                title=safe_title(f"{m.name} @{alias}"),
                target=self.link(here, target),
                model_url=self.link(here, self.urls.model[m.name]),
                timeline=review_html.model_timeline(self, here, m.name, alias),
            ),
        )

    def version_page(self, m: RegisteredModel, v: ModelVersion) -> None:
        here = self.urls.version[(m.name, v.version)]
        run = self._run(v.run_key)
        lm = self.c.logged_model_by_key.get(v.logged_model_key or "")
        exp = self.c.experiment_by_key.get(run.experiment_key or "") if run else None
        keys = self.model_key_metrics[m.name]
        summary: list[tuple[str, Cell]] = [
            ("Model", Cell(m.name, self.link(here, self.urls.model[m.name]))),
            ("Version", Cell(v.version)),
        ]
        if v.aliases:
            summary.append(("Aliases", Cell(" ".join(f"@{a}" for a in v.aliases))))
        if v.stage:
            summary.append(("Stage", Cell(v.stage)))
        if v.status:
            summary.append(("Registration", Cell(v.status)))
        if run:
            summary.append(("Run status", self.status_cell(run)))
        summary.append(("Created", Cell(fmt_time(v.created))))
        if v.user or (run and run.user):
            summary.append(("User", Cell(v.user or (run.user if run else "") or "")))
        if run:
            summary.append(("Source run", Cell(run.name, self.link(here, self.urls.run[run.key]))))
        elif v.run_key:
            gone = "deleted" if self.c.is_hidden_run(v.run_key) else "not in the store"
            summary.append(("Source run", Cell(f"{v.run_key} ({gone})")))
        if exp:
            summary.append(("Experiment", Cell(exp.name, self.link(here, self.urls.experiment[exp.key]))))
        if lm:
            summary.append(
                ("Logged model", Cell(f"{lm.name} ({lm.id})", self.link(here, self.urls.logged_model[lm.key])))
            )
        if v.source:
            summary.append(("Source", Cell(v.source)))
        if run and run.git.commit:
            summary.append(("Git commit", self.commit_cell(run)))
        if v.promoted_by:
            summary.append(("Promoted by", Cell(v.promoted_by)))
        metrics = v.metrics or (run.metrics if run else (lm.metrics if lm else ()))
        key_rows = [(k, Cell(fmt_number(mm.final))) for k in keys if (mm := _find(metrics, k))]
        params = run.params if run else (lm.params if lm else {})
        self.emit(
            here,
            self.render(
                "version.html.j2",
                here,
                search=(self.version_entry(here, m, v, run, exp, keys, metrics, params),),
                model=m,
                v=v,
                run=run,
                logged_model=lm,
                experiment=exp,
                title=safe_title(f"{m.name} · version {v.version}"),
                summary=key_value_table(summary),
                key_metrics=key_value_table(key_rows),
                comparison=review_html.version_section(self, here, v),
                description=note(v.description) if v.description else None,
                run_description=note(run.description) if run and run.description else None,
                tags_table=self.tags_table({k: t for k, t in v.tags.items() if not k.startswith(MODEL_CARD)}),
                model_card=[
                    (k[len(MODEL_CARD) :].replace("_", " ").capitalize(), note(t))
                    for k, t in v.tags.items()
                    if k.startswith(MODEL_CARD)
                ],
                key_params=self.key_params(params, m.name),
                params_table=self.params_table(params),
                metrics_table=self.metrics_table(metrics),
                charts=self.history_charts(run.metrics if run else metrics, run.key if run else (lm.key if lm else "")),
                lineage=self.version_lineage(here, v, run, lm),
                artifacts_table=self.artifacts_table(
                    lm.artifacts if lm and lm.artifacts else (run.artifacts if run else ())
                ),
                origin=v.origin,
                store_display=_display(v.origin.store, v.origin.path),
            ),
        )

    def run_page(self, r: Run) -> None:
        here = self.urls.run[r.key]
        exp = self.c.experiment_by_key.get(r.experiment_key or "")
        parent = self._run(r.parent_key)
        summary: list[tuple[str, Cell]] = [
            ("Run", Cell(r.name)),
            ("Run id", Cell(r.id)),
            ("Status", self.status_cell(r)),
        ]
        if exp:
            summary.append(("Experiment", Cell(exp.name, self.link(here, self.urls.experiment[exp.key]))))
        if parent:
            summary.append(("Parent run", Cell(parent.name, self.link(here, self.urls.run[parent.key]))))
        elif r.parent_key:
            gone = "deleted" if self.c.is_hidden_run(r.parent_key) else "not in the store"
            summary.append(("Parent run", Cell(f"{r.parent_key} ({gone})")))
        summary.append(("Started", Cell(fmt_time(r.start_time))))
        if r.end_time:
            summary.append(("Ended", Cell(fmt_time(r.end_time))))
            summary.append(("Duration", Cell(fmt_duration(r.start_time, r.end_time))))
        if r.user:
            summary.append(("User", Cell(r.user)))
        if r.source_name:
            summary.append(("Entry point", Cell(r.source_name)))
        if r.git.commit:
            summary.append(("Git commit", self.commit_cell(r)))
        if r.git.branch:
            summary.append(("Git branch", Cell(r.git.branch)))
        if r.deleted:
            summary.append(("Deleted", Cell("yes")))
        versions = self.c.versions_by_run.get(r.key, ())
        for v in versions:
            summary.append(
                (
                    "Model version",
                    Cell(f"{v.model} version {v.version}", self.link(here, self.urls.version[(v.model, v.version)])),
                )
            )
        children = [self.c.run_by_key[k] for k in self.c.children_by_run.get(r.key, ()) if k in self.c.run_by_key]
        child_rows = [
            [
                Cell(c.name, self.link(here, self.urls.run[c.key])),
                self.status_cell(c),
                Cell(fmt_time(c.start_time), sort=c.start_time),
            ]
            for c in children
        ]
        input_rows = []
        for ref in r.inputs:
            d = self.c.dataset_by_key.get(ref.dataset_key)
            input_rows.append(
                [
                    Cell(d.name if d else ref.dataset_key, self.link(here, self.urls.dataset.get(ref.dataset_key))),
                    Cell(d.digest or "" if d else ""),
                    Cell(ref.context or ""),
                    Cell(d.source or "" if d else ""),
                ]
            )
        self.emit(
            here,
            self.render(
                "run.html.j2",
                here,
                search=(
                    self.entry(
                        here,
                        f"{r.name} · run",
                        r.id,
                        exp.name if exp else None,
                        r.user,
                        _tags_text(r.tags, limit=1),
                    ),
                ),
                run=r,
                experiment=exp,
                title=safe_title(f"{r.name} · run"),
                summary=key_value_table(summary),
                description=note(r.description) if r.description else None,
                key_params=self.key_params(r.params, None),
                params_table=self.params_table(r.params),
                metrics_table=self.metrics_table(r.metrics),
                stages_table=self.stages_table(r),
                key_metrics=key_value_table([(m.key, Cell(fmt_number(m.final))) for m in r.metrics[:KEY_PARAMS]]),
                charts=self.history_charts(r.metrics, r.key),
                tags_table=self.tags_table(r.tags),
                system_tags_table=self.tags_table(r.system_tags, searchable=False),
                inputs_table=html_table(["Dataset", "Digest", "Context", "Source"], input_rows, searchable=True)
                if input_rows
                else None,
                children_table=html_table(["Run", "Status", "Started"], child_rows) if child_rows else None,
                lineage=self.run_lineage(here, r),
                artifacts_table=self.artifacts_table(r.artifacts),
                artifact_uri=r.artifact_uri,
                origin=r.origin,
                store_display=_display(r.origin.store, r.origin.path),
            ),
        )

    def experiment_page(self, e: Experiment) -> None:
        here = self.urls.experiment[e.key]
        runs = [self.c.run_by_key[k] for k in self.c.runs_by_experiment.get(e.key, ())]
        columns, rows = self.runs_rows(here, runs, with_experiment=False)
        self.asset(here + "runs.csv", csv_bytes(columns, rows))
        summary = [("Experiment", Cell(e.name)), ("Id", Cell(e.id)), ("Runs", Cell(str(len(runs))))]
        if e.created:
            summary.append(("Created", Cell(fmt_time(e.created))))
        if e.deleted:
            summary.append(("Deleted", Cell("yes")))
        self.emit(
            here,
            self.render(
                "experiment.html.j2",
                here,
                search=(self.entry(here, f"{e.name} · experiment", e.description, _tags_text(e.tags)),),
                experiment=e,
                title=safe_title(f"{e.name} · experiment"),
                summary=key_value_table(summary),
                description=note(e.description) if e.description else None,
                tags_table=self.tags_table(e.tags),
                runs_table=html_table(columns, rows, csv_url="runs.csv", numeric=self._numeric(columns)),
                origin=e.origin,
                store_display=_display(e.origin.store, e.origin.path),
            ),
        )

    def experiments_index(self) -> None:
        here = self.urls.p("experiments/")
        columns = ["Experiment", "Runs", "Created", "Store"]
        rows = [
            [
                Cell(e.name + (" (deleted)" if e.deleted else ""), self.link(here, self.urls.experiment[e.key])),
                num(len(self.c.runs_by_experiment.get(e.key, ())), str(len(self.c.runs_by_experiment.get(e.key, ())))),
                Cell(fmt_time(e.created), sort=e.created),
                Cell(_display(e.origin.store, e.origin.path)),
            ]
            for e in self.c.experiments
        ]
        self.asset(here + "experiments.csv", csv_bytes(columns, rows))
        self.emit(
            here,
            self.render(
                "experiments.html.j2",
                here,
                table=html_table(columns, rows, csv_url="experiments.csv", searchable=True, numeric=[False, True]),
            ),
        )

    def runs_index(self) -> None:
        here = self.urls.p("runs/")
        columns, rows = self.runs_rows(here, list(self.c.runs), with_experiment=True)
        self.asset(here + "runs.csv", csv_bytes(columns, rows))
        self.emit(
            here,
            self.render(
                "runs.html.j2",
                here,
                table=html_table(columns, rows, csv_url="runs.csv", numeric=self._numeric(columns)),
            ),
        )

    def _numeric(self, columns: Sequence[str]) -> list[bool]:
        return [c.startswith("metric: ") for c in columns]

    def runs_rows(self, here: str, runs: Sequence[Run], with_experiment: bool) -> tuple[list[str], list[list[Cell]]]:
        keys = key_metrics(self.c, runs, self.config.key_metrics)
        param_counts: dict[str, set[str]] = {}
        for r in runs:
            for k, v in r.params.items():
                param_counts.setdefault(k, set()).add(v)
        # The params worth a column are those that vary between the runs shown.
        varying = sorted(k for k, vals in param_counts.items() if len(vals) > 1)[:4]
        columns = [
            "Run",
            "Status",
            *(["Experiment"] if with_experiment else []),
            "Started",
            "Duration",
            "User",
            *[f"metric: {k}" for k in keys],
            *[f"param: {k}" for k in varying],
        ]
        rows = []
        for r in runs:
            exp = self.c.experiment_by_key.get(r.experiment_key or "")
            row = [Cell(r.name, self.link(here, self.urls.run[r.key])), self.status_cell(r)]
            if with_experiment:
                row.append(
                    Cell(exp.name if exp else "", self.link(here, self.urls.experiment.get(exp.key)) if exp else None)
                )
            row += [
                Cell(fmt_time(r.start_time), sort=r.start_time),
                Cell(
                    fmt_duration(r.start_time, r.end_time),
                    sort=(r.end_time - r.start_time) if r.end_time and r.start_time else None,
                ),
                Cell(r.user or ""),
                *self.metric_cells(r, keys),
                *[Cell(r.params.get(k, "")) for k in varying],
            ]
            rows.append(row)
        return columns, rows

    def datasets_index(self) -> None:
        here = self.urls.p("datasets/")
        columns = ["Dataset", "Digest", "Source type", "Source", "Runs"]
        rows = [
            [
                Cell(d.name, self.link(here, self.urls.dataset[d.key])),
                Cell(d.digest or ""),
                Cell(d.source_type or ""),
                Cell(d.source or ""),
                num(len(self.c.runs_by_dataset.get(d.key, ())), str(len(self.c.runs_by_dataset.get(d.key, ())))),
            ]
            for d in self.c.datasets
        ]
        self.asset(here + "datasets.csv", csv_bytes(columns, rows))
        self.emit(
            here,
            self.render(
                "datasets.html.j2",
                here,
                table=html_table(
                    columns, rows, csv_url="datasets.csv", searchable=True, numeric=[False, False, False, False, True]
                ),
            ),
        )

    def dataset_page(self, d: Dataset) -> None:
        here = self.urls.dataset[d.key]
        runs = [self.c.run_by_key[k] for k in self.c.runs_by_dataset.get(d.key, ()) if k in self.c.run_by_key]
        columns, rows = self.runs_rows(here, runs, with_experiment=True)
        producers = [self.c.run_by_key[k] for k in self.c.producers_by_dataset.get(d.key, ()) if k in self.c.run_by_key]
        pcolumns, prows = self.runs_rows(here, producers, with_experiment=True)
        summary = [("Dataset", Cell(d.name))]
        for label, value in (("Digest", d.digest), ("Source type", d.source_type), ("Source", d.source)):
            if value:
                summary.append((label, Cell(value)))
        extra = []
        for label, raw in (("Schema", d.schema), ("Profile", d.profile)):
            if raw:
                extra.append((label, _pretty_json(raw)))
        self.emit(
            here,
            self.render(
                "dataset.html.j2",
                here,
                search=(self.entry(here, f"{d.name} · dataset", d.digest, d.source),),
                dataset=d,
                title=safe_title(f"{d.name} · dataset"),
                summary=key_value_table(summary),
                extra=extra,
                runs_table=html_table(columns, rows, numeric=self._numeric(columns)),
                producers_table=html_table(pcolumns, prows, numeric=self._numeric(pcolumns)) if prows else None,
                origin=d.origin,
                store_display=_display(d.origin.store, d.origin.path),
            ),
        )

    def logged_model_page(self, lm: LoggedModel) -> None:
        here = self.urls.logged_model[lm.key]
        run = self._run(lm.run_key)
        summary = [("Logged model", Cell(lm.name)), ("Id", Cell(lm.id))]
        if lm.status:
            summary.append(("Status", Cell(lm.status)))
        if lm.model_type:
            summary.append(("Type", Cell(lm.model_type)))
        if run:
            summary.append(("Run", Cell(run.name, self.link(here, self.urls.run[run.key]))))
        summary.append(("Created", Cell(fmt_time(lm.created))))
        versions = [v for v in self.c.versions if v.logged_model_key == lm.key]
        for v in versions:
            summary.append(
                (
                    "Model version",
                    Cell(f"{v.model} version {v.version}", self.link(here, self.urls.version[(v.model, v.version)])),
                )
            )
        self.emit(
            here,
            self.render(
                "logged_model.html.j2",
                here,
                search=(self.entry(here, f"{lm.name} · logged model", lm.id),),
                logged_model=lm,
                title=safe_title(f"{lm.name} · logged model {lm.id}"),
                summary=key_value_table(summary),
                params_table=self.params_table(lm.params),
                metrics_table=self.metrics_table(lm.metrics),
                tags_table=self.tags_table(lm.tags, searchable=False),
                artifacts_table=self.artifacts_table(lm.artifacts),
                origin=lm.origin,
                store_display=_display(lm.origin.store, lm.origin.path),
            ),
        )

    def problems_page(self) -> None:
        here = self.urls.p("problems/")
        rows = [
            [
                Cell(_display(p.origin.store, p.origin.path)),
                Cell(p.origin.format),
                Cell(p.severity.value),
                Cell(p.reason),
            ]
            for p in self.c.problems
        ]
        # what a store has and the site leaves out (deleted runs …) is listed too, so this page
        # never says that every record was read when something was not shown (issue 8)
        rows += [
            [
                Cell(_display(s.origin.store, s.origin.path)),
                Cell(s.origin.format),
                Cell("not shown"),
                Cell(f"{s.count} {s.what} not shown: {s.reason}"),
            ]
            for s in self.c.skipped
        ]
        self.asset(here + "problems.csv", csv_bytes(["File", "Format", "Severity", "Reason"], rows))
        self.emit(
            here,
            self.render(
                "problems.html.j2",
                here,
                count=len(self.c.problems),
                table=html_table(
                    ["File", "Format", "Severity", "Reason"],
                    rows,
                    csv_url="problems.csv",
                    searchable=False,
                    empty="Every record was read.",
                ),
            ),
        )

    # -- search entries: made from the catalog, short on purpose (DESIGN.md decision 3) -------

    def entry(self, here: str, title: str, *parts: object, boost: float | None = None) -> SearchEntry:
        text = " ".join(_short(str(p)) for p in parts if p)
        return SearchEntry(here, safe_title(title), text, boost)

    def version_entry(
        self,
        here: str,
        m: RegisteredModel,
        v: ModelVersion,
        run: Run | None,
        exp: Experiment | None,
        keys: Sequence[str],
        metrics: Sequence[Metric],
        params: Mapping[str, str],
    ) -> SearchEntry:
        varying = self.varying_params(m.name)
        chosen = [k for k in params if k in varying] or list(params)
        shown_params = [f"{k} {params[k]}" for k in chosen if len(params[k]) <= 80][:SEARCH_PARAMS]
        shown_metrics = [f"{k} {_search_number(mm.final)}" for k in keys if (mm := _find(metrics, k))]
        return self.entry(
            here,
            f"{m.name} · version {v.version}",
            " ".join(f"@{a}" for a in v.aliases),
            v.stage,
            run.name if run else None,
            *shown_params,
            *shown_metrics,
            _tags_text({k: t for k, t in v.tags.items() if not k.startswith(MODEL_CARD)}, limit=2),
            boost=2,
        )

    # -- blocks -------------------------------------------------------------------------------

    def commit_cell(self, r: Run) -> Cell:
        commit = r.git.commit or ""
        url = _commit_url(r.git.repo_url, commit)
        return Cell(commit[:12], url, html=Markup("<code>") + h(commit[:12]) + Markup("</code>"))

    def tags_table(self, tags: Mapping[str, str], searchable: bool = True) -> Markup | None:
        if not tags:
            return None
        rows = [[Cell(k), Cell(v if len(v) <= 500 else v[:500] + "…")] for k, v in tags.items()]
        return html_table(["Tag", "Value"], rows, searchable=searchable)

    def key_params(self, params: Mapping[str, str], model: str | None) -> Markup | None:
        """The params worth searching for: those that differ between the model's versions,
        else the first few; short values only."""
        if not params:
            return None
        chosen: list[str] = []
        if model is not None:
            varying = self.varying_params(model)
            chosen = [k for k in params if k in varying]
        if not chosen:
            chosen = list(params)
        chosen = [k for k in chosen if len(params[k]) <= 80][:KEY_PARAMS]
        return key_value_table([(k, Cell(params[k])) for k in chosen])

    def varying_params(self, model: str) -> frozenset[str]:
        """The params whose value differs between the versions of ``model`` (computed once)."""
        if model not in self._varying:
            values: dict[str, set[str]] = {}
            for v in self.c.versions_by_model.get(model, ()):
                run = self._run(v.run_key)
                for k, val in run.params.items() if run else ():
                    values.setdefault(k, set()).add(val)
            self._varying[model] = frozenset(k for k, vals in values.items() if len(vals) > 1)
        return self._varying[model]

    def params_table(self, params: Mapping[str, str]) -> Markup | None:
        if not params:
            return None
        rows = [[Cell(k), Cell(v)] for k, v in params.items()]
        return html_table(["Parameter", "Value"], rows)

    def metrics_table(self, metrics: Sequence[Metric]) -> Markup | None:
        if not metrics:
            return None
        rows = []
        for m in metrics:
            best, best_step = self.c.best(m)
            rows.append(
                [
                    Cell(m.key),
                    num(m.final, fmt_number(m.final)),
                    num(m.final_step, str(m.final_step)),
                    num(best, fmt_number(best)),
                    Cell("" if best_step is None else str(best_step), sort=best_step),
                    num(m.minimum, fmt_number(m.minimum)),
                    Cell("" if m.minimum_step is None else str(m.minimum_step), sort=m.minimum_step),
                    num(m.maximum, fmt_number(m.maximum)),
                    Cell("" if m.maximum_step is None else str(m.maximum_step), sort=m.maximum_step),
                    num(m.count, str(m.count)),
                ]
            )
        return html_table(
            ["Metric", "Final", "Final step", "Best", "Best step", "Min", "Min step", "Max", "Max step", "Points"],
            rows,
            numeric=[False] + [True] * 9,
        )

    def history_charts(self, metrics: Sequence[Metric], owner_key: str) -> list[Markup]:
        charts: list[Markup] = []
        for m in metrics:
            if m.count < 2:
                continue
            history = self.c.history(owner_key, m.key)
            if history is None or len(history) < 2:
                continue
            if len(charts) >= MAX_CHARTS:
                break
            charts.append(figure_div(line_figure(m.key, [(m.key, history.steps, history.values)], "step", m.key)))
        return charts

    def stages_table(self, r: Run) -> Markup | None:
        """A pipeline run's stages, one row each: what ran, what it read and wrote, what it measured."""
        if not r.stages:
            return None

        def names(refs: Iterable[Any]) -> str:
            out = []
            for ref in refs:
                ds = self.c.dataset_by_key.get(ref.dataset_key)
                out.append(ds.name if ds else ref.dataset_key)
            return ", ".join(out)

        rows = [
            [
                Cell(s.name),
                Cell(s.command or ""),
                Cell(names(s.inputs)),
                Cell(", ".join(a.path for a in s.artifacts)),
                Cell("; ".join(f"{m.key} {fmt_number(m.final)}" for m in s.metrics)),
                Cell(", ".join(s.upstream)),
            ]
            for s in r.stages
        ]
        return html_table(["Stage", "Command", "Reads", "Writes", "Metrics", "After"], rows, searchable=False)

    def artifacts_table(self, artifacts: Iterable[Any]) -> Markup | None:
        items = list(artifacts)
        if not items:
            return None
        if any(getattr(a, "note", None) for a in items):  # a column only where a store says more
            rows = [[Cell(a.path), num(a.size, fmt_size(a.size)), Cell(a.note or "")] for a in items]
            return html_table(["Path", "Size", "What it is"], rows, numeric=[False, True, False])
        rows = [[Cell(a.path), num(a.size, fmt_size(a.size))] for a in items]
        return html_table(["Path", "Size"], rows, numeric=[False, True])

    def upstream(self, here: str, run: Run) -> tuple[list[Node], list[tuple[str, str]]]:
        """The run's input datasets, each with the runs that produced it (a DVC stage), so the
        graph reaches back across stores where a digest matches."""
        nodes = self.dataset_nodes(here, run)
        edges = [(n.id, f"r:{run.key}") for n in nodes]
        seen = {n.id for n in nodes}
        for ref in run.inputs:
            for key in self.c.producers_by_dataset.get(ref.dataset_key, ())[:3]:
                producer = self.c.run_by_key.get(key)
                if producer is None or producer.key == run.key:
                    continue
                pid = f"r:{producer.key}"
                if pid not in seen:
                    seen.add(pid)
                    url = self.link(here, self.urls.run[producer.key])
                    nodes.insert(0, Node(pid, "parent", producer.name, "produced it", url))
                edges.append((pid, f"d:{ref.dataset_key}"))
        return nodes, edges

    def dataset_nodes(self, here: str, run: Run) -> list[Node]:
        nodes = []
        for ref in run.inputs:
            d = self.c.dataset_by_key.get(ref.dataset_key)
            nodes.append(
                Node(
                    f"d:{ref.dataset_key}",
                    "dataset",
                    d.name if d else ref.dataset_key,
                    " · ".join(x for x in ((d.digest if d else None), ref.context) if x) or "dataset",
                    self.link(here, self.urls.dataset.get(ref.dataset_key)),
                )
            )
        return nodes

    def version_lineage(self, here: str, v: ModelVersion, run: Run | None, lm: LoggedModel | None) -> Markup:
        nodes: list[Node] = []
        edges: list[tuple[str, str]] = []
        vid = f"v:{v.model}:{v.version}"
        if run:
            nodes, edges = self.upstream(here, run)
            parent = self._run(run.parent_key)
            if parent:
                nodes.append(
                    Node(
                        f"r:{parent.key}",
                        "parent",
                        parent.name,
                        "parent run",
                        self.link(here, self.urls.run[parent.key]),
                    )
                )
                edges.append((f"r:{parent.key}", f"r:{run.key}"))
            if run.git.commit:
                nodes.append(
                    Node(
                        "git",
                        "commit",
                        run.git.commit[:12],
                        "git commit",
                        _commit_url(run.git.repo_url, run.git.commit)
                        or rel_url(here, self.urls.run[run.key]) + "#summary",
                    )
                )
                edges.append(("git", f"r:{run.key}"))
            nodes.append(
                Node(
                    f"r:{run.key}",
                    "run",
                    run.name,
                    f"run · {run.status.value.lower()}",
                    self.link(here, self.urls.run[run.key]),
                )
            )
        if lm:
            nodes.append(
                Node(f"m:{lm.key}", "model", lm.name, "logged model", self.link(here, self.urls.logged_model[lm.key]))
            )
            if run:
                edges.append((f"r:{run.key}", f"m:{lm.key}"))
            edges.append((f"m:{lm.key}", vid))
        elif run:
            edges.append((f"r:{run.key}", vid))
        nodes.append(
            Node(
                vid,
                "version",
                f"{v.model} v{v.version}",
                " ".join(f"@{a}" for a in v.aliases) or (v.stage or "model version"),
                None,
                current=True,
            )
        )
        return lineage_svg(nodes, edges, f"lineage of {v.model} version {v.version}")

    def run_lineage(self, here: str, run: Run) -> Markup:
        nodes, edges = self.upstream(here, run)
        rid = f"r:{run.key}"
        parent = self._run(run.parent_key)
        if parent:
            nodes.append(
                Node(f"r:{parent.key}", "parent", parent.name, "parent run", self.link(here, self.urls.run[parent.key]))
            )
            edges.append((f"r:{parent.key}", rid))
        if run.git.commit:
            url = _commit_url(run.git.repo_url, run.git.commit)
            nodes.append(Node("git", "commit", run.git.commit[:12], "git commit", url or "#summary"))
            edges.append(("git", rid))
        nodes.append(Node(rid, "run", run.name, f"run · {run.status.value.lower()}", None, current=True))
        for ref in run.produced:
            d = self.c.dataset_by_key.get(ref.dataset_key)
            did = f"d:{ref.dataset_key}"
            if did not in {n.id for n in nodes}:
                url = self.link(here, self.urls.dataset.get(ref.dataset_key))
                nodes.append(Node(did, "dataset", d.name if d else ref.dataset_key, "produced", url))
                edges.append((rid, did))
        for key in run.output_model_keys:
            lm = self.c.logged_model_by_key.get(key)
            if lm:
                nodes.append(
                    Node(
                        f"m:{lm.key}", "model", lm.name, "logged model", self.link(here, self.urls.logged_model[lm.key])
                    )
                )
                edges.append((rid, f"m:{lm.key}"))
        for v in self.c.versions_by_run.get(run.key, ()):
            vid = f"v:{v.model}:{v.version}"
            nodes.append(
                Node(
                    vid,
                    "version",
                    f"{v.model} v{v.version}",
                    " ".join(f"@{a}" for a in v.aliases) or "model version",
                    self.link(here, self.urls.version[(v.model, v.version)]),
                )
            )
            src = f"m:{v.logged_model_key}" if v.logged_model_key in self.c.logged_model_by_key else rid
            edges.append((src, vid))
        if len(nodes) == 1:
            return Markup("")
        return lineage_svg(nodes, edges, f"lineage of run {run.name}")


def _search_number(value: float | int | None) -> str:
    if isinstance(value, float) and value == value and abs(value) not in (float("inf"),):
        return format(value, ".4g")
    return fmt_number(value)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _tags_text(tags: Mapping[str, str], limit: int = 6) -> str:
    """The tags a person might search for: short, not the tools' own (``mlflow.*``)."""
    shown = [f"{k} {v}" for k, v in tags.items() if not k.startswith("mlflow.") and len(v) <= 60]
    return " ".join(shown[:limit])


def _find(metrics: Sequence[Metric], key: str) -> Metric | None:
    return next((m for m in metrics if m.key == key), None)


def _version_sort(version: str) -> float | str:
    try:
        return float(version)
    except ValueError:
        return version


def _display(store: str, path: str) -> str:
    from ..stores import display_path

    return display_path(store, path)


def _commit_url(repo_url: str | None, commit: str | None) -> str | None:
    """A link to the commit on its forge, only for plain http(s) repository URLs."""
    if not repo_url or not commit or not all(c in "0123456789abcdefABCDEF" for c in commit):
        return None
    url = repo_url.strip()
    if url.startswith("git@") and ":" in url:
        host, _, path = url[4:].partition(":")
        url = f"https://{host}/{path}"
    if not url.startswith(("https://", "http://")):
        return None
    if url.endswith(".git"):
        url = url[:-4]
    return f"{url.rstrip('/')}/commit/{commit}"


def _pretty_json(raw: str) -> Markup:
    try:
        text = json.dumps(json.loads(raw), indent=2, sort_keys=True)
    except ValueError:
        text = raw
    return Markup('<pre class="mlreport-json" data-search-exclude><code>') + h(text) + Markup("</code></pre>")


def render_site(catalog: Catalog, config: Config, templates_dir: str | None = None) -> list[Page | Asset]:
    """Every page of the site (and its CSV files), in site order, rendered in this process."""
    return SiteRenderer(catalog, config, templates_dir).render_all()


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
    "markdown_pages",
    "plan_urls",
    "render_site",
    "safe_title",
]
