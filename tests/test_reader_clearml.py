"""The ClearML offline reader on hostile values (FUZZ_FINDINGS F16): any field of task.json or of
an event swapped for a value of another type, or a number out of range, costs that value only.

The fixture sessions themselves are checked in tests/test_catalog_reader_kit.py.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import fsspec
import pytest

from mlreport.model import Experiment, Problem, Record, Run
from mlreport.readers import ReadOptions
from mlreport.readers._common import json_number
from mlreport.readers.clearml import ClearmlOfflineReader, _int
from mlreport.stores import Store, open_store

from .conftest import DATA

SESSION = DATA / "clearml" / "offline" / "offline-0edfdafc488f4342a6b17db72350ca61"
READER = ClearmlOfflineReader()
# what a type swap or a number mutation puts in place of a value (seed 2 cases 2720, 9303)
HOSTILE: tuple[object, ...] = (10**29, -(10**29), -1e300, 1e300, "x", None, True, [], [1, "a"], {}, {"a": 1}, 10**400)


def memory_session(files: dict[str, bytes]) -> Store:
    fs = fsspec.filesystem("memory")
    if fs.exists("/clearml-f16"):
        fs.rm("/clearml-f16", recursive=True)
    for name, data in files.items():
        fs.pipe(f"/clearml-f16/offline-x/{name}", data)
    return open_store("memory://clearml-f16")


def read(files: dict[str, bytes]) -> list[Record]:
    return list(READER.read(memory_session(files), "", ReadOptions()))


def pristine() -> dict[str, bytes]:
    return {name: (SESSION / name).read_bytes() for name in ("task.json", "metrics.jsonl", "log.jsonl")}


def paths(value: object, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every key path of a JSON value (the value itself included)."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from paths(item, (*prefix, i))


def swapped(value: object, path: tuple[str | int, ...], new: object) -> object:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return copy


def test_int_and_number_helpers_keep_what_fits() -> None:
    assert _int(-1e300) is None and _int(1e19) is None and _int(2**63) is None
    assert _int(12.0) == 12 and _int(-(2**63)) == -(2**63) and _int(True) is None and _int("3") is None
    assert json_number(10**400) == math.inf and json_number(-(10**400)) == -math.inf
    assert json_number(3) == 3.0 and json_number(True) is None and json_number("1") is None


def test_the_pristine_session_is_one_run_with_no_problem() -> None:
    records = read(pristine())
    assert [type(r) for r in records] == [Experiment, Run]


def test_every_task_field_swapped_costs_that_field_only() -> None:
    base = pristine()
    task = json.loads(base["task.json"])
    checked = 0
    for path in paths(task):
        if path in ((), ("id",)):
            continue  # a task without an id is not a task: a problem (test_catalog_reader_kit)
        for new in HOSTILE:
            files = {**base, "task.json": json.dumps(swapped(task, path, new)).encode()}
            records = read(files)  # raises if the reader stops
            runs = [r for r in records if isinstance(r, Run)]
            problems = [r for r in records if isinstance(r, Problem)]
            assert len(runs) == 1 and problems == [], (path, new, problems)
            checked += 1
    assert checked > 300


def test_every_event_field_swapped_costs_that_event_only() -> None:
    base = pristine()
    for name in ("metrics.jsonl", "log.jsonl"):
        lines = base[name].decode().splitlines()
        first = json.loads(lines[0])
        for path in paths(first):
            for new in HOSTILE:
                mutated = "\n".join([json.dumps(swapped(first, path, new)), *lines[1:]]).encode()
                records = read({**base, name: mutated})
                runs = [r for r in records if isinstance(r, Run)]
                assert len(runs) == 1, (name, path, new)
                assert not [r for r in records if isinstance(r, Problem)], (name, path, new)


def test_a_minus_1e300_timestamp_keeps_the_point_and_the_params() -> None:
    # seed 2 case 9303: the OverflowError stopped the reader; 8 params of the session were lost
    base = pristine()
    lines = base["metrics.jsonl"].decode().splitlines()
    batch = json.loads(lines[0])
    batch[0]["timestamp"] = -1e300
    records = read({**base, "metrics.jsonl": "\n".join([json.dumps(batch), *lines[1:]]).encode()})
    (run,) = [r for r in records if isinstance(r, Run)]
    reference = next(r for r in read(base) if isinstance(r, Run))
    assert dict(run.params) == dict(reference.params) and len(run.params) > 0
    key = f"{batch[0]['metric']}/{batch[0]['variant']}"
    assert run.metric(key).count == reference.metric(key).count  # type: ignore[union-attr]


def test_an_int_in_place_of_the_artifacts_list_keeps_the_run() -> None:
    # seed 2 case 2720: "'int' object is not iterable" stopped the reader
    base = pristine()
    task = json.loads(base["task.json"])
    task["execution"]["artifacts"] = 10**29
    records = read({**base, "task.json": json.dumps(task).encode()})
    (run,) = [r for r in records if isinstance(r, Run)]
    assert run.artifacts == () and len(run.params) == 5


def test_an_unexpected_fault_is_one_problem_naming_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlreport.readers.clearml as clearml

    def boom(*args: object) -> None:
        raise RuntimeError("surprise")

    monkeypatch.setattr(clearml, "_run", boom)
    records = read(pristine())
    assert [r.message() for r in records if isinstance(r, Problem)] == [
        "cannot read offline-x/task.json: the session could not be read: RuntimeError: surprise"
    ]
    assert not [r for r in records if isinstance(r, (Run, Experiment))]
