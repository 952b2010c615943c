"""``mlreport diff``: a candidate against production, as a pull-request comment or as JSON.

The comparison and the gates come from :mod:`mlreport.review` and :mod:`mlreport.gates`, the
same ones the site shows; this module resolves the command line's words, adds deep links into
the published site (its URLs planned by render, never re-derived here) and writes the text.

Every store string is untrusted, and a pull-request comment is a place where text acts: ``@name``
notifies a user and ``#12`` links an issue on GitHub, ``~label`` and ``!12`` on GitLab. So every
name, value and alias goes inside ``<code>`` (which neither host scans for references), escaped
for HTML and for table cells.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import __version__
from .catalog import Catalog
from .config import Config, SourceConfig, find_config, load_config
from .errors import UsageError
from .gates import GateResult, GateStatus, check_gates, evaluate, model_metrics
from .review import (
    Comparison,
    DatasetSide,
    DataStatus,
    MetricDelta,
    Subject,
    Verdict,
    choose_baseline,
    compare,
    resolve,
    subject_of_run,
)

MARKER = "<!-- mlreport-diff -->"  # the CI recipes find (and update) their one comment by it
SCHEMA = "mlreport-diff/1"
FORMATS = ("markdown", "json")
MAX_TEXT = 120  # characters of one untrusted value shown in a comment
MAX_ROWS = 40  # rows of the "all metrics" and params tables before "and N more" (GitHub)
SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Flavour:
    """What one host accepts in a pull-request comment, from its documented rules. Both hosts
    parse GitHub-flavoured Markdown tables, ``<details>``/``<summary>``, ``<code>``, ``<sub>`` and
    ``<br>``; they differ in how long a comment may be and in GitHub's alert blocks."""

    name: str
    title: str
    limit: int  # characters one comment may hold (GitHub: 65,536; GitLab: 1,000,000)
    max_rows: int  # table rows before "and N more", the first thing given up to fit the limit
    alerts: bool  # "> [!WARNING]" renders as an alert (GitHub; GitLab only since 17.10, so not used)


FLAVOURS = {
    "github": Flavour("github", "GitHub", 65_536, MAX_ROWS, alerts=True),
    "gitlab": Flavour("gitlab", "GitLab", 1_000_000, 1_000, alerts=False),
}


def comment_length(text: str) -> int:
    """The length a host counts, taken high: UTF-16 code units, never fewer than characters
    (an emoji is one character in Ruby, two units in JavaScript), so a comment that fits here
    fits there."""
    return len(text.encode("utf-16-le")) // 2


CUT_NOTE = "\n… (cut to fit {title}'s limit of {limit:,} characters; the site has the whole comparison)\n"


def cut(text: str, flavour: Flavour) -> str:
    """The text whole when it fits the host, else its first lines that fit, every ``<details>``
    they open closed again, and one line saying so. Cut at a line, so a table keeps whole rows."""
    if comment_length(text) <= flavour.limit:
        return text
    note = CUT_NOTE.format(title=flavour.title, limit=flavour.limit)
    budget = flavour.limit - comment_length(note) - 2 * comment_length("\n</details>\n")
    kept: list[str] = []
    used = opened = 0
    for line in text.split("\n"):
        size = comment_length(line) + 1
        if used + size > budget - opened * comment_length("\n</details>\n"):
            break
        kept.append(line)
        used += size
        opened += line.count("<details>") - line.count("</details>")
    return "\n".join(kept) + "\n</details>\n" * max(0, opened) + note


@dataclass(frozen=True)
class DiffReport:
    comparison: Comparison
    gates: tuple[GateResult, ...]
    warnings: tuple[str, ...]
    links: Mapping[str, str]  # "candidate", "baseline", "model", "compare", "run": absolute URLs

    @property
    def failed(self) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates if g.status == GateStatus.FAIL)

    @property
    def exit_status(self) -> int:
        """1 when a gate fails, so CI can block the merge; else 0."""
        return 1 if self.failed else 0


# ---------------------------------------------------------------------------------------------
# the command line's words


def split_candidate(spec: str) -> tuple[str | None, str | None]:
    """``(store, run id)`` when the candidate names a store (``PATH``, ``PATH#RUN_ID``, a bucket
    URL), else ``(None, None)``: the candidate is then looked up in the catalog as it is."""
    if spec.startswith(("runs:/", "models:/")):
        return None, None
    store, sep, run_id = spec.partition("#")
    if "://" in store or os.path.exists(store):
        return store, (run_id or None) if sep else None
    return None, None


def diff_config(candidate: str, sources: Sequence[str], config_file: str | None, site_url: str | None) -> Config:
    """The config for ``diff``: ``mlreport.yml`` (or ``-c FILE``), the SOURCEs given instead of
    its sources, the candidate's store added when the candidate names one."""
    from .readers import BUILTIN, available_readers

    path = Path(config_file) if config_file else find_config(Path.cwd())
    known = list(dict.fromkeys([*BUILTIN, *available_readers()]))
    config = load_config(path, known) if path else Config()
    if sources:
        config = config.with_overrides(sources=tuple(SourceConfig(s) for s in sources), base_dir=Path.cwd(), path=None)
    store, _ = split_candidate(candidate)
    if store is not None and all(s.path != store for s in config.sources):
        config = replace(config, sources=(*config.sources, SourceConfig(store)))
    if not config.sources:
        raise UsageError(
            "nothing to compare: pass SOURCEs (the stores that hold the candidate and the baseline) "
            "or list sources in mlreport.yml"
        )
    return config.with_overrides(site_url=site_url)


def _candidate(catalog: Catalog, spec: str) -> Subject:
    store, run_id = split_candidate(spec)
    if store is None:
        if spec.startswith("models:/"):
            spec = spec[len("models:/") :]
        return resolve(catalog, spec)
    runs = [r for r in catalog.runs if r.origin.store == store]
    if run_id is not None:
        chosen = [r for r in runs if run_id in (r.id, r.key)]
        if not chosen:
            known = ", ".join(sorted(r.id for r in runs)[:10]) or "none"
            raise UsageError(f"cannot compare {spec}: no run {run_id} in {store} (runs: {known})")
        return subject_of_run(catalog, chosen[0])
    if len(runs) != 1:
        raise UsageError(f"cannot compare {spec}: {store} holds {len(runs)} runs; name one as {store}#<run_id>")
    return subject_of_run(catalog, runs[0])


def diff_report(catalog: Catalog, config: Config, candidate_spec: str, against: str | None = None) -> DiffReport:
    """Resolve, compare, evaluate the gates and plan the links.

    Raises:
        UsageError: the candidate or the baseline is not in the catalog.
    """
    candidate = _candidate(catalog, candidate_spec)
    baseline, asked, note = choose_baseline(catalog, candidate, against, config.baseline)
    comparison = compare(
        catalog,
        candidate,
        baseline,
        against=asked,
        baseline_note=note,
        alias=config.baseline,
        configured_metrics=config.key_metrics,
        extra_metrics=[
            g.metric for g in config.gates if g.applies_to(candidate.model or (baseline.model if baseline else None))
        ],
    )
    results = evaluate(config.gates, comparison, model_metrics(catalog, comparison.model))
    return DiffReport(
        comparison=comparison,
        gates=results,
        warnings=tuple(check_gates(config.gates, catalog)),
        links=_links(catalog, config, comparison),
    )


def _links(catalog: Catalog, config: Config, comparison: Comparison) -> dict[str, str]:
    if not config.site_url:
        return {}
    from .render.urls import plan_urls

    prefix = (config.prefix.strip("/") + "/") if config.prefix else ""
    urls = plan_urls(catalog, prefix)
    base = config.site_url.rstrip("/") + "/"

    def absolute(path: str | None) -> str | None:
        return base + quote(path) if path is not None else None

    out: dict[str, str | None] = {}
    c, b = comparison.candidate, comparison.baseline
    model = comparison.model
    if model is not None:
        out["model"] = absolute(urls.model.get(model))
        if c.version is not None:
            out["candidate"] = absolute(urls.version.get((model, c.version)))
        if b is not None and b.version is not None and b.model is not None:
            out["baseline"] = absolute(urls.version.get((b.model, b.version)))
        chosen = [s.version for s in (b, c) if s is not None and s.version is not None and s.model == model]
        if urls.model.get(model) is not None:
            state = ",".join(quote(v, safe="") for v in chosen)
            out["compare"] = base + quote(urls.model[model] + "compare/") + (f"#versions={state}" if chosen else "")
    if c.run is not None:
        out["run"] = absolute(urls.run.get(c.run.key))
    return {k: v for k, v in out.items() if v is not None}


# ---------------------------------------------------------------------------------------------
# text


def render(report: DiffReport, fmt: str = "markdown", flavour: str = "github") -> str:
    if flavour not in FLAVOURS:
        raise UsageError(f"unknown flavour '{flavour}' (known: {', '.join(FLAVOURS)})")
    if fmt == "json":
        return json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return to_markdown(report, flavour)
    raise UsageError(f"unknown format '{fmt}' (known: {', '.join(FORMATS)})")


# what can act inside a comment line: HTML, emphasis, links and images, autolinks (":"), math ("$"),
# strikethrough, table cells, references; "-", "+", "=" act only at a line's start, never ours
_MD_SPECIAL = {c: f"&#{ord(c)};" for c in "&<>\"'\\`*_[]()~!|$#@:"}
_MD_TABLE = str.maketrans(_MD_SPECIAL)
_WORD_JOINER = "\u2060"


def code(text: object, limit: int = MAX_TEXT) -> str:
    """Untrusted text as inline code in a comment: one line, every Markdown and HTML character
    an entity (the text between ``<code>`` tags is still Markdown), table cells kept whole."""
    s = " ".join(str(text).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return "<code>" + s.translate(_MD_TABLE) + "</code>"


def _escape(text: str) -> str:
    """Our own words, which may quote store strings, as inert text: ``@`` and ``#`` get a word
    joiner after them (no mention, no issue link; both hosts scan the decoded text), and every
    Markdown and HTML character is an entity. An ``@alias`` is shown as code instead."""
    parts = re.split(r"(@[\w.-]+)", " ".join(text.split()))
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(code(part))
        else:
            out.append(part.replace("@", "@" + _WORD_JOINER).replace("#", "#" + _WORD_JOINER).translate(_MD_TABLE))
    return "".join(out)


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".6g")


def fmt_delta(m: MetricDelta, relative: bool = True) -> str:
    if m.delta is None:
        return "—"
    text = format(m.delta, "+.4g") if m.delta != int(m.delta) else format(int(m.delta), "+d")
    if relative and m.relative is not None and m.delta != 0:
        text += f" ({m.relative * 100:+.2g}%)"
    return text


_VERDICT = {
    Verdict.BETTER: "🟢 ▲ better",
    Verdict.WORSE: "🔴 ▼ worse",
    Verdict.SAME: "same",
    Verdict.NEW: "new",
    Verdict.DROPPED: "not logged",
    Verdict.NOT_COMPARABLE: "",
}
_GATE = {GateStatus.PASS: "✅", GateStatus.FAIL: "❌", GateStatus.SKIP: "➖"}


def sparkline(values: Sequence[float]) -> str:
    """The shape of a history in block characters; empty for fewer than two finite points."""
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < 2:
        return ""
    low, high = min(finite), max(finite)
    span = high - low
    if span == 0:
        return SPARK[3] * len(finite)
    return "".join(SPARK[min(len(SPARK) - 1, int((v - low) / span * (len(SPARK) - 1) + 0.5))] for v in finite)


def _side(subject: Subject | None) -> str:
    if subject is None:
        return "—"
    text = subject.label
    if subject.aliases:
        text += " " + " ".join(code(f"@{a}") for a in subject.aliases)
    return text if subject.version is not None else code(text)


def _heading(report: DiffReport) -> str:
    c = report.comparison
    failed, total = len(report.failed), len([g for g in report.gates if g.status != GateStatus.SKIP])
    if failed:
        icon, gates = "❌", f"{failed} of {total} gate{'s' if total != 1 else ''} failed"
    elif total:
        icon, gates = "✅", f"{total} gate{'s' if total != 1 else ''} passed"
    else:
        icon, gates = "ℹ️", "no gates"
    who = f"{code(c.model)} {_side(c.candidate)}" if c.model else _side(c.candidate)
    against = f"{_side(c.baseline)}" if c.baseline is not None else "no baseline"
    return f"### {icon} {who} vs {against}: {gates}"


def to_markdown(report: DiffReport, flavour: str = "github") -> str:
    """The pull-request comment in one host's flavour, within its length limit: long tables give
    up rows first (halved until the comment fits, each saying how many more the site has), and
    only a comment still too long is cut (:func:`cut`)."""
    f = FLAVOURS[flavour]
    rows = f.max_rows
    text = _markdown(report, f, rows)
    while comment_length(text) > f.limit and rows > 0:
        rows //= 2
        text = _markdown(report, f, rows)
    return cut(text, f)


def _warning(text: str, flavour: Flavour) -> list[str]:
    if flavour.alerts:
        return ["> [!WARNING]", f"> {text}", ""]
    return [f"> ⚠️ {text}", ""]


def _markdown(report: DiffReport, flavour: Flavour, rows: int) -> str:
    c = report.comparison
    gates_by_metric: dict[str, list[GateResult]] = {}
    for g in report.gates:
        gates_by_metric.setdefault(g.gate.metric, []).append(g)
    out = [MARKER, _heading(report), ""]
    if c.baseline is not None:
        out.append(f"Baseline: {_escape(c.baseline_note)}.")
    else:
        note = c.baseline_note.removeprefix("no baseline: ")
        out.append(f"No baseline: {_escape(note)}.")
    headline = [m for m in c.metrics if m.key_metric and m.candidate is not None][:4]
    if headline:
        out.append("")
        parts = []
        for m in headline:
            arrow = {Verdict.BETTER: "▲ ", Verdict.WORSE: "▼ "}.get(m.verdict, "")
            delta = f" {arrow}{fmt_delta(m, relative=False)}" if m.delta is not None else ""
            parts.append(f"{code(m.key)} **{fmt(m.candidate)}**{delta}")
        out.append(" · ".join(parts))
    out.append("")
    if c.serving is not None and c.serving.note:
        out += _warning(f"Serving: {_escape(c.serving.note)}.", flavour)
    for w in report.warnings:
        out += _warning(_escape(w), flavour)
    # key metrics and every gated metric
    shown = [m for m in c.metrics if m.key_metric or m.key in gates_by_metric]
    if shown:
        base_head = _side(c.baseline) if c.baseline is not None else "baseline"
        out += [
            f"| Metric | Goal | {_side(c.candidate)} | {base_head} | Δ | | Trend | Gate |",
            "|---|---|--:|--:|--:|---|---|---|",
        ]
        for m in shown:
            gate = "<br>".join(f"{_GATE[g.status]} {_escape(g.reason)}" for g in gates_by_metric.get(m.key, ()))
            out.append(
                f"| {code(m.key)} | {_goal(m.goal)} | {fmt(m.candidate)} | {fmt(m.baseline)} | {fmt_delta(m)} "
                f"| {_VERDICT[m.verdict]} | {sparkline(m.trend)} | {gate} |"
            )
        out.append("")
    skipped = [g for g in report.gates if g.status == GateStatus.SKIP]
    if skipped:
        out.append(
            "Gates not applied: " + "; ".join(f"{code(g.gate.describe())} ({_escape(g.reason)})" for g in skipped)
        )
        out.append("")
    out += _changes_md(c, rows)
    out += _details_md(c, shown, rows)
    if report.links:
        names = (
            ("candidate", "candidate's page"),
            ("baseline", "baseline's page"),
            ("compare", "compare versions"),
            ("model", "model"),
            ("run", "source run"),
        )
        out.append(" · ".join(f"[{label}]({_url(report.links[k])})" for k, label in names if k in report.links))
        out.append("")
    out.append(f"<sub>mlreport {html.escape(__version__)} · `mlreport diff` · goals: {_goals_line(c)}</sub>")
    return "\n".join(out) + "\n"


def _baseline_words(c: Comparison) -> str:
    return _escape(c.baseline_note)


def _goal(goal: str) -> str:
    return "max ↑" if goal == "max" else "min ↓"


def _goals_line(c: Comparison) -> str:
    sources: dict[str, list[str]] = {}
    for m in c.metrics:
        if m.key_metric:
            sources.setdefault(m.goal_source, []).append(m.key)
    return "; ".join(f"{_escape(src)} ({', '.join(code(k, 40) for k in keys)})" for src, keys in sources.items()) or "—"


def _url(url: str) -> str:
    return url.replace(")", "%29").replace(" ", "%20")


def _dataset_text(d: DatasetSide | None) -> str:
    if d is None:
        return "—"
    parts = [code(d.name)]
    if d.digest:
        parts.append(f"digest {code(d.digest[:12], 12)}")
    if d.source:
        parts.append(code(d.source, 80))
    return " ".join(parts)


def _changes_md(c: Comparison, rows: int = MAX_ROWS) -> list[str]:
    out: list[str] = []
    cand, base = _side(c.candidate), _side(c.baseline) if c.baseline is not None else "baseline"
    if c.baseline is not None:
        if c.params:
            out += [f"**Params that differ ({len(c.params)})**", "", f"| Param | {cand} | {base} |", "|---|---|---|"]
            for p in c.params[:rows]:
                out.append(f"| {code(p.key)} | {_opt(p.candidate)} | {_opt(p.baseline)} |")
            if len(c.params) > rows:
                out.append(f"| … and {len(c.params) - rows} more | | |")
            out.append("")
        else:
            out += ["**Params**: the same.", ""]
    changed = [d for d in c.datasets if d.status != DataStatus.SAME]
    if c.datasets:
        if c.baseline is not None and not changed:
            out += ["**Data**: the same inputs.", ""]
        else:
            out += ["**Data**", "", f"| Input | | {cand} | {base} |", "|---|---|---|---|"]
            for d in c.datasets:
                status = d.status.value if d.status != DataStatus.CHANGED else "changed " + ", ".join(d.changed_fields)
                if c.baseline is None:
                    status = ""
                out.append(
                    f"| {code(d.role)} | {status} | {_dataset_text(d.candidate)} | {_dataset_text(d.baseline)} |"
                )
            out.append("")
    if c.code is not None:
        k = c.code
        commit = code(k.candidate_commit[:12]) if k.candidate_commit else "—"
        if k.candidate_url:
            commit = f"[{commit}]({_url(k.candidate_url)})"
        if k.candidate_dirty:
            commit += " (uncommitted changes)"
        if c.baseline is None:
            out += [f"**Code**: {commit}", ""]
        elif not k.changed:
            out += [f"**Code**: the same commit {commit}.", ""]
        else:
            before = code(k.baseline_commit[:12]) if k.baseline_commit else "no commit recorded"
            line = f"**Code**: {before} → {commit}"
            if k.compare_url:
                line += f" ([compare]({_url(k.compare_url)}))"
            out += [line, ""]
    if c.signature:
        out += ["**Model signature**", "", f"| Part | Field | {cand} | {base} |", "|---|---|---|---|"]
        for s in c.signature:
            out.append(f"| {s.part} | {code(s.field)} | {_opt(s.candidate)} | {_opt(s.baseline)} |")
        out.append("")
    return out


def _opt(value: str | None) -> str:
    return "—" if value is None else code(value)


def _details_md(c: Comparison, shown: Sequence[MetricDelta], rows: int = MAX_ROWS) -> list[str]:
    rest = [m for m in c.metrics if m not in shown]
    if not rest:
        return []
    out = [
        "<details><summary>All other metrics (" + str(len(rest)) + ")</summary>",
        "",
        f"| Metric | Goal | {_side(c.candidate)} | {_side(c.baseline)} | Δ | |",
        "|---|---|--:|--:|--:|---|",
    ]
    for m in rest[:rows]:
        out.append(
            f"| {code(m.key)} | {_goal(m.goal)} | {fmt(m.candidate)} | {fmt(m.baseline)} "
            f"| {fmt_delta(m)} | {_VERDICT[m.verdict]} |"
        )
    if len(rest) > rows:
        out.append(f"| … and {len(rest) - rows} more | | | | | |")
    out += ["", "</details>", ""]
    return out


# ---------------------------------------------------------------------------------------------
# JSON


def _num(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _subject_json(s: Subject | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "model": s.model,
        "version": s.version,
        "label": s.label,
        "aliases": list(s.aliases),
        "stage": s.stage,
        "run_id": s.run.id if s.run else None,
        "run_name": s.run.name if s.run else None,
        "logged_model": s.logged_model.id if s.logged_model else None,
    }


def _dataset_json(d: DatasetSide | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"key": d.key, "name": d.name, "digest": d.digest, "source": d.source, "context": d.context}


def to_json(report: DiffReport) -> dict[str, Any]:
    c = report.comparison
    k = c.code
    return {
        "schema": SCHEMA,
        "status": "fail" if report.failed else "pass",
        "model": c.model,
        "candidate": _subject_json(c.candidate),
        "baseline": _subject_json(c.baseline),
        "against": c.against,
        "baseline_note": c.baseline_note,
        "gates": [
            {
                "metric": g.gate.metric,
                "model": g.gate.model,
                "rule": g.gate.describe(),
                "status": g.status.value,
                "reason": g.reason,
            }
            for g in report.gates
        ],
        "metrics": [
            {
                "key": m.key,
                "key_metric": m.key_metric,
                "goal": m.goal,
                "goal_source": m.goal_source,
                "candidate": _num(m.candidate),
                "baseline": _num(m.baseline),
                "delta": _num(m.delta),
                "relative": _num(m.relative),
                "verdict": m.verdict.value,
            }
            for m in c.metrics
        ],
        "params": [{"key": p.key, "candidate": p.candidate, "baseline": p.baseline} for p in c.params],
        "datasets": [
            {
                "status": d.status.value,
                "role": d.role,
                "changed": list(d.changed_fields),
                "candidate": _dataset_json(d.candidate),
                "baseline": _dataset_json(d.baseline),
            }
            for d in c.datasets
        ],
        "code": None
        if k is None
        else {
            "candidate_commit": k.candidate_commit,
            "baseline_commit": k.baseline_commit,
            "candidate_branch": k.candidate_branch,
            "baseline_branch": k.baseline_branch,
            "repo_url": k.repo_url,
            "compare_url": k.compare_url,
            "changed": k.changed,
        },
        "signature": [
            {"part": s.part, "field": s.field, "candidate": s.candidate, "baseline": s.baseline} for s in c.signature
        ],
        "serving": None
        if c.serving is None
        else {
            "alias": c.serving.alias,
            "alias_holder": c.serving.alias_holder,
            "stages": {s: list(v) for s, v in c.serving.stages.items()},
            "note": c.serving.note,
        },
        "links": dict(report.links),
        "warnings": list(report.warnings),
    }
