"""Small helpers more than one reader needs."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping

from ..stores import Store
from ._bounded import MAX_DEPTH, BoundedError


def param_text(value: object) -> str:
    """A param value as text: strings as they are, anything else as sorted JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def flatten_params(prefix: str, value: object, out: dict[str, str], _depth: int = 0) -> None:
    """Nested mappings become ``a.b.c`` keys; ``None`` values are left out.

    Raises :class:`~mlreport.readers._bounded.BoundedError` past ``MAX_DEPTH`` levels, so an
    untrusted config cannot exhaust the stack.
    """
    if isinstance(value, Mapping) and value:
        if _depth >= MAX_DEPTH:
            raise BoundedError(f"params nested deeper than {MAX_DEPTH} levels under '{prefix[:80]}'")
        for key in value:
            flatten_params(f"{prefix}.{key}", value[key], out, _depth + 1)
    elif value is not None:
        try:
            out[prefix] = param_text(value)
        except (RecursionError, ValueError) as exc:
            raise BoundedError(f"param '{prefix[:80]}' cannot be written as text: {type(exc).__name__}") from None


def store_dir_name(store: Store, path: str, fallback: str) -> str:
    """The name of the folder at ``path`` in ``store``; for the root, the source's own name."""
    if path:
        return posixpath.basename(path.rstrip("/"))
    url = store.url.rstrip("/")
    if "://" in url:
        url = url.split("://", 1)[1]
    name = posixpath.basename(url.replace("\\", "/"))
    if name in ("", ".", ".."):
        local = store.local_root()
        name = local.name if local is not None else ""
    return name or fallback
