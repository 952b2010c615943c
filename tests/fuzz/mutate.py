"""Mutations of fixture stores, each with the *reference* that says what it may cost.

A case is one mutation of one file of one fixture store under ``tests/data/<format>/<case>/``,
chosen from a seed and the case number alone (``plan_case``): the same seed gives the same
cases whatever the reader code does, so figures before and after a fix are comparable.

Every mutation also yields a **reference**: the same store with the damaged part *removed*
instead of damaged. A record may be lost to a mutation only if it is also lost in the
reference (see ``harness.py`` for the measure). The reference depends on what kind of file
was hit:

- ``delete`` (JSON/YAML documents, single values, anything else): the file is removed. A
  corrupt file may cost what a missing one costs, never more.
- ``lines`` (files with one record a line: MLflow metric files, ``.jsonl``, ``.tsv``, ``.csv``):
  the lines that overlap the changed bytes are removed (and the next one, when a newline was
  damaged). One bad line may cost its own record, not its neighbours'.
- ``prefix`` (record logs, ``.wandb`` and ``tfevents``; SQLite pages): the file cut where the
  damage starts (a SQLite file at the start of the damaged page). What was written before the
  damage must survive it.
- ``rows`` / ``table`` (SQLite cell and schema mutations made through SQL): the row deleted, or
  the table emptied. One bad cell may cost its row; one renamed column its table.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import sqlite3
import struct
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
DATA = ROOT / "tests" / "data"
SQLITE_MAGIC = b"SQLite format 3\x00"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
#: What a symlink out of the store points at; it must never reach a catalog or a page.
SECRET = b"FUZZ-SECRET-0f1e2d"


# ---------------------------------------------------------------------------------------------
# the corpus


@dataclass(frozen=True)
class Store:
    """One fixture store: ``tests/data/<format>/<name>/`` and its files (sorted, relative)."""

    format: str
    name: str
    files: tuple[str, ...]
    weights: tuple[float, ...]

    @property
    def path(self) -> Path:
        return DATA / self.format / self.name

    @property
    def label(self) -> str:
        return f"{self.format}/{self.name}"


def _weight(rel: str) -> float:
    # Artifact contents are listed, not parsed (except an MLmodel); fixture scripts and READMEs
    # are not part of a store. Down-weighted rather than skipped: a listing can still trip.
    name = rel.rsplit("/", 1)[-1]
    if "/artifacts/" in f"/{rel}" and name != "MLmodel":
        return 0.2
    if name.endswith((".py", ".md", ".gitignore")):
        return 0.2
    return 1.0


def load_corpus(only: tuple[str, ...] = ()) -> tuple[Store, ...]:
    """Every fixture store under tests/data (or those labelled in ``only``), in a fixed order.

    Case numbers depend on the corpus: a slice whose numbers are cited (the CI slice and its
    XFAIL list) names its stores, so that a fixture added later does not renumber it.
    """
    stores = []
    for fmt_dir in sorted(p for p in DATA.iterdir() if p.is_dir()):
        for case in sorted(p for p in fmt_dir.iterdir() if p.is_dir()):
            if case.name.startswith("_"):  # not a store (a config file used by a test)
                continue
            files = tuple(
                sorted(p.relative_to(case).as_posix() for p in case.rglob("*") if p.is_file() and not p.is_symlink())
            )
            if files and (not only or f"{fmt_dir.name}/{case.name}" in only):
                stores.append(Store(fmt_dir.name, case.name, files, tuple(_weight(f) for f in files)))
    return tuple(stores)


# ---------------------------------------------------------------------------------------------
# a mutation


@dataclass(frozen=True)
class Edit:
    """What becomes of one file: new bytes, removed, or a special file in its place."""

    rel: str
    data: bytes | None = None  # None: the file is removed
    special: str | None = None  # "symlink-out", "fifo", "dir"


@dataclass(frozen=True)
class Case:
    index: int
    store: Store
    rel: str
    op: str
    detail: str
    edit: Edit
    reference: Edit
    reference_mode: str

    @property
    def signature(self) -> str:
        return f"{self.store.label}:{self.rel}:{self.op}"


@dataclass
class _Ctx:
    rng: random.Random
    rel: str
    data: bytes
    kind: str
    notes: list[str] = field(default_factory=list)


def file_kind(rel: str, data: bytes) -> str:
    name = rel.rsplit("/", 1)[-1]
    if data.startswith(SQLITE_MAGIC):
        return "sqlite"
    if "tfevents" in name:
        return "tfevents"
    if name.endswith(".wandb"):
        return "wandb"
    if name.endswith(".jsonl"):
        return "jsonl"
    if name.endswith((".tsv", ".csv")):
        return "table"
    if "/metrics/" in f"/{rel}" and "." not in name and "mlruns" in rel:
        return "mlflow-metric"
    if name.endswith(".json"):
        return "json"
    if name.endswith((".yaml", ".yml", ".lock", ".dvc")) or name in ("MLmodel", "meta.yaml"):
        return "yaml"
    return "text"


def reference_mode(kind: str) -> str:
    if kind in ("jsonl", "table", "mlflow-metric"):
        return "lines"
    if kind in ("tfevents", "wandb", "sqlite"):
        return "prefix"
    return "delete"


def reference_for(mode: str, kind: str, original: bytes, mutated: bytes) -> bytes | None:
    """The reference bytes for a byte-level mutation (None: the file removed)."""
    if mode == "delete":
        return None
    n = min(len(original), len(mutated))
    p = _common(n, lambda k: original[:k] == mutated[:k])
    if p == len(original) == len(mutated):
        return original
    q = _common(n - p, lambda k: original[len(original) - k :] == mutated[len(mutated) - k :])
    r = len(original) - q  # the changed region of the original is [p, r)
    if mode == "prefix":
        if kind == "sqlite":
            page = _page_size(original)
            return original[: 0 if p < 100 else (p // page) * page]
        return original[:p]
    # lines: drop every line overlapping [p, r), and the next one when a newline was hit
    start = original.rfind(b"\n", 0, p) + 1
    if kind == "table" and start == 0:
        # The header line is damaged: without it the first data row would be read as the
        # header (a different file, not a smaller one), so the file may be lost as a whole.
        return None
    end = original.find(b"\n", r)
    end = len(original) if end < 0 else end + 1
    return original[:start] + original[end:]


def _common(n: int, same: Callable[[int], bool]) -> int:
    """The largest k <= n with same(k) (same is monotone): slice comparisons run at C speed."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if same(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _page_size(db: bytes) -> int:
    (size,) = struct.unpack_from(">H", db, 16)
    return 65536 if size == 1 else max(size, 512)


# ---------------------------------------------------------------------------------------------
# byte-level operators (any file)

INVALID_UTF8 = (b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\x80", b"\xe2\x82")
CONTROL = (b"\x00", b"\x00\x00\x00", b"\x1b[31m", b"\x0c", b"\x07", b"\x7f", b"\r", b"\xc2\x85")
INTERESTING_BYTES = (0x00, 0xFF, 0x7F, 0x80, 0x0A, 0x22, 0x5C, 0x7B, 0x5B, 0x3A, 0x2C, 0x26, 0x2A, 0x09)
NUMBERS = (
    b"1e309",
    b"-1e309",
    b"1e300",
    b"-1e300",
    b"NaN",
    b"nan",
    b"Infinity",
    b"-Infinity",
    b"inf",
    b".inf",
    b"-.inf",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"99999999999999999999999999999999",
    b"9" * 5000,
    b"-" + b"9" * 5000,
    b"1e-400",
    b"-1",
    b"0",
    b"-0",
    b"0x7fffffffffffffff",
    b"1_000",
    b"4.9e-324",
)
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _pos(ctx: _Ctx, end: bool = False) -> int:
    return ctx.rng.randrange(len(ctx.data) + (1 if end else 0)) if ctx.data else 0


def op_bitflip(ctx: _Ctx) -> bytes:
    data = bytearray(ctx.data)
    if not data:
        return b"\x01"
    for _ in range(ctx.rng.choice((1, 1, 2, 4, 8))):
        i = _pos(ctx)
        data[i] ^= 1 << ctx.rng.randrange(8)
        ctx.notes.append(f"bit at {i}")
    return bytes(data)


def op_byte_set(ctx: _Ctx) -> bytes:
    data = bytearray(ctx.data)
    if not data:
        return b"\x00"
    for _ in range(ctx.rng.choice((1, 2, 3))):
        i = _pos(ctx)
        data[i] = ctx.rng.choice(INTERESTING_BYTES)
        ctx.notes.append(f"byte {i}={data[i]:#x}")
    return bytes(data)


def op_truncate(ctx: _Ctx) -> bytes:
    i = _pos(ctx)
    ctx.notes.append(f"cut at {i} of {len(ctx.data)}")
    return ctx.data[:i]


def op_empty(ctx: _Ctx) -> bytes:
    return b""


def op_invalid_utf8(ctx: _Ctx) -> bytes:
    i = _pos(ctx, end=True)
    junk = ctx.rng.choice(INVALID_UTF8)
    ctx.notes.append(f"{junk!r} at {i}")
    return ctx.data[:i] + junk + ctx.data[i:]


def op_control(ctx: _Ctx) -> bytes:
    i = _pos(ctx, end=True)
    junk = ctx.rng.choice(CONTROL)
    ctx.notes.append(f"{junk!r} at {i}")
    return ctx.data[:i] + junk + ctx.data[i:]


def op_chunk(ctx: _Ctx) -> bytes:
    if len(ctx.data) < 2:
        return ctx.data + ctx.data
    i = _pos(ctx)
    n = ctx.rng.randint(1, min(64, len(ctx.data) - i))
    if ctx.rng.random() < 0.5:
        ctx.notes.append(f"delete {n} at {i}")
        return ctx.data[:i] + ctx.data[i + n :]
    ctx.notes.append(f"duplicate {n} at {i}")
    return ctx.data[: i + n] + ctx.data[i : i + n] + ctx.data[i + n :]


def op_number(ctx: _Ctx) -> bytes:
    found = list(_NUMBER.finditer(ctx.data))
    if not found:
        return op_bitflip(ctx)
    m = ctx.rng.choice(found)
    new = ctx.rng.choice(NUMBERS)
    ctx.notes.append(f"{m.group()[:20]!r} -> {new[:20]!r} at {m.start()}")
    return ctx.data[: m.start()] + new + ctx.data[m.end() :]


def op_deep_nest(ctx: _Ctx) -> bytes:
    depth = ctx.rng.choice((300, 5_000, 100_000))
    if ctx.kind == "yaml" and ctx.rng.random() < 0.5:
        nest = b"{a: " * depth + b"1" + b"}" * depth
    elif ctx.rng.random() < 0.5:
        nest = b'{"a": ' * depth + b"1" + b"}" * depth
    else:
        nest = b"[" * depth + b"]" * depth
    ctx.notes.append(f"depth {depth}")
    found = list(_NUMBER.finditer(ctx.data))
    if found and ctx.rng.random() < 0.7:
        m = ctx.rng.choice(found)
        return ctx.data[: m.start()] + nest + ctx.data[m.end() :]
    if ctx.kind in ("jsonl", "table", "mlflow-metric"):
        i = _pos(ctx, end=True)
        i = ctx.data.rfind(b"\n", 0, i) + 1
        return ctx.data[:i] + nest + b"\n" + ctx.data[i:]
    return nest


def yaml_bomb(levels: int = 9, width: int = 9) -> bytes:
    lines = [b'a0: &a0 ["lol"]']
    for i in range(1, levels + 1):
        refs = b", ".join([b"*a%d" % (i - 1)] * width)
        lines.append(b"a%d: &a%d [%s]" % (i, i, refs))
    return b"\n".join(lines) + b"\n"


def op_yaml_bomb(ctx: _Ctx) -> bytes:
    levels = ctx.rng.choice((6, 9, 12))
    ctx.notes.append(f"{levels} levels of 9")
    bomb = yaml_bomb(levels)
    if ctx.kind == "yaml" and ctx.rng.random() < 0.5 and b"\n" in ctx.data:
        # the bomb as a value inside the real document: the rest of it still parses
        top = ctx.data.rstrip(b"\n").split(b"\n")
        body = [b"  " + line for line in bomb.rstrip(b"\n").split(b"\n")]
        return b"\n".join(top + [b"fuzz_bomb:"] + body + [b"fuzz_use: *a%d" % levels]) + b"\n"
    return bomb + b"top: *a%d\n" % levels


def op_long_value(ctx: _Ctx) -> bytes:
    size = ctx.rng.choice((70_000, 1_000_000))
    ctx.notes.append(f"{size:,} bytes")
    found = [m for m in re.finditer(rb'"([^"\\\n]{1,200})"', ctx.data)] if ctx.kind in ("json", "jsonl") else []
    if found:
        m = ctx.rng.choice(found)
        return ctx.data[: m.start(1)] + b"x" * size + ctx.data[m.end(1) :]
    if ctx.kind in ("text", "yaml") and b"\n" not in ctx.data.strip():
        return b"y" * size  # a single value (an MLflow param or tag file)
    i = _pos(ctx, end=True)
    return ctx.data[:i] + b"z" * size + ctx.data[i:]


def op_inflate(ctx: _Ctx) -> bytes:
    # A history file of some 200,000 lines (about 8 MB): memory must follow what a page shows.
    lines = ctx.data.rstrip(b"\n").split(b"\n")
    body = lines[-1] if len(lines) > 1 else (lines[0] or b"0 0.5 0")
    n = max(1, min(200_000, 8_000_000 // (len(body) + 1)))
    ctx.notes.append(f"last line repeated {n:,} times")
    return ctx.data.rstrip(b"\n") + b"\n" + (body + b"\n") * n


def op_surrogate(ctx: _Ctx) -> bytes:
    # A lone surrogate reaches Python through an escape: JSON "\ud800", YAML "\ud800".
    esc = ctx.rng.choice((b"\\ud800", b"\\udfff", b"\\udc80x", b"\\u0000", b"\\u001b"))
    found = list(re.finditer(rb'"([^"\\\n]{1,200})"', ctx.data))
    if found:
        m = ctx.rng.choice(found)
        ctx.notes.append(f"{esc!r} in string at {m.start(1)}")
        return ctx.data[: m.start(1)] + esc + ctx.data[m.start(1) :]
    if ctx.kind == "yaml":
        found = list(re.finditer(rb"^(\s*[\w.\-/]+:) (\S[^\n]*)$", ctx.data, re.M))
        if found:
            m = ctx.rng.choice(found)
            ctx.notes.append(f"{esc!r} in value at {m.start(2)}")
            return ctx.data[: m.start(2)] + b'"' + esc + b'"' + ctx.data[m.end(2) :]
    return op_invalid_utf8(ctx)


# ---------------------------------------------------------------------------------------------
# structure-aware operators (JSON and YAML documents)

SWAPS: tuple[object, ...] = (
    None,
    True,
    0,
    -1,
    1.5,
    "",
    "text",
    [],
    {},
    [1, "two", None],
    {"k": {"k": [1]}},
    2**64,
    -(2**63) - 1,
    10**400,
    float("inf"),
    float("nan"),
    "9" * 5000,
    "\x00nul",
    "2026-13-45T99:99:99",
)


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    stack = [(value, prefix)]
    while stack and len(out) < 5000:
        item, path = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                out.append((*path, k))
                stack.append((v, (*path, k)))
        elif isinstance(item, list):
            for i, v in enumerate(item[:200]):
                out.append((*path, i))
                stack.append((v, (*path, i)))
    return out


def _set(doc: object, path: tuple[object, ...], value: object, rename: bool = False) -> object:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]  # type: ignore[index]
    last = path[-1]
    if rename and isinstance(parent, dict):
        parent[f"{last}_renamed"] = parent.pop(last)
    else:
        parent[last] = value  # type: ignore[index]
    return doc


def _dump(kind: str, doc: object) -> bytes:
    if kind == "json":
        return json.dumps(doc, allow_nan=True).encode()
    return yaml.dump(doc, Dumper=_YAML_DUMPER, allow_unicode=True, sort_keys=False).encode()


def op_type_swap(ctx: _Ctx) -> bytes:
    try:
        text = ctx.data.decode("utf-8")
        doc: object = json.loads(text) if ctx.kind == "json" else yaml.load(text, Loader=_YAML_LOADER)
    except (ValueError, yaml.YAMLError, RecursionError):
        return op_bitflip(ctx)
    paths = _paths(doc)
    path = ctx.rng.choice(paths[1:] if len(paths) > 1 else paths)
    rename = bool(path) and ctx.rng.random() < 0.2
    value = ctx.rng.choice(SWAPS)
    if ctx.kind != "json" and isinstance(value, float) and math.isnan(value):
        value = ".nan-as-text"
    ctx.notes.append(f"{'rename' if rename else 'set'} {'/'.join(map(str, path))[:80]} {repr(value)[:30]}")
    try:
        return _dump(ctx.kind, _set(doc, path, value, rename))
    except (TypeError, ValueError, yaml.YAMLError):
        return op_bitflip(ctx)


# ---------------------------------------------------------------------------------------------
# record logs: TFRecord (tfevents) and the W&B LevelDB-style log


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def masked_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _tf_frames(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each whole TFRecord frame."""
    frames, pos = [], 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        if pos + 16 + length > len(data):
            break
        frames.append((pos, length))
        pos += 16 + length
    return frames


def _tf_frame(payload: bytes, length: int | None = None) -> bytes:
    header = struct.pack("<Q", len(payload) if length is None else length)
    return header + struct.pack("<I", masked_crc32c(header)) + payload + struct.pack("<I", masked_crc32c(payload))


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def op_tfevents(ctx: _Ctx) -> bytes:
    frames = _tf_frames(ctx.data)
    if not frames:
        return op_bitflip(ctx)
    off, length = ctx.rng.choice(frames)
    payload = ctx.data[off + 12 : off + 12 + length]
    rest_before, rest_after = ctx.data[:off], ctx.data[off + 16 + length :]
    what = ctx.rng.choice(("length-crc", "data-crc", "length", "payload", "payload", "event-fields"))
    ctx.notes.append(f"{what} of frame at {off}")
    if what == "length-crc":
        data = bytearray(ctx.data)
        data[off + 8 + ctx.rng.randrange(4)] ^= 1 << ctx.rng.randrange(8)
        return bytes(data)
    if what == "data-crc":
        data = bytearray(ctx.data)
        data[off + 12 + length + ctx.rng.randrange(4)] ^= 1 << ctx.rng.randrange(8)
        return bytes(data)
    if what == "length":  # a consistent header (its CRC fixed) announcing the wrong size
        new_len = ctx.rng.choice((0, length - 1, length + 1, 2**31, 2**32 + length, 2**63 - 1, 2**64 - 1))
        new_len = max(0, new_len)
        header = struct.pack("<Q", new_len)
        return rest_before + header + struct.pack("<I", masked_crc32c(header)) + ctx.data[off + 12 :]
    if what == "payload":  # garbage with valid CRCs: the protobuf decoder must cope
        sub = _Ctx(ctx.rng, ctx.rel, payload, "binary")
        new = ctx.rng.choice((op_bitflip, op_byte_set, op_truncate, op_chunk, op_invalid_utf8))(sub)
        ctx.notes.extend(sub.notes)
        return rest_before + _tf_frame(new) + rest_after
    # Event fields: wall_time (1, double) and step (2, varint) set to hostile values
    wall = struct.pack("<d", ctx.rng.choice((math.inf, -math.inf, math.nan, 1e300, -1e300, 0.0, 9.3e18)))
    step = _varint(ctx.rng.choice((2**63, 2**64 - 1, -1, 2**62)))
    return rest_before + _tf_frame(b"\x09" + wall + b"\x10" + step + payload) + rest_after


def _wandb_chunks(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, length, kind) of each chunk of a W&B log (7-byte file header, 32 KiB blocks)."""
    chunks, pos = [], 7
    while pos + 7 <= len(data):
        left = 32768 - pos % 32768
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack_from("<IHB", data, pos)
        if length == 0 and kind == 0:
            pos += left
            continue
        if pos + 7 + length > len(data):
            break
        chunks.append((pos, length, kind))
        pos += 7 + length
    return chunks


def _wandb_chunk(payload: bytes, kind: int) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(bytes([kind])))
    return struct.pack("<IHB", crc, len(payload), kind) + payload


def op_wandb(ctx: _Ctx) -> bytes:
    chunks = _wandb_chunks(ctx.data)
    if not chunks:
        return op_bitflip(ctx)
    off, length, kind = ctx.rng.choice(chunks)
    payload = ctx.data[off + 7 : off + 7 + length]
    before, after = ctx.data[:off], ctx.data[off + 7 + length :]
    what = ctx.rng.choice(("crc", "length", "kind", "payload", "payload", "header"))
    ctx.notes.append(f"{what} of chunk at {off}")
    if what == "crc":
        data = bytearray(ctx.data)
        data[off + ctx.rng.randrange(4)] ^= 1 << ctx.rng.randrange(8)
        return bytes(data)
    if what == "length":
        new_len = ctx.rng.choice((0, max(0, length - 1), length + 1, 0xFFFF, 32760))
        return before + ctx.data[off : off + 4] + struct.pack("<H", new_len) + ctx.data[off + 6 :]
    if what == "kind":
        new_kind = ctx.rng.choice((0, 2, 3, 4, 5, 255))
        return before + _wandb_chunk(payload, new_kind) + after  # a valid CRC for the wrong kind
    if what == "header":
        data = bytearray(ctx.data)
        data[ctx.rng.randrange(7)] ^= 1 << ctx.rng.randrange(8)
        return bytes(data)
    # The payload changed with its CRC fixed. Its length changes too, which moves the
    # following chunks off the 32 KiB grid: only the first block's tail is affected here.
    sub = _Ctx(ctx.rng, ctx.rel, payload, "binary")
    new = ctx.rng.choice((op_bitflip, op_byte_set, op_invalid_utf8, op_bitflip))(sub)
    if off // 32768 != (off + 7 + len(new)) // 32768 or len(new) > 0xFFFF:
        new = op_bitflip(_Ctx(ctx.rng, ctx.rel, payload, "binary"))
    ctx.notes.extend(sub.notes)
    return before + _wandb_chunk(new, kind) + after


# ---------------------------------------------------------------------------------------------
# SQLite: pages (bytes) and cells, columns and tables (SQL)


def op_sqlite_page(ctx: _Ctx) -> bytes:
    data = bytearray(ctx.data)
    page = _page_size(ctx.data)
    pages = len(data) // page
    what = ctx.rng.choice(("garbage", "garbage", "zero", "header", "cell-pointer", "truncate"))
    if what == "header":
        field_at = ctx.rng.choice((16, 18, 19, 20, 21, 28, 32, 36, 40, 44, 48, 52, 56, 60, 92, 96))
        data[field_at] ^= 1 << ctx.rng.randrange(8)
        if field_at == 56:  # the text encoding: 1 UTF-8, 2 UTF-16le, 3 UTF-16be
            data[56:60] = struct.pack(">I", ctx.rng.choice((2, 3, 7)))
        ctx.notes.append(f"header byte {field_at}")
        return bytes(data)
    n = ctx.rng.randrange(1, pages) if pages > 1 else 0
    start = n * page
    ctx.notes.append(f"{what} page {n + 1} of {pages}")
    if what == "truncate":
        return bytes(data[: start + ctx.rng.randrange(page)])
    if what == "zero":
        data[start : start + page] = bytes(page)
    elif what == "cell-pointer":  # the b-tree page header and its first cell pointers
        for _ in range(ctx.rng.randint(1, 4)):
            data[start + ctx.rng.randrange(16)] = ctx.rng.randrange(256)
    else:
        for _ in range(ctx.rng.randint(1, 32)):
            data[start + ctx.rng.randrange(page)] = ctx.rng.randrange(256)
    return bytes(data)


CELLS = (
    "'text'",
    "''",
    "NULL",
    "x'ff00fe'",
    "CAST(x'ff' AS TEXT)",
    "CAST(x'eda080' AS TEXT)",
    "CAST(x'c3' AS TEXT)",
    "'a' || char(0) || 'b'",
    "char(27) || '[31m'",
    "9223372036854775807",
    "-9223372036854775808",
    "1e308 * 10",
    "-1e308 * 10",
    "1e300",
    "-1",
    "0.5",
    "'9' || printf('%.4000c', '9')",
    "'NaN'",
    "'not a number'",
    "zeroblob(10)",
)


def sqlite_tables(path: str) -> list[tuple[str, list[str], int]]:
    """(table, columns, rows) of every non-empty table, sorted by name."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out = []
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for name in names:
            rows = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            if rows:
                cols = [r[1] for r in con.execute(f'PRAGMA table_info("{name}")')]
                out.append((name, cols, rows))
        return out
    finally:
        con.close()


def _sql(data: bytes, statements: list[str]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="mlreport-fuzz-sql-") as tmp:
        path = os.path.join(tmp, "db")
        Path(path).write_bytes(data)
        con = sqlite3.connect(path, isolation_level=None)
        try:
            con.execute("PRAGMA foreign_keys=OFF")
            con.execute("PRAGMA legacy_alter_table=ON")  # a rename does not rewrite views/triggers
            con.execute("PRAGMA ignore_check_constraints=ON")  # a bad value is the point
            for statement in statements:
                con.execute(statement)
        finally:
            con.close()
        return Path(path).read_bytes()


def sqlite_case(rng: random.Random, data: bytes) -> tuple[str, bytes, bytes]:
    """(detail, mutated, reference) for a cell, column or table mutation through SQL."""
    with tempfile.TemporaryDirectory(prefix="mlreport-fuzz-sql-") as tmp:
        path = os.path.join(tmp, "db")
        Path(path).write_bytes(data)
        tables = sqlite_tables(path)
    table, cols, rows = rng.choice(tables)
    what = rng.choice(("cell", "cell", "cell", "cell", "rename-column", "drop-table"))
    if what == "cell":
        col = rng.choice(cols)
        row = rng.randrange(rows)
        value = rng.choice(CELLS)
        rowid = f'(SELECT rowid FROM "{table}" LIMIT 1 OFFSET {row})'
        try:
            mutated = _sql(data, [f'UPDATE "{table}" SET "{col}" = {value} WHERE rowid = {rowid}'])
        except sqlite3.Error:  # NOT NULL or UNIQUE: a text value in its place instead
            value = "'text' || rowid"
            try:
                mutated = _sql(data, [f'UPDATE "{table}" SET "{col}" = {value} WHERE rowid = {rowid}'])
            except sqlite3.Error:
                value = "unchanged (constraint)"
                mutated = data
        reference = _sql(data, [f'DELETE FROM "{table}" WHERE rowid = {rowid}'])
        return f"{table}.{col} row {row} = {value}", mutated, reference
    reference = _sql(data, [f'DELETE FROM "{table}"'])
    if what == "rename-column":
        col = rng.choice(cols)
        try:
            mutated = _sql(data, [f'ALTER TABLE "{table}" RENAME COLUMN "{col}" TO "{col}_renamed"'])
        except sqlite3.Error:
            mutated = _sql(data, [f'DROP TABLE "{table}"'])
            return f"drop {table} (rename of {col} refused)", mutated, reference
        return f"rename {table}.{col}", mutated, reference
    return f"drop {table}", _sql(data, [f'DROP TABLE "{table}"']), reference


# ---------------------------------------------------------------------------------------------
# choosing a case

Op = Callable[[_Ctx], bytes]
GENERIC: tuple[tuple[str, Op, float], ...] = (
    ("bitflip", op_bitflip, 3),
    ("byte-set", op_byte_set, 2),
    ("truncate", op_truncate, 2),
    ("empty", op_empty, 0.5),
    ("invalid-utf8", op_invalid_utf8, 2),
    ("control-char", op_control, 1.5),
    ("chunk", op_chunk, 1),
    ("number", op_number, 3),
    ("deep-nest", op_deep_nest, 1),
    ("long-value", op_long_value, 0.3),
)
TEXT_ONLY: tuple[tuple[str, Op, float], ...] = (("surrogate", op_surrogate, 1.5),)
STRUCTURED: tuple[tuple[str, Op, float], ...] = (("type-swap", op_type_swap, 4),)
YAML_ONLY: tuple[tuple[str, Op, float], ...] = (("yaml-bomb", op_yaml_bomb, 1),)
#: Special files in a store: a symlink to a file outside it, a FIFO, a folder for a file.
SPECIALS = (("symlink-out", 0.02), ("fifo", 0.01), ("dir", 0.01))


def _weighted(rng: random.Random, items: list[tuple[str, Op, float]]) -> tuple[str, Op]:
    total = sum(w for _, _, w in items)
    x = rng.random() * total
    for name, fn, w in items:
        x -= w
        if x < 0:
            return name, fn
    return items[-1][0], items[-1][1]


def plan_case(corpus: tuple[Store, ...], seed: int, index: int, specials: bool = True) -> Case:
    """Case ``index`` of run ``seed``: a function of those two numbers and the fixture bytes."""
    rng = random.Random(f"mlreport-fuzz:{seed}:{index}")
    formats = sorted({s.format for s in corpus})
    fmt = rng.choice(formats)
    store = rng.choice([s for s in corpus if s.format == fmt])
    rel = rng.choices(store.files, weights=store.weights)[0]
    # Operators and choices added later draw from their own generator, so the cases that
    # existed keep their numbers (FUZZ_FINDINGS.md cites them).
    later = random.Random(f"mlreport-fuzz-later:{seed}:{index}")
    databases = [f for f in store.files if f.endswith(".db")]
    if databases and later.random() < 0.4:  # a SQLite store is mostly its database
        rel = later.choice(databases)
        rng = later
    data = (store.path / rel).read_bytes()
    kind = file_kind(rel, data)
    mode = reference_mode(kind)
    x = rng.random()
    if specials:
        for special, p in SPECIALS:
            if x < p:
                return Case(index, store, rel, special, "", Edit(rel, special=special), Edit(rel), "delete")
            x -= p
    if kind == "sqlite" and rng.random() < 0.5:
        detail, mutated, ref = sqlite_case(rng, data)
        return Case(index, store, rel, "sqlite-sql", detail, Edit(rel, mutated), Edit(rel, ref), "rows")
    ops = list(GENERIC)
    if kind in ("json", "yaml", "jsonl", "text", "table", "mlflow-metric"):
        ops += TEXT_ONLY
    if kind in ("json", "yaml"):
        ops += STRUCTURED
    if kind in ("yaml", "text"):
        ops += YAML_ONLY
    if kind == "tfevents":
        ops = [("tfevents", op_tfevents, 8.0), *ops]
    elif kind == "wandb":
        ops = [("wandb-log", op_wandb, 8.0), *ops]
    elif kind == "sqlite":
        ops = [("sqlite-page", op_sqlite_page, 10.0), ("bitflip", op_bitflip, 1), ("truncate", op_truncate, 1)]
    name, fn = _weighted(rng, ops)
    if kind in ("jsonl", "table", "mlflow-metric") and later.random() < 0.02:
        name, fn = "inflate", op_inflate
    ctx = _Ctx(rng, rel, data, kind)
    mutated = fn(ctx)
    ref = reference_for(mode, kind, data, mutated)
    return Case(index, store, rel, name, "; ".join(ctx.notes)[:200], Edit(rel, mutated), Edit(rel, ref), mode)


# ---------------------------------------------------------------------------------------------
# applying an edit to a working copy


def apply_edit(root: Path, edit: Edit, outside: Path) -> None:
    """Apply ``edit`` under ``root``; ``outside`` is a folder beside the store (symlink target)."""
    target = root / edit.rel
    if target.is_symlink() or target.is_file() or _is_fifo(target):
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    if edit.special == "symlink-out":
        outside.mkdir(parents=True, exist_ok=True)
        secret = outside / "outside-the-store"
        secret.write_bytes(SECRET + b"\n")
        target.symlink_to(secret)
    elif edit.special == "fifo":
        os.mkfifo(target)
    elif edit.special == "dir":
        target.mkdir()
    elif edit.data is not None:
        target.write_bytes(edit.data)


def restore(root: Path, rel: str, original: bytes) -> None:
    target = root / rel
    if target.is_symlink() or target.is_file() or _is_fifo(target):
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(original)


def _is_fifo(path: Path) -> bool:
    import stat

    try:
        return stat.S_ISFIFO(os.lstat(path).st_mode)
    except OSError:
        return False
