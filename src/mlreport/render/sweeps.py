"""Sweeps: runs that vary params, drawn as parallel coordinates (params → the key metric) and as
a param-vs-metric scatter with a dropdown per param, the best run marked.

A set of runs is a sweep when at least :data:`MIN_RUNS` of them have a finite final value of the
metric and at least one param differs between those runs (:func:`detect_sweep`). Which run is best
follows :meth:`Catalog.goal <mlreport.catalog.Catalog.goal>` and never picks a NaN.

Bounded: at most :data:`MAX_RUNS` runs are drawn (the best tenth of them, then every k-th of the
others by rank, so the spread survives; the chart says so) and :data:`MAX_PARAMS` params, so at
10,000 runs a page stays a few hundred KB (``benchmarks/bench_sweeps.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup

from ..catalog import key_metrics, version_sort_key
from ..model import Run
from .charts import TITLE_BAND, figure_div, plain, title_layout
from .curves import sweep_metric, top_runs
from .text import fmt_number, h

if TYPE_CHECKING:
    from .base import RenderBase

MIN_RUNS = 3
MAX_RUNS = 1000
MAX_PARAMS = 12
MAX_VALUE_LENGTH = 40  # longer values are paths, commands or JSON, not settings to compare
MAX_TICKS = 30
NOT_SET = "(not set)"


@dataclass(frozen=True, slots=True)
class Axis:
    """One param as a chart axis: numbers on a linear or log scale, or categories in natural order."""

    param: str
    numeric: bool
    log: bool
    numbers: tuple[float | None, ...]  # per run; None where a categorical axis is used
    texts: tuple[str, ...]  # per run: the value as the store wrote it, or NOT_SET
    categories: tuple[str, ...]  # categorical axes: every value, in order


@dataclass(frozen=True, slots=True)
class Sweep:
    """The runs of a sweep as drawn, best first, with their metric values and param axes."""

    metric: str
    goal: str
    runs: tuple[Run, ...]
    values: tuple[float, ...]
    axes: tuple[Axis, ...]
    total: int  # runs with a finite value of the metric, before sampling
    params_total: int  # params that vary, before MAX_PARAMS

    @property
    def best(self) -> Run:
        return self.runs[0]

    @property
    def note(self) -> str:
        parts = []
        if len(self.runs) < self.total:
            parts.append(
                f"{len(self.runs):,} of {self.total:,} runs drawn: the best {_head(len(self.runs)):,} by "
                f"{self.metric} and an even sample of the others by rank"
            )
        if len(self.axes) < self.params_total:
            parts.append(f"{len(self.axes)} of {self.params_total} varying params shown (those set in the most runs)")
        return "; ".join(parts) + ("." if parts else "")


def varying_params(runs: Sequence[Run]) -> list[str]:
    """The params worth an axis: set in at least two runs, with more than one value across the runs
    (a run without the param counts as a value of its own), short values only, and not an
    identifier (a text value different in every run that is a path, or in every one of many runs,
    like an output folder or a run name)."""
    seen: dict[str, list[str]] = {}
    for r in runs:
        for k, v in r.params.items():
            seen.setdefault(k, []).append(v)
    out = []
    for k, values in seen.items():
        distinct = set(values)
        if len(values) < 2 or (len(distinct) < 2 and len(values) == len(runs)):
            continue
        if any(len(v) > MAX_VALUE_LENGTH for v in distinct):
            continue
        if len(distinct) == len(values) == len(runs) and _number(values[0]) is None:
            if len(runs) > 20 or any("/" in v or "\\" in v for v in distinct):  # run names, folders
                continue
        out.append(k)
    return sorted(out)


def detect_sweep(
    runs: Sequence[Run], metric: str | None, goal: str, max_runs: int = MAX_RUNS, max_params: int = MAX_PARAMS
) -> Sweep | None:
    """The sweep among ``runs`` judged by ``metric``, or None when they are not one."""
    if metric is None:
        return None
    scored = top_runs(runs, metric, goal, n=len(runs))
    if len(scored) < MIN_RUNS:
        return None
    chosen = [r for r, _ in scored]
    params = varying_params(chosen)
    if not params:
        return None
    drawn = sample(scored, max_runs)
    counts = {k: sum(1 for r in chosen if k in r.params) for k in params}
    shown = sorted(sorted(params, key=lambda k: (-counts[k], k))[:max_params])
    axes = tuple(make_axis(k, [r for r, _ in drawn]) for k in shown)
    return Sweep(
        metric,
        goal,
        tuple(r for r, _ in drawn),
        tuple(v for _, v in drawn),
        axes,
        total=len(scored),
        params_total=len(params),
    )


def _head(limit: int) -> int:
    return max(1, limit // 10)


def sample(scored: Sequence[tuple[Run, float]], limit: int) -> list[tuple[Run, float]]:
    """At most ``limit`` of the ranked runs: the best tenth of ``limit``, then evenly spaced ranks
    of the others (the last included), so the picture keeps the whole range of the metric."""
    if len(scored) <= limit:
        return list(scored)
    head = _head(limit)
    rest = scored[head:]
    k = limit - head
    picks = [rest[round(i * (len(rest) - 1) / (k - 1))] for i in range(k)] if k > 1 else [rest[-1]]
    return [*scored[:head], *picks]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def make_axis(param: str, runs: Sequence[Run]) -> Axis:
    """Numbers when every run sets the param to a finite number (log scale when they are positive
    and span two decades or more, as learning rates do); categories otherwise, numbers among them
    in numeric order, NOT_SET last."""
    texts = tuple(r.params.get(param, NOT_SET) for r in runs)
    numbers = [_number(t) if t != NOT_SET else None for t in texts]
    present = [n for n in numbers if n is not None]
    if len(present) == len(texts) and len(set(present)) > 1:
        lo, hi = min(present), max(present)
        log = lo > 0 and hi / lo >= 100
        return Axis(param, True, log, tuple(numbers), texts, ())

    def order(v: str) -> tuple[int, float, tuple[object, ...]]:
        n = _number(v)
        return (2 if v == NOT_SET else (0 if n is not None else 1), n or 0.0, version_sort_key(v))

    categories = tuple(sorted(set(texts), key=order))
    return Axis(param, False, False, tuple(None for _ in texts), texts, categories)


def _round(value: float) -> float:
    """Six significant digits, as the tables show: the figure JSON is a third of the full repr's."""
    return float(format(value, ".6g"))


def _log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    vals = list(range(first, last + 1))
    return [float(v) for v in vals], [format(10.0**v, "g") for v in vals]


def _thin(categories: Sequence[str]) -> list[str]:
    step = max(1, math.ceil(len(categories) / MAX_TICKS))
    return [plain(_cut(c)) if i % step == 0 else "" for i, c in enumerate(categories)]


def _cut(text: str, limit: int = 18) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _arrow(goal: str) -> str:
    return "↓" if goal == "min" else "↑"


def parallel_figure(sweep: Sweep) -> dict[str, object]:
    """Parallel coordinates: one axis a param, the metric last; lines coloured by the metric, the
    best runs brightest whichever way the metric is better."""
    dims: list[dict[str, object]] = []
    for a in sweep.axes:
        if a.numeric:
            nums = [n for n in a.numbers if n is not None]
            if a.log:
                vals = [_round(math.log10(n)) for n in nums]
                tickvals, ticktext = _log_ticks(min(nums), max(nums))
                dims.append(
                    {
                        "label": plain(_cut(a.param, 24)) + " (log)",
                        "values": vals,
                        "tickvals": tickvals,
                        "ticktext": ticktext,
                        "range": [tickvals[0], tickvals[-1]],
                    }
                )
            else:
                dims.append({"label": plain(_cut(a.param, 24)), "values": [_round(n) for n in nums]})
        else:
            index = {c: i for i, c in enumerate(a.categories)}
            dims.append(
                {
                    "label": plain(_cut(a.param, 24)),
                    "values": [index[t] for t in a.texts],
                    "tickvals": list(range(len(a.categories))),
                    "ticktext": _thin(a.categories),
                    "range": [-0.5, len(a.categories) - 0.5] if len(a.categories) > 1 else [-1, 1],
                }
            )
    values = [_round(v) for v in sweep.values]
    dims.append({"label": f"{plain(_cut(sweep.metric, 24))} {_arrow(sweep.goal)}", "values": values})
    trace = {
        "type": "parcoords",
        "dimensions": dims,
        "line": {
            "color": values,
            # grey → blue → amber (the best run's star): every line readable on light and dark
            # backgrounds (Viridis' dark purple vanished on Material's slate)
            "colorscale": [[0, "#9e9e9e"], [0.5, "#42a5f5"], [1, "#f9a825"]],
            "reversescale": sweep.goal == "min",  # the best runs amber either way
            "showscale": False,
        },
    }
    title = f"{len(sweep.axes)} param{'s' if len(sweep.axes) != 1 else ''} → {sweep.metric}"
    return {
        "data": [trace],
        "layout": {
            "title": title_layout(title),
            "height": 380,
            "margin": {"l": 60, "r": 60, "t": TITLE_BAND + 54, "b": 30},  # parcoords labels sit above the axes
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
        "note": sweep.note,
    }


def scatter_figure(sweep: Sweep) -> dict[str, object]:
    """The metric against one param at a time (a dropdown picks the param), the best run a star.

    Two traces whatever the number of params: the dropdown swaps their ``x`` (and the axis), so
    the metric values and run names are in the figure once, not once per param."""
    names = [plain(r.name) for r in sweep.runs]
    values = [_round(v) for v in sweep.values]
    xs_of: list[list[object]] = []
    hovers: list[str] = []
    for a in sweep.axes:
        xs_of.append([_round(n) for n in a.numbers if n is not None] if a.numeric else [plain(t) for t in a.texts])
        hovers.append("%{text}<br>" + plain(a.param) + " %{x}<br>" + plain(sweep.metric) + " %{y}<extra></extra>")
    data: list[dict[str, object]] = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "runs",
            "x": xs_of[0],
            "y": values,
            "text": names,
            "hovertemplate": hovers[0],
            "marker": {"size": 7, "opacity": 0.7},
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": "best run",
            "x": xs_of[0][:1],
            "y": values[:1],
            "text": names[:1],
            "hovertemplate": "best: " + hovers[0],
            "marker": {"size": 16, "symbol": "star", "color": "#f9a825", "line": {"width": 1, "color": "#5d4037"}},
        },
    ]
    buttons = [
        {
            "label": plain(_cut(a.param, 24)),
            "method": "update",
            "args": [{"x": [xs, xs[:1]], "hovertemplate": [hover, "best: " + hover]}, _xaxis(a)],
        }
        for a, xs, hover in zip(sweep.axes, xs_of, hovers, strict=True)
    ]
    layout: dict[str, object] = {
        "title": title_layout(f"{sweep.metric} {_arrow(sweep.goal)} by param"),
        "height": 340,
        "margin": {"l": 55, "r": 20, "t": TITLE_BAND + (36 if len(buttons) > 1 else 0), "b": 50},
        "showlegend": False,
        "yaxis": {"title": {"text": plain(sweep.metric)}},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }
    layout["xaxis"] = _xaxis_layout(sweep.axes[0])
    if len(buttons) > 1:
        layout["updatemenus"] = [
            {
                "type": "dropdown",
                "buttons": buttons,
                "active": 0,
                "x": 0,
                "xanchor": "left",
                "y": 1,
                "yanchor": "bottom",  # between the title and the plot
                "pad": {"b": 4},
                "showactive": True,
            }
        ]
    return {"data": data, "layout": layout, "note": sweep.note}


def _xaxis_layout(a: Axis) -> dict[str, object]:
    if a.numeric:
        return {"title": {"text": plain(a.param)}, "type": "log" if a.log else "linear", "autorange": True}
    return {
        "title": {"text": plain(a.param)},
        "type": "category",
        "categoryorder": "array",
        "categoryarray": [plain(c) for c in a.categories],
        "autorange": True,
    }


def _xaxis(a: Axis) -> dict[str, object]:
    """The relayout that turns the x axis into ``a``'s (a dropdown button's second argument)."""
    out: dict[str, object] = {f"xaxis.{k}": v for k, v in _xaxis_layout(a).items() if k != "title"}
    out["xaxis.title.text"] = plain(a.param)
    out.setdefault("xaxis.categoryarray", None)
    out.setdefault("xaxis.categoryorder", "trace")
    return out


def sweep_section(base: RenderBase, here: str, runs: Sequence[Run]) -> Markup | None:
    """The sweep block of an experiment or parent-run page, or None when ``runs`` are no sweep: a
    line naming the best run (with its link, value and where the goal came from), the parallel
    coordinates and the scatter."""
    metric = sweep_metric(key_metrics(base.c, runs, base.config.key_metrics), base.config.key_metrics)
    if metric is None:
        return None
    goal = base.c.goal(metric)
    sweep = detect_sweep(runs, metric, goal)
    if sweep is None:
        return None
    best = sweep.best
    better = "lower" if goal == "min" else "higher"
    url = base.link(here, base.urls.run.get(best.key))
    name = Markup('<a href="') + h(url) + Markup('">') + h(best.name) + Markup("</a>") if url else h(best.name)
    line = (
        Markup('<p class="mlreport-sweep-best">Best of ')
        + h(f"{sweep.total:,}")
        + Markup(" runs by <code>")
        + h(metric)
        + Markup("</code> (")
        + h(f"{better} is better; {base.c.goal_source(metric)}")
        + Markup("): ")
        + name
        + Markup(" <strong>")
        + h(fmt_number(sweep.values[0]))
        + Markup("</strong></p>")
    )
    scatter = scatter_figure(sweep)
    scatter["note"] = ""  # said once, under the parallel coordinates
    return line + figure_div(parallel_figure(sweep)) + figure_div(scatter)
