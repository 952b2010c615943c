"""The bounded parsers' depth limit tested directly (issue 12 made the walk of the result
conditional on a count of the characters that open a level): the limit holds exactly at
``max_depth`` whether or not the walk runs, and the count is an upper bound of the depth."""

from __future__ import annotations

import json

import pytest
import yaml

from mlreport.readers import _bounded
from mlreport.readers._bounded import BoundedError, load_json, load_yaml


def _nested_json(depth: int) -> str:
    return "[" * (depth - 1) + '{"a": 1}' + "]" * (depth - 1)


@pytest.mark.parametrize("depth", [1, 2, 5, 6, 7])
def test_json_deeper_than_max_depth_is_refused_and_not_deeper_is_read(depth: int) -> None:
    text = _nested_json(depth)
    if depth > 5:
        with pytest.raises(BoundedError):
            load_json(text, max_depth=5)
        with pytest.raises(BoundedError):
            load_json(text.encode("utf-16"), max_depth=5)  # json.loads takes UTF-16 bytes too
    else:
        assert load_json(text, max_depth=5) == json.loads(text)
        assert load_json(text.encode("utf-32"), max_depth=5) == json.loads(text)


def test_brackets_in_strings_only_make_the_walk_run() -> None:
    text = json.dumps({"note": "[[[[[[[[{{{{{{", "x": [1, 2]})
    assert _bounded._json_opens(text) > 5
    assert load_json(text, max_depth=5)["x"] == [1, 2]


def test_the_count_of_opening_characters_bounds_the_depth() -> None:
    for depth in range(1, 30):
        text = _nested_json(depth)
        assert _bounded._json_opens(text) >= depth
        assert _bounded._json_opens(text.encode("utf-16-le")) >= depth


def test_the_walk_is_skipped_only_when_the_count_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    walked: list[int] = []
    real = _bounded._check_depth
    monkeypatch.setattr(_bounded, "_check_depth", lambda v, d: walked.append(d) or real(v, d))
    load_json('{"a": [1, {"b": 2}]}', max_depth=5)
    load_yaml("a: 1\nb: [1, 2]\n", max_depth=5)
    assert walked == []
    with pytest.raises(BoundedError):
        load_json(_nested_json(7), max_depth=5)
    with pytest.raises(BoundedError):
        load_yaml("a:\n" + "".join("  " * i + "- \n" for i in range(1, 8)) + "  " * 8 + "- 1\n", max_depth=5)
    assert walked == [5, 5]


def _nested_yaml(depth: int) -> str:
    # block mappings, one key a level: depth levels of dicts
    return "".join("  " * i + f"k{i}:\n" for i in range(depth - 1)) + "  " * (depth - 1) + "leaf: 1\n"


@pytest.mark.parametrize("depth", [1, 4, 5, 6, 9])
def test_yaml_deeper_than_max_depth_is_refused_and_not_deeper_is_read(depth: int) -> None:
    text = _nested_yaml(depth)
    if depth > 5:
        with pytest.raises(BoundedError):
            load_yaml(text, max_depth=5)
    else:
        assert load_yaml(text, max_depth=5) == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text",
    ["[[[[[[1]]]]]]", "{a: {b: {c: {d: {e: {f: 1}}}}}}", "- - - - - - 1\n", "? a\n: [[[[[1]]]]]\n"],
)
def test_every_kind_of_yaml_nesting_counts(text: str) -> None:
    with pytest.raises(BoundedError):
        load_yaml(text, max_depth=5)
