"""Runs tables (issue 10): every attribute, metric, param and tag of a set of runs as one frame,
shipped as a data script next to the page (the JSON wrapped in one call, so that ``<script
src>`` loads it from ``file://`` as well as over http: browsers refuse ``fetch`` of a file),
with a plain HTML table of the top rows for readers without JavaScript and a CSV of every run
and column.

``assets/runs-table.js`` turns the JSON into the interactive table: a column chooser, a sort
that follows each metric's goal (blank and NaN last in both directions), a filter language,
grouping with mean ± std, the view kept in the URL, and a CSV of the view. This module is
pure: it turns runs into bytes and markup; the page families emit them.

The frame is column-major (one list per column, sparse when most runs lack the key): at 10,000
runs with hundreds of distinct params, a row-major payload would repeat every key per run.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from ..catalog import OBJECTIVE_PARAMS, Catalog, key_metrics, primary_metrics
from ..model import Run
from .text import NAME_LIMIT, fmt_duration, fmt_number, fmt_time, h, short_hash, short_name

#: rows of the plain HTML table that a reader without JavaScript sees
STATIC_ROWS = 20
#: varying params shown by default (the chooser has every one)
DEFAULT_PARAMS = 8
#: longest param or tag value in the JSON and the HTML table (the run page and the CSV have it all)
MAX_TEXT = 500
FORMAT = 1
#: what a data script starts with (:func:`data_script`)
DATA_CALL = b"mlreportRunsTable.receive("

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a runs table. ``id`` is what the filter language and the URL name it
    (``status``, ``metrics.val_auc``, ``params.lr``, ``tags.team``)."""

    id: str
    label: str
    kind: str  # attribute | metric | param | tag | system (a tool's own tag, Run.system_tags)
    type: str  # text | number | time | duration
    goal: str | None = None
    goal_source: str | None = None

    @property
    def csv_label(self) -> str:
        prefix = {"metric": "metric: ", "param": "param: ", "tag": "tag: ", "system": "system tag: "}.get(self.kind, "")
        return prefix + self.label

    @property
    def header(self) -> str:
        """The label with the goal's mark: ▲ higher is better, ▼ lower is better; a megabyte
        metric name is cut to NAME_LIMIT (issue 11, F6: card's edit)."""
        label = short_name(self.label)
        if self.goal is None:
            return label
        return f"{label} {'▲' if self.goal == 'max' else '▼'}"

    @property
    def goal_text(self) -> str:
        if self.goal is None:
            return ""
        better = "higher is better" if self.goal == "max" else "lower is better"
        return f"{better} ({self.goal_source})" if self.goal_source else better


@dataclass(frozen=True)
class RunsFrame:
    """A runs table: its columns, its runs in the default order (by the primary metric's goal,
    blank and NaN last), the columns shown by default and the default sort."""

    columns: tuple[Column, ...]
    runs: tuple[Run, ...]
    default_columns: tuple[str, ...]
    sort: str | None
    descending: bool
    experiment_names: Mapping[str, str]

    def column(self, column_id: str) -> Column:
        return next(c for c in self.columns if c.id == column_id)

    def value(self, run: Run, column: Column) -> str | float | int | None:
        """The cell's value: a number for metrics, times and durations, text otherwise, None
        when the run has none."""
        kind, cid = column.kind, column.id
        if kind == "metric":
            m = run.metric(column.label)
            return None if m is None else m.final
        if kind == "param":
            return run.params.get(column.label)
        if kind == "tag":
            return run.tags.get(column.label)
        if kind == "system":
            return run.system_tags.get(column.label)
        if cid == "run":
            return run.name
        if cid == "status":
            # a deleted run (shown under --include-deleted) says so in every runs table (issue 8)
            return "deleted" if run.deleted else run.status.value.lower()
        if cid == "experiment":
            return self.experiment_names.get(run.experiment_key or "")
        if cid == "started":
            return run.start_time
        if cid == "duration":
            if run.start_time is None or run.end_time is None or run.end_time < run.start_time:
                return None
            return run.end_time - run.start_time
        if cid == "user":
            return run.user or None
        if cid == "run_id":
            return run.id
        raise KeyError(cid)

    def text(self, run: Run, column: Column) -> str:
        """The cell as shown."""
        value = self.value(run, column)
        if column.id == "started":
            return fmt_time(run.start_time)
        if column.id == "duration":
            return fmt_duration(run.start_time, run.end_time) if value is not None else ""
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return fmt_number(value)


def runs_frame(
    catalog: Catalog,
    runs: Sequence[Run],
    *,
    with_experiment: bool,
    configured: Sequence[str] = (),
    context: Sequence[Run] = (),
) -> RunsFrame:
    """The frame of ``runs``. ``context`` are runs that speak for them without being rows (a
    sweep parent naming its objective for its children's table)."""
    metric_count: Counter[str] = Counter()
    param_values: dict[str, set[str]] = {}
    tag_keys: set[str] = set()
    for r in runs:
        for m in r.metrics:
            metric_count[m.key] += 1
        for k, v in r.params.items():
            param_values.setdefault(k, set()).add(v)
        tag_keys.update(r.tags)
    columns = [
        Column("run", "Run", "attribute", "text"),
        Column("status", "Status", "attribute", "text"),
        *([Column("experiment", "Experiment", "attribute", "text")] if with_experiment else []),
        Column("started", "Started", "attribute", "time"),
        Column("duration", "Duration", "attribute", "duration"),
        Column("user", "User", "attribute", "text"),
        Column("run_id", "Run id", "attribute", "text"),
    ]
    columns += [
        Column(f"metrics.{k}", k, "metric", "number", catalog.goal(k), catalog.goal_source(k))
        for k in sorted(metric_count)
    ]
    columns += [
        Column(f"params.{k}", k, "param", "number" if all(_NUMBER.match(v) for v in vals) else "text")
        for k, vals in sorted(param_values.items())
    ]
    columns += [Column(f"tags.{k}", k, "tag", "text") for k in sorted(tag_keys)]
    # A tool's own tags (MLflow's mlflow.*) are columns of their own group, named tags.<key> as
    # the tool's own search names them; those that only repeat what a run field already shows
    # (the run name, user, entry point, git commit …, which readers map to fields) are left out
    columns += [Column(f"tags.{k}", k, "system", "text") for k in _system_tag_keys(catalog, runs) if k not in tag_keys]

    configured_present = [k for k in configured if k in metric_count]
    if configured_present:
        metrics = configured_present
    else:
        # the same first metric as the sweep, the best-runs chart and the model pages
        metrics = key_metrics(catalog, runs, context=context)
    varying = [k for k, vals in sorted(param_values.items()) if len(vals) > 1][:DEFAULT_PARAMS]
    default = (
        [c.id for c in columns if c.kind == "attribute" and c.id != "run_id"]
        + [f"metrics.{k}" for k in metrics]
        + [f"params.{k}" for k in varying]
    )

    sort = f"metrics.{metrics[0]}" if metrics else ("started" if any(r.start_time for r in runs) else None)
    descending = catalog.goal(metrics[0]) == "max" if metrics else True
    experiment_names = {
        r.experiment_key: e.name
        for r in runs
        if r.experiment_key and (e := catalog.experiment_by_key.get(r.experiment_key)) is not None
    }
    frame = RunsFrame(tuple(columns), tuple(runs), tuple(default), sort, descending, experiment_names)
    if sort is not None:
        frame = RunsFrame(
            frame.columns,
            tuple(_sorted(frame, frame.column(sort), descending)),
            frame.default_columns,
            sort,
            descending,
            experiment_names,
        )
    return frame


def _system_tag_keys(catalog: Catalog, runs: Sequence[Run]) -> list[str]:
    """The system tag keys of ``runs`` that say something no run field says: a key is left out
    when every run that has it holds one of that run's own field values in it."""
    repeats: dict[str, bool] = {}
    for r in runs:
        if not r.system_tags:
            continue
        parent = catalog.run_by_key.get(r.parent_key or "")
        fields = {
            r.name,
            r.id,
            r.user,
            r.source_name,
            r.description,
            r.git.commit,
            r.git.branch,
            r.git.repo_url,
            parent.id if parent is not None else None,
        }
        for k, v in r.system_tags.items():
            repeats[k] = repeats.get(k, True) and v in fields
    return sorted(k for k, repeated in repeats.items() if not repeated)


def _sorted(frame: RunsFrame, column: Column, descending: bool) -> list[Run]:
    """The runs by ``column``: blank and NaN last whichever the direction, ties in the order given."""
    keyed: list[tuple[float, int, Run]] = []
    blank: list[Run] = []
    for i, r in enumerate(frame.runs):
        v = frame.value(r, column)
        if isinstance(v, str):
            v = float(v) if _NUMBER.match(v) else None
        if v is None or (isinstance(v, float) and math.isnan(v)):
            blank.append(r)
        else:
            keyed.append((-float(v) if descending else float(v), i, r))
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in keyed] + blank


def payload(frame: RunsFrame, links: Mapping[str, Callable[[Run], str | None]]) -> bytes:
    """The frame as the JSON that ``runs-table.js`` reads, inside :func:`data_script` (docs/runs-tables.md).

    Numbers stay numbers at full precision, NaN and infinities travel as the strings ``"NaN"``,
    ``"Infinity"``, ``"-Infinity"`` (JSON has none); times and durations carry their shown text.
    A column most runs lack is sparse: ``{"i": [row, …], "v": [value, …]}``.
    """
    n = len(frame.runs)
    cols: list[dict[str, object]] = []
    for c in frame.columns:
        spec: dict[str, object] = {"id": wire_id(c.id), "label": short_name(c.label), "kind": c.kind, "type": c.type}
        if c.goal is not None:
            spec["goal"] = c.goal
            spec["goal_source"] = c.goal_source
        values = [_json_value(frame.value(r, c)) for r in frame.runs]
        present = [i for i, v in enumerate(values) if v is not None]
        if len(present) * 2 < n:
            spec["sparse"] = {"i": present, "v": [values[i] for i in present]}
        else:
            spec["values"] = values
        if c.type in ("time", "duration"):
            spec["text"] = [frame.text(r, c) for r in frame.runs]
        link = links.get(c.id)
        if link is not None:
            spec["links"] = [link(r) for r in frame.runs]
        cols.append(spec)
    data = {
        "format": FORMAT,
        "rows": n,
        "columns": cols,
        "default": {
            "columns": [wire_id(cid) for cid in frame.default_columns],
            "sort": None if frame.sort is None else wire_id(frame.sort),
            "dir": "desc" if frame.descending else "asc",
        },
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def wire_id(column_id: str) -> str:
    """A column's id as the data script names it: a megabyte param key is cut to
    :data:`NAME_LIMIT` (issue 11, F25), with a digest of the whole key so that two keys that share
    their first characters stay two columns."""
    if len(column_id) <= NAME_LIMIT:
        return column_id
    return f"{short_name(column_id)}{short_hash(column_id, 12)}"


def data_script(frame: RunsFrame, links: Mapping[str, Callable[[Run], str | None]]) -> bytes:
    """The :func:`payload` JSON as ``mlreportRunsTable.receive({...});``, the file the page
    names in ``data-runs``. A ``<script src>`` is the one way a page opened from disk can read a
    file beside it (``fetch`` and XHR of ``file://`` are refused); JSON is a JavaScript
    expression, and U+2028/U+2029 (legal raw in JSON strings, line breaks to older JavaScript
    parsers) are escaped, which keeps the JSON the same."""
    body = payload(frame, links).replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
    return DATA_CALL + body + b");\n"


def read_data_script(data: bytes) -> object:
    """The JSON inside a :func:`data_script` (for tests and tools)."""
    if not data.startswith(DATA_CALL) or not data.endswith(b");\n"):
        raise ValueError("not a runs-table data script")
    return json.loads(data[len(DATA_CALL) : -3])


def _json_value(value: str | float | int | None) -> str | float | int | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + "…"
    return value


def csv_bytes(frame: RunsFrame) -> bytes:
    """Every run and every column as CSV: numbers at full precision, times as shown (UTC)."""
    from .tables import _csv_safe

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.csv_label for c in frame.columns])
    for r in frame.runs:
        row: list[object] = []
        for c in frame.columns:
            value = frame.value(r, c)
            if c.type in ("time", "duration") or value is None:
                row.append(frame.text(r, c))
            elif isinstance(value, float):
                row.append(fmt_number(value) if not math.isfinite(value) else repr(value))
            else:
                row.append(_csv_safe(value) if isinstance(value, str) else value)
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


def static_table(
    frame: RunsFrame,
    data_url: str,
    csv_url: str,
    name: str,
    links: Mapping[str, Callable[[Run], str | None]],
    noun: str = "run",
) -> Markup:
    """The table's first screen, readable without JavaScript: the top :data:`STATIC_ROWS` rows
    in the default columns and order, a line saying how many more there are, and the CSV.
    ``runs-table.js`` replaces it with the interactive table."""
    n = len(frame.runs)
    plural = noun if n == 1 else noun + "s"
    if n == 0:
        return Markup('<p class="mlreport-empty">') + h(f"No {noun}s.") + Markup("</p>")
    by = ""
    if frame.sort is not None:
        col = frame.column(frame.sort)
        why = col.goal_text if col.goal else ("newest first" if frame.descending else "oldest first")
        by = f" by {short_name(col.label)}, {why}"
    shown = min(n, STATIC_ROWS)
    if shown < n:
        line = f"The top {shown} of {n:,} {plural}{by}; every {noun} and column: "
    else:
        line = f"{n:,} {plural}{by}; every column: "
    columns = [frame.column(cid) for cid in frame.default_columns]
    out = [
        f'<div class="mlr-runs" data-runs="{h(data_url)}" data-csv="{h(csv_url)}" data-name="{h(name)}"'
        f' data-rows="{n}" data-search-exclude>',
        '<p class="mlr-runs-note">',
        str(h(line)),
        f'<a href="{h(csv_url)}" download>{h(csv_url)}</a></p>',
        '<div class="mlreport-table-wrap"><table class="mlreport-table mlr-runs-static"><thead><tr>',
    ]
    for c in columns:
        attrs = ' data-type="number"' if c.type != "text" else ""
        if c.goal:
            attrs += f' title="{h(c.goal_text)}"'
        out.append(f"<th{attrs}>{h(c.header)}</th>")
    out.append("</tr></thead><tbody>")
    for r in frame.runs[:shown]:
        out.append("<tr>")
        for c in columns:
            text = frame.text(r, c)
            if len(text) > MAX_TEXT:
                text = text[:MAX_TEXT] + "…"
            inner = h(text)
            if c.id == "status" and text:
                inner = Markup(f'<span class="mlr-status mlr-{h(text)}">') + inner + Markup("</span>")
            link = links.get(c.id)
            url = link(r) if link is not None and text else None
            if url:
                inner = Markup(f'<a href="{h(url)}">') + inner + Markup("</a>")
            cls = ' class="mlr-num"' if c.type != "text" else (' class="mlr-nowrap"' if c.kind == "attribute" else "")
            out.append(f"<td{cls}>{inner}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div></div>")
    return Markup("".join(out))


__all__ = [
    "DEFAULT_PARAMS",
    "OBJECTIVE_PARAMS",
    "STATIC_ROWS",
    "Column",
    "RunsFrame",
    "csv_bytes",
    "data_script",
    "payload",
    "primary_metrics",
    "read_data_script",
    "runs_frame",
    "static_table",
]
