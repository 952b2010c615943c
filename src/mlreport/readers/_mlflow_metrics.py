"""MLflow file-store metric files (``metrics/<key>``), parsed piece by piece (FORMATS.md §1.3).

A line is ``<timestamp_ms> <value> <step>`` (very old stores: no step; ``log_metric(dataset=)``
and logged-model files: more fields after the step). The usual file takes a fast path: the
columns are split and converted by ``map`` at C speed into arrays. Lines that are not numbers,
or numbers outside int64, cost their line and one Problem.

A file of more than :data:`FULL_POINTS` points is not kept whole: final, min, max and count
stay exact, and the history keeps the first, last, lowest and highest point of each of
:data:`BUCKETS` consecutive slices (what a chart can show), so that a 10-million-point file is
read within a few tens of MB beyond the process.
"""

from __future__ import annotations

import math
import operator
import re
from array import array
from collections.abc import Iterable, Iterator

from ..model import Metric, MetricHistory
from ._bounded import INT64_MAX, INT64_MIN, LongLines, limits
from ._units import maker

_THREE_FIELDS = re.compile(r"(?:[^ \n]+ [^ \n]+ [^ \n]+\n)*[^ \n]+ [^ \n]+ [^ \n]+\n?")

#: Histories longer than this are downsampled (24 bytes a point: 24 MB kept at most).
FULL_POINTS = 1_000_000
#: Slices a downsampled history is cut into (up to 4 points kept from each).
BUCKETS = 25_000


# What the numbers MLflow writes are made of (digits, sign, point, exponent, nan, inf, infinity):
# a file with only these between single spaces and newlines is split as columns at once.
_NUMBER_BYTES = b"0123456789+-.eEinfatyINFATY"
# b"0", b"1", ...: a file whose steps are 0, 1, 2 ... (most are) needs no int() per step
_COUNTING = [str(i).encode() for i in range(4096)]


def parse_usual_files(files: dict[str, bytes]) -> Iterator[tuple[str, Metric]]:
    """The metric files of one run that are all usual (three numbers a line, steps strictly
    increasing), parsed together: one split and one conversion per column for the whole run
    instead of per file. Files that are not usual are left out (parse them with
    :class:`MetricLines`, which gives the same result slower); when any file breaks the fast
    path, nothing is yielded."""
    datas = [d for d in files.values() if d]
    if not datas or not all(d.endswith(b"\n") for d in datas):
        return
    data = b"".join(datas)
    lines = data.count(b"\n")
    # Every line is `a b c\n` with no other byte but the numbers' own: once the numbers' bytes
    # are deleted, two spaces and a newline a line are left, and the split finds three fields a
    # line (so none is empty). Then MetricLines' line-by-line parse would read the same columns.
    if data.translate(None, _NUMBER_BYTES) != b"  \n" * lines:
        return
    fields = data.split()
    if len(fields) != 3 * lines:
        return
    step_fields = fields[2::3]
    try:
        timestamps = array("q", map(int, fields[0::3]))
        values = array("d", map(float, fields[1::3]))
    except (ValueError, OverflowError):
        return
    counted: list[tuple[int, int, array[int] | None]] = []
    start = 0
    for d in datas:
        end = start + d.count(b"\n")
        n = end - start
        counting = n <= len(_COUNTING) and step_fields[start:end] == _COUNTING[:n]
        counted.append((start, end, array("q", range(n)) if counting else None))
        start = end
    try:
        slow = [(a, b) for a, b, steps in counted if steps is None]
        converted = array("q", map(int, [f for a, b in slow for f in step_fields[a:b]])) if slow else None
    except (ValueError, OverflowError):
        return
    offset = 0
    keys = [k for k, d in files.items() if d]
    for key, (a, b, steps) in zip(keys, counted, strict=True):
        if steps is None:
            assert converted is not None
            steps = converted[offset : offset + b - a]
            offset += b - a
            if len(steps) > 1 and not all(map(operator.lt, steps, steps[1:])):
                continue  # not strictly increasing: MetricLines sorts it
        yield key, summary(key, steps, timestamps[a:b], values[a:b])


_new_history = maker(MetricHistory)
_new_metric = maker(Metric)


def summary(key: str, steps: array[int], timestamps: array[int], values: array[float]) -> Metric:
    """:meth:`Metric.from_history` of a history already sorted by step (the usual file),
    built without its per-point list and the records' keyword ``__init__`` (80,000 metrics in
    a 10,000-run store)."""
    n = len(values)
    if n == 0:
        raise ValueError(f"metric {key!r} has no points")
    total = sum(values)
    if total == total:  # no NaN among them (a NaN makes the sum NaN): min and max directly
        low, high = min(values), max(values)
        min_i, max_i = values.index(low), values.index(high)
    else:
        return Metric.from_history(key, _new_history(steps, timestamps, values))
    return sorted_metric(key, steps, timestamps, values, min_i, max_i)


def sorted_metric(
    key: str, steps: array[int], timestamps: array[int], values: array[float], min_i: int, max_i: int
) -> Metric:
    """The Metric of a history sorted by step, without NaN, whose first minimum and first
    maximum are at ``min_i`` and ``max_i`` (what :meth:`Metric.from_history` finds), built by
    the records' makers: the fast path of the file store's and the SQLite reader's metrics."""
    last = len(values) - 1
    ts = timestamps[last]
    metric: Metric = _new_metric(
        key,
        values[last],
        steps[last],
        ts if ts >= 0 else None,
        values[min_i],
        steps[min_i],
        values[max_i],
        steps[max_i],
        last + 1,
        _new_history(steps, timestamps, values),
    )
    return metric


class MetricLines:
    """Accumulates the lines of one metric file; :meth:`metric` gives the result."""

    def __init__(self, key: str, size: int | None = None) -> None:
        self.key = key
        self.size = size  # of the file, when known: sets the slice length of a downsampled one
        self._fed = 0
        self.steps: array[int] = array("q")
        self.timestamps: array[int] = array("q")
        self.values: array[float] = array("d")
        self.lines = 0
        self.bad: list[int] = []
        self.nbad = 0
        self.out_of_range = 0
        self.long = LongLines(limits().line)  # lines past the bound, skipped
        self.echoes = 0
        self._dataset_lines: set[tuple[str, str, str, str]] = set()
        self._rest = ""
        self._summary: _Summary | None = None

    # -- feeding ------------------------------------------------------------------------------

    def feed_bytes(self, chunks: Iterable[bytes]) -> None:
        limit = limits().line
        skipping = -1  # the length so far of a line past the bound being skipped, -1 when none
        for chunk in chunks:
            self._fed += len(chunk)
            if skipping >= 0:
                # a line past the bound (readers/_bounded.py): dropped up to its newline in
                # fixed memory, instead of growing (and re-copying) the unfinished line
                end = chunk.find(b"\n")
                if end < 0:
                    skipping += len(chunk)
                    continue
                self._long_line(skipping + end)
                skipping, chunk = -1, chunk[end + 1 :]
            text = self._rest + chunk.decode("utf-8", errors="replace")
            cut = text.rfind("\n") + 1
            self._rest = text[cut:]
            if cut:
                self._feed_bounded(text[:cut], limit)
            if len(self._rest) > limit:
                skipping, self._rest = len(self._rest), ""
        if skipping >= 0:
            self._long_line(skipping)
        if self._rest:
            self._feed_bounded(self._rest, limit)
            self._rest = ""

    def _feed_bounded(self, text: str, limit: int) -> None:
        if len(text) <= limit:
            self._feed(text)
            return
        batch: list[str] = []
        for line in text.split("\n"):
            if len(line) > limit:
                if batch:
                    self._feed("\n".join(batch) + "\n")
                    batch = []
                self._long_line(len(line))
            else:
                batch.append(line)  # a blank one too: it still counts as a line
        if batch and batch[-1] == "" and text.endswith("\n"):
            batch.pop()  # the split's empty piece after the last newline
        if batch:
            self._feed("\n".join(batch) + "\n")

    def _long_line(self, length: int) -> None:
        self.lines += 1
        self.long.found.append((self.lines, length))

    def _feed(self, text: str) -> None:
        if _THREE_FIELDS.fullmatch(text):
            fields = text.split()
            try:
                steps = array("q", map(int, fields[2::3]))
                timestamps = array("q", map(int, fields[0::3]))
                values = array("d", map(float, fields[1::3]))
            except (ValueError, OverflowError):
                pass
            else:
                self.lines += len(values)
                self._add(steps, timestamps, values)
                return
        self._feed_lines(text)

    def _feed_lines(self, text: str) -> None:
        steps: array[int] = array("q")
        timestamps: array[int] = array("q")
        values: array[float] = array("d")
        for line in text.splitlines():
            self.lines += 1
            fields = line.split()
            if not fields:
                continue
            try:
                ts = int(fields[0]) if fields[0].isdigit() else int(float(fields[0]))
                value = float(fields[1])
                step = int(fields[2]) if len(fields) > 2 else 0
            except (ValueError, IndexError, OverflowError):
                self._bad_line()
                continue
            if not (INT64_MIN <= ts <= INT64_MAX and INT64_MIN <= step <= INT64_MAX):
                self.out_of_range += 1
                self._bad_line()
                continue
            if len(fields) == 5:
                # MLflow 3's log_model re-logs the points it reads back at step 0, and its parser
                # reads every dataset line (`ts value step name digest`) as step 0: a line logged
                # at step S comes back, appended after it, as `ts value 0 name digest`. Only that
                # exact copy of an earlier line is dropped; a real step-0 point never is
                # (FORMATS.md §1.3). Plain lines come back as exact duplicates, dropped anyway.
                ident = (fields[0], fields[1], fields[3], fields[4])
                if step != 0:
                    self._dataset_lines.add(ident)
                elif ident in self._dataset_lines:
                    self.echoes += 1
                    continue
            steps.append(step)
            timestamps.append(ts)
            values.append(value)
        self._add(steps, timestamps, values)

    def _bad_line(self) -> None:
        self.nbad += 1
        if len(self.bad) < 5:
            self.bad.append(self.lines)

    def _add(self, steps: array[int], timestamps: array[int], values: array[float]) -> None:
        if self._summary is not None:
            self._summary.add(steps, timestamps, values)
            return
        self.steps.extend(steps)
        self.timestamps.extend(timestamps)
        self.values.extend(values)
        if len(self.values) > FULL_POINTS:
            n = len(self.values)
            expected = n * self.size // self._fed if self.size and self._fed else n * 10
            self._summary = _Summary(self.steps, self.timestamps, self.values, max(n, expected))
            self.steps, self.timestamps, self.values = array("q"), array("q"), array("d")

    # -- the result ---------------------------------------------------------------------------

    def problem(self) -> str | None:
        """The reason for a Problem about this file, or None when every line was read."""
        if self.long.found:
            long = self.long.problem()
            return long if not self.nbad else f"{long}; {self._bad_problem()}"
        if not self.nbad:
            return None
        return self._bad_problem()

    def _bad_problem(self) -> str:
        shown = ", ".join(str(n) for n in self.bad) + (" …" if self.nbad > len(self.bad) else "")
        range_note = f", {self.out_of_range} with a step or timestamp beyond int64" if self.out_of_range else ""
        return f"{self.nbad} line(s) are not '<timestamp> <value> <step>' (line {shown}{range_note}); skipped"

    def downsampled(self) -> str | None:
        if self._summary is None:
            return None
        kept = len(self._summary.kept)
        return (
            f"{self._summary.count:,} points; {kept:,} kept for charts "
            "(final, min, max and count are exact; duplicate lines are counted)"
        )

    def metric(self) -> Metric | None:
        if self._summary is not None:
            return self._summary.metric(self.key)
        steps, timestamps, values = self.steps, self.timestamps, self.values
        if not values:
            return None
        if len(steps) < 2 or all(map(operator.lt, steps, steps[1:])):  # strictly increasing: the usual file
            return Metric.from_history(self.key, MetricHistory(steps, timestamps, values))
        points = list(zip(steps, timestamps, values, strict=True))
        return Metric.from_history(self.key, MetricHistory.from_points(points))


class _Summary:
    """Exact final/min/max/count over any number of points, and the points a chart needs."""

    def __init__(self, steps: array[int], timestamps: array[int], values: array[float], expected: int) -> None:
        self.count = 0
        self.final: tuple[int, int, float] | None = None
        self.low: tuple[float, int, int] | None = None  # (value, step, timestamp)
        self.high: tuple[float, int, int] | None = None
        self.kept: list[tuple[int, int, float]] = []
        # About BUCKETS slices over the points the file is expected to hold (from its size and
        # the bytes per point so far; a wrong guess costs chart points, never exactness).
        self.bucket = max(1, expected // BUCKETS)
        self._pending: tuple[array[int], array[int], array[float]] = (array("q"), array("q"), array("d"))
        self.add(steps, timestamps, values)

    def add(self, steps: array[int], timestamps: array[int], values: array[float]) -> None:
        ps, pt, pv = self._pending
        ps.extend(steps)
        pt.extend(timestamps)
        pv.extend(values)
        n = len(pv) - len(pv) % self.bucket
        if n:
            self._consume(ps[:n], pt[:n], pv[:n])
            self._pending = (ps[n:], pt[n:], pv[n:])

    def _consume(self, steps: array[int], timestamps: array[int], values: array[float]) -> None:
        self.count += len(values)
        top = max(steps)
        if steps.count(top) == 1:  # the usual file: one point at the highest step (C speed)
            i = steps.index(top)
            last = (steps[i], timestamps[i], values[i])
        else:
            last = max(
                ((s, t, v) for s, t, v in zip(steps, timestamps, values, strict=True) if s == top), key=_final_key
            )
        if self.final is None or _final_key(last) > _final_key(self.final):
            self.final = last
        b = self.bucket
        for start in range(0, len(values), b):
            sl = values[start : start + b]
            picks = {start, start + len(sl) - 1}
            finite = [v for v in sl if not math.isnan(v)] if any(map(math.isnan, sl)) else sl
            if finite:
                lo, hi = min(finite), max(finite)
                i_lo, i_hi = start + sl.index(lo), start + sl.index(hi)
                picks.update((i_lo, i_hi))
                self._extreme(lo, steps[i_lo], timestamps[i_lo], low=True)
                self._extreme(hi, steps[i_hi], timestamps[i_hi], low=False)
            self.kept.extend((steps[i], timestamps[i], values[i]) for i in sorted(picks))

    def _extreme(self, value: float, step: int, ts: int, low: bool) -> None:
        best = self.low if low else self.high
        if best is None:
            better = True
        elif low:
            better = value < best[0] or (value == best[0] and (step, ts) < (best[1], best[2]))
        else:
            better = value > best[0] or (value == best[0] and (step, ts) < (best[1], best[2]))
        if better:
            if low:
                self.low = (value, step, ts)
            else:
                self.high = (value, step, ts)

    def metric(self, key: str) -> Metric:
        ps, pt, pv = self._pending
        if pv:
            self.bucket = len(pv)
            self._consume(ps, pt, pv)
            self._pending = (array("q"), array("q"), array("d"))
        history = MetricHistory.from_points(self.kept)
        assert self.final is not None
        step, ts, value = self.final
        return Metric(
            key=key,
            final=value,
            final_step=step,
            final_timestamp=ts if ts >= 0 else None,
            minimum=self.low[0] if self.low else None,
            minimum_step=self.low[1] if self.low else None,
            maximum=self.high[0] if self.high else None,
            maximum_step=self.high[1] if self.high else None,
            count=self.count,
            history=history,
        )


def _final_key(point: tuple[int, int, float]) -> tuple[int, int, float]:
    # MLflow's latest value: the largest (step, timestamp, value); NaN sorts lowest
    step, ts, value = point
    return (step, ts, -math.inf if math.isnan(value) else value)
