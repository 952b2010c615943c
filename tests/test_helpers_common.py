"""The readers' shared helpers (readers/_common.py), tested directly: param text, JSON numbers,
nested params and a store folder's name. Written against the mutants that survived the reader
kit's tests (benchmarks/mutation.py); what no test can tell apart is listed in the report.
"""

from __future__ import annotations

import enum
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mlreport.readers._bounded import MAX_DEPTH, BoundedError
from mlreport.readers._common import flatten_params, json_number, param_text, store_dir_name


class Level(enum.IntEnum):
    HIGH = 3


class Text(str):
    pass


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("a b", "a b"),
        ("", ""),
        (Text("sub"), "sub"),
        (0, "0"),
        (-12, "-12"),
        (10**30, str(10**30)),
        (Level.HIGH, "3"),
        (0.1, "0.1"),
        (-0.0, "-0.0"),
        (1e300, "1e+300"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (math.nan, "NaN"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        ([1, "a", None], '[1, "a", null]'),
        ({"b": 1, "a": [True]}, '{"a": [true], "b": 1}'),  # sorted keys: one text whatever the order
    ],
)
def test_param_text(value: object, text: str) -> None:
    assert param_text(value) == text


@pytest.mark.parametrize("value", [0, -7, 10**30, 0.1, -0.0, 1e300, 5e-324, True, False, None, "x"])
def test_scalars_take_the_fast_path_and_never_reach_json(value: object, monkeypatch: pytest.MonkeyPatch) -> None:
    # the scalars every store is full of are written without json.dumps (a third of a small run's
    # param time, issue 12); their text is json's own, as the parametrized cases above check
    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError(f"json.dumps called for {value!r}")

    expected = param_text(value)
    monkeypatch.setattr("mlreport.readers._common.json.dumps", refuse)
    assert param_text(value) == expected


@pytest.mark.parametrize(
    ("value", "number"),
    [(1, 1.0), (-2.5, -2.5), (10**400, math.inf), (-(10**400), -math.inf), (True, None), ("1", None), (None, None)],
)
def test_json_number(value: object, number: float | None) -> None:
    assert json_number(value) == number
    assert type(json_number(value)) is (float if number is not None else type(None))


def test_json_number_keeps_nan() -> None:
    assert math.isnan(json_number(math.nan) or 0.0)


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def test_flatten_params_joins_keys_and_keeps_null() -> None:
    out: dict[str, str] = {}
    flatten_params("cfg", {"a": {"b": 1, "c": None}, "d": {}, "e": [1, 2]}, out)
    assert out == {"cfg.a.b": "1", "cfg.a.c": "null", "cfg.d": "{}", "cfg.e": "[1, 2]"}


def test_flatten_params_takes_max_depth_levels_and_refuses_one_more() -> None:
    out: dict[str, str] = {}
    flatten_params("p", _nested(MAX_DEPTH), out)
    assert list(out.values()) == ["1"] and next(iter(out)).count(".") == MAX_DEPTH
    with pytest.raises(BoundedError) as info:
        flatten_params("p", _nested(MAX_DEPTH + 1), {})
    where = ("p" + ".k" * MAX_DEPTH)[:80]  # the key path where the limit was reached, cut at 80
    assert str(info.value) == f"params nested deeper than {MAX_DEPTH} levels under '{where}'"


def test_a_value_json_cannot_write_is_bounded_error_naming_the_param() -> None:
    circular: list[object] = []
    circular.append(circular)
    out: dict[str, str] = {}
    flatten_params("c", circular, out)  # ad2786f: param_text is total; a self-containing value has a fixed text
    assert out == {"c": "(a value that contains itself)"}
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(BoundedError) as info:
        flatten_params("p", deep, {})
    assert str(info.value) == "param 'p' cannot be written as text: RecursionError"


def _store(url: str, local: Path | None = None) -> Any:
    return SimpleNamespace(url=url, local_root=lambda: local)


@pytest.mark.parametrize(
    ("url", "path", "local", "name"),
    [
        ("s3://bucket/team/runs/", "", None, "runs"),
        ("s3://bucket", "", None, "bucket"),
        ("", "", None, "fallback"),
        ("gs://b/", "", None, "b"),
        ("s3://b/odd://runs", "", None, "runs"),  # only the scheme is cut off
        ("/data/x", "a/b/", None, "b"),
        ("C:\\data\\runs", "", None, "runs"),
        (".", "", Path("/work/project"), "project"),
        ("..", "", Path("/work"), "work"),
        ("./", "", None, "fallback"),
        ("runs", "", Path("/elsewhere"), "runs"),
    ],
)
def test_store_dir_name(url: str, path: str, local: Path | None, name: str) -> None:
    assert store_dir_name(_store(url, local), path, "fallback") == name


# -- survivors of the 2026-12-02 14:46 mutation run (1 in 3), each killed here ------------------


def _mixed(depth: int, wrap: str) -> object:
    """A value ``depth`` levels deep whose mappings have keys of two types (JSON cannot write
    them as they are: param_text names every key as text)."""
    value: object = "x" if wrap == "mapping" else {1: "x", "k": 0}
    for _ in range(depth if wrap == "mapping" else depth - 1):  # the leaf mapping is a level
        value = {1: value, "k": 0} if wrap == "mapping" else [value]
    return value


@pytest.mark.parametrize("wrap", ["mapping", "list"])
def test_keys_of_several_types_are_text_down_to_the_depth_bound(wrap: str) -> None:
    from mlreport.readers._bounded import MAX_DEPTH

    assert param_text({2: "a", "b": 1, 1: "c"}) == '{"1": "c", "2": "a", "b": 1}'  # sorted as text
    deep = param_text(_mixed(MAX_DEPTH, wrap))
    assert deep.count("x") == 1 and deep.startswith('{"1": {"1"' if wrap == "mapping" else '[[[[')
    with pytest.raises(RecursionError, match="nested too deep"):
        param_text(_mixed(MAX_DEPTH + 1, wrap))


def test_a_pointer_is_at_most_the_specs_1024_bytes() -> None:
    from mlreport.readers._common import LFS_MAX_SIZE, LFS_SPEC, lfs_pointer

    at_limit = LFS_SPEC + b"\noid sha256:ab\n" + b"#" * (LFS_MAX_SIZE - len(LFS_SPEC) - 15)
    assert len(at_limit) == LFS_MAX_SIZE == 1024 and lfs_pointer(at_limit) == ("sha256:ab", None)
    assert lfs_pointer(at_limit + b"#") is None

