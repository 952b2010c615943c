"""Render and reader helpers tested directly: each test here fails when one of the bugs that
were once planted and went unnoticed (issue 8, "Tests that can fail") comes back."""

from __future__ import annotations

import math

import pytest
import yaml

from mlreport.readers._mlflow import parse_flat_yaml
from mlreport.render.base import _commit_url
from mlreport.render.charts import lttb
from mlreport.render.tables import Cell, _csv_safe, csv_bytes
from mlreport.render.text import assign_slugs, note, slugify

# -- slugs: collisions are suffixed, deterministically ------------------------------------------


def test_colliding_slugs_get_a_suffix_and_the_plain_name_keeps_its_slug() -> None:
    slugs = assign_slugs(["my model", "my-model", "My Model"])
    assert slugs["my-model"] == "my-model"
    assert slugs["my model"] != slugs["my-model"] and slugs["my model"].startswith("my-model-")
    assert slugs["My Model"].startswith("My-Model-")
    assert len({s.lower() for s in slugs.values()}) == 3  # case-insensitive file systems too


def test_slugs_do_not_depend_on_order_or_on_unrelated_names() -> None:
    a = assign_slugs(["x y", "x-y", "other"])
    b = assign_slugs(["other", "x-y", "x y", "unrelated"])
    assert a["x y"] == b["x y"] and a["x-y"] == b["x-y"]


def test_reserved_slugs_are_never_given_out() -> None:
    assert assign_slugs(["compare"], reserved=["compare"])["compare"] != "compare"


def test_slugify_keeps_safe_characters_only() -> None:
    assert slugify("a/b\\c <d>") == "a-b-c-d"
    assert slugify("../..") == "item" and slugify("", "run") == "run"
    assert len(slugify("x" * 500)) == 80


# -- LTTB downsamples, never truncates ------------------------------------------------------------


def test_lttb_keeps_the_ends_and_the_peaks_across_the_whole_series() -> None:
    n = 10_000
    xs = [float(i) for i in range(n)]
    ys = [math.sin(i / 300) for i in range(n)]
    ys[9_000] = 50.0  # a spike near the end: truncation would lose it
    sx, sy = lttb(xs, ys, threshold=500)
    assert len(sx) == 500 and sx[0] == 0.0 and sx[-1] == n - 1
    assert 50.0 in sy and 9_000.0 in sx
    assert sx == sorted(sx) and max(sx) - min(sx) == n - 1  # spread over the whole range


def test_lttb_leaves_short_series_alone_and_drops_non_finite_points() -> None:
    assert lttb([0, 1, 2], [1.0, 2.0, 3.0], threshold=10) == ([0, 1, 2], [1.0, 2.0, 3.0])
    assert lttb([0, 1, 2], [1.0, math.nan, 3.0], threshold=10) == ([0, 2], [1.0, 3.0])


# -- the flat-YAML fast path agrees with YAML ------------------------------------------------------


@pytest.mark.parametrize(
    "word", ["yes", "no", "on", "off", "y", "n", "true", "False", "NULL", "~", "1e3", "0o7", "012"]
)
def test_flat_yaml_never_reads_a_yaml_word_as_text(word: str) -> None:
    text = f"name: {word}\nexperiment_id: '1'\n"
    fast = parse_flat_yaml(text)
    assert fast is None or fast == yaml.safe_load(text)


def test_flat_yaml_reads_what_mlflow_writes() -> None:
    text = "artifact_location: file:///x\nexperiment_id: '3'\nlifecycle_stage: active\nname: churn\n"
    assert parse_flat_yaml(text) == yaml.safe_load(text)


# -- commit links for every remote spelling -------------------------------------------------------


def test_commit_links_for_https_and_git_at_remotes() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert _commit_url("git@github.com:acme/churn.git", sha) == f"https://github.com/acme/churn/commit/{sha}"
    assert (
        _commit_url("https://gitlab.example/acme/churn.git", sha) == f"https://gitlab.example/acme/churn/commit/{sha}"
    )
    assert _commit_url("https://gitlab.example/acme/churn/", sha) == f"https://gitlab.example/acme/churn/commit/{sha}"


def test_no_commit_link_for_unsafe_remotes_or_non_hex_commits() -> None:
    sha = "0123456789abcdef"
    assert _commit_url("javascript:alert(1)", sha) is None
    assert _commit_url("file:///srv/repo", sha) is None
    assert _commit_url("https://x/y", "HEAD;rm") is None
    assert _commit_url(None, sha) is None


# -- notes: no javascript: links, no raw HTML, no images that leave the site ----------------------


@pytest.mark.parametrize(
    "href", ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:x", "data:text/html,x", "vbscript:x"]
)
def test_note_links_drop_unsafe_targets(href: str) -> None:
    html = str(note(f"[click]({href})"))
    assert "click" in html and "href" not in html


def test_note_links_keep_safe_targets_and_escape_html() -> None:
    html = str(note("[docs](https://example.internal/x) <script>alert(1)</script> ![i](http://evil/x.png)"))
    assert 'href="https://example.internal/x"' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html


# -- CSV injection --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_start_a_formula_are_quoted(value: str) -> None:
    assert _csv_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["-0.5", "+3", "1e-3", "plain", ""])
def test_csv_numbers_and_plain_text_stay(value: str) -> None:
    assert _csv_safe(value) == value


def test_csv_bytes_applies_the_guard() -> None:
    data = csv_bytes(["name"], [[Cell("=1+1")], [Cell("ok")]]).decode()
    assert data.splitlines() == ["name", "'=1+1", "ok"]
