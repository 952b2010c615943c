"""Lineage drawn at build time as inline SVG (DESIGN.md decision 5).

A small layered layout: each node goes in the column after its furthest predecessor, columns
left to right, nodes top to bottom in the order given. Every node is a link; the page's own node
is highlighted. Colours come from CSS classes that use Material's variables, so dark mode works.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from .text import h, short_name

NODE_W, NODE_H = 190, 46
COL_GAP, ROW_GAP = 56, 14
PAD = 8
LABEL_CHARS = 26


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # dataset | run | parent | model | version | commit
    label: str
    detail: str
    url: str | None
    current: bool = False


def _layers(nodes: Sequence[Node], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    layer = {n.id: 0 for n in nodes}
    # Longest-path layering; the graphs are tiny (tens of nodes), a bounded relaxation is enough.
    for _ in range(len(nodes)):
        changed = False
        for src, dst in edges:
            if src in layer and dst in layer and layer[dst] < layer[src] + 1:
                layer[dst] = layer[src] + 1
                changed = True
        if not changed:
            break
    return layer


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def lineage_svg(nodes: Sequence[Node], edges: Sequence[tuple[str, str]], title: str) -> Markup:
    """The SVG markup (one line, no blank lines, so Markdown passes it through untouched)."""
    if not nodes:
        return Markup("")
    layer = _layers(nodes, edges)
    columns: dict[int, list[Node]] = {}
    for n in nodes:
        columns.setdefault(layer[n.id], []).append(n)
    pos: dict[str, tuple[int, int]] = {}
    height = 0
    for col, members in sorted(columns.items()):
        for row, n in enumerate(members):
            x = PAD + col * (NODE_W + COL_GAP)
            y = PAD + row * (NODE_H + ROW_GAP)
            pos[n.id] = (x, y)
            height = max(height, y + NODE_H + PAD)
    width = PAD + (max(columns) + 1) * (NODE_W + COL_GAP) - COL_GAP + PAD
    parts = [
        f'<svg class="mlreport-lineage" xmlns="http://www.w3.org/2000/svg" '
        f'xmlns:xlink="http://www.w3.org/1999/xlink" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="',
        str(h(short_name(title))),  # "lineage of run <name>": a name is cut (issue 11, F25)
        '"><defs><marker id="mlr-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" class="mlr-arrow"/>'
        "</marker></defs>",
    ]
    for src, dst in edges:
        if src not in pos or dst not in pos:
            continue
        x1, y1 = pos[src][0] + NODE_W, pos[src][1] + NODE_H // 2
        x2, y2 = pos[dst][0], pos[dst][1] + NODE_H // 2
        mid = (x1 + x2) // 2
        parts.append(
            f'<path class="mlr-edge" d="M{x1},{y1}C{mid},{y1} {mid},{y2} {x2 - 2},{y2}" marker-end="url(#mlr-arrow)"/>'
        )
    for n in nodes:
        x, y = pos[n.id]
        cls = f"mlr-node mlr-{n.kind}" + (" mlr-current" if n.current else "")
        box = (
            f'<g class="{cls}"><title>'
            + str(h(short_name(f"{n.label} — {n.detail}" if n.detail else n.label)))
            + f'</title><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
            f'<text x="{x + 10}" y="{y + 19}" class="mlr-label">'
            + str(h(_short(n.label)))
            + f'</text><text x="{x + 10}" y="{y + 36}" class="mlr-detail">'
            + str(h(_short(n.detail)))
            + "</text></g>"
        )
        if n.url and not n.current:
            # xlink:href, not href: Material's instant navigation rewrites every a[href] and
            # fails on SVG links (their href is read-only); browsers follow xlink:href alike.
            parts.append(f'<a xlink:href="{h(n.url)}">' + box + "</a>")
        else:
            parts.append(box)
    parts.append("</svg>")
    return Markup('<div class="mlreport-lineage-wrap" data-search-exclude>' + "".join(parts) + "</div>")
