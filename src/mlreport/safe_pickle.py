"""Unpickling the build cache without running code that the cache names.

The build cache (``--cache-dir``, by default beside the output) holds pickles of mlreport's own
records: the last crawl's catalog, the manifest of the last site, the per-unit reading results.
CI restores that folder between jobs (``actions/cache``, GitLab ``cache:``), so whoever can write
a cache entry could otherwise make ``pickle.load`` call any function (``os.system``) on the
next build. :class:`RecordUnpickler` resolves only the classes those pickles are made of: the
classes defined in mlreport's record modules, and a few standard containers and value types.
Anything else is :class:`pickle.UnpicklingError`, which every reader of the cache already takes
as a miss (the entry is rebuilt, the site is the same).
"""

from __future__ import annotations

import importlib
import io
import pickle
from typing import IO, Any

#: modules whose *classes* a cache pickle may name (their own classes, not what they import)
RECORD_MODULES = frozenset(
    {
        "mlreport.model",
        "mlreport.catalog",
        "mlreport.history_store",
        "mlreport.render.page",
        "mlreport.engine.cache",
    }
)

#: reconstruction functions (not classes) that mlreport registers for its records
RECORD_FUNCTIONS = frozenset({("mlreport.model", "_mapping_proxy")})

#: standard names a pickle of plain data uses; none runs code chosen by the data
STANDARD = frozenset(
    {
        ("array", "array"),
        ("array", "_array_reconstructor"),
        ("builtins", "bytearray"),
        ("builtins", "complex"),
        ("builtins", "frozenset"),
        ("builtins", "object"),
        ("builtins", "range"),
        ("builtins", "set"),
        ("builtins", "slice"),
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("copyreg", "_reconstructor"),
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("pathlib", "Path"),
        ("pathlib", "PosixPath"),
        ("pathlib", "PurePosixPath"),
    }
)


def allowed(module: str, name: str) -> Any:
    """The object ``module.name`` if a cache pickle may name it; :class:`pickle.UnpicklingError`
    otherwise."""
    if (module, name) in STANDARD or (module, name) in RECORD_FUNCTIONS:
        return getattr(importlib.import_module(module), name)
    if module in RECORD_MODULES and not name.startswith("__") and "." not in name:
        obj = getattr(importlib.import_module(module), name, None)
        if isinstance(obj, type) and obj.__module__ == module:
            return obj
    raise pickle.UnpicklingError(f"{module}.{name} is not an mlreport record")


class RecordUnpickler(pickle.Unpickler):
    """A :class:`pickle.Unpickler` that resolves only what :func:`allowed` allows."""

    def find_class(self, module: str, name: str) -> Any:
        return allowed(module, name)


def load(file: IO[bytes]) -> Any:
    return RecordUnpickler(file).load()


def loads(data: bytes) -> Any:
    return RecordUnpickler(io.BytesIO(data)).load()
