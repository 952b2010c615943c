"""The model card block of a version page (:mod:`mlreport.card` builds the record).

One table per section: field, value, where it came from; an empty field reads "not recorded".
Prose fields are Markdown from a store, drawn with :func:`~mlreport.render.text.note` (escaped,
links checked); everything else is escaped text. Excluded from search (the page's own entry
already names the model, its aliases, params and key metrics).
"""

from __future__ import annotations

import re

from markupsafe import Markup

from ..card import NOT_RECORDED, CardField, ModelCard
from .text import CELL_TEXT_LIMIT, NAME_LIMIT, esc, fmt_goal, fmt_number, h, note, short_name, shown


def card_html(card: ModelCard, readme_url: str | None = None) -> Markup:
    """The card as HTML; ``readme_url`` links the Hugging Face ``README.md`` written beside the page."""
    out = [Markup('<div class="mlreport-card" data-search-exclude>')]
    recorded = sum(1 for s in card.sections for f in s.fields if f.value is not None)
    total = sum(len(s.fields) for s in card.sections)
    line = f"{recorded} of {total} fields recorded; each says where it came from."
    out.append(Markup('<p class="mlreport-lede">') + h(line))
    if readme_url:
        out.append(Markup(f' <a href="{h(readme_url)}" download>Download as README.md</a> (Hugging Face model card)'))
    out.append(Markup("</p>"))
    for section in card.sections:
        out.append(Markup(f'<h3 id="card-{h(section.key.replace("_", "-"))}">') + h(section.title) + Markup("</h3>"))
        rows = [_row(f) for f in section.fields]
        if section.key == "metrics" and card.metrics:
            rows = rows[1:]  # the metrics table below says it in full
            out.append(_metrics_table(card))
        if rows:
            out.append(Markup('<table class="mlreport-kv mlreport-card-fields"><tbody>') + Markup("").join(rows))
            out.append(Markup("</tbody></table>"))
    out.append(Markup("</div>"))
    return Markup("").join(out)


#: a time as render.text.fmt_time writes it: kept on one line (issue 10)
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? UTC$")


def _row(f: CardField) -> Markup:
    # one string join, not a chain of Markup additions (each re-checks and copies): every part
    # is a constant or the escaped output of h/note/shown
    if f.value is None:
        value = f'<span class="mlr-not-recorded">{NOT_RECORDED}</span>'
        source = ""
    elif not f.prose and _TIME.match(f.value):
        value = f'<span class="mlr-time">{esc(f.value)}</span>'
        source = f'<span class="mlr-card-source">{esc(short_name(f.source or ""))}</span>'
    else:
        value = str(note(f.value) if f.prose else shown(f.value, CELL_TEXT_LIMIT))
        source = f'<span class="mlr-card-source">{esc(short_name(f.source or ""))}</span>'
    return Markup(f"<tr><th>{esc(short_name(f.label))} </th><td>{value} </td><td>{source} </td></tr>")


_KEY = ' <span class="mlr-key">key</span>'


def _metrics_table(card: ModelCard) -> Markup:
    rows = [
        f"<tr><td>{shown(m.name, NAME_LIMIT)}{_KEY if m.key else ''}"
        f' </td><td class="mlr-num" data-sort="{esc(repr(m.value))}">{esc(fmt_number(m.value))}'
        f" </td><td>{esc(fmt_goal(m.goal))} </td><td>{esc(short_name(m.goal_source))} </td></tr>"
        for m in card.metrics
    ]
    head = Markup(
        '<div class="mlreport-table-wrap"><table class="mlreport-table" data-sortable><thead><tr>'
        '<th>Metric </th><th data-type="number">Value </th><th>Goal </th><th>Goal from </th></tr></thead><tbody>'
    )
    source = card.metrics[0].source
    tail = Markup("</tbody></table></div>") + Markup('<p class="mlr-card-source">Source: ') + h(short_name(source))
    return head + Markup("".join(rows)) + tail + Markup(" metrics, final values.</p>")
