"""Bounded parsers for untrusted store files (DESIGN.md decision 10).

Every reader parses JSON and YAML written by other tools, or by an attacker. The standard
parsers fail in ways that escape a reader's per-record fault boundary or never return:

- JSON nested 100,000 deep raises ``RecursionError`` (not a ``ValueError``);
- an integer of more than 4,300 digits raises ``ValueError`` from Python's int-string limit;
- a YAML "billion laughs" (anchors referencing anchors) is small on disk and explodes in
  every consumer that walks it (flattening params, ``json.dumps``, templating);
- YAML nested some 30,000 deep (``[[[[…``, or ``- - - …`` on one line) crashes the whole
  process with a segmentation fault in libyaml's composer, which recurses in C (found by
  ``tests/fuzz``); nothing can catch that, so such a document is refused before it is parsed.

The functions here turn each of those into :class:`BoundedError`, a ``ValueError`` with a
message fit for a Problem, within a fixed time and memory. Huge integers are not an error in
JSON: they become floats (``inf`` past the float range), as JavaScript would read them.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, AnyStr

import yaml

#: Nesting deeper than this is refused (real stores nest a handful of levels).
MAX_DEPTH = 200
#: A YAML document may expand to at most this many nodes, counting every alias use.
MAX_YAML_NODES = 1_000_000
#: A YAML text with fewer indicator characters than this cannot nest deep enough to overflow
#: libyaml's C stack (it crashes between 20,000 and 50,000 levels on an 8 MB stack): it goes
#: straight to the parser. Longer texts have their nesting measured on the event stream first.
_YAML_SAFE_INDICATORS = 5_000
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

try:  # libyaml is much faster; fall back to the pure-Python loader
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlLoader = yaml.SafeLoader


@dataclass(frozen=True, slots=True)
class Limits:
    """Length bounds below ``max_file_size``, so one huge line, record or document costs a
    length comparison, not a parse (``max_line_size``, ``max_record_size``,
    ``max_document_size`` in mlreport.yml; docs/configuration.md)."""

    #: a line of a metric file, ``.jsonl``, ``.tsv`` or ``.csv`` (real ones are < 1 KB; a W&B
    #: history row with many keys a few hundred KB)
    line: int = 8 * 1024 * 1024
    #: a ``.wandb`` record or a tfevents record (an image summary is a few MB)
    record: int = 64 * 1024 * 1024
    #: a whole JSON or YAML document (trainer_state.json of a long run: tens of MB)
    document: int = 64 * 1024 * 1024


_limits = Limits()


def limits() -> Limits:
    """The bounds in force (set for a crawl by :func:`using_limits`)."""
    return _limits


@contextlib.contextmanager
def using_limits(bounds: Limits) -> Iterator[None]:
    """Apply ``bounds`` for the block (a crawl; forked workers inherit them)."""
    global _limits
    old, _limits = _limits, bounds
    try:
        yield
    finally:
        _limits = old


def limits_from(line: int | None, record: int | None, document: int | None) -> Limits:
    """:class:`Limits` with the given bounds (None: the default)."""
    d = Limits()
    return Limits(line or d.line, record or d.record, document or d.document)


def _size_text(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.4g} {unit}"
    return f"{n} bytes"


def too_long(subject: str, length: int, limit: int, key: str) -> str:
    """The Problem text for a refused line, record or document: ``subject`` (``line 12``,
    ``record at byte 4096``) is ``length`` bytes, past ``limit`` (the config ``key``)."""
    return (
        f"{subject} is {_size_text(length)}, longer than the {_size_text(limit)} limit ({key} in mlreport.yml); skipped"
    )


@dataclass(slots=True)
class LongLines:
    """The lines :func:`split_lines` left out: (line number, length) of each."""

    limit: int
    found: list[tuple[int, int]] = field(default_factory=list)

    def problem(self) -> str | None:
        """One line for all of them (None when there were none); lengths of decoded text are
        counted in characters, said as bytes (the same for the ASCII these files hold)."""
        if not self.found:
            return None
        n, length = self.found[0]
        if len(self.found) == 1:
            return too_long(f"line {n}", length, self.limit, "max_line_size")
        return (
            f"{len(self.found)} lines are longer than the {_size_text(self.limit)} limit"
            f" (max_line_size in mlreport.yml); skipped (the first: line {n}, {_size_text(length)})"
        )


def split_lines(data: AnyStr, long: LongLines | None = None, sep: AnyStr | None = None) -> list[AnyStr]:
    """``data.splitlines()`` (or ``data.split(sep)``), every line longer than the bound left empty.

    Line numbers stay as they were (a reader that skips blank lines skips these too), and each
    one left out is noted in ``long`` (its :meth:`LongLines.problem` says so in one line). The
    split itself costs the text's size once; what a reader does with a line (split it into
    fields, parse it) is then bounded: one line of 10^8 tab-separated fields would otherwise be
    10^8 strings. A text no longer than the bound costs nothing more than the split.
    """
    limit = long.limit if long is not None else _limits.line
    lines = data.splitlines() if sep is None else data.split(sep)
    if len(data) <= limit:
        return lines
    empty = data[:0]
    for i, line in enumerate(lines):
        if len(line) > limit:
            if long is not None:
                long.found.append((i + 1, len(line)))
            lines[i] = empty
    return lines


def long_lines() -> LongLines:
    """A :class:`LongLines` for the line bound in force."""
    return LongLines(_limits.line)


def _check_document(data: bytes | str, kind: str) -> None:
    limit = _limits.document
    if len(data) > limit:
        raise BoundedError(
            f"the {kind} document is {_size_text(len(data))}, longer than the {_size_text(limit)} limit"
            " (max_document_size in mlreport.yml)"
        )


class BoundedError(ValueError):
    """A file that is refused because it exceeds a parser bound; the message says which."""


def clamp_int64(value: int) -> int:
    """``value`` limited to the signed 64-bit range (steps and timestamps are int64 in every format)."""
    if value > INT64_MAX:
        return INT64_MAX
    if value < INT64_MIN:
        return INT64_MIN
    return value


def finite_or_none(value: float | int | None) -> float | None:
    """A number as a finite float, or None (for times and sizes, where inf/NaN mean nothing)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        return None
    return number if math.isfinite(number) else None


def _big_int(text: str) -> int | float:
    if len(text.lstrip("-")) <= 4000:
        return int(text)
    return float(text)  # inf or -inf past the float range


def load_json(data: bytes | str, *, max_depth: int | None = None) -> Any:
    """``json.loads`` that raises :class:`BoundedError` for excessive nesting.

    Nesting past the interpreter's recursion limit is always refused; ``max_depth`` also walks
    the result (iteratively) and refuses anything deeper, for consumers that recurse.
    Integers too long for Python's int-string limit become floats instead of failing.
    Raises ``ValueError`` (``json.JSONDecodeError`` or :class:`BoundedError`) for bad input and
    ``UnicodeDecodeError`` (also a ``ValueError``) for bytes that are not UTF-8.
    """
    _check_document(data, "JSON")
    try:
        value = json.loads(data)
    except RecursionError:
        raise BoundedError("JSON nested too deep") from None
    except ValueError as exc:
        if "limit" not in str(exc) or isinstance(exc, json.JSONDecodeError):
            raise
        try:
            value = json.loads(data, parse_int=_big_int)
        except RecursionError:
            raise BoundedError("JSON nested too deep") from None
    if max_depth is not None and isinstance(value, (dict, list)) and _json_opens(data) > max_depth:
        _check_depth(value, max_depth)
    return value


def _json_opens(data: bytes | str) -> int:
    # Every level of JSON nesting opens with "[" or "{", so their count bounds the depth (a
    # bracket inside a string only raises the bound); counted in C, it spares the walk of the
    # result for a document that cannot be too deep (all but a hostile one). In UTF-16 and
    # UTF-32, which json.loads also takes, each bracket still holds its 0x5B/0x7B byte.
    if isinstance(data, bytes):
        return data.count(b"[") + data.count(b"{")
    return data.count("[") + data.count("{")


def _check_depth(value: Any, max_depth: int) -> None:
    # Iterative: the point is not to recurse on untrusted structure.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise BoundedError(f"nested deeper than {max_depth} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))


def load_yaml(
    text: str | bytes,
    *,
    max_nodes: int = MAX_YAML_NODES,
    max_depth: int = MAX_DEPTH,
    loader: Any = None,
) -> Any:
    """``yaml.safe_load`` (libyaml when present) with the expansion and nesting bounded.

    ``loader`` is a subclass of PyYAML's safe loader for readers that adjust its resolvers (the
    manifest keeps timestamps as text); it must not construct arbitrary objects.
    Raises ``yaml.YAMLError`` for bad YAML and :class:`BoundedError` for a document whose
    aliases expand past ``max_nodes`` nodes or that nests deeper than ``max_depth``.
    """
    _check_document(text, "YAML")
    anchor, alias = (b"&", b"*") if isinstance(text, bytes) else ("&", "*")
    aliased = anchor in text and alias in text  # type: ignore[operator]
    indicators = _yaml_indicators(text)
    if aliased or indicators >= _YAML_SAFE_INDICATORS:
        # Aliases and nesting are counted on libyaml's event stream, before anything is
        # composed: a bomb is refused after a few hundred events, not after building (or
        # walking) what it expands to. A document without an anchor and an alias has none.
        _check_yaml_events(text, max_nodes, max_depth)
    try:
        value = yaml.load(text, Loader=loader or _YamlLoader)  # noqa: S506 - a safe loader
    except RecursionError:
        raise BoundedError(f"YAML nested deeper than {max_depth} levels") from None
    except yaml.YAMLError as exc:
        if _is_nesting_limit(exc):
            raise BoundedError(f"YAML nested deeper than {max_depth} levels") from None
        raise
    except ValueError as exc:  # a huge integer: int-string limit
        raise BoundedError(f"YAML value out of range: {str(exc)[:80]}") from None
    # without aliases, the indicators bound the depth too: fewer of them than max_depth, and
    # the walk of the result could find nothing (a params.yaml has a few dozen)
    if isinstance(value, (dict, list)) and not aliased and indicators > max_depth:
        _check_depth(value, max_depth)
    return value


def _yaml_indicators(text: str | bytes) -> int:
    # Every level of YAML nesting needs one of these: "[" "{" (flow), "-" (block sequence),
    # ":" "?" (block mapping). Their count bounds the depth; it is cheap (C-speed counts).
    if isinstance(text, bytes):
        return sum(text.count(c) for c in (b"[", b"{", b"-", b":", b"?"))
    return sum(text.count(c) for c in ("[", "{", "-", ":", "?"))


def _check_yaml_events(text: str | bytes, max_nodes: int, max_depth: int) -> None:
    """Refuse a document whose nodes, counting every alias use as a copy, pass ``max_nodes``,
    or that nests (through aliases too) deeper than ``max_depth``.

    libyaml's parser is a state machine (no recursion), so this is safe on any nesting. Each
    anchor's expanded size and height are recorded when its node ends; an alias adds them.
    """
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, height) of its node, expanded
    stack: list[list[Any]] = []  # open collections: [anchor, nodes, height of its children]
    total = 0

    def add(nodes: int, height: int) -> None:
        nonlocal total
        total += nodes
        if total > max_nodes:
            raise BoundedError(f"YAML aliases expand to more than {max_nodes:,} nodes")
        if len(stack) + height > max_depth:
            raise BoundedError(f"YAML nested deeper than {max_depth} levels")
        if stack:
            top = stack[-1]
            top[1] += nodes
            top[2] = max(top[2], height)

    try:
        for event in yaml.parse(text, Loader=_YamlLoader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if len(stack) >= max_depth:
                    raise BoundedError(f"YAML nested deeper than {max_depth} levels")
                stack.append([event.anchor, 1, 0])
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                anchor, nodes, height = stack.pop()
                if anchor is not None:
                    sizes[anchor] = (nodes, height + 1)
                total -= nodes - 1  # its children were counted as they came; count it whole once
                add(nodes, height + 1)
            elif isinstance(event, yaml.ScalarEvent):
                if event.anchor is not None:
                    sizes[event.anchor] = (1, 0)
                add(1, 0)
            elif isinstance(event, yaml.AliasEvent):
                if any(top[0] == event.anchor for top in stack):
                    # ``&x [*x]``: the load builds a list that holds itself, and every walk of
                    # it (flattening params, a page) recurses until RecursionError (issue 11)
                    raise BoundedError("YAML alias refers to a node that holds it")
                add(*sizes.get(event.anchor or "", (1, 0)))  # an unknown anchor: the load says so
            elif isinstance(event, yaml.DocumentEndEvent):
                total = 0  # yaml.load reads one document; each is bounded on its own
    except BoundedError:
        raise
    except yaml.YAMLError as exc:
        if _is_nesting_limit(exc):
            raise BoundedError(f"YAML nested deeper than {max_depth} levels") from None
        # any other error: the load that follows raises it with its position
    except ValueError:
        pass  # text libyaml cannot take (a lone surrogate): the load that follows says so


def _is_nesting_limit(exc: yaml.YAMLError) -> bool:
    # PyYAML 6.0.4's scanner has a nesting limit of its own (1,000 flow levels), reached while it
    # looks ahead, before the parser gives the events counted above: the same refusal, said as
    # BoundedError whatever the installed PyYAML
    return "maximum nesting depth" in str(getattr(exc, "problem", None) or exc)
