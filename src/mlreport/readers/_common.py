"""What every reader needs: a read context (origins, problems, skipped counts) and param text.

The rules here are the readers' shared contract (docs/readers.md):

- **Origins.** Every record's :class:`~mlreport.model.Origin` is ``(store URL as the user named
  it, path relative to the store root, reader name)``; :meth:`ReadContext.origin` builds it.
- **Problems.** One bad record is one :class:`~mlreport.model.Problem` naming its file, and the
  reader goes on; :meth:`ReadContext.problem` collects them and :meth:`ReadContext.drain` yields
  them (yield them as you go, so a reader that fails later keeps them).
- **Skipped.** What a reader reads and leaves out on purpose (deleted runs without
  ``--include-deleted``) is counted with :meth:`ReadContext.skipped`, never silent.
- **Git LFS pointers.** A file a reader parses that is a Git LFS pointer (the small text
  file a clone without ``git lfs pull`` holds) is a Problem saying so (:func:`lfs_reason`),
  never parsed as the file it stands for; a listed one says it is a pointer.
- **Param text.** A param is text. Strings stay as written; numbers, booleans and lists are
  JSON (``0.05``, ``true``, ``["a", "b"]``); nested mappings are flattened to ``a.b.c`` keys;
  and a ``null`` is kept as the text ``null``: a param set to nothing is a fact of the run
  (``max_steps: null`` is not the same run as one with no ``max_steps``), and MLflow, W&B and
  DVC all keep it. An empty mapping is the text ``{}``.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ..model import Origin, Problem, Severity, Skipped
from ..stores import Store, join
from ._bounded import MAX_DEPTH, BoundedError


@dataclass
class ReadContext:
    """One read of one store: where records come from, and the problems met on the way.

    Args:
        store: the store being read.
        root: the store's path inside ``store`` (what ``detect`` was given).
        format: the reader's ``name``, written into every origin.
    """

    store: Store
    root: str
    format: str
    problems: list[Problem] = field(default_factory=list)
    skips: list[Skipped] = field(default_factory=list)

    def at(self, rel: str) -> str:
        """A path of the store relative to the reader's root, as a store-root-relative path."""
        return join(self.root, rel) if rel else self.root

    def origin(self, path: str) -> Origin:
        """The origin of a record read from ``path`` (relative to the store root)."""
        return Origin(self.store.url, path, self.format)

    def problem(self, path: str, reason: str, severity: Severity = Severity.WARNING) -> Problem:
        """Note one record that could not be read (``path`` relative to the store root)."""
        problem = Problem(self.origin(path), reason, severity)
        self.problems.append(problem)
        return problem

    def skipped(self, path: str, what: str, count: int, reason: str, keys: tuple[str, ...] = ()) -> Skipped:
        """Count records read and left out on purpose (``what``: ``deleted runs`` …)."""
        skip = Skipped(self.origin(path), what, count, reason, tuple(sorted(keys)))
        self.skips.append(skip)
        return skip

    def drain(self) -> Iterator[Problem | Skipped]:
        """Yield and forget the problems and skipped counts noted so far."""
        pending: list[Problem | Skipped] = [*self.problems, *self.skips]
        self.problems.clear()
        self.skips.clear()
        yield from pending


def param_text(value: object) -> str:
    """A param value as text: strings as they are, anything else (``None`` too) as sorted JSON.

    Total over what the JSON and YAML (safe) loaders build: dates, ``!!binary``, ``!!set``,
    mapping keys that are not text and a value that holds itself are text too, never an
    exception that costs the record (see :func:`_yaml_value`).
    """
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    # json.dumps' own text for the scalars every store is full of, without its encoder set-up
    # (a third of a small run's param time): int and finite float repr, true/false, null
    if kind is int:
        return int.__repr__(value)
    if kind is float and value - value == 0:  # type: ignore[operator]  # finite: not NaN or +-inf
        return float.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, (datetime.date, datetime.time, bytes, bytearray)):
        return _yaml_value(value)  # type: ignore[return-value]  # text, as a string param is
    try:
        return json.dumps(value, sort_keys=True, default=_yaml_value)
    except TypeError:  # mapping keys of several types (YAML allows `1: a` and `b: c` in one mapping)
        return json.dumps(_text_keys(value), sort_keys=True, default=_yaml_value)
    except ValueError as exc:
        if "ircular" not in str(exc):  # an integer past the int-string limit: the caller's to say
            raise
        return "(a value that contains itself)"  # a YAML alias inside its own anchor: `&a [*a]`


def _yaml_value(value: object) -> object:
    """JSON for what a YAML safe loader builds beyond JSON, as the file wrote it: a date or time
    as ISO 8601, ``!!binary`` as its base64 text, ``!!set`` as a sorted list (F22: one such value
    in a model card cost the whole output dir). Anything else: its ``str``."""
    if isinstance(value, (datetime.date, datetime.time)):  # datetime.datetime is a date
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=param_text)
    return str(value)


def _text_keys(value: object, depth: int = 0) -> object:
    # YAML nesting is bounded where it is loaded (_bounded.MAX_DEPTH); this bound is a backstop
    if depth > MAX_DEPTH:
        raise RecursionError("nested too deep")
    if isinstance(value, Mapping):
        return {param_text(k): _text_keys(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_text_keys(v, depth + 1) for v in value]
    return value


def json_number(value: object) -> float | None:
    """A JSON number as a float, or None for anything else (``true`` is not a number).

    JSON numbers have no range: an integer past the float range is an infinity of its sign,
    as the tool's own float() of a logged tensor would be, never an ``OverflowError`` that
    costs the file (fuzz finding F17). NaN and infinities are kept as logged.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float_of_int(value)


def float_of_int(value: int | float) -> float:
    """``float(value)``, with an integer past the float range as an infinity of its sign.

    The one rule for numbers that have no range in their format (JSON, YAML): ``float()``
    raises ``OverflowError`` there, and so does ``math.copysign`` of such an integer.
    """
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def flatten_params(prefix: str, value: object, out: dict[str, str], _depth: int = 0) -> None:
    """Nested mappings become ``a.b.c`` keys; ``None`` is kept as ``null`` (see the module doc).

    Raises :class:`~mlreport.readers._bounded.BoundedError` past ``MAX_DEPTH`` levels, so an
    untrusted config cannot exhaust the stack.
    """
    if isinstance(value, Mapping) and value:
        if _depth >= MAX_DEPTH:
            raise BoundedError(f"params nested deeper than {MAX_DEPTH} levels under '{prefix[:80]}'")
        for key in value:
            flatten_params(f"{prefix}.{key}", value[key], out, _depth + 1)
    else:
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


# -- Git LFS pointers --------------------------------------------------------------------------

LFS_SPEC = b"version https://git-lfs.github.com/spec/v1"
LFS_MAX_SIZE = 1024  # the spec's limit for a pointer file


def lfs_pointer(data: bytes) -> tuple[str, int | None] | None:
    """``(oid, size)`` when ``data`` is a Git LFS pointer file, else ``None``."""
    if not data.startswith(LFS_SPEC) or len(data) > LFS_MAX_SIZE:
        return None
    oid, size = "", None
    for line in data.decode("utf-8", errors="replace").splitlines()[1:]:
        key, _, value = line.partition(" ")
        if key == "oid":
            oid = value.strip()
        elif key == "size" and value.strip().isdigit():
            size = int(value.strip())
    return oid, size


def lfs_problem_reason(pointer: tuple[str, int | None]) -> str:
    oid, size = pointer
    shown = size if size is not None else "unknown"
    return f"git-lfs pointer, not the file (oid {oid or 'unknown'}, size {shown})"


def lfs_reason(data: bytes | str) -> str | None:
    """The Problem's reason when ``data`` (a file's bytes or text) is a Git LFS pointer."""
    raw = data.encode("utf-8", errors="replace") if isinstance(data, str) else data
    pointer = lfs_pointer(raw)
    return None if pointer is None else lfs_problem_reason(pointer)
