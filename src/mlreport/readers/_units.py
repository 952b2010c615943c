"""Records as bytes, for the two places a reader's results travel: a unit cache between builds
(:class:`mlreport.engine.cache.UnitCache`) and a worker process of the crawl back to the crawl
(DESIGN.md decision 12).

Plain pickle would do, but two things make it cheaper here. A frozen dataclass with slots
unpickles through dataclasses' Python-level ``__setstate__``, which calls ``fields()`` for
every object (half the time of loading a run); here the field names are looked up once per
class. And short strings are interned as they are loaded: param and tag names repeat in every
run, and the catalog keeps one copy of each (issue 12).
"""

from __future__ import annotations

import io
import pickle
import sys
from dataclasses import fields, is_dataclass
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


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        if cls.__module__ == "mlreport.model" and getattr(cls, "__slots__", None) is not None and is_dataclass(cls):
            return _rebuild, (cls, tuple(getattr(obj, name) for name in _slots(cls)))
        return NotImplemented

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is str and len(obj) <= 64:
            return obj
        return None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        if type(pid) is not str:
            raise pickle.UnpicklingError("unknown persistent id")
        return sys.intern(pid)

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_rebuild":
            return _rebuild
        return super().find_class(module, name)


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


__all__ = ["dumps", "loads", "records_in"]
