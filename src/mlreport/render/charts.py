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

from markupsafe import Markup

from .text import h

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


def line_figure(
    title: str,
    series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    x_title: str = "step",
    y_title: str = "",
) -> dict[str, object]:
    """A line chart of one or more (name, xs, ys) series, downsampled per series."""
    data = []
    sampled = False
    for name, xs, ys in series:
        sx, sy = lttb(xs, ys)
        sampled = sampled or len(ys) > MAX_POINTS
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if len(sx) <= 60 else "lines",
                "name": name,
                "x": sx,
                "y": sy,
            }
        )
    return {
        "data": data,
        "layout": _layout(title, x_title, y_title, len(series) > 1),
        "note": f"downsampled to {MAX_POINTS} points per series" if sampled else "",
    }


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
            "name": name,
            "x": list(categories),
            "y": [None if v is None else _clean([v])[0] for v in values],
        }
        for name, values in series
    ]
    layout = _layout(title, x_title, "", len(series) > 1)
    layout["xaxis"] = {"title": {"text": x_title}, "type": "category"}  # "10" after "9"
    return {"data": data, "layout": layout, "note": ""}


def _layout(title: str, x_title: str, y_title: str, legend: bool) -> dict[str, object]:
    return {
        "title": {"text": title, "font": {"size": 14}},
        "height": 300,
        "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
        "xaxis": {"title": {"text": x_title}},
        "yaxis": {"title": {"text": y_title}},
        "showlegend": legend,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }


def figure_div(figure: dict[str, object]) -> Markup:
    """The placeholder the browser script fills; the JSON sits HTML-escaped in an attribute."""
    note = figure.pop("note", "")
    payload = json.dumps(figure, separators=(",", ":"), sort_keys=True, allow_nan=False)
    html = Markup('<div class="mlreport-chart" data-search-exclude data-figure="') + h(payload) + Markup('"></div>')
    if note:
        html += Markup('<p class="mlreport-chart-note">') + h(note) + Markup("</p>")
    return html
