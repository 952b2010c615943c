"""Shared state and blocks of the page families (see :mod:`mlreport.render.pages`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from markupsafe import Markup

from .. import __version__
from ..catalog import Catalog, key_metrics
from ..config import Config
from ..goals import is_counter
from ..ledger import Ledger
from ..model import Metric, ModelVersion, Run, display_path
from ..preview_records import Previews
from ..sanitize import load_json_text
from .charts import TITLE_CHARS, Series, charted_note, figure_div, line_figure
from .curves import chart_order, pair_curves, split_key
from .lineage import Node
from .page import Asset, Page, SearchEntry
from .previews import artifacts_block
from .runs_table import csv_bytes as runs_csv
from .runs_table import data_script, runs_frame, static_table
from .tables import Cell, html_table, key_value_table, num
from .templates import make_environment
from .text import fmt_goal, fmt_number, h, rel_url, shown, take_values
from .urls import plan_urls, safe_title

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


class RenderBase:
    """What every page family shares: the catalog, the URL plan, the templates, and the blocks
    (tables, charts, lineage) that more than one family shows."""

    def __init__(
        self,
        catalog: Catalog,
        config: Config,
        templates_dir: str | None = None,
        ledger: Ledger | None = None,
        previews: Previews | None = None,
    ) -> None:
        self.c = catalog
        self.ledger = ledger  # review (issue 9): alias history for model and alias pages
        self.previews = previews  # artifacts (issue 10): read before render, by mlreport.previews
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
        take_values()  # nothing cut before this renderer belongs to its pages
        self._varying: dict[str, frozenset[str]] = {}

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
            source_kind=self.c.source_kind,
            title=title,
            **context,
        )
        if not search and not exclude:
            search = (SearchEntry(here, title, "", boost),)
        return Page(here, title, body, hide, tuple(search), exclude, boost)

    def emit(self, page_dir: str, page: Page) -> None:
        self.out.append(page)
        # the full values this page cut (text.cut_value), as files beside it (issue 11, F6)
        for name, data in take_values().items():
            self.out.append(Asset(page_dir + name, data))

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

    def runs_table(
        self, here: str, runs: Sequence[Run], name: str, *, with_experiment: bool, context: Sequence[Run] = ()
    ) -> Markup:
        """A runs table (:mod:`mlreport.render.runs_table`): its rows (a data script, which
        ``file://`` can load) and CSV are emitted next to the page as ``<name>.js`` and
        ``<name>.csv``; the markup is the first screen."""
        frame = runs_frame(
            self.c, runs, with_experiment=with_experiment, configured=self.config.key_metrics, context=context
        )
        links: dict[str, Callable[[Run], str | None]] = {"run": lambda r: self.link(here, self.urls.run[r.key])}
        if with_experiment:
            links["experiment"] = lambda r: self.link(here, self.urls.experiment.get(r.experiment_key or ""))
        self.asset(here + f"{name}.js", data_script(frame, links))
        self.asset(here + f"{name}.csv", runs_csv(frame))
        return static_table(frame, f"{name}.js", f"{name}.csv", name, links)

    def entry(self, here: str, title: str, *parts: object, boost: float | None = None) -> SearchEntry:
        text = " ".join(_short(str(p)) for p in parts if p)
        return SearchEntry(here, safe_title(title), text, boost)

    def commit_cell(self, r: Run) -> Cell:
        commit = r.git.commit or ""
        url = _commit_url(r.git.repo_url, commit)
        return Cell(commit[:12], url, html=Markup("<code>") + h(commit[:12]) + Markup("</code>"))

    def tags_table(self, tags: Mapping[str, str], searchable: bool = True) -> Markup | None:
        if not tags:
            return None
        # a long value is cut by the table, with its full text beside the page (issue 11, F6)
        rows = [[Cell(k), Cell(v)] for k, v in tags.items()]
        return html_table(["Tag", "Value"], rows, searchable=searchable)

    def key_params(self, params: Mapping[str, str], model: str | None) -> Markup | None:
        """The params worth searching for: those that differ between the model's versions,
        else the first few; short values only."""
        chosen = self.key_param_names(params, model)
        if not chosen:
            return None
        return key_value_table([(k, Cell(params[k])) for k in chosen])

    def key_param_names(self, params: Mapping[str, str], model: str | None) -> list[str]:
        chosen: list[str] = []
        if model is not None:
            varying = self.varying_params(model)
            chosen = [k for k in params if k in varying]
        if not chosen:
            chosen = list(params)
        return [k for k in chosen if len(params[k]) <= 80][:KEY_PARAMS]

    def key_params_note(self, params: Mapping[str, str], model: str | None) -> str:
        """What the short parameter table above the folded full one shows, in words:
        ``3 that differ from other versions; all 8 below`` (issue 10)."""
        chosen = self.key_param_names(params, model)
        total = len(params)
        varying = self.varying_params(model) if model is not None else frozenset()
        differ = [k for k in chosen if k in varying]
        if differ:
            n = len(differ)
            what = f"{n} that differ{'s' if n == 1 else ''} from other versions"
        elif model is not None and len(self.c.versions_by_model.get(model, ())) > 1:
            what = f"none differ from other versions; the first {len(chosen)}"
        else:
            what = f"the first {len(chosen)}"
        text = f"{what}; all {total} below" if differ or len(chosen) < total else f"all {total}"
        return text[:1].upper() + text[1:]

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
                    *self.goal_cells(m.key),
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
            [
                "Metric",
                "Goal",
                "Goal from",
                "Final",
                "Final step",
                "Best",
                "Best step",
                "Min",
                "Min step",
                "Max",
                "Max step",
                "Points",
            ],
            rows,
            numeric=[False, False, False] + [True] * 9,
        )

    def goal_cells(self, key: str) -> tuple[Cell, Cell]:
        """Which way ``key`` is better (``▼ lower is better``) and where that came from
        (:meth:`Catalog.goal_source`): shown so that a wrong guess is visible (issue 8)."""
        return Cell(fmt_goal(self.c.goal(key))), Cell(self.c.goal_source(key))

    def history_charts(self, metrics: Sequence[Metric], owner_key: str) -> list[Markup]:
        """The metric histories of a run (or logged model): one chart a metric, a train/validation
        pair on one chart (:func:`~mlreport.render.curves.pair_curves`), the key metrics first and
        counters (runtime, learning rate) last, at most :data:`MAX_CHARTS` charts. When some metrics
        are not charted, the first item says how many are and why (issue 8: never drop silently)."""
        by_key = {m.key: m for m in metrics}
        curves = [m.key for m in metrics if m.count >= 2]
        first = set(self.config.key_metrics) | set(self.c.declared_goals)
        order = chart_order(pair_curves(curves), curves, lambda k: 0 if k in first else (2 if is_counter(k) else 1))
        charts: list[Markup] = []
        charted = past_cap = 0
        for keys in order:
            if len(charts) >= MAX_CHARTS:
                past_cap += len(keys)
                continue
            series = []
            for key in keys:
                history = self.c.history(owner_key, key)
                if history is not None and len(history) >= 2:
                    series.append(Series(key, history.steps, history.values, count=by_key[key].count))
            if not series:
                continue
            title = " vs ".join(s.name for s in series)
            if len(series) > 1 and len(title) > TITLE_CHARS:  # a phone shows ~45 characters; the legend names them
                title = f"{split_key(series[0].name).quantity} on {len(series)} splits"
            y_title = split_key(series[0].name).quantity if len(series) > 1 else series[0].name
            charts.append(figure_div(line_figure(title, series, "step", y_title)))
            charted += len(series)
        if charts and charted < len(metrics):
            charts.insert(0, charted_note(charted, len(metrics), len(metrics) - len(curves), past_cap))
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

    def artifacts_table(self, artifacts: Iterable[Any], here: str = "", store: str | None = None) -> Markup | None:
        """The artifacts section: the files (with a download link where copied) and their
        previews (artifacts, issue 10); ``store`` is the owning record's ``origin.store``."""
        return artifacts_block(list(artifacts), here, store, self.previews)

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


def _search_number(value: float | int | None) -> str:
    if isinstance(value, float) and value == value and abs(value) not in (float("inf"),):
        return format(value, ".4g")
    return fmt_number(value)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _tags_text(tags: Mapping[str, str], limit: int = 6) -> str:
    """The tags a person might search for: the short ones. A tool's own tags are not among
    them: the readers keep those apart (``system_tags``), so this needs no tool's prefix."""
    shown = [f"{k} {v}" for k, v in tags.items() if len(v) <= 60]
    return " ".join(shown[:limit])


def _find(metrics: Sequence[Metric], key: str) -> Metric | None:
    return next((m for m in metrics if m.key == key), None)


def _version_sort(version: str) -> float | str:
    try:
        return float(version)
    except ValueError:
        return version


def _display(store: str, path: str) -> str:
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
        text = json.dumps(load_json_text(raw), indent=2, sort_keys=True)  # bounded (fuzz F21)
    except ValueError:
        text = raw
    # cut like any page value, the whole text a file beside the page (issue 11, F25: a 1 MB schema)
    return Markup('<pre class="mlreport-json" data-search-exclude><code>') + shown(text) + Markup("</code></pre>")
