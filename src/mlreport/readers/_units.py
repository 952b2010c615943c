"""Records as bytes, for the two places a reader's results travel: a unit cache between builds
(:class:`mlreport.engine.cache.UnitCache`) and a worker process of the crawl back to the crawl
(DESIGN.md decision 12).

Plain pickle would do, but three things make it cheaper here. A frozen dataclass with slots
unpickles through dataclasses' Python-level ``__setstate__``, which calls ``fields()`` for
every object (half the time of loading a run); here each class gets a maker, generated once,
that sets its slots through their descriptors (``_make_<Class>``, pickled by name: one call
per record, 2.3x faster than setting fields in a loop). A metric history is one bytes object
(its three arrays back to back, as the history file keeps them) instead of three pickled
arrays. And short strings are interned as they are loaded: param and tag names repeat in every
run, and the catalog keeps one copy of each (issue 12): the mappings that hold them are
rebuilt with their keys and short values interned.
"""

from __future__ import annotations

import copyreg
import io
import operator
import pickle
import sys
from array import array
from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from types import MappingProxyType
from typing import IO, Any

from .. import model
from ..model import MetricHistory
from ..safe_pickle import RecordUnpickler

_SLOTS: dict[type, tuple[str, ...]] = {}


def _slots(cls: type) -> tuple[str, ...]:
    names = _SLOTS.get(cls)
    if names is None:
        names = _SLOTS[cls] = tuple(f.name for f in fields(cls))
    return names


def _rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    """A record from its field values (kept for units pickled by the first version of this)."""
    return _maker(cls)(*values)


_MAKER_PREFIX = "_make_"
_MAKERS: dict[type, Any] = {}


def _maker(cls: type) -> Any:
    """``_make_<Class>(*values)``: the record with its slots set, no ``__init__`` or
    ``__setattr__`` (frozen) on the way; generated once per class and kept in this module,
    so that pickle names it (a global) and an unpickler finds it (:meth:`_Unpickler.find_class`)."""
    make = _MAKERS.get(cls)
    if make is not None:
        return make
    name = _MAKER_PREFIX + cls.__name__
    names = _slots(cls)
    args = ", ".join(f"v{i}" for i in range(len(names)))
    body = "".join(f"    s{i}(o, v{i})\n" for i in range(len(names)))
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    namespace.update({f"s{i}": getattr(cls, n).__set__ for i, n in enumerate(names)})
    exec(f"def {name}({args}):\n    o = new(cls)\n{body}    return o\n", namespace)  # noqa: S102 - our own fields
    make = namespace[name]
    make.__module__, make.__qualname__ = __name__, name
    globals()[name] = _MAKERS[cls] = make
    return make


def maker(cls: type) -> Any:
    """The maker of a record class (see :func:`_maker`): ``maker(Metric)(*field values)``, in
    field order, for readers that build many records of one class (a tenth of the time of the
    keyword ``__init__`` of a frozen dataclass)."""
    return _maker(cls)


def _history(data: bytes) -> MetricHistory:
    # array(typecode, bytes) is frombytes() at once; the slices of a short series cost less
    # than a memoryview and three calls (a unit loaded in the crawl's parent has 8 of these)
    n = 8 * (len(data) // 24)
    history: MetricHistory = _new_history(array("q", data[:n]), array("q", data[n : 2 * n]), array("d", data[2 * n :]))
    return history


def _mapping(keys: tuple[Any, ...], values: tuple[Any, ...]) -> MappingProxyType[Any, Any]:
    """A record's mapping (params, tags), its names and short values interned as the crawl's
    cleaning interns them (one call per mapping, not per string)."""
    intern = sys.intern
    names = [intern(k) if type(k) is str and len(k) <= 64 else k for k in keys]
    vals = [intern(v) if type(v) is str and len(v) <= 64 else v for v in values]
    return MappingProxyType(dict(zip(names, vals, strict=True)))


def _packable(history: MetricHistory) -> bool:
    s, t, v = history.steps, history.timestamps, history.values
    return (s.typecode, t.typecode, v.typecode) == ("q", "q", "d") and len(s) == len(t) == len(v)


def _reduce_mapping(obj: MappingProxyType[Any, Any]) -> Any:
    return _mapping, (tuple(obj.keys()), tuple(obj.values()))


def _reduce_history(obj: MetricHistory) -> Any:
    if _packable(obj):
        return _history, (obj.steps.tobytes() + obj.timestamps.tobytes() + obj.values.tobytes(),)
    return _maker(MetricHistory), (obj.steps, obj.timestamps, obj.values)


def _record_reducer(cls: type) -> Any:
    make, names = _maker(cls), _slots(cls)
    if len(names) == 1:
        name = names[0]
        return lambda obj: (make, (getattr(obj, name),))
    values = operator.attrgetter(*names)  # a tuple of the fields, in C
    return lambda obj: (make, values(obj))


def _dispatch_table() -> dict[type, Any]:
    """The reducers by exact type, looked up by the pickler in C: a Python call only for our own
    types (``reducer_override`` was called for every tuple and list of a unit too)."""
    table: dict[type, Any] = dict(copyreg.dispatch_table)
    for value in vars(model).values():
        if (
            isinstance(value, type)
            and value.__module__ == model.__name__
            and is_dataclass(value)
            and getattr(value, "__slots__", None) is not None
        ):
            table[value] = _record_reducer(value)
    table[MappingProxyType] = _reduce_mapping
    table[MetricHistory] = _reduce_history
    return table


class _Pickler(pickle.Pickler):
    dispatch_table = _dispatch_table()


_OURS = {"_rebuild": _rebuild, "_mapping": _mapping, "_history": _history}
_new_history = _maker(MetricHistory)


class _Unpickler(RecordUnpickler):
    # what each name resolved to, once per process: a unit names its classes and makers anew
    # (8 lookups a run loaded in the crawl's parent); only names that resolved are kept
    _found: dict[tuple[str, str], Any] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = self._found.get((module, name))
        if found is None:
            found = self._found[(module, name)] = self._resolve(module, name)
        return found

    def _resolve(self, module: str, name: str) -> Any:
        if module == __name__:
            if name in _OURS:
                return _OURS[name]
            if name.startswith(_MAKER_PREFIX):
                # a maker this process has not generated yet: only for a record class
                cls = getattr(model, name[len(_MAKER_PREFIX) :], None)
                if isinstance(cls, type) and is_dataclass(cls) and getattr(cls, "__slots__", None) is not None:
                    return _maker(cls)
            raise pickle.UnpicklingError(f"{module}.{name} is not a record")
        return super().find_class(module, name)


def fast_replace(obj: Any, **changes: Any) -> Any:
    """:func:`dataclasses.replace` for the records (no ``__post_init__``): fields copied by
    name through the class's maker (``replace`` walks ``fields()`` and builds keyword arguments
    each call, a tenth of a crawl at 10,000 runs)."""
    cls = type(obj)
    return _maker(cls)(*[changes[name] if name in changes else getattr(obj, name) for name in _slots(cls)])


# The records of the last unit that a crawl worker cleaned (held, so that their ids stay
# theirs): the crawl's text boundary takes them as they are instead of cleaning them again.
_TRUSTED: dict[int, Any] = {}


def trust(value: Any) -> None:
    """Mark the records in ``value`` (the last unit loaded from a worker) as cleaned by
    :func:`mlreport.crawl.clean_record`; the marks of the unit before are dropped."""
    _TRUSTED.clear()
    for record in records_in(value):
        _TRUSTED[id(record)] = record


def trusted(record: object) -> bool:
    """True for a record of the last unit marked by :func:`trust` (by identity: only the very
    objects that were cleaned; a mark dropped by another crawl only costs a cleaning)."""
    return _TRUSTED.get(id(record)) is record


def dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=5).dump(value)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    return _Unpickler(io.BytesIO(data)).load()


def canonical_dumps(value: Any) -> bytes:
    """``value`` pickled without the memo (no back-references: the same bytes for equal records
    however their strings are shared), the records through their reducers (half the time of a
    plain pickle, which calls ``fields()`` for every record). For digests, never loaded."""
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, protocol=5)
    pickler.fast = True
    pickler.dump(value)
    return buffer.getvalue()


def dump(value: Any, file: IO[bytes]) -> None:
    """:func:`dumps` into an open file (a whole catalog: 2.5x faster than a plain pickle of
    its records, which goes through dataclasses' ``__getstate__`` and ``fields()`` per record)."""
    _Pickler(file, protocol=5).dump(value)


#: Records pickled apart per chunk (see :func:`dump_apart`): a fresh memo every this many.
APART_CHUNK = 1000


class _ApartPickler(_Pickler):
    def __init__(self, file: IO[bytes], ids: dict[int, int]) -> None:
        super().__init__(file, protocol=5)
        self._ids = ids

    def persistent_id(self, obj: Any) -> int | None:
        return self._ids.get(id(obj))


class _ApartUnpickler(_Unpickler):
    def __init__(self, file: IO[bytes], apart: list[Any]) -> None:
        super().__init__(file)
        self._apart = apart

    def persistent_load(self, pid: Any) -> Any:
        if type(pid) is not int or not 0 <= pid < len(self._apart):
            raise pickle.UnpicklingError(f"no record {pid!r} was pickled apart")
        return self._apart[pid]


def dump_apart(value: Any, apart: Sequence[Any], file: IO[bytes]) -> None:
    """:func:`dump` of ``value`` with the objects of ``apart`` (a catalog's runs and versions)
    pickled first, :data:`APART_CHUNK` at a time, and named in ``value`` by their index.

    Why: a pickler's memo keeps every object it wrote alive until the end of the dump, and so
    every temporary the records' reducers made (a tuple of field values per record, the keys
    and values of each mapping). A whole catalog of 100,000 runs took 576 MB beyond the
    catalog itself to save that way (issue 12's 1 GB for a crawl of 100,000 runs). Each chunk
    here has a memo of its own, dropped after it; an object shared between two records of
    different chunks is written once per chunk (short names are interned again on load)."""
    ids = {id(obj): i for i, obj in enumerate(apart)}
    # one pickle after the other, each with a pickler (and so a memo) of its own: an unpickler
    # would not follow a memo cleared in the middle of one stream
    _Pickler(file, protocol=5).dump(len(apart))
    for start in range(0, len(apart), APART_CHUNK):
        _Pickler(file, protocol=5).dump(tuple(apart[start : start + APART_CHUNK]))
    _ApartPickler(file, ids).dump(value)


def load_apart(file: IO[bytes]) -> Any:
    """What :func:`dump_apart` wrote: the value, its records apart put back in their places."""
    count = _Unpickler(file).load()
    if type(count) is not int or count < 0:
        raise pickle.UnpicklingError("not a count of records")
    apart: list[Any] = []
    while len(apart) < count:
        chunk = _Unpickler(file).load()
        if type(chunk) is not tuple or not chunk or len(apart) + len(chunk) > count:
            raise pickle.UnpicklingError("not a chunk of records")
        apart.extend(chunk)
    return _ApartUnpickler(file, apart).load()


def records_in(value: Any) -> Any:
    """The records (dataclass objects) in ``value``, through tuples and lists."""
    if isinstance(value, (tuple, list)):
        for item in value:
            yield from records_in(item)
    elif is_dataclass(value) and not isinstance(value, type):
        yield value


__all__ = [
    "canonical_dumps",
    "dump",
    "dump_apart",
    "dumps",
    "fast_replace",
    "load_apart",
    "loads",
    "maker",
    "records_in",
    "trust",
    "trusted",
]
