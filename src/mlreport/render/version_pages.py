"""A model version's page (and a logged model's): what a reviewer links from a pull request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup

from .. import review_html
from ..card import build_card, card_readme
from ..model import Experiment, LoggedModel, Metric, ModelVersion, RegisteredModel, Run
from .base import (
    MODEL_CARD,
    SEARCH_PARAMS,
    RenderBase,
    _commit_url,
    _display,
    _find,
    _search_number,
    _tags_text,
)
from .lineage import Node, lineage_svg
from .model_card import card_html
from .page import SearchEntry
from .previews import signature_table
from .tables import Cell, key_value_table, time_cell
from .text import (
    fmt_goal,
    fmt_number,
    h,
    note,
    rel_url,
)
from .urls import safe_title


class VersionPages(RenderBase):
    """A model version's page (and a logged model's): what a reviewer links from a pull request."""

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
        summary.append(("Created", time_cell(v.created)))
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
        key_rows = [(k, self.key_metric_cell(mm)) for k in keys if (mm := _find(metrics, k))]
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
                system_tags_table=self.tags_table(v.system_tags, searchable=False),
                model_card=self.model_card(here, m, v, keys),
                key_params=self.key_params(params, m.name),
                key_params_note=self.key_params_note(params, m.name),
                params_table=self.params_table(params),
                metrics_table=self.metrics_table(metrics),
                charts=self.history_charts(run.metrics if run else metrics, run.key if run else (lm.key if lm else "")),
                lineage=self.version_lineage(here, v, run, lm),
                signature_table=signature_table(lm),
                artifacts_table=self.artifacts_table(
                    lm.artifacts if lm and lm.artifacts else (run.artifacts if run else ()),
                    here,
                    lm.origin.store if lm and lm.artifacts else (run.origin.store if run else None),
                ),
                origin=v.origin,
                store_display=_display(v.origin.store, v.origin.path),
            ),
        )

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

    def model_card(self, here: str, m: RegisteredModel, v: ModelVersion, keys: Sequence[str]) -> Markup:
        """The version's card (issue 10), and the same card as a Hugging Face ``README.md``
        beside the page (what ``mlreport card`` writes)."""
        card = build_card(self.c, m, v, keys)
        self.asset(here + "README.md", card_readme(card).encode("utf-8"))
        return card_html(card, "README.md")

    def key_metric_cell(self, m: Metric) -> Cell:
        """A key metric's final value with its goal (``0.902 ▲``; the words and their source in
        the tooltip), so that a wrong guess of which way is better shows (issue 8)."""
        goal = fmt_goal(self.c.goal(m.key))
        value = fmt_number(m.final)
        html = (
            h(value)
            + Markup(' <span class="mlr-goal" title="')
            + h(f"{goal} ({self.c.goal_source(m.key)})")
            + Markup('">')
            + h(goal)
            + Markup("</span>")
        )
        return Cell(f"{value} {goal}", html=html)

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
        summary.append(("Created", time_cell(lm.created)))
        for v in self.c.versions_of_logged_model(lm.key):  # an index, not a scan of every version
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
                system_tags_table=self.tags_table(lm.system_tags, searchable=False),
                signature_table=signature_table(lm),
                artifacts_table=self.artifacts_table(lm.artifacts, here, lm.origin.store),
                origin=lm.origin,
                store_display=_display(lm.origin.store, lm.origin.path),
            ),
        )
