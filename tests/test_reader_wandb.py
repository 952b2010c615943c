"""The W&B reader against real wandb 0.31.0 offline runs, hand-made online-style and pre-0.10
run dirs, and broken copies (tests/data/wandb/README.md lists the cases)."""

from __future__ import annotations

import dataclasses
import math
import os
import struct
import uuid
import zlib
from pathlib import Path

import fsspec
import pytest

from mlreport.model import (
    Experiment,
    LoggedModel,
    Metric,
    MetricHistory,
    ModelVersion,
    Problem,
    RegisteredModel,
    Run,
    RunStatus,
)
from mlreport.readers import ReadOptions
from mlreport.readers.wandb import WandbReader, scan_log
from mlreport.stores import Store, open_store

DATA = Path(__file__).parent / "data" / "wandb"
READER = WandbReader()


def read(case: str, path: str = "wandb", options: ReadOptions | None = None) -> list[object]:
    store = open_store(str(DATA / case))
    return list(READER.read(store, path, options or ReadOptions()))


def of_type(records: list[object], kind: type) -> list:  # type: ignore[type-arg]
    return [r for r in records if isinstance(r, kind)]


def runs(records: list[object]) -> dict[str, Run]:
    return {r.id: r for r in of_type(records, Run)}


def run_dir(case: str, run_id: str) -> str:
    """``wandb/<dir>`` of a run: offline dir names carry the time they were written."""
    (found,) = [p.name for p in (DATA / case / "wandb").iterdir()
                if p.name.endswith(f"-{run_id}") and not p.is_symlink()]
    return f"wandb/{found}"


# --- detection ------------------------------------------------------------------------------------


def test_detect_wandb_dirs_and_run_dirs() -> None:
    for case in ("offline", "online_style", "legacy_flat", "broken"):
        store = open_store(str(DATA / case))
        assert READER.detect(store, "wandb"), case
        assert not READER.detect(store, ""), case  # the store root holds wandb/, not run dirs
    store = open_store(str(DATA / "offline"))
    assert READER.detect(store, run_dir("offline", "alpha001"))
    assert READER.detect(store, "wandb/latest-run")
    assert not READER.detect(open_store(str(DATA)), "")
    assert not READER.detect(open_store(str(DATA.parent / "mlflow")), "v3_file/mlruns")


# --- real offline runs ----------------------------------------------------------------------------


def test_offline_runs_and_projects() -> None:
    records = read("offline")
    assert [(e.key, e.name) for e in of_type(records, Experiment)] == [
        ("wandb-project:demo-proj", "demo-proj"),
        ("wandb-project:other-proj", "other-proj"),
    ]
    found = runs(records)
    assert sorted(found) == ["alpha001", "beta0002", "gamma003"]  # latest-run not read again
    assert [r.key for r in of_type(records, Run)] == ["wandb:alpha001", "wandb:beta0002",
                                                      "wandb:gamma003"]
    assert of_type(records, Problem) == []

    alpha = found["alpha001"]
    assert alpha.name == "wb-run-1"
    assert alpha.experiment_key == "wandb-project:demo-proj"
    assert alpha.status is RunStatus.FINISHED
    assert alpha.description == "first <b>run</b>"
    assert alpha.start_time == 1795505342351
    assert alpha.end_time == 1795505342523
    assert alpha.user is None  # offline runs record no user
    assert dict(alpha.params) == {
        "batch_size": "32", "data_dir": "null", "epochs": "4", "lr": "0.01",
        "model.act": "relu", "model.layers": "2", "model.opt.betas": "[0.9, 0.999]",
        "model.opt.name": "adam",
    }
    assert dict(alpha.tags) == {"baseline": "", "t2": "", "wandb.group": "grp",
                                "wandb.host": "vm", "wandb.job_type": "train"}
    assert alpha.git.commit == "9beb55468acb792ffed433c60c6cebdad1b0cd8f"
    assert alpha.git.repo_url == "https://example.com/team/demo.git"
    assert alpha.source_name == "train.py"
    assert alpha.origin.path == f"{run_dir('offline', 'alpha001')}/run-alpha001.wandb"
    assert alpha.origin.format == "wandb"

    metrics = {m.key: m for m in alpha.metrics}
    # "phase" (a string), "hist" (a histogram) and the "_" keys are not metrics
    assert sorted(metrics) == ["acc", "best_acc", "epoch", "loss", "nested.x", "val_loss"]
    loss = metrics["loss"]
    assert (loss.final, loss.final_step, loss.count) == (0.25, 3, 4)
    assert list(loss.history.values) == [1.0, 0.5, 1 / 3, 0.25]  # type: ignore[union-attr]
    assert loss.final_timestamp == 1795505342530
    assert list(metrics["val_loss"].history.steps) == [1, 3]  # type: ignore[union-attr]
    assert metrics["val_loss"].final == pytest.approx(0.225)
    assert list(metrics["nested.x"].history.values) == [0.0, 2.0, 4.0, 6.0]  # type: ignore[union-attr]
    acc = metrics["acc"]  # run.summary["acc"] = 0.95 overrides the last logged 0.8
    assert acc.final == 0.95
    assert acc.count == 4 and acc.maximum == pytest.approx(0.8)
    best = metrics["best_acc"]  # summary only
    assert (best.final, best.count, best.history, best.final_step) == (0.8, 1, None, 3)

    assert [(a.path, a.size) for a in alpha.artifacts] == [
        ("artifacts/demo-data/data/train.csv", 12),
        ("files/requirements.txt", 785),
    ]
    assert alpha.output_model_keys == ("wandb-artifact:demo-model:6fdc1320701f",)

    beta = found["beta0002"]
    assert beta.name == "wb-run-2"
    assert beta.status is RunStatus.FAILED  # finish(exit_code=1)
    assert dict(beta.tags) == {"retry": "", "wandb.host": "vm"}
    assert {m.key: (m.final, m.count) for m in beta.metrics} == {"acc": (0.4, 2), "loss": (1.0, 2)}

    gamma = found["gamma003"]
    assert gamma.name == "gamma003"  # no display name: the run id
    assert gamma.experiment_key == "wandb-project:other-proj"
    assert gamma.status is RunStatus.FINISHED
    (gloss,) = gamma.metrics
    assert list(gloss.history.steps) == [5, 10]  # type: ignore[union-attr]
    assert gloss.final == 0.25


def test_offline_model_versions() -> None:
    records = read("offline")
    models = {m.key: m for m in of_type(records, LoggedModel)}
    assert sorted(models) == ["wandb-artifact:demo-model:6b31348f03f1",
                              "wandb-artifact:demo-model:6fdc1320701f"]
    first = models["wandb-artifact:demo-model:6fdc1320701f"]
    assert first.name == "demo-model"
    assert first.id == "6fdc1320701f63ae6925976b06e54949"
    assert first.run_key == "wandb:alpha001"  # gamma003 logged the same digest later
    assert first.experiment_key == "wandb-project:demo-proj"
    assert [(a.path, a.size) for a in first.artifacts] == [("card.md", 13), ("weights.txt", 4)]
    assert dict(first.params) == {"arch": "mlp"}

    versions = {(v.model, v.version): v for v in of_type(records, ModelVersion)}
    assert sorted(versions) == [("demo-model", "6b31348f"), ("demo-model", "6fdc1320")]
    v1 = versions[("demo-model", "6fdc1320")]
    assert v1.aliases == ("best", "prod", "v-final")  # "latest" left out
    assert v1.run_key == "wandb:alpha001"
    assert v1.logged_model_key == "wandb-artifact:demo-model:6fdc1320701f"
    assert v1.description == "a tiny model"
    assert v1.created == 1795505342530
    v2 = versions[("demo-model", "6b31348f")]
    assert (v2.aliases, v2.run_key) == (("candidate",), "wandb:beta0002")

    (registered,) = of_type(records, RegisteredModel)
    assert registered.name == "demo-model"
    assert dict(registered.aliases) == {"best": "6fdc1320", "candidate": "6b31348f",
                                        "prod": "6fdc1320", "v-final": "6fdc1320"}


def test_history_off_keeps_finals_only() -> None:
    records = read("offline", options=ReadOptions(history=False))
    alpha = runs(records)["alpha001"]
    assert all(m.history is None for m in alpha.metrics)
    assert {m.key: m.count for m in alpha.metrics}["loss"] == 4
    assert alpha.metric("acc").final == 0.95  # type: ignore[union-attr]


def test_single_run_dir_and_latest_run() -> None:
    store = open_store(str(DATA / "offline"))
    one = list(READER.read(store, run_dir("offline", "beta0002"), ReadOptions()))
    assert [r.id for r in of_type(one, Run)] == ["beta0002"]
    assert [e.key for e in of_type(one, Experiment)] == ["wandb-project:demo-proj"]
    latest = list(READER.read(store, "wandb/latest-run", ReadOptions()))
    (run,) = of_type(latest, Run)
    assert run.id == "gamma003"


# --- hand-made online-style and pre-0.10 runs -----------------------------------------------------


def test_online_style_files_only_run() -> None:
    records = read("online_style")
    found = runs(records)
    assert sorted(found) == ["mixed001", "onl1ne01"]
    assert of_type(records, Problem) == []
    run = found["onl1ne01"]
    assert run.name == "onl1ne01"
    # no project in its files: the one project of its sibling runs
    assert run.experiment_key == "wandb-project:online-proj"
    assert run.status is RunStatus.UNKNOWN  # files/* record no exit code
    assert run.start_time == 1767258000250  # startedAt 2026-01-01T09:00:00.250000Z
    assert run.end_time == 1767258000250 + 42500  # + _runtime 42.5 s
    assert run.user == "ana"
    assert dict(run.params) == {"epochs": "3", "lr": "0.001", "model.act": "gelu",
                                "model.layers": "4"}
    assert dict(run.tags) == {"wandb.host": "gpu-box"}
    assert run.git.commit == "0123456789abcdef0123456789abcdef01234567"
    assert run.git.repo_url == "https://example.com/team/proj.git"
    assert run.source_name == "train.py"
    # media ("samples"), strings ("note") and "_" keys are not metrics; nested dicts are flattened
    assert {m.key: (m.final, m.count, m.final_step) for m in run.metrics} == {
        "acc": (0.8, 1, 3), "best_acc": (0.82, 1, 3), "loss": (0.25, 1, 3), "train.f1": (0.7, 1, 3),
    }
    assert run.metric("loss").final_timestamp == 1767258042500  # type: ignore[union-attr]
    assert [a.path for a in run.artifacts] == [
        "files/config.yaml", "files/media/table/samples_3_abc.table.json",
        "files/requirements.txt", "files/wandb-metadata.json", "files/wandb-summary.json",
    ]


def test_online_style_merges_files_with_the_log() -> None:
    run = runs(read("online_style"))["mixed001"]
    assert run.name == "mixed-run"
    assert run.status is RunStatus.FINISHED
    assert dict(run.params) == {"epochs": "3", "lr": "0.02", "optimizer": "sgd"}  # + config.yaml
    assert run.user == "bo"  # from wandb-metadata.json
    loss = run.metric("loss")
    assert loss is not None and loss.count == 3
    assert loss.final == pytest.approx(0.3)  # the .wandb summary wins over the file's 0.35
    test_acc = run.metric("test_acc")  # only in wandb-summary.json
    assert test_acc is not None and (test_acc.final, test_acc.count) == (0.91, 1)


def test_legacy_flat_layout() -> None:
    records = read("legacy_flat")
    assert [(e.key, e.name, dict(e.tags)) for e in of_type(records, Experiment)] == [
        ("wandb-project:flat-proj", "someone/flat-proj", {"wandb.entity": "someone"}),
    ]
    found = runs(records)
    assert sorted(found) == ["dry00001", "flat0001"]
    flat = found["flat0001"]
    assert flat.status is RunStatus.FINISHED  # metadata state: finished, exitcode 0
    assert flat.start_time == 1577712666786  # naive startedAt, read as UTC
    assert flat.end_time == 1577712666786 + 6500
    assert flat.user == "P L"
    assert dict(flat.params) == {"decay": "1e-06", "epochs": "3"}
    assert flat.git.commit == "b9763d382d2ce587689a3aae0243387267a049e2"
    reward = flat.metric("reward")
    assert reward is not None
    assert list(reward.history.values) == [-9.0, 10.5, 4.0]  # type: ignore[union-attr]
    assert list(reward.history.timestamps) == [1577712671250, 1577712671750, 1577712672250]  # type: ignore[union-attr]
    assert [m.key for m in flat.metrics] == ["epoch", "reward"]  # the graph is media
    dry = found["dry00001"]
    assert dry.status is RunStatus.UNKNOWN  # metadata state: running, no exit code: unknown
    assert dict(dry.tags) == {"wandb.job_type": "eval"}
    assert dry.metrics == ()
    assert of_type(records, Problem) == []


# --- broken inputs --------------------------------------------------------------------------------


def test_broken_runs_and_problems() -> None:
    records = read("broken")
    found = runs(records)
    assert sorted(found) == ["badcfg01", "badcrc01", "badhdr01", "killed01", "trunc001"]
    problems = [(p.origin.path, p.reason) for p in of_type(records, Problem)]
    assert problems == [
        (f"{run_dir('broken', 'trunc001')}/run-trunc001.wandb",
         "file ends inside a record: the last 60 bytes (from byte 20463) were dropped; "
         "187 whole records read"),
        (f"{run_dir('broken', 'badcrc01')}/run-badcrc01.wandb",
         "bad CRC in chunk at byte 32948; rest of its 32 KiB block skipped (32588 bytes), "
         "reading resumed at byte 65536"),
        (f"{run_dir('broken', 'badhdr01')}/run-badhdr01.wandb",
         "not a W&B transaction log: the file starts with b'NOTW', not b':W&B'; file skipped"),
        ("wandb/run-20260104_080000-badcfg01/files/config.yaml",
         "invalid YAML at line 3: did not find expected ',' or ']'; config ignored, run kept"),
    ]
    assert all(p.message().startswith("cannot read wandb/") for p in of_type(records, Problem))

    trunc = found["trunc001"]
    assert trunc.status is RunStatus.UNKNOWN  # the exit record was in the lost tail
    assert {m.key: m.count for m in trunc.metrics} == {"acc": 60, "loss": 60}

    crc = found["badcrc01"]
    assert crc.status is RunStatus.FINISHED  # the exit record is past the damaged block
    loss = crc.metric("loss")
    assert loss is not None and loss.count == 122  # rows 98..195 were in the skipped block
    assert list(loss.history.steps[97:99]) == [97, 196]  # type: ignore[union-attr]
    assert loss.final == pytest.approx(1 / 220)

    hdr = found["badhdr01"]
    assert (hdr.status, hdr.metrics, dict(hdr.params)) == (RunStatus.UNKNOWN, (), {})
    assert hdr.experiment_key == "wandb-project:broken-proj"

    killed = found["killed01"]
    assert killed.status is RunStatus.UNKNOWN
    assert killed.start_time == 1767427200500
    assert (killed.user, killed.git.commit, killed.source_name) == ("cy", "feedface", "train.py")
    assert [a.path for a in killed.artifacts] == [
        "files/output.log", "files/requirements.txt", "files/wandb-metadata.json"]

    badcfg = found["badcfg01"]
    assert dict(badcfg.params) == {}
    assert [(m.key, m.final, m.final_step) for m in badcfg.metrics] == [("loss", 0.5, 7)]


# --- the log framing, on hand-built files ---------------------------------------------------------


def _chunk(kind: int, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(bytes([kind])))
    return struct.pack("<IHB", crc, len(payload), kind) + payload


def _write_log(records: list[bytes]) -> bytes:
    """The LevelDB log writer: records split at block ends, short tails zero-padded."""
    out = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))
    for rec in records:
        left_data = rec
        first = True
        while True:
            room = 32768 - len(out) % 32768
            if room < 7:
                out += b"\0" * room
                room = 32768
            take = min(room - 7, len(left_data))
            piece, left_data = left_data[:take], left_data[take:]
            last = not left_data
            kind = 1 if first and last else 2 if first else 4 if last else 3
            out += _chunk(kind, piece)
            first = False
            if last:
                break
    return bytes(out)


def test_scan_log_joins_records_across_blocks() -> None:
    records = [b"a" * 10, b"b" * 70000, b"c" * 32754, b"d"]  # FULL, FIRST+MIDDLE+LAST, …
    data = _write_log(records)
    scan = scan_log(data)
    assert [r for _, r in scan.records] == records
    assert scan.problems == []
    assert [off for off, _ in scan.records][:2] == [7, 24]


def test_scan_log_header_only_and_short_files() -> None:
    empty = scan_log(b":W&B\xe1\xbe\x00")
    assert (empty.records, empty.problems) == ([], [])
    assert scan_log(b":W&").problems == [
        "not a W&B transaction log: 3 bytes, shorter than the 7-byte header"]
    assert scan_log(b":W&B\xe1\xbe\x01").problems == [
        "unsupported W&B log header (magic 0xBEE1, version 1); file skipped"]


def test_scan_log_truncated_inside_a_multi_block_record() -> None:
    data = _write_log([b"x" * 5, b"y" * 40000])
    scan = scan_log(data[:-10])
    assert [r for _, r in scan.records] == [b"x" * 5]
    assert scan.problems == [
        f"file ends inside a record: the last {len(data) - 10 - 19} bytes (from byte 19) "
        "were dropped; 1 whole records read"]


def test_scan_log_bad_crc_skips_the_rest_of_the_block() -> None:
    data = bytearray(_write_log([b"a" * 10, b"b" * 20, b"c" * 40000, b"d" * 30]))
    data[7 + 7 + 3] ^= 0xFF  # inside the first record's payload
    scan = scan_log(bytes(data))
    # the whole first block is lost, including the start of the spanning record; its
    # continuation in block 2 is skipped quietly, and the record after it is read
    assert [r for _, r in scan.records] == [b"d" * 30]
    assert scan.problems == [
        "bad CRC in chunk at byte 7; rest of its 32 KiB block skipped (32761 bytes), "
        "reading resumed at byte 32768"]


# --- memory:// gives the same records -------------------------------------------------------------


def _memory_store(case: str) -> Store:
    fs = fsspec.filesystem("memory")
    prefix = f"wandb-{case}-{uuid.uuid4().hex}"
    root = DATA / case
    for dirpath, _dirs, files in os.walk(root):  # symlinked dirs (latest-run) are not followed
        for name in files:
            full = Path(dirpath) / name
            if full.is_symlink():
                continue
            fs.pipe_file(f"/{prefix}/{full.relative_to(root).as_posix()}", full.read_bytes())
    return open_store(f"memory://{prefix}")


def _without_store(record: object) -> object:
    origin = record.origin  # type: ignore[attr-defined]
    return dataclasses.replace(record, origin=dataclasses.replace(origin, store="-"))  # type: ignore[type-var]


@pytest.mark.parametrize(
    "case", ["offline", "online_style", "legacy_flat", "broken", "record/local_time", "record/media"]
)
def test_memory_store_reads_the_same(case: str) -> None:
    local = read(case)
    store = _memory_store(case)
    assert READER.detect(store, "wandb")
    remote = list(READER.read(store, "wandb", ReadOptions()))
    assert remote and all(r.origin.store.startswith("memory://") for r in remote)  # type: ignore[attr-defined]
    assert [_without_store(r) for r in remote] == [_without_store(r) for r in local]


def test_no_nan_leaks_into_params() -> None:
    for case in ("offline", "online_style", "legacy_flat", "broken"):
        for run in of_type(read(case), Run):
            assert all(isinstance(v, str) for v in run.params.values())
            assert all(not math.isnan(m.final) for m in run.metrics)


# --- hostile input: one fault boundary per record and per file (issue 11) ------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _ld(number: int, payload: bytes | str) -> bytes:
    raw = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


def _vi(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _hist(**values: str) -> bytes:
    """A Record{history{item{key, value_json}…}} with the values given as JSON text."""
    items = b"".join(_ld(1, _ld(1, k) + _ld(16, v)) for k, v in values.items())
    return _ld(2, items)


def _run_record(run_id: str, *, name: bytes = b"", start_s: int | None = None) -> bytes:
    body = _ld(1, run_id) + _ld(3, "hostile-proj")
    if name:
        body += _ld(8, name)
    if start_s is not None:
        body += _ld(17, _vi(1, start_s))
    return _ld(17, body)


def _store_with(tmp_path: Path, files: dict[str, bytes]) -> Store:
    for rel, content in files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return open_store(str(tmp_path))


def _problems(records: list[object]) -> list[tuple[str, str]]:
    return [(p.origin.path, p.reason) for p in of_type(records, Problem)]


D = "wandb/offline-run-20261201_120000-hostile1"
LOG = f"{D}/run-hostile1.wandb"


def test_deep_metadata_costs_only_that_file_not_the_history(tmp_path: Path) -> None:
    # The case: pre-0.10 layout, wandb-metadata.json nested 100,000 deep.
    flat = "wandb/run-20191230_133106-deep0001"
    store = _store_with(tmp_path, {
        f"{flat}/wandb-metadata.json": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        f"{flat}/wandb-history.jsonl": b'{"_step": 0, "loss": 1.5}\n{"_step": 1, "loss": 0.5}\n',
    })
    records = list(READER.read(store, "wandb", ReadOptions()))
    assert _problems(records) == [(
        f"{flat}/wandb-metadata.json", "metadata is not valid JSON (JSON nested too deep); ignored",
    )]
    loss = runs(records)["deep0001"].metric("loss")
    assert loss is not None and loss.count == 2 and loss.final == 0.5


def test_numbers_out_of_range_are_clamped_or_left_out_and_said(tmp_path: Path) -> None:
    log = _write_log([
        _run_record("hostile1", start_s=2**62),  # a start time that is no date: left out
        _hist(_step="0", _timestamp="1795500000.5", loss="1.0"),
        _hist(_step=str(2**70), _timestamp="Infinity", loss="0.5"),
        _hist(_step="3", _timestamp="1e300", loss="9" * 5000),  # 5,000 digits: a float, inf
        _hist(_step="4", _timestamp="1795500004", loss="-" + "9" * 400),  # an int past the float range: -inf
        _ld(18, _vi(2, 2**62)),  # exit{runtime=2^62 s}: an end that is no date
    ])
    records = list(READER.read(_store_with(tmp_path, {LOG: log}), "wandb", ReadOptions()))
    assert _problems(records) == [
        (LOG, "1 step beyond the int64 range, clamped"),
        (LOG, "2 times not a date (infinite or out of range); left out"),
    ]
    run = runs(records)["hostile1"]
    assert run.status is RunStatus.FINISHED
    assert run.end_time is None
    loss = run.metric("loss")
    assert loss is not None and loss.history is not None
    assert list(loss.history.steps) == [0, 3, 4, 2**63 - 1]
    assert list(loss.history.timestamps) == [1795500000500, -1, 1795500004000, -1]
    assert list(loss.history.values) == [1.0, math.inf, -math.inf, 0.5]


def test_bad_records_cost_one_record_each(tmp_path: Path) -> None:
    deep_key = _ld(2, _ld(1, b"".join(_ld(2, "k") for _ in range(5000)) + _ld(16, "1")))
    log = _write_log([
        _run_record("hostile1", name=b"caf\xe9 run"),  # Latin-1, not UTF-8
        _hist(loss="1.0"),
        b"\x12\xff",  # history field whose length runs past the end: not protobuf
        _hist(loss="[" * 100_000),  # a value nested past the bound
        deep_key,  # a key path of 5,000 parts
        _hist(_step="1", loss="0.5"),
    ])
    records = list(READER.read(_store_with(tmp_path, {LOG: log}), "wandb", ReadOptions()))
    problems = _problems(records)
    assert [p for p, _r in problems] == [LOG] * 4
    reasons = [r for _p, r in problems]
    assert reasons[0].startswith("1 record(s) could not be decoded (first at byte ")
    assert reasons[1:] == [
        "1 value not valid JSON (or nested deeper than 100 levels); skipped",
        "1 key path longer than 100 parts; skipped",
        "1 text not valid UTF-8, decoded with replacement characters",
    ]
    run = runs(records)["hostile1"]
    assert run.name == "caf\ufffd run"
    assert run.metric("loss").count == 2  # type: ignore[union-attr]


def test_git_lfs_pointers_are_problems_and_listed_as_pointers(tmp_path: Path) -> None:
    pointer = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:" + b"ab" * 32 + b"\nsize 6123456789\n")
    online = "wandb/run-20260101_090000-lfs00001"
    store = _store_with(tmp_path, {
        LOG: pointer,
        f"{online}/files/config.yaml": pointer,
        f"{online}/files/wandb-summary.json": b'{"loss": 0.5}',
        f"{online}/files/model.ckpt": pointer,
    })
    records = list(READER.read(store, "wandb", ReadOptions()))
    reason = f"git-lfs pointer, not the file (oid sha256:{'ab' * 32}, size 6123456789)"
    assert _problems(records) == [
        (LOG, reason),
        (f"{online}/files/config.yaml", f"{reason}; file ignored, run kept"),
    ]
    run = runs(records)["lfs00001"]
    assert run.metric("loss").final == 0.5  # type: ignore[union-attr]
    ckpt = [a for a in run.artifacts if a.path == "files/model.ckpt"]
    assert [a.note for a in ckpt] == ["Git LFS pointer (declared 5.7 GB, not fetched)"]


def test_an_exit_code_means_the_run_is_not_running(tmp_path: Path) -> None:
    flat = "wandb/run-20191230_133106-exited01"
    store = _store_with(tmp_path, {
        f"{flat}/wandb-metadata.json": b'{"state": "running", "exitcode": 0}',
        "wandb/run-20191230_133107-exited02/wandb-metadata.json": b'{"state": "running", "exitcode": 1}',
        "wandb/run-20191230_133108-running1/wandb-metadata.json": b'{"state": "running"}',
    })
    found = runs(list(READER.read(store, "wandb", ReadOptions())))
    assert {k: r.status for k, r in found.items()} == {
        "exited01": RunStatus.FINISHED, "exited02": RunStatus.FAILED, "running1": RunStatus.UNKNOWN,
    }


def test_a_resumed_run_ends_as_its_last_session_ended(tmp_path: Path) -> None:
    first = _write_log([_run_record("resumed1"), _hist(loss="1.0"), _ld(18, _vi(1, 0))])
    second = _write_log([_run_record("resumed1"), _hist(_step="1", loss="0.5")])  # no exit yet
    store = _store_with(tmp_path, {
        "wandb/offline-run-20261201_120000-resumed1/run-resumed1.wandb": first,
        "wandb/offline-run-20261201_130000-resumed1/run-resumed1.wandb": second,
    })
    run = runs(list(READER.read(store, "wandb", ReadOptions())))["resumed1"]
    assert run.status is RunStatus.UNKNOWN
    assert run.metric("loss").count == 2  # type: ignore[union-attr]


def test_run_dir_names_are_local_time(tmp_path: Path) -> None:
    # As in the corpus store wandb-resnet-2026: dir 12:07:26 local, startedAt 06:37:26Z (UTC+05:30).
    known = b'{"startedAt": "2026-01-17T06:37:26.940504Z"}'
    store = _store_with(tmp_path, {
        "wandb/run-20260117_120726-known001/files/wandb-metadata.json": known,
        "wandb/run-20260117_140000-bare0001/files/output.log": b"started\n",
    })
    found = runs(list(READER.read(store, "wandb", ReadOptions())))
    assert found["known001"].start_time == 1768631846940  # from startedAt, UTC
    assert "wandb.start_time_from" not in found["known001"].tags
    bare = found["bare0001"]
    assert bare.start_time == 1768638600000  # 2026-01-17T08:30:00Z = 14:00 at UTC+05:30
    assert bare.tags["wandb.start_time_from"] == (
        "run dir name, local time at UTC+05:30 (the offset of the other runs in this folder)")
    # Alone, the dir name is a local time with no zone: shown as such, never taken for UTC.
    alone = _store_with(tmp_path / "alone", {
        "wandb/run-20260117_140000-bare0001/files/output.log": b"started\n",
    })
    bare = runs(list(READER.read(alone, "wandb", ReadOptions())))["bare0001"]
    assert bare.start_time is None
    assert bare.tags["wandb.local_start"] == (
        "2026-01-17 14:00:00 (local time of the writing machine, zone not recorded)")


def test_media_say_what_they_are(tmp_path: Path) -> None:
    summary = b'{"examples": {"_type": "image-file", "path": "media/images/examples_3_ab.png"}}'
    online = "wandb/run-20260101_090000-media001/files"
    store = _store_with(tmp_path, {
        f"{online}/wandb-summary.json": summary,
        f"{online}/media/images/examples_3_ab.png": b"\x89PNG" + b"\x00" * 2000,
        f"{online}/media/plotly/chart_1_cd.plotly.json": b"{}" + b" " * 2000,
        f"{online}/notes.txt": b"plain",
    })
    run = runs(list(READER.read(store, "wandb", ReadOptions())))["media001"]
    assert {a.path: a.note for a in run.artifacts} == {
        "files/media/images/examples_3_ab.png": "W&B image (logged as 'examples')",
        "files/media/plotly/chart_1_cd.plotly.json": "W&B Plotly chart",
        "files/notes.txt": None,
        "files/wandb-summary.json": None,
    }


def test_media_logged_as_nested_keys_say_what_they_are() -> None:
    # wandb-core flattens a media value into "<key>._type" and "<key>.path" in history rows
    from mlreport.readers.wandb import _media_notes

    rows: list[dict[str, object]] = [
        {"examples._type": "image-file", "examples.path": "media/images/e_1_ab.png", "_step": 1},
        {"chart": {"_type": "plotly-file", "path": "media/plotly/c_2_cd.plotly.json"}},
        {"odd._type": "not-a-media-type", "odd.path": "media/x"},
    ]
    assert _media_notes({"examples": {"_type": "table-file", "path": "media/table/t.json"}}, rows) == {
        "files/media/images/e_1_ab.png": "W&B image (logged as 'examples')",
        "files/media/plotly/c_2_cd.plotly.json": "W&B Plotly chart (logged as 'chart')",
        "files/media/table/t.json": "W&B table (logged as 'examples')",
    }


# --- issue 8 on stores the real wandb wrote (tests/data/wandb/record/) ----------------------------


def test_one_project_from_two_wandb_folders_is_one_experiment() -> None:
    from mlreport.catalog import read_catalog
    from mlreport.config import Config, SourceConfig

    catalog = read_catalog(Config(sources=(SourceConfig(str(DATA / "record" / "two_folders")),)))
    assert [(e.key, e.name) for e in catalog.experiments] == [
        ("wandb-project:shared-proj", "shared-proj")]
    assert sorted((r.id, r.experiment_key) for r in catalog.runs) == [
        ("share0a1", "wandb-project:shared-proj"), ("share0b1", "wandb-project:shared-proj")]


def _dir_ms(name: str) -> int:
    from datetime import datetime, timezone

    stamp = name.split("-")[-2]
    naive = datetime.strptime(stamp, "%Y%m%d_%H%M%S").replace(tzinfo=timezone.utc)
    return int(naive.timestamp()) * 1000


def test_run_dirs_written_at_utc_plus_0530_and_how_runs_ended() -> None:
    wdir = DATA / "record" / "local_time" / "wandb"
    names = {p.name.rsplit("-", 1)[1]: p.name for p in wdir.iterdir() if not p.is_symlink()}
    found = runs(read("record/local_time"))
    ist = (5 * 60 + 30) * 60 * 1000
    # Real runs: the start is the run record's UTC time, 5:30 before the dir name's clock.
    for run_id in ("finished1", "exited1", "killed01"):
        assert abs(_dir_ms(names[run_id]) - ist - found[run_id].start_time) < 2000, run_id  # type: ignore[operator]
    # The hand-made dir with no record: its dir name, shifted by the offset the others show.
    bare = found["bare0001"]
    assert bare.start_time == _dir_ms(names["bare0001"]) - ist
    assert bare.tags["wandb.start_time_from"].startswith("run dir name, local time at UTC+05:30")
    # finish() and os._exit() both leave an exit record (wandb-core writes it when its client
    # goes); a run killed with its wandb-core has none: unknown, never "running".
    assert found["finished1"].status is RunStatus.FINISHED
    assert found["exited1"].status is RunStatus.FINISHED
    killed = found["killed01"]
    assert killed.status is RunStatus.UNKNOWN and killed.metric("loss").count > 100  # type: ignore[union-attr]


def test_media_logged_offline_say_what_they_are() -> None:
    run = runs(read("record/media"))["media001"]
    notes = {a.path.split("/")[2] if a.path.startswith("files/media/") else a.path: a.note
             for a in run.artifacts}
    assert notes == {
        "artifacts/run-media001-samples/samples.table.json":
            "W&B run_table artifact 'run-media001-samples'",
        "html": "W&B HTML page (logged as 'page')",
        "images": "W&B image (logged as 'examples')",
        "plotly": "W&B Plotly chart (logged as 'chart')",
        "table": "W&B table (logged as 'samples')",
        "files/requirements.txt": None,
    }
    assert [m.key for m in run.metrics] == ["loss"]  # media values are not metrics


# --- the fast path agrees with the general decoder --------------------------------------------------


def test_fast_item_decoding_agrees_with_the_general_decoder() -> None:
    from mlreport.readers import wandb as wb

    checked = 0
    for log in sorted(DATA.rglob("*.wandb")):
        for _offset, raw in scan_log(log.read_bytes()).records:
            try:
                top = wb._top_fields(raw)
            except Exception:  # noqa: BLE001 - damaged records are the general decoder's
                continue
            for number in (wb.R_HISTORY, wb.R_SUMMARY, wb.R_CONFIG):
                if number not in top:
                    continue
                fast = wb._fast_items(top[number], history=number == wb.R_HISTORY)
                if fast is None:
                    continue
                if number == wb.R_HISTORY:
                    row, step = wb._slow_history(top[number])
                    assert (dict(zip(fast[0], fast[1], strict=True)), fast[2]) == (row, step)
                else:
                    general: dict[str, object] = {}
                    for field_number, _wire, item in wb.fields(top[number]):
                        assert field_number == 1 and isinstance(item, bytes)
                        path, value = wb._item(item)
                        general[".".join(path)] = value
                    assert dict(zip(fast[0], fast[1], strict=True)) == general
                checked += 1
    assert checked > 500  # the real fixtures' history and summary records


def test_fast_item_decoding_declines_what_it_cannot_vouch_for() -> None:
    from mlreport.readers import wandb as wb

    def item(key: bytes, value: bytes) -> bytes:
        return _ld(1, _ld(2, key) + _ld(16, value))

    assert wb._fast_items(item(b"a", b"1.5") + item(b"b", b"NaN"), history=True) is not None
    for body in (
        item(b"a", b"[1"),          # a container: bounded by the general decoder
        item(b"a", b"1,2"),         # not one JSON value
        item(b"a", b"9" * 5000),    # past the int-string limit
        item(b"a", b"\xff"),        # not UTF-8
        item(b"a", b" 1"),          # leading space
        item(b"a", b"1")[:-1],      # truncated
        _ld(2, _ld(2, b"a") + _ld(16, b"1")),  # a remove item (field 2 of a summary)
    ):
        assert wb._fast_items(body, history=False) is None, body


_ROWS = [
    [{"_step": 0, "loss": 1.0}, {"_step": 1, "loss": 0.5}, {"_step": 2, "loss": 0.25}],  # the usual
    [{"_step": 2, "loss": 1.0}, {"_step": 1, "loss": 0.5}, {"_step": 0, "loss": 2.0}],  # steps back
    [{"_step": 1, "loss": 0.0}, {"_step": 1, "loss": -0.0}, {"_step": 2, "loss": 3.0}],  # equal points
    [{"_step": 1, "loss": 2.0}, {"_step": 1, "loss": 1.0}],  # one step, two values
    [{"_step": 0, "loss": 1.0}, {"_step": 1, "loss": math.nan}, {"_step": 2, "loss": 0.5}],
    [{"_step": 0, "loss": math.inf}, {"_step": 1, "loss": -math.inf}],
    [{"_step": 0, "_timestamp": 1.5, "loss": 1.0}, {"_step": 1, "_timestamp": 2.25, "loss": 1.0}],
    [{"_step": 0, "_timestamp": 2.0, "loss": 1.0}, {"_step": 0, "_timestamp": 1.0, "loss": 1.0}],
]


@pytest.mark.parametrize("rows", _ROWS)
def test_metrics_are_from_history_of_the_sorted_points(rows: list[dict[str, object]]) -> None:
    # whatever shortcut _metrics takes to build a series (issue 12), it is the metric of
    # from_history over the points in MetricHistory.from_points' order, timestamps included
    from mlreport.readers import wandb

    run = wandb._RunData("r", history=[dict(r) for r in rows])
    metrics, _odd_rows = wandb._metrics(run, {}, True, wandb._Odd())
    points = []
    for r in rows:
        ts = wandb._ms_of(r.get("_timestamp"))
        points.append((int(r["_step"]), -1 if ts is None else ts, float(r["loss"])))  # type: ignore[call-overload, arg-type]
    want = Metric.from_history("loss", MetricHistory.from_points(points))
    assert [repr(m) for m in metrics] == [repr(want)]
