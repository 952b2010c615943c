"""Records as bytes, for the two places a reader's results travel: a unit cache between builds
(:class:`mlreport.engine.cache.UnitCache`) and a worker process of the crawl back to the crawl
(DESIGN.md decision 12).

Plain pickle would do, but two things make it cheaper here. A frozen dataclass with slots
unpickles through dataclasses' Python-level ``__setstate__``, which calls ``fields()`` for
every object (half the time of loading a run); here the field names are looked up once per
class. And short strings are interned as they are loaded: param and tag names repeat in every
run, and the catalog keeps one copy of each (issue 12): the mappings that hold them are
rebuilt with their keys and short values interned.
"""

from __future__ import annotations

import io
import pickle
import sys
from dataclasses import fields, is_dataclass
from types import MappingProxyType
from typing import Any

_SLOTS: dict[type, tuple[str, ...]] = {}


def _slots(cls: type) -> tuple[str, ...]:
    names = _SLOTS.get(cls)
    if names is None:
        names = _SLOTS[cls] = tuple(f.name for f in fields(cls))
    return names


def _rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    obj: Any = object.__new__(cls)
    for name, value in zip(_slots(cls), values, strict=True):
        object.__setattr__(obj, name, value)
    return obj


def _intern(value: Any) -> Any:
    return sys.intern(value) if type(value) is str and len(value) <= 64 else value


def _mapping(keys: tuple[Any, ...], values: tuple[Any, ...]) -> MappingProxyType[Any, Any]:
    """A record's mapping (params, tags), its names and short values interned as the crawl's
    cleaning interns them (one call per mapping, not per string)."""
    return MappingProxyType(dict(zip(map(_intern, keys), map(_intern, values), strict=True)))


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        if cls is MappingProxyType:
            return _mapping, (tuple(obj.keys()), tuple(obj.values()))
        if cls.__module__ == "mlreport.model" and getattr(cls, "__slots__", None) is not None and is_dataclass(cls):
            return _rebuild, (cls, tuple(getattr(obj, name) for name in _slots(cls)))
        return NotImplemented


_OURS = {"_rebuild": _rebuild, "_mapping": _mapping}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name in _OURS:
            return _OURS[name]
        return super().find_class(module, name)


def fast_replace(obj: Any, **changes: Any) -> Any:
    """:func:`dataclasses.replace` for the records (no ``__post_init__``): fields copied by
    name, looked up once per class (``replace`` walks ``fields()`` and builds keyword arguments
    each call, a tenth of a crawl at 10,000 runs)."""
    cls = type(obj)
    new: Any = object.__new__(cls)
    for name in _slots(cls):
        object.__setattr__(new, name, changes[name] if name in changes else getattr(obj, name))
    return new


def dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=5).dump(value)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    return _Unpickler(io.BytesIO(data)).load()


def records_in(value: Any) -> Any:
    """The records (dataclass objects) in ``value``, through tuples and lists."""
    if isinstance(value, (tuple, list)):
        for item in value:
            yield from records_in(item)
    elif is_dataclass(value) and not isinstance(value, type):
        yield value


__all__ = ["dumps", "fast_replace", "loads", "records_in"]
