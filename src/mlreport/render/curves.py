"""Curves overlaid on one chart: a run's train/validation pair, a model's versions, an
experiment's best runs.

Which metric keys are one quantity measured on different splits is decided from the key alone
(:func:`pair_curves`), so that it works the same for every tool: ``train_loss``/``val_loss``,
``train/acc``/``eval/acc``, ``loss``/``eval_loss`` (Keras and the HF Trainer log the training
value without a prefix), ``training.l2``/``valid_0.l2`` (LightGBM), ``validation_0-logloss``
(XGBoost). Only whole words count, so ``val_loss`` and ``val_loss_std`` are never a pair.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup

from ..catalog import key_metrics, version_sort_key
from ..model import ModelVersion, Run
from .charts import Series, figure_div, line_figure

if TYPE_CHECKING:
    from .base import RenderBase

#: the word a key names its split with, and which split that is
SPLIT_WORDS = {
    "train": "train",
    "training": "train",
    "trn": "train",
    "tr": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "eval": "val",
    "evaluation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}
_SEP = re.compile(r"[_/.\- ]+")
_ORDER = {"train": 0, "": 0, "val": 1, "test": 2}
TOP_RUNS = 10


@dataclass(frozen=True, slots=True)
class Split:
    """A metric key read as ``<split word> <quantity>`` (or ``<quantity> <split word>``)."""

    key: str
    split: str  # "train" | "val" | "test" | "" (no split word: the training value, see pair_curves)
    word: str  # the split word as written, with its index (``valid_0``): two eval sets are two words
    quantity: str  # the rest of the key, lower-cased, words joined by "_"


def split_key(key: str) -> Split:
    """Read the split word off the start or the end of a key; ``split`` is "" when there is none."""
    words = [w for w in _SEP.split(key.lower()) if w]
    if len(words) >= 2:
        for at_start in (True, False):
            i, rest = (0, words[1:]) if at_start else (len(words) - 1, words[:-1])
            word = words[i]
            if at_start and rest and rest[0].isdigit() and len(rest) >= 2:
                word, rest = f"{word}_{rest[0]}", rest[1:]  # valid_0.l2, validation_1-logloss
            elif not at_start and len(words) >= 3 and words[-1].isdigit() and words[-2] in SPLIT_WORDS:
                word, rest = f"{words[-2]}_{words[-1]}", words[:-2]  # l2.valid_1
            base = word.split("_", 1)[0]
            if base in SPLIT_WORDS and rest:
                return Split(key, SPLIT_WORDS[base], word, "_".join(rest))
    return Split(key, "", "", "_".join(words))


def pair_curves(keys: Iterable[str]) -> list[tuple[str, ...]]:
    """The groups of keys that are one quantity on different splits, each group train first.

    A group has at least two keys with different split words and the same quantity. A key
    without a split word (``loss``) joins as the training curve only when no key of the group
    names the training split itself and another key names an evaluation split: Keras and the HF
    Trainer log ``loss`` beside ``val_loss``/``eval_loss``. Groups come in the order of their
    first key, so a page's charts do not depend on the order the store listed them.
    """
    by_quantity: dict[str, list[Split]] = {}
    bare: dict[str, Split] = {}
    for key in dict.fromkeys(keys):
        s = split_key(key)
        if s.split:
            by_quantity.setdefault(s.quantity, []).append(s)
        else:
            bare.setdefault(s.quantity, s)
    groups: list[tuple[str, ...]] = []
    for quantity, members in by_quantity.items():
        splits = {m.split for m in members}
        if quantity in bare and "train" not in splits:
            members = [*members, bare[quantity]]
        if len({m.word for m in members}) < 2:
            continue
        members.sort(key=lambda m: (_ORDER[m.split], m.word, m.key))
        groups.append(tuple(m.key for m in members))
    groups.sort(key=lambda g: (min(g), g))
    return groups


def sweep_metric(keys: Sequence[str], configured: Sequence[str] = ()) -> str | None:
    """The metric a sweep is judged by: the first configured key metric the runs have, else the first
    key metric that is not measured on the training split (a sweep is judged on held-out data)."""
    for k in configured:
        if k in keys:
            return k
    held_out = [k for k in keys if split_key(k).split != "train"]
    chosen = held_out or list(keys)
    return chosen[0] if chosen else None


def top_runs(runs: Sequence[Run], key: str, goal: str, n: int = TOP_RUNS) -> list[tuple[Run, float]]:
    """The ``n`` runs with the best final value of ``key`` by ``goal`` ("min" or "max").

    Runs without the metric, or with a NaN or infinite final value, never count as good: a
    failed run's NaN loss is not the best loss. Ties go to the run that started first, then the
    run key, so the choice is the same in every build.
    """
    scored: list[tuple[Run, float]] = []
    for r in runs:
        m = r.metric(key)
        if m is not None and math.isfinite(m.final):
            scored.append((r, m.final))
    sign = 1.0 if goal == "min" else -1.0
    scored.sort(key=lambda rv: (sign * rv[1], rv[0].start_time is None, rv[0].start_time or 0, rv[0].key))
    return scored[:n]


def chart_order(
    groups: Sequence[tuple[str, ...]], keys: Sequence[str], rank: Callable[[str], int]
) -> list[tuple[str, ...]]:
    """Every chart of a page as a tuple of keys (a group or one key), in page order: by the best
    ``rank`` of its keys (key metrics 0, counters last), then in the order of ``keys``, each
    group where its first member would be."""
    grouped = {k: g for g in groups for k in g}
    out: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for k in keys:
        if k in seen:
            continue
        chart = grouped.get(k, (k,))
        seen.update(chart)
        out.append(chart)
    out.sort(key=lambda chart: min(rank(k) for k in chart))  # stable: page order otherwise
    return out


def best_runs(base: RenderBase, runs: Sequence[Run], n: int = TOP_RUNS) -> tuple[str | None, list[Run]]:
    """The key metric of ``runs`` and their ``n`` best runs by it: the runs whose histories
    :func:`best_runs_chart` draws (the page's digest names them too, ``engine/deps.py``)."""
    metric = sweep_metric(key_metrics(base.c, runs, base.config.key_metrics), base.config.key_metrics)
    if metric is None:
        return None, []
    return metric, [r for r, _ in top_runs(runs, metric, base.c.goal(metric), n)]


def best_runs_chart(base: RenderBase, runs: Sequence[Run], n: int = TOP_RUNS) -> Markup | None:
    """The key metric's history (:func:`sweep_metric`) of the ``n`` best runs by its final value and
    goal, on one chart (the best run's line wider); None unless two of them have a history."""
    metric, best = best_runs(base, runs, n)
    if metric is None:
        return None
    goal = base.c.goal(metric)
    series = []
    for i, r in enumerate(best):
        m = r.metric(metric)
        history = base.c.history(r.key, metric) if m is not None and m.count >= 2 else None
        if history is not None and len(history) >= 2:
            series.append(
                Series(r.name, history.steps, history.values, count=m.count if m else None, width=3 if i == 0 else 1.5)
            )
    if len(series) < 2:
        return None
    arrow = "↓" if goal == "min" else "↑"
    title = f"{metric} {arrow}: the {len(series)} best runs by final value"
    return figure_div(line_figure(title, series, "step", metric))


MAX_VERSIONS = 12


def versions_chart(base: RenderBase, model: str, keys: Sequence[str]) -> Markup | None:
    """One metric's history across the model's versions (their source runs, one line each): the
    first key metric that at least two versions have a history of. At most :data:`MAX_VERSIONS`
    lines: the versions holding an alias, then the newest; versions that share a run (a run's
    checkpoints) share its line."""
    versions = sorted(base.c.versions_by_model.get(model, ()), key=lambda v: version_sort_key(v.version))
    for key in keys:
        owners: dict[str, list[ModelVersion]] = {}
        for v in versions:
            owner = v.run_key or v.logged_model_key
            if owner is not None:
                owners.setdefault(owner, []).append(v)
        drawn = []
        for owner, vs in owners.items():
            history = base.c.history(owner, key)
            if history is not None and len(history) >= 2:
                drawn.append((owner, vs, history))
        if len(drawn) < 2:
            continue
        total = len(drawn)
        if total > MAX_VERSIONS:
            position = {(v.model, v.version): i for i, v in enumerate(versions)}
            ranked = sorted(
                drawn,
                key=lambda d: (
                    not any(v.aliases for v in d[1]),
                    -max(position[(v.model, v.version)] for v in d[1]),
                ),
            )
            keep = {d[0] for d in ranked[:MAX_VERSIONS]}
            drawn = [d for d in drawn if d[0] in keep]
        series = [
            Series(
                ", ".join(f"v{v.version}" + "".join(f" @{a}" for a in v.aliases) for v in vs),
                history.steps,
                history.values,
                width=3 if any(v.aliases for v in vs) else 1.5,
            )
            for _owner, vs, history in drawn
        ]
        figure = line_figure(f"{key} by step, across versions", series, "step", key)
        if total > len(drawn):
            limit = f"{len(drawn)} of {total} versions drawn: those with an alias, then the newest."
            figure["note"] = " ".join(x for x in (limit, str(figure.get("note") or "")) if x)
        return figure_div(figure)
    return None
