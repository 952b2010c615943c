"""mlreport.readers._bounded under hypothesis: hostile JSON and YAML raise ValueError or YAMLError only."""

from __future__ import annotations

import json
import math
import time

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mlreport.readers._bounded import (
    INT64_MAX,
    INT64_MIN,
    MAX_DEPTH,
    BoundedError,
    clamp_int64,
    finite_or_none,
    load_json,
    load_yaml,
)

from .mutate import yaml_bomb

# Text built from the characters that make JSON and YAML interesting, plus anything.
SYNTAX = st.text(
    alphabet=st.sampled_from(list("{}[]:,\"'\\ \n\t-0123456789.eE+truefalsn&*!|>#%@`?~\x00\ud800é")) | st.characters(),
    max_size=300,
)


@settings(max_examples=400, deadline=None)
@given(SYNTAX)
def test_load_json_raises_only_value_errors(text: str) -> None:
    try:
        load_json(text, max_depth=MAX_DEPTH)
    except ValueError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_load_json_on_bytes_raises_only_value_errors(data: bytes) -> None:
    try:
        load_json(data)
    except ValueError:  # UnicodeDecodeError is one
        pass


@settings(max_examples=400, deadline=None)
@given(SYNTAX)
@example("&*\ud800")  # an anchor and an alias take the event pass, which libyaml cannot encode
def test_load_yaml_raises_only_yaml_or_bounded_errors(text: str) -> None:
    try:
        load_yaml(text)
    except (yaml.YAMLError, BoundedError):
        pass


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSONISH)
def test_load_json_round_trips_ordinary_documents(value: object) -> None:
    assert load_json(json.dumps(value), max_depth=MAX_DEPTH) == value


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 100_000])
def test_deep_nesting_is_refused(depth: int) -> None:
    with pytest.raises(BoundedError):
        load_json("[" * depth + "]" * depth, max_depth=MAX_DEPTH)
    with pytest.raises(BoundedError):
        load_yaml("[" * depth + "]" * depth)


def test_huge_integers_become_floats_in_json_and_are_refused_in_yaml() -> None:
    assert load_json('{"a": ' + "9" * 5000 + "}") == {"a": math.inf}
    assert load_json("[-" + "9" * 5000 + "]") == [-math.inf]
    with pytest.raises(BoundedError, match="out of range"):
        load_yaml("a: " + "9" * 5000)


@pytest.mark.parametrize("levels", [9, 12, 30])
def test_alias_bomb_is_refused_quickly(levels: int) -> None:
    start = time.process_time()
    with pytest.raises(BoundedError, match="expand to more than"):
        load_yaml(yaml_bomb(levels) + f"top: *a{levels}\n".encode())
    assert time.process_time() - start < 30  # a bound, not a benchmark: unbounded takes minutes


def test_aliases_are_counted_as_copies_before_the_document_is_built() -> None:
    # every use of an alias counts as the copy a consumer sees: the mapping, keys a and b, x
    # (the list and its 3 items: 4) and b's list (1 + 3 x 4): 1 + 1 + 4 + 1 + 13 = 20 nodes
    doc = "a: &x [1, 2, 3]\nb: [*x, *x, *x]\n"
    assert load_yaml(doc) == {"a": [1, 2, 3], "b": [[1, 2, 3]] * 3}
    assert load_yaml(doc, max_nodes=20) == yaml.safe_load(doc)
    with pytest.raises(BoundedError, match="expand to more than 19 nodes"):
        load_yaml(doc, max_nodes=19)
    # refused while parsing: what follows the bomb (here a syntax error) is never reached
    with pytest.raises(BoundedError, match="expand to more than"):
        load_yaml(yaml_bomb(12) + b"top: *a12\nbad: [\n")
    # an alias nests its anchor's depth where it is used: 1 (the mapping) + 60 + 150 = 211
    deep = "a: &x " + "[" * 150 + "]" * 150 + "\nb: " + "[" * 60 + "*x" + "]" * 60 + "\n"
    with pytest.raises(BoundedError, match="nested deeper than 200 levels"):
        load_yaml(deep)
    assert load_yaml(deep, max_depth=211) is not None
    with pytest.raises(BoundedError, match="nested deeper than 210 levels"):
        load_yaml(deep, max_depth=210)
    # merge keys and an unknown alias behave as in PyYAML
    assert load_yaml("base: &b {k: 1}\nc: {<<: *b, j: 2}\n") == {"base": {"k": 1}, "c": {"k": 1, "j": 2}}
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: &x 1\nb: *y\n")


@given(st.integers())
def test_clamp_int64(value: int) -> None:
    out = clamp_int64(value)
    assert INT64_MIN <= out <= INT64_MAX
    assert out == value or (value > INT64_MAX and out == INT64_MAX) or (value < INT64_MIN and out == INT64_MIN)


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats()))
def test_finite_or_none(value: float | int | bool | None) -> None:
    out = finite_or_none(value)
    assert out is None or (isinstance(out, float) and math.isfinite(out))
    if isinstance(value, float) and math.isfinite(value):
        assert out == value
