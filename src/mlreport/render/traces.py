"""The traces of an experiment (MLflow's traced requests of a GenAI app or agent) as a table.

Only what the catalog holds: request id, name, status, time (UTC), duration, the run that
produced it, and the store's own short request/response previews, each cut to one line. The
previews are untrusted text: the table escapes every cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from markupsafe import Markup

from ..model import Experiment, Trace
from .tables import Cell, html_table, num
from .text import fmt_time, h, short_name

if TYPE_CHECKING:
    from .base import RenderBase

#: rows shown on a page; the rest are counted (a trace store can hold many thousands)
MAX_ROWS = 200
PREVIEW = 120  # characters of a request or response preview

COLUMNS = ["Request id", "Name", "Status", "Time (UTC)", "Duration (ms)", "Run", "Request", "Response"]


def _preview(text: str | None) -> str:
    if not text:
        return ""
    one = " ".join(text.split())
    return one if len(one) <= PREVIEW else one[: PREVIEW - 1] + "…"


def _duration(ms: int | None) -> Cell:
    return Cell("") if ms is None else num(float(ms), str(ms))


def traces_rows(traces: Sequence[Trace], run_cell: Callable[[str | None], Cell]) -> list[list[Cell]]:
    return [
        [
            Cell(t.id),
            Cell(t.name or ""),
            Cell(t.status or ""),
            Cell(fmt_time(t.request_time), sort=t.request_time),
            _duration(t.duration_ms),
            run_cell(t.run_key),
            Cell(_preview(t.request_preview)),
            Cell(_preview(t.response_preview)),
        ]
        for t in traces[:MAX_ROWS]
    ]


def experiment_traces(r: RenderBase, here: str, e: Experiment) -> Markup | None:
    """The "Traces" section of the experiment page at ``here``; ``None`` when it has none."""

    def run_cell(key: str | None) -> Cell:
        run = r.c.run_by_key.get(key) if key else None
        if run is None:
            return Cell(key or "")  # the run id as the store gave it: not in the catalog
        return Cell(run.name, r.link(here, r.urls.run.get(run.key)))

    return traces_block(r.c.traces_by_experiment.get(e.key, ()), run_cell)


def traces_block(traces: Sequence[Trace], run_cell: Callable[[str | None], Cell]) -> Markup | None:
    """A table of ``traces`` with a line counting them by status; ``None`` for none."""
    if not traces:
        return None
    statuses: dict[str, int] = {}
    for t in traces:
        statuses[t.status or "unknown"] = statuses.get(t.status or "unknown", 0) + 1
    counts = ", ".join(f"{n} {short_name(status)}" for status, n in sorted(statuses.items()))  # F25
    lead = f"{len(traces)} trace{'s' if len(traces) != 1 else ''} ({counts})"
    if len(traces) > MAX_ROWS:
        lead += f"; the newest {MAX_ROWS} are listed"
    table = html_table(COLUMNS, traces_rows(traces, run_cell), numeric=[False, False, False, False, True] + [False] * 3)
    return Markup('<p class="mlreport-traces">') + h(lead + ".") + Markup("</p>\n") + table
