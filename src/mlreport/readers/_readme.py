"""The prose sections of a model card's Markdown body (a Hugging Face ``README.md``): what the
author wrote under "Model description", "Intended uses & limitations", "Training data", …, as
``model_card.<field>`` tags that :mod:`mlreport.card` reads like any other store's card tags,
each with a ``model_card.<field>.source`` tag naming the file and heading it came from.

Two layouts are known, both with placeholders where nobody wrote anything: the card
``Trainer.create_model_card`` writes (``## Intended uses & limitations`` … "More information
needed") and ``huggingface_hub``'s default template (``### Direct Use`` … "[More Information
Needed]", HTML comments with the template's instructions, ``- **Developed by:** [More
Information Needed]`` bullets). A heading's own text is its section, up to the next heading of
any level; headings inside code fences are text. A section left at its placeholder is not
recorded (the card then says "not recorded", which is the truth).
"""

from __future__ import annotations

import functools
import re

__all__ = ["SOURCE_SUFFIX", "TAG_PREFIX", "readme_sections"]

TAG_PREFIX = "model_card."
SOURCE_SUFFIX = ".source"
#: the longest section kept (a page cuts displayed values at 20,000 characters as well)
MAX_SECTION = 20_000

# a heading (normalised: lower case, "[optional]" and punctuation dropped) -> the card field
# (mlreport.card's tag names); the first heading that gives a field wins
_FIELDS = {
    "model description": "description",
    "intended uses limitations": "intended_use",
    "intended uses": "intended_use",
    "intended use": "intended_use",
    "direct use": "intended_use",
    "uses": "intended_use",
    "intended users": "intended_users",
    "downstream use": "downstream_use",
    "out of scope use": "out_of_scope_uses",
    "out of scope uses": "out_of_scope_uses",
    "bias risks and limitations": "bias_risks_limitations",
    "limitations": "bias_risks_limitations",
    "recommendations": "recommendations",
    "caveats and recommendations": "caveats",
    "training data": "training_data",
    "training and evaluation data": "training_data",
    "training procedure": "training_procedure",
    "evaluation data": "evaluation_data",
    "testing data": "evaluation_data",
    "factors": "factors",
    "ethical considerations": "ethical_considerations",
}
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# what a fence or a heading begins with: a line without it is neither (one test a line, not two)
_MAYBE_MARKED = re.compile(r" {0,3}[#`~]").match
_COMMENT = re.compile(r"<!--.*?(-->|\Z)", re.S)
_PLACEHOLDER = re.compile(r"^\W*(more information needed|n/?a|todo|tbd)\W*$", re.I)
# a template bullet whose value is a placeholder: "- **Developed by:** [More Information Needed]"
_EMPTY_BULLET = re.compile(r"^\s*[-*]\s+\*\*[^*]+\*\*\s*:?\s*(\*\*)?\s*\[?more information needed\]?\s*$", re.I)


# text a template puts under a heading whatever the author wrote (huggingface_hub's default
# template: its "Recommendations"), compared as _normal() text
_BOILERPLATE = {
    "users both direct and downstream should be made aware of the risks biases and limitations of the model "
    "more information needed for further recommendations",
}


def _normal(heading: str) -> str:
    text = re.sub(r"\[optional\]", "", heading.lower())
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


@functools.lru_cache(maxsize=4096)
def _field_of(heading: str) -> str | None:
    # the same few headings in every card of a store: normalised once each (two regex passes)
    return _FIELDS.get(_normal(heading))


def readme_sections(body: str, readme: str) -> dict[str, str]:
    """The ``model_card.*`` tags of a card body; ``readme`` is the file's path for the source
    tags (``README.md § Intended uses & limitations``)."""
    sections: list[tuple[str, list[str]]] = []
    fence: str | None = None
    current: list[str] | None = None
    for line in body.splitlines():
        if _MAYBE_MARKED(line) is None:  # most lines: neither a fence nor a heading
            if current is not None:
                current.append(line)
            continue
        marker = _FENCE.match(line)
        if fence is not None:
            if marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
                fence = None
        elif marker:
            fence = marker.group(1)
        elif (m := _HEADING.match(line)) is not None:
            current = []
            sections.append((m.group(2), current))
            continue
        if current is not None:
            current.append(line)
    tags: dict[str, str] = {}
    for heading, lines in sections:
        field = _field_of(heading)
        if field is None or TAG_PREFIX + field in tags:
            continue
        text = _COMMENT.sub("", "\n".join(lines))
        kept = [ln.rstrip() for ln in text.splitlines() if not _EMPTY_BULLET.match(ln) and not _PLACEHOLDER.match(ln)]
        prose = "\n".join(kept).strip()
        if not prose or not re.search(r"\w", prose) or _normal(prose) in _BOILERPLATE:
            continue
        if len(prose) > MAX_SECTION:
            prose = prose[: MAX_SECTION - 1] + "…"
        tags[TAG_PREFIX + field] = prose
        tags[TAG_PREFIX + field + SOURCE_SUFFIX] = f"{readme} § {heading.strip()}"
    return tags
