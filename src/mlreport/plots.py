"""Plots that stores log as data, drawn as charts by the artifact previews (issue 10).

Two kinds, both read before render and handed to it as a plotly figure (JSON text):

- a table whose artifact note names its axes, ``… linear, observed vs bin, "Calibration"``:
  the catalog's description of a declared plot (the DVC reader writes a ``plots:`` entry of
  ``dvc.yaml`` so, dvclive's ``log_plot`` included). Its x and y columns become a line chart
  (``scatter`` templates: points; ``bar_horizontal``: bars), the table stays below it;
- a plotly figure saved as JSON (W&B's ``wandb.Plotly`` media, ``*.plotly.json``): kept only as
  data and layout, sanitised. Only known trace types are kept (none that fetch map tiles or
  topology from the network); layout images are kept only as ``data:`` URIs, ``frames``,
  ``config`` and map/geo layouts are dropped, every string is cut, and a figure of more than
  :data:`MAX_VALUES` values is not drawn. plotly.js draws it with no script of the figure's own
  (plotly figures have none: that is what "only data and layout" keeps).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence

__all__ = ["MAX_VALUES", "PlotAxes", "figure_json", "plot_axes", "plotly_figure", "table_figure"]

MAX_VALUES = 200_000  # numbers and strings in a figure drawn from a store's plotly JSON
MAX_STRING = 1_000
MAX_DEPTH = 20

_TRACES = frozenset(
    {
        "bar",
        "box",
        "candlestick",
        "contour",
        "funnel",
        "heatmap",
        "histogram",
        "histogram2d",
        "histogram2dcontour",
        "indicator",
        "ohlc",
        "parcoords",
        "pie",
        "sankey",
        "scatter",
        "scattergl",
        "scatterpolar",
        "barpolar",
        "sunburst",
        "table",
        "treemap",
        "violin",
        "waterfall",
    }
)
# layout keys that make plotly fetch from the network or that only bloat a static page
_LAYOUT_DROP = frozenset({"mapbox", "map", "geo", "template", "width", "autosize", "updatemenus", "sliders"})


class PlotAxes:
    """What a note says about a plot: template, x and y column names, title."""

    __slots__ = ("template", "title", "x", "y")

    def __init__(self, template: str | None, x: str, y: str, title: str | None) -> None:
        self.template, self.x, self.y, self.title = template, x, y, title


_PARTS = re.compile(r'\s*"[^"]*"|[^,]+')


def plot_axes(note: str | None) -> PlotAxes | None:
    """The axes a note names (``<tool> plot: <template>, <y> vs <x>, "<title>"``), or None."""
    if not note:
        return None
    head, sep, rest = note.partition(":")
    if not sep or not re.search(r"\bplot\b", head, re.I):
        return None
    template: str | None = None
    title: str | None = None
    axes: tuple[str, str] | None = None
    for raw in _PARTS.findall(rest):
        part = raw.strip()
        if part.startswith('"') and part.endswith('"') and len(part) >= 2:
            title = part[1:-1]
        elif " vs " in part and axes is None:
            y, _, x = part.partition(" vs ")
            axes = (x.strip(), y.strip())
        elif axes is None and template is None and re.fullmatch(r"[a-z_]+", part):
            template = part
    if axes is None or not axes[0] or not axes[1]:
        return None
    return PlotAxes(template, axes[0], axes[1], title)


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def table_figure(
    axes: PlotAxes, columns: Sequence[str], rows: Sequence[Sequence[str]], path: str
) -> dict[str, object] | None:
    """A line (or scatter, or bar) chart of a table's ``axes.y`` over ``axes.x``; None when the
    table lacks either column or its y values are not numbers."""
    if axes.x not in columns or axes.y not in columns or not rows:
        return None
    xi, yi = list(columns).index(axes.x), list(columns).index(axes.y)
    xs: list[object] = []
    ys: list[float] = []
    for row in rows:
        if max(xi, yi) >= len(row):
            continue
        y = _float(row[yi])
        if y is None:
            return None
        x = _float(row[xi])
        xs.append(x if x is not None else row[xi])
        ys.append(y)
    if not ys:
        return None
    template = axes.template or ""
    if template.startswith("bar_horizontal"):
        trace: dict[str, object] = {"type": "bar", "orientation": "h", "x": ys, "y": xs}
        xaxis, yaxis = axes.y, axes.x
    else:
        mode = "markers" if template == "scatter" else "lines+markers"
        trace = {"type": "scatter", "mode": mode, "x": xs, "y": ys, "name": axes.y}
        xaxis, yaxis = axes.x, axes.y
    return {
        "data": [trace],
        "layout": {
            "title": {"text": (axes.title or path)[:120], "font": {"size": 14}},
            "height": 320,
            "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
            "xaxis": {"title": {"text": xaxis[:80]}},
            "yaxis": {"title": {"text": yaxis[:80]}},
            "showlegend": False,
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_VALUES


def _clean(value: object, budget: _Budget, depth: int) -> object:
    budget.left -= 1
    if budget.left < 0 or depth > MAX_DEPTH:
        raise ValueError("too large")
    if isinstance(value, str):
        return value[:MAX_STRING]
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_clean(v, budget, depth + 1) for v in value]
    if isinstance(value, Mapping):
        return {str(k)[:200]: _clean(v, budget, depth + 1) for k, v in value.items()}
    return None


def plotly_figure(data: object) -> tuple[dict[str, object] | None, str | None]:
    """A sanitised copy of a plotly figure (``{"data": [traces], "layout": {...}}``) and a note
    saying what was left out; (None, None) when ``data`` is not a figure, (None, why) when it
    is one that is not drawn."""
    if not isinstance(data, Mapping) or not isinstance(data.get("data"), list):
        return None, None
    traces = data["data"]
    if not traces or not all(isinstance(t, Mapping) for t in traces):
        return None, None
    raw_layout = data.get("layout")
    layout: Mapping[str, object] = raw_layout if isinstance(raw_layout, Mapping) else {}
    if not any(k in t for t in traces for k in ("x", "y", "z", "values", "dimensions", "cells", "value")):
        return None, None
    budget = _Budget()
    left_out: list[str] = []
    kept = []
    try:
        for t in traces:
            kind = t.get("type", "scatter")
            if kind not in _TRACES:
                left_out.append(f"a {str(kind)[:40]} trace")
                continue
            kept.append(_clean(t, budget, 0))
        clean_layout: dict[str, object] = {}
        for k, v in layout.items():
            if k in _LAYOUT_DROP:
                continue
            if k == "images":
                items = v if isinstance(v, list) else []
                images = [i for i in items if isinstance(i, Mapping) and str(i.get("source", "")).startswith("data:")]
                if len(images) < len(items) or not isinstance(v, list):
                    left_out.append("layout images from outside the site")
                v = images
            clean_layout[str(k)[:200]] = _clean(v, budget, 0)
    except (ValueError, RecursionError):
        return None, f"a plotly figure of more than {MAX_VALUES:,} values is not drawn"
    if not kept:
        return None, "no trace of a kind drawn offline (" + ", ".join(left_out) + ")"
    height = clean_layout.get("height")
    clean_layout["height"] = min(800, max(240, int(height))) if isinstance(height, (int, float)) else 380
    clean_layout.setdefault("paper_bgcolor", "rgba(0,0,0,0)")
    clean_layout.setdefault("plot_bgcolor", "rgba(0,0,0,0)")
    note = ("left out: " + ", ".join(sorted(set(left_out)))) if left_out else None
    return {"data": kept, "layout": clean_layout}, note


def figure_json(figure: Mapping[str, object]) -> str:
    """The figure as the JSON text a Preview carries (sorted keys: the same bytes every build)."""
    return json.dumps(figure, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
