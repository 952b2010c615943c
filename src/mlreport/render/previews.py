"""The artifacts section of a page: the list of files, and a preview of each one that has one.

Pure: the bytes were read before render (:mod:`mlreport.previews`); this module only turns
:class:`~mlreport.preview_records.Preview` records into HTML. Everything in a preview came from a store
and is escaped here; an SVG is only ever an ``<img>`` (no script runs in an image), an HTML
report only a sandboxed ``<iframe>`` without ``allow-scripts``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from ..model import Artifact, LoggedModel
from ..preview_records import HEATMAP, HTML, IMAGE, MAX_PER_OWNER, NOT_HELD, PLOT, TABLE, TEXT, Preview, Previews
from ..sanitize import load_json_text
from .charts import figure_div
from .tables import Cell, html_table, num
from .text import CELL_TEXT_LIMIT, fmt_size, h, rel_url, short_name, shown

PAGE_ROWS = 50  # rows of a table preview per page (the others fold away, page by page)
_KIND_WORDS = {
    IMAGE: "image",
    HEATMAP: "confusion matrix",
    TABLE: "table",
    TEXT: "text",
    HTML: "HTML report",
    PLOT: "chart",
}


def artifacts_block(
    items: Sequence[Artifact], here: str, store: str | None, previews: Previews | None
) -> Markup | None:
    """The artifacts table (a download link for every copied file, what was not copied and why)
    followed by the previews, in artifact order."""
    if not items:
        return None
    found: list[tuple[Artifact, Preview | None]] = [
        (a, previews.get(store, a) if previews is not None and store is not None else None) for a in items
    ]
    if previews is not None and previews.enabled:
        # listed by the store with no place for its bytes (a remote URI, a file known only from
        # a commit): the row says so rather than leaving the reader to wonder
        found = [(a, Preview(a.path, None, note=NOT_HELD) if p is None and a.location is None else p) for a, p in found]
    has_notes = any(a.note for a in items)
    has_previews = any(p is not None for _a, p in found)  # a column only where there is one
    shown = [(a, p) for a, p in found if p is not None and p.kind is not None and _has_body(p)]
    anchors = {id(a): f"artifact-{i + 1}" for i, (a, _p) in enumerate(shown)}
    rows = []
    for a, p in found:
        url = rel_url(here, p.url) if p is not None and p.url else None
        row = [Cell(a.path, url), num(a.size, fmt_size(a.size))]
        if has_notes:
            row.append(Cell(a.note or ""))
        if has_previews:
            row.append(_preview_cell(a, p, anchors.get(id(a))))
        rows.append(row)
    columns = ["Path", "Size", *(["What it is"] if has_notes else []), *(["Preview"] if has_previews else [])]
    out = [html_table(columns, rows, numeric=[c == "Size" for c in columns])]
    skipped = [p for _a, p in found if p is not None and p.note and "not copied" in p.note]
    if skipped:
        n = len(skipped)
        out.append(
            Markup('<p class="mlreport-preview-skipped">')
            + h(f"{n} file{'s' if n != 1 else ''} not copied into the site; the Preview column says why.")
            + Markup("</p>")
        )
    unread = sum(1 for a, p in found if p is None and a.location is not None)
    if previews is not None and previews.by_location and unread:
        out.append(
            Markup('<p class="mlreport-preview-skipped">')
            + h(f"{unread:,} more file{'s' if unread != 1 else ''} listed without a preview ")
            + h(f"(previews are made for the first {MAX_PER_OWNER} files of a run or model).")
            + Markup("</p>")
        )
    for a, p in shown:
        if p is not None:
            out.append(_preview(here, a, p, anchors[id(a)]))
    return Markup("\n").join(out)


def _has_body(p: Preview) -> bool:
    if p.kind in (IMAGE, HTML):
        return p.url is not None
    return True


def _preview_cell(a: Artifact, p: Preview | None, anchor: str | None) -> Cell:
    if p is None:
        return Cell("")
    words = _KIND_WORDS.get(p.kind or "", "")
    text = "; ".join(x for x in (words, p.note) if x)
    return Cell(text, f"#{anchor}" if anchor else None)


def _download(here: str, p: Preview) -> Markup:
    if not p.url:
        return Markup("")
    return Markup(' <a class="mlreport-download" href="') + h(rel_url(here, p.url)) + Markup('" download>Download</a>')


def _caption(here: str, p: Preview) -> Markup:
    note = (Markup(' <span class="mlreport-preview-note">') + h(p.note) + Markup("</span>")) if p.note else Markup("")
    return (
        Markup('<p class="mlreport-preview-caption"><code>')
        + shown(p.path, CELL_TEXT_LIMIT)  # a path is store text: cut, the whole in a file (F25)
        + Markup("</code>")
        + note
        + _download(here, p)
        + Markup("</p>")
    )


def _preview(here: str, a: Artifact, p: Preview, anchor: str) -> Markup:
    # a div, not a <figure>: the theme centres figures, and text and tables read from the left
    start = Markup('<div class="mlreport-preview mlreport-preview-') + h(p.kind) + Markup('" id="') + h(anchor)
    start += Markup('" data-search-exclude>')
    body: Markup
    if p.kind == IMAGE and p.url:
        size, scale = "", 1
        if p.width and p.height:
            # a tiny image (a 16 px sample) is drawn larger, pixel for pixel; a large one fits
            scale = max(1, 128 // max(p.width, p.height)) if max(p.width, p.height) < 128 else 1
            size = f' width="{int(p.width) * scale}" height="{int(p.height) * scale}"'
        style = "max-width: 100%; height: auto" + ("; image-rendering: pixelated" if scale > 1 else "")
        body = (
            Markup('<a href="')
            + h(rel_url(here, p.url))
            + Markup('"><img src="')
            + h(rel_url(here, p.url))
            + Markup('" alt="')
            + h(short_name(p.path))
            + Markup(f'" loading="lazy" decoding="async"{size} style="{style}"></a>')
        )
    elif p.kind == HTML and p.url:
        # sandbox="" : no scripts, no same-origin access, no forms, no popups, no top navigation
        body = (
            Markup(
                '<iframe class="mlreport-preview-frame" sandbox="" referrerpolicy="no-referrer" '
                'style="width: 100%; height: 24rem; border: 1px solid var(--md-default-fg-color--lightest)" src="'
            )
            + h(rel_url(here, p.url))
            + Markup('" title="')
            + h(short_name(p.path))
            + Markup('"></iframe>')
        )
    elif p.kind == HEATMAP:
        body = figure_div(heatmap_figure(p))
    elif p.kind == TABLE:
        body = paged_table(p.columns, p.rows)
    elif p.kind == PLOT:
        body = figure_div({**json.loads(p.figure), "note": ""})
        if p.rows:  # a declared plot's data, folded under its chart
            n = len(p.rows)
            body += Markup("<details><summary>") + h(f"the data: {n:,} row{'s' if n != 1 else ''}")
            body += Markup("</summary>") + paged_table(p.columns, p.rows) + Markup("</details>")
    else:
        body = Markup('<pre class="mlreport-preview-text"><code>') + h(p.text or "") + Markup("</code></pre>")
        if p.text and p.text.count("\n") > 30:
            body = (
                Markup("<details><summary>") + h(f"{p.text.count(chr(10)) + 1:,} lines") + Markup("</summary>") + body
            )
            body += Markup("</details>")
    return start + _caption(here, p) + body + Markup("</div>")


def paged_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Markup:
    """A static table, PAGE_ROWS rows at a time: the first page shown, each next one folded in a
    ``<details>`` (readable without JavaScript, never one huge table)."""

    def table(part: Sequence[Sequence[str]]) -> Markup:
        head = Markup("").join(Markup("<th>") + h(c) + Markup("</th>") for c in columns)
        body = Markup("").join(
            Markup("<tr>") + Markup("").join(Markup("<td>") + h(v) + Markup("</td>") for v in r) + Markup("</tr>")
            for r in part
        )
        return (
            Markup('<div class="mlreport-table-wrap"><table class="mlreport-table mlreport-preview-table"><thead><tr>')
            + head
            + Markup("</tr></thead><tbody>")
            + body
            + Markup("</tbody></table></div>")
        )

    out = [table(rows[:PAGE_ROWS])]
    for start in range(PAGE_ROWS, len(rows), PAGE_ROWS):
        part = rows[start : start + PAGE_ROWS]
        label = f"rows {start + 1:,}–{start + len(part):,}"
        out.append(Markup('<details class="mlreport-page-rows"><summary>') + h(label) + Markup("</summary>"))
        out.append(table(part) + Markup("</details>"))
    return Markup("").join(out)


def _num_text(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.4g}"


def _plain(text: str) -> str:
    """Text plotly draws as text: it reads a few tags in labels (``<a href>``, ``<b>``), so the
    brackets of a store's label become look-alikes."""
    return text.replace("<", "‹").replace(">", "›")


def heatmap_figure(p: Preview) -> dict[str, Any]:
    """The plotly heatmap of a confusion matrix (rows actual, columns predicted)."""
    n = len(p.labels)
    labels = [_plain(x) for x in p.labels]
    return {
        "data": [
            {
                "type": "heatmap",
                "x": labels,
                "y": labels,
                "z": [list(r) for r in p.matrix],
                "text": [[_num_text(v) for v in r] for r in p.matrix],
                "texttemplate": "%{text}" if n <= 20 else "",
                "colorscale": "Blues",
                "reversescale": True,  # plotly's Blues runs dark to light: more is darker
                "hovertemplate": "actual %{y}<br>predicted %{x}<br>%{z}<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": _plain(short_name(p.path)), "font": {"size": 14}},
            "height": max(300, min(700, 80 + 28 * n)),
            "margin": {"l": 80, "r": 20, "t": 40, "b": 60},
            "xaxis": {"title": {"text": "predicted"}, "type": "category"},
            "yaxis": {"title": {"text": "actual"}, "type": "category", "autorange": "reversed"},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
        "note": "",
    }


def signature_table(lm: LoggedModel | None) -> Markup | None:
    """The model's signature as a schema table (part, name, type, required), from its MLmodel."""
    if lm is None or not lm.signature:
        return None
    rows = []
    for part in ("inputs", "outputs", "params"):
        text = lm.signature.get(part)
        if not text:
            continue
        for name, kind, extra in _fields(text):
            rows.append([Cell(part), Cell(name), Cell(kind), Cell(extra)])
    if not rows:
        return None
    out = html_table(["Part", "Name", "Type", "Details"], rows, searchable=False, sortable=False)
    if lm.input_example:
        out += Markup('<p class="mlreport-signature-example">Input example: <code>') + h(lm.input_example)
        out += Markup("</code> (in the artifacts below)</p>")
    return out


def _fields(text: str) -> list[tuple[str, str, str]]:
    """(name, type, details) of each column, tensor or param of one signature part."""
    try:
        spec = load_json_text(text)  # clean and bounded: a store string (fuzz F21)
    except ValueError:
        return [("", "", text[:200])]
    if not isinstance(spec, list):
        return [("", "", text[:200])]
    out = []
    for i, col in enumerate(spec):
        if not isinstance(col, dict):
            continue
        name = str(col.get("name", f"[{i}]"))
        if "tensor-spec" in col and isinstance(col["tensor-spec"], Mapping):
            t = col["tensor-spec"]
            kind = f"tensor {t.get('dtype', '?')}"
            extra = f"shape {json.dumps(t.get('shape'))}"
        else:
            kind = str(col.get("type", "?"))
            details = [] if col.get("required", True) else ["optional"]
            if "default" in col:
                details.append(f"default {json.dumps(col['default'], sort_keys=True)}")
            if "shape" in col and col["shape"] is not None:
                details.append(f"shape {json.dumps(col['shape'])}")
            extra = ", ".join(details)
        out.append((name, kind, extra))
    return out


__all__ = ["artifacts_block", "heatmap_figure", "paged_table", "signature_table"]
