"""The TensorBoard reader on event files written by tensorboardX 2.6.5 and tensorboard 2.21.0."""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import struct
from collections.abc import Mapping
from pathlib import Path

import fsspec
import pytest

from mlreport.model import Artifact, Experiment, Problem, Record, Run, RunStatus
from mlreport.readers import ReadOptions
from mlreport.readers.tensorboard import (
    RecordError,
    TensorboardReader,
    crc32c,
    iter_records,
    masked_crc32c,
)
from mlreport.stores import Store, open_store

from .conftest import DATA, to_memory

TB = DATA / "tensorboard"
READER = TensorboardReader()
T0_MS = 1795500000000


def f32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def read(path: str, store: Store | None = None, **options: object) -> list[Record]:
    store = store or open_store(str(TB))
    return list(READER.read(store, path, ReadOptions(**options)))  # type: ignore[arg-type]


def runs(records: list[Record]) -> dict[str, Run]:
    return {r.id: r for r in records if isinstance(r, Run)}


def problems(records: list[Record]) -> list[tuple[str, str]]:
    return [(r.origin.path, r.reason) for r in records if isinstance(r, Problem)]


def values(run: Run, key: str) -> list[tuple[int, int, float]]:
    m = run.metric(key)
    assert m is not None and m.history is not None, key
    return list(zip(m.history.steps, m.history.timestamps, m.history.values, strict=True))


_ids = itertools.count()


def memory_store(files: Mapping[str, bytes]) -> Store:
    fs = fsspec.filesystem("memory")
    prefix = f"/tb-handmade-{os.getpid()}-{next(_ids)}"
    for rel, content in files.items():
        fs.pipe_file(f"{prefix}/{rel}", content)
    return open_store(f"memory://{prefix}")


def event_file(run: str) -> tuple[str, bytes]:
    """The first event file of a fixture run dir: (name, content)."""
    path = sorted((TB / run).glob("events.out.tfevents.*"))[0]
    return path.name, path.read_bytes()


# --- framing and CRC ---------------------------------------------------------------------------


def test_crc32c_known_values() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert crc32c(b"") == 0
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 B.4 test vector
    _name, data = event_file("logdir/tf2")  # the first frame's header, as the writer masked it
    assert masked_crc32c(data[:8]) == struct.unpack_from("<I", data, 8)[0]
    assert masked_crc32c(data[:8][::-1]) != struct.unpack_from("<I", data, 8)[0]


def test_iter_records_reads_whole_frames_and_stops_at_a_partial_tail() -> None:
    _name, data = event_file("logdir/restarted")
    offsets = [offset for offset, _payload in iter_records(data)]
    assert offsets[0] == 0 and len(offsets) == 4  # file_version + 3 scalars
    assert [o for o, _p in iter_records(data[:-3])] == offsets[:-1]
    assert list(iter_records(b"")) == []


def test_iter_records_raises_at_a_bad_crc() -> None:
    _name, data = event_file("broken/bad_crc")
    with pytest.raises(RecordError) as err:
        list(iter_records(data))
    assert (err.value.offset, err.value.reason) == (122, "bad CRC in record at byte 122")


# --- detection ---------------------------------------------------------------------------------


def test_detects_logdirs_run_dirs_and_single_files() -> None:
    store = open_store(str(TB))
    assert READER.detect(store, "logdir")
    assert READER.detect(store, "logdir/tbx")
    assert READER.detect(store, "broken")
    assert READER.detect(store, "")
    name, _ = event_file("logdir/tf2")
    assert READER.detect(store, f"logdir/tf2/{name}")
    assert not READER.detect(store, "make_fixtures.py")
    assert not READER.detect(store, "missing")
    assert not READER.detect(open_store(str(DATA / "hf")), "full")


def test_detects_event_files_three_levels_down_but_not_four() -> None:
    _name, data = event_file("logdir/restarted")
    store = memory_store({
        "a/b/c/events.out.tfevents.1.h": data, "x/1/2/3/4/events.out.tfevents.1.h": data,
    })
    assert READER.detect(store, "a")
    assert not READER.detect(store, "x")


def test_detection_parents_first_lists_each_folder_once() -> None:
    # discovery asks a folder, then each of its folders: what the parent's detection listed
    # serves the child's (each folder was listed up to four times, issue 12)
    _name, data = event_file("logdir/restarted")
    store = memory_store({"x/1/2/3/4/events.out.tfevents.1.h": data, "x/1/2/other/f.txt": b"."})
    listed: list[str] = []
    ls = store.ls

    def counted(path: str = "") -> list:  # type: ignore[type-arg]
        listed.append(path)
        return ls(path)

    store.ls = counted  # type: ignore[method-assign]
    asked = ["x", "x/1", "x/1/2", "x/1/2/3", "x/1/2/other", "x/1/2/3/4"]
    assert [READER.detect(store, d) for d in asked] == [False, True, True, True, False, True]
    assert sorted(listed) == sorted(asked)


def test_does_not_detect_hf_output_dirs_or_folders_of_them() -> None:
    _name, data = event_file("logdir/restarted")
    store = memory_store({
        "models/a/trainer_state.json": b"{}",
        "models/a/runs/May01_host/events.out.tfevents.1.h": data,
    })
    assert not READER.detect(store, "models")  # discovery goes on down to the hf reader
    assert not READER.detect(store, "models/a")
    assert READER.detect(store, "models/a/runs")  # asked for explicitly


# --- logdir: both encodings, hparams, text, restarts --------------------------------------------


def test_logdir_is_one_experiment_with_a_run_per_event_dir() -> None:
    records = read("logdir")
    assert records[0] == Experiment(
        key="tb-logdir:logdir", id="logdir", name="logdir", origin=records[0].origin  # type: ignore[union-attr]
    )
    assert records[0].origin.path == "logdir"  # type: ignore[union-attr]
    assert [(r.key, r.id, r.name) for r in runs(records).values()] == [
        ("tb:restarted", "restarted", "restarted"),
        ("tb:tbx", "tbx", "tbx"),  # its add_hparams sub-dir is part of it, not a run
        ("tb:tf2", "tf2", "tf2"),
    ]
    assert all(r.experiment_key == "tb-logdir:logdir" for r in runs(records).values())
    assert runs(records)["tbx"].origin.path == "logdir/tbx"
    assert problems(records) == []


def test_tensorboardx_simple_value_scalars() -> None:
    run = runs(read("logdir"))["tbx"]
    assert values(run, "train/loss") == [
        (0, T0_MS + 10_000, 1.0), (1, T0_MS + 11_000, f32(0.6)),
        (2, T0_MS + 12_000, f32(0.45)), (3, T0_MS + 13_000, f32(0.4)),
    ]
    lr = run.metric("train/lr")
    assert lr is not None and (lr.count, lr.final, lr.final_step) == (4, f32(0.05), 3)
    assert lr.final_timestamp == T0_MS + 13_000
    # the histogram is not a metric
    assert [m.key for m in run.metrics] == ["hparam/accuracy", "train/loss", "train/lr"]


def test_add_hparams_subdir_gives_params_status_and_its_metric() -> None:
    run = runs(read("logdir"))["tbx"]
    assert dict(run.params) == {
        "augment": "true", "batch_size": "32", "lr": "0.1", "optimizer": "sgd",
    }
    assert run.status is RunStatus.FINISHED  # session_end_info: STATUS_SUCCESS
    assert values(run, "hparam/accuracy") == [(0, T0_MS + 20_000, f32(0.91))]
    assert (run.start_time, run.end_time) == (T0_MS, T0_MS + 20_000)
    assert run.artifacts == (
        Artifact("1795500020.0/events.out.tfevents.1795500020.fixture-host", 461),
        Artifact("events.out.tfevents.1795500000.fixture-host", 5712),
    )


def test_text_summaries_are_tags_with_the_last_step() -> None:
    logdir = runs(read("logdir"))
    assert dict(logdir["tbx"].tags) == {"notes": "baseline <b>run</b>"}
    assert dict(logdir["tf2"].tags) == {"summary": "tf2 style run"}


def test_tf2_tensor_scalars_in_every_encoding() -> None:
    run = runs(read("logdir"))["tf2"]
    assert values(run, "val/acc") == [  # float_val
        (0, T0_MS + 110_000, 0.5), (1, T0_MS + 111_000, 0.625), (2, T0_MS + 112_000, 0.75),
    ]
    assert values(run, "val/loss") == [  # float32 tensor_content, metadata on the first only
        (0, T0_MS + 120_000, f32(0.9)), (1, T0_MS + 121_000, f32(0.7)),
        (2, T0_MS + 122_000, f32(0.65)),
    ]
    assert values(run, "val/perplexity") == [  # float64 tensor_content
        (0, T0_MS + 130_000, 12.5), (10, T0_MS + 131_000, 9.25),
    ]
    assert [m.key for m in run.metrics] == ["val/acc", "val/loss", "val/perplexity"]


def test_tf2_hparams_without_end_info() -> None:
    run = runs(read("logdir"))["tf2"]
    assert dict(run.params) == {
        "dropout": "0.25", "layers": "4", "learning_rate": "0.001", "optimizer": "adam",
        "use_bn": "false",
    }
    assert run.status is RunStatus.UNKNOWN
    assert (run.start_time, run.end_time) == (T0_MS + 100_000, T0_MS + 140_000)


def test_several_files_in_one_dir_are_one_run() -> None:
    run = runs(read("logdir"))["restarted"]
    assert values(run, "loss") == [
        (0, T0_MS + 201_000, 2.0), (1, T0_MS + 202_000, 1.5),
        (2, T0_MS + 203_000, f32(1.2)), (2, T0_MS + 302_000, f32(1.1)),
        (3, T0_MS + 303_000, f32(0.9)), (4, T0_MS + 304_000, f32(0.8)),
    ]
    loss = run.metric("loss")
    assert loss is not None and (loss.final, loss.final_step) == (f32(0.8), 4)
    assert (run.start_time, run.end_time) == (T0_MS + 200_000, T0_MS + 304_000)
    assert [a.path for a in run.artifacts] == [
        "events.out.tfevents.1795500200.fixture-host",
        "events.out.tfevents.1795500300.fixture-host.resumed",
    ]


def test_history_false_keeps_finals_only() -> None:
    run = runs(read("logdir", history=False))["tbx"]
    loss = run.metric("train/loss")
    assert loss is not None and loss.history is None and (loss.count, loss.final) == (4, f32(0.4))


def test_reading_one_event_file() -> None:
    name, _ = event_file("logdir/tf2")
    records = read(f"logdir/tf2/{name}")
    assert records[0].key == "tb-logdir:logdir/tf2"  # type: ignore[union-attr]
    (run,) = runs(records).values()
    assert (run.key, run.name, len(run.metrics)) == ("tb:.", "tf2", 3)


def test_reading_a_run_dir_as_the_store_root() -> None:
    records = list(READER.read(open_store(str(TB / "logdir" / "restarted")), "", ReadOptions()))
    assert records[0].key == "tb-logdir:."  # type: ignore[union-attr]
    assert records[0].name == "restarted"  # type: ignore[union-attr]
    (run,) = runs(records).values()
    assert (run.key, run.id, run.name) == ("tb:.", ".", "restarted")


def test_hparams_dir_without_a_parent_file_still_joins_its_parent() -> None:
    files = {}
    for path in sorted((TB / "logdir" / "tbx" / "1795500020.0").iterdir()):
        files[f"sweep/1795500020.0/{path.name}"] = path.read_bytes()
    records = list(READER.read(memory_store(files), "", ReadOptions()))
    (run,) = runs(records).values()
    assert run.id == "sweep" and run.params["optimizer"] == "sgd"
    assert [m.key for m in run.metrics] == ["hparam/accuracy"]


# --- broken files ------------------------------------------------------------------------------

NAME = "events.out.tfevents.1795500400.fixture-host"


def test_broken_files_give_these_problems_and_nothing_else() -> None:
    assert problems(read("broken")) == [
        (f"broken/bad_crc/{NAME}", "bad CRC in the record at byte 122; record skipped"),
        (f"broken/bad_header/{NAME}",
         "bad CRC in record header at byte 164; rest of the file skipped (84 bytes)"),
        (f"broken/lfs/{NAME}",
         "git-lfs pointer, not the file "
         "(oid sha256:f64888e6ae9167633a5d13b3d41c7103d21d8613e394d7f3562a833831eedd5b, size 248)"),
        (f"broken/truncated/{NAME}",
         "file ends inside the record at byte 206 (25 of its 42 bytes present); that record was "
         "dropped, 5 records read before it"),
    ]


def test_broken_runs_keep_what_was_read_before_the_damage() -> None:
    broken = runs(read("broken"))
    assert sorted(broken) == ["bad_crc", "bad_header", "empty", "lfs", "truncated"]
    loss_steps = {
        name: [s for s, _t, _v in values(run, "loss")]
        for name, run in broken.items() if run.metrics
    }
    assert loss_steps == {
        "bad_crc": [0, 1, 3, 4],    # the record for step 2 failed its CRC; the next ones are read
        "bad_header": [0, 1, 2],    # the length of the record for step 3 failed its CRC
        "truncated": [0, 1, 2, 3],  # the half-written record for step 4 is dropped (and said)
    }
    assert broken["truncated"].metric("loss").final == 0.5  # type: ignore[union-attr]
    for name in ("empty", "lfs"):
        run = broken[name]
        assert run.metrics == () and run.status is RunStatus.UNKNOWN
        # no timed event: the start is the creation time in the event file's name
        assert run.start_time == 1795500400000 and run.end_time is None
    assert broken["empty"].artifacts == (Artifact(NAME, 0),)
    # an LFS pointer is listed as what it is, with the size it declares, not as an event file
    assert broken["lfs"].artifacts == (
        Artifact(NAME, 128, note="Git LFS pointer (declared 248 B, not fetched)"),
    )


def test_undecodable_event_with_a_good_crc_is_a_problem() -> None:
    payload = b"\x0a\xff"  # field 1, length 255: runs past the end
    header = struct.pack("<Q", len(payload))
    frame = header + struct.pack("<I", masked_crc32c(header)) + payload
    frame += struct.pack("<I", masked_crc32c(payload))
    _name, good = event_file("logdir/restarted")
    store = memory_store({"r/events.out.tfevents.9.h": good + frame})
    records = read("", store=store)
    offset = len(good)
    assert problems(records) == [(
        "r/events.out.tfevents.9.h",
        f"undecodable event in the record at byte {offset}; record skipped",
    )]
    assert runs(records)["r"].metric("loss").count == 3  # type: ignore[union-attr]


# --- memory:// ---------------------------------------------------------------------------------


def _without_store(record: Record) -> Record:
    return dataclasses.replace(record, origin=dataclasses.replace(record.origin, store="-"))  # type: ignore[type-var]


@pytest.mark.parametrize("case", ["logdir", "broken"])
def test_memory_store_reads_the_same_as_local(case: str) -> None:
    remote_store = open_store(to_memory(TB))
    local = read(case)
    remote = read(case, store=remote_store)
    assert remote and all(r.origin.store.startswith("memory://") for r in remote)  # type: ignore[union-attr]
    assert [_without_store(r) for r in remote] == [_without_store(r) for r in local]


def test_reads_are_deterministic() -> None:
    assert read("logdir") == read("logdir")
    assert Path(TB / "logdir").is_dir()


def test_undecodable_hparams_content_is_a_problem() -> None:
    # Event{wall_time, summary{value{tag, metadata{plugin_data{"hparams", content=b"\x1a\xff"}}}}}
    def ld(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    plugin_data = ld(1, b"hparams") + ld(2, b"\x1a\xff")  # session_start_info runs past the end
    value = ld(1, b"_hparams_/session_start_info") + ld(9, ld(1, plugin_data))
    payload = b"\x09" + struct.pack("<d", 1795500500.0) + ld(5, ld(1, value))
    header = struct.pack("<Q", len(payload))
    frame = header + struct.pack("<I", masked_crc32c(header)) + payload
    frame += struct.pack("<I", masked_crc32c(payload))
    records = read("", store=memory_store({"r/events.out.tfevents.9.h": frame}))
    assert problems(records) == [(
        "r/events.out.tfevents.9.h",
        "undecodable event in the record at byte 0; record skipped",
    )]
    assert runs(records)["r"].params == {}


# --- hostile bytes: every record is its own fault boundary (issue 11) --------------------------


def frame(payload: bytes, *, length: int | None = None, good_crc: bool = True) -> bytes:
    header = struct.pack("<Q", len(payload) if length is None else length)
    crc = masked_crc32c(payload) if good_crc else masked_crc32c(payload) ^ 1
    return header + struct.pack("<I", masked_crc32c(header)) + payload + struct.pack("<I", crc)


def ld(number: int, payload: bytes) -> bytes:
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def scalar_event(step: int, value: float, wall_time: float = 1795500500.0,
                 tag: bytes = b"loss") -> bytes:
    val = ld(1, tag) + b"\x15" + struct.pack("<f", value)
    return b"\x09" + struct.pack("<d", wall_time) + b"\x10" + bytes([step]) + ld(5, ld(1, val))


def test_a_length_of_2_to_the_60_is_refused_without_allocating() -> None:
    good = frame(scalar_event(0, 1.0))
    bomb = frame(b"", length=2**60)[:12] + b"x" * 20  # a header with a valid CRC
    records = read("", store=memory_store({"r/events.out.tfevents.9.h": good + bomb}))
    assert problems(records) == [(
        "r/events.out.tfevents.9.h",
        f"record at byte {len(good)} declares 1,152,921,504,606,846,976 bytes, past the "
        "2,147,483,647-byte limit of a protobuf message; rest of the file skipped",
    )]
    assert values(runs(records)["r"], "loss") == [(0, 1795500500000, 1.0)]


def test_a_bad_crc_skips_one_record_and_reading_goes_on() -> None:
    data = (frame(scalar_event(0, 1.0)) + frame(scalar_event(1, 2.0), good_crc=False)
            + frame(scalar_event(2, 3.0), good_crc=False) + frame(scalar_event(3, 4.0)))
    records = read("", store=memory_store({"r/events.out.tfevents.9.h": data}))
    first_bad = len(frame(scalar_event(0, 1.0)))
    assert problems(records) == [(
        "r/events.out.tfevents.9.h",
        f"bad CRC in 2 records (first at byte {first_bad}); records skipped",
    )]
    assert [s for s, _t, _v in values(runs(records)["r"], "loss")] == [0, 3]


@pytest.mark.parametrize("wall_time", [math.inf, -math.inf, math.nan, 1e300, -1e300])
def test_wall_times_that_are_not_dates_keep_the_point_without_a_time(wall_time: float) -> None:
    data = frame(scalar_event(0, 1.0)) + frame(scalar_event(1, 2.0, wall_time=wall_time))
    records = read("", store=memory_store({"r/events.out.tfevents.9.h": data}))
    assert problems(records) == [(
        "r/events.out.tfevents.9.h",
        "1 wall time not a date (infinite or out of range); those points are kept without a time",
    )]
    run = runs(records)["r"]
    assert values(run, "loss") == [(0, 1795500500000, 1.0), (1, -1, 2.0)]
    assert run.start_time == run.end_time == 1795500500000


def test_hparams_end_time_out_of_range_is_not_a_crash() -> None:
    # session_end_info {status=1, end_time_secs=1e300}
    end_info = b"\x08\x01\x11" + struct.pack("<d", 1e300)
    plugin_data = ld(1, b"hparams") + ld(2, ld(4, end_info))
    value = ld(1, b"_hparams_/session_end_info") + ld(9, ld(1, plugin_data))
    payload = b"\x09" + struct.pack("<d", 1795500500.0) + ld(5, ld(1, value))
    records = read("", store=memory_store({"r/events.out.tfevents.9.h": frame(payload)}))
    assert [reason for _p, reason in problems(records)] == [
        "1 wall time not a date (infinite or out of range); those points are kept without a time"
    ]
    run = runs(records)["r"]
    assert run.status is RunStatus.FINISHED and run.end_time == 1795500500000


def test_invalid_utf8_tags_are_replaced_and_noted() -> None:
    data = frame(scalar_event(0, 1.0, tag=b"lo\xffss"))
    records = read("", store=memory_store({"r/events.out.tfevents.9.h": data}))
    assert problems(records) == [(
        "r/events.out.tfevents.9.h",
        "1 text not valid UTF-8, decoded with replacement characters",
    )]
    assert [m.key for m in runs(records)["r"].metrics] == ["lo\ufffdss"]


def test_one_bad_file_does_not_cost_the_other_files_of_its_run() -> None:
    good = frame(scalar_event(0, 1.0))
    records = read("", store=memory_store({
        "r/events.out.tfevents.1.h": b"\x00" * 5,
        "r/events.out.tfevents.2.h": good,
    }))
    assert [p for p, _r in problems(records)] == ["r/events.out.tfevents.1.h"]
    assert values(runs(records)["r"], "loss") == [(0, 1795500500000, 1.0)]


def test_fast_scalar_decoding_agrees_with_the_general_decoder() -> None:
    from mlreport.readers import tensorboard as tb

    checked = 0
    for path in sorted(TB.rglob("events.out.tfevents.*")):
        try:
            frames = list(tb.iter_frames(path.read_bytes()))
        except RecordError:
            continue
        for _offset, payload, _crc in frames:
            fast = tb._fast_scalar(payload)
            if fast is None:
                continue
            event = tb._decode_event(payload)
            (value,) = event.values
            assert fast == (event.wall_time, event.step, value.tag, value.simple_value)
            assert value.tensor is None and value.plugin_name is None
            checked += 1
    assert checked > 20
    # declined: a second value, metadata, or bytes past the end
    one = scalar_event(3, 1.5)
    assert tb._fast_scalar(one) == (1795500500.0, 3, "loss", 1.5)
    assert tb._fast_scalar(one[:-1]) is None
    assert tb._fast_scalar(one + b"\x00") is None
    assert tb._fast_scalar(scalar_event(3, 1.5, tag=b"lo\xffss")) is None
