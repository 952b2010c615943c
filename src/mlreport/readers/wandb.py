"""Weights & Biases run directories (``wandb/``), every layout from 0.8 to 0.31, without ``wandb``.

Layout and quirks: FORMATS.md §2. A ``wandb/`` directory holds one directory per run session:
``run-<YYYYMMDD_HHMMSS>-<id>`` (online), ``offline-run-…`` (offline), ``dryrun-…`` (pre-0.10
offline), plus ``latest-run`` (a symlink, or a real copy once a store has been copied around).
A run dir has the binary transaction log ``run-<id>.wandb`` (the only place the metric history
of a current run lives) and, for online runs, ``files/config.yaml``, ``files/wandb-summary.json``
and ``files/wandb-metadata.json``. Before 0.10 those files sat directly in the run dir, next to
a text history ``wandb-history.jsonl``; current offline runs have only the ``.wandb``.

How the reader maps a run (decisions not fixed by the format are marked *chosen*):

* Experiment: the W&B project, key ``wandb-project:<project>``; named ``<entity>/<project>``
  when some run of the store knows the entity. The key is the project's identity whichever
  ``wandb/`` folder wrote the runs (``merges_experiments``): one project written from several
  folders (machines, checkouts) is one experiment in the catalog, not one per folder. The
  project comes from the run record, else the metadata, else ``wandb/settings``, else
  (*chosen*) the one project every other run of the same ``wandb/`` dir names.
* Run: key ``wandb:<run id>``; sessions of a resumed run (several dirs, one id) are merged in
  directory order, and ``latest-run`` is read only when it holds a run no other dir holds.
* Status: an exit record means FINISHED (exit code 0) or FAILED; of a resumed run, the last
  session's says. Pre-0.10 metadata ``state`` finished/failed/crashed/killed is mapped as
  written, and an ``exitcode`` means the run exited. *Chosen*: with no exit record (and no
  exit code) the status is UNKNOWN, half-written file or not, ``state: running`` included: a
  crashed, a killed and a still-running run leave the same bytes behind, and a store read
  later cannot tell them apart. No W&B run is ever shown as RUNNING.
* Times: start = the run record's ``start_time`` (else the environment record's, else the
  metadata's ``startedAt``), all UTC by definition; end = start + the run's runtime (exit
  record, else the last ``_runtime``), i.e. when it was last seen. The run dir's name
  (``run-YYYYMMDD_HHMMSS-…``) is the writing machine's *local* time: it is used only for a run
  with no other time, shifted by the UTC offset that the other runs of the same folder show
  (tag ``wandb.start_time_from`` says so); with no such offset it is shown as a local time
  (tag ``wandb.local_start``) and the start stays unknown. Pre-0.10 naive ``startedAt`` values
  are read as UTC (wandb 0.8 wrote ``utcfromtimestamp``; the corpus store matches its dir names).
* Params: the config, nested keys flattened with ``.``; strings as they are, every other value
  as JSON (sorted keys). ``_wandb`` and ``wandb_version`` are left out.
* Metrics: one per numeric history key (x = ``_step``, time = ``_timestamp`` in ms); keys
  starting with ``_``, strings, booleans and media (``{"_type": …}``) are not metrics. *Chosen*:
  the summary gives the final value whenever it holds a number for the key, as the W&B UI
  shows it (``run.summary[k] = …`` and ``define_metric`` overrides); a summary key with no
  history becomes a single-value metric.
* Tags (*chosen*): W&B tags are labels without values, so each becomes a tag with an empty
  value; the group, job type, sweep and host become ``wandb.group``, ``wandb.job_type``,
  ``wandb.sweep_id``, ``wandb.host``. Notes become the description.
* Artifacts of type ``model``: a LoggedModel (key ``wandb-artifact:<name>:<digest[:12]>``, the
  manifest as its files), a ModelVersion (version ``v<N>`` when an alias of that form exists,
  else the digest's first 8 characters; aliases without ``latest``) and a RegisteredModel per
  name whose aliases point at the version that got them last. The same digest logged twice is
  one version. Other artifacts are listed in the run's artifacts as ``artifacts/<name>/<path>``
  (note ``W&B <type> artifact '<name>'``), next to the run dir's own ``files/<path>``. Media
  files say what they are (note ``W&B image (logged as 'examples')`` from the ``_type`` value
  that references them, else ``W&B table`` etc. from their ``media/<kind>/`` folder); a Git LFS
  pointer says it is one, with the size it declares, and a ``.wandb`` or a ``files/*`` record
  that is a pointer is a Problem.

The ``.wandb`` decoder (LevelDB log framing + protobuf by field number) is in this module; bad
bytes become Problems that say how much was lost, and reading goes on (FORMATS.md §2.3).
Fault boundaries: each record of a ``.wandb`` (a record that does not decode is skipped and
counted), each ``files/*`` file, each run dir and each run; JSON and YAML are parsed with the
bounded parsers (depth, alias expansion, 5,000-digit numbers), key paths and values are
bounded in depth, steps beyond int64 are clamped and times that are not dates left out, and
invalid UTF-8 is decoded with replacement characters; each repair is one Problem per file.
"""

from __future__ import annotations

import configparser
import dataclasses
import json
import json.scanner
import logging
import math
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

import yaml

from ..model import (
    AliasMove,
    Artifact,
    Experiment,
    GitInfo,
    LoggedModel,
    Metric,
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
from ._bounded import MAX_DEPTH, clamp_int64, limits, load_json, load_yaml, long_lines, split_lines, too_long
from ._common import ReadContext, float_of_int, json_number, lfs_pointer, lfs_problem_reason, param_text
from ._protobuf import FIXED32, FIXED64, LENGTH, VARINT, ProtobufError, as_double, as_signed64, fields, read_varint
from .tensorboard import lfs_note

log = logging.getLogger("mlreport.readers.wandb")

_RUN_DIR = re.compile(r"^(?:run|offline-run|dryrun)-(\d{8}_\d{6})-(.+)$")
LATEST = "latest-run"

#: A key path (``nested_key``) longer than this is refused: with values nested at most
#: ``_VALUE_DEPTH`` deep, flattening a run never recurses more than MAX_DEPTH levels.
_KEY_DEPTH = MAX_DEPTH // 2
_VALUE_DEPTH = MAX_DEPTH // 2
#: Times outside year 1..9999 cannot be dates on a page; they are left out (and noted).
_MAX_MS = 253_402_300_799_999


class _Notes:
    """What decoding one file had to repair, reported as one Problem per file.

    Module-level (reset per file by the reader) because the decoders are plain functions called
    for every item of every record: threading a context through them would cost more than the
    reading. Reading is single-threaded per process; work units run in separate processes.
    """

    bad_utf8 = 0
    bad_values = 0  # value_json that is not JSON, or nested deeper than _VALUE_DEPTH
    deep_keys = 0  # key paths longer than _KEY_DEPTH

    @classmethod
    def reset(cls) -> None:
        cls.bad_utf8 = cls.bad_values = cls.deep_keys = 0

    @classmethod
    def reasons(cls) -> list[str]:
        out = []
        if cls.bad_values:
            out.append(f"{_count(cls.bad_values, 'value')} not valid JSON (or nested deeper than "
                       f"{_VALUE_DEPTH} levels); skipped")
        if cls.deep_keys:
            out.append(f"{_count(cls.deep_keys, 'key path')} longer than {_KEY_DEPTH} parts; "
                       "skipped")
        if cls.bad_utf8:
            out.append(f"{_count(cls.bad_utf8, 'text')} not valid UTF-8, decoded with "
                       "replacement characters")
        return out


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        _Notes.bad_utf8 += 1
        return raw.decode("utf-8", errors="replace")


def _json_value(text: str | bytes) -> object:
    """A value_json, bounded; ``_MISSING`` (and noted) when it is not JSON or nests too deep."""
    try:
        return load_json(text, max_depth=_VALUE_DEPTH)
    except ValueError:  # JSONDecodeError, BoundedError, UnicodeDecodeError
        _Notes.bad_values += 1
        return _MISSING


# --- the .wandb transaction log: framing (FORMATS.md §2.3) ----------------------------------------

HEADER_MAGIC = b":W&B"
HEADER_IDENT = 0xBEE1
HEADER_SIZE = 7
BLOCK_SIZE = 32768
CHUNK_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


@dataclass
class LogScan:
    """What :func:`scan_log` found: (file offset, payload) per whole record, and what was lost."""

    records: list[tuple[int, bytes]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def scan_log(data: bytes) -> LogScan:
    """Split a ``.wandb`` file into its records.

    LevelDB log format after a 7-byte file header: 32 KiB blocks counted from the start of the
    file (so the first block holds 7 bytes less), each holding chunks ``crc32 u32 | length u16 |
    type u8 | payload``; FIRST/MIDDLE/LAST chunks join into one record; fewer than 7 bytes left
    in a block are padding. A bad chunk loses the rest of its block (its length cannot be
    trusted), and reading resumes at the next block, as LevelDB's own reader does.
    """
    scan = LogScan()
    n = len(data)
    if n < HEADER_SIZE:
        scan.problems.append(
            f"not a W&B transaction log: {n} bytes, shorter than the 7-byte header"
        )
        return scan
    if data[:4] != HEADER_MAGIC:
        scan.problems.append(
            f"not a W&B transaction log: the file starts with {data[:4]!r}, not b':W&B'; "
            "file skipped"
        )
        return scan
    ident, version = struct.unpack_from("<HB", data, 4)
    if ident != HEADER_IDENT or version != 0:
        scan.problems.append(
            f"unsupported W&B log header (magic 0x{ident:04X}, version {version}); file skipped"
        )
        return scan

    pos = HEADER_SIZE
    parts: list[bytes] = []
    start = -1  # offset of the first chunk of the record being joined, -1 when none
    joined = 0  # its bytes so far
    record_limit = limits().record
    resyncing = False  # after a skipped block, continuation chunks belong to a lost record

    def lose_block(at: int, why: str) -> int:
        nonlocal parts, start, resyncing
        block_end = min(n, (at // BLOCK_SIZE + 1) * BLOCK_SIZE)
        lost = f"; the record started at byte {start} is lost with it" if start >= 0 else ""
        scan.problems.append(
            f"{why} at byte {at}; rest of its 32 KiB block skipped ({block_end - at} bytes), "
            f"reading resumed at byte {block_end}{lost}"
        )
        parts, start, resyncing = [], -1, True
        return block_end

    while pos < n:
        left = BLOCK_SIZE - pos % BLOCK_SIZE
        if left < CHUNK_HEADER:
            pos += left
            continue
        if pos + CHUNK_HEADER > n:
            if any(data[pos:]):
                _truncated(scan, data, start if start >= 0 else pos)
            elif start >= 0:
                _truncated(scan, data, start)
            return scan
        crc, length, kind = struct.unpack_from("<IHB", data, pos)
        if crc == 0 and length == 0 and kind == 0:
            pos += left  # zero fill (a preallocated tail); the next block may hold more
            continue
        if CHUNK_HEADER + length > left:
            pos = lose_block(pos, f"bad chunk length {length}")
            continue
        end = pos + CHUNK_HEADER + length
        if end > n:
            _truncated(scan, data, start if start >= 0 else pos)
            return scan
        payload = data[pos + CHUNK_HEADER : end]
        if zlib.crc32(payload, zlib.crc32(bytes([kind]))) != crc:
            pos = lose_block(pos, "bad CRC in chunk")
            continue
        if kind == FULL or kind == FIRST:
            if start >= 0:
                scan.problems.append(
                    f"record at byte {start} has no last chunk; dropped ({pos - start} bytes)"
                )
            resyncing = False
            if kind == FULL:
                scan.records.append((pos, payload))
                parts, start = [], -1
            else:
                parts, start, joined = [payload], pos, len(payload)
        elif kind == MIDDLE or kind == LAST:
            if start < 0:
                if not resyncing:
                    scan.problems.append(f"chunk at byte {pos} continues no record; skipped")
            else:
                parts.append(payload)
                joined += len(payload)
                if joined > record_limit:  # readers/_bounded.py: the rest of it is skipped unread
                    what = f"the record at byte {start}"
                    scan.problems.append(too_long(what, joined, record_limit, "max_record_size"))
                    parts, start, resyncing = [], -1, True
                elif kind == LAST:
                    scan.records.append((start, b"".join(parts)))
                    parts, start = [], -1
        else:
            pos = lose_block(pos, f"unknown chunk type {kind}")
            continue
        pos = end
    if start >= 0:
        _truncated(scan, data, start)
    return scan


def _truncated(scan: LogScan, data: bytes, start: int) -> None:
    scan.problems.append(
        f"file ends inside a record: the last {len(data) - start} bytes (from byte {start}) "
        f"were dropped; {len(scan.records)} whole records read"
    )


# --- the .wandb transaction log: protobuf records -------------------------------------------------

# wandb_internal.Record oneof field numbers (wandb/proto/wandb_internal.proto).
R_HISTORY, R_SUMMARY, R_CONFIG, R_ARTIFACT, R_RUN, R_EXIT, R_ENVIRONMENT = 2, 3, 5, 8, 17, 18, 26


def _msg(data: bytes) -> dict[int, list[int | bytes]]:
    """Fields of one message by number (repeated fields keep their order)."""
    out: dict[int, list[int | bytes]] = {}
    for number, _wire, value in fields(data):
        out.setdefault(number, []).append(value)
    return out


def _str(msg: Mapping[int, list[int | bytes]], number: int) -> str | None:
    values = msg.get(number)
    if not values or not isinstance(values[-1], bytes):
        return None
    return _text(values[-1])


def _strs(msg: Mapping[int, list[int | bytes]], number: int) -> list[str]:
    values = msg.get(number, [])
    return [_text(v) for v in values if isinstance(v, bytes)]


def _int(msg: Mapping[int, list[int | bytes]], number: int) -> int | None:
    values = msg.get(number)
    if not values or not isinstance(values[-1], int):
        return None
    return as_signed64(values[-1])


def _sub(msg: Mapping[int, list[int | bytes]], number: int) -> dict[int, list[int | bytes]] | None:
    values = msg.get(number)
    if not values or not isinstance(values[-1], bytes):
        return None
    return _msg(values[-1])


def _timestamp_ms(msg: Mapping[int, list[int | bytes]] | None) -> int | None:
    """google.protobuf.Timestamp {seconds=1, nanos=2} -> epoch ms."""
    if msg is None:
        return None
    seconds = _int(msg, 1) or 0
    nanos = _int(msg, 2) or 0
    ms = seconds * 1000 + nanos // 1_000_000
    return ms if ms and abs(ms) <= _MAX_MS else None


_MISSING = object()


def _item(raw: bytes) -> tuple[list[str], object]:
    """A ConfigItem/SummaryItem/HistoryItem: (key path, decoded value or _MISSING)."""
    msg = _msg(raw)
    path = _strs(msg, 2) or [(_str(msg, 1) or "")]
    if len(path) > _KEY_DEPTH:
        _Notes.deep_keys += 1
        return path, _MISSING
    value_json = _str(msg, 16)
    if value_json is not None:
        return path, _json_value(value_json)
    # Typed HistoryItem fields (none=3, boolean=4, integer=5 sint64, number=6, text=7, json=8).
    for number, _wire, value in fields(raw):
        if number == 4 and isinstance(value, int):
            return path, bool(value)
        if number == 5 and isinstance(value, int):
            return path, (value >> 1) ^ -(value & 1)
        if number == 6 and isinstance(value, bytes) and len(value) == 8:
            return path, as_double(value)
        if number == 7 and isinstance(value, bytes):
            return path, _text(value)
        if number == 8 and isinstance(value, bytes):
            return path, _json_value(value)
        if number == 3:
            return path, None
    return path, _MISSING


def _set_path(target: dict[str, object], path: list[str], value: object) -> None:
    node = target
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def _del_path(target: dict[str, object], path: list[str]) -> None:
    node: object = target
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)


# --- one run, gathered from every source in its dir(s) --------------------------------------------


@dataclass
class _ArtifactRec:
    type: str
    name: str
    digest: str
    description: str | None
    metadata: dict[str, object]
    aliases: list[str]
    files: list[Artifact]
    origin_path: str
    logged_ms: int | None = None  # the last history time before the record: when it was logged


@dataclass
class _RunData:
    dir_id: str
    paths: list[str] = field(default_factory=list)
    log_path: str | None = None
    run_id: str | None = None
    entity: str | None = None
    project: str | None = None
    display_name: str | None = None
    group: str | None = None
    job_type: str | None = None
    notes: str | None = None
    tags: list[str] | None = None
    sweep_id: str | None = None
    host: str | None = None
    start_ms: int | None = None
    git_commit: str | None = None
    git_remote: str | None = None
    config: dict[str, object] = field(default_factory=dict)
    summary: dict[str, object] = field(default_factory=dict)
    history: list[dict[str, object]] = field(default_factory=list)
    exit_code: int | None = None
    exit_runtime: int | None = None
    env: dict[str, object] = field(default_factory=dict)
    artifacts: list[_ArtifactRec] = field(default_factory=list)
    files: list[Artifact] = field(default_factory=list)
    state: str | None = None  # pre-0.10 metadata "state"
    legacy_exitcode: int | None = None
    # from files/*: used where the .wandb had nothing
    file_config: dict[str, object] | None = None
    file_summary: dict[str, object] | None = None
    file_history: list[dict[str, object]] | None = None
    has_log: bool = False
    last_ts_ms: int | None = None
    # Set by _compact once the run's sessions are read: its metrics (arrays), the rows that
    # hold media, the repairs counted, and the last row; the history rows are dropped then, so
    # that a 10,000-run store is not held as millions of dicts (memory, and GC time).
    prebuilt: tuple[tuple[Metric, ...], list[dict[str, object]], _Odd] | None = None
    last_row: dict[str, object] | None = None

    @property
    def id(self) -> str:
        return self.run_id or self.dir_id


@dataclass
class _Ctx(ReadContext):
    """The readers' shared context (origins, problems) and this read's options."""

    options: ReadOptions = field(default_factory=ReadOptions)


def _top_fields(raw: bytes) -> dict[int, bytes]:
    """The length-delimited top-level fields of a Record (last occurrence wins), the framing of
    every field checked as :func:`._protobuf.fields` would; varints and fixed fields skipped."""
    out: dict[int, bytes] = {}
    pos, end = 0, len(raw)
    while pos < end:
        key = raw[pos]
        if key < 0x80:
            pos += 1
        elif pos + 1 < end and raw[pos + 1] < 0x80:
            key = (key & 0x7F) | raw[pos + 1] << 7
            pos += 2
        else:
            key, pos = read_varint(raw, pos)
        wire = key & 7
        if key >> 3 == 0:
            raise ProtobufError("field number 0")
        if wire == LENGTH:
            size = raw[pos] if pos < end else 0x80
            if size < 0x80:
                pos += 1
            elif pos + 1 < end and raw[pos + 1] < 0x80:
                size = (size & 0x7F) | raw[pos + 1] << 7
                pos += 2
            else:
                size, pos = read_varint(raw, pos)
            if pos + size > end:
                raise ProtobufError("truncated length-delimited field")
            out[key >> 3] = raw[pos : pos + size]
            pos += size
        elif wire == VARINT:
            _value, pos = read_varint(raw, pos)
        elif wire == FIXED64 or wire == FIXED32:
            pos += 8 if wire == FIXED64 else 4
            if pos > end:
                raise ProtobufError("truncated fixed field")
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
    return out


def _apply_record(ctx: _Ctx, run: _RunData, path: str, offset: int, raw: bytes) -> None:
    msg = _top_fields(raw)
    if R_HISTORY in msg:
        body = msg[R_HISTORY]
        fast = _fast_items(body, history=True)
        if fast is not None:
            keys, values, step = fast
            row: dict[str, object] = dict(zip(keys, values, strict=True))
        else:
            row, step = _slow_history(body)
        if "_step" not in row:
            row["_step"] = step or 0
        run.last_ts_ms = _ms_of(row.get("_timestamp")) or run.last_ts_ms
        run.history.append(row)
    elif R_SUMMARY in msg or R_CONFIG in msg:
        number = R_SUMMARY if R_SUMMARY in msg else R_CONFIG
        _apply_update(msg[number], run.summary if number == R_SUMMARY else run.config)
    elif R_RUN in msg:
        _apply_run(run, _msg(msg[R_RUN]))
    elif R_EXIT in msg:
        exit_msg = _msg(msg[R_EXIT])
        run.exit_code = _int(exit_msg, 1) or 0
        runtime = _int(exit_msg, 2)
        if runtime:
            run.exit_runtime = runtime
    elif R_ENVIRONMENT in msg:
        _apply_environment(run, _msg(msg[R_ENVIRONMENT]))
    elif R_ARTIFACT in msg:
        art = _parse_artifact(_msg(msg[R_ARTIFACT]), path)
        if art is None:
            ctx.problem(path, f"artifact record at byte {offset} has no name or digest; skipped")
        else:
            art.logged_ms = run.last_ts_ms
            run.artifacts.append(art)


def _slow_history(body: bytes) -> tuple[dict[str, object], int | None]:
    """A HistoryRecord through the general decoder (typed items, odd encodings, bad values)."""
    fields_ = _msg(body)
    row: dict[str, object] = {}
    for item in fields_.get(1, []):
        if isinstance(item, bytes):
            key_path, value = _item(item)
            if value is not _MISSING:
                row[".".join(key_path)] = value
    step_msg = _sub(fields_, 2)
    return row, (_int(step_msg, 1) if step_msg else None)


# The C scanner behind json.loads, called on one value at a time: one C call per value, and
# the end offset proves the value was exactly one JSON value (a batch parse of joined values
# could not tell "[1" + "2]" from two values).
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_KEY_CACHE: dict[bytes, str] = {}


def _key_text(raw: bytes) -> str:
    text = _KEY_CACHE.get(raw)
    if text is None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _text(raw)  # not cached: each file that has it notes it
        if len(_KEY_CACHE) > 100_000:  # keys repeat across rows and runs; bound the cache
            _KEY_CACHE.clear()
        _KEY_CACHE[raw] = text
    return text


class _LastUpdate:
    """The last Summary/Config record body the fast path decoded, with its keys and values.

    wandb-core writes each history row's items as a summary update just before the row, so
    the row's body begins with the very bytes of that update: their decoding is reused (a
    bytes comparison instead of a JSON scan per value). Items are decoded one after the other
    and an update holds items only (no step field), so the prefix decodes as it did in the
    update, whichever record follows; an update whose decoding noted a repair (a key not
    UTF-8) is not kept, so that each record that has it notes it. Reset per file.
    """

    body = b""
    keys: list[str] = []
    values: list[object] = []

    @classmethod
    def reset(cls) -> None:
        cls.body, cls.keys, cls.values = b"", [], []


def _fast_items(
    body: bytes, *, history: bool
) -> tuple[list[str], list[object], int | None] | None:
    """The items of a History/Config/SummaryRecord on the common path, or None to take the
    general decoder: every item a (key | nested_key…, value_json) with a scalar JSON value.

    Returns dotted keys, values and (history) the step. Anything unusual (typed items, remove
    items, containers, huge numbers, bad UTF-8 or JSON, long varints, bytes past the end)
    returns None, and the general decoder (which bounds and reports) reads the record instead.
    This is the reader's hot loop: one History and one Summary record per logged step (a
    history row reuses the decoding of the update before it: :class:`_LastUpdate`).
    """
    try:
        return _fast_items_unchecked(body, history)
    except (IndexError, ValueError, StopIteration):
        return None


def _fast_items_unchecked(
    body: bytes, history: bool
) -> tuple[list[str], list[object], int | None] | None:
    step: int | None = None
    scan = _SCAN
    cache = _KEY_CACHE
    pos, end = 0, len(body)
    notes = _Notes.bad_utf8
    last = _LastUpdate.body
    if history and last and body.startswith(last):
        keys = _LastUpdate.keys.copy()
        values = _LastUpdate.values.copy()
        pos = len(last)
    else:
        keys = []
        values = []
    # The body is decoded once, as Latin-1 (one character a byte: a value's offsets are the
    # same in the text), and each value scanned where it lies; the scan must end exactly at
    # the item's end (the bytes after an item here are a field tag, 0x0A or 0x12, or nothing,
    # and extend no JSON scalar). Numbers and literals are ASCII; a string that came out with
    # a character past ASCII had bytes past ASCII, and is decoded again from its UTF-8.
    text = body.decode("latin-1")
    while pos < end:
        tag = body[pos]
        size = body[pos + 1]
        if size >= 0x80 or tag & 7 != LENGTH:
            return None
        p = pos + 2
        item_end = p + size
        if item_end > end:
            return None
        if tag != 0x0A:
            if tag == 0x12 and history:  # HistoryRecord.step {num=1}
                step = _int(_msg(body[p:item_end]), 1)
                pos = item_end
                continue
            return None  # a remove item, or an unknown field
        # What wandb-core writes: nested_key (or key) once, then value_json.
        t = body[p]
        n = body[p + 1]
        q = p + 2 + n
        if (t == 0x12 or t == 0x0A) and n < 0x80 and body[q] == 0x82 and body[q + 1] == 0x01 \
                and body[q + 2] < 0x80 and q + 3 + body[q + 2] == item_end:
            raw_key = body[p + 2 : q]
            key = cache.get(raw_key) or _key_text(raw_key)
            at = q + 3
            if at == item_end:
                return None  # an empty value_json
            first = body[at]
            if first == 0x5B or first == 0x7B or first <= 0x20:  # [ { or whitespace: general path
                return None
            value, stop = scan(text, at)
            if stop != item_end:
                return None
            if type(value) is str and not value.isascii():
                value_text = body[at:item_end].decode("utf-8")
                value, stop = scan(value_text, 0)
                if stop != len(value_text):
                    return None
        else:
            parsed = _general_item(body, p, item_end)
            if parsed is None:
                return None
            key, raw_value = parsed
            first = raw_value[0]
            if first == 0x5B or first == 0x7B or first <= 0x20:
                return None
            value_text = raw_value.decode("utf-8")
            value, stop = scan(value_text, 0)
            if stop != len(value_text):
                return None
        keys.append(key)
        values.append(value)
        pos = item_end
    if not history:
        if _Notes.bad_utf8 == notes:
            _LastUpdate.body, _LastUpdate.keys, _LastUpdate.values = body, keys, values
        else:
            _LastUpdate.reset()
    return keys, values, step


def _general_item(body: bytes, p: int, item_end: int) -> tuple[str, bytes] | None:
    """An item in another field order or with a multi-part nested_key: (dotted key, value_json)."""
    nested: list[bytes] = []
    key = b""
    raw_value: bytes | None = None
    while p < item_end:
        t = body[p]
        if t == 0x82 and body[p + 1] == 0x01:  # value_json = 16
            p += 2
        elif t == 0x0A or t == 0x12:
            p += 1
        else:
            return None  # a typed HistoryItem field, or an unknown one
        n = body[p]
        if n >= 0x80:
            return None
        p += 1
        e = p + n
        if e > item_end:
            return None
        if t == 0x82:
            raw_value = body[p:e]
        elif t == 0x12:
            nested.append(body[p:e])
        else:
            key = body[p:e]
        p = e
    if raw_value is None or not raw_value or len(nested) > _KEY_DEPTH:
        return None
    # nested_key wins over key, as in _item
    text = ".".join(_key_text(k) for k in nested) if nested else _key_text(key)
    return text, raw_value


def _apply_update(raw: bytes, target: dict[str, object]) -> None:
    """ConfigRecord/SummaryRecord: update=1 and remove=2 items, applied in file order."""
    fast = _fast_items(raw, history=False)
    if fast is not None:
        for key, value in zip(fast[0], fast[1], strict=True):
            if "." in key:
                break  # nested paths: the general decoder keeps the path's parts apart
            target[key] = value
        else:
            return
    for number, _wire, item in fields(raw):
        if not isinstance(item, bytes) or number not in (1, 2):
            continue
        key_path, value = _item(item)
        if number == 1 and value is not _MISSING:
            _set_path(target, key_path, value)
        elif number == 2:
            _del_path(target, key_path)


def _raw(msg: Mapping[int, list[int | bytes]], number: int) -> bytes | None:
    values = msg.get(number)
    return values[-1] if values and isinstance(values[-1], bytes) else None


def _apply_run(run: _RunData, body: Mapping[int, list[int | bytes]]) -> None:
    # A later run record (an update, a resumed session) overrides what it sets.
    for attr, number in (("run_id", 1), ("entity", 2), ("project", 3), ("group", 6),
                         ("job_type", 7), ("display_name", 8), ("notes", 9), ("sweep_id", 12),
                         ("host", 13)):
        value = _str(body, number)
        if value:
            setattr(run, attr, value)
    if 10 in body:
        run.tags = _strs(body, 10)
    _apply_update(_raw(body, 4) or b"", run.config)
    _apply_update(_raw(body, 5) or b"", run.summary)
    start = _timestamp_ms(_sub(body, 17))
    if start is not None and run.start_ms is None:
        run.start_ms = start
    git = _sub(body, 21)
    if git:
        run.git_remote = _str(git, 1) or run.git_remote
        run.git_commit = _str(git, 2) or run.git_commit


def _apply_environment(run: _RunData, body: Mapping[int, list[int | bytes]]) -> None:
    for key, number in (("os", 1), ("python", 2), ("program", 6), ("codePath", 7), ("email", 10),
                        ("root", 11), ("host", 12), ("username", 13)):
        value = _str(body, number)
        if value:
            run.env.setdefault(key, value)
    started = _timestamp_ms(_sub(body, 3))
    if started is not None:
        run.env.setdefault("startedAt_ms", started)
    git = _sub(body, 9)
    if git:
        run.env.setdefault("git", {"remote": _str(git, 1), "commit": _str(git, 2)})


def _parse_artifact(body: Mapping[int, list[int | bytes]], path: str) -> _ArtifactRec | None:
    name = _str(body, 5)
    digest = _str(body, 6)
    if not name or not digest:
        return None
    metadata: dict[str, object] = {}
    raw_meta = _str(body, 8)
    if raw_meta:
        loaded = _json_value(raw_meta)
        if isinstance(loaded, dict):
            metadata = loaded
    files: list[Artifact] = []
    manifest = _sub(body, 12)
    for entry in (manifest or {}).get(4, []):
        if isinstance(entry, bytes):
            emsg = _msg(entry)
            entry_path = _str(emsg, 1)
            if entry_path:
                files.append(Artifact(entry_path, _int(emsg, 4)))
    return _ArtifactRec(
        type=_str(body, 4) or "",
        name=name,
        digest=digest,
        description=_str(body, 7) or None,
        metadata=metadata,
        aliases=_strs(body, 11),
        files=sorted(files, key=lambda a: a.path),
        origin_path=path,
    )


# --- files/* (online runs) and the pre-0.10 flat layout -------------------------------------------


def _load_yaml(raw: bytes) -> dict[str, object]:
    """A config.yaml as a mapping: bounded (aliases, depth, huge numbers); ValueError if bad."""
    try:
        data = load_yaml(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"expected a mapping, found {type(data).__name__}")
    return {str(k): v for k, v in data.items()}


def unwrap_config(data: Mapping[str, object]) -> dict[str, object]:
    """``{key: {value: v, desc: …}}`` -> ``{key: v}``, without ``_wandb``/``wandb_version``."""
    out: dict[str, object] = {}
    for key, value in data.items():
        if key in ("_wandb", "wandb_version"):
            continue
        out[key] = value["value"] if isinstance(value, dict) and "value" in value else value
    return out


def _decoded(ctx: _Ctx, path: str, raw: bytes) -> str:
    """File text as UTF-8; invalid bytes replaced, and said (the rest of the file is kept)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        ctx.problem(path, f"not valid UTF-8 (first bad byte at {exc.start}); decoded with "
                          "replacement characters")
        return raw.decode("utf-8", errors="replace")


def _load_json_object(ctx: _Ctx, path: str, raw: bytes, what: str) -> dict[str, object] | None:
    try:
        data = load_json(_decoded(ctx, path, raw), max_depth=_VALUE_DEPTH)
    except ValueError as exc:  # JSONDecodeError, BoundedError
        ctx.problem(path, f"{what} is not valid JSON ({_short(exc)}); ignored")
        return None
    if not isinstance(data, dict):
        ctx.problem(path, f"{what} is not a JSON object; ignored")
        return None
    return data


def _load_history_jsonl(ctx: _Ctx, path: str, raw: bytes) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    bad: list[int] = []
    long = long_lines()  # a line past the bound is left empty (and said once)
    for lineno, line in enumerate(split_lines(_decoded(ctx, path, raw), long), 1):
        if not line.strip():
            continue
        try:
            row = load_json(line, max_depth=_VALUE_DEPTH)
        except ValueError:
            bad.append(lineno)
            continue
        if isinstance(row, dict):
            rows.append(row)
        else:
            bad.append(lineno)
    if bad:
        shown = ", ".join(str(n) for n in bad[:5]) + (" …" if len(bad) > 5 else "")
        ctx.problem(path, f"{len(bad)} line(s) are not JSON objects (line {shown}); skipped")
    if too_long := long.problem():
        ctx.problem(path, too_long)
    return rows


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc).strip() else type(exc).__name__


#: Files this small are checked for a Git LFS pointer before they are listed (a pointer is
#: about 130 bytes; the spec caps it at 1 KiB).
_LFS_CHECK_SIZE = 1024


def _read_session(ctx: _Ctx, run: _RunData, run_dir: str) -> None:
    """Add one run dir (one session) to ``run``.

    Fault boundaries: each record of the ``.wandb`` and each of the ``files/*`` is read on its
    own, so that a bad one costs only itself (a metadata file nested 100,000 deep no longer
    takes the run's history file with it).
    """
    store = ctx.store
    run.paths.append(run_dir)
    entries = store.ls(run_dir)
    names = {e.name: e for e in entries}
    logs = [e.name for e in entries if not e.is_dir and e.name.endswith(".wandb")]
    preferred = f"run-{run.dir_id}.wandb"
    if preferred in logs:
        logs = [preferred]
    files_dir = join(run_dir, "files") if "files" in names and names["files"].is_dir else run_dir

    if logs:
        _read_log(ctx, run, join(run_dir, logs[0]))

    if files_dir != run_dir:
        listed = list(store.walk_files(files_dir))
        run.files.extend(_listed_files(ctx, files_dir, listed))
        present = {rel for rel, _size in listed}
    else:
        present = {e.name for e in entries if not e.is_dir}
    wanted = [n for n in ("config.yaml", "wandb-summary.json", "wandb-metadata.json",
                          "wandb-history.jsonl") if n in present]
    contents = store.read_many([join(files_dir, n) for n in wanted])
    for name in wanted:
        path = join(files_dir, name)
        content = contents[path]
        if isinstance(content, OSError):
            ctx.problem(path, f"cannot read: {content.strerror or content}")
            continue
        try:
            _read_run_file(ctx, run, name, path, content)
        except Exception as exc:  # noqa: BLE001 - one bad file costs that file only
            log.debug("unexpected error reading %s", path, exc_info=True)
            ctx.problem(path, f"unexpected {type(exc).__name__} while reading: {_short(exc)}; "
                              "file ignored, run kept")


def _read_log(ctx: _Ctx, run: _RunData, log_path: str) -> None:
    try:
        data = ctx.store.read_bytes(log_path)
    except OSError as exc:
        ctx.problem(log_path, f"cannot read: {exc.strerror or exc}")
        return
    pointer = lfs_pointer(data)
    if pointer is not None:
        ctx.problem(log_path, lfs_problem_reason(pointer))
        return
    run.has_log = True
    run.log_path = run.log_path or log_path
    # A new session: its own exit record (or none) says how the run ended.
    run.exit_code = None
    scan = scan_log(data)
    for reason in scan.problems:
        ctx.problem(log_path, reason)
    _Notes.reset()
    _LastUpdate.reset()
    bad = 0
    first_bad = -1
    why = ""
    for offset, raw in scan.records:
        try:
            _apply_record(ctx, run, log_path, offset, raw)
        except Exception as exc:  # noqa: BLE001 - one bad record is one skipped record
            bad += 1
            if first_bad < 0:
                first_bad = offset
                why = str(exc) if isinstance(exc, ProtobufError) else \
                    f"{type(exc).__name__}: {_short(exc)}"
    if bad:
        ctx.problem(
            log_path,
            f"{bad} record(s) could not be decoded (first at byte {first_bad}: {why}); skipped",
        )
    for reason in _Notes.reasons():
        ctx.problem(log_path, reason)


def _read_run_file(ctx: _Ctx, run: _RunData, name: str, path: str, content: bytes) -> None:
    pointer = lfs_pointer(content)
    if pointer is not None:
        ctx.problem(path, f"{lfs_problem_reason(pointer)}; file ignored, run kept")
        return
    if name == "config.yaml":
        try:
            cfg = unwrap_config(_load_yaml(_decoded(ctx, path, content).encode("utf-8")))
        except ValueError as exc:
            ctx.problem(path, f"{exc}; config ignored, run kept")
            return
        run.file_config = {**(run.file_config or {}), **cfg}
    elif name == "wandb-summary.json":
        summary = _load_json_object(ctx, path, content, "summary")
        if summary is not None:
            run.file_summary = {**(run.file_summary or {}), **summary}
    elif name == "wandb-metadata.json":
        meta = _load_json_object(ctx, path, content, "metadata")
        if meta is not None:
            _apply_metadata(run, meta)
    else:
        run.file_history = (run.file_history or []) + _load_history_jsonl(ctx, path, content)


_MEDIA_DIRS = {
    "images": "image", "table": "table", "tables": "table", "plotly": "Plotly chart",
    "html": "HTML page", "audio": "audio", "videos": "video", "object3D": "3D object",
    "molecule": "molecule", "bokeh": "Bokeh chart", "graph": "model graph",
}


def _listed_files(ctx: _Ctx, files_dir: str, listed: list[tuple[str, int | None]]) -> list[Artifact]:
    """``files/*`` as artifacts: media say what they are, LFS pointers say they are pointers."""
    small = [rel for rel, size in listed if size is not None and size <= _LFS_CHECK_SIZE]
    heads = ctx.store.read_many([join(files_dir, rel) for rel in small]) if small else {}
    out = []
    for rel, size in listed:
        note = None
        head = heads.get(join(files_dir, rel))
        pointer = lfs_pointer(head) if isinstance(head, bytes) else None
        if pointer is not None:
            note = lfs_note(pointer[1])
        else:
            parts = rel.split("/")
            if len(parts) >= 3 and parts[0] == "media" and parts[1] in _MEDIA_DIRS:
                note = f"W&B {_MEDIA_DIRS[parts[1]]}"
        # a pointer's bytes are not the file's: nothing there to preview
        out.append(Artifact(f"files/{rel}", size, note, None if pointer else join(files_dir, rel)))
    return out


def _apply_metadata(run: _RunData, meta: Mapping[str, object]) -> None:
    for key in ("os", "python", "program", "codePath", "email", "root", "host", "username",
                "startedAt", "git", "project", "jobType", "state", "exitcode"):
        value = meta.get(key)
        if value is not None and key not in run.env:
            run.env[key] = value


# --- turning gathered runs into records -----------------------------------------------------------


def _flatten(value: object, prefix: str, out: dict[str, object], depth: int = 0) -> None:
    # Depth is bounded where values enter (key paths, value_json, YAML); this is the backstop
    # that keeps a strange value from exhausting the stack.
    if isinstance(value, dict) and "_type" not in value and depth < MAX_DEPTH:
        if not value and prefix:
            out[prefix] = value
        for key, child in value.items():
            _flatten(child, f"{prefix}.{key}" if prefix else str(key), out, depth + 1)
    elif prefix:
        out[prefix] = value if depth < MAX_DEPTH else "(nested too deep to show)"


def _param(value: object) -> str:
    try:
        return param_text(value)  # the readers' one rule (a YAML date is its ISO text)
    except ValueError:  # an integer past the int-string limit
        return "(an integer too long to show)"


_ISO = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$"
)


def _parse_iso_ms(text: object) -> int | None:
    if not isinstance(text, str) or not text:
        return None
    match = _ISO.match(text.strip())
    if not match:
        return None
    day, hh, mm, ss, frac, zone = match.groups()
    try:
        dt = datetime.fromisoformat(f"{day}T{hh}:{mm}:{ss}")
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
    else:
        offset = 0  # wandb writes UTC; pre-0.10 naive times were UTC too (datetime.utcnow)
    seconds = dt.replace(tzinfo=timezone.utc).timestamp() - offset * 60
    ms = int(seconds) * 1000
    if frac:
        ms += int((frac + "000")[:3])
    return ms


def _status(run: _RunData) -> RunStatus:
    if run.exit_code is not None:
        return RunStatus.FINISHED if run.exit_code == 0 else RunStatus.FAILED
    state = run.env.get("state")
    code = run.env.get("exitcode")
    exited = isinstance(code, int) and not isinstance(code, bool)
    if isinstance(state, str):
        mapped = {"finished": RunStatus.FINISHED, "failed": RunStatus.FAILED,
                  "crashed": RunStatus.FAILED, "killed": RunStatus.KILLED,
                  }.get(state.lower(), RunStatus.UNKNOWN)
        if mapped in (RunStatus.FAILED, RunStatus.KILLED):
            return mapped
        # An exit code is an exit record: a run that has one is not running (pre-0.10 metadata
        # kept "state: running" when the final write was lost after the exit). Without one,
        # "running" is only what the metadata said at its last heartbeat: the corpus store
        # wandb-connect4-v08 has five such runs from 2019-2020. UNKNOWN, as for a .wandb with
        # no exit record.
        if exited:
            return RunStatus.FINISHED if code == 0 else RunStatus.FAILED
        return mapped
    if exited:
        return RunStatus.FINISHED if code == 0 else RunStatus.FAILED
    return RunStatus.UNKNOWN


@dataclass
class _Odd:
    """Values of one run that were repaired while building it, for one Problem."""

    steps: int = 0
    times: int = 0

    def reasons(self) -> list[str]:
        out = []
        if self.steps:
            out.append(f"{_count(self.steps, 'step')} beyond the int64 range, clamped")
        if self.times:
            out.append(f"{_count(self.times, 'time')} not a date (infinite or out of range); "
                       "left out")
        return out


_SKIP, _METRIC, _MEDIA, _HIDDEN = 0, 1, 2, 3


def _key_kind(key: str) -> int:
    """How a history key is treated: skipped (``_step``…), a metric, a media marker
    (``examples._type``), or hidden (``a._b``: not a metric, but a dict under it may hold one)."""
    if key.startswith("_"):
        return _SKIP
    if key.endswith("._type"):
        return _MEDIA
    return _HIDDEN if key.rsplit(".", 1)[-1].startswith("_") else _METRIC


def _metrics(
    run: _RunData, summary: Mapping[str, object], with_history: bool, odd: _Odd
) -> tuple[tuple[Metric, ...], list[dict[str, object]]]:
    """The run's metrics, and the history rows that hold something else than numbers (media)."""
    rows = run.history if run.history else (run.file_history or [])
    points: dict[str, list[tuple[int, int, float]]] = {}
    kinds: dict[str, int] = {}
    odd_rows: list[dict[str, object]] = []
    scalars = (bool, str, type(None))
    for index, row in enumerate(rows):
        raw_step = row.get("_step")
        if type(raw_step) is int and -(2**63) <= raw_step < 2**63:
            step = raw_step
        else:
            step = _step_of(raw_step, index)
            if isinstance(raw_step, (int, float)) and not isinstance(raw_step, bool) \
                    and not (math.isnan(raw_step) or step == raw_step):
                odd.steps += 1
        raw_ts = row.get("_timestamp")
        ts = _ms_of(raw_ts)
        if ts is None:
            if raw_ts is not None:
                odd.times += 1
            ts = -1
        # The common row: flat keys with numbers (or strings) only. Anything else (a media
        # value, a nested dict, a hidden key holding a dict) takes the general path below.
        found: list[tuple[str, float]] = []
        plain = True
        for key, value in row.items():
            kind = kinds.get(key)
            if kind is None:
                kind = kinds[key] = _key_kind(key)
            if kind == _SKIP:
                continue
            tv = type(value)
            if kind == _METRIC and (tv is float or tv is int):
                found.append((key, value if tv is float else float_of_int(value)))  # type: ignore[arg-type]
            elif kind == _MEDIA or not (tv in scalars or tv is float or tv is int):
                plain = False
                break
        if plain:
            for key, found_value in found:
                pts = points.get(key)
                if pts is None:
                    points[key] = [(step, ts, found_value)]
                else:
                    pts.append((step, ts, found_value))
            continue
        odd_rows.append(row)
        flat: dict[str, object] = {}
        for key, value in row.items():
            if not key.startswith("_"):
                _flatten(value, key, flat)
        if any(k.endswith("._type") for k in flat):
            # wandb-core logs a media value as nested keys (examples._type, examples.height,
            # examples.path …): none of them is a metric
            media = tuple(k[: -len("_type")] for k in flat if k.endswith("._type"))
            flat = {k: v for k, v in flat.items() if not k.startswith(media)}
        for key, value in flat.items():
            number = json_number(value)
            if number is not None and not key.split(".")[-1].startswith("_"):
                points.setdefault(key, []).append((step, ts, number))
    flat_summary: dict[str, object] = {}
    for key, value in summary.items():
        if not key.startswith("_"):
            _flatten(value, key, flat_summary)
    metrics: dict[str, Metric] = {}
    for key, pts in points.items():
        metric = Metric.from_history(key, _history(pts))
        final = json_number(flat_summary.get(key))
        if final is not None and not _same(final, metric.final):
            metric = dataclasses.replace(metric, final=final)
        if not with_history:
            metric = dataclasses.replace(metric, history=None)
        metrics[key] = metric
    last_step = _step_of(summary.get("_step"), 0)
    last_ts = _ms_of(summary.get("_timestamp"))
    for key, value in flat_summary.items():
        number = json_number(value)
        if key in metrics or number is None or key.split(".")[-1].startswith("_"):
            continue
        metrics[key] = Metric.single(key, number, last_step, last_ts)
    return tuple(metrics[k] for k in sorted(metrics)), odd_rows


def _history(points: list[tuple[int, int, float]]) -> MetricHistory:
    """``MetricHistory.from_points``, without its sort when the steps already strictly increase
    (the usual history: then there is nothing to sort and no duplicate to drop)."""
    steps = [p[0] for p in points]
    if all(a < b for a, b in zip(steps, steps[1:], strict=False)):
        return MetricHistory.from_columns(
            steps, [p[1] for p in points], [p[2] for p in points], increasing=True
        )
    return MetricHistory.from_points(points)


def _step_of(value: object, default: int) -> int:
    """A ``_step`` as an int64: past the range it is clamped (the catalog's arrays are int64)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return clamp_int64(value)
    number = json_number(value)
    if number is None or math.isnan(number):
        return default
    if math.isinf(number):
        return clamp_int64(int(math.copysign(2**63, number)))
    return clamp_int64(int(number))


def _ms_of(seconds: object) -> int | None:
    """W&B times are epoch seconds (float); the catalog wants epoch ms (None if not a date)."""
    number = json_number(seconds)
    if number is None or not math.isfinite(number) or abs(number) * 1000 > _MAX_MS:
        return None
    return int(round(number * 1000))


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _runtime_s(run: _RunData, summary: Mapping[str, object]) -> float | None:
    """Seconds the run was alive: the largest runtime any record reports (they only grow)."""
    candidates: list[object] = [run.exit_runtime, summary.get("_runtime")]
    rows = run.history or run.file_history or []
    last = rows[-1] if rows else run.last_row
    if last is not None:
        candidates.append(last.get("_runtime"))
    wb = summary.get("_wandb")
    if isinstance(wb, dict):
        candidates.append(wb.get("runtime"))
    numbers = [n for n in map(json_number, candidates) if n is not None and math.isfinite(n) and n >= 0]
    return max(numbers) if numbers else None


@dataclass
class _Built:
    run: Run
    models: list[tuple[LoggedModel, _ArtifactRec]]


def _utc_start(run: _RunData) -> int | None:
    """The start from a source that is UTC by definition: the run record's protobuf Timestamp,
    the environment record, or the metadata's ``startedAt`` (written in UTC, ``Z``)."""
    if run.start_ms is not None:
        return run.start_ms
    env_start = run.env.get("startedAt_ms")
    if isinstance(env_start, int):
        return env_start
    return _parse_iso_ms(run.env.get("startedAt"))


def _dir_time_ms(run: _RunData) -> int | None:
    """The time in the first run dir's name (``run-YYYYMMDD_HHMMSS-…``) read as if it were UTC.

    wandb names the dir after the *local* time of the writing machine (``datetime.now()``;
    the corpus store wandb-resnet-2026 has ``run-20260117_120726-…`` with ``startedAt``
    ``2026-01-17T06:37:26Z``, UTC+05:30), so this is a wall-clock reading, not an instant.
    """
    if not run.paths:
        return None
    match = _RUN_DIR.match(run.paths[0].rsplit("/", 1)[-1])
    if not match:
        return None
    try:
        dt = datetime.strptime(match.group(1), "%Y%m%d_%H%M%S")
    except ValueError:
        return None
    return int(dt.replace(tzinfo=timezone.utc).timestamp()) * 1000


_QUARTER_HOUR = 15 * 60 * 1000


def _local_offset(run: _RunData) -> int | None:
    """The writing machine's UTC offset (ms), from a run that has both a dir name and a UTC start."""
    local, utc = _dir_time_ms(run), _utc_start(run)
    if local is None or utc is None:
        return None
    offset = round((local - utc) / _QUARTER_HOUR) * _QUARTER_HOUR
    # The dir is named within a second or two of the start; zones are whole quarter hours.
    if abs(local - utc - offset) > 120_000 or abs(offset) > 14 * 3600 * 1000:
        return None
    return offset


def _zone(offset: int) -> str:
    sign = "+" if offset >= 0 else "-"
    minutes = abs(offset) // 60_000
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _build_run(
    ctx: _Ctx, run: _RunData, experiment_key: str | None, folder_offset: int | None = None
) -> _Built:
    run_key = f"wandb:{run.id}"
    config = {k: v for k, v in run.config.items() if k not in ("_wandb", "wandb_version")}
    for key, value in (run.file_config or {}).items():
        config.setdefault(key, value)
    params: dict[str, object] = {}
    _flatten(config, "", params)

    summary = _merged_summary(run)

    tags: dict[str, str] = {tag: "" for tag in run.tags or []}
    start = _utc_start(run)
    if start is None:
        # Only the dir name has a time, and it is local: shift it by the offset the other runs
        # of this folder show (same machine), or show it as the local time it is.
        local = _dir_time_ms(run)
        if local is not None and folder_offset is not None:
            start = local - folder_offset
            tags["wandb.start_time_from"] = (
                f"run dir name, local time at {_zone(folder_offset)} (the offset of the other "
                "runs in this folder)"
            )
        elif local is not None:
            when = datetime.fromtimestamp(local / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            tags["wandb.local_start"] = f"{when} (local time of the writing machine, zone not recorded)"
    runtime = _runtime_s(run, summary)
    end = start + int(round(runtime * 1000)) if start is not None and runtime is not None else None
    if end is not None and abs(end) > _MAX_MS:
        end = None
    job_type = run.job_type or _env_str(run, "jobType")
    for name, value in (("wandb.group", run.group), ("wandb.job_type", job_type),
                        ("wandb.sweep_id", run.sweep_id),
                        ("wandb.host", run.host or _env_str(run, "host"))):
        if value:
            tags[name] = value

    git_env = run.env.get("git")
    git_map: Mapping[str, object] = git_env if isinstance(git_env, dict) else {}
    commit = run.git_commit or _opt_str(git_map.get("commit"))
    remote = run.git_remote or _opt_str(git_map.get("remote"))

    models: list[tuple[LoggedModel, _ArtifactRec]] = []
    if run.prebuilt is not None:
        metrics, odd_rows, odd = run.prebuilt
    else:
        odd = _Odd()
        metrics, odd_rows = _metrics(run, summary, ctx.options.history, odd)
    media = _media_notes(summary, odd_rows)
    artifacts = [
        # what the run logged it as beats what its folder suggests; an LFS note stays
        dataclasses.replace(a, note=media[a.path])
        if a.path in media and not (a.note or "").startswith("Git LFS") else a
        for a in run.files
    ]
    seen_models: set[str] = set()
    for art in run.artifacts:
        if art.type == "model":
            key = f"wandb-artifact:{art.name}:{art.digest[:12]}"
            if key in seen_models:
                continue
            seen_models.add(key)
            model_params: dict[str, object] = {}
            _flatten(art.metadata, "", model_params)
            models.append((
                LoggedModel(
                    key=key,
                    id=art.digest,
                    name=art.name,
                    origin=ctx.origin(art.origin_path),
                    experiment_key=experiment_key,
                    run_key=run_key,
                    created=art.logged_ms or start,
                    params=frozen_map({k: _param(v) for k, v in model_params.items()}),
                    tags=frozen_map({"wandb.artifact_type": art.type, "wandb.digest": art.digest}),
                    artifacts=tuple(art.files),
                ),
                art,
            ))
        else:
            note = f"W&B {art.type} artifact '{art.name}'" if art.type else None
            artifacts.extend(
                Artifact(f"artifacts/{art.name}/{f.path}", f.size, note=note) for f in art.files
            )

    if _utc_start(run) is None and isinstance(run.env.get("startedAt"), str):
        odd.times += 1  # a startedAt that is not a date
    record = Run(
        key=run_key,
        id=run.id,
        name=run.display_name or run.id,
        origin=ctx.origin(run.log_path or run.paths[0]),
        experiment_key=experiment_key,
        status=_status(run),
        start_time=start,
        end_time=end,
        user=_env_str(run, "username") or _env_str(run, "email"),
        description=run.notes or None,
        params=frozen_map({k: _param(v) for k, v in params.items()}),
        tags=frozen_map(tags),
        metrics=metrics,
        output_model_keys=tuple(m.key for m, _ in models),
        artifacts=tuple(sorted(artifacts, key=lambda a: a.path)),
        git=GitInfo(commit=commit, repo_url=remote) if commit or remote else GitInfo(),
        source_name=_env_str(run, "codePath") or _env_str(run, "program"),
    )
    for reason in odd.reasons():
        ctx.problem(run.log_path or run.paths[0], reason)
    return _Built(record, models)


_MEDIA_TYPES = {
    "image-file": "image", "images/separated": "image", "table-file": "table",
    "partitioned-table": "table", "joined-table": "table", "plotly-file": "Plotly chart",
    "html-file": "HTML page", "audio-file": "audio", "video-file": "video",
    "object3D-file": "3D object", "molecule-file": "molecule", "bokeh-file": "Bokeh chart",
    "graph-file": "model graph",
}


def _media_notes(summary: Mapping[str, object], rows: list[dict[str, object]]) -> dict[str, str]:
    """``files/<path>`` -> what it is, from the ``{"_type": …, "path": …}`` values that
    reference media files (summary and history; the first key that logged a file names it)."""
    notes: dict[str, str] = {}

    def visit(key: str, value: object) -> None:
        if not isinstance(value, dict):
            return
        kind = value.get("_type")
        path = value.get("path")
        if isinstance(kind, str) and isinstance(path, str) and kind in _MEDIA_TYPES:
            notes.setdefault(f"files/{path}", f"W&B {_MEDIA_TYPES[kind]} (logged as '{key}')")

    for row in rows:
        for key, value in row.items():
            visit(key, value)
            if key.endswith("._type"):  # a media value logged as nested keys (wandb-core)
                prefix = key[: -len("._type")]
                visit(prefix, {"_type": value, "path": row.get(f"{prefix}.path")})
    for key, value in summary.items():
        visit(key, value)
    return notes


def _env_str(run: _RunData, key: str) -> str | None:
    return _opt_str(run.env.get(key))


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# --- the reader -----------------------------------------------------------------------------------


def _is_run_dir_name(name: str) -> bool:
    return _RUN_DIR.match(name) is not None


class WandbReader:
    """Reads a ``wandb/`` directory of run dirs, or a single run dir."""

    name = "wandb"
    label = "Weights & Biases"
    # A W&B project is one experiment whichever wandb/ folder its runs were written to: the
    # catalog merges the experiments of several stores that share the key wandb-project:<name>.
    merges_experiments = True

    def detect(self, store: Store, path: str) -> bool:
        base = path.rsplit("/", 1)[-1]
        if _is_run_dir_name(base) or base == LATEST:
            return _looks_like_run(store, path)
        return any(e.is_dir and _is_run_dir_name(e.name) for e in store.ls(path))

    def read(self, store: Store, path: str, options: ReadOptions) -> Iterator[Record]:
        ctx = _Ctx(store, path, self.name, options=options)
        base = path.rsplit("/", 1)[-1]
        if _is_run_dir_name(base) or (base == LATEST and _looks_like_run(store, path)):
            container = path.rsplit("/", 1)[0] if "/" in path else ""
            groups = {_dir_id(base): [path]}
            latest: str | None = None
            settings_dir = container
        else:
            entries = [e for e in store.ls(path) if e.is_dir]
            groups = {}
            for entry in entries:
                if _is_run_dir_name(entry.name):
                    groups.setdefault(_dir_id(entry.name), []).append(join(path, entry.name))
            latest = join(path, LATEST) if any(e.name == LATEST for e in entries) else None
            settings_dir = path

        total = len(groups)
        options.progress("runs", 0, total)
        runs: list[_RunData] = []
        for done, dir_id in enumerate(sorted(groups, key=lambda i: (sorted(groups[i])[0], i)), 1):
            run = _RunData(dir_id)
            for run_dir in sorted(groups[dir_id], key=lambda p: (_session_key(p), p)):
                _guarded_session(ctx, run, run_dir)
            _compact(run, options)
            runs.append(run)
            if done % 100 == 0 or done == total:
                options.progress("runs", done, total)
        if latest is not None:
            extra = _read_latest(ctx, latest, runs)
            if extra is not None:
                runs.append(extra)

        settings = _read_settings(ctx, join(settings_dir, "settings"))
        yield from _records(ctx, runs, settings)
        yield from ctx.drain()


def _compact(run: _RunData, options: ReadOptions) -> None:
    """Turn a read run's history rows into its metrics now (see ``_RunData.prebuilt``)."""
    try:
        odd = _Odd()
        metrics, odd_rows = _metrics(run, _merged_summary(run), options.history, odd)
    except Exception:  # noqa: BLE001 - _build_run tries again, inside its own fault boundary
        log.debug("cannot prebuild the metrics of %s", run.id, exc_info=True)
        return
    rows = run.history or run.file_history or []
    run.last_row = rows[-1] if rows else None
    run.prebuilt = (metrics, odd_rows, odd)
    run.history = []
    run.file_history = None


def _merged_summary(run: _RunData) -> dict[str, object]:
    summary = dict(run.summary)
    for key, value in (run.file_summary or {}).items():
        summary.setdefault(key, value)
    return summary


def _guarded_session(ctx: _Ctx, run: _RunData, run_dir: str) -> None:
    # The decoders above turn bad bytes into Problems; this is the net for what they missed,
    # so that one strange run dir costs one Problem, never the crawl.
    try:
        _read_session(ctx, run, run_dir)
    except Exception as exc:  # noqa: BLE001
        log.debug("unexpected error reading %s", run_dir, exc_info=True)
        if run_dir not in run.paths:
            run.paths.append(run_dir)
        ctx.problem(run_dir, f"unexpected {type(exc).__name__} while reading: {_short(exc)}")


def _dir_id(name: str) -> str:
    match = _RUN_DIR.match(name)
    return match.group(2) if match else name


def _session_key(path: str) -> str:
    match = _RUN_DIR.match(path.rsplit("/", 1)[-1])
    return match.group(1) if match else ""


def _looks_like_run(store: Store, path: str) -> bool:
    names = {e.name for e in store.ls(path)}
    return bool(
        "files" in names
        or any(n.endswith(".wandb") for n in names)
        or names & {"config.yaml", "wandb-metadata.json", "wandb-summary.json",
                    "wandb-history.jsonl"}
    )


def _read_latest(ctx: _Ctx, path: str, runs: list[_RunData]) -> _RunData | None:
    """``latest-run`` is a symlink or a copy of the newest run dir: read it only when it is not."""
    entries = ctx.store.ls(path)
    if not entries:
        return None  # a dangling symlink, or a store that does not list symlinks
    known = {r.id for r in runs} | {r.dir_id for r in runs}
    logs = sorted(
        e.name for e in entries if e.name.startswith("run-") and e.name.endswith(".wandb")
    )
    if logs and logs[0][len("run-") : -len(".wandb")] in known:
        return None
    run = _RunData(logs[0][len("run-") : -len(".wandb")] if logs else LATEST)
    scratch = _Ctx(ctx.store, ctx.root, ctx.format, options=ctx.options)
    _guarded_session(scratch, run, path)
    if run.id in known:
        return None
    if not logs and runs:
        started = run.env.get("startedAt")
        if started is None or any(r.env.get("startedAt") == started for r in runs):
            return None  # no run id to tell; a copy of a run already read
    ctx.problems.extend(scratch.problems)
    return run


def _read_settings(ctx: _Ctx, path: str) -> dict[str, str]:
    """``wandb/settings``: an INI file whose ``[default]`` names the project and entity."""
    if not ctx.store.is_file(path):
        return {}
    try:
        text = ctx.store.read_text(path)
    except (OSError, UnicodeDecodeError):
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        ctx.problem(path, "not an INI file; ignored")
        return {}
    if not parser.has_section("default"):
        return {}
    return {k: v for k, v in parser.items("default") if k in ("project", "entity") and v}


def _records(ctx: _Ctx, runs: list[_RunData], settings: Mapping[str, str]) -> Iterator[Record]:
    for run in runs:
        if not run.project and isinstance(run.env.get("project"), str):
            run.project = str(run.env["project"])
        if not run.project and settings.get("project"):
            run.project = settings["project"]
        if not run.entity and run.project and run.project == settings.get("project"):
            run.entity = settings.get("entity")
    known = {r.project for r in runs if r.project}
    if len(known) == 1:
        (only,) = known
        for run in runs:
            run.project = run.project or only

    entities: dict[str, set[str]] = {}
    first_origin: dict[str, str] = {}
    for run in runs:
        if run.project:
            entities.setdefault(run.project, set())
            if run.entity:
                entities[run.project].add(run.entity)
            first_origin.setdefault(run.project, run.log_path or run.paths[0])
    for project in sorted(entities):
        names = sorted(entities[project])
        yield Experiment(
            key=f"wandb-project:{project}",
            id=project,
            name=f"{names[0]}/{project}" if len(names) == 1 else project,
            origin=ctx.origin(first_origin[project]),
            tags=frozen_map({"wandb.entity": ", ".join(names)}) if names else frozen_map(),
        )

    offsets = {o for o in map(_local_offset, runs) if o is not None}
    folder_offset = offsets.pop() if len(offsets) == 1 else None
    built: list[_Built] = []
    for run in runs:
        exp_key = f"wandb-project:{run.project}" if run.project else None
        try:
            one = _build_run(ctx, run, exp_key, folder_offset)
        except Exception as exc:  # noqa: BLE001 - the net for one strange run, as in reading
            log.debug("unexpected error building run %s", run.id, exc_info=True)
            ctx.problem(run.log_path or run.paths[0],
                        f"unexpected {type(exc).__name__} while reading: {_short(exc)}")
            continue
        built.append(one)
        yield one.run

    # Model versions: one per (name, digest); the first run that logged it is its source, later
    # loggers add aliases. Runs in start order so that an alias ends on the newest holder.
    ordered = sorted(
        built, key=lambda b: (b.run.start_time is None, b.run.start_time or 0, b.run.id)
    )
    versions: dict[tuple[str, str], ModelVersion] = {}
    alias_map: dict[str, dict[str, str]] = {}
    moves: list[AliasMove] = []
    seen_models: set[str] = set()
    model_origin: dict[str, Origin] = {}
    for one in ordered:
        for model, art in one.models:
            if model.key not in seen_models:
                seen_models.add(model.key)
                yield model
            numbered = [a for a in art.aliases if re.fullmatch(r"v\d+", a)]
            version = numbered[0] if numbered else art.digest[:8]
            user_aliases = [a for a in art.aliases if a != "latest" and a not in numbered]
            vkey = (art.name, art.digest)
            current = versions.get(vkey)
            if current is None:
                versions[vkey] = ModelVersion(
                    model=art.name,
                    version=version,
                    origin=model.origin,
                    aliases=tuple(sorted(set(user_aliases))),
                    description=art.description,
                    created=art.logged_ms or one.run.start_time,
                    user=one.run.user,
                    source=f"wandb-artifact:{art.name}:{art.digest}",
                    run_key=one.run.key,
                    logged_model_key=model.key,
                    tags=frozen_map({"wandb.digest": art.digest}),
                )
                model_origin.setdefault(art.name, model.origin)
            else:
                version = current.version
                versions[vkey] = dataclasses.replace(
                    current, aliases=tuple(sorted(set(current.aliases) | set(user_aliases)))
                )
            holders = alias_map.setdefault(art.name, {})
            for alias in user_aliases:
                holders[alias] = version
                # the alias history the run dirs keep: this run logged this version with it
                moves.append(AliasMove(
                    model=art.name, name=alias, versions=(version,),
                    time=art.logged_ms or one.run.start_time, origin=model.origin,
                    source=f"W&B run {one.run.id} logged it with this alias",
                ))
    # An alias names one version: drop it from the versions it moved away from.
    for vkey in sorted(versions):
        mv = versions[vkey]
        held = tuple(a for a in mv.aliases if alias_map.get(mv.model, {}).get(a) == mv.version)
        yield dataclasses.replace(mv, aliases=held) if held != mv.aliases else mv
    for name in sorted(alias_map):
        yield RegisteredModel(
            name=name,
            origin=model_origin[name],
            aliases=frozen_map(alias_map[name]),
        )
    yield from moves
