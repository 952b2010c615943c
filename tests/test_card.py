"""The model card (issue 10): the record built from the catalog, its HTML on the version page,
the Hugging Face ``README.md`` that ``mlreport card`` writes, and that command's errors."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlreport.card import NOT_RECORDED, build_card, card_for, card_readme, find_version, front_matter
from mlreport.catalog import Catalog, read_catalog
from mlreport.cli import main
from mlreport.config import Config, SourceConfig
from mlreport.errors import UsageError
from mlreport.render.model_card import card_html
from mlreport.render.page import Asset, Page
from mlreport.render.pages import render_site

from .conftest import DATA, ROOT

SECTIONS = [
    "model_details",
    "intended_use",
    "factors",
    "metrics",
    "evaluation_data",
    "training_data",
    "ethical_considerations",
    "caveats_recommendations",
]


@pytest.fixture(scope="module")
def example() -> Catalog:
    return read_catalog(Config(sources=(SourceConfig(str(ROOT / "site_example")),)))


@pytest.fixture(scope="module")
def manifest() -> Catalog:
    return read_catalog(Config(sources=(SourceConfig(str(DATA / "manifest" / "basic")),)))


def _field(card: Any, section: str, label: str) -> Any:
    return next(f for f in card.section(section).fields if f.label == label)


def _split(readme: str) -> tuple[dict[str, Any], str]:
    assert readme.startswith("---\n")
    head, _, body = readme[4:].partition("\n---\n")
    return yaml.safe_load(head), body


def test_card_has_every_section_and_says_not_recorded(example: Catalog) -> None:
    card = card_for(example, "churn-classifier@champion")
    assert (card.model, card.version, card.aliases) == ("churn-classifier", "3", ("champion",))
    assert [s.key for s in card.sections] == SECTIONS
    assert all(s.fields for s in card.sections)
    empty = _field(card, "intended_use", "Primary intended uses")
    assert empty.value is None and empty.source is None
    # filled fields name their source
    assert _field(card, "model_details", "Task").value == "binary-classification"
    assert _field(card, "model_details", "Task").source == "model tag task"
    assert _field(card, "model_details", "Description").source == "version description"
    assert _field(card, "model_details", "Created").value.endswith(" UTC")
    signature = _field(card, "model_details", "Signature")  # the logged model's MLmodel signature
    assert signature.source == "logged model signature"
    assert signature.value.startswith("inputs: tenure_months (long), monthly_charges (double)")
    commit = _field(card, "model_details", "Git commit")
    assert commit.source == "run git commit" and len(commit.value) == 40


def test_card_metrics_carry_goal_and_source(example: Catalog) -> None:
    card = card_for(example, "churn-classifier@champion")
    by_name = {m.name: m for m in card.metrics}
    assert by_name["val_logloss"].goal == "min" and by_name["val_logloss"].goal_source == "name vocabulary"
    assert by_name["auc"].goal == "max"
    keys = [m.name for m in card.metrics if m.key]
    assert keys and [m.name for m in card.metrics[: len(keys)]] == keys  # key metrics first
    assert all(m.source == "run retrain-2026-10" for m in card.metrics)
    configured = card_for(example, "churn-classifier@champion", ("auc",))
    assert [m.name for m in configured.metrics if m.key] == ["auc"]


def test_card_datasets_come_from_lineage_with_digests(example: Catalog) -> None:
    card = card_for(example, "churn-classifier@champion")
    assert [(d.name, d.context, d.digest) for d in card.training_data] == [
        ("churn-2026-10-train", "training", "62c352e8")
    ]
    assert [(d.name, d.context) for d in card.evaluation_data] == [("churn-2026-10-holdout", "validation")]
    text = _field(card, "evaluation_data", "Evaluation datasets")
    assert text.source == "run inputs (lineage)" and "digest c108f1dc" in text.value
    hyper = _field(card, "training_data", "Hyperparameters")
    assert hyper.source == "run params (9)" and "learning_rate=0.03" in hyper.value


def test_card_fields_from_model_card_tags(manifest: Catalog) -> None:
    card = card_for(manifest, "churn-classifier@champion")
    uses = _field(card, "intended_use", "Primary intended uses")
    assert uses.value.startswith("Rank accounts by their risk") and uses.source == "version tag model_card.intended_use"
    caveats = _field(card, "caveats_recommendations", "Caveats")
    assert "EU accounts only" in caveats.value and caveats.source == "version tag model_card.limitations"
    assert card.license == "proprietary"
    assert _field(card, "model_details", "License").source == "version tag model_card.license"


def test_card_precedence_and_unknown_fields(manifest: Catalog) -> None:
    model, v = find_version(manifest, "churn-classifier@champion")
    tags = dict(v.tags)
    tags.update({"model_card.ethics": "Reviewed by the fairness board.", "model_card.contact": "ml@acme.example"})
    v2 = replace(v, tags=tags)
    m2 = replace(model, tags={**model.tags, "model_card.ethics": "model-level text", "hf.base_model": "org/base"})
    card = build_card(manifest, m2, v2)
    ethics = _field(card, "ethical_considerations", "Ethical considerations")
    assert (ethics.value, ethics.source) == ("Reviewed by the fairness board.", "version tag model_card.ethics")
    # a front-matter field may come from a namespaced tag of any reader
    assert (card.base_model, _field(card, "model_details", "Base model").source) == (
        "org/base",
        "model tag hf.base_model",
    )
    # a model_card.* tag no section knows is kept, not dropped
    assert [(f.label, f.value, f.source) for f in card.section("more").fields] == [
        ("Contact", "ml@acme.example", "version tag model_card.contact")
    ]


def test_find_version_errors(example: Catalog) -> None:
    assert find_version(example, "churn-classifier@2")[1].version == "2"
    assert find_version(example, "churn-classifier@challenger")[1].version == "4"
    with pytest.raises(UsageError, match=r"^cannot find model 'nope' \(models: churn-classifier, demand-forecast"):
        find_version(example, "nope@champion")
    with pytest.raises(UsageError, match=r"^cannot find 'gold' of model 'churn-classifier' \(aliases: @challenger"):
        find_version(example, "churn-classifier@gold")
    with pytest.raises(UsageError, match="name a version as MODEL@ALIAS or MODEL@VERSION"):
        find_version(example, "churn-classifier")


def test_readme_front_matter_round_trips_and_has_a_model_index(example: Catalog) -> None:
    card = card_for(example, "churn-classifier@champion")
    readme = card_readme(card)
    meta, body = _split(readme)
    assert meta == front_matter(card)
    assert meta["pipeline_tag"] == "binary-classification" and meta["datasets"] == ["churn-2026-10-train"]
    [entry] = meta["model-index"]
    assert entry["name"] == "churn-classifier 3"
    [result] = entry["results"]
    assert result["task"]["type"] == "binary-classification"
    assert result["dataset"] == {"name": "churn-2026-10-holdout", "type": "churn-2026-10-holdout"}
    keys = [m for m in card.metrics if m.key]
    assert [(x["type"], x["value"], x["name"]) for x in result["metrics"]] == [(m.name, m.value, m.name) for m in keys]
    # the body: every section, not-recorded fields said so, sources named
    for title in ("Model details", "Intended use", "Factors", "Metrics", "Evaluation data", "Training data"):
        assert f"\n## {title}\n" in body
    assert f"**Primary intended uses:** *{NOT_RECORDED}*" in body
    assert "*(source: run git commit)*" in body


def test_readme_escapes_store_text(manifest: Catalog) -> None:
    model, v = find_version(manifest, "churn-classifier@champion")
    v2 = replace(v, tags={**v.tags, "model_card.intended_use": "<script>alert(1)</script>", "owner": "**bold** | x"})
    readme = card_readme(build_card(manifest, model, v2))
    assert "<script>" not in readme and "&lt;script>" in readme
    assert "**Owner:** \\*\\*bold\\*\\* \\| x" in readme


def test_hf_card_front_matter(tmp_path: Path) -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(DATA / "hf" / "full")),)))
    card = card_for(catalog, "bert-tiny-mrpc@final")
    meta, _ = _split(card_readme(card))
    assert (meta["license"], meta["language"], meta["base_model"]) == (
        "apache-2.0",
        ["en"],
        "google-bert/bert-base-uncased",
    )
    [result] = meta["model-index"][0]["results"]
    assert result["dataset"] == {"name": "glue", "type": "glue", "config": "mrpc", "split": "validation"}
    assert result["task"] == {"type": "other", "name": "task not recorded"}
    assert all(x["name"] not in ("epoch", "eval_runtime", "learning_rate") for x in result["metrics"])


def test_front_matter_is_accepted_by_huggingface_hub(example: Catalog) -> None:
    """huggingface_hub's own parser reads the card's metadata and its model-index into eval
    results (``ModelCard`` + ``model_index_to_eval_results``; offline, no Hub call)."""
    try:
        from huggingface_hub import ModelCard
        from huggingface_hub.repocard_data import model_index_to_eval_results
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("huggingface_hub is not installed (pip install huggingface_hub)")
    for spec, cat in (("churn-classifier@champion", example),):
        card = card_for(cat, spec)
        hf = ModelCard(card_readme(card))
        data = hf.data.to_dict()
        assert data["pipeline_tag"] == "binary-classification"
        name, results = model_index_to_eval_results(data["model-index"])
        assert name == "churn-classifier 3"
        assert {(r.task_type, r.dataset_type, r.metric_type) for r in results} == {
            ("binary-classification", "churn-2026-10-holdout", m.name) for m in card.metrics if m.key
        }
        assert hf.data.eval_results and len(hf.data.eval_results) == len(results)
        assert "## Model details" in hf.text


def test_version_page_shows_the_card_and_writes_the_readme(example: Catalog) -> None:
    items = render_site(example, Config(title="x"))
    pages = {p.url: p for p in items if isinstance(p, Page)}
    assets = {a.path: a.data for a in items if isinstance(a, Asset)}
    for v in example.versions:
        here = f"models/{v.model}/{v.version}/"
        if here not in pages:
            continue
        body = pages[here].body
        assert 'id="model-card"' in body and "Download as README.md" in body
        assert here + "README.md" in assets
    body = pages["models/churn-classifier/3/"].body
    assert '<span class="mlr-not-recorded">not recorded</span>' in body
    assert "model tag task" in body
    readme = assets["models/churn-classifier/3/README.md"].decode("utf-8")
    assert readme == card_readme(card_for(example, "churn-classifier@champion"))


def test_card_html_escapes(manifest: Catalog) -> None:
    model, v = find_version(manifest, "churn-classifier@champion")
    v2 = replace(v, tags={**v.tags, "model_card.intended_use": "<img src=x onerror=alert(1)>", "owner": "<b>x</b>"})
    html = str(card_html(build_card(manifest, model, v2)))
    assert "<img" not in html and "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_cli_card_to_stdout_and_file(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = str(ROOT / "site_example")
    assert main(["card", "churn-classifier@champion", src, "-q"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("---\n") and "model-index:" in out
    assert main(["card", "churn-classifier@3", src, "-q", "-o", "README.md"]) == 0
    assert (chdir_tmp / "README.md").read_text(encoding="utf-8") == out
    assert capsys.readouterr().out == ""


def test_cli_card_errors_are_one_line_exit_2(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = str(ROOT / "site_example")
    assert main(["card", "nope@champion", src, "-q"]) == 2
    err = capsys.readouterr().err
    assert err == "mlreport: cannot find model 'nope' (models: churn-classifier, demand-forecast, sentiment-bert)\n"
    assert main(["card", "churn-classifier@gold", src, "-q"]) == 2
    assert capsys.readouterr().err == (
        "mlreport: cannot find 'gold' of model 'churn-classifier' (aliases: @challenger, @champion; versions: 1, 2, 3, 4)\n"
    )
    inside = ROOT / "site_example" / "mlruns" / "card.md"
    assert main(["card", "churn-classifier@champion", src, "-q", "-o", str(inside)]) == 2
    assert capsys.readouterr().err == f"mlreport: cannot write the card to {inside}: it is inside the source {src}\n"
    assert not inside.exists()


# -- a Hugging Face README's prose (readers/_readme.py -> model_card.* tags -> the card) --------

CARDS = DATA / "cards"


def _hf(case: str) -> Catalog:
    return read_catalog(Config(sources=(SourceConfig(str(CARDS / case)),)))


def test_readme_sections_take_the_authors_prose_and_skip_placeholders() -> None:
    from mlreport.readers._readme import readme_sections

    body = (
        "<!-- generated: proofread it -->\n# my-model\n\nA fine-tuned version of x.\n\n"
        "## Model description\n\nMore information needed\n\n"
        "## Intended uses & limitations\n\n<!-- say who should use it -->\nTickets only.\n\n"
        "```md\n## Training data\nnot a heading\n```\n\n"
        "### Out-of-Scope Use [optional]\n\n- **Developed by:** [More Information Needed]\n"
        "Anything medical.\n\n## Uses\n\nsecond intended-use heading: the first one wins\n"
        "## Training data\n\n" + "x" * 30_000 + "\n## Framework versions\n\n- Transformers 5\n"
    )
    tags = readme_sections(body, "out/README.md")
    assert tags["model_card.intended_use"] == "Tickets only.\n\n```md\n## Training data\nnot a heading\n```"
    assert tags["model_card.intended_use.source"] == "out/README.md § Intended uses & limitations"
    assert tags["model_card.out_of_scope_uses"] == "Anything medical."
    assert tags["model_card.out_of_scope_uses.source"] == "out/README.md § Out-of-Scope Use [optional]"
    assert len(tags["model_card.training_data"]) == 20_000 and tags["model_card.training_data"].endswith("…")
    assert "model_card.description" not in tags  # left at its placeholder
    assert set(tags) == {
        f"model_card.{k}{s}" for k in ("intended_use", "out_of_scope_uses", "training_data") for s in ("", ".source")
    }
    # the card Trainer.create_model_card writes, untouched: nothing the author wrote
    assert readme_sections((DATA / "hf" / "full" / "README.md").read_text(encoding="utf-8"), "README.md") == {}


def test_card_shows_a_trainer_readme_filled_in_by_its_author() -> None:
    c = _hf("hf_trainer_filled")
    model, v = find_version(c, "bert-tiny-mrpc@final")
    card = build_card(c, model, v)
    described = _field(card, "model_details", "Description")
    assert described.value.startswith("A two-layer BERT fine-tuned") and described.prose
    assert described.source == "README.md § Model description (run tag model_card.description)"
    uses = _field(card, "intended_use", "Primary intended uses")
    assert "- Not for legal or medical text." in uses.value
    assert uses.source == "README.md § Intended uses & limitations (run tag model_card.intended_use)"
    # "Training and evaluation data" was left at "More information needed"
    assert _field(card, "training_data", "About the training data").value is None
    assert not any(s.key == "more" for s in card.sections)
    html = str(card_html(card))
    assert "<strong>MRPC</strong>" in html  # Markdown, converted
    assert "README.md § Intended uses &amp; limitations (run tag model_card.intended_use)" in html
    readme = card_readme(card)
    assert "**Primary intended uses** *(source: README.md § Intended uses & limitations (run tag" in readme
    assert "- Accuracy drops on sentences over 128 tokens." in readme


def test_card_shows_a_hub_template_readme_and_sanitises_it() -> None:
    c = _hf("hf_hub_template")
    model, v = find_version(c, f"{c.models[0].name}@final")
    card = build_card(c, model, v)
    assert _field(card, "intended_use", "Primary intended uses").source.startswith("README.md § Direct Use")
    assert _field(card, "training_data", "About the training data").value == "GLUE MRPC train split, 3,668 pairs."
    assert _field(card, "caveats_recommendations", "Caveats").value.startswith("Trained on news text")
    # the template's own "Recommendations" boilerplate and its placeholders are not the author's
    assert _field(card, "caveats_recommendations", "Recommendations").value is None
    assert _field(card, "evaluation_data", "About the evaluation data").value is None
    assert not any(s.key == "more" for s in card.sections)  # the .source tags are not fields
    html = str(card_html(card))
    assert "Anything safety-critical." in html
    assert "<script" not in html and "javascript:" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_site_and_cli_card_carry_the_readme_prose(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = _hf("hf_trainer_filled")
    items = render_site(c, Config(title="x"))
    pages = {p.url: p for p in items if isinstance(p, Page)}
    body = pages["models/bert-tiny-mrpc/final/"].body
    assert "Intended for ranking near-duplicate support tickets" in body
    assert "README.md § Intended uses &amp; limitations" in body
    assert main(["card", "bert-tiny-mrpc@final", str(CARDS / "hf_trainer_filled"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "Intended for ranking near-duplicate support tickets in English." in out
    assert "*(source: README.md § Intended uses & limitations (run tag model\\_card.intended\\_use))*" in out
