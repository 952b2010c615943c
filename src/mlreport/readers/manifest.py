"""The mlreport manifest: a small YAML or JSON file that any pipeline writes next to its outputs.

The format is mlreport's own and is documented for users in ``docs/manifest.md``; its JSON Schema
ships inside the package (``mlreport/schemas/manifest.schema.json``, see :func:`manifest_schema`).
A manifest is a file named ``mlreport.yaml``, ``mlreport.json``, ``<name>.mlreport.yaml`` or
``<name>.mlreport.json`` whose top level holds ``mlreport_manifest: 1``: that key is what tells a
manifest from anything else (``mlreport.yaml`` may also be mlreport's own config file).

How a manifest maps onto the catalog (one file = one run):

- :class:`~mlreport.model.Run`: key ``manifest:<run.id>``, name ``run.name`` or the id; status,
  times (ISO 8601 or epoch ms; a number below 10^11 is taken as epoch seconds), user,
  description and tags as given. ``params`` become strings (nested mappings flattened with
  ``.``, lists and non-strings as sorted JSON, ``null`` kept as ``null``).
- ``run.experiment`` -> :class:`~mlreport.model.Experiment` ``manifest-exp:<name>``.
- ``run.parent_run`` -> ``parent_key`` ``manifest:<id>``; the raw id is also kept in the tag
  ``mlreport.parent_run`` so that a parent living in another format's store can be found.
- Metrics: ``history`` (inline points) and ``history_file`` (CSV/TSV long or wide, JSONL long
  or wide, relative to the manifest) are merged per metric; ``metrics`` gives the final value
  shown in tables (it wins over the last history point). A metric with no history is a single
  point at the last step of the run's histories.
- ``inputs`` -> :class:`~mlreport.model.Dataset` (key ``<uri>@<digest>`` or the URI: what
  identifies a manifest's dataset; the name defaults to the URI's last path segment) and
  :class:`~mlreport.model.DatasetRef` with the ``context``.
- ``metric_goals`` -> :class:`~mlreport.model.MetricGoal` (``min``/``max`` per metric key, the
  store's own declaration of which way is better).
- ``git`` -> :class:`~mlreport.model.GitInfo`; ``artifacts`` -> :class:`~mlreport.model.Artifact`
  (the catalog has no field for an artifact's digest: it is not kept).
- ``model`` -> :class:`~mlreport.model.RegisteredModel` + :class:`~mlreport.model.ModelVersion`
  (``run_key`` the run; stage, aliases, description; the model card's ``intended_use``,
  ``limitations`` and ``license`` as version tags ``model_card.<field>``, next to
  ``model.tags``). An alias named by several versions in one read belongs to the highest version.

Validation: :func:`validate_manifest` checks a parsed manifest against the schema, with the
``jsonschema`` package when it is installed (it is not a dependency) and a built-in checker of
the same schema otherwise; both give the same messages, ``<json path>: <what is wrong>``. An
invalid manifest is one Problem (its first three errors) and no records; an unreadable history
file is a Problem and the run is kept without that history; a bad line in a history file is
counted in one Problem and the other lines are kept.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import logging
import math
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from importlib import import_module, resources
from typing import Any

import yaml

from ..errors import kind_of
from ..model import (
    AliasMove,
    Artifact,
    Dataset,
    DatasetRef,
    Experiment,
    GitInfo,
    Goal,
    Metric,
    MetricGoal,
    MetricHistory,
    ModelVersion,
    Origin,
    Record,
    RegisteredModel,
    Run,
    RunStatus,
    frozen_map,
)
from ..stores import Store, join
from . import ReadOptions
from ._bounded import MAX_DEPTH, BoundedError, clamp_int64, load_json, load_yaml, long_lines, split_lines
from ._common import ReadContext, flatten_params, float_of_int, lfs_reason, param_text

log = logging.getLogger("mlreport.readers.manifest")

MANIFEST_VERSION = 1
MAX_ERRORS_SHOWN = 3
#: A manifest may expand (counting every YAML alias use) to this many nodes; real ones hold a
#: few hundred, and the schema check walks every node.
MAX_NODES = 200_000
# Manifests parsed (and their records built) per batch: what the reader holds parsed at once.
_CHUNK = 256

_NAMES = ("mlreport.yaml", "mlreport.json")
_SUFFIXES = (".mlreport.yaml", ".mlreport.json")
# The marker key, as a YAML or JSON mapping key; only files holding it are manifests.
_MARKER = re.compile(rb"""(?m)^(?:\xef\xbb\xbf)?[ \t]*['"]?mlreport_manifest['"]?[ \t]*:|"mlreport_manifest"\s*:""")
_SECONDS_BELOW = 100_000_000_000  # 10^11 ms is 1973; as seconds it is the year 5138
_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: past it a time names no date
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r" ?([Zz]|[+-]\d{2}(?::?\d{2})?)?"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_HISTORY_KINDS = {".csv": ",", ".tsv": "\t", ".jsonl": None, ".ndjson": None}


def is_manifest_name(name: str) -> bool:
    """Whether a file name is one a manifest may have (``mlreport.yml`` is the config file)."""
    lowered = name.lower()
    return lowered in _NAMES or lowered.endswith(_SUFFIXES)


# --- the schema and validation -----------------------------------------------------------------


@lru_cache(maxsize=1)
def _schema_text() -> str:
    return resources.files("mlreport.schemas").joinpath("manifest.schema.json").read_text(encoding="utf-8")


def manifest_schema() -> dict[str, Any]:
    """The manifest's JSON Schema (draft 2020-12), as published with the package."""
    data: dict[str, Any] = json.loads(_schema_text())
    return data


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return manifest_schema()


def validate_manifest(data: object) -> list[str]:
    """Every error of a parsed manifest, in document order; ``[]`` when it is valid.

    Each message reads ``<json path>: <what is wrong>`` (``metrics.loss: expected a number,
    found a string ('abc')``), or just the reason for the top level. Uses ``jsonschema`` when it
    is installed, else a built-in checker of the same schema; the messages are the same.
    """
    try:
        import_module("jsonschema")  # optional: not a dependency of mlreport
    except ImportError:
        return _validate(data, use_jsonschema=False)
    return _validate(data, use_jsonschema=True)


def _validate(data: object, use_jsonschema: bool) -> list[str]:
    checked = _skip_plain_history(data)
    found = _jsonschema_errors(checked) if use_jsonschema else _builtin_errors(_schema(), checked, ())
    if not found:
        found = _semantic_errors(data)
    unique = {(_position(data, path), _format_path(path), message) for path, message in found}
    return [f"{where}: {message}" if where else message for _pos, where, message in sorted(unique)]


def _plain_point(p: object) -> bool:
    if type(p) is list:
        return len(p) == 2 and type(p[0]) is int and type(p[1]) in (int, float)
    if type(p) is dict:
        return (
            type(p.get("step")) is int
            and type(p.get("value")) in (int, float)
            and type(p.get("timestamp", 0)) in (int, float)
            and all(k in ("step", "value", "timestamp") for k in p)
        )
    return False


def _skip_plain_history(data: object) -> object:
    """A shallow copy without the history series that are obviously valid.

    Inline histories can hold thousands of points; ``jsonschema`` takes ~30 µs a point, this
    check ~1 µs. Series with anything unusual are left for the schema check, so the messages
    do not change.
    """
    if not isinstance(data, dict) or not isinstance(data.get("history"), dict):
        return data
    history = {k: [] if isinstance(v, list) and all(map(_plain_point, v)) else v for k, v in data["history"].items()}
    return {**data, "history": history}


Path = tuple[str | int, ...]
Error = tuple[Path, str]


def _position(data: object, path: Path) -> tuple[int, ...]:
    """Where ``path`` is in the document (keys by their order in the file): sorts errors the
    way a reader meets them."""
    out: list[int] = []
    node = data
    for part in path:
        if isinstance(node, dict) and part in node:
            out.append(list(node).index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        else:
            out.append(-1)
            node = None
    return tuple(out)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_/-]+")


def _format_path(path: Path) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
    "null": "nothing",
}


def _found(value: object) -> str:
    """``a string ('abc')``: what a value is, with the value when it is short to show."""
    kind = kind_of(value)
    if isinstance(value, bool):
        return f"{kind} ({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f"{kind} ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return f"{kind} ({shown!r})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return kind


def _is_type(value: object, name: str) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    return False


def _equal(a: object, b: object) -> bool:
    # JSON equality: 1 == 1.0, but true is not 1
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _types(schema: Mapping[str, Any]) -> list[str]:
    t = schema.get("type")
    return [] if t is None else [t] if isinstance(t, str) else list(t)


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    target: Any = _schema()
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return _resolve(target)


def _expected(schema: Mapping[str, Any]) -> str:
    words = schema.get("x-expected")
    if isinstance(words, str):
        return words
    return " or ".join(_TYPE_WORDS.get(t, t) for t in _types(schema))


def _type_message(schema: Mapping[str, Any], value: object) -> str:
    message = f"expected {_expected(schema)}, found {_found(value)}"
    if "string" in _types(schema) and "x-expected" not in schema and isinstance(value, (bool, int, float)):
        message += "; write it in quotes"
    return message


def _enum_message(options: Sequence[object], value: object) -> str:
    shown: list[str] = []
    for option in options:
        text = str(option).lower()
        if text not in shown:
            shown.append(text)
    return f"expected one of {', '.join(shown)}, found {_found(value)}"


def _unknown_fields(schema: Mapping[str, Any], value: Mapping[str, object]) -> list[tuple[str, str]]:
    known = list(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    out = []
    for key in value:
        if key in known or any(p.search(key) for p in patterns):
            continue
        close = difflib.get_close_matches(key, known, n=1)
        out.append((key, f"unknown field (did you mean '{close[0]}'?)" if close else "unknown field"))
    return out


def _length_message(schema: Mapping[str, Any], value: list[object]) -> str:
    if "x-expected" in schema:
        return f"expected {schema['x-expected']}, found {_found(value)}"
    if "minItems" in schema and len(value) < schema["minItems"]:
        return f"expected at least {schema['minItems']} items, found {len(value)}"
    return f"expected at most {schema['maxItems']} items, found {len(value)}"


def _matching_branch(branches: Sequence[Mapping[str, Any]], value: object) -> int | None:
    """The one ``anyOf`` branch for a list or a mapping of the value's type: its errors say
    more than "expected this or that"."""
    if not isinstance(value, (list, dict)):
        return None
    matches = [i for i, b in enumerate(branches) if any(_is_type(value, t) for t in _types(_resolve(b)))]
    return matches[0] if len(matches) == 1 else None


def _builtin_errors(schema: Mapping[str, Any], value: object, path: Path) -> list[Error]:
    """The subset of JSON Schema 2020-12 that manifest.schema.json uses, with mlreport's wording.

    The schema never pairs ``type`` with ``enum``/``const``, so a wrong type is the only error of
    a value, as with ``jsonschema`` (whose other keywords skip values of the wrong type).
    """
    if "$ref" in schema:
        return _builtin_errors(_resolve(schema), value, path)
    errors: list[Error] = []
    if "anyOf" in schema:
        branches = schema["anyOf"]
        results = [_builtin_errors(b, value, path) for b in branches]
        if all(results):
            chosen = _matching_branch(branches, value)
            if chosen is not None:
                errors.extend(results[chosen])
            else:
                errors.append((path, f"expected {schema['x-expected']}, found {_found(value)}"))
        return errors
    types = _types(schema)
    if types and not any(_is_type(value, t) for t in types):
        return [(path, _type_message(schema, value))]
    if "const" in schema and not _equal(value, schema["const"]):
        errors.append((path, f"expected {json.dumps(schema['const'])}, found {_found(value)}"))
    if "enum" in schema and not any(_equal(value, o) for o in schema["enum"]):
        errors.append((path, _enum_message(schema["enum"], value)))
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append((path, "expected a non-empty string"))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append((path, f"expected {_expected(schema)}, found {_found(value)}"))
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < schema.get("minimum", value):
        errors.append((path, f"expected at least {schema['minimum']}, found {_found(value)}"))
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            errors.append((path, _length_message(schema, value)))
        prefix = schema.get("prefixItems", [])
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else schema.get("items")
            if sub is not None:
                errors.extend(_builtin_errors(sub, item, (*path, i)))
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append((path, f"missing field {key!r}"))
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                errors.extend(_builtin_errors(properties[key], item, (*path, key)))
            elif isinstance(schema.get("additionalProperties"), dict) and not any(
                re.search(p, key) for p in schema.get("patternProperties", {})
            ):
                errors.extend(_builtin_errors(schema["additionalProperties"], item, (*path, key)))
        if schema.get("additionalProperties") is False:
            errors.extend(((*path, key), message) for key, message in _unknown_fields(schema, value))
    return errors


@lru_cache(maxsize=1)
def _jsonschema_validator() -> Any:
    return import_module("jsonschema").Draft202012Validator(_schema())


def _jsonschema_errors(data: object) -> list[Error]:
    out: list[Error] = []
    for error in _jsonschema_validator().iter_errors(data):
        out.extend(_convert(error))
    return out


def _convert(error: Any) -> list[Error]:
    """One ``jsonschema`` error in mlreport's wording (the same as :func:`_builtin_errors`)."""
    path: Path = tuple(error.absolute_path)
    keyword, schema, value = error.validator, error.schema, error.instance
    if keyword == "anyOf":
        chosen = _matching_branch(schema["anyOf"], value)
        if chosen is None:
            return [(path, f"expected {schema['x-expected']}, found {_found(value)}")]
        out: list[Error] = []
        for sub in error.context:
            if sub.relative_schema_path[0] == chosen:
                out.extend(_convert(sub))
        return out
    if keyword == "type":
        return [(path, _type_message(schema, value))]
    if keyword == "const":
        return [(path, f"expected {json.dumps(schema['const'])}, found {_found(value)}")]
    if keyword == "enum":
        return [(path, _enum_message(schema["enum"], value))]
    if keyword == "minLength":
        return [(path, "expected a non-empty string")]
    if keyword == "pattern":
        return [(path, f"expected {_expected(schema)}, found {_found(value)}")]
    if keyword == "minimum":
        return [(path, f"expected at least {schema['minimum']}, found {_found(value)}")]
    if keyword in ("minItems", "maxItems"):
        return [(path, _length_message(schema, value))]
    if keyword == "required":
        return [(path, f"missing field {key!r}") for key in schema["required"] if key not in value]
    if keyword == "additionalProperties":
        return [((*path, key), message) for key, message in _unknown_fields(schema, value)]
    return [(path, str(error.message))]  # a keyword this schema does not use


def _semantic_errors(data: object) -> list[Error]:
    """What a schema cannot say: ISO 8601 times that name no real date (``2026-02-30``)."""
    if not isinstance(data, dict):
        return []
    errors: list[Error] = []
    expected = "expected an ISO 8601 time or epoch milliseconds"
    run = data.get("run")
    if isinstance(run, dict):
        for key in ("start_time", "end_time"):
            if isinstance(run.get(key), str) and parse_time(run[key]) is None:
                errors.append((("run", key), f"{expected}, found {_found(run[key])}"))
    model = data.get("model")
    promoted_at = model.get("promoted_at") if isinstance(model, dict) else None
    if isinstance(promoted_at, str) and parse_time(promoted_at) is None:
        errors.append((("model", "promoted_at"), f"{expected}, found {_found(promoted_at)}"))
    history = data.get("history")
    if isinstance(history, dict):
        for name, points in history.items():
            for i, point in enumerate(points if isinstance(points, list) else []):
                ts = point.get("timestamp") if isinstance(point, dict) else None
                if isinstance(ts, str) and parse_time(ts) is None:
                    errors.append((("history", name, i, "timestamp"), f"{expected}, found {_found(ts)}"))
    return errors


# --- values --------------------------------------------------------------------------------------


def parse_time(value: object) -> int | None:
    """Epoch milliseconds from an ISO 8601 string (UTC when it has no offset) or a number
    (epoch ms, or epoch seconds when below 10^11); ``None`` when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return None
        ms = int(round(value * 1000)) if abs(value) < _SECONDS_BELOW else int(value)
        return ms if abs(ms) <= _MAX_MS else None
    if not isinstance(value, str):
        return None
    m = _ISO.fullmatch(value.strip())
    if m is None:
        return None
    year, month, day, hh, mm, ss, frac, offset = m.groups()
    tz = timezone.utc
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
        if minutes >= 24 * 60:
            return None
        tz = timezone(sign * timedelta(minutes=minutes))
    try:
        dt = datetime(
            int(year),
            int(month),
            int(day),
            int(hh or 0),
            int(mm or 0),
            int(ss or 0),
            int((frac or "0")[:6].ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return (dt - _EPOCH) // timedelta(milliseconds=1)


def _opt(value: object) -> str | None:
    if value is None:
        return None
    text = param_text(value)
    return text if text.strip() else None


def dataset_name(uri: str) -> str:
    """The last path segment of a URI (``s3://b/data/train.csv?v=2`` -> ``train.csv``)."""
    path = uri.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if "://" in path:
        path = path.split("://", 1)[1]
    segment = path.replace("\\", "/").rsplit("/", 1)[-1]
    return segment or uri


def _version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    # Digit runs compare as numbers: by length without leading zeros, then by text (no int():
    # a 5,000-digit version must not hit Python's int-string limit).
    return tuple(
        (0, len(p.lstrip("0")), p.lstrip("0")) if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", version) if p
    )


# --- parsing files ---------------------------------------------------------------------------


class ManifestError(ValueError):
    """A manifest or history file that cannot be parsed; the message is the Problem's reason."""


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML without the timestamp type: ``2026-03-01T10:00:00Z`` stays the text written
    (a param or tag must not turn into a ``datetime``); times are parsed by :func:`parse_time`."""


class _PureLoader(yaml.SafeLoader):
    """The same in pure Python: its error messages do not depend on whether libyaml is there."""


_Loader.yaml_implicit_resolvers = _PureLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.2 floats without a dot (`1e-07`, as Go and JavaScript writers emit them) are numbers;
# PyYAML follows YAML 1.1 and would read them as text.
_FLOAT_12 = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$")
for _first in "-+0123456789.":
    _Loader.yaml_implicit_resolvers.setdefault(_first, []).append(("tag:yaml.org,2002:float", _FLOAT_12))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"not UTF-8 text (byte {exc.start})") from None


def load_manifest(name: str, data: bytes) -> object:
    """Parse a manifest's bytes as JSON (``*.json``) or YAML; raise :class:`ManifestError`.

    Parsing is bounded (:mod:`mlreport.readers._bounded`): nesting deeper than ``MAX_DEPTH``, a
    YAML document whose aliases expand past ``MAX_NODES`` nodes ("billion laughs") and huge
    integers are refused in a fixed time and memory, before anything walks the document.
    """
    text = _decode(data)
    if name.lower().endswith(".json"):
        try:
            value: object = load_json(text, max_depth=MAX_DEPTH)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg.lower()}") from None
        except BoundedError as exc:
            raise ManifestError(f"invalid JSON: {exc}") from None
    else:
        try:
            value = load_yaml(text, loader=_Loader, max_nodes=MAX_NODES, max_depth=MAX_DEPTH)
        except yaml.YAMLError:
            raise ManifestError(_yaml_problem(text)) from None
        except BoundedError as exc:
            raise ManifestError(f"invalid YAML: {exc}") from None
    if value is None:
        raise ManifestError("empty file")
    return _plain(value)


def _yaml_problem(text: str) -> str:
    """The reason a YAML text does not parse, worded by PyYAML's pure-Python parser (libyaml's
    wording differs for the same error, and a message must not depend on the install)."""
    try:
        yaml.load(text, Loader=_PureLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = str(getattr(exc, "problem", None) or "not YAML").removeprefix("but ")
        context = getattr(exc, "context", None)
        if context:
            # "while scanning a quoted scalar" is where the trouble started: say where that was
            start = getattr(exc, "context_mark", None)
            if str(context).startswith("while ") and start is not None:
                context = f"{context} at line {start.line + 1}"
            problem = f"{problem} ({context})"
        return f"invalid YAML{where}: {problem}"
    except RecursionError:
        return "invalid YAML: nested too deeply"
    except ValueError:  # the pure loader built what libyaml refused: a 5,000-digit integer
        return "invalid YAML"
    return "invalid YAML"


def _plain(value: object) -> object:
    """JSON-like data: mapping keys as strings (YAML allows ``1:`` or ``true:`` as keys)."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else param_text(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


Points = dict[str, list[tuple[int, int, float]]]


def _step(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        number = float(text)
        if not number.is_integer():
            raise
        return int(number)


def _history_time(value: object, where: str) -> int:
    if value is None or value == "":
        return -1
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    ms = parse_time(value)
    if ms is None:
        raise ManifestError(f"{where}: timestamp {value!r} is not an ISO 8601 time or epoch milliseconds")
    return ms


def _value(text: object, where: str, what: str) -> float:
    if isinstance(text, bool):
        raise ManifestError(f"{where}: {what} {_short(text)} is not a number")
    try:
        return _float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ManifestError(f"{where}: {what} {_short(text)} is not a number") from None


def _float(value: str | float) -> float:
    """``float()``, with integers past the float range as +-inf (JSON numbers have no range)."""
    return float(value) if isinstance(value, str) else float_of_int(value)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _clamped(points: list[tuple[int, int, float]]) -> tuple[list[tuple[int, int, float]], int]:
    """Steps and timestamps limited to int64 (every format stores them so), and how many were not."""
    bad = 0
    out = points
    for i, (step, ts, value) in enumerate(points):
        if clamp_int64(step) != step or clamp_int64(ts) != ts:
            if bad == 0:
                out = list(points)
            bad += 1
            out[i] = (clamp_int64(step), clamp_int64(ts), value)
    return out, bad


def parse_history(name: str, data: bytes) -> Points:
    """A history file: ``.csv``/``.tsv`` (long ``step,metric,value[,timestamp]`` or wide
    ``step[,timestamp],<metric>,…``) or ``.jsonl`` (one object a line, long or wide).

    Raises :class:`ManifestError` with the first error (see :func:`read_history` for the
    reader's lenient form, which keeps the good lines).
    """
    points, errors = _history(name, data, strict=True)
    return points


def read_history(name: str, data: bytes) -> tuple[Points, list[str]]:
    """The points of every good line of a history file, and one message per bad line.

    One damaged line (a bit flip, a cut last line of a live writer, a 70 KB value) costs only
    itself (fuzz findings F4, F5). Raises :class:`ManifestError` only when the file as a whole
    is unusable: an unknown format, no header, no ``step`` column.
    """
    return _history(name, data, strict=False)


def _history(name: str, data: bytes, strict: bool) -> tuple[Points, list[str]]:
    ext = posixpath.splitext(name.lower())[1]
    if ext not in _HISTORY_KINDS:
        raise ManifestError(f"unknown history format {ext or name!r} (use .csv, .tsv or .jsonl)")
    text = _decode(data) if strict else data.decode("utf-8", "replace").lstrip("\ufeff")
    delimiter = _HISTORY_KINDS[ext]
    errors: list[str] | None = None if strict else []
    long = long_lines()  # lines past the bound are left empty before parsing (and said once)
    lines = split_lines(text, long, "\n")
    if long.found and errors is None:
        raise ManifestError(long.problem() or "")
    if delimiter is None:
        points = _parse_jsonl(lines, errors)
    else:
        points = _parse_table("\n".join(lines) if long.found else text, delimiter, errors)
    if errors is not None and (too_long := long.problem()):
        errors.append(too_long)
    return points, errors or []


def _parse_table(text: str, delimiter: str, errors: list[str] | None = None) -> Points:
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(rows)
    except StopIteration:
        raise ManifestError("empty file") from None
    except csv.Error as exc:
        raise ManifestError(f"line 1: {exc}") from None
    columns = [c.strip() for c in header]
    lowered = [c.lower() for c in columns]
    if "step" not in lowered:
        raise ManifestError("line 1: no 'step' column (expected step,metric,value[,timestamp] or step,<metric>,…)")
    step_i = lowered.index("step")
    ts_i = lowered.index("timestamp") if "timestamp" in lowered else None
    long = "metric" in lowered and "value" in lowered
    metric_i = lowered.index("metric") if long else -1
    value_i = lowered.index("value") if long else -1
    wide = [(i, c) for i, c in enumerate(columns) if i not in (step_i, ts_i) and c] if not long else []
    points: Points = {}
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            if errors is None:
                raise ManifestError(f"line {rows.line_num}: {exc}") from None
            errors.append(f"line {rows.line_num}: {exc}")
            continue
        try:
            _table_row(row, rows.line_num, columns, step_i, ts_i, long, metric_i, value_i, wide, points)
        except ManifestError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
    return points


def _table_row(
    row: list[str],
    line: int,
    columns: list[str],
    step_i: int,
    ts_i: int | None,
    long: bool,
    metric_i: int,
    value_i: int,
    wide: list[tuple[int, str]],
    points: Points,
) -> None:
    """One row's points, added to ``points`` only when the whole row is good."""
    if not any(cell.strip() for cell in row):
        return
    where = f"line {line}"
    if len(row) != len(columns):
        raise ManifestError(f"{where}: expected {len(columns)} fields, found {len(row)}")
    try:
        step = _step(row[step_i].strip())
    except ValueError:
        raise ManifestError(f"{where}: step {_short(row[step_i])} is not an integer") from None
    ts = _history_time(row[ts_i].strip(), where) if ts_i is not None else -1
    if long:
        metric = row[metric_i].strip()
        if not metric:
            raise ManifestError(f"{where}: empty metric name")
        points.setdefault(metric, []).append((step, ts, _value(row[value_i].strip(), where, "value")))
        return
    found = [(metric, _value(row[i].strip(), where, metric)) for i, metric in wide if row[i].strip()]
    for metric, value in found:
        points.setdefault(metric, []).append((step, ts, value))


def _parse_jsonl(lines: list[str], errors: list[str] | None = None) -> Points:
    points: Points = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            _jsonl_line(line, f"line {lineno}", points)
        except ManifestError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
    return points


def _jsonl_line(line: str, where: str, points: Points) -> None:
    """One line's points, added to ``points`` only when the whole line is good."""
    try:
        item = load_json(line)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{where}: invalid JSON: {exc.msg.lower()}") from None
    except ValueError as exc:  # nested too deep (BoundedError)
        raise ManifestError(f"{where}: invalid JSON: {exc}") from None
    if not isinstance(item, dict):
        raise ManifestError(f"{where}: expected a JSON object, found {kind_of(_plain(item))}")
    if "step" not in item:
        raise ManifestError(f"{where}: missing 'step'")
    step = item["step"]
    if not _is_type(step, "integer"):
        raise ManifestError(f"{where}: step {_short(step)} is not an integer")
    ts = _history_time(item.get("timestamp"), where)
    if "metric" in item or "value" in item:
        metric = item.get("metric")
        if not isinstance(metric, str) or not metric:
            raise ManifestError(f"{where}: 'metric' must be a non-empty string")
        points.setdefault(metric, []).append((int(step), ts, _value(item.get("value"), where, "value")))
        return
    found = [
        (key, _value(value, where, key))
        for key, value in item.items()
        if key not in ("step", "timestamp") and value is not None
    ]
    for key, value in found:
        points.setdefault(key, []).append((int(step), ts, value))


# --- the reader -----------------------------------------------------------------------------------


@dataclass
class _Parsed:
    """One valid manifest, before its history file is read."""

    path: str
    data: dict[str, Any]
    history_path: str | None = None
    history_problem: str | None = None


@dataclass
class _Out:
    ctx: ReadContext  # the readers' shared origins and problems
    goals: dict[str, MetricGoal] = field(default_factory=dict)
    experiments: dict[str, Experiment] = field(default_factory=dict)
    datasets: dict[str, Dataset] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)
    run_files: dict[str, str] = field(default_factory=dict)
    models: dict[str, Origin] = field(default_factory=dict)
    versions: dict[tuple[str, str], ModelVersion] = field(default_factory=dict)
    version_files: dict[tuple[str, str], str] = field(default_factory=dict)
    promoted: dict[tuple[str, str], int] = field(default_factory=dict)  # model.promoted_at


class ManifestReader:
    """Reads mlreport manifests: one file, or every manifest directly inside a folder."""

    name = "manifest"
    label = "mlreport manifest"
    file_suffixes = (".mlreport.yaml", ".mlreport.json", "mlreport.yaml", "mlreport.json")
    detects_dirs = True
    owns_subtree = False  # manifests sit next to other stores and in every folder of a bucket
    nested = True  # a manifest folder may hold more manifest folders (a sweep and its trials)
    merges_experiments = True  # `run.experiment: x` in two folders is one experiment

    def detect(self, store: Store, path: str) -> bool:
        if _is_file(store, path):
            return is_manifest_name(posixpath.basename(path)) and _has_marker(store, path)
        return any(
            not e.is_dir and is_manifest_name(e.name) and _has_marker(store, join(path, e.name)) for e in store.ls(path)
        )

    def read(self, store: Store, path: str, options: ReadOptions) -> Iterator[Record]:
        if _is_file(store, path):
            files, explicit = [path], True
        else:
            files = [join(path, e.name) for e in store.ls(path) if not e.is_dir and is_manifest_name(e.name)]
            explicit = False
        ctx = ReadContext(store, path, self.name)
        # The problems of building records (history files, duplicate ids …) come after every
        # problem of parsing, as when all files were parsed first: hence a context of their own.
        out = _Out(ReadContext(store, path, self.name))
        options.progress("manifests", 0, len(files))
        # Files are parsed and their records built a chunk at a time: a parsed manifest (its
        # inline histories as YAML lists) weighs ~50 KB, and holding all of them before building
        # any record was 880 MB at 10,000 manifests (issue 12). Within a chunk, the files and
        # then their history files are read in one batch each (remote stores read concurrently).
        for first in range(0, len(files), _CHUNK):
            chunk = files[first : first + _CHUNK]
            parsed = self._parse(ctx, store.read_many(chunk), explicit)
            wanted = [p.history_path for p in parsed if p.history_path and options.history]
            contents = store.read_many(sorted(set(wanted))) if wanted else {}
            for item in parsed:
                points: Points = {}
                if item.history_problem:
                    out.ctx.problem(item.path, item.history_problem)
                elif item.history_path and options.history:
                    points = _history_points(item, contents[item.history_path], out.ctx)
                try:
                    _add(out, item, points)
                except Exception as exc:  # noqa: BLE001 - the fault boundary of one manifest: a schema gap never raises
                    log.warning("mlreport: %s: unexpected content: %r", item.path, exc)
                    out.run_files.pop(f"manifest:{param_text(item.data['run']['id'])}", None)
                    out.ctx.problem(item.path, f"unexpected content: {type(exc).__name__}: {str(exc)[:200]}")
            del parsed, contents
            options.progress("manifests", first + len(chunk), len(files))

        yield from (out.goals[k] for k in sorted(out.goals))
        yield from (out.experiments[k] for k in sorted(out.experiments))
        yield from (out.datasets[k] for k in sorted(out.datasets))
        yield from (_held(store, r) for r in out.runs)
        yield from _models(out)
        yield from ctx.drain()
        yield from out.ctx.drain()

    @staticmethod
    def _parse(ctx: ReadContext, raw: Mapping[str, bytes | OSError], explicit: bool) -> list[_Parsed]:
        """The valid manifests of ``raw`` (path -> content), in its order; a Problem for each other."""
        parsed: list[_Parsed] = []
        for file, content in raw.items():
            if isinstance(content, OSError):
                ctx.problem(file, f"cannot read: {content.strerror or content}")
                continue
            pointer = lfs_reason(content)
            if pointer is not None:  # a manifest (or a config) not fetched: said, never skipped silently
                ctx.problem(file, pointer)
                continue
            if not explicit and not _MARKER.search(content):
                continue  # mlreport.yaml may be mlreport's own config file
            try:
                data = load_manifest(file, content)
                errors = validate_manifest(data)
            except ManifestError as exc:
                ctx.problem(file, str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - the fault boundary of one manifest file
                log.warning("mlreport: %s: cannot parse: %r", file, exc)
                ctx.problem(file, f"cannot parse: {type(exc).__name__}: {str(exc)[:200]}")
                continue
            if errors:
                ctx.problem(file, _summary(errors))
                continue
            if isinstance(data, dict):  # always, once valid
                parsed.append(_with_history_path(file, data))
        return parsed


def _is_file(store: Store, path: str) -> bool:
    # Discovery asks about every folder of a bucket: only a path with a manifest's name (or one
    # forced with --format) is worth a stat, a request on a remote store.
    name = posixpath.basename(path)
    return bool(name) and (is_manifest_name(name) or "." in name) and store.kind(path) == "file"


def _has_marker(store: Store, path: str) -> bool:
    try:
        return _MARKER.search(store.read_bytes(path)) is not None
    except OSError:
        return False


def _summary(errors: list[str]) -> str:
    shown = "; ".join(errors[:MAX_ERRORS_SHOWN])
    more = len(errors) - MAX_ERRORS_SHOWN
    return f"{shown}; and {more} more" if more > 0 else shown


_KEPT = "the run is kept without its history"


def _with_history_path(file: str, data: dict[str, Any]) -> _Parsed:
    item = _Parsed(file, data)
    name = data.get("history_file")
    if name is None:
        return item
    if "://" in name or name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[\\/]", name):
        item.history_problem = f"history_file: {name!r} is not a path relative to the manifest; {_KEPT}"
        return item
    target = posixpath.normpath(posixpath.join(posixpath.dirname(file), name.replace("\\", "/")))
    if target == ".." or target.startswith("../") or target == ".":
        item.history_problem = f"history_file: {name!r} is outside the store; {_KEPT}"
        return item
    item.history_path = target
    return item


def _history_points(item: _Parsed, content: bytes | OSError, ctx: ReadContext) -> Points:
    assert item.history_path is not None
    if isinstance(content, FileNotFoundError):
        name = item.data["history_file"]
        ctx.problem(item.path, f"history_file: no such file {name!r}; {_KEPT}")
        return {}
    if isinstance(content, OSError):
        ctx.problem(item.history_path, f"cannot read: {content.strerror or content}")
        return {}
    try:
        points, bad = read_history(item.history_path, content)
    except ManifestError as exc:
        ctx.problem(item.history_path, f"{exc}; {_KEPT}")
        return {}
    except Exception as exc:  # noqa: BLE001 - the fault boundary of one history file
        ctx.problem(item.history_path, f"cannot parse: {type(exc).__name__}; {_KEPT}")
        return {}
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        ctx.problem(item.history_path, f"{len(bad)} line(s) skipped ({bad[0]}{more}); the other lines are kept")
    return points


def _inline_points(history: Mapping[str, list[Any]]) -> Points:
    points: Points = {}
    for name, items in history.items():
        bucket = points.setdefault(name, [])
        for p in items:
            if isinstance(p, list):
                bucket.append((int(p[0]), -1, _float(p[1])))
            else:
                ts = parse_time(p.get("timestamp")) if p.get("timestamp") is not None else None
                bucket.append((int(p["step"]), -1 if ts is None else ts, _float(p["value"])))
    return points


def _metrics(finals: Mapping[str, float], points: Points, problem: Callable[[str], object]) -> tuple[Metric, ...]:
    by_key: dict[str, Metric] = {}
    clamped = 0
    for key, pts in points.items():
        if pts:
            pts, bad = _clamped(pts)
            clamped += bad
            by_key[key] = Metric.from_history(key, MetricHistory.from_points(pts))
    if clamped:
        problem(f"history: {clamped} point(s) with a step or timestamp beyond the 64-bit range; clamped")
    last_step = max((m.final_step for m in by_key.values()), default=0)
    for key, value in finals.items():
        final = _float(value)
        known = by_key.get(key)
        if known is None:
            by_key[key] = Metric.single(key, final, step=last_step)
        elif not (known.final == final or (math.isnan(known.final) and math.isnan(final))):
            by_key[key] = replace(known, final=final)  # the declared final value wins
    return tuple(by_key[k] for k in sorted(by_key))


def _status(value: object) -> RunStatus:
    if value is None:
        return RunStatus.UNKNOWN
    return RunStatus(str(value).upper())


def _add(out: _Out, item: _Parsed, file_points: Points) -> None:
    data, where = item.data, out.ctx.origin(item.path)
    run = data["run"]
    run_id = param_text(run["id"])
    key = f"manifest:{run_id}"
    if key in out.run_files:
        out.ctx.problem(
            item.path, f"run.id: {run_id!r} is also the id of the run in {out.run_files[key]}; skipped"
        )
        return
    out.run_files[key] = item.path

    experiment_key = None
    if run.get("experiment"):
        name = run["experiment"]
        experiment_key = f"manifest-exp:{name}"
        out.experiments.setdefault(experiment_key, Experiment(key=experiment_key, id=name, name=name, origin=where))

    refs: dict[tuple[str, str | None], DatasetRef] = {}
    for entry in data.get("inputs", []):
        name = entry.get("name") or dataset_name(entry["uri"])
        digest = entry.get("digest")
        # A manifest's dataset is its URI + digest (two files named train.csv are two datasets);
        # equal digests elsewhere are linked by the catalog, not merged.
        ds_key = f"{entry['uri']}@{digest}" if digest else entry["uri"]
        scheme = entry["uri"].split("://", 1)[0].lower() if "://" in entry["uri"] else None
        out.datasets.setdefault(
            ds_key,
            Dataset(key=ds_key, name=name, origin=where, digest=digest, source_type=scheme, source=entry["uri"]),
        )
        context = _opt(entry.get("context"))
        refs.setdefault((ds_key, context), DatasetRef(ds_key, context))

    for metric_key, goal in data.get("metric_goals", {}).items():
        # the first manifest (in file order) that declares a key decides it
        out.goals.setdefault(metric_key, MetricGoal(metric_key, Goal(goal), where, f"{item.path}: metric_goals"))

    params: dict[str, str] = {}
    for name, value in data.get("params", {}).items():
        flatten_params(name, value, params)
    tags = {k: param_text(v) for k, v in run.get("tags", {}).items()}
    parent = run.get("parent_run")
    if parent is not None:
        tags["mlreport.parent_run"] = param_text(parent)

    points = _inline_points(data.get("history", {}))
    for name, extra in file_points.items():
        points.setdefault(name, []).extend(extra)
    git = data.get("git", {})
    for time_field in ("start_time", "end_time"):
        if isinstance(run.get(time_field), (int, float)) and parse_time(run[time_field]) is None:
            out.ctx.problem(
                item.path, f"run.{time_field}: {_short(run[time_field])} is out of range for a time; left out"
            )
    out.runs.append(
        Run(
            key=key,
            id=run_id,
            name=_opt(run.get("name")) or run_id,
            origin=where,
            experiment_key=experiment_key,
            status=_status(run.get("status")),
            start_time=parse_time(run.get("start_time")),
            end_time=parse_time(run.get("end_time")),
            user=_opt(run.get("user")),
            description=_opt(run.get("description")),
            params=frozen_map(params),
            tags=frozen_map(tags),
            metrics=_metrics(
                data.get("metrics", {}), points, lambda reason: out.ctx.problem(item.path, reason)
            ),
            parent_key=None if parent is None else f"manifest:{param_text(parent)}",
            inputs=tuple(refs[k] for k in sorted(refs, key=lambda k: (k[0], k[1] or ""))),
            artifacts=tuple(
                Artifact(a["path"], a.get("size"), None, _artifact_location(item.path, a["path"]))
                for a in data.get("artifacts", [])
            ),
            git=GitInfo(
                commit=_opt(git.get("commit")),
                branch=_opt(git.get("branch")),
                repo_url=_opt(git.get("repo_url")),
                dirty=git.get("dirty"),
            ),
        )
    )

    model = data.get("model")
    if model is None:
        return
    ident = (model["name"], param_text(model["version"]))
    if ident in out.versions:
        out.ctx.problem(
            item.path,
            f"model: {ident[0]} version {ident[1]} is also in {out.version_files[ident]}; "
            "this version is skipped, the run is kept",
        )
        return
    version_tags = {k: param_text(v) for k, v in model.get("tags", {}).items()}
    for card_field in ("intended_use", "limitations", "license"):
        if _opt(model.get(card_field)):
            version_tags[f"model_card.{card_field}"] = model[card_field]
    out.models.setdefault(ident[0], where)
    out.version_files[ident] = item.path
    promoted = parse_time(model.get("promoted_at"))
    if promoted is not None:
        out.promoted[ident] = promoted
    out.versions[ident] = ModelVersion(
        model=ident[0],
        version=ident[1],
        origin=where,
        stage=_opt(model.get("stage")),
        aliases=tuple(sorted(set(model.get("aliases", [])))),
        description=_opt(model.get("description")),
        run_key=key,
        tags=frozen_map(version_tags),
    )


def _models(out: _Out) -> Iterator[Record]:
    """Registered models with their aliases, then versions; an alias that several versions
    claim (an older manifest still says ``champion``) belongs to the one promoted last when
    every claimant has a ``promoted_at``, else to the highest one. Each ``promoted_at`` is a
    dated move of the version's aliases and stage: the alias history this store keeps."""
    claims: dict[tuple[str, str], list[str]] = {}
    for (model, version), mv in out.versions.items():
        for alias in mv.aliases:
            claims.setdefault((model, alias), []).append(version)
    holder: dict[tuple[str, str], str] = {}
    for (model, alias), versions in claims.items():
        dated = all((model, v) in out.promoted for v in versions)
        holder[(model, alias)] = max(
            versions, key=lambda v: (out.promoted[(model, v)] if dated else 0, _version_key(v))
        )
    for (model, version), when in sorted(out.promoted.items()):
        mv = out.versions[(model, version)]
        moves = [("alias", a) for a in mv.aliases] + ([("stage", mv.stage)] if mv.stage else [])
        for kind, name in moves:
            yield AliasMove(
                model=model,
                name=name,
                versions=(version,),
                time=when,
                origin=mv.origin,
                kind=kind,
                source=f"{out.version_files[(model, version)]}: model.promoted_at",
            )
    for name in sorted(out.models):
        aliases = {alias: version for (model, alias), version in holder.items() if model == name}
        yield RegisteredModel(name=name, origin=out.models[name], aliases=frozen_map(aliases))
    for ident in sorted(out.versions, key=lambda i: (i[0], _version_key(i[1]))):
        mv = out.versions[ident]
        kept = tuple(a for a in mv.aliases if holder.get((mv.model, a)) == mv.version)
        yield mv if kept == mv.aliases else replace(mv, aliases=kept)


__all__ = [
    "MANIFEST_VERSION",
    "ManifestReader",
    "dataset_name",
    "is_manifest_name",
    "load_manifest",
    "manifest_schema",
    "parse_history",
    "parse_time",
    "read_history",
    "validate_manifest",
]


def _held(store: Store, run: Run) -> Run:
    """The run with a location only on the artifacts whose file the store holds (a manifest
    often names outputs that were uploaded elsewhere: those are listed, not looked for)."""
    if not any(a.location for a in run.artifacts):
        return run

    def held(location: str) -> bool:
        try:
            return store.kind(location) == "file"
        except OSError:  # a link out of the store, a special file: not the run's bytes
            return False

    arts = tuple(a if a.location is None or held(a.location) else replace(a, location=None) for a in run.artifacts)
    return replace(run, artifacts=arts)


def _artifact_location(manifest: str, path: str) -> str | None:
    """Where an artifact's bytes would be in the store: its path, relative to the manifest's
    folder (docs/manifest.md), when that stays inside the store; None for a URI or an absolute
    or escaping path (listed only). Previews read it through the read-only store, which says
    when nothing is there."""
    if "://" in path or path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path):
        return None
    where = posixpath.normpath(posixpath.join(posixpath.dirname(manifest), path.replace("\\", "/")))
    return None if where == ".." or where.startswith("../") or where == "." else where
