"""Direct tests of the helpers the record depends on, written against the mutants that survived
``benchmarks/mutation.py`` (issue 8: every test can fail; helpers tested directly, not only
through goldens). Each test pins one behaviour exactly: a changed comparison, constant or
branch in ``goals``, ``render.tables`` or ``render.text`` changes an assertion here."""

from __future__ import annotations

import math

import pytest
from markupsafe import Markup

from mlreport.goals import COUNTER_TOKENS, HIGHER_IS_BETTER, LOWER_IS_BETTER, is_counter, tokens, vocabulary_goal
from mlreport.model import Goal
from mlreport.render import tables as t
from mlreport.render import text as x

# --- goals -----------------------------------------------------------------------------------


def test_tokens_split_at_non_alphanumerics_and_case_changes() -> None:
    assert tokens("eval/valLoss_2") == ["eval", "val", "loss", "2"]
    assert tokens("l2.valid") == ["l2", "valid"]
    assert tokens("__loss__") == ["loss"]
    assert tokens("") == []
    assert tokens("top5ACC") == ["top5", "acc"]  # digit then capital splits too
    assert tokens("ACC") == ["acc"]  # capitals alone do not split


@pytest.mark.parametrize("word", sorted(LOWER_IS_BETTER))
def test_every_lower_word_means_min(word: str) -> None:
    assert vocabulary_goal(f"val_{word}") == Goal.MIN


@pytest.mark.parametrize("word", sorted(HIGHER_IS_BETTER - LOWER_IS_BETTER))
def test_every_higher_word_means_max(word: str) -> None:
    assert vocabulary_goal(f"val_{word}") == Goal.MAX


def test_the_vocabulary_matches_whole_tokens_and_lower_wins() -> None:
    assert vocabulary_goal("glossary") is None and vocabulary_goal("valid") is None
    assert vocabulary_goal("accuracy_loss") == Goal.MIN and vocabulary_goal("loss_accuracy") == Goal.MIN
    assert vocabulary_goal("") is None
    assert "loss" in LOWER_IS_BETTER and "auc" in HIGHER_IS_BETTER and "epoch" in COUNTER_TOKENS


@pytest.mark.parametrize("word", sorted(COUNTER_TOKENS))
def test_every_counter_word_is_a_counter(word: str) -> None:
    assert is_counter(f"train_{word}")


def test_rates_are_counters_and_qualities_are_not() -> None:
    for key in ("eval_samples_per_second", "steps_per_sec", "tokens/per/s"):
        assert is_counter(key), key
    for key in ("eval_wer", "per_class_f1", "second_loss", "s", "samples_second"):
        assert not is_counter(key), key


@pytest.mark.parametrize("ask", [vocabulary_goal, is_counter], ids=["vocabulary", "counters"])
def test_the_vocabulary_and_counters_are_remembered_per_key(ask: object) -> None:
    # every metric cell of every page asks (engine, 0de7ca2): a second question of the same key
    # is a lookup, counted by the cache, and gives the same answer
    info = getattr(ask, "cache_info", None)
    assert info is not None, "not memoised"
    key = "val_remembered_loss_per_second"
    first = ask(key)  # type: ignore[operator]
    hits = info().hits
    assert ask(key) == first and info().hits == hits + 1  # type: ignore[operator]


# --- render.tables -----------------------------------------------------------------------------


def test_num_keeps_the_value_for_sorting_and_csv() -> None:
    assert t.num(1.5, "1.5") == t.Cell("1.5", sort=1.5, csv=1.5)
    assert t.num(None, "") == t.Cell("", sort=None, csv=None)
    nan = t.num(math.nan, "NaN")
    assert nan.sort is None and nan.csv == "NaN" and nan.text == "NaN"
    assert t.num(0.0, "0") == t.Cell("0", sort=0.0, csv=0.0)


def test_num_sorts_an_integer_past_the_float_range_by_its_sign() -> None:
    # fuzz F24: a store's integer of 400 digits sorts as an infinity of its own sign, its text kept
    big, small = 10**400, -(10**400)
    assert t.num(big, "1e400") == t.Cell("1e400", sort=math.inf, csv=math.inf)
    assert t.num(small, "-1e400") == t.Cell("-1e400", sort=-math.inf, csv=-math.inf)
    assert t.num(3, "3") == t.Cell("3", sort=3, csv=3) and t.num(-3, "-3").sort == -3


def test_json_rows_keep_text_as_utf8_not_escapes() -> None:
    # the page is UTF-8: a name in any script travels as itself (a sixth of the bytes of \uXXXX)
    out = str(t.html_table(["A"], [[t.Cell("données 数据")]], csv_url="r.csv"))
    assert "données 数据" in out and "\\u" not in out


def test_an_empty_table_says_so() -> None:
    assert t.html_table(["a"], []) == Markup('<p class="mlreport-empty">Nothing to show.</p>')
    assert t.html_table(["a"], [], empty="<none>") == Markup('<p class="mlreport-empty">&lt;none&gt;</p>')


def test_a_searchable_table_has_its_rows_in_html() -> None:
    rows = [[t.Cell("a<b", url="x/?q=1&r=2", sort=2.5), t.Cell("plain")], [t.Cell("c", sort="k"), t.Cell("d")]]
    out = str(t.html_table(["One", "Two"], rows, searchable=True, numeric=[True], caption="Cap & co"))
    assert out.startswith('<div class="mlreport-table-wrap"><table class="mlreport-table" data-sortable>')
    assert "<caption>Cap &amp; co</caption>" in out
    assert '<thead><tr><th data-type="number">One </th><th>Two </th></tr></thead>' in out
    assert '<td data-sort="2.5"><a href="x/?q=1&amp;r=2">a&lt;b</a> </td><td>plain </td>' in out
    assert '<td data-sort="k">c </td>' in out
    assert out.endswith("</tbody></table></div>") and "data-rows" not in out


def test_other_tables_travel_as_json_rows() -> None:
    rows = [[t.Cell("a", url="u", sort=1.0), t.Cell("b")]]
    out = str(t.html_table(["A", "B"], rows, csv_url="r.csv"))
    assert out.startswith('<div class="mlreport-table-wrap" data-search-exclude>')
    assert '<p class="mlreport-csv"><a href="r.csv" download>Download CSV</a> · 1 row</p>' in out
    assert 'data-rows="[[[&#34;a&#34;,&#34;u&#34;,1.0],[&#34;b&#34;]]]"' in out
    assert "<tbody></tbody>" in out and 'data-type="number"' not in out
    two = str(t.html_table(["A"], [[t.Cell("a")], [t.Cell("b")]], csv_url="r.csv", sortable=False))
    assert "· 2 rows</p>" in two and "data-sortable" not in two
    # numeric flags beyond the columns given are not applied
    assert str(t.html_table(["A", "B"], rows, numeric=[False, True])).count('data-type="number"') == 1


def test_cell_json_sends_only_what_a_cell_has() -> None:
    assert t._cell_json(t.Cell("a")) == ["a"]
    assert t._cell_json(t.Cell("a", sort=0.0)) == ["a", None, 0.0]
    assert t._cell_json(t.Cell("a", url="u")) == ["a", "u", None]
    assert t._cell_json(t.Cell("", html=Markup("<b>x</b>"))) == ["x"]
    assert t._cell_json(t.Cell("keep", html=Markup("<b>x</b>"))) == ["keep"]
    status = t._cell_json(t.Cell("failed", html=Markup('<span class="mlr-status">failed</span>')))
    assert status == ["failed", None, None, "mlr-status mlr-failed"]


def test_key_value_table() -> None:
    assert t.key_value_table([]) == Markup("")
    out = str(t.key_value_table([("Run <1>", t.Cell("x&y", url="r/")), ("H", t.Cell("", html=Markup("<i>i</i>")))]))
    assert out == (
        '<table class="mlreport-kv"><tbody><tr><th>Run &lt;1&gt; </th><td><a href="r/">x&amp;y</a> </td></tr>'
        "<tr><th>H </th><td><i>i</i> </td></tr></tbody></table>"
    )
    assert str(t.key_value_table([("a", t.Cell("b"))], searchable=False)).startswith(
        '<table class="mlreport-kv" data-search-exclude><tbody>'
    )


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+2", "'=1+2"),
        ("+cmd", "'+cmd"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-1.5", "-1.5"),  # a negative number stays a number
        ("+3", "+3"),
        ("a=b", "a=b"),
        ("", ""),
        (-2.0, -2.0),
    ],
)
def test_csv_never_starts_a_formula(value: str | float, safe: str | float) -> None:
    assert t._csv_safe(value) == safe


def test_csv_bytes_use_the_csv_value_and_minimal_quoting() -> None:
    rows = [[t.Cell("shown", csv=0.1), t.Cell("a,b")], [t.Cell("=x"), t.Cell("")]]
    assert t.csv_bytes(["A", "B"], rows) == b'A,B\n0.1,"a,b"\n\'=x,\n'


def test_table_data_drop_and_add() -> None:
    data = t.TableData(("A", "B"), ((t.Cell("1"), t.Cell("2")),), records=("rec",), numeric=(True,))
    dropped = data.drop("A")
    assert dropped.columns == ("B",) and dropped.rows == ((t.Cell("2"),),) and dropped.numeric == (False,)
    added = data.add("C", lambda r: f"<{r}>")
    assert added.columns == ("A", "B", "C") and added.rows[0][2] == t.Cell("<rec>")
    first = data.add("Z", lambda r: Markup("<b>z</b>"), at=0)
    assert first.columns == ("Z", "A", "B") and first.rows[0][0] == t.Cell(html=Markup("<b>z</b>"))
    assert first.numeric == (False, True, False)
    assert data.add("N", lambda r: None).rows[0][2] == t.Cell("")
    assert bool(data) and not t.TableData(("A",), ())
    assert 'data-type="number">A </th>' in data.__html__()


def test_table_data_flags_past_the_given_ones_are_not_numeric() -> None:
    # three columns, one flag: the second and third are text (no index past the flags given)
    data = t.TableData(("A", "B", "C"), ((t.Cell("1"), t.Cell("2"), t.Cell("3")),), numeric=(True,))
    assert data.drop("B").numeric == (True, False)
    assert data.add("D", lambda r: "d").numeric == (True, False, False, False)


def test_table_data_is_frozen_and_tables_sort_by_default() -> None:
    import dataclasses

    data = t.TableData(("A",), ((t.Cell("1"),),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.columns = ("B",)  # type: ignore[misc]
    assert "data-sortable" in str(t.html_table(["A"], [[t.Cell("1")]]))
    assert "data-sortable" in data.__html__()


# --- render.text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "True"),
        (3, "3"),
        (math.nan, "NaN"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        (2.0, "2"),
        (-2.0, "-2"),
        (1e15, "1e+15"),
        (999999999999999.0, "999999999999999"),
        (0.123456789, "0.123457"),
    ],
)
def test_fmt_number(value: float | None, text: str) -> None:
    assert x.fmt_number(value) == text


def test_times_are_utc_and_labelled() -> None:
    assert x.fmt_time(None) == "" and x.iso_time(None) == ""
    assert x.fmt_time(0) == "1970-01-01 00:00 UTC"
    assert x.fmt_time(1795505125000) == "2026-11-24 07:25 UTC"
    assert x.iso_time(1795505125000) == "2026-11-24T07:25:25Z"
    assert x.fmt_time(10**20) == "" and x.iso_time(10**20) == ""


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        (None, 1, ""),
        (1, None, ""),
        (2, 1, ""),
        (0, 0, "0.0 s"),
        (0, 59_949, "59.9 s"),
        (0, 60_000, "1 min 00 s"),
        (0, 3_599_000, "59 min 59 s"),
        (0, 3_600_000, "1 h 00 min"),
        (0, 3_660_000, "1 h 01 min"),
    ],
)
def test_fmt_duration(start: int | None, end: int | None, text: str) -> None:
    assert x.fmt_duration(start, end) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, ""),
        (-1, "invalid size"),
        (2**63, "invalid size"),
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KB"),
        (1536, "1.5 KB"),
        (1024**2, "1.0 MB"),
        (1024**3, "1.0 GB"),
        (1024**4, "1.0 TB"),
        (1024**5, "1024.0 TB"),
    ],
)
def test_fmt_size(size: int | None, text: str) -> None:
    assert x.fmt_size(size) == text


def test_goal_words() -> None:
    assert x.fmt_goal("min") == "▼ lower is better" and x.fmt_goal("max") == "▲ higher is better"
    assert x.fmt_goal("other") == ""


def test_slugs() -> None:
    assert x.slugify("a b/c") == "a-b-c"
    assert x.slugify("--.x.--") == "x"
    assert x.slugify("a  --  b") == "a-b"
    assert x.slugify("") == "item" and x.slugify("!!!", "run") == "run"
    assert x.slugify("Mixed.Case_1") == "Mixed.Case_1"
    assert len(x.slugify("a" * 200)) == 80
    assert x.short_hash("abc") == "a9993e" and x.short_hash("abc", 3) == "a99"


def test_colliding_slugs_get_a_hash_suffix_whatever_the_order() -> None:
    names = ["a b", "a-b", "A B"]
    slugs = x.assign_slugs(names)
    assert slugs == x.assign_slugs(reversed(names))
    assert slugs["a-b"] == "a-b"  # the name that is its own slug keeps it
    assert len(set(slugs.values())) == 3 and all(s.startswith(("a-b-", "A-B-")) for k, s in slugs.items() if k != "a-b")
    assert x.assign_slugs(["x"], reserved=["X"])["x"] != "x"  # reserved, case-insensitively
    assert x.assign_slugs(["solo"]) == {"solo": "solo"}


def test_rel_url() -> None:
    assert x.rel_url("runs/a/", "runs/b/") == "../b/"
    assert x.rel_url("", "runs/") == "runs/"
    assert x.rel_url("runs/a/", "") == "../../"
    assert x.rel_url("a/", "a/") == "./"


def test_md_and_h() -> None:
    assert str(x.md("a *b*\nc")) == "a &#42;b&#42; c"  # emphasis inert, the line break a space
    assert str(x.md("a\rb")) == "a b" and str(x.md("a\tb")) == "a\tb"
    assert str(x.md(None)) == "" and str(x.md("plain")) == "plain"
    assert x.md(Markup("<b>kept</b>")) == Markup("<b>kept</b>")
    assert str(x.h(None)) == "" and str(x.h("<a>")) == "&lt;a&gt;" and str(x.h(0)) == "0"


def test_rel_url_to_files_and_directories() -> None:
    assert x.rel_url("models/a/1/", "assets/plotly.min.js") == "../../../assets/plotly.min.js"
    assert x.rel_url("models/a/1/", "models/a/2/") == "../2/"
    assert x.rel_url("models/a/", "models/a/1/") == "1/"
    assert x.rel_url("x/", "y z/") == "../y%20z/"


def test_note_images_become_links_and_unsafe_targets_lose_their_href() -> None:
    out = str(
        x.note("![alt text](https://x/y.png) ![](javascript:alert(1)) [a](javascript:x) [b](https://ok) ![](rel.png)")
    )
    assert '<a href="https://x/y.png">alt text</a>' in out
    assert "<a>javascript:alert(1)</a>" in out and "<a>a</a>" in out and '<a href="https://ok">b</a>' in out
    assert "<img" not in out
    assert "<a>rel.png</a>" in out  # a bare relative name is not one of the safe prefixes
    assert '<a href="./r.png">image</a>' not in str(x.note("![](./r.png)")) and 'href="./r.png"' in str(
        x.note("![](./r.png)")
    )


def test_long_word_is_a_word_longer_than_the_limit() -> None:
    n = t.LONG_WORD
    assert t.long_word("x" * (n + 1)) and not t.long_word("x" * n)
    assert not t.long_word(" ".join(["x" * (n // 2)] * 4))  # long text, short words
    assert t.long_word("a " + "y" * (n + 1)) and not t.long_word("")


def test_time_cell() -> None:
    assert t.time_cell(None) == t.Cell("")
    cell = t.time_cell(1795505125000)
    assert cell.text == cell.csv == "2026-11-24 07:25 UTC" and cell.sort == 1795505125000
    assert cell.html == Markup('<time class="mlr-time" datetime="2026-11-24T07:25:25Z">2026-11-24 07:25 UTC</time>')


def test_table_data_add_without_records_calls_the_cell_with_none_for_each_row() -> None:
    seen: list[object] = []
    data = t.TableData(("A",), ((t.Cell("1"),), (t.Cell("2"),)))
    added = data.add("B", lambda r: seen.append(r) or "b")
    assert seen == [None, None] and [row[1].text for row in added.rows] == ["b", "b"]
