"""Runs and experiments: the run page, the runs and experiments indexes, the experiment page."""

from __future__ import annotations

from markupsafe import Markup

from ..model import Experiment, Run
from .base import (
    KEY_PARAMS,
    RenderBase,
    _commit_url,
    _display,
    _tags_text,
)
from .curves import best_runs_chart
from .lineage import Node, lineage_svg
from .sweeps import sweep_section
from .tables import Cell, csv_bytes, html_table, key_value_table, num, time_cell
from .text import (
    fmt_duration,
    fmt_number,
    fmt_time,
    note,
)
from .traces import experiment_traces
from .urls import safe_title


class RunPages(RenderBase):
    """Runs and experiments: the run page, the runs and experiments indexes, the experiment page."""

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
        summary.append(("Started", time_cell(r.start_time)))
        if r.end_time:
            summary.append(("Ended", time_cell(r.end_time)))
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
                children_table=self.runs_table(here, children, "children", with_experiment=False, context=(r,))
                if children
                else None,
                sweep=sweep_section(self, here, children) if len(children) > 1 else None,  # charts
                best_curves=best_runs_chart(self, children) if len(children) > 1 else None,  # charts
                lineage=self.run_lineage(here, r),
                artifacts_table=self.artifacts_table(r.artifacts, here, r.origin.store),
                artifact_uri=r.artifact_uri,
                origin=r.origin,
                store_display=_display(r.origin.store, r.origin.path),
            ),
        )

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

    def experiment_page(self, e: Experiment) -> None:
        here = self.urls.experiment[e.key]
        runs = [self.c.run_by_key[k] for k in self.c.runs_by_experiment.get(e.key, ())]
        runs_table = self.runs_table(here, runs, "runs", with_experiment=False)
        summary = [("Experiment", Cell(e.name)), ("Id", Cell(e.id)), ("Runs", Cell(str(len(runs))))]
        if e.created:
            summary.append(("Created", time_cell(e.created)))
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
                system_tags_table=self.tags_table(e.system_tags, searchable=False),
                runs_table=runs_table,
                traces=experiment_traces(self, here, e),
                sweep=sweep_section(self, here, runs),  # charts
                best_curves=best_runs_chart(self, runs),  # charts
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
        table = self.runs_table(here, list(self.c.runs), "runs", with_experiment=True)
        self.emit(
            here,
            self.render(
                "runs.html.j2",
                here,
                table=table,
            ),
        )
