"""Writes the model-card fixtures: Hugging Face output dirs whose README.md carries the prose an
author writes (intended use, limitations, training data …), for issue 10's card.

Run with a Python that has transformers and huggingface_hub (``/tmp/venv-fid-all``)::

    /tmp/venv-fid-all/bin/python tests/data/cards/make_cards.py

- ``hf_trainer_filled``: ``tests/data/hf/full`` without its checkpoints (written by transformers 5.23's Trainer card
  code, see tests/data/hf/make_fixtures.py) with its README's "More information needed"
  sections filled in, as an author does before publishing; "Training and evaluation data" is
  left at its placeholder (so the card says "not recorded" there).
- ``hf_hub_template``: the same run with the README written by ``huggingface_hub``'s
  ``ModelCard.from_template`` (its default template, the hub's "Model Card for …" layout), some
  fields filled and the rest left as the template's "[More Information Needed]"; one field holds
  hostile Markdown (raw HTML, a javascript: link, a remote image) that the site must neutralise.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData

HERE = Path(__file__).resolve().parent
FULL = HERE.parent / "hf" / "full"


def _copy_run(name: str) -> Path:
    out = HERE / name
    if out.exists():
        shutil.rmtree(out)
    # the output dir's own files: its checkpoints add nothing to a card
    shutil.copytree(FULL, out, ignore=lambda folder, names: [n for n in names if n.startswith("checkpoint-")])
    return out


def trainer_filled() -> None:
    out = _copy_run("hf_trainer_filled")
    text = (FULL / "README.md").read_text(encoding="utf-8")
    fill = {
        "## Model description": "A two-layer BERT fine-tuned to tell whether two sentences are "
        "paraphrases (GLUE **MRPC**). It is small enough to run on a CPU in a request handler.",
        "## Intended uses & limitations": "Intended for ranking near-duplicate support tickets in "
        "English.\n\n- Not for legal or medical text.\n- Accuracy drops on sentences over 128 tokens.",
    }
    for heading, prose in fill.items():
        before = f"{heading}\n\nMore information needed\n"
        assert before in text, heading
        text = text.replace(before, f"{heading}\n\n{prose}\n")
    (out / "README.md").write_text(text, encoding="utf-8")


def hub_template() -> None:
    out = _copy_run("hf_hub_template")
    data = ModelCardData(license="apache-2.0", language="en", base_model="google-bert/bert-base-uncased")
    card = ModelCard.from_template(
        data,
        model_id="bert-tiny-mrpc",
        model_description="Paraphrase detection for support tickets, distilled from bert-base.",
        direct_use="Score pairs of English sentences; 0.5 is the operating threshold.",
        out_of_scope_use='Anything safety-critical. <script>alert("card")</script> '
        "[click](javascript:alert(1)) ![tracker](https://example.com/pixel.png)",
        bias_risks_limitations="Trained on news text (MRPC); tickets written in slang score lower.",
        training_data="GLUE MRPC train split, 3,668 pairs.",
    )
    (out / "README.md").write_text(str(card), encoding="utf-8")


if __name__ == "__main__":
    trainer_filled()
    hub_template()
