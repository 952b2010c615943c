"""Regressions found by the fuzz harness (FUZZ_FINDINGS F8, F9): values a store may declare
that crashed the build with an internal error."""

from __future__ import annotations

from mlreport.catalog import version_sort_key
from mlreport.render.text import fmt_size


def test_version_order_is_natural() -> None:
    versions = ["10", "2", "v1.10.0", "v1.2.0", "1", "v1.2.0-rc1", "02"]
    assert sorted(versions, key=version_sort_key) == ["1", "2", "02", "10", "v1.2.0", "v1.2.0-rc1", "v1.10.0"]


def test_a_five_thousand_digit_version_sorts_after_the_others() -> None:
    huge = "9" * 5000
    assert sorted([huge, "3", "12"], key=version_sort_key) == ["3", "12", huge]


def test_a_non_ascii_digit_is_text_not_a_number() -> None:
    # '²' is str.isdigit() but int() refuses it
    assert version_sort_key("v²") == ((1, 0, "v²"),)


def test_sizes_out_of_range_are_named_not_a_crash() -> None:
    assert fmt_size(10**29) == "invalid size"
    assert fmt_size(-1) == "invalid size"
    assert fmt_size(2048) == "2.0 KB"
    assert fmt_size(5) == "5 B"
