"""The home page and the problems page."""

from __future__ import annotations

from .base import (
    RenderBase,
    _display,
)
from .tables import Cell, csv_bytes, html_table, num, time_cell
from .text import rel_url
from .urls import safe_title


class HomePages(RenderBase):
    """The home page and the problems page."""

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
                time_cell(v.created),
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
        # the store format's human name, as the footer says it: never the reader's name (the
        # catalog answers it; nothing after the catalog knows which reader wrote a record)
        stores = [[Cell(s.display), Cell(s.reader_label)] for s in self.c.stores]
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
                stores_table=html_table(["Store", "Format"], stores, searchable=False),
                catalog=self.c,
            ),
        )

    def problems_page(self) -> None:
        here = self.urls.p("problems/")
        rows = [
            [
                Cell(_display(p.origin.store, p.origin.path)),
                Cell(self.c.source_kind(p.origin)),
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
                Cell(self.c.source_kind(s.origin)),
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
