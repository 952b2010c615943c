"""The readers' shared helpers (readers/_common.py): param text and JSON numbers."""

from __future__ import annotations

import json
import math

import pytest

from mlreport.readers._common import float_of_int, json_number, param_text

SCALARS: tuple[object, ...] = (
    0,
    1,
    -5,
    10**30,
    2**63,
    1.5,
    1e-7,
    1e300,
    -0.0,
    0.1 + 0.2,
    math.nan,
    math.inf,
    -math.inf,
    True,
    False,
    None,
    "x",
    "",
    [1, {"b": 1, "a": 2}],
    {},
    {"z": None},
    (1, 2),
)


@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_param_text_is_sorted_json_for_everything_but_text(value: object) -> None:
    # the scalar fast path must give json.dumps' own bytes (goldens and digests depend on them)
    expected = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    assert param_text(value) == expected


def test_param_text_of_int_and_float_subclasses_is_json_too() -> None:
    class Big(int):
        pass

    assert param_text(Big(3)) == "3"
    assert param_text(True) == "true"  # bool is an int subclass: JSON's word, not 'True'


def test_json_number_keeps_what_json_means() -> None:
    assert json_number(10**400) == math.inf and json_number(-(10**400)) == -math.inf
    assert json_number(3) == 3.0 and json_number(2.5) == 2.5
    assert math.isnan(json_number(math.nan))  # type: ignore[arg-type]
    assert json_number(True) is None and json_number("1") is None and json_number(None) is None


def test_float_of_int_is_an_infinity_of_the_sign_past_the_float_range() -> None:
    assert float_of_int(10**400) == math.inf and float_of_int(-(10**400)) == -math.inf
    assert float_of_int(2**1023) == 2.0**1023 and float_of_int(-7) == -7.0 and float_of_int(0.5) == 0.5
    with pytest.raises(TypeError):
        float_of_int(None)  # type: ignore[arg-type]  # only the range is its business
