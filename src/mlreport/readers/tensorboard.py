"""TensorBoard event files (``events.out.tfevents.*``), read with the standard library.

Format: FORMATS.md §5. A file is a sequence of TFRecord frames (``uint64 length``, masked
CRC-32C of the length, the data, masked CRC-32C of the data); each data blob is a protobuf
``Event``. Nothing from ``tensorboard`` or ``tensorflow`` is imported (DESIGN.md decision 6): the
framing and the CRC are here, the protobuf wire format is :mod:`._protobuf`.

How the logdir maps onto the catalog:

- The logdir (the ``path`` given to :meth:`TensorboardReader.read`) is one
  :class:`~mlreport.model.Experiment`, key ``tb-logdir:<path>`` (``tb-logdir:.`` for the store
  root), named after the logdir's base name.
- Every directory holding event files is one :class:`~mlreport.model.Run`: key
  ``tb:<dir relative to the logdir>`` (``tb:.`` for the logdir itself), id the same relative dir,
  name the relative dir (the logdir's base name for the logdir itself). Several event files in
  one directory (a restarted writer) are one run: their points are merged, exact duplicates
  dropped.
- A sub-directory named like ``time.time()`` (``<run>/1795499709.201343/``) that holds
  ``_hparams_/session_start_info`` (or no readable event at all) is what ``add_hparams`` of
  tensorboardX and ``torch.utils.tensorboard`` writes; it belongs to the parent run, whose
  params and metrics it joins (the parent run exists even when its own dir has no event file).
- Scalars are metrics, in both encodings: ``simple_value`` (tensorboardX, PyTorch, TF1) and a
  rank-0 ``tensor`` whose plugin is ``scalars`` (TF2, Keras, ``tensorboard.summary``; a tag's
  plugin is remembered from the first event that carries its metadata). Points are (step,
  wall time in ms, value).
- The hparams plugin: ``session_start_info`` hparams are params (strings; numbers written
  without a trailing ``.0`` when integral, bools as ``true``/``false``, anything else as sorted
  JSON); ``session_end_info`` gives the status (success → FINISHED, failure → FAILED, running
  → RUNNING) and the end time. Without it the status is UNKNOWN.
- Text summaries become run tags: ``<tag>`` (tensorboardX's ``/text_summary`` suffix removed) =
  the text of the last step. Images, histograms, audio, graphs and other plugins are ignored.
- Run start/end time: the earliest/latest event wall time (end: the hparams end time when
  written); a run with no timed event starts at the earliest creation time in its event file
  names (``events.out.tfevents.<unix seconds>.…``). Times are UTC epoch values by definition,
  so no zone has to be guessed. Artifacts: the run's event files with their sizes; a Git LFS
  pointer is listed as one (note ``Git LFS pointer (declared 248 B, not fetched)``), never as
  the event file.

Damage, with one fault boundary per record: a record whose data fails its CRC or does not
decode is skipped and the next one read (the header CRC vouches for its length); a bad header
CRC, or a length past 2 GiB, ends the file (nothing after it can be located; a length is only
compared, never allocated). A file that ends inside a record (a live writer, a cut copy) keeps
what came before, and the lost record is a Problem. Wall times that are not dates (inf, NaN,
1e300) keep the point without a time; invalid UTF-8 is decoded with replacement characters.
Each of these is one Problem per file, naming the byte offset. A zero-length file holds no
events and is not a Problem. A Git LFS pointer in place of an event file is a Problem too.

An HF Trainer output dir (holding ``trainer_state.json``) is left to the ``hf`` reader, which does
not read its ``runs/`` event files: :meth:`TensorboardReader.detect` says no for a directory that
is, or holds within three levels, such a dir. Point mlreport at ``<output_dir>/runs`` (or force
the format) to read those event files here.
"""

from __future__ import annotations

import json
import logging
import math
import posixpath
import re
import struct
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from ..model import (
    Artifact,
    Experiment,
    Metric,
    MetricHistory,
    Origin,
    Record,
    Run,
    RunStatus,
    frozen_map,
)
from ..stores import Store, join
from . import ReadOptions
from ._bounded import limits, too_long
from ._common import ReadContext, lfs_pointer, lfs_problem_reason, store_dir_name
from ._protobuf import (
    FIXED32,
    FIXED64,
    LENGTH,
    VARINT,
    ProtobufError,
    as_double,
    as_float,
    as_signed64,
    fields,
    packed_doubles,
    packed_floats,
    packed_varints,
    read_varint,
)

log = logging.getLogger("mlreport.readers.tensorboard")

EVENT_FILE_PREFIX = "events.out.tfevents."
_DETECT_DEPTH = 3
_DETECT_MAX_DIRS = 200
_HF_STATE = "trainer_state.json"
_UNDECODABLE = (ProtobufError, struct.error, RecursionError)
_HPARAMS_DIR = re.compile(r"^\d+\.\d+$")
_TEXT_SUFFIX = "/text_summary"
_ALWAYS_CHECK = 4096  # payloads up to this size have their CRC checked whatever they hold
#: A record longer than this is refused (protobuf's own hard limit on a message is 2 GiB); the
#: length is only compared, never allocated, so a length field of 2^60 costs nothing.
MAX_RECORD = 2**31 - 1
#: Wall times outside year 1..9999 cannot be dates on a page: they are left out (and noted).
_MAX_MS = 253_402_300_799_999

# hparams api.proto Status
_HPARAMS_STATUS = {1: RunStatus.FINISHED, 2: RunStatus.FAILED, 3: RunStatus.RUNNING}


# --- CRC-32C (Castagnoli), table-driven ------------------------------------------------------

def _crc32c_tables() -> list[tuple[int, ...]]:
    """The byte table of CRC-32C and the seven derived ones for slicing-by-8."""
    base = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        base.append(c)
    tables = [tuple(base)]
    for _ in range(7):
        prev = tables[-1]
        tables.append(tuple((prev[i] >> 8) ^ base[prev[i] & 0xFF] for i in range(256)))
    return tables


_T0, _T1, _T2, _T3, _T4, _T5, _T6, _T7 = _crc32c_tables()
_WORDS = struct.Struct("<II")
_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
_HALF = struct.Struct("<e")
_HALF_BITS = struct.Struct("<H")


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (reflected polynomial 0x82F63B78), as TFRecord uses it.

    Pure Python, slicing-by-8: about 14 MB/s, which is why only the records the reader uses
    are checked (see :meth:`TensorboardReader._read_dir`).
    """
    crc = 0xFFFFFFFF
    t0, t1, t2, t3, t4, t5, t6, t7 = _T0, _T1, _T2, _T3, _T4, _T5, _T6, _T7
    whole = len(data) // 8 * 8
    for a, b in _WORDS.iter_unpack(memoryview(data)[:whole]):
        a ^= crc
        crc = (t7[a & 0xFF] ^ t6[(a >> 8) & 0xFF] ^ t5[(a >> 16) & 0xFF] ^ t4[a >> 24]
               ^ t3[b & 0xFF] ^ t2[(b >> 8) & 0xFF] ^ t1[(b >> 16) & 0xFF] ^ t0[b >> 24])
    for byte in data[whole:]:
        crc = t0[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class RecordError(ValueError):
    """A damaged record: ``offset`` is the byte where it starts."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


def iter_frames(data: bytes) -> Iterator[tuple[int, bytes, int]]:
    """The (offset, payload, masked CRC of the payload) of each whole TFRecord frame.

    The length's CRC is checked here (a bad one raises :class:`RecordError`: the framing after
    it cannot be trusted); the payload's is left to the caller. A partial trailing frame, what a
    live writer leaves, ends the iteration silently.
    """
    pos = 0
    end = len(data)
    while pos + 12 <= end:
        header = data[pos : pos + 8]
        length, header_crc = struct.unpack_from("<QI", data, pos)
        if masked_crc32c(header) != header_crc:
            raise RecordError(pos, f"bad CRC in record header at byte {pos}")
        if length > MAX_RECORD:
            raise RecordError(pos, _too_long(pos, length))
        if pos + 16 + length > end:
            return
        payload = data[pos + 12 : pos + 12 + length]
        (data_crc,) = struct.unpack_from("<I", data, pos + 12 + length)
        yield pos, payload, data_crc
        pos += 16 + length


def _too_long(pos: int, length: int) -> str:
    return (f"record at byte {pos} declares {length:,} bytes, past the {MAX_RECORD:,}-byte limit "
            "of a protobuf message")


def iter_records(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The (offset, payload) of each whole frame, both CRCs checked."""
    for offset, payload, crc in iter_frames(data):
        if masked_crc32c(payload) != crc:
            raise RecordError(offset, f"bad CRC in record at byte {offset}")
        yield offset, payload


# --- Event / Summary decoding ------------------------------------------------------------------

_DT_FLOAT, _DT_DOUBLE, _DT_INT32, _DT_UINT8, _DT_INT16, _DT_INT8 = 1, 2, 3, 4, 5, 6
_DT_STRING, _DT_INT64, _DT_BOOL, _DT_HALF = 7, 9, 10, 19
_CONTENT_FORMATS = {
    _DT_FLOAT: "f", _DT_DOUBLE: "d", _DT_INT32: "i", _DT_UINT8: "B", _DT_INT16: "h",
    _DT_INT8: "b", _DT_INT64: "q", _DT_BOOL: "?", _DT_HALF: "e",
}


@dataclass
class _Tensor:
    dtype: int = 0
    rank: int = 0
    content: bytes = b""
    numbers: list[float] = field(default_factory=list)
    strings: list[bytes] = field(default_factory=list)

    def scalar(self) -> float | None:
        """The value of a rank-0 (or one-element) numeric tensor."""
        if self.rank > 1:
            return None
        if self.numbers:
            return self.numbers[0] if len(self.numbers) == 1 or self.rank == 0 else None
        fmt = _CONTENT_FORMATS.get(self.dtype)
        if fmt is None or not self.content:
            return None
        size = struct.calcsize(fmt)
        if len(self.content) != size:
            return None
        return float(struct.unpack("<" + fmt, self.content)[0])


def _typed(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """:func:`._protobuf.fields` with the value split by type: (number, wire, int, bytes); the
    side that does not apply is ``0`` or ``b""``."""
    for number, wire, value in fields(data):
        if isinstance(value, int):
            yield number, wire, value, b""
        else:
            yield number, wire, 0, value


class _Notes:
    """What one file's decoding had to repair, reported as one Problem per file.

    Module-level (reset per file by the reader) because the decoders below are plain functions
    called millions of times: threading a context through them would cost more than the
    reading. Reading is single-threaded per process; work units run in separate processes.
    """

    bad_utf8 = 0


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        _Notes.bad_utf8 += 1
        return raw.decode("utf-8", errors="replace")


def _decode_tensor(data: bytes) -> _Tensor:
    t = _Tensor()
    for number, wire, i, b in _typed(data):
        if number == 1 and wire == VARINT:
            t.dtype = i
        elif number == 2 and wire == LENGTH:
            t.rank = sum(1 for n, _w, _i, _b in _typed(b) if n == 2)  # TensorShapeProto.dim
        elif number == 4 and wire == LENGTH:
            t.content = b
        elif number == 5:  # float_val
            t.numbers.extend(_floats(wire, b))
        elif number == 6:  # double_val
            t.numbers.extend(_doubles(wire, b))
        elif number in (7, 10, 13, 16, 17):  # int_val, int64_val, half_val, uint32_val, uint64_val
            ints = _ints(wire, i, b)
            if number == 13:  # half floats travel as the int32 of their bits
                t.numbers.extend(_HALF.unpack(_HALF_BITS.pack(n & 0xFFFF))[0] for n in ints)
            elif number in (7, 10):
                t.numbers.extend(float(as_signed64(n)) for n in ints)
            else:
                t.numbers.extend(float(n) for n in ints)
        elif number == 11:  # bool_val
            t.numbers.extend(float(bool(n)) for n in _ints(wire, i, b))
        elif number == 8 and wire == LENGTH:
            t.strings.append(b)
    return t


def _floats(wire: int, raw: bytes) -> list[float]:
    if wire == FIXED32:
        return [as_float(raw)]
    return packed_floats(raw) if wire == LENGTH else []


def _doubles(wire: int, raw: bytes) -> list[float]:
    if wire == FIXED64:
        return [as_double(raw)]
    return packed_doubles(raw) if wire == LENGTH else []


def _ints(wire: int, value: int, raw: bytes) -> list[int]:
    if wire == VARINT:
        return [value]
    return packed_varints(raw) if wire == LENGTH else []


@dataclass
class _Value:
    tag: str = ""
    simple_value: float | None = None
    tensor: _Tensor | None = None
    plugin_name: str | None = None
    plugin_content: bytes = b""


def _decode_value(data: bytes) -> _Value:
    v = _Value()
    for number, wire, _i, b in _typed(data):
        if number == 1 and wire == LENGTH:
            v.tag = _text(b)
        elif number == 7 and wire == LENGTH and not v.tag:  # node_name, TF1's fallback tag
            v.tag = _text(b)
        elif number == 2 and wire == FIXED32:
            v.simple_value = as_float(b)
        elif number == 8 and wire == LENGTH:
            v.tensor = _decode_tensor(b)
        elif number == 9 and wire == LENGTH:  # SummaryMetadata
            for n, w, _pi, plugin_data in _typed(b):
                if n == 1 and w == LENGTH:
                    for pn, pw, _ci, pb in _typed(plugin_data):
                        if pn == 1 and pw == LENGTH:
                            v.plugin_name = _text(pb)
                        elif pn == 2 and pw == LENGTH:
                            v.plugin_content = pb
    return v


@dataclass
class _Event:
    wall_time: float | None = None
    step: int = 0
    values: list[_Value] = field(default_factory=list)


def _decode_event(data: bytes) -> _Event:
    ev = _Event()
    for number, wire, i, b in _typed(data):
        if number == 1 and wire == FIXED64:
            ev.wall_time = as_double(b)
        elif number == 2 and wire == VARINT:
            ev.step = as_signed64(i)
        elif number == 5 and wire == LENGTH:  # Summary
            for n, w, _si, value in _typed(b):
                if n == 1 and w == LENGTH:
                    ev.values.append(_decode_value(value))
    return ev


def _decode_protobuf_value(data: bytes) -> str | None:
    """A ``google.protobuf.Value`` as a param string."""
    for number, wire, i, b in _typed(data):
        if number == 1:
            return "null"
        if number == 2 and wire == FIXED64:
            return format_number(as_double(b))
        if number == 3 and wire == LENGTH:
            return _text(b)
        if number == 4 and wire == VARINT:
            return "true" if i else "false"
        if number in (5, 6) and wire == LENGTH:
            return json.dumps(_protobuf_json(number, b), sort_keys=True)
    return None


def _protobuf_json(kind: int, data: bytes) -> object:
    """A Struct (5) or ListValue (6) as plain JSON data."""
    if kind == 5:
        out: dict[str, object] = {}
        for n, w, _i, entry in _typed(data):
            if n == 1 and w == LENGTH:
                key, val = _map_entry(entry)
                out[key] = _protobuf_value_json(val)
        return out
    return [_protobuf_value_json(b) for n, w, _i, b in _typed(data) if n == 1 and w == LENGTH]


def _protobuf_value_json(data: bytes) -> object:
    for number, wire, i, b in _typed(data):
        if number == 2 and wire == FIXED64:
            return as_double(b)
        if number == 3 and wire == LENGTH:
            return _text(b)
        if number == 4 and wire == VARINT:
            return bool(i)
        if number in (5, 6) and wire == LENGTH:
            return _protobuf_json(number, b)
    return None


def _map_entry(data: bytes) -> tuple[str, bytes]:
    key, val = "", b""
    for n, w, _i, b in _typed(data):
        if n == 1 and w == LENGTH:
            key = _text(b)
        elif n == 2 and w == LENGTH:
            val = b
    return key, val


def format_number(value: float) -> str:
    """A number as a param string: ``32`` rather than ``32.0``, otherwise Python's shortest repr."""
    if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


# --- Reading runs ------------------------------------------------------------------------------

@dataclass
class _RunData:
    """Everything gathered for one run directory from its event files (and hparams sub-dirs)."""

    rel_dir: str
    files: list[Artifact] = field(default_factory=list)  # paths relative to the run dir
    points: dict[str, list[tuple[int, int, float]]] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    texts: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    first_ms: int | None = None
    last_ms: int | None = None
    status: RunStatus = RunStatus.UNKNOWN
    end_ms: int | None = None
    has_hparams: bool = False
    has_events: bool = False
    named_ms: int | None = None  # the earliest creation time in an event file's name

    def named(self, ms: int) -> None:
        if self.named_ms is None or ms < self.named_ms:
            self.named_ms = ms

    def merge(self, other: _RunData, prefix: str) -> None:
        self.files.extend(replace(a, path=join(prefix, a.path)) for a in other.files)
        if other.named_ms is not None:
            self.named(other.named_ms)
        for tag, pts in other.points.items():
            self.points.setdefault(tag, []).extend(pts)
        self.params.update(other.params)
        for tag, text in other.texts.items():
            if tag not in self.texts or text[:2] >= self.texts[tag][:2]:
                self.texts[tag] = text
        for t in (other.first_ms, other.last_ms):
            if t is not None:
                self._seen(t)
        if other.status is not RunStatus.UNKNOWN:
            self.status = other.status
            self.end_ms = other.end_ms

    def _seen(self, ms: int) -> None:
        if self.first_ms is None or ms < self.first_ms:
            self.first_ms = ms
        if self.last_ms is None or ms > self.last_ms:
            self.last_ms = ms


def _to_ms(seconds: float | None) -> int | None:
    """Epoch seconds as epoch ms, or None when the time is not finite or not a date."""
    if seconds is None or not math.isfinite(seconds):
        return None
    ms = seconds * 1000
    return int(round(ms)) if -_MAX_MS <= ms <= _MAX_MS else None


class _FileReader:
    """Decodes the events of one file into a :class:`_RunData`."""

    def __init__(self, run: _RunData) -> None:
        self.run = run
        self.plugins: dict[str, str] = {}  # tag -> plugin name, from the first metadata seen
        self.bad_times = 0  # events whose wall time is not a date (inf, 1e300): time left out

    def uses(self, event: _Event) -> bool:
        """Whether :meth:`feed` takes anything from ``event`` (its CRC then matters)."""
        for v in event.values:
            plugin = v.plugin_name or self.plugins.get(v.tag, "")
            if v.simple_value is not None or plugin in ("hparams", "text"):
                return True
            if v.tensor is not None and plugin in ("scalars", ""):
                return True
        return False

    def feed_scalar(self, wall_time: float, step: int, tag: str, value: float) -> None:
        """:meth:`feed` for an event of one ``simple_value`` (the reader's hot path)."""
        run = self.run
        run.has_events = True
        ms = wall_time * 1000
        if -_MAX_MS <= ms <= _MAX_MS:  # False for NaN and the infinities
            ts = int(round(ms))
            if run.first_ms is None or ts < run.first_ms:
                run.first_ms = ts
            if run.last_ms is None or ts > run.last_ms:
                run.last_ms = ts
        else:
            ts = -1
            self.bad_times += 1
        pts = run.points.get(tag)
        if pts is None:
            run.points[tag] = [(step, ts, value)]
        else:
            pts.append((step, ts, value))

    def feed(self, event: _Event) -> None:
        run = self.run
        run.has_events = True
        ms = _to_ms(event.wall_time)
        if ms is None:
            ts = -1
            if event.wall_time is not None:
                self.bad_times += 1
        else:
            ts = ms
            run._seen(ts)
        for v in event.values:
            if v.plugin_name is not None:
                self.plugins.setdefault(v.tag, v.plugin_name)
            plugin = v.plugin_name or self.plugins.get(v.tag, "")
            if v.simple_value is not None:
                run.points.setdefault(v.tag, []).append((event.step, ts, v.simple_value))
            elif v.tensor is not None and plugin in ("scalars", ""):
                value = v.tensor.scalar()
                if value is not None and v.tensor.dtype != _DT_STRING:
                    run.points.setdefault(v.tag, []).append((event.step, ts, value))
            elif plugin == "hparams" and v.plugin_content:
                self._hparams(v.plugin_content)
            elif plugin == "text" and v.tensor is not None:
                tag = v.tag[: -len(_TEXT_SUFFIX)] if v.tag.endswith(_TEXT_SUFFIX) else v.tag
                text = "\n".join(_text(s) for s in v.tensor.strings)
                old = run.texts.get(tag)
                if old is None or (event.step, ts) >= old[:2]:
                    run.texts[tag] = (event.step, ts, text)

    def _hparams(self, content: bytes) -> None:
        run = self.run
        for number, wire, _i, value in _typed(content):  # HParamsPluginData
            if wire != LENGTH:
                continue
            if number == 3:  # session_start_info
                run.has_hparams = True
                for n, w, _i, entry in _typed(value):
                    if n == 1 and w == LENGTH:  # map<string, google.protobuf.Value> hparams
                        key, raw = _map_entry(entry)
                        text = _decode_protobuf_value(raw)
                        if text is not None:
                            run.params[key] = text
            elif number == 4:  # session_end_info
                status, end = 0, None
                for n, w, i, b in _typed(value):
                    if n == 1 and w == VARINT:
                        status = i
                    elif n == 2 and w == FIXED64:
                        end = as_double(b)
                run.status = _HPARAMS_STATUS.get(status, RunStatus.UNKNOWN)
                run.end_ms = _to_ms(end) if end else None
                if end and run.end_ms is None:
                    self.bad_times += 1


def _read_file(data: bytes, run: _RunData) -> list[str]:
    """Feed one event file's records into ``run``; the reasons for the Problems it deserves.

    The fault boundary is the record: a record whose data fails its CRC or does not decode is
    skipped and counted, and reading goes on with the next one (its length was checked by the
    header CRC, so the framing still holds). Only a bad header (length or its CRC) ends the
    file, since nothing after it can be located. Every check is on the bytes in hand: a
    declared length is compared, never allocated.
    """
    reader = _FileReader(run)
    _Notes.bad_utf8 = 0
    reasons: list[str] = []
    skipped: dict[str, list[int]] = {}
    pos, end, records = 0, len(data), 0
    record_limit = limits().record
    while pos < end:
        if end - pos < 12:
            reasons.append(_cut(pos, end, records, 12))
            break
        length, header_crc = _HEADER.unpack_from(data, pos)
        if masked_crc32c(data[pos : pos + 8]) != header_crc:
            reasons.append(f"bad CRC in record header at byte {pos}; rest of the file skipped "
                           f"({end - pos:,} bytes)")
            break
        if length > MAX_RECORD:
            reasons.append(f"{_too_long(pos, length)}; rest of the file skipped")
            break
        if pos + 16 + length > end:
            reasons.append(_cut(pos, end, records, 16 + length))
            break
        if length > record_limit:  # readers/_bounded.py: skipped unread (the header CRC vouches)
            reasons.append(too_long(f"the record at byte {pos}", length, record_limit, "max_record_size"))
            pos += 16 + length
            continue
        payload = data[pos + 12 : pos + 12 + length]
        (crc,) = _CRC.unpack_from(data, pos + 12 + length)
        offset, pos = pos, pos + 16 + length
        scalar = _fast_scalar(payload)
        if scalar is not None:  # the usual record: one simple_value scalar (small: CRC checked)
            if masked_crc32c(payload) != crc:
                skipped.setdefault("bad CRC", []).append(offset)
                continue
            reader.feed_scalar(*scalar)
            records += 1
            continue
        try:
            event: _Event | None = _decode_event(payload)
        except _UNDECODABLE:
            event = None
        # The payload CRC is checked for every record that is used, and for every small one;
        # large records the reader ignores (images, histograms, graphs) skip the pure-Python CRC.
        if (event is None or length <= _ALWAYS_CHECK or reader.uses(event)) \
                and masked_crc32c(payload) != crc:
            skipped.setdefault("bad CRC", []).append(offset)
            continue
        try:
            if event is None:
                raise ProtobufError("undecodable")
            reader.feed(event)  # decodes plugin content (hparams) in turn
        except Exception:  # noqa: BLE001 - one bad record is one skipped record
            skipped.setdefault("undecodable event", []).append(offset)
            continue
        records += 1
    for why, offsets in skipped.items():
        if len(offsets) == 1:
            reasons.append(f"{why} in the record at byte {offsets[0]}; record skipped")
        else:
            reasons.append(f"{why} in {len(offsets):,} records (first at byte {offsets[0]}); "
                           "records skipped")
    if reader.bad_times:
        reasons.append(f"{_count(reader.bad_times, 'wall time')} not a date (infinite or out of "
                       "range); those points are kept without a time")
    if _Notes.bad_utf8:
        reasons.append(f"{_count(_Notes.bad_utf8, 'text')} not valid UTF-8, decoded with "
                       "replacement characters")
    return reasons


def _cut(pos: int, end: int, records: int, needed: int) -> str:
    # What a live writer (or an interrupted copy) leaves: said, since a record is lost.
    return (f"file ends inside the record at byte {pos} ({end - pos:,} of its {needed:,} bytes "
            f"present); that record was dropped, {_count(records, 'record')} read before it")


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0][:120] if text.strip() else type(exc).__name__


_F32 = struct.Struct("<f").unpack_from
_F64 = struct.Struct("<d").unpack_from
_TAG_CACHE: dict[bytes, str] = {}


def _fast_scalar(ev: bytes) -> tuple[float, int, str, float] | None:
    """(wall time, step, tag, value) of an Event that is a wall time, an optional step and a
    Summary of one Value holding a tag and a ``simple_value`` (what PyTorch's SummaryWriter and
    tensorboardX write for every scalar), else None for :func:`_decode_event`."""
    try:
        if ev[0] != 0x09:
            return None
        (wall,) = _F64(ev, 1)
        pos = 9
        step = 0
        if ev[pos] == 0x10:  # step, a varint
            step, pos = read_varint(ev, pos + 1)
            step = as_signed64(step)
        # summary (5) { value (1) { tag (1), simple_value (2) } }, all lengths one byte
        if ev[pos] != 0x2A or ev[pos + 2] != 0x0A or ev[pos + 4] != 0x0A:
            return None
        size, vsize, tsize = ev[pos + 1], ev[pos + 3], ev[pos + 5]
        end = pos + 2 + size
        if end != len(ev) or pos + 4 + vsize != end or size >= 0x80 or tsize >= 0x80:
            return None
        t = pos + 6 + tsize
        if ev[t] != 0x15 or t + 5 != end:
            return None
        raw_tag = ev[pos + 6 : t]
        tag = _TAG_CACHE.get(raw_tag)
        if tag is None:
            try:
                tag = raw_tag.decode("utf-8")
            except UnicodeDecodeError:
                return None  # the general decoder replaces and notes it
            if len(_TAG_CACHE) > 100_000:
                _TAG_CACHE.clear()
            _TAG_CACHE[raw_tag] = tag
        return wall, step, tag, float(_F32(ev, t + 1)[0])
    except (IndexError, ProtobufError, struct.error):
        return None


def _is_event_file(name: str) -> bool:
    return name.startswith(EVENT_FILE_PREFIX)


def _folder(store: Store, path: str) -> tuple[bool, bool, tuple[str, ...]]:
    """What detection needs of a folder: an HF Trainer state in it (before which folders, in
    listing order), an event file in it, its folders."""
    subdirs: list[str] = []
    events = False
    for e in store.ls(path):
        if e.is_dir:
            subdirs.append(e.name)
        elif e.name == _HF_STATE:
            return True, events, tuple(subdirs)
        elif _is_event_file(e.name):
            events = True
    return False, events, tuple(subdirs)


# Discovery asks every folder of a tree that no reader owns (a DVC project's), parents first,
# and detection looks three levels down: each folder was listed up to four times, a quarter of
# a 1,000-run DVC project's crawl (issue 12). What a folder's listing told detection is kept
# with the store (one crawl) until that folder is asked itself, which is the last time a
# parent-first walk needs it.
_FOLDERS: weakref.WeakKeyDictionary[Store, dict[str, tuple[bool, bool, tuple[str, ...]]]] = (
    weakref.WeakKeyDictionary()
)
_FOLDERS_HELD = 20_000  # folders remembered per store at most (then forgotten at once)


class TensorboardReader:
    """Reads a TensorBoard logdir: every directory with event files below it is a run."""

    name = "tensorboard"
    label = "TensorBoard"

    def detect(self, store: Store, path: str) -> bool:
        kind = store.kind(path)
        if kind == "file":
            return _is_event_file(posixpath.basename(path))
        if kind != "dir":
            return False
        # Event files within three levels, and no HF Trainer output dir among them: a folder of
        # HF output dirs (each with runs/ inside) is left for discovery to descend into.
        seen = _FOLDERS.get(store)
        if seen is None:
            seen = _FOLDERS[store] = {}
        found = False
        level = [path]
        visited = 0
        for _depth in range(_DETECT_DEPTH + 1):
            nxt: list[str] = []
            for d in level:
                visited += 1
                if visited > _DETECT_MAX_DIRS:
                    return found
                folder = seen.pop(d, None) if d == path else seen.get(d)
                if folder is None:
                    folder = _folder(store, d)
                    if d != path:
                        if len(seen) >= _FOLDERS_HELD:
                            seen.clear()
                        seen[d] = folder
                hf_state, events, subdirs = folder
                if hf_state:
                    return False
                found = found or events
                nxt.extend(join(d, name) for name in subdirs)
            level = nxt
        return found

    def read(self, store: Store, path: str, options: ReadOptions) -> Iterator[Record]:
        if store.kind(path) == "file":
            # One event file named directly: its directory is the logdir and the run.
            files = [(posixpath.basename(path), _size_of(store, path))]
            path = posixpath.dirname(path)
        else:
            files = [(rel, size) for rel, size in store.walk_files(path)
                     if _is_event_file(posixpath.basename(rel))]
        by_dir: dict[str, list[tuple[str, int | None]]] = {}
        for rel, size in files:
            by_dir.setdefault(posixpath.dirname(rel), []).append((rel, size))

        experiment_id = path or "."
        experiment = Experiment(
            key=f"tb-logdir:{experiment_id}",
            id=experiment_id,
            name=_base_name(store, path),
            origin=Origin(store.url, path, self.name),
        )
        yield experiment

        total = len(by_dir)
        options.progress("runs", 0, total)
        # Each run is built into its record (metrics as arrays) as soon as it is complete, so
        # that a large logdir is not held as millions of point tuples. An add_hparams
        # sub-directory joins its parent run (FORMATS.md §5): in reverse name order every
        # directory comes after all the directories below it, so a parent is complete at its
        # turn; the children wait for it and are merged in the order (deepest first, then by
        # name) they always were.
        built: dict[str, Run] = {}
        # the problems of each directory, met reading it and building its run (the readers'
        # shared context; kept per directory so that they are yielded in directory order)
        read_problems: dict[str, ReadContext] = {}
        build_problems: dict[str, ReadContext] = {}
        waiting: dict[str, list[tuple[str, _RunData]]] = {}

        def finish(rel_dir: str, data: _RunData, placeholder: bool) -> None:
            for child_dir, child in sorted(waiting.pop(rel_dir, []),
                                           key=lambda c: (-c[0].count("/"), c[0])):
                data.merge(child, posixpath.basename(child_dir))
            base = posixpath.basename(rel_dir)
            # (one whose events cannot be read, e.g. Git LFS pointers, is taken to be one too)
            if not placeholder and rel_dir and _HPARAMS_DIR.match(base) \
                    and (data.has_hparams or not data.has_events):
                waiting.setdefault(posixpath.dirname(rel_dir), []).append((rel_dir, data))
                return
            try:
                built[rel_dir] = self._run(store, path, data, experiment.key, options)
            except Exception as exc:  # noqa: BLE001 - the net for one strange run
                log.debug("unexpected error building run %s", rel_dir, exc_info=True)
                build_problems.setdefault(rel_dir, ReadContext(store, path, self.name)).problem(
                    join(path, rel_dir),
                    f"unexpected {type(exc).__name__} while reading the run: {_short(exc)}; "
                    "run skipped")

        for done, rel_dir in enumerate(sorted(by_dir, reverse=True), 1):
            problems = read_problems.setdefault(rel_dir, ReadContext(store, path, self.name))
            try:
                data = self._read_dir(store, path, rel_dir, by_dir[rel_dir], problems)
            except Exception as exc:  # noqa: BLE001 - the net for one strange directory
                log.debug("unexpected error reading %s", rel_dir, exc_info=True)
                problems.problem(
                    join(path, rel_dir),
                    f"unexpected {type(exc).__name__} while reading: {_short(exc)}; run skipped")
                if rel_dir in waiting:  # its hparams sub-directories still make a run
                    finish(rel_dir, _RunData(rel_dir), placeholder=True)
            else:
                finish(rel_dir, data, placeholder=False)
            if done % 100 == 0 or done == total:
                options.progress("runs", done, total)
        for parent in sorted(waiting):  # parents with no event file of their own
            finish(parent, _RunData(parent), placeholder=True)

        for rel_dir in sorted(built):
            yield built[rel_dir]
        for rel_dir in sorted(read_problems):
            yield from read_problems[rel_dir].drain()
        for rel_dir in sorted(build_problems):
            yield from build_problems[rel_dir].drain()

    def _read_dir(
        self,
        store: Store,
        root: str,
        rel_dir: str,
        files: list[tuple[str, int | None]],
        problems: ReadContext,
    ) -> _RunData:
        run = _RunData(rel_dir)
        contents = store.read_many([join(root, rel) for rel, _size in files])
        # Sorted by name = by the creation time in the name; points are merged, so order only
        # matters for which text wins at equal (step, time).
        for rel, size in sorted(files):
            full = join(root, rel)
            name = posixpath.basename(rel)
            named = _name_ms(name)
            if named is not None:
                run.named(named)
            data = contents[full]
            if isinstance(data, OSError):
                run.files.append(Artifact(name, size))
                problems.problem(full, f"cannot read: {data.strerror or data}")
                continue
            pointer = lfs_pointer(data)
            if pointer is not None:
                # Listed as what it is, never as the event file it stands for.
                run.files.append(Artifact(name, size, note=lfs_note(pointer[1])))
                problems.problem(full, lfs_problem_reason(pointer))
                continue
            run.files.append(Artifact(name, size))
            try:
                reasons = _read_file(data, run)
            except Exception as exc:  # noqa: BLE001 - the net for one strange file
                log.debug("unexpected error reading %s", full, exc_info=True)
                reasons = [f"unexpected {type(exc).__name__} while reading: {_short(exc)}; "
                           "rest of the file skipped"]
            for reason in reasons:
                problems.problem(full, reason)
        return run

    def _run(
        self, store: Store, root: str, data: _RunData, experiment_key: str, options: ReadOptions
    ) -> Run:
        metrics = []
        for tag in sorted(data.points):
            history = MetricHistory.from_points(data.points[tag])
            metric = Metric.from_history(tag, history)
            metrics.append(metric if options.history else replace(metric, history=None))
        run_id = data.rel_dir or "."
        end = data.end_ms if data.end_ms is not None else data.last_ms
        start = data.first_ms
        if start is None:
            # No event with a time (an empty file, or none readable): the writer put its
            # creation time in the file name (seconds since the epoch, UTC by definition).
            start = data.named_ms
        return Run(
            key=f"tb:{run_id}",
            id=run_id,
            name=data.rel_dir or _base_name(store, root),
            origin=Origin(store.url, join(root, data.rel_dir), self.name),
            experiment_key=experiment_key,
            status=data.status,
            start_time=start,
            end_time=end,
            params=frozen_map(data.params),
            tags=frozen_map({tag: text for tag, (_s, _t, text) in data.texts.items()}),
            metrics=tuple(metrics),
            artifacts=tuple(sorted(data.files, key=lambda a: a.path)),
        )


_NAME_TIME = re.compile(r"^events\.out\.tfevents\.(\d{9,11})(?:\.|$)")


def _name_ms(name: str) -> int | None:
    """``events.out.tfevents.<unix seconds>.<host>…``: the writer's creation time, in ms."""
    match = _NAME_TIME.match(name)
    return int(match.group(1)) * 1000 if match else None


def lfs_note(declared: int | None) -> str:
    """What an artifacts table says of a Git LFS pointer committed in place of a file."""
    return f"Git LFS pointer (declared {_size_text(declared)}, not fetched)"


def _size_text(size: int | None) -> str:
    # The same 1024-based form as the pages' sizes (readers do not import render).
    if size is None:
        return "size unknown"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def _size_of(store: Store, path: str) -> int | None:
    parent, name = posixpath.split(path)
    for e in store.ls(parent):
        if e.name == name:
            return e.size
    return None


def _base_name(store: Store, path: str) -> str:
    """The name of the directory at ``path``: its base name, or the store's for the root."""
    return store_dir_name(store, path, "logdir")


__all__ = ["TensorboardReader", "crc32c", "iter_frames", "iter_records", "lfs_note", "masked_crc32c"]
