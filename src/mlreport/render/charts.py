"""Plotly figures as plain JSON, drawn in the browser by ``assets/mlreport.js``.

Figures are built as dicts, not ``plotly.graph_objects`` (which cost milliseconds a figure and
add a ~7 KB template each); the page gets ``<div class="mlreport-chart" data-figure="…">`` and
plotly.js, shipped once in the site's assets, draws it (DESIGN.md decision 4). Long histories
are downsampled with LTTB to :data:`MAX_POINTS` points, and the chart says so.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from .text import NAME_LIMIT, bounded, h

MAX_POINTS = 1000


def lttb(xs: Sequence[float], ys: Sequence[float], threshold: int = MAX_POINTS) -> tuple[list[float], list[float]]:
    """Largest-Triangle-Three-Buckets downsampling: keeps the shape (peaks, drops) of a series.

    NaN points are kept out of the triangles and dropped (plotly shows them as gaps anyway).
    """
    total = sum(ys)  # NaN or inf anywhere makes the sum non-finite: the common case is cheap
    if len(ys) <= threshold and math.isfinite(total):
        return list(xs), list(ys)
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
    n = len(points)
    if n <= threshold or threshold < 3:
        return [p[0] for p in points], [p[1] for p in points]
    out = [points[0]]
    bucket = (n - 2) / (threshold - 2)
    a = 0
    for i in range(threshold - 2):
        start = int(math.floor((i + 1) * bucket)) + 1
        end = min(int(math.floor((i + 2) * bucket)) + 1, n)
        next_start = end
        next_end = min(int(math.floor((i + 3) * bucket)) + 1, n)
        if next_start >= next_end:
            avg_x, avg_y = points[-1]
        else:
            span = points[next_start:next_end]
            avg_x = sum(p[0] for p in span) / len(span)
            avg_y = sum(p[1] for p in span) / len(span)
        ax, ay = points[a]
        best, best_area = start, -1.0
        for j in range(start, end):
            px, py = points[j]
            area = abs((ax - avg_x) * (py - ay) - (ax - px) * (avg_y - ay))
            if area > best_area:
                best, best_area = j, area
        out.append(points[best])
        a = best
    out.append(points[-1])
    return [p[0] for p in out], [p[1] for p in out]


def _clean(values: Sequence[float]) -> list[float | None]:
    return [None if (math.isnan(v) or math.isinf(v)) else v for v in values]


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a chart. ``count`` is how many points the store holds when the history handed
    over is already a subset (a reader keeps at most a million points a metric), so the note on
    the chart can say how many were logged, not only how many were drawn."""

    name: str
    xs: Sequence[float]
    ys: Sequence[float]
    count: int | None = None
    width: float | None = None  # a wider line for the one the page is about


def line_figure(
    title: str,
    series: Sequence[Series | tuple[str, Sequence[float], Sequence[float]]],
    x_title: str = "step",
    y_title: str = "",
) -> dict[str, object]:
    """A line chart of one or more series, each downsampled to :data:`MAX_POINTS` points; the
    figure's ``note`` says when a series is drawn with fewer points than were logged."""
    data = []
    sampled: list[tuple[str, int, int]] = []
    for item in series:
        s = item if isinstance(item, Series) else Series(*item)
        sx, sy = lttb(s.xs, s.ys)
        logged = max(s.count or 0, len(s.ys))
        if len(sy) < logged and logged > MAX_POINTS:
            sampled.append((s.name, logged, len(sy)))
        trace: dict[str, object] = {
            "type": "scatter",
            "mode": "lines+markers" if len(sx) <= 60 else "lines",
            "name": plain(s.name),
            "x": sx,
            "y": sy,
        }
        if s.width is not None:
            trace["line"] = {"width": s.width}
        data.append(trace)
    return {"data": data, "layout": _layout(title, x_title, y_title, len(data) > 1), "note": sampling_note(sampled)}


def sampling_note(sampled: Sequence[tuple[str, int, int]]) -> str:
    """What a downsampled chart says under it: which series, how many points logged and drawn."""
    if not sampled:
        return ""
    if len(sampled) == 1:
        name, logged, drawn = sampled[0]
        what = f"{name}: {logged:,} points logged, {drawn:,} drawn"
    else:
        longest = max(logged for _, logged, _ in sampled)
        what = f"{len(sampled)} series downsampled to at most {MAX_POINTS:,} points each (the longest has {longest:,})"
    return f"Downsampled for drawing ({what}; LTTB keeps peaks and drops); the table has the exact values."


def charted_note(charted: int, total: int, single: int, past_cap: int) -> Markup:
    """The line above a page's charts when not every metric has one: how many do, and why not
    the others (one point only, or past the page's chart limit)."""
    why = []
    if single:
        why.append(f"{single:,} {'has' if single == 1 else 'have'} a single value")
    if past_cap:
        why.append(f"{past_cap:,} {'is' if past_cap == 1 else 'are'} past this page's chart limit")
    rest = total - charted - single - past_cap
    if rest > 0:
        why.append(f"{rest:,} {'has' if rest == 1 else 'have'} no readable history")
    text = f"{charted:,} of {total:,} metrics charted; the others are in the Metrics table"
    text += f" ({', '.join(why)})." if why else "."
    return Markup('<p class="mlreport-charts-count">') + h(text) + Markup("</p>")


def category_figure(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    x_title: str = "version",
) -> dict[str, object]:
    """Values per category (metric across model versions); categories keep their order."""
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": plain(name),
            "x": [plain(c) for c in categories],
            "y": [None if v is None else _clean([v])[0] for v in values],
        }
        for name, values in series
    ]
    layout = _layout(title, x_title, "", len(series) > 1)
    layout["xaxis"] = {"title": {"text": plain(x_title)}, "type": "category"}  # "10" after "9"
    return {"data": data, "layout": layout, "note": ""}


# Plotly draws its toolbar in the top 28 px of a chart. The title sits below that band, left-aligned,
# so the toolbar never covers it, even where it is always shown (touch screens, where plotly turns
# "show on hover" into "always"; mlreport.css hides it again until the chart is tapped).
TITLE_BAND = 56
TITLE_CHARS = 48  # longer titles are cut (the whole text is in the legend or axis title)


def plain(text: str) -> str:
    """Store text for a plotly string (title, trace name, tick): plotly reads a few HTML tags in
    them (``<b>``, ``<br>``, ``<a href>``), so ``<`` and ``&`` are written as entities and a run
    named ``<b>x</b>`` is shown as typed, never as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def title_layout(text: str) -> dict[str, object]:
    """A chart title: left-aligned, just under the toolbar's band at the top (:data:`TITLE_BAND`)."""
    if len(text) > TITLE_CHARS:
        text = text[: TITLE_CHARS - 1] + "…"
    return {
        "text": plain(text),
        "font": {"size": 14},
        "x": 0,
        "xanchor": "left",
        "xref": "paper",
        "y": 1,
        "yanchor": "top",
        "yref": "container",
        "pad": {"t": 30},
    }


def _layout(title: str, x_title: str, y_title: str, legend: bool) -> dict[str, object]:
    layout: dict[str, object] = {
        "title": title_layout(title),
        "height": 340 if legend else 300,
        "margin": {"l": 50, "r": 20, "t": TITLE_BAND, "b": 40},
        "xaxis": {"title": {"text": plain(x_title)}},
        "yaxis": {"title": {"text": plain(y_title)}},
        "showlegend": legend,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }
    if legend:  # under the plot, where plotly makes room for it: beside it, it takes a third of a phone
        layout["legend"] = {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.2, "yanchor": "top"}
    return layout


def figure_div(figure: dict[str, object]) -> Markup:
    """The placeholder the browser script fills; the JSON sits HTML-escaped in an attribute."""
    note = figure.pop("note", "")
    payload = json.dumps(figure, separators=(",", ":"), sort_keys=True, allow_nan=False)
    if len(payload) > 200_000:  # a megabyte metric name (issue 11, F6): every string cut, then again
        payload = json.dumps(bounded(figure, NAME_LIMIT), separators=(",", ":"), sort_keys=True, allow_nan=False)
    html = Markup('<div class="mlreport-chart" data-search-exclude data-figure="') + h(payload) + Markup('"></div>')
    if note:
        html += Markup('<p class="mlreport-chart-note">') + h(note) + Markup("</p>")
    return html
