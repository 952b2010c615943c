"""ClearML offline sessions: the folders ``Task.set_offline(True)`` writes, one per task.

Written against docs/readers.md alone, as the proof that the reader interface is enough. A
session folder (``$HOME/.clearml/cache/offline/offline-<id>/``) holds:

- ``task.json``: the task as the ClearML server would store it: ``id``, ``name``,
  ``project_name``, ``type``, ``tags``, ``hyperparams`` (``{section: {name: {value, type}}}``,
  values already text), ``script`` (``repository``, ``branch``, ``version_num``,
  ``entry_point``), ``execution.artifacts``;
- ``metrics.jsonl``: one JSON list of events a line; ``training_stats_scalar`` events carry
  ``metric`` (the plot title), ``variant`` (the series), ``iter``, ``timestamp`` (epoch ms) and
  ``value``. A single value (``report_single_value``) is the title ``Summary`` at iteration
  -2**31;
- ``log.jsonl``: console lines, each with a ``timestamp``: the first is when the task started.

Mapping: a task is a :class:`~mlreport.model.Run` (key ``clearml:<id>``), its project an
:class:`~mlreport.model.Experiment` (``clearml-project:<name>``, one across folders), a series
the metric ``<title>/<series>``, a hyperparameter the param ``<section>/<name>``. The session
has no state: the run's status is unknown. The zip ClearML writes beside each folder holds the
same files and is not read.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Mapping

from ..model import (
    Artifact,
    Experiment,
    GitInfo,
    Metric,
    MetricHistory,
    Record,
    Run,
    frozen_map,
)
from ..stores import Store, join
from . import ReadOptions
from ._bounded import BoundedError, load_json, long_lines, split_lines
from ._common import ReadContext, json_number, lfs_reason, param_text

TASK = "task.json"
METRICS = "metrics.jsonl"
LOG = "log.jsonl"
SINGLE_VALUE_ITER = -(2**31)  # ClearML's iteration for report_single_value


class ClearmlOfflineReader:
    """Reads a ClearML offline session folder, or a folder of them."""

    name = "clearml"
    label = "ClearML offline session"
    merges_experiments = True  # one project in several session folders is one project

    def detect(self, store: Store, path: str) -> bool:
        if _is_session(store, path):
            return True
        entries = [e for e in store.ls(path) if e.is_dir and e.name.startswith("offline-")]
        return any(_is_session(store, join(path, e.name)) for e in entries[:5])

    def read(self, store: Store, path: str, options: ReadOptions) -> Iterator[Record]:
        ctx = ReadContext(store, path, self.name)
        if store.is_file(join(path, TASK)):
            sessions = [path]
        else:
            sessions = [join(path, e.name) for e in store.ls(path) if e.is_dir and e.name.startswith("offline-")]
        projects: set[str] = set()
        options.progress("runs", 0, len(sessions))
        for done, session in enumerate(sorted(sessions), 1):
            try:
                records = _session(ctx, session, projects, options)
            except Exception as exc:  # noqa: BLE001 - the fault boundary of one session folder
                ctx.problem(join(session, TASK), f"the session could not be read: {type(exc).__name__}: {exc}")
                records = []
            yield from records
            yield from ctx.drain()
            options.progress("runs", done, len(sessions))


def _session(ctx: ReadContext, session: str, projects: set[str], options: ReadOptions) -> list[Record]:
    task = _task(ctx, session)
    if task is None:
        return []
    project = _text(task.get("project_name")) or "(no project)"
    exp_key = f"clearml-project:{project}"
    records: list[Record] = []
    if project not in projects:
        records.append(Experiment(key=exp_key, id=project, name=project, origin=ctx.origin(join(session, TASK))))
    records.append(_run(ctx, session, task, exp_key, options))
    projects.add(project)  # only once the session's run is read: a failed one leaves the project to the next
    return records


def _is_session(store: Store, path: str) -> bool:
    if not store.is_file(join(path, TASK)):
        return False
    return (
        store.is_file(join(path, METRICS))
        or store.is_file(join(path, LOG))
        or path.rsplit("/", 1)[-1].startswith("offline-")
    )


def _task(ctx: ReadContext, session: str) -> Mapping[str, object] | None:
    where = join(session, TASK)
    raw = b""
    try:
        raw = ctx.store.read_bytes(where)
        data = load_json(raw)
    except (OSError, ValueError, BoundedError) as exc:
        ctx.problem(where, lfs_reason(raw) or f"not a ClearML task: {exc}")
        return None
    if not isinstance(data, dict) or not _text(data.get("id")):
        ctx.problem(where, "not a ClearML task: missing field 'id'")
        return None
    return data


def _run(ctx: ReadContext, session: str, task: Mapping[str, object], exp_key: str, options: ReadOptions) -> Run:
    task_id = _text(task.get("id")) or session
    params: dict[str, str] = {}
    hyper = task.get("hyperparams")
    for section, items in sorted(hyper.items()) if isinstance(hyper, dict) else ():
        for name, item in sorted(items.items()) if isinstance(items, dict) else ():
            value = item.get("value") if isinstance(item, dict) else item
            params[f"{section}/{name}"] = param_text(value)
    tags: dict[str, str] = {}
    labels = task.get("tags")
    if isinstance(labels, list) and labels:
        tags["clearml.tags"] = ", ".join(sorted(str(t) for t in labels))
    if _text(task.get("type")):
        tags["clearml.type"] = _text(task.get("type")) or ""
    script = task.get("script") if isinstance(task.get("script"), dict) else {}
    assert isinstance(script, dict)
    git = GitInfo(
        commit=_text(script.get("version_num")),
        branch=_text(script.get("branch")),
        repo_url=_text(script.get("repository")),
    )
    execution = task.get("execution") if isinstance(task.get("execution"), dict) else {}
    assert isinstance(execution, dict)
    listed = execution.get("artifacts")
    artifacts = tuple(
        Artifact(key, _size(a.get("size")))
        for a in (listed if isinstance(listed, list) else ())
        if isinstance(a, dict) and (key := _text(a.get("key")))
    )
    return Run(
        key=f"clearml:{task_id}",
        id=task_id,
        name=_text(task.get("name")) or task_id,
        origin=ctx.origin(join(session, TASK)),
        experiment_key=exp_key,
        start_time=_first_time(ctx, join(session, LOG)),
        description=_text(task.get("comment")),
        params=frozen_map(params),
        tags=frozen_map(tags),
        metrics=_metrics(ctx, join(session, METRICS), options.history),
        artifacts=artifacts,
        git=git,
        source_name=_text(script.get("entry_point")),
    )


def _events(ctx: ReadContext, path: str) -> Iterator[Mapping[str, object]]:
    if not ctx.store.is_file(path):
        return
    try:
        text = ctx.store.read_bytes(path).decode("utf-8", "replace")
    except OSError as exc:
        ctx.problem(path, str(exc))
        return
    bad = 0
    first_bad = 0
    long = long_lines()
    for n, line in enumerate(split_lines(text, long), 1):  # a line past the bound is left empty
        if not line.strip():
            continue
        try:
            batch = load_json(line.encode())
        except (ValueError, BoundedError):
            bad += 1
            first_bad = first_bad or n
            continue
        for event in batch if isinstance(batch, list) else [batch]:
            if isinstance(event, dict):
                yield event
    if bad:
        ctx.problem(path, f"{bad} line(s) are not JSON (first: line {first_bad}); skipped")
    if too_long := long.problem():
        ctx.problem(path, too_long)


def _metrics(ctx: ReadContext, path: str, history: bool) -> tuple[Metric, ...]:
    points: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
    singles: dict[str, float] = {}
    for event in _events(ctx, path):
        if event.get("type") != "training_stats_scalar":
            continue
        value = json_number(event.get("value"))
        if value is None:
            continue
        title, series = _text(event.get("metric")) or "", _text(event.get("variant")) or ""
        step = _int(event.get("iter"))
        if step == SINGLE_VALUE_ITER and title == "Summary":
            singles[series] = value
            continue
        if step is None:
            continue
        stamp = _int(event.get("timestamp"))
        points[f"{title}/{series}" if series else title].append((step, -1 if stamp is None else stamp, value))
    metrics = []
    for key, pts in points.items():
        full = Metric.from_history(key, MetricHistory.from_points(pts))
        metrics.append(full if history else Metric.single(key, full.final, full.final_step, full.final_timestamp))
    for key, value in singles.items():
        if key not in points:
            metrics.append(Metric.single(key, value))
    return tuple(sorted(metrics, key=lambda m: m.key))


def _first_time(ctx: ReadContext, path: str) -> int | None:
    for event in _events(ctx, path):
        stamp = _int(event.get("timestamp"))
        if stamp is not None:
            return stamp
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    """An int64 (steps, epoch ms), or None: a float outside that range is no step or time either."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        value = int(value)
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return value
    return None


def _size(value: object) -> int | None:
    size = _int(value)
    return size if size is not None and size >= 0 else None
