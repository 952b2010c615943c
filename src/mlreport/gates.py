"""Gates: thresholds a model version must meet, from ``gates:`` in ``mlreport.yml``.

```yaml
gates:
  - metric: val_auc
    min: 0.86              # absolute bound (max: for an upper bound)
  - metric: val_logloss
    max_regression: 2%     # relative to the baseline, in the metric's worse direction
    model: churn-*         # optional glob on the model name; default every model
```

A gate is evaluated on a :class:`~mlreport.review.Comparison` (the version against its baseline),
so the site's badges and ``mlreport diff``'s exit status come from one evaluation. This module
parses the config block too, so that ``config.py`` holds only a call (it imports nothing of ours
at run time beyond the errors).
"""

from __future__ import annotations

import difflib
import enum
import fnmatch
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import kind_of

if TYPE_CHECKING:
    from .catalog import Catalog
    from .review import Comparison

GATE_KEYS = ("metric", "min", "max", "max_regression", "model")


@dataclass(frozen=True, slots=True)
class Gate:
    """One threshold. ``max_regression`` is a fraction of the baseline's value when ``relative``
    (written ``2%``), else an amount in the metric's own units (written ``0.005``)."""

    metric: str
    min: float | None = None
    max: float | None = None
    max_regression: float | None = None
    relative: bool = True
    model: str | None = None

    def applies_to(self, model: str | None) -> bool:
        return self.model is None or (model is not None and fnmatch.fnmatchcase(model, self.model))

    def describe(self) -> str:
        """The gate in words, for a table cell: ``val_auc ≥ 0.86``, ``val_logloss ≤ 2% worse``."""
        parts = []
        if self.min is not None:
            parts.append(f"≥ {_num(self.min)}")
        if self.max is not None:
            parts.append(f"≤ {_num(self.max)}")
        if self.max_regression is not None:
            allowed = f"{_num(self.max_regression * 100)}%" if self.relative else _num(self.max_regression)
            parts.append(f"at most {allowed} worse than the baseline")
        return f"{self.metric} " + ", ".join(parts)


class GateStatus(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "not applicable"


@dataclass(frozen=True, slots=True)
class GateResult:
    gate: Gate
    status: GateStatus
    reason: str  # "0.874 ≥ 0.86", "val_auc is not logged by this version"


def _num(value: float) -> str:
    return f"{value:.6g}"


# ---------------------------------------------------------------------------------------------
# the config block


def parse_gates(raw: object, fail: Callable[[str, str], Exception]) -> tuple[Gate, ...]:
    """The ``gates:`` list; ``fail(key_path, reason)`` makes the error (config.py's checker)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise fail("gates", f"expected a list of gates, found {kind_of(raw)}")
    return tuple(_gate(item, f"gates[{i}]", fail) for i, item in enumerate(raw))


def _gate(raw: object, where: str, fail: Callable[[str, str], Exception]) -> Gate:
    if not isinstance(raw, dict):
        raise fail(
            where, f"expected a mapping with 'metric' and 'min', 'max' or 'max_regression', found {kind_of(raw)}"
        )
    data = {str(k): v for k, v in raw.items()}
    for key in data:
        if key not in GATE_KEYS:
            raise fail(f"{where}.{key}", f"unknown key (known: {', '.join(GATE_KEYS)})")
    metric = data.get("metric")
    if not isinstance(metric, str) or not metric.strip():
        raise fail(f"{where}.metric" if "metric" in data else where, "expected the name of a metric")
    bounds: dict[str, float | None] = {}
    for key in ("min", "max"):
        value = data.get(key)
        if value is None:
            bounds[key] = None
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise fail(f"{where}.{key}", f"expected a number, found {_shown(value)}")
        else:
            bounds[key] = float(value)
    if bounds["min"] is not None and bounds["max"] is not None and bounds["min"] > bounds["max"]:
        raise fail(where, f"min {_num(bounds['min'])} is above max {_num(bounds['max'])}")
    regression, relative = _regression(data.get("max_regression"), f"{where}.max_regression", fail)
    if bounds["min"] is None and bounds["max"] is None and regression is None:
        raise fail(where, "a gate needs min, max or max_regression")
    model = data.get("model")
    if model is not None and (not isinstance(model, str) or not model):
        raise fail(f"{where}.model", f"expected a glob on the model name, found {_shown(model)}")
    return Gate(metric.strip(), bounds["min"], bounds["max"], regression, relative, model)


def _regression(value: object, where: str, fail: Callable[[str, str], Exception]) -> tuple[float | None, bool]:
    if value is None:
        return None, True
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", value)
        if m is None:
            raise fail(where, f"expected a percentage such as 2% or an amount such as 0.005, found '{value}'")
        return float(m.group(1)) / 100, True
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise fail(where, f"expected a percentage such as 2% or an amount such as 0.005, found {_shown(value)}")
    return float(value), False


def _shown(value: object) -> str:
    return f"'{value}'" if isinstance(value, (str, int, float)) and not isinstance(value, bool) else kind_of(value)


# ---------------------------------------------------------------------------------------------
# checking and evaluating


def check_gates(gates: Sequence[Gate], catalog: Catalog) -> list[str]:
    """Warnings for gates that can never apply: a metric no run logs (naming the closest one)
    and a model glob that matches no model."""
    warnings = []
    logged = _logged_metrics(catalog)
    for i, gate in enumerate(gates):
        models = [m.name for m in catalog.models if gate.applies_to(m.name)]
        if gate.model is not None and not models:
            names = ", ".join(m.name for m in catalog.models[:10]) or "none"
            warnings.append(f"gates[{i}].model: '{gate.model}' matches no model (models: {names})")
            continue
        if gate.metric not in logged:
            warnings.append(f"gates[{i}].metric: no run logs '{gate.metric}'" + _closest(gate.metric, sorted(logged)))
    return warnings


def _logged_metrics(catalog: Catalog) -> set[str]:
    keys = {m.key for r in catalog.runs for m in r.metrics}
    keys.update(m.key for lm in catalog.logged_models for m in lm.metrics)
    return keys


def _closest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def evaluate(
    gates: Sequence[Gate], comparison: Comparison, model_metrics: Iterable[str] = ()
) -> tuple[GateResult, ...]:
    """Each gate that applies to the comparison's model, evaluated on its candidate.

    ``model_metrics`` are the metrics some version of the model logs: a gate on one of them
    fails when the candidate lacks it (a missing number must not pass a gate); a gate on a
    metric the model never logs does not apply to it.
    """
    known = set(model_metrics)
    out = []
    for gate in gates:
        if not gate.applies_to(comparison.model):
            continue
        out.append(_evaluate(gate, comparison, known))
    return tuple(out)


def _evaluate(gate: Gate, comparison: Comparison, known: set[str]) -> GateResult:
    delta = comparison.metric(gate.metric)
    value = delta.candidate if delta is not None else None
    if value is None:
        if gate.metric in known or (delta is not None and delta.baseline is not None):
            return GateResult(gate, GateStatus.FAIL, f"{gate.metric} is not logged by this version")
        return GateResult(gate, GateStatus.SKIP, f"{gate.metric} is not logged by this model")
    if math.isnan(value):
        return GateResult(gate, GateStatus.FAIL, f"{gate.metric} is NaN")
    reasons: list[str] = []
    failed = False
    if gate.min is not None:
        ok = value >= gate.min
        failed |= not ok
        reasons.append(f"{_num(value)} {'≥' if ok else '<'} {_num(gate.min)}")
    if gate.max is not None:
        ok = value <= gate.max
        failed |= not ok
        reasons.append(f"{_num(value)} {'≤' if ok else '>'} {_num(gate.max)}")
    if gate.max_regression is not None:
        assert delta is not None
        base = delta.baseline
        if comparison.baseline is None or base is None or not math.isfinite(base) or not math.isfinite(value):
            what = "no baseline" if comparison.baseline is None else f"the baseline has no {gate.metric}"
            if not reasons:
                return GateResult(gate, GateStatus.SKIP, f"{what} to compare with")
            reasons.append(f"regression not checked: {what}")
        else:
            worse = (value - base) if delta.goal == "min" else (base - value)
            if gate.relative:
                if base == 0:
                    amount = math.inf if worse > 0 else 0.0
                else:
                    amount = worse / abs(base)
                ok = amount <= gate.max_regression + 1e-12
                shown = f"{max(amount, 0.0) * 100:.3g}% worse" if worse > 0 else "not worse"
                allowed = f"{_num(gate.max_regression * 100)}%"
            else:
                ok = worse <= gate.max_regression + 1e-12
                shown = f"{_num(worse)} worse" if worse > 0 else "not worse"
                allowed = _num(gate.max_regression)
            failed |= not ok
            reasons.append(f"{shown} than the baseline ({'allowed' if ok else 'over'} {allowed})")
    return GateResult(gate, GateStatus.FAIL if failed else GateStatus.PASS, "; ".join(reasons))


def summary(results: Sequence[GateResult]) -> Mapping[str, int]:
    """Counts by status, for a badge: ``{"pass": 2, "fail": 1, "not applicable": 0}``."""
    counts = {s.value: 0 for s in GateStatus}
    for r in results:
        counts[r.status.value] += 1
    return counts


def model_metrics(catalog: Catalog, model: str | None) -> set[str]:
    """Every metric some version of ``model`` logs (its runs and logged models)."""
    keys: set[str] = set()
    for v in catalog.versions_by_model.get(model or "", ()):
        run = catalog.run_by_key.get(v.run_key or "")
        if run is not None:
            keys.update(m.key for m in run.metrics)
        lm = catalog.logged_model_by_key.get(v.logged_model_key or "")
        if lm is not None:
            keys.update(m.key for m in lm.metrics)
    return keys
