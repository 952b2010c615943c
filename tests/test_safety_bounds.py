"""Line, record and document bounds below max_file_size (readers/_bounded.py, issue 11).

For each kind of file, a line, record or document past its bound is put into a real fixture
store (made here, not committed). The crawl refuses it as one Problem naming the file and the
line or byte offset, and every record of the pristine store is still read (what was inserted
held nothing the pristine store has). The bounds are set small through the config so the files
stay small; one test uses the default bound.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from mlreport import catalog
from mlreport.config import Config, SourceConfig
from mlreport.readers import _bounded
from mlreport.readers.tensorboard import iter_frames, masked_crc32c
from mlreport.readers.wandb import BLOCK_SIZE, CHUNK_HEADER, FIRST, FULL, HEADER_SIZE, LAST, MIDDLE, scan_log

from .conftest import DATA
from .fuzz import harness

KB = 1024


def _crawl(root: Path, **bounds: int) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    cat = catalog.read_catalog(Config(sources=(SourceConfig(str(root)),), include_deleted=True, **bounds))
    problems = [(p.origin.path or "", p.reason) for p in cat.problems]
    return catalog.to_jsonable(cat), problems


def _copy(tmp_path: Path, store: str) -> Path:
    root = tmp_path / "store"
    shutil.copytree(DATA / store, root, symlinks=True)
    return root


def _insert_line(path: Path, after: int, line: bytes) -> None:
    lines = path.read_bytes().split(b"\n")
    lines.insert(after, line)
    path.write_bytes(b"\n".join(lines))


def _check(root: Path, pristine: Path, file: str, where: str, key: str, **bounds: int) -> None:
    ref, _ = _crawl(pristine, **bounds)
    doc, problems = _crawl(root, **bounds)
    mine = [reason for path, reason in problems if path.endswith(file) and key in reason]
    assert len(mine) == 1, problems
    assert where in mine[0], mine[0]
    assert not harness.lost(harness.records(ref), harness.records(doc))


# (store, file, line index to insert after, the long line)
LINES = [
    pytest.param(
        "mlflow/v3_file/mlruns",
        "716778322394665320/95134758cdb849a6bde5e7dd86a16770/metrics/loss",
        1,
        b"1 2 3 " * 4000,
        id="mlflow-metric",
    ),
    pytest.param(
        "wandb/legacy_flat",
        "wandb/run-20191230_133106-flat0001/wandb-history.jsonl",
        1,
        b'{"_step": 99, "x": "' + b"y" * 20 * KB + b'"}',
        id="wandb-jsonl",
    ),
    pytest.param("dvc/nested", "dvclive/plots/metrics/train/loss.tsv", 2, b"\t".join([b"7"] * 10 * KB), id="dvc-tsv"),
    pytest.param("manifest/wide_csv", "history.csv", 2, b",".join([b"7"] * 10 * KB), id="manifest-csv"),
    pytest.param(
        "manifest/jsonl_history",
        "logs/metrics.jsonl",
        1,
        b'{"step": 1, "v": [' + b"1," * 8 * KB + b"1]}",
        id="manifest-jsonl",
    ),
    pytest.param(
        "clearml/offline",
        "offline-4e8eef900fbb45a3b037af3463e3281d/metrics.jsonl",
        1,
        b'{"metric": "' + b"z" * 20 * KB + b'"}',
        id="clearml-jsonl",
    ),
]


@pytest.mark.parametrize(("store", "file", "after", "line"), LINES)
def test_a_line_past_the_bound_is_one_problem_and_the_rest_is_read(
    tmp_path: Path, store: str, file: str, after: int, line: bytes
) -> None:
    root = _copy(tmp_path, store)
    _insert_line(root / file, after, line)
    _check(root, DATA / store, file, f"line {after + 1} is", "max_line_size", max_line_size=16 * KB)


def test_a_streamed_metric_file_skips_a_long_line_in_fixed_memory(tmp_path: Path) -> None:
    # over 8 MiB: read in chunks; the long line (3 MiB, past 1 MiB) spans chunks and is never held
    store = "mlflow/v3_file/mlruns"
    root = _copy(tmp_path, store)
    metric = root / "716778322394665320/95134758cdb849a6bde5e7dd86a16770/metrics/loss"
    good = b"".join(b"1795500000%03d %d.5 %d\n" % (i % 1000, i, i) for i in range(400_000))
    metric.write_bytes(good + b"9" * (3 << 20) + b" 1 1\n" + b"1795500000000 0.25 400001\n")
    doc, problems = _crawl(root, max_line_size=1 << 20)
    mine = [r for p, r in problems if p.endswith("metrics/loss") and "max_line_size" in r]
    assert mine == ["line 400001 is 3 MiB, longer than the 1 MiB limit (max_line_size in mlreport.yml); skipped"]
    run = next(r for r in doc["runs"] if r["key"].endswith("95134758cdb849a6bde5e7dd86a16770"))
    loss = next(m for m in run["metrics"] if m["key"] == "loss")
    assert loss["count"] == 400_001  # every line but the long one, the one after it included
    assert (loss["final"], loss["final_step"]) == (0.25, 400_001)


def test_the_default_line_bound(tmp_path: Path) -> None:
    store = "dvc/nested"
    root = _copy(tmp_path, store)
    file = "dvclive/plots/metrics/train/loss.tsv"
    _insert_line(root / file, 2, b"1\t" * (5 << 20))  # 10 MiB, past the 8 MiB default
    _check(root, DATA / store, file, "line 3 is 10 MiB, longer than the 8 MiB limit", "max_line_size")


# ---------------------------------------------------------------------------------------------
# records


def _wandb_log(records: list[bytes]) -> bytes:
    """A LevelDB-log ``.wandb`` file of ``records`` (the W&B header, then chunks in 32 KiB blocks)."""
    out = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))
    for rec in records:
        first = True
        while True:
            left = BLOCK_SIZE - len(out) % BLOCK_SIZE
            if left < CHUNK_HEADER:
                out += b"\0" * left
                continue
            piece, rec = rec[: left - CHUNK_HEADER], rec[left - CHUNK_HEADER :]
            kind = (FULL if not rec else FIRST) if first else (LAST if not rec else MIDDLE)
            crc = zlib.crc32(piece, zlib.crc32(bytes([kind])))
            out += struct.pack("<IHB", crc, len(piece), kind) + piece
            first = False
            if not rec:
                break
    return bytes(out)


def test_a_wandb_record_past_the_bound_is_one_problem_and_the_rest_is_read(tmp_path: Path) -> None:
    store = "wandb/record/media"
    root = _copy(tmp_path, store)
    (log,) = root.rglob("*.wandb")
    scan = scan_log(log.read_bytes())
    assert not scan.problems and len(scan.records) > 4
    assert HEADER_SIZE == 7
    records = [r for _, r in scan.records]
    records.insert(3, b"\x0a" + b"\xff" * (200 * KB))  # 200 KiB over 7 blocks
    log.write_bytes(_wandb_log(records))
    ours = scan_log(log.read_bytes())  # the writer above writes what the reader reads
    assert [r for _, r in ours.records] == records
    rel = log.relative_to(root).as_posix()
    _check(root, DATA / store, rel, "the record at byte", "max_record_size", max_record_size=64 * KB)


def test_a_tfevents_record_past_the_bound_is_one_problem_and_the_rest_is_read(tmp_path: Path) -> None:
    store = "tensorboard/logdir"
    root = _copy(tmp_path, store)
    event = max(root.rglob("*tfevents*"), key=lambda p: p.stat().st_size)
    data = event.read_bytes()
    frames = [payload for _, payload, _ in iter_frames(data)]
    assert len(frames) > 4
    frames.insert(2, b"\x0a" + b"\xff" * (200 * KB))

    def frame(payload: bytes) -> bytes:
        header = struct.pack("<Q", len(payload))
        return header + struct.pack("<I", masked_crc32c(header)) + payload + struct.pack("<I", masked_crc32c(payload))

    event.write_bytes(b"".join(map(frame, frames)))
    offset = sum(16 + len(f) for f in frames[:2])
    rel = event.relative_to(root).as_posix()
    _check(
        root, DATA / store, rel, f"the record at byte {offset} is 200 KiB", "max_record_size", max_record_size=64 * KB
    )


# ---------------------------------------------------------------------------------------------
# documents


@pytest.mark.parametrize(
    ("store", "file"),
    [
        ("wandb/legacy_flat", "wandb/run-20191230_133106-flat0001/wandb-summary.json"),
        ("dvc/pipeline", "dvc.yaml"),
    ],
)
def test_a_document_past_the_bound_is_refused_unparsed(tmp_path: Path, store: str, file: str) -> None:
    root = _copy(tmp_path, store)
    path = root / file
    path.write_bytes(path.read_bytes() + b" " * (300 * KB))  # the same document, padded
    _doc, problems = _crawl(root, max_document_size=256 * KB)
    mine = [r for p, r in problems if p.endswith(file) and "max_document_size" in r]
    assert len(mine) == 1 and "longer than the 256 KiB limit" in mine[0], problems


def test_split_lines_keeps_numbers_and_says_which() -> None:
    long = _bounded.LongLines(4)
    assert _bounded.split_lines("ab\n12345\nc\n123456", long, "\n") == ["ab", "", "c", ""]
    assert long.found == [(2, 5), (4, 6)]
    assert long.problem() == (
        "2 lines are longer than the 4 bytes limit (max_line_size in mlreport.yml); skipped (the first: line 2, 5 bytes)"
    )
    short = _bounded.LongLines(100)
    assert _bounded.split_lines(b"a\r\nb", short) == [b"a", b"b"] and short.problem() is None
    with _bounded.using_limits(_bounded.Limits(line=3, record=1, document=5)):
        assert _bounded.limits().line == 3
        with pytest.raises(_bounded.BoundedError, match="the JSON document is 6 bytes"):
            _bounded.load_json(b"[1, 2]")
        with pytest.raises(_bounded.BoundedError, match="the YAML document is 6 bytes"):
            _bounded.load_yaml("a: 123")
    assert _bounded.limits() == _bounded.Limits()
