"""Dump a store as the writing tool's own reader reads it (run in a venv that has the tool).

    python dump_tools.py tensorboard LOGDIR > dump.json   # tensorboard's EventMultiplexer
    python dump_tools.py hf RUN_DIR > dump.json           # transformers' TrainerState
    python dump_tools.py wandb RUN_DIR > dump.json        # wandb's DataStore + its protobufs
    python dump_tools.py gto REPO > dump.json             # gto's history (gto.api.history)

Test-only: mlreport never imports these tools. ``python dump_tools.py TOOL --check`` exits 0
when the tool imports here (the test skips the tool otherwise). Output: ``{"runs": {name:
{"history": {key: [[step, time_ms, value], ...]}, ...}}}`` in each tool's own terms, and what
it failed to read under ``"errors"``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any


def num(v: float) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def tensorboard(logdir: str) -> dict[str, Any]:
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.backend.event_processing import event_multiplexer
    from tensorboard.util import tensor_util

    # keep every event (0 = no sampling): the default keeps 1,000 scalars per tag
    guidance = {ea.SCALARS: 0, ea.TENSORS: 0, ea.HISTOGRAMS: 1, ea.IMAGES: 1, ea.AUDIO: 1, ea.COMPRESSED_HISTOGRAMS: 1}
    mux = event_multiplexer.EventMultiplexer(size_guidance=guidance)
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    out: dict[str, Any] = {"runs": {}}
    for run in sorted(mux.Runs()):
        acc = mux.GetAccumulator(run)
        tags = acc.Tags()
        history: dict[str, list[list[object]]] = {}
        for tag in tags.get("scalars", []):
            history[tag] = [[e.step, round(e.wall_time * 1000), num(float(e.value))] for e in acc.Scalars(tag)]
        for tag in tags.get("tensors", []):
            meta = acc.SummaryMetadata(tag)
            if meta.plugin_data.plugin_name not in ("scalars", ""):
                continue  # text, hparams: not a series
            points = []
            for e in acc.Tensors(tag):
                arr = tensor_util.make_ndarray(e.tensor_proto)
                if arr.shape == () and arr.dtype.kind in "fiu":
                    points.append([e.step, round(e.wall_time * 1000), num(float(arr))])
            if points:
                history[tag] = points
        out["runs"][run] = {"history": history}
    return out


def hf(run_dir: str) -> dict[str, Any]:
    from transformers import TrainerState

    out: dict[str, Any] = {"runs": {}}
    root = Path(run_dir)
    for path in sorted(root.rglob("trainer_state.json")):
        state = TrainerState.load_from_json(str(path))
        history: dict[str, list[list[object]]] = {}
        for entry in state.log_history:
            step = entry.get("step")
            for key, value in entry.items():
                if key == "step" or isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                history.setdefault(key, []).append([step, None, num(float(value))])
        out["runs"][str(path.parent.relative_to(root))] = {
            "history": history,
            "global_step": state.global_step,
            "best_metric": num(state.best_metric) if state.best_metric is not None else None,
            "best_model_checkpoint": state.best_model_checkpoint,
            "epoch": state.epoch,
            "max_steps": state.max_steps,
        }
    return out


def wandb(run_dir: str) -> dict[str, Any]:
    from wandb.proto import wandb_internal_pb2 as pb
    from wandb.sdk.internal import datastore

    out: dict[str, Any] = {"runs": {}, "errors": []}
    for path in sorted(Path(run_dir).rglob("*.wandb")):
        ds = datastore.DataStore()
        try:
            ds.open_for_scan(str(path))
        except Exception as exc:  # noqa: BLE001 - wandb's own reader refuses the file: say so
            out["errors"].append(f"{path.name}: {type(exc).__name__}: {exc}")
            continue
        run: dict[str, Any] = {"history": {}, "summary": {}, "config": {}, "exit_code": None}
        while True:
            try:
                data = ds.scan_data()
            except Exception as exc:  # noqa: BLE001 - a damaged block ends wandb's own scan
                out["errors"].append(f"{path.name}: {type(exc).__name__}: {exc}")
                break
            if data is None:
                break
            rec = pb.Record()
            rec.ParseFromString(data)
            kind = rec.WhichOneof("record_type")
            if kind == "run":
                run["id"], run["name"], run["project"] = rec.run.run_id, rec.run.display_name, rec.run.project
                for item in rec.run.config.update:
                    run["config"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
            elif kind == "config":
                for item in rec.config.update:
                    run["config"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
            elif kind == "history":
                row = _plain({(i.key or ".".join(i.nested_key)): json.loads(i.value_json) for i in rec.history.item})
                step = row.get("_step", rec.history.step.num)
                ts = row.get("_timestamp")
                for key, value in row.items():
                    if key.startswith("_") or isinstance(value, bool) or not isinstance(value, (int, float)):
                        continue
                    run["history"].setdefault(key, []).append(
                        [step, None if ts is None else round(ts * 1000), num(float(value))]
                    )
            elif kind == "summary":
                update = {(i.key or ".".join(i.nested_key)): json.loads(i.value_json) for i in rec.summary.update}
                run["summary"].update(_plain(update))
            elif kind == "exit":
                run["exit_code"] = rec.exit.exit_code
        out["runs"][path.parent.name] = run
    return out


def gto(repo: str) -> dict[str, Any]:
    """Every assignment and unassignment event ``gto history`` lists, oldest first."""
    from gto.api import history

    events = [
        {
            "artifact": e["artifact"],
            "stage": e["stage"],
            "version": e["version"],
            "event": e["event"],
            "time": int(e["timestamp"].timestamp() * 1000),
            "ref": e["ref"],
        }
        for e in history(repo, ascending=True)
        if e["event"] in ("assignment", "unassignment")
    ]
    return {"events": events}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row without the fields of its media objects (``examples._type: image-file`` makes
    ``examples.width`` a field of an image, not a metric; wandb writes them as nested keys)."""
    media = {k[: -len("._type")] for k in row if k.endswith("._type")}
    return {k: v for k, v in row.items() if not any(k == m or k.startswith(m + ".") for m in media)}


TOOLS = {"tensorboard": tensorboard, "hf": hf, "wandb": wandb, "gto": gto}
IMPORTS = {
    "tensorboard": "tensorboard",
    "hf": "transformers",
    "wandb": "wandb.sdk.internal.datastore",
    "gto": "gto.api",
}


def main() -> None:
    tool, arg = sys.argv[1], sys.argv[2]
    if arg == "--check":
        __import__(IMPORTS[tool])
        return
    json.dump(TOOLS[tool](arg), sys.stdout, indent=1)


if __name__ == "__main__":
    main()
