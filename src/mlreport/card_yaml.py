"""The model card's YAML front matter, written without PyYAML's pure-Python emitter.

A version page writes its card as a Hugging Face ``README.md`` beside it (:mod:`mlreport.card`),
and ``yaml.safe_dump`` of the front matter was a quarter of a version page's CPU (issue 7):
PyYAML represents, serialises and emits every node through a few dozen Python calls. The front
matter is always the same small shape (a mapping of names, numbers and short lists), so
:func:`dump` writes that shape directly and gives exactly the text ``yaml.safe_dump(data,
sort_keys=False, allow_unicode=True, default_flow_style=False)`` gives.

"Exactly" is kept by asking PyYAML itself wherever the choice is not structural: whether a
string may be written plain is PyYAML's own scalar analysis and resolver (cached per string),
and a number is written as PyYAML's representer writes it. Anything else (a string that needs
quotes or would be folded at 80 columns, an empty list, a type the front matter never holds)
makes :func:`dump` hand the whole document to ``yaml.safe_dump``: the fast path is only taken
where it is the same bytes.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping, Sequence

import yaml

_WIDTH = 80  # PyYAML's best_width when safe_dump is given no width
_STR = "tag:yaml.org,2002:str"
_FLOAT = "tag:yaml.org,2002:float"
_INT = "tag:yaml.org,2002:int"


class _Fallback(Exception):
    """The document has something the fast path does not write exactly as PyYAML would."""


def dump(data: Mapping[str, object]) -> str:
    """``yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)``,
    the same text, written directly when ``data`` is plain block YAML."""
    out: list[str] = []
    try:
        if type(data) is not dict or not data:
            raise _Fallback
        _mapping(data, 0, out, first_inline=False, seen={id(data)})
    except _Fallback:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return "".join(out)


def _mapping(data: Mapping[str, object], indent: int, out: list[str], first_inline: bool, seen: set[int]) -> None:
    pad = " " * indent
    for i, (key, value) in enumerate(data.items()):
        if type(key) is not str or len(key) >= 128 or not _plain(key):
            raise _Fallback  # a key PyYAML would quote, or write as a complex ("? ") key
        out.append(" " + key + ":" if first_inline and i == 0 else pad + key + ":")
        _value(value, indent, indent + len(key) + 2, out, True, seen)


def _value(value: object, indent: int, column: int, out: list[str], in_mapping: bool, seen: set[int]) -> None:
    """``value`` after a mapping key or a sequence dash written at ``indent`` (the scalar, if it
    is one, starts at ``column``)."""
    kind = type(value)
    if kind is dict or kind is list:
        if id(value) in seen:
            raise _Fallback  # the same list or dict twice: PyYAML writes an anchor and an alias
        seen.add(id(value))
    if kind is dict:
        mapping: dict[str, object] = value  # type: ignore[assignment]
        if not mapping:
            raise _Fallback  # PyYAML writes {} in flow style
        if in_mapping:
            out.append("\n")
            _mapping(mapping, indent + 2, out, False, seen)
        else:  # in a sequence: the first key on the dash's line
            _mapping(mapping, indent + 2, out, True, seen)
        return
    if kind is list:
        items: list[object] = value  # type: ignore[assignment]
        if not items or not in_mapping:
            raise _Fallback  # [] in flow style; a sequence directly in a sequence
        out.append("\n")
        _sequence(items, indent, out, seen)  # a sequence in a mapping is not indented ("indentless")
        return
    out.append(" " + _scalar(value, column) + "\n")


def _sequence(items: Sequence[object], indent: int, out: list[str], seen: set[int]) -> None:
    pad = " " * indent
    for item in items:
        out.append(pad + "-")
        _value(item, indent, indent + 2, out, False, seen)


def _scalar(value: object, column: int) -> str:
    kind = type(value)
    if kind is str:
        text: str = value  # type: ignore[assignment]
        if not _plain(text):
            raise _Fallback
        # PyYAML folds a plain scalar at a single space once the line is past 80 columns
        if column + len(text) > _WIDTH and " " in text and _folds(text, column):
            raise _Fallback
        return text
    if kind is float:
        number: float = value  # type: ignore[assignment]
        if number != number or number in (float("inf"), float("-inf")):
            raise _Fallback  # .nan / .inf: never in the front matter (the card keeps finite numbers)
        text = repr(number).lower()
        if "." not in text and "e" in text:  # as SafeRepresenter.represent_float: 1e17 -> 1.0e17
            text = text.replace("e", ".0e", 1)
        if _resolve(text) != _FLOAT:
            raise _Fallback
        return text
    if kind is int:
        return str(value)  # plain, resolves to int (bool is not int here: its type is bool)
    raise _Fallback


def _folds(text: str, column: int) -> bool:
    """True when PyYAML's ``write_plain`` would break ``text`` (written from ``column``) at one
    of its single spaces: it breaks where the line is already past the width."""
    for i, ch in enumerate(text):
        if (
            ch == " "
            and column + i > _WIDTH
            and (i == 0 or text[i - 1] != " ")
            and (i + 1 == len(text) or text[i + 1] != " ")
        ):
            return True
    return False


@functools.lru_cache(maxsize=8192)
def _plain(text: str) -> bool:
    """Whether PyYAML writes ``text`` as a plain block scalar: its scalar analysis allows it
    and its resolver reads it back as a string (``yes``, ``1.0``, ``null`` are quoted)."""
    if _resolve(text) != _STR:
        return False
    analysis = _EMITTER.analyze_scalar(text)
    return bool(analysis.allow_block_plain and not analysis.multiline and not analysis.empty)


def _resolve(text: str) -> str:
    return str(_RESOLVER.resolve(yaml.ScalarNode, text, (True, False)))  # type: ignore[no-untyped-call]


_EMITTER = yaml.emitter.Emitter(io.StringIO(), allow_unicode=True)
_RESOLVER = yaml.SafeDumper(io.StringIO())

__all__ = ["dump"]
