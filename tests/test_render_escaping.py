"""The render fast paths of issue 7 tested directly: ``esc`` (escaping without a Markup per
cell) is markupsafe's escape, the note cache gives each caller what a fresh conversion gives,
and the short-cell shortcut of ``cell_class`` agrees with the full test."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup, escape

from mlreport.render import text
from mlreport.render.tables import LONG_WORD, WIDE_TEXT, Cell, cell_class, html_table, key_value_table, long_word
from mlreport.render.text import NOTE_CACHE_CHARS, esc, h, note, take_values

HOSTILE = ["", "plain", "<script>alert(1)</script>", "a&b", "&amp;", "'\"", "<<>>", "é ☃ \u202e", "x" * 5000]


@given(st.text())
def test_esc_is_markupsafe_escape(value: str) -> None:
    assert esc(value) == str(escape(value)) == str(h(value))
    assert type(esc(value)) is str


def test_esc_of_hostile_strings() -> None:
    for value in HOSTILE:
        assert esc(value) == str(escape(value))
    assert esc("<a href='x'>&\"</a>") == "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"


def test_esc_of_what_is_not_a_plain_string_is_what_h_makes_of_it() -> None:
    # h takes the text of anything (str() of Markup is its text): esc does the same
    assert esc(Markup("<b>x</b>")) == str(h(Markup("<b>x</b>"))) == "&lt;b&gt;x&lt;/b&gt;"
    assert esc(None) == "" and esc(3) == "3" and esc(0.5) == "0.5"


def test_tables_escape_every_string_they_are_given() -> None:
    rows = [[Cell(v, url=f"../{v}/"), Cell(v, sort=v)] for v in HOSTILE[1:6]]
    out = str(html_table(["<col>", "a&b"], rows, searchable=True))  # rows as HTML, not JSON
    assert "<script>" not in out and "<col>" not in out and "&lt;col&gt;" in out
    for v in HOSTILE[1:6]:
        assert f">{esc(v)} </td>" in out or f">{esc(v)}</a> </td>" in out
        assert f'href="../{esc(v)}/"' in out and f'data-sort="{esc(v)}"' in out
    kv = str(key_value_table([("<k>", Cell("<v>", url="'q'")), ("t", Cell(html=Markup("<i>ok</i>")))]))
    assert "&lt;k&gt;" in kv and '<a href="&#39;q&#39;">&lt;v&gt;</a>' in kv and "<i>ok</i>" in kv


def test_the_short_cell_shortcut_agrees_with_the_full_test() -> None:
    for n in range(LONG_WORD - 2, WIDE_TEXT + 3):
        word = "w" * n
        prose = ("word " * n)[:n]
        assert (cell_class(word) == "mlr-long") == long_word(word)
        assert cell_class(prose) == ("mlr-wide" if n > WIDE_TEXT and " " in prose.strip() else None)
    assert cell_class("w" * LONG_WORD) is None and cell_class("w" * (LONG_WORD + 1)) == "mlr-long"


def test_a_cached_note_is_what_a_fresh_conversion_gives() -> None:
    source = "# Title\n\n<b>raw</b> **bold** [x](javascript:alert(1)) [y](https://example.org)\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    text._note_html.cache_clear()
    first = note(source)
    hits = text._note_html.cache_info().hits
    second = note(source)
    assert text._note_html.cache_info().hits == hits + 1  # converted once
    assert first == second
    assert "<b>raw</b>" not in first and "javascript:" not in first and "<table>" in first
    fresh = text._convert(source.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    assert str(first) == f'<div class="mlreport-note" markdown="0">{fresh}</div>'


def test_a_long_note_is_converted_each_time_and_not_kept() -> None:
    text._note_html.cache_clear()
    long = "para " * (NOTE_CACHE_CHARS // 5 + 10)
    assert note(long) == note(long)
    assert text._note_html.cache_info().currsize == 0


def test_a_cut_note_writes_its_full_value_for_every_page_that_shows_it() -> None:
    huge = "x " * 60_000  # past the page's text limit: cut, its full value a file beside the page
    take_values()
    first = note(huge)
    files_first = take_values()
    second = note(huge)
    files_second = take_values()
    assert first == second and files_first and files_first == files_second
