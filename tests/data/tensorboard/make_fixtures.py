"""Write the TensorBoard fixture logdirs with the real writers, no TensorFlow, no torch.

- ``tensorboardX.SummaryWriter`` (2.6.5) writes the ``simple_value`` scalars, text, a histogram
  and ``add_hparams`` (its ``<run>/<time.time()>/`` sub-directory), as PyTorch's
  ``torch.utils.tensorboard`` does.
- ``tensorboard.summary.writer.event_file_writer.EventFileWriter`` (tensorboard 2.21.0, the
  TF-free writer that ``torch.utils.tensorboard`` uses) writes the TF2 encoding: rank-0 tensors
  from ``tensorboard.plugins.scalar.summary_v2.scalar_pb`` (``float_val``), the hparams
  ``session_start_info`` from ``tensorboard.plugins.hparams.summary_v2.hparams_pb`` and text from
  ``text_pb``. TensorFlow itself is not installed (about 600 MB), so the ``tensor_content``
  encoding that TF's C++ writer uses (float32 and a double) is built with tensorboard's compat
  protos (``summary_pb2``/``tensor_pb2``); repeated tags after the first lose their metadata, as
  TF1's ``FileWriter`` does.
- The broken cases are hand-made from a tensorboardX file: cut inside the last record, a flipped
  byte in a record's data, a flipped byte in a record's length, a zero-length file, and a Git LFS
  pointer (``git lfs pointer --file``, Debian's git-lfs 3.3.0) instead of the file.

The clock, host name and pid are fixed, and the hparams maps serialized in key order, so that a
rerun writes the same bytes.

Run from the repository root::

    python3.11 -m venv /tmp/venv-tb
    /tmp/venv-tb/bin/pip install tensorboard==2.21.0 tensorboardX==2.6.5 numpy==2.4.6
    apt-get install -y git-lfs
    /tmp/venv-tb/bin/python tests/data/tensorboard/make_fixtures.py

Cases (see README.md here): ``logdir`` (runs ``tbx``, ``tf2``, ``restarted``) and ``broken``
(runs ``truncated``, ``bad_crc``, ``bad_header``, ``empty``, ``lfs``).
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
T0 = 1795500000.0


class Clock:
    """A frozen ``time.time``: writers' background threads read the same value."""

    now = T0

    @classmethod
    def time(cls) -> float:
        return cls.now

    @classmethod
    def at(cls, seconds: float) -> float:
        cls.now = T0 + seconds
        return cls.now


time.time = Clock.time
socket.gethostname = lambda: "fixture-host"
os.getpid = lambda: 4242

import numpy as np  # noqa: E402
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, types_pb2  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402
from tensorboard.plugins.hparams import summary_v2 as hparams_summary  # noqa: E402
from tensorboard.plugins.scalar import summary_v2 as scalar_summary  # noqa: E402
from tensorboard.plugins.text import summary_v2 as text_summary  # noqa: E402
from tensorboard.summary.writer.event_file_writer import EventFileWriter  # noqa: E402
from tensorboardX import SummaryWriter  # noqa: E402
from tensorboardX.proto import plugin_hparams_pb2  # noqa: E402


def _deterministic(cls: type) -> None:
    """Protobuf map fields (the hparams) serialize in hash order unless asked otherwise."""
    original = cls.SerializeToString
    cls.SerializeToString = lambda self, **kw: original(self, deterministic=True)


_deterministic(plugin_data_pb2.HParamsPluginData)
_deterministic(plugin_hparams_pb2.HParamsPluginData)


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def write_tbx(run: Path) -> None:
    """tensorboardX: simple_value scalars, text, a histogram (ignored), add_hparams."""
    Clock.at(0)
    w = SummaryWriter(logdir=str(run), flush_secs=3600)
    for step, (loss, lr) in enumerate([(1.0, 0.1), (0.6, 0.1), (0.45, 0.05), (0.4, 0.05)]):
        t = Clock.at(10 + step)
        w.add_scalar("train/loss", loss, step, walltime=t)
        w.add_scalar("train/lr", lr, step, walltime=t)
    w.add_histogram("weights", np.arange(10.0), 3, walltime=Clock.at(14))
    w.add_text("notes", "first note", 0, walltime=Clock.at(15))
    w.add_text("notes", "baseline <b>run</b>", 3, walltime=Clock.at(16))
    Clock.at(20)
    w.add_hparams(
        {"lr": 0.1, "batch_size": 32, "optimizer": "sgd", "augment": True},
        {"hparam/accuracy": 0.91},
    )
    w.close()


def tensor_event(
    step: int, tag: str, tensor: tensor_pb2.TensorProto, first: bool
) -> event_pb2.Event:
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
    if first:
        value.metadata.plugin_data.plugin_name = "scalars"
        value.metadata.data_class = summary_pb2.DATA_CLASS_SCALAR
    summary = summary_pb2.Summary(value=[value])
    return event_pb2.Event(wall_time=Clock.now, step=step, summary=summary)


def write_tf2(run: Path) -> None:
    """The TF2 encoding: rank-0 tensors with plugin "scalars", hparams_pb, text_pb."""
    Clock.at(100)
    w = EventFileWriter(str(run), flush_secs=3600)
    Clock.at(101)
    hp = hparams_summary.hparams_pb(
        {"learning_rate": 0.001, "layers": 4, "optimizer": "adam", "dropout": 0.25,
         "use_bn": False},
        trial_id="trial-7", start_time_secs=T0 + 101,
    )
    w.add_event(event_pb2.Event(wall_time=Clock.now, summary=hp))
    for step, acc in enumerate([0.5, 0.625, 0.75]):  # float_val, metadata every time (scalar_pb)
        Clock.at(110 + step)
        w.add_event(event_pb2.Event(wall_time=Clock.now, step=step,
                                    summary=scalar_summary.scalar_pb("val/acc", acc)))
    for step, loss in enumerate([0.9, 0.7, 0.65]):  # tensor_content float32, metadata once
        Clock.at(120 + step)
        t = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_content=struct.pack("<f", loss))
        w.add_event(tensor_event(step, "val/loss", t, first=step == 0))
    for step, ppl in enumerate([12.5, 9.25]):  # tensor_content float64
        Clock.at(130 + step)
        t = tensor_pb2.TensorProto(dtype=types_pb2.DT_DOUBLE, tensor_content=struct.pack("<d", ppl))
        w.add_event(tensor_event(step * 10, "val/perplexity", t, first=step == 0))
    Clock.at(140)
    w.add_event(event_pb2.Event(wall_time=Clock.now, step=2,
                                summary=text_summary.text_pb("summary", "tf2 style run")))
    w.close()


def write_restarted(run: Path) -> None:
    """Two writers in one dir: a run resumed from step 2 (step 2 logged twice)."""
    Clock.at(200)
    w = SummaryWriter(logdir=str(run), flush_secs=3600)
    for step, loss in enumerate([2.0, 1.5, 1.2]):
        w.add_scalar("loss", loss, step, walltime=Clock.at(201 + step))
    w.close()
    Clock.at(300)
    w = SummaryWriter(logdir=str(run), flush_secs=3600, filename_suffix=".resumed")
    for step, loss in [(2, 1.1), (3, 0.9), (4, 0.8)]:
        w.add_scalar("loss", loss, step, walltime=Clock.at(300 + step))
    w.close()


def frames(data: bytes) -> list[tuple[int, int]]:
    """(offset, payload length) of each TFRecord frame."""
    out, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        out.append((pos, length))
        pos += 16 + length
    return out


def write_broken(logdir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        Clock.at(400)
        w = SummaryWriter(logdir=str(src), flush_secs=3600)
        for step, loss in enumerate([1.0, 0.8, 0.6, 0.5, 0.45]):
            w.add_scalar("loss", loss, step, walltime=Clock.at(401 + step))
        w.close()
        (good,) = sorted(src.glob("events.out.tfevents.*"))
        data = good.read_bytes()
        name = good.name
        fr = frames(data)  # 0: file_version, 1..5: loss at steps 0..4

        truncated = fresh(logdir / "truncated")
        last_offset, last_len = fr[-1]
        (truncated / name).write_bytes(data[: last_offset + 12 + last_len // 2])

        bad_crc = fresh(logdir / "bad_crc")
        flipped = bytearray(data)
        offset, length = fr[3]  # loss at step 2
        flipped[offset + 12 + length - 1] ^= 0x01  # the last byte of the float value
        (bad_crc / name).write_bytes(bytes(flipped))

        bad_header = fresh(logdir / "bad_header")
        flipped = bytearray(data)
        offset, _length = fr[4]  # loss at step 3
        flipped[offset] ^= 0x40  # the length's low byte
        (bad_header / name).write_bytes(bytes(flipped))

        empty = fresh(logdir / "empty")
        (empty / name).write_bytes(b"")

        lfs = fresh(logdir / "lfs")
        pointer = subprocess.run(["git", "lfs", "pointer", f"--file={good}"], check=True,
                                 capture_output=True, text=True).stdout
        (lfs / name).write_text(pointer)


if __name__ == "__main__":
    logdir = fresh(HERE / "logdir")
    write_tbx(logdir / "tbx")
    write_tf2(logdir / "tf2")
    write_restarted(logdir / "restarted")
    write_broken(fresh(HERE / "broken"))
