"""Datasets: the index and one page per dataset."""

from __future__ import annotations

from ..model import Dataset
from .base import (
    RenderBase,
    _display,
    _pretty_json,
)
from .tables import Cell, csv_bytes, html_table, key_value_table, num
from .urls import safe_title


class DatasetPages(RenderBase):
    """Datasets: the index and one page per dataset."""

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
        producers = [self.c.run_by_key[k] for k in self.c.producers_by_dataset.get(d.key, ()) if k in self.c.run_by_key]
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
                runs_table=self.runs_table(here, runs, "runs", with_experiment=True),
                producers_table=self.runs_table(here, producers, "producers", with_experiment=True)
                if producers
                else None,
                origin=d.origin,
                store_display=_display(d.origin.store, d.origin.path),
            ),
        )
