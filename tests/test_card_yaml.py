"""The card's front matter writer (mlreport.card_yaml): exactly ``yaml.safe_dump``'s text for any
front matter, written directly where that is the same bytes and by PyYAML where it is not."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlreport import card_yaml


def reference(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def fast_only(data: dict[str, object]) -> str:
    """The direct writer's text, failing the test if it handed the document to PyYAML."""
    out: list[str] = []
    card_yaml._mapping(data, 0, out, False, {id(data)})
    return "".join(out)


HF_SHAPE: dict[str, object] = {
    "language": ["en", "de"],
    "license": "apache-2.0",
    "library_name": "transformers",
    "base_model": "distilbert/distilbert-base-uncased",
    "pipeline_tag": "text-classification",
    "tags": ["mlreport"],
    "datasets": ["imdb", "reviews-2024 (v3)"],
    "model-index": [
        {
            "name": "churn-classifier 17",
            "results": [
                {
                    "task": {"type": "other", "name": "task not recorded"},
                    "dataset": {"name": "holdout", "type": "holdout", "config": "full", "split": "test"},
                    "metrics": [
                        {"type": "val_auc", "value": 0.9134, "name": "val_auc"},
                        {"type": "loss", "value": 1e-17, "name": "loss"},
                        {"type": "steps", "value": 1200, "name": "steps"},
                        {"type": "big", "value": 1e17, "name": "big"},
                        {"type": "neg", "value": -0.5, "name": "neg"},
                    ],
                }
            ],
        }
    ],
}


def test_the_card_shape_is_written_directly_and_is_pyyaml_s_text() -> None:
    assert fast_only(HF_SHAPE) == reference(HF_SHAPE)
    assert card_yaml.dump(HF_SHAPE) == reference(HF_SHAPE)


@pytest.mark.parametrize(
    "value",
    [
        "yes",  # a YAML 1.1 bool
        "null",
        "",
        "1.5",  # a float
        "0x1F",  # an int
        "2024-01-02",  # a timestamp
        "- dash",
        "a: b",
        "#hash",
        "trailing ",
        " leading",
        "two\nlines",
        "tab\there",
        "quote's",
        "ünïcode ✓ text",
        "\x85next line",
        "\ufeffbom",
        "*alias",
        "&anchor",
        "!tag",
        "%percent",
        "@at",
        "`tick",
        "{brace",
        "[bracket",
        "a,b",
        "=",
        "<<",
        "~",
        "word " * 30,  # folded at 80 columns
        "x" * 200,  # long, no space: never folded
        "a  b " * 20 + "end",  # only double spaces: not folded
    ],
)
def test_any_string_gives_pyyaml_s_text(value: str) -> None:
    for data in ({"license": value}, {"datasets": [value]}, {"model-index": [{"name": value, "results": [1]}]}):
        assert card_yaml.dump(data) == reference(data)


@pytest.mark.parametrize("value", [0.1, 1e17, 1e-5, -2.5e-300, 123456789.0, 0.0, -0.0, 7, -3, 10**30, True, None])
def test_numbers_and_other_scalars_give_pyyaml_s_text(value: object) -> None:
    data = {"model-index": [{"name": "m 1", "results": [{"metrics": [{"type": "t", "value": value}]}]}]}
    assert card_yaml.dump(data) == reference(data)


def test_what_pyyaml_writes_in_another_style_is_left_to_pyyaml() -> None:
    shared = [{"type": "auc", "value": 0.9, "name": "auc"}]
    two_results = {"model-index": [{"name": "m", "results": [{"metrics": shared}, {"metrics": shared}]}]}
    assert "&id001" in card_yaml.dump(two_results)  # the same list twice: an anchor and an alias
    for data in (two_results, {"tags": []}, {"task": {}}, {"nested": [["a"]]}, {"nan": float("nan")}, {}):
        assert card_yaml.dump(data) == reference(data)
    assert card_yaml.dump({"tuple": ("a",)}) == reference({"tuple": ("a",)})
    with pytest.raises(card_yaml._Fallback):
        fast_only({"license": "yes"})


def test_folding_is_decided_per_space() -> None:
    # the space at column 81 is where PyYAML breaks the line; one at 80 is not
    start = len("license: ")
    at_80 = "a" * (80 - start) + " b"
    at_81 = "a" * (81 - start) + " b"
    assert not card_yaml._folds(at_80, start)
    assert card_yaml._folds(at_81, start)
    for text in (at_80, at_81, at_81 + "  c", "a" * 75 + "  " + "b"):
        assert card_yaml.dump({"license": text}) == reference({"license": text})


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=100) | st.sampled_from(
    ["yes", "No", "1.0", "~", "a b", "x" * 90, "word " * 20, "churn-classifier"]
)
scalars = texts | st.floats(allow_nan=True) | st.integers() | st.booleans() | st.none()
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4), max_leaves=20
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(texts, values, min_size=1, max_size=6))
def test_any_document_gives_pyyaml_s_text(data: dict[str, object]) -> None:
    assert card_yaml.dump(data) == reference(data)


# mostly plain text (so that the direct writer, not the fallback, is what is compared): names,
# spaces where the 80-column fold may fall, and the few characters that change a scalar's style
words = st.text(st.sampled_from("abcdé1-_."), min_size=1, max_size=12).map(lambda w: "w" + w)
plain_texts = st.lists(st.tuples(words, st.sampled_from([" ", " ", " ", "  "])), min_size=1, max_size=12).map(
    lambda parts: "".join(w + gap for w, gap in parts).rstrip()
) | st.sampled_from(["a: b", "a #b", "yes"])
plain_values = st.recursive(
    plain_texts | st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
    lambda inner: (
        st.lists(inner.filter(lambda x: not isinstance(x, list)), min_size=1, max_size=3)
        | st.dictionaries(st.sampled_from(["name", "type", "value", "results", "a-b"]), inner, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["license", "datasets", "model-index", "tags"]), plain_values, min_size=1))
def test_any_plain_document_gives_pyyaml_s_text(data: dict[str, object]) -> None:
    assert card_yaml.dump(data) == reference(data)
