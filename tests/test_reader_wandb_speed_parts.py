"""The W&B reader's fast item decoding, part by part (issue 12): a history row reuses the
decoding of the summary update written just before it, and values are scanned in one Latin-1
text of the record. Each part must give what the general decoder gives."""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

import pytest

from mlreport.model import Problem, Run
from mlreport.readers import ReadOptions
from mlreport.readers import wandb as wb
from mlreport.stores import open_store

# the LevelDB log's protobuf framing, as test_reader_wandb writes it
from .test_reader_wandb import _ld, _varint


def _item(key: bytes, value: bytes) -> bytes:
    """An update/history item as wandb-core writes it: nested_key once, then value_json."""
    return _ld(1, _ld(2, key) + _ld(16, value))


def _step(n: int) -> bytes:
    return _ld(2, b"\x08" + _varint(n))  # HistoryRecord.step {num}


def _general(body: bytes) -> tuple[dict[str, object], int | None]:
    return wb._slow_history(body)


def _fast_row(body: bytes) -> tuple[dict[str, object], int | None]:
    fast = wb._fast_items(body, history=True)
    assert fast is not None, body
    return dict(zip(fast[0], fast[1], strict=True)), fast[2]


UPDATE = b"".join(
    _item(k, v)
    for k, v in (
        (b"_timestamp", b"1795500000.25"),
        (b"_step", b"3"),
        (b"loss", b"0.125"),
        (b"acc", b"NaN"),
        (b"note", b'"ok"'),
    )
)


@pytest.fixture(autouse=True)
def _fresh() -> None:
    wb._LastUpdate.reset()
    wb._Notes.reset()


def test_a_row_after_its_update_reuses_the_update_decoding() -> None:
    update = wb._fast_items(UPDATE, history=False)
    assert update is not None
    row = UPDATE + _step(3)
    fast = wb._fast_items(row, history=True)
    assert fast is not None
    assert (dict(zip(fast[0], fast[1], strict=True)), fast[2]) == _general(row)
    # the very values of the update: not scanned again
    assert fast[1][0] is update[1][0] and fast[1][2] is update[1][2]
    assert fast[1] is not update[1]  # a copy: the row's lists are its own

    wb._LastUpdate.reset()
    again = wb._fast_items(row, history=True)
    assert again is not None and again[1][0] == update[1][0] and again[1][0] is not update[1][0]


@pytest.mark.parametrize(
    "row",
    [
        UPDATE + _item(b"lr", b"0.001") + _step(3),  # more items after the update's
        UPDATE[:-4] + b'"no"' + _step(3),  # the last value differs: no prefix
        _item(b"loss", b"0.5") + UPDATE + _step(3),  # the update's bytes, not at the start
        UPDATE,  # no step
    ],
)
def test_a_row_that_only_looks_like_its_update_decodes_as_the_general_decoder(row: bytes) -> None:
    assert wb._fast_items(UPDATE, history=False) is not None
    assert _fast_row(row) == _general(row)


def test_a_row_whose_rest_is_not_for_the_fast_path_takes_the_general_decoder() -> None:
    assert wb._fast_items(UPDATE, history=False) is not None
    for rest in (_item(b"a", b"[1]"), _item(b"a", b" 1"), _ld(3, b"x")):
        assert wb._fast_items(UPDATE + rest, history=True) is None, rest


def test_an_update_that_noted_a_repair_is_not_reused() -> None:
    # a key that is not UTF-8: each record that has it notes it, as without the reuse
    update = _item(b"lo\xffss", b"1.5")
    assert wb._fast_items(update, history=False) == (["lo\ufffdss"], [1.5], None)
    assert wb._Notes.bad_utf8 == 1
    assert _fast_row(update + _step(1)) == ({"lo\ufffdss": 1.5}, 1)
    assert wb._Notes.bad_utf8 == 2


@pytest.mark.parametrize(
    "value, expected",
    [
        ('"caf\u00e9"'.encode(), "caf\u00e9"),  # UTF-8 past ASCII: decoded again as UTF-8
        ('"\u65e5\u672c"'.encode(), "\u65e5\u672c"),
        (b'"caf\\u00e9"', "caf\u00e9"),  # an escape
        (b'"plain"', "plain"),
        (b"-1.5e-3", -1.5e-3),
        (b"12", 12),
        (b"true", True),
        (b"null", None),
        (b"-Infinity", -math.inf),
    ],
)
def test_values_scanned_in_the_latin1_text_are_the_general_decoders(value: bytes, expected: object) -> None:
    for row in (_item(b"v", value) + _item(b"w", b"2"), _item(b"w", b"2") + _item(b"v", value) + _step(7)):
        fast, _ = _fast_row(row)
        assert (fast, _) == _general(row)
        assert fast["v"] == expected and type(fast["v"]) is type(expected)


@pytest.mark.parametrize(
    "value",
    [
        b'"caf\xe9"',  # Latin-1, not UTF-8
        b'"ab',  # unterminated: the scan would run into the next item
        b"1.",  # not a number
        b"1e",
        b"nul",
        b"",  # empty
    ],
)
def test_values_the_latin1_scan_cannot_vouch_for_are_declined(value: bytes) -> None:
    row = _item(b"v", value) + _item(b"w", b'"x"')
    assert wb._fast_items(row, history=True) is None, value
    assert wb._fast_items(_item(b"w", b"2") + _item(b"v", value), history=False) is None, value


def _log(records: list[bytes]) -> bytes:
    out = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))
    for record in records:
        assert len(out) % 32768 + 7 + len(record) <= 32768
        out += struct.pack("<IHB", zlib.crc32(record, zlib.crc32(bytes([1]))), len(record), 1)
        out += record
    return bytes(out)


def _write(tmp_path: Path, records: list[bytes]) -> None:
    log = tmp_path / "wandb" / "offline-run-20261201_120000-speed001" / "run-speed001.wandb"
    log.parent.mkdir(parents=True)
    log.write_bytes(_log([_ld(17, _ld(1, b"speed001") + _ld(3, b"p")), *records]))


def _read(tmp_path: Path) -> list[object]:
    return list(wb.WandbReader().read(open_store(str(tmp_path)), "wandb", ReadOptions()))


def test_repairs_are_counted_per_record_with_the_reuse(tmp_path: Path) -> None:
    records = []
    for step in range(3):
        items = _item(b"_step", str(step).encode()) + _item(b"lo\xffss", f"{step}.5".encode())
        records += [_ld(3, items), _ld(2, items + _step(step))]
    _write(tmp_path, records)
    out = _read(tmp_path)
    (run,) = [r for r in out if isinstance(r, Run)]
    metric = run.metric("lo\ufffdss")
    assert metric is not None and metric.history is not None
    assert list(metric.history.values) == [0.5, 1.5, 2.5]
    assert [p.reason for p in out if isinstance(p, Problem)] == [
        "6 texts not valid UTF-8, decoded with replacement characters"
    ]


def test_each_file_starts_with_no_update(tmp_path: Path) -> None:
    _write(tmp_path, [_ld(2, UPDATE + _step(3))])  # a row, no update before it
    assert wb._fast_items(UPDATE, history=False) is not None
    (run,) = [r for r in _read(tmp_path) if isinstance(r, Run)]
    assert wb._LastUpdate.body == b""
    assert run.metric("loss").final == 0.125  # type: ignore[union-attr]
