"""A minimal protobuf wire-format decoder: enough to read W&B and TensorBoard records by field
number without the vendor's generated classes (DESIGN.md decision 6).

``fields(data)`` yields ``(field_number, wire_type, value)``: varints as ``int``, 64-bit and
32-bit fixed values as raw ``bytes`` (the caller knows whether it is a double, a float or an int),
length-delimited values as ``bytes`` (a string, bytes, a sub-message or a packed array).
Malformed input raises :class:`ProtobufError`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    pass


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    pos = 0
    end = len(data)
    while pos < end:
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        value: int | bytes
        if wire == VARINT:
            value, pos = read_varint(data, pos)
        elif wire == FIXED64:
            if pos + 8 > end:
                raise ProtobufError("truncated fixed64")
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == LENGTH:
            size, pos = read_varint(data, pos)
            if pos + size > end:
                raise ProtobufError("truncated length-delimited field")
            value, pos = data[pos : pos + size], pos + size
        elif wire == FIXED32:
            if pos + 4 > end:
                raise ProtobufError("truncated fixed32")
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        yield number, wire, value


def as_double(raw: bytes) -> float:
    return float(struct.unpack("<d", raw)[0])


def as_float(raw: bytes) -> float:
    return float(struct.unpack("<f", raw)[0])


def as_signed64(value: int) -> int:
    """A varint-encoded int64 that may be negative (two's complement in 64 bits)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def packed_doubles(raw: bytes) -> list[float]:
    return [float(v) for v in struct.unpack(f"<{len(raw) // 8}d", raw[: len(raw) // 8 * 8])]


def packed_floats(raw: bytes) -> list[float]:
    return [float(v) for v in struct.unpack(f"<{len(raw) // 4}f", raw[: len(raw) // 4 * 4])]


def packed_varints(raw: bytes) -> list[int]:
    out = []
    pos = 0
    while pos < len(raw):
        value, pos = read_varint(raw, pos)
        out.append(value)
    return out
