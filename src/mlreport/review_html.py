"""The review on the site: the "Compared with @champion" section of a version page, gate badges,
and the alias timeline, as HTML fragments that render's templates place.

The data comes from :mod:`mlreport.review`, :mod:`mlreport.gates` and :mod:`mlreport.ledger`,
the same as ``mlreport diff``'s; URLs come from render's plan (passed in as page directories),
and every store string is escaped with render's :func:`~mlreport.render.text.h`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from markupsafe import Markup

from .gates import GateResult, GateStatus, evaluate, model_metrics
from .ledger import Holding, day, keeps_history, with_store_history
from .model import ModelVersion
from .render.tables import Cell, html_table
from .render.text import CELL_TEXT_LIMIT, bounded, fmt_number, h, short_name
from .review import Comparison, DatasetSide, DataStatus, MetricDelta, Subject, Verdict, compare_version, neighbours

if TYPE_CHECKING:
    from .render.base import RenderBase

_VERDICT = {
    Verdict.BETTER: ("mlr-better", "▲ better"),
    Verdict.WORSE: ("mlr-worse", "▼ worse"),
    Verdict.SAME: ("mlr-same", "same"),
    Verdict.NEW: ("mlr-same", "new"),
    Verdict.DROPPED: ("mlr-same", "not logged"),
    Verdict.NOT_COMPARABLE: ("mlr-same", ""),
}
_GATE = {
    GateStatus.PASS: ("mlr-gate-pass", "✓"),
    GateStatus.FAIL: ("mlr-gate-fail", "✗"),
    GateStatus.SKIP: ("mlr-gate-skip", "–"),
}


@dataclass(frozen=True)
class Section:
    """A titled fragment: the template writes ``h2(title)`` (an anchor of its own) then ``body``."""

    title: str
    body: Markup


def label(subject: Subject | None) -> str:
    return subject.label if subject is not None else "nothing"


def gate_badges(results: Sequence[GateResult]) -> Markup:
    """One badge per gate: ``✓ val_auc ≥ 0.86`` (the reason in the tooltip)."""
    if not results:
        return Markup("")
    out = ['<p class="mlreport-gates">']
    for r in results:
        cls, mark = _GATE[r.status]
        out.append(
            f'<span class="mlr-gate {cls}" title="{h(r.status.value + ": " + r.reason)}">'
            f"{mark} {h(r.gate.describe())}</span> "
        )
    out.append("</p>")
    return Markup("".join(out))


def gate_summary(results: Sequence[GateResult]) -> Cell:
    """A table cell for an index: ``✓ 2/2`` or ``✗ 1 of 2 failed``."""
    applied = [r for r in results if r.status != GateStatus.SKIP]
    if not applied:
        return Cell("")
    failed = [r for r in applied if r.status == GateStatus.FAIL]
    if failed:
        text = f"✗ {len(failed)} of {len(applied)} failed"
        cls = "mlr-gate-fail"
    else:
        text = f"✓ {len(applied)}/{len(applied)} pass"
        cls = "mlr-gate-pass"
    tip = "; ".join(f"{r.gate.describe()}: {r.status.value} ({r.reason})" for r in applied)
    html = Markup(f'<span class="mlr-gate {cls}" title="{h(tip)}">{h(text)}</span>')
    return Cell(text, html=html, sort=len(failed), csv=text)


def _num(value: float | None) -> str:
    return fmt_number(value) if value is not None else "—"


def _delta(m: MetricDelta) -> str:
    if m.delta is None:
        return "—"
    text = format(m.delta, "+.4g")
    if m.relative is not None and m.delta != 0:
        text += f" ({m.relative * 100:+.2g}%)"
    return text


def _dataset(d: DatasetSide | None, link: Callable[[str], str | None]) -> Markup:
    if d is None:
        return Markup("—")
    url = link(d.key)
    # built here, not through the templates' finalize hook: cut as a table cell is (fuzz F23)
    shown_name = h(short_name(d.name))
    name = Markup(f'<a href="{h(url)}">{shown_name}</a>') if url else shown_name
    parts = [name]
    if d.digest:
        parts.append(Markup("<code>") + h(d.digest[:12]) + Markup("</code>"))
    if d.source:
        parts.append(Markup('<span class="mlr-source">') + h(short_name(d.source, CELL_TEXT_LIMIT)) + Markup("</span>"))
    return Markup(" ").join(parts)


def comparison_section(
    c: Comparison,
    gates: Sequence[GateResult],
    *,
    version_url: Callable[[str], str | None],
    dataset_url: Callable[[str], str | None],
    compare_url: str | None,
    neighbours: tuple[str | None, str | None],
) -> Section:
    """The "Compared with @champion" section of a version page."""
    base = c.baseline
    title = f"Compared with {c.against} ({label(base)})" if base is not None else f"Compared with {c.against}"
    if base is not None and not c.baseline_note.startswith("@"):
        title = f"Compared with {label(base)}"
    out: list[Markup | str] = []
    out.append(gate_badges(gates))
    note = c.baseline_note if base is None else f"Baseline: {c.baseline_note}."
    note = short_name(note, CELL_TEXT_LIMIT)  # a sentence with the store's names in it (F25)
    if base is not None and base.version is not None:
        url = version_url(base.version)
        note_html = h(note)
        if url:
            note_html += Markup(f' <a href="{h(url)}">Open {h(label(base))}</a>')
        out.append(Markup('<p class="mlreport-baseline">') + note_html + Markup("</p>"))
    else:
        # the first letter only: str.capitalize() lowercased the model's name in the note
        out.append(Markup('<p class="mlreport-baseline">') + h(note[:1].upper() + note[1:]) + Markup("</p>"))
    if c.serving is not None and c.serving.note:
        serving = short_name(c.serving.note, CELL_TEXT_LIMIT)
        out.append(Markup('<p class="mlreport-serving">⚠ ') + h(serving) + Markup("</p>"))
    gated = {g.gate.metric for g in gates}
    shown = [
        m for m in c.metrics if (m.key_metric or m.key in gated) and (m.candidate is not None or m.baseline is not None)
    ]
    if shown and base is not None:
        rows = []
        for m in shown:
            cls, text = _VERDICT[m.verdict]
            goal = "higher is better" if m.goal == "max" else "lower is better"
            rows.append(
                [
                    Cell(m.key),
                    Cell(f"{goal}", html=Markup(f'<span title="{h(m.goal_source)}">{h(goal)}</span>')),
                    Cell(_num(m.candidate)),
                    Cell(_num(m.baseline)),
                    Cell(_delta(m)),
                    Cell(text, html=Markup(f'<span class="mlr-verdict {cls}">{h(text)}</span>')),
                ]
            )
        out.append(
            html_table(
                ["Metric", "Goal", label(c.candidate), label(base), "Difference", ""],
                rows,
                searchable=True,  # server-side rows: their cells keep their HTML (colours, links)
                sortable=False,
                numeric=[False, False, True, True, True, False],
            )
        )
    if base is not None:
        if c.params:
            rows = [[Cell(p.key), Cell(p.candidate or "—"), Cell(p.baseline or "—")] for p in c.params]
            out.append(Markup("<p><strong>Params that differ</strong></p>"))
            out.append(html_table(["Param", label(c.candidate), label(base)], rows, searchable=True, sortable=False))
        else:
            out.append(Markup("<p><strong>Params:</strong> the same.</p>"))
        changed = [d for d in c.datasets if d.status != DataStatus.SAME]
        if c.datasets and not changed:
            out.append(Markup("<p><strong>Data:</strong> the same inputs.</p>"))
        elif c.datasets:
            rows = []
            for d in c.datasets:
                status = d.status.value
                if d.status == DataStatus.CHANGED:
                    status = "changed " + ", ".join(d.changed_fields)
                rows.append(
                    [
                        Cell(d.role),
                        Cell(status),
                        Cell("", html=_dataset(d.candidate, dataset_url)),
                        Cell("", html=_dataset(d.baseline, dataset_url)),
                    ]
                )
            out.append(Markup("<p><strong>Data</strong></p>"))
            out.append(
                html_table(["Input", "", label(c.candidate), label(base)], rows, searchable=True, sortable=False)
            )
        if c.code is not None:
            k = c.code
            cand = Markup("<code>") + h((k.candidate_commit or "none")[:12]) + Markup("</code>")
            if k.candidate_url:
                cand = Markup(f'<a href="{h(k.candidate_url)}">') + cand + Markup("</a>")
            if not k.changed:
                out.append(Markup("<p><strong>Code:</strong> the same commit ") + cand + Markup(".</p>"))
            else:
                old = Markup("<code>") + h((k.baseline_commit or "none")[:12]) + Markup("</code>")
                line = Markup("<p><strong>Code:</strong> ") + old + Markup(" → ") + cand
                if k.compare_url:
                    line += Markup(f' (<a href="{h(k.compare_url)}">compare the commits</a>)')
                out.append(line + Markup("</p>"))
        if c.signature:
            rows = [
                [Cell(s.part), Cell(s.field), Cell(s.candidate or "—"), Cell(s.baseline or "—")] for s in c.signature
            ]
            out.append(Markup("<p><strong>Model signature</strong></p>"))
            out.append(
                html_table(["Part", "Field", label(c.candidate), label(base)], rows, searchable=True, sortable=False)
            )
    links = []
    before, after = neighbours
    if before is not None and (url := version_url(before)):
        links.append(Markup(f'<a class="mlr-prev" href="{h(url)}">← previous: {h(_v(before))}</a>'))
    if after is not None and (url := version_url(after)):
        links.append(Markup(f'<a class="mlr-next" href="{h(url)}">next: {h(_v(after))} →</a>'))
    if compare_url:
        links.append(Markup(f'<a class="mlr-compare" href="{h(compare_url)}">compare side by side</a>'))
    if links:
        out.append(Markup('<p class="mlreport-version-nav">') + Markup(" · ").join(links) + Markup("</p>"))
    return Section(title, Markup("\n").join(Markup(x) if isinstance(x, Markup) else h(x) for x in out if x))


def _v(version: str) -> str:
    # every version name this module shows passes here: cut like a name (issue 11, F25)
    return short_name(f"v{version}" if version[:1].isdigit() else version)


def compare_fragment(versions: Sequence[str], baseline: str | None) -> str:
    """The compare page's URL state for these versions: ``#versions=2,3&baseline=2``."""
    # the versions as the compare page's data names them (bounded: cut past CELL_TEXT_LIMIT)
    state = "versions=" + ",".join(quote(bounded(v), safe="") for v in versions)
    if baseline is not None:
        state += "&baseline=" + quote(bounded(baseline), safe="")
    return "#" + state


def timeline(entries: Sequence[Holding], version_url: Callable[[str], str | None], what: str) -> Markup:
    """``@champion: held by v3 since 2026-11-24, before that v2 (history starts here)`` as HTML,
    each version a link; newest-first entries from :func:`mlreport.ledger.timeline`."""
    if not entries:
        return Markup("")
    parts = []
    for i, e in enumerate(entries):
        who: Markup
        if e.versions:
            names = []
            for ver in e.versions:
                url = version_url(ver)
                names.append(Markup(f'<a href="{h(url)}">{h(_v(ver))}</a>') if url else h(_v(ver)))
            who = Markup(", ").join(names)
        else:
            who = Markup("nobody (removed)")
        when = ""
        if e.seen == "start":
            when = " (history starts here)"
        elif e.since is not None:
            when = f" since {day(e.since)}"
        if e.source:
            when += f" ({short_name(e.source)})"  # a move the store recorded: say where
        lead = "held by " if i == 0 else "before that "
        parts.append(h(lead) + who + h(when))
    return (
        Markup('<p class="mlreport-timeline"><strong>')
        + h(short_name(what))
        + Markup("</strong>: ")
        + Markup(", ").join(parts)
        + Markup("</p>")
    )


def timelines(
    aliases: Mapping[str, Sequence[Holding]],
    stages: Mapping[str, Sequence[Holding]],
    version_url: Callable[[str], str | None],
) -> Markup:
    out = [timeline(e, version_url, f"@{a}") for a, e in sorted(aliases.items())]
    out += [timeline(e, version_url, f"stage {s}") for s, e in sorted(stages.items())]
    return Markup("\n").join(x for x in out if x)


# ---------------------------------------------------------------------------------------------
# what render's pages call (one line each in render/pages.py)


def _model_metrics(r: RenderBase, model: str) -> set[str]:
    cache: dict[str, set[str]] = r.__dict__.setdefault("_review_model_metrics", {})
    if model not in cache:
        cache[model] = model_metrics(r.c, model)
    return cache[model]


def version_review(r: RenderBase, v: ModelVersion) -> tuple[Comparison, tuple[GateResult, ...]]:
    """A version against its baseline, and its gates, as its page and the indexes show them."""
    keys = list(r.model_key_metrics.get(v.model, ()))
    keys += [g.metric for g in r.config.gates if g.applies_to(v.model) and g.metric not in keys]
    c = compare_version(r.c, v, alias=r.config.baseline, keys=keys)
    return c, evaluate(r.config.gates, c, _model_metrics(r, v.model))


def version_section(r: RenderBase, here: str, v: ModelVersion) -> Section:
    """The "Compared with @champion" section of ``v``'s page."""
    c, results = version_review(r, v)

    def version_url(version: str) -> str | None:
        return r.link(here, r.urls.version.get((v.model, version)))

    def dataset_url(key: str) -> str | None:
        return r.link(here, r.urls.dataset.get(key))

    before, after = neighbours(r.c, v.model, v.version)
    chosen = [x for x in (c.baseline.version if c.baseline else None, v.version) if x is not None]
    compare = r.link(here, r.urls.model[v.model] + "compare/")
    return comparison_section(
        c,
        results,
        version_url=version_url,
        dataset_url=dataset_url,
        compare_url=(compare + compare_fragment(chosen, chosen[0] if len(chosen) > 1 else None)) if compare else None,
        neighbours=(before.version if before else None, after.version if after else None),
    )


def model_timeline(r: RenderBase, here: str, model: str, only_alias: str | None = None) -> Markup:
    """The alias (and stage) history of ``model``: what its store recorded, merged with the
    build's ledger (:func:`mlreport.ledger.merge`), and a line saying which it is."""
    ledger = with_store_history(r.ledger, r.c)
    if ledger is None or model not in ledger.models:
        return Markup("")
    m = ledger.models[model]
    note = Markup(
        '<p class="mlreport-timeline-source">'
        + (
            "From the history the store keeps (its own dated records), with what mlreport's builds saw before it."
            if keeps_history(r.c, model)
            else "The store keeps only the current aliases and stages: this is what mlreport's builds "
            "saw (history.json)."
        )
        + "</p>"
    )

    def version_url(version: str) -> str | None:
        return r.link(here, r.urls.version.get((model, version)))

    if only_alias is not None:
        shown = timeline(tuple(reversed(m.aliases.get(only_alias, ()))), version_url, f"@{only_alias}")
    else:
        shown = timelines(
            {a: tuple(reversed(e)) for a, e in m.aliases.items()},
            {s: tuple(reversed(e)) for s, e in m.stages.items()},
            version_url,
        )
    return shown + Markup("\n") + note if shown else shown


def newest_gates(r: RenderBase, model: str) -> Cell:
    """The models index's cell: the gates of the model's newest version."""
    versions = r.c.versions_by_model.get(model, ())
    if not versions or not r.config.gates:
        return Cell("")
    newest = versions[-1]
    cell = gate_summary(version_review(r, newest)[1])
    if not cell.text:
        return cell
    html = Markup(f"{h(_v(newest.version))}: ") + (cell.html or Markup(""))
    return Cell(
        f"{_v(newest.version)}: {cell.text}", html=html, sort=cell.sort, csv=f"{_v(newest.version)}: {cell.text}"
    )


# ---------------------------------------------------------------------------------------------
# the compare page: every version's numbers as data, chosen and drawn in the browser


COMPARE_POINTS = 200  # points per history and version on the compare page (thinned)
COMPARE_POINTS_MANY = 40  # when the model has more than 100 versions


def compare_payload(r: RenderBase, here: str, model: str) -> Markup:
    """``<div class="mlreport-compare" data-compare="…">``: what ``mlreport.js`` needs to compare
    any versions of ``model`` (all of them, not only the newest): per version its label, link,
    aliases, stage, tags, run, commit, inputs, metrics, params and key-metric histories; the goals;
    the baseline alias's holder and the default choice (the baseline and the newest version)."""
    import json

    from .render.charts import lttb

    c = r.c
    versions = c.versions_by_model.get(model, ())
    keys = list(r.model_key_metrics.get(model, ()))
    points = COMPARE_POINTS if len(versions) <= 100 else COMPARE_POINTS_MANY
    rows = []
    metric_keys: set[str] = set()
    for v in versions:
        run = c.run_by_key.get(v.run_key or "")
        lm = c.logged_model_by_key.get(v.logged_model_key or "")
        metrics = v.metrics or (run.metrics if run else (lm.metrics if lm else ()))
        # JSON has no NaN or infinity (a store may hold either): they travel as null
        values = {m.key: (m.final if math.isfinite(m.final) else None) for m in metrics}
        metric_keys.update(values)
        history: dict[str, tuple[list[float], list[float], int]] = {}
        if run is not None:
            for key in keys:
                hist = c.history(run.key, key)
                if hist is not None and len(hist) > 1:
                    # charts: LTTB keeps a spike that even thinning drops; the third item is how many
                    # points were logged, so the page can say the chart is downsampled
                    xs, ys = lttb([float(s) for s in hist.steps], list(hist.values), points)
                    history[key] = (xs, ys, len(hist))
        inputs = []
        for ref in run.inputs if run else ():
            d = c.dataset_by_key.get(ref.dataset_key)
            inputs.append(
                [ref.context or "input", d.name if d else ref.dataset_key, (d.digest or "")[:12] if d else ""]
            )
        commit = run.git.commit if run and run.git.commit else None
        rows.append(
            {
                "v": v.version,
                "label": _v(v.version),
                "url": r.link(here, r.urls.version.get((model, v.version))),
                "aliases": list(v.aliases),
                "stage": v.stage,
                "tags": dict(v.tags),
                "run": run.name if run else None,
                "run_url": r.link(here, r.urls.run.get(run.key)) if run else None,
                "commit": commit[:12] if commit else None,
                "data": inputs,
                "metrics": values,
                "params": dict(run.params if run else (lm.params if lm else {})),
                "history": history,
            }
        )
    others = sorted(metric_keys - set(keys))
    holder = c.model_by_name[model].aliases.get(r.config.baseline) if model in c.model_by_name else None
    newest = versions[-1].version if versions else None
    default = [x for x in dict.fromkeys([holder, newest]) if x is not None]
    data = {
        "model": model,
        "alias": r.config.baseline,
        "baseline": holder,
        "default": default,
        "keys": keys,
        "metrics": [*keys, *others],
        "goals": {k: c.goal(k) for k in [*keys, *others]},
        "versions": rows,
    }
    # every store string cut for the page (issue 11, F6: a 1 MB param or metric name)
    text = json.dumps(bounded(data), separators=(",", ":"), ensure_ascii=False, sort_keys=True, allow_nan=False)
    return Markup('<div class="mlreport-compare" data-search-exclude data-compare="') + h(text) + Markup('"></div>')
