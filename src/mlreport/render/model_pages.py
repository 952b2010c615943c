"""A registered model's pages: the models index, the model, its aliases, the version comparison."""

from __future__ import annotations

from .. import review_html
from ..model import RegisteredModel
from .base import (
    MAX_COMPARE,
    RenderBase,
    _display,
    _tags_text,
    _version_sort,
)
from .charts import category_figure, figure_div
from .curves import versions_chart
from .tables import Cell, csv_bytes, html_table, key_value_table, num, time_cell
from .text import (
    fmt_number,
    note,
    plain_text,
)
from .urls import safe_title


class ModelPages(RenderBase):
    """A registered model's pages: the models index, the model, its aliases, the version comparison."""

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
                    time_cell(m.updated or (newest.created if newest else None)),
                    Cell(plain_text(m.description)),
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
                    time_cell(v.created),
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
        if (overlay := versions_chart(self, m.name, keys)) is not None:  # charts: one history, every version
            charts.append(overlay)
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
                system_tags_table=self.tags_table(m.system_tags, searchable=False),
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
