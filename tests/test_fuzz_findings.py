"""Regressions found by the fuzz harness (FUZZ_FINDINGS F8, F9): values a store may declare
that crashed the build with an internal error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlreport.catalog import version_sort_key
from mlreport.cli import main
from mlreport.render.text import fmt_size
from mlreport.sanitize import load_json_text

from .conftest import DATA


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


def test_f21_json_in_a_store_string_decodes_clean_and_bounded_on_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fuzz F21 (seed 3 cases 442, 3393): a logged model signature is JSON held in a string;
    decoded by the card, the previews' schema table and the JSON view after the crawl, the
    escape ``\\ud800`` became a lone surrogate and the version page's README.md failed to encode
    ("internal error"); JSON nested 100,000 deep raised RecursionError there."""
    store = tmp_path / "store"
    shutil.copytree(DATA / "mlflow" / "v2_sqlite", store)
    mlmodel = store / "mlruns/1/a73d74a9060f4596a64427d2c3701c97/artifacts/model/MLmodel"
    text = mlmodel.read_text()
    text = text.replace(
        """inputs: '[{"type": "double", "name": "x", "required": true}]'""",
        """inputs: '[{"type": "double", "name": "x\\ud800y", "required": true}]'""",
    ).replace(
        """outputs: '[{"type": "double", "name": "x", "required": true}]'""",
        "outputs: '" + "[" * 100_000 + "]" * 100_000 + "'",
    )
    assert "\\ud800" in text and "[[[[" in text
    mlmodel.write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["build", "store", "-q", "-o", "site"]) == 0
    readmes = list((tmp_path / "site").rglob("README.md"))
    assert readmes
    texts = [p.read_bytes().decode("utf-8") for p in readmes]  # strict: valid UTF-8
    assert any("x\ufffdy" in t for t in texts)


def test_load_json_text_cleans_and_bounds() -> None:
    assert load_json_text('{"a\\ud800": ["\\udc80", 1]}') == {"a\ufffd": ["\ufffd", 1]}
    assert load_json_text('"\\ud83d\\ude00"') == "\U0001f600"  # a pair is a character
    with pytest.raises(ValueError, match="nested"):
        load_json_text("[" * 100_000 + "]" * 100_000)


def test_f23_a_long_dataset_name_is_cut_in_the_review_data_table() -> None:
    """Fuzz F23 (seed 3 case 8048): a 1,000,000-character dataset URI in a manifest reached the
    version page's data comparison whole, twice (link text and source): a 2 MB page. The
    table's cells are built in Python, past the templates' cut; now cut as a cell is."""
    from mlreport.review import DatasetSide
    from mlreport.review_html import _dataset

    long = "s3://acme/" + "z" * 1_000_000
    out = _dataset(DatasetSide("k", long, "abc", long, None), lambda key: "../datasets/x/")
    assert 2_000 < len(out) < 3_000  # a name of 300 characters, a source of 2,000, the markup
    assert 'href="../datasets/x/"' in out and "z" * 290 in out
