"""mlreport.sanitize: every string that reaches a page, a path or the search index is valid UTF-8."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlreport.sanitize import PAGE_TEXT_LIMIT, clean_text, cut_text, is_clean

ALLOWED_CONTROLS = "\t\n\r"


def _printable_utf8(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return all(ch in ALLOWED_CONTROLS or unicodedata.category(ch) != "Cc" for ch in s)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("accuracy", "accuracy"),
        ("", ""),
        ("line one\nline two\r\n\tindented", "line one\nline two\r\n\tindented"),
        ("na\x00me", "name"),
        ("\x00\x00", ""),
        ("bell\x07", "bell\ufffd"),
        ("esc \x1b[31mred", "esc \ufffd[31mred"),
        ("del\x7f c1\x85 \x9f", "del\ufffd c1\ufffd \ufffd"),
        ("form\x0cfeed\x0bvt", "form\ufffdfeed\ufffdvt"),
        ("lone \ud800 high", "lone \ufffd high"),
        ("lone \udfff low", "lone \ufffd low"),
        ("reversed \udc00\ud800", "reversed \ufffd\ufffd"),
        ("joined \ud83d\ude00 pair", "joined \U0001f600 pair"),
        ("nul inside pair \ud83d\x00\ude00", "nul inside pair \U0001f600"),
        ("café ☃ 日本 \U0001f600 \u00a0nbsp \u200bzwsp", "café ☃ 日本 \U0001f600 \u00a0nbsp \u200bzwsp"),
        ("\ufeffbom", "\ufeffbom"),
    ],
)
def test_clean_text_cases(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean
    assert is_clean(clean)
    assert is_clean(raw) == (raw == clean)
    clean.encode("utf-8")  # never raises


def test_clean_text_returns_the_same_object_when_clean() -> None:
    # The fast path: no copy for the common case (the catalog calls this on every string).
    for s in ("loss", "a b\nc", "日本語", "x" * 10_000):
        assert clean_text(s) is s


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF)))
def test_clean_text_always_valid_and_idempotent(s: str) -> None:
    out = clean_text(s)
    assert _printable_utf8(out)
    assert "\x00" not in out
    assert clean_text(out) == out
    assert is_clean(out)
    # Nothing clean is changed: every character that was fine is kept, in order.
    if _printable_utf8(s):
        assert out == s
    # Length: NUL removed, pairs joined, everything else one for one.
    assert len(out) <= len(s)


def test_cut_text_short_is_untouched() -> None:
    assert cut_text("abc", 3) == ("abc", False)
    assert cut_text("", 0) == ("", False)
    big = "x" * PAGE_TEXT_LIMIT
    kept, cut = cut_text(big)
    assert kept is big and not cut


def test_cut_text_long_value() -> None:
    value = "0123456789" * 2_000_000  # 20 MB: a param or note that must not be copied whole
    kept, cut = cut_text(value, 1000)
    assert cut
    assert kept == value[:1000]
    kept, cut = cut_text(value)
    assert cut and len(kept) == PAGE_TEXT_LIMIT


def test_cut_text_keeps_characters_whole() -> None:
    # A combining accent right after the cut: its base goes too, so no bare "e" stands for "é".
    assert cut_text("abce\u0301fgh", 4) == ("abc", True)
    # A joined emoji sequence is not split (a lone "man" is not the "family" that was there).
    family = "ab\U0001f468\u200d\U0001f469"
    kept, cut = cut_text(family, 4)
    assert cut and not kept.endswith("\u200d")
    assert kept == "ab"  # the whole joined sequence goes, not half of it
    # An unjoined surrogate pair (not yet cleaned) is not split.
    assert cut_text("ab\ud83d\ude00cd", 3) == ("ab", True)


def test_cut_text_rejects_negative_limit() -> None:
    with pytest.raises(ValueError, match="limit must be at least 0, not -1"):
        cut_text("abc", -1)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(min_value=0, max_value=40))
def test_cut_text_is_a_prefix(s: str, limit: int) -> None:
    kept, cut = cut_text(s, limit)
    assert s.startswith(kept)
    assert len(kept) <= limit
    assert cut == (len(s) > limit)
