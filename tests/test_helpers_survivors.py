"""Direct tests for what survived mutation of render/text.py and render/tables.py this session
(benchmarks/mutation.py --sample 3): the boundaries of plain_text, short_name and bounded, the
cut note with and without its file, a long cell with and without a link of its own, the long-word
boundary and a numeric list shorter than the columns.
"""

from __future__ import annotations

import pytest

from mlreport.render.tables import LONG_WORD, Cell, _cut_cell, cell_class, html_table, long_word
from mlreport.render.text import (
    CELL_TEXT_LIMIT,
    MAX_VALUE_FILES,
    Cut,
    bounded,
    cut_note,
    cut_value,
    plain_text,
    short_name,
    take_values,
)


@pytest.fixture(autouse=True)
def _no_values_left() -> None:
    take_values()  # each test starts with no full value kept by another


def test_plain_text_cuts_a_long_note_even_when_its_text_is_short() -> None:
    # the note is cut at limit * 4 characters before it is converted: what was left out is marked
    assert plain_text("a" + " " * 50, 10) == "a…"
    assert plain_text("b" + " " * 39, 10) == "b"  # exactly limit * 4: nothing left out
    assert plain_text("c" + " " * 19, 10) == "c"
    assert plain_text("**bold** words here", 10) == "bold…"


def test_short_name_and_bounded_keep_a_value_of_exactly_the_limit() -> None:
    assert short_name("abcdefgh", 3) == "abc…" and short_name("abc", 3) == "abc"
    assert short_name(None) == "" and short_name(12345, 3) == "123…"
    assert bounded("x" * 5, 5) == "x" * 5 and bounded("x" * 6, 5) == "xxxxx…"
    assert bounded({"k" * 301: ["y" * 6, 3]}, 5) == {"k" * 300 + "…": ["yyyyy…", 3]}


def test_cut_note_says_the_length_and_links_the_file_when_there_is_one() -> None:
    assert str(cut_note(Cut("ab", 1000, None))) == ' <span class="mlr-cut">… (cut: 1,000 characters)</span>'
    assert str(cut_note(Cut("ab", 1000, 'v/"x'))) == (
        ' <span class="mlr-cut">… (cut: 1,000 characters; <a href="v/&#34;x" download>full value</a>)</span>'
    )


def test_a_long_cell_links_its_full_value_unless_it_links_elsewhere() -> None:
    plain = _cut_cell(Cell("x" * 3000))
    assert plain.full is not None and plain.full.startswith("values/")
    assert plain.text.endswith(" … (cut: 3,000 characters; full value linked)")
    assert f'<a href="{plain.full}" download>full value</a>' in str(plain.html)
    linked = _cut_cell(Cell("x" * 3000, url="runs/a/"))
    assert linked.full is None and linked.url == "runs/a/"
    assert linked.text.endswith(" … (cut: 3,000 characters)") and "download" not in str(linked.html)
    short = Cell("x" * CELL_TEXT_LIMIT)
    assert _cut_cell(short) is short


def test_past_the_page_budget_a_long_cell_says_it_was_cut_without_a_link() -> None:
    for i in range(MAX_VALUE_FILES):
        assert cut_value(f"{i}" + "z" * 30_000) is not None
    over = _cut_cell(Cell("w" * 3000))
    assert over.full is None
    assert over.text.endswith(" … (cut: 3,000 characters)") and "download" not in str(over.html)


def test_the_long_word_boundary() -> None:
    assert LONG_WORD == 28
    assert not long_word("x" * LONG_WORD) and long_word("x" * (LONG_WORD + 1))
    assert cell_class("x" * LONG_WORD) is None and cell_class("x" * (LONG_WORD + 1)) == "mlr-long"


def test_a_numeric_list_shorter_than_the_columns_marks_only_its_own() -> None:
    table = str(html_table(["a", "b", "c", "d"], [[Cell("1"), Cell("2"), Cell("3"), Cell("4")]], numeric=[False, True]))
    assert '<th>a </th><th data-type="number">b </th><th>c </th><th>d </th>' in table


def test_plain_text_keeps_a_text_of_exactly_the_limit() -> None:
    assert plain_text("abcde", 5) == "abcde" and plain_text("abcdef", 5) == "abcde…"


def test_shown_escapes_and_notes_a_cut() -> None:
    from mlreport.render.text import PAGE_TEXT_LIMIT, shown

    assert str(shown("<b>", 10)) == "&lt;b&gt;" and str(shown(None)) == ""
    long = str(shown("<" * 12, 10))
    assert long.startswith("&lt;" * 10 + ' <span class="mlr-cut">… (cut: 12 characters; <a href="values/')
    assert long.endswith('.txt" download>full value</a>)</span>')
    assert CELL_TEXT_LIMIT == 2000 and PAGE_TEXT_LIMIT == 20_000


def test_cells_are_frozen() -> None:
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        Cell("a").text = "b"  # type: ignore[misc]


def test_plain_text_default_limit_and_empty() -> None:
    assert plain_text("x" * 200) == "x" * 200 and plain_text("x" * 201) == "x" * 200 + "…"
    assert plain_text(None) == "" and plain_text("") == ""


def test_fmt_duration_is_end_minus_start() -> None:
    from mlreport.render.text import fmt_duration

    assert fmt_duration(1000, 3500) == "2.5 s" and fmt_duration(5000, 5000) == "0.0 s"


def test_cut_value_keeps_short_text_and_names_the_full_value_by_its_digest() -> None:
    import hashlib
    import re

    assert cut_value("ab", 5) is None and cut_value("abcde", 5) is None
    kept = cut_value("abcdef", 5)
    assert kept is not None and kept.length == 6
    assert kept.file == f"values/{hashlib.sha256(b'abcdef').hexdigest()[:24]}.txt"
    assert re.fullmatch(r"values/[0-9a-f]{24}\.txt", kept.file)
    assert take_values() == {kept.file: b"abcdef"}
    loose = cut_value("abcdef", 5, keep=False)
    assert loose is not None and loose.file is None and take_values() == {}


def test_bounded_cuts_string_keys_only() -> None:
    assert bounded({1: "a", None: ["b"]}) == {1: "a", None: ["b"]}
    assert bounded(("k", 2.5)) == ["k", 2.5]


def test_a_cut_note_ends_a_long_description() -> None:
    from mlreport.render.text import PAGE_TEXT_LIMIT, note

    html = str(note("a" * (PAGE_TEXT_LIMIT + 1)))
    assert html.endswith(
        f'</p><p> <span class="mlr-cut">… (cut: {PAGE_TEXT_LIMIT + 1:,} characters; <a href="'
        + html.rsplit('<a href="', 1)[1]
    )
    assert html.startswith('<div class="mlreport-note" markdown="0"><p>a') and html.endswith("</span></p></div>")
    assert str(note("short")) == '<div class="mlreport-note" markdown="0"><p>short</p></div>'


def test_wide_text_and_long_word_boundaries_of_a_cell() -> None:
    from mlreport.render.tables import WIDE_TEXT

    assert WIDE_TEXT == 40
    prose = "ab " * 13 + "a"  # 40 characters with spaces
    assert len(prose) == WIDE_TEXT and cell_class(prose) is None and cell_class(prose + "b") == "mlr-wide"
    # longer than a long word, but every word of it shorter: nothing may break
    assert not long_word("x" * LONG_WORD + " y") and long_word("x" * (LONG_WORD + 1) + " y")


def test_a_long_html_cell_is_left_as_built() -> None:
    from markupsafe import Markup

    cell = Cell("", html=Markup("<b>" + "x" * 3000 + "</b>"))
    assert _cut_cell(cell) is cell


def test_a_short_text_with_spaces_is_not_prose() -> None:
    assert cell_class("a b") is None and cell_class("priya natarajan") is None


def test_table_data_defaults() -> None:
    from mlreport.render.tables import TableData

    data = TableData(("a",), ((Cell("1"),),))
    assert data.searchable is False and data.sortable is True and data.empty == "Nothing to show."


def test_fmt_number_keeps_the_fraction_of_a_negative_number() -> None:
    from mlreport.render.text import fmt_number

    assert fmt_number(-2.5) == "-2.5" and fmt_number(-2.0) == "-2" and fmt_number(2.5) == "2.5"


def test_every_value_cut_for_a_page_is_kept_until_it_is_taken() -> None:
    first = cut_value("a" * 30, 5)
    second = cut_value("b" * 30, 5)
    assert first is not None and second is not None and first.file != second.file
    assert set(take_values()) == {first.file, second.file}


def test_plain_text_converts_only_the_first_four_limits_of_a_note() -> None:
    # a link that closes past limit * 4 is never seen: the cut text keeps its "[" (what was
    # converted is the first 40 characters, not the whole note)
    assert plain_text("[" + "a" * 50 + "](u)", 10) == "[aaaaaaaaa…"
    assert plain_text("a" + " " * 44, 10) == "a…"  # 45 characters: past limit * 4, so marked cut


def test_plain_text_converts_a_note_of_exactly_four_limits_whole() -> None:
    # 40 characters: the link closes inside what is converted, so its text is shown without "["
    assert plain_text("[" + "a" * 35 + "](u)", 10) == "a" * 10 + "…"


# -- survivors of the 2026-12-02 14:56 run of render/tables.py (1 in 3), each killed here ---------


def test_a_long_sort_key_is_cut_to_what_the_cell_can_show_and_a_short_one_is_kept() -> None:
    long = _cut_cell(Cell("v1", sort="v" * (CELL_TEXT_LIMIT + 1000)))
    assert long.sort == "v" * CELL_TEXT_LIMIT and long.text == "v1"  # the key, not a (text, cut) pair
    at_limit = Cell("v2", sort="w" * CELL_TEXT_LIMIT)
    short = Cell("v3", sort="1.2.3")
    assert _cut_cell(at_limit) is at_limit and _cut_cell(short) is short


def test_prose_shorter_than_the_wide_width_is_not_wide() -> None:
    from mlreport.render.tables import WIDE_TEXT

    prose = "a few words " * 3  # 36 characters, past LONG_WORD, short of WIDE_TEXT
    assert LONG_WORD < len(prose) < WIDE_TEXT and cell_class(prose) is None


def test_an_added_column_is_text() -> None:
    from mlreport.render.tables import TableData

    table = TableData(columns=("name", "loss"), rows=((Cell("a"), Cell("0.5")),), numeric=(False, True))
    added = table.add("note", lambda _record: "x", at=1)
    assert added.columns == ("name", "note", "loss") and added.numeric == (False, False, True)

