"""A model version's card, filled from what the stores recorded (issue 10).

:func:`build_card` makes a :class:`ModelCard` from the catalog: the sections of the Model Card
Toolkit and of the Hugging Face card (model details, intended use, factors, metrics, evaluation
data, training data, ethical considerations, caveats and recommendations), each field with the
place it came from, and an empty field kept as "not recorded" rather than left out (a card that
hides what nobody wrote down reads as complete). The version page draws it
(:mod:`mlreport.render.model_card`); :func:`card_readme` writes it as a Hugging Face ``README.md``
with YAML front matter and a ``model-index`` (``mlreport card model@alias``).

Where a field comes from, first found wins: the version's tags, then its source run's, then the
logged model's, then the registered model's. Prose fields are tags named ``model_card.<field>``
(see ``docs/cards.md``; the manifest writes them, and anyone can set them in MLflow); the short
front-matter fields (license, language, base model, task) are also taken from a tag named
``<field>`` or ``<namespace>.<field>`` (a reader keeps a card's ``license`` as such a tag), so
nothing here knows which tool wrote the run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from . import card_yaml
from .catalog import Catalog, key_metrics
from .errors import UsageError
from .model import Dataset, LoggedModel, Metric, ModelVersion, RegisteredModel, Run
from .sanitize import NAME_LIMIT, PAGE_TEXT_LIMIT, cut_text, load_json_text

NOT_RECORDED = "not recorded"
NAME_CHARS = NAME_LIMIT  # a metric or dataset name in the README's front matter
TAG_PREFIX = "model_card."
SOURCE_SUFFIX = ".source"  # model_card.<field>.source: what a reader took the field from


@dataclass(frozen=True, slots=True)
class CardField:
    """One line of a card: ``value`` is ``None`` when nothing recorded it; ``source`` says where
    a value came from (``version tag model_card.intended_use``); ``prose`` values are Markdown."""

    label: str
    value: str | None
    source: str | None = None
    prose: bool = False


@dataclass(frozen=True, slots=True)
class CardMetric:
    """A metric of the version: its final value, which way is better and why, and whose it is."""

    name: str
    value: float
    step: int
    goal: str  # "min" | "max" (Catalog.goal)
    goal_source: str  # Catalog.goal_source
    source: str  # "version", "run <name>", "logged model <name>"
    key: bool  # one of the model's key metrics


@dataclass(frozen=True, slots=True)
class CardDataset:
    """A dataset the version's run read, from lineage: its name, digest, source and use."""

    key: str
    name: str
    context: str | None
    digest: str | None
    source: str | None
    split: str | None = None
    config: str | None = None


@dataclass(frozen=True, slots=True)
class CardSection:
    key: str  # model_details, intended_use, … (the Model Card Toolkit's names)
    title: str
    fields: tuple[CardField, ...]


@dataclass(frozen=True, slots=True)
class ModelCard:
    """A version's card. ``sections`` hold every field (empty ones as "not recorded");
    ``metrics``, ``training_data`` and ``evaluation_data`` are the structured parts."""

    model: str
    version: str
    aliases: tuple[str, ...]
    sections: tuple[CardSection, ...]
    metrics: tuple[CardMetric, ...]
    training_data: tuple[CardDataset, ...]
    evaluation_data: tuple[CardDataset, ...]
    license: str | None = None
    language: tuple[str, ...] = ()
    base_model: str | None = None
    task: str | None = None
    library: str | None = None

    def section(self, key: str) -> CardSection:
        return next(s for s in self.sections if s.key == key)


# (section key, title, [(field label, tag names)]) — the tag names are tried in order
_PROSE: tuple[tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = (
    (
        "intended_use",
        "Intended use",
        (
            ("Primary intended uses", ("intended_use", "intended_uses", "primary_uses", "use_cases")),
            ("Primary intended users", ("intended_users", "users")),
            ("Out-of-scope uses", ("out_of_scope_uses", "out_of_scope", "misuse")),
        ),
    ),
    (
        "factors",
        "Factors",
        (
            ("Relevant factors", ("factors", "relevant_factors")),
            ("Evaluation factors", ("evaluation_factors",)),
        ),
    ),
    ("metrics", "Metrics", (("Decision thresholds", ("decision_thresholds", "thresholds")),)),
    ("evaluation_data", "Evaluation data", (("About the evaluation data", ("evaluation_data", "eval_data")),)),
    (
        "training_data",
        "Training data",
        (
            ("About the training data", ("training_data", "train_data")),
            ("Training procedure", ("training_procedure",)),
        ),
    ),
    (
        "ethical_considerations",
        "Ethical considerations",
        (("Ethical considerations", ("ethical_considerations", "ethics", "risks")),),
    ),
    (
        "caveats_recommendations",
        "Caveats and recommendations",
        (
            ("Caveats", ("caveats", "limitations", "bias_risks_limitations")),
            ("Recommendations", ("recommendations",)),
        ),
    ),
)
# front-matter fields: also a tag named <field> or <namespace>.<field>
_SHORT = {
    "license": ("license",),
    "language": ("language",),
    "base_model": ("base_model",),
    "task": ("task", "pipeline_tag"),
    "library": ("library_name", "library"),
    "model_type": ("model_type", "architecture"),
    "owner": ("owner", "owners", "team"),
    "description": ("description", "model_description"),
}
_EVAL_CONTEXTS = ("eval", "evaluation", "validation", "valid", "val", "test", "testing", "holdout")


class _Tags:
    """The tag sets a card reads, in the order they win, each with its name for a source line."""

    def __init__(self, sources: Sequence[tuple[str, Mapping[str, str]]]) -> None:
        self.sources = sources
        self.used: set[str] = set()  # model_card.* keys a field took (from any tag set)

    def prose(self, names: Sequence[str]) -> tuple[str, str] | None:
        for where, tags in self.sources:
            for name in names:
                value = tags.get(TAG_PREFIX + name)
                if value and value.strip():
                    self.used.add(TAG_PREFIX + name)
                    return value.strip(), _source(where, tags, TAG_PREFIX + name)
        return None

    def short(self, names: Sequence[str]) -> tuple[str, str] | None:
        found = self.prose(names)
        if found is not None:
            return found
        for where, tags in self.sources:
            for name in names:
                for key in (
                    name,
                    *sorted(k for k in tags if k.endswith("." + name) and "." not in k[: -len(name) - 1]),
                ):
                    value = tags.get(key)
                    if value and value.strip():
                        return value.strip(), f"{where} tag {key}"
        return None

    def unused(self) -> list[tuple[str, str, str, Mapping[str, str]]]:
        """``model_card.*`` tags no field took: (where, key, value), shown under "More"."""
        out = []
        seen: set[str] = set()
        for where, tags in self.sources:
            for key, value in tags.items():
                if key.endswith(SOURCE_SUFFIX) and key[: -len(SOURCE_SUFFIX)] in tags:
                    continue  # where another tag came from, said with that tag
                if key.startswith(TAG_PREFIX) and key not in self.used and key not in seen and value.strip():
                    seen.add(key)
                    out.append((where, key, value.strip(), tags))
        return out


def _source(where: str, tags: Mapping[str, str], key: str) -> str:
    """Where a card tag came from: the tag, and what the store says it was taken from (the
    ``<key>.source`` tag a reader sets, e.g. ``README.md § Intended uses & limitations``)."""
    origin = tags.get(key + SOURCE_SUFFIX, "").strip()
    return f"{origin} ({where} tag {key})" if origin else f"{where} tag {key}"


def _field(label: str, found: tuple[str, str] | None, prose: bool = False) -> CardField:
    if found is None:
        return CardField(label, None, None, prose)
    return CardField(label, found[0], found[1], prose)


def _signature_text(lm: LoggedModel | None) -> tuple[str, str] | None:
    """The logged model's input/output schema (``LoggedModel.signature``, the MLmodel file's
    ``signature``: part -> the column or tensor spec as JSON text), one part after the other."""
    sig = lm.signature if lm is not None else None
    if not sig:
        return None
    parts = []
    for side in ("inputs", "outputs", "params"):
        raw = sig.get(side)
        if not raw:
            continue
        text = _schema_text(raw)
        if text:
            parts.append(f"{side}: {text}")
    return ("; ".join(parts), "logged model signature") if parts else None


def _schema_text(raw: object) -> str:
    cols = raw
    if isinstance(raw, str):
        try:
            cols = load_json_text(raw)  # clean and bounded: a store string (fuzz F21)
        except ValueError:
            return raw
    if isinstance(cols, Sequence) and not isinstance(cols, str):
        shown = []
        for col in cols:
            if isinstance(col, Mapping):
                name, kind = col.get("name"), col.get("type")
                shown.append(f"{name} ({kind})" if name and kind else str(name or kind or ""))
            else:
                shown.append(str(col))
        return ", ".join(s for s in shown if s)
    return str(cols)


def build_card(catalog: Catalog, model: RegisteredModel, v: ModelVersion, keys: Sequence[str] = ()) -> ModelCard:
    """The card of version ``v`` of ``model``; ``keys`` are the model's key metrics (listed
    first and marked)."""
    run = catalog.run_by_key.get(v.run_key) if v.run_key else None
    lm = catalog.logged_model_by_key.get(v.logged_model_key or "")
    sources: list[tuple[str, Mapping[str, str]]] = [("version", v.tags)]
    if run is not None:
        sources.append(("run", run.tags))
    if lm is not None:
        sources.append(("logged model", lm.tags))
    sources.append(("model", model.tags))
    tags = _Tags(sources)

    short = {name: tags.short(names) for name, names in _SHORT.items()}
    description: tuple[str, str] | None = None
    if v.description and v.description.strip():
        description = (v.description.strip(), "version description")
    elif short["description"] is not None:
        description = short["description"]
    elif model.description and model.description.strip():
        description = (model.description.strip(), "registered model description")

    from .render.text import fmt_time

    details = [
        CardField("Model", model.name, "registered model"),
        CardField("Version", v.version, "model version"),
        _field("Aliases and stage", _aliases_stage(v)),
        _field("Description", description, prose=True),
        _field("Model type", (lm.model_type, "logged model type") if lm and lm.model_type else short["model_type"]),
        _field("Base model", short["base_model"]),
        _field("Task", short["task"]),
        _field("Library", short["library"]),
        _field("License", short["license"]),
        _field("Language", short["language"]),
        _field(
            "Owner",
            short["owner"]
            or ((v.user, "version user") if v.user else (run.user, "run user") if run and run.user else None),
        ),
        _field("Created", (fmt_time(v.created), "version created") if v.created else None),
        _field("Source run", (f"{run.name} ({run.id})", "version source run") if run else None),
        _field("Git commit", (run.git.commit, "run git commit") if run and run.git.commit else None),
        _field("Signature", _signature_text(lm)),
    ]
    sections = [CardSection("model_details", "Model details", tuple(details))]

    metrics = _metrics(catalog, v, run, lm, keys)
    training, evaluation = _datasets(catalog, run)
    params = run.params if run else (lm.params if lm else {})
    for key, title, fields in _PROSE:
        out = [_field(label, tags.prose(names), prose=True) for label, names in fields]
        if key == "metrics":
            summary = ", ".join(f"{m.name} {_fmt(m.value)}" for m in metrics if m.key) or ", ".join(
                f"{m.name} {_fmt(m.value)}" for m in metrics[:4]
            )
            source = metrics[0].source if metrics else None
            out.insert(0, _field("Key metrics", (summary, f"{source} metrics (final values)") if summary else None))
        elif key == "evaluation_data":
            out.insert(0, _field("Evaluation datasets", _datasets_text(evaluation)))
        elif key == "training_data":
            out.insert(0, _field("Training datasets", _datasets_text(training)))
            hyper = ", ".join(f"{k}={val}" for k, val in list(params.items())[:12] if len(val) <= 80)
            more = f" (and {len(params) - 12} more)" if len(params) > 12 else ""
            where = "run params" if run else "logged model params"
            out.append(_field("Hyperparameters", (hyper + more, f"{where} ({len(params)})") if hyper else None))
        sections.append(CardSection(key, title, tuple(out)))
    extra = tags.unused()
    if extra:
        fields_ = tuple(
            CardField(k[len(TAG_PREFIX) :].replace("_", " ").capitalize(), val, _source(w, src, k), True)
            for w, k, val, src in extra
        )
        sections.append(CardSection("more", "More information", fields_))

    language = short["language"][0] if short["language"] else ""
    return ModelCard(
        model=model.name,
        version=v.version,
        aliases=v.aliases,
        sections=tuple(sections),
        metrics=tuple(metrics),
        training_data=tuple(training),
        evaluation_data=tuple(evaluation),
        license=short["license"][0] if short["license"] else None,
        language=tuple(x.strip() for x in re.split(r"[,\s]+", language) if x.strip()),
        base_model=short["base_model"][0] if short["base_model"] else None,
        task=short["task"][0] if short["task"] else None,
        library=short["library"][0] if short["library"] else None,
    )


def _aliases_stage(v: ModelVersion) -> tuple[str, str] | None:
    parts = [" ".join(f"@{a}" for a in v.aliases)] if v.aliases else []
    if v.stage:
        parts.append(f"stage {v.stage}")
    return (", ".join(parts), "model version") if parts else None


def _metrics(
    catalog: Catalog, v: ModelVersion, run: Run | None, lm: LoggedModel | None, keys: Sequence[str]
) -> list[CardMetric]:
    if v.metrics:
        found: Iterable[Metric] = v.metrics
        source = "version"
    elif run is not None:
        found, source = run.metrics, f"run {run.name}"
    elif lm is not None:
        found, source = lm.metrics, f"logged model {lm.name}"
    else:
        return []
    by_key = {m.key: m for m in found}
    order = [k for k in keys if k in by_key] + sorted(k for k in by_key if k not in keys)
    return [
        CardMetric(
            name=k,
            value=by_key[k].final,
            step=by_key[k].final_step,
            goal=catalog.goal(k),
            goal_source=catalog.goal_source(k),
            source=source,
            key=k in keys,
        )
        for k in order
    ]


def _datasets(catalog: Catalog, run: Run | None) -> tuple[list[CardDataset], list[CardDataset]]:
    training: list[CardDataset] = []
    evaluation: list[CardDataset] = []
    for ref in run.inputs if run else ():
        ds: Dataset | None = catalog.dataset_by_key.get(ref.dataset_key)
        item = CardDataset(
            key=ref.dataset_key,
            name=ds.name if ds else ref.dataset_key,
            context=ref.context,
            digest=ds.digest if ds else None,
            source=ds.source if ds else None,
            split=ref.tags.get("split"),
            config=ref.tags.get("config"),
        )
        context = (ref.context or "").lower()
        (evaluation if any(context.startswith(c) for c in _EVAL_CONTEXTS) else training).append(item)
    return training, evaluation


def _datasets_text(items: Sequence[CardDataset]) -> tuple[str, str] | None:
    if not items:
        return None
    shown = []
    for d in items:
        extra = ", ".join(x for x in (d.split and f"split {d.split}", d.digest and f"digest {d.digest}", d.source) if x)
        shown.append(f"{d.name} ({extra})" if extra else d.name)
    return "; ".join(shown), "run inputs (lineage)"


def _fmt(value: float) -> str:
    from .render.text import fmt_number

    return fmt_number(value)


# --- which version: model@alias, model@version -------------------------------------------------


def find_version(catalog: Catalog, spec: str) -> tuple[RegisteredModel, ModelVersion]:
    """The version ``spec`` names: ``model@alias`` or ``model@version`` (an alias wins when a
    version has the same name); :class:`UsageError` (exit 2) when there is no such thing."""
    name, sep, which = spec.rpartition("@")
    if not sep or not name or not which:
        raise UsageError(f"cannot find '{spec}': name a version as MODEL@ALIAS or MODEL@VERSION")
    model = catalog.model_by_name.get(name) or next((m for m in catalog.models if m.name == name), None)
    if model is None:
        known = ", ".join(sorted(m.name for m in catalog.models)[:10]) or "none"
        raise UsageError(f"cannot find model '{name}' (models: {known})")
    versions = catalog.versions_by_model.get(model.name, ())
    found = catalog.version(model.name, model.aliases.get(which, which))
    if found is not None:
        return model, found
    aliases = ", ".join(f"@{a}" for a in model.aliases) or "none"
    numbers = ", ".join(v.version for v in versions[-10:]) or "none"
    raise UsageError(f"cannot find '{which}' of model '{name}' (aliases: {aliases}; versions: {numbers})")


def card_for(catalog: Catalog, spec: str, configured_keys: Sequence[str] = ()) -> ModelCard:
    """The card of the version ``spec`` names, with the model's key metrics as the site picks them."""
    model, v = find_version(catalog, spec)
    runs = [
        r
        for x in catalog.versions_by_model.get(model.name, ())
        if x.run_key and (r := catalog.run_by_key.get(x.run_key))
    ]
    return build_card(catalog, model, v, key_metrics(catalog, runs, configured_keys))


# --- the Hugging Face README ---------------------------------------------------------------------


def front_matter(card: ModelCard) -> dict[str, object]:
    """The card's YAML front matter in the Hugging Face model-card schema, ``model-index``
    included: one result per evaluation dataset (or one with the dataset "not recorded"), each
    with the version's key metrics (``type`` a slug of the name, ``value``, ``name``)."""
    meta: dict[str, object] = {}
    # every field is store text (a tag): cut as a name, like the dataset and metric names below
    # (issue 11, F25: a 1 MB license or language tag was copied whole); the body shows each one
    # with its source, and the version page keeps the full value in a file
    task_name = _cut(card.task, NAME_CHARS) if card.task else None
    if card.language:
        meta["language"] = [_cut(x, NAME_CHARS) for x in card.language]
    if card.license:
        meta["license"] = _cut(card.license, NAME_CHARS)
    if card.library:
        meta["library_name"] = _cut(card.library, NAME_CHARS)
    if card.base_model:
        meta["base_model"] = _cut(card.base_model, NAME_CHARS)
    if task_name:
        meta["pipeline_tag"] = task_name
    meta["tags"] = ["mlreport"]
    datasets = sorted({_cut(d.name, NAME_CHARS) for d in card.training_data})
    if datasets:
        meta["datasets"] = datasets
    # the key metrics (the site's choice: never a runtime or throughput counter), else all
    chosen = [m for m in card.metrics if m.key] or list(card.metrics)
    metrics = [
        {"type": _metric_type(m.name[:NAME_CHARS]), "value": m.value, "name": _cut(m.name, NAME_CHARS)}
        for m in chosen
        if m.value == m.value and abs(m.value) != float("inf")  # YAML and the Hub take finite numbers only
    ]
    task = {"type": task_name or "other", "name": task_name or "task not recorded"}
    evaluation = card.evaluation_data or (CardDataset("", NOT_RECORDED, None, None, None),)
    results = []
    for d in evaluation:
        name = _cut(d.name, NAME_CHARS)
        dataset: dict[str, object] = {"name": name, "type": name if d.name != NOT_RECORDED else "not-recorded"}
        if d.config:
            dataset["config"] = _cut(d.config, NAME_CHARS)
        if d.split:
            dataset["split"] = _cut(d.split, NAME_CHARS)
        results.append({"task": task, "dataset": dataset, "metrics": metrics})
    if metrics:
        meta["model-index"] = [{"name": _cut(f"{card.model} {card.version}", NAME_CHARS), "results": results}]
    return meta


_TYPE_UNSAFE = re.compile(r"[^a-z0-9_]+")


def _metric_type(name: str) -> str:
    return _TYPE_UNSAFE.sub("_", name.lower()).strip("_") or "metric"


def card_readme(card: ModelCard) -> str:
    """The card as a Hugging Face ``README.md``: YAML front matter, then one Markdown section per
    card section, each field with its source and "not recorded" where nothing recorded it."""
    # yaml.safe_dump's text, without its pure-Python emitter (a quarter of a version page)
    meta = card_yaml.dump(front_matter(card))
    lines = ["---", meta.rstrip("\n"), "---", "", f"# {_md_line(card.model)} · version {_md_line(card.version)}", ""]
    lines.append("This card was written by mlreport from the tracked records; each field says where it came from.")
    lines.append("")
    for section in card.sections:
        lines += [f"## {section.title}", ""]
        if section.key == "metrics" and card.metrics:
            lines += ["| Metric | Value | Goal | Goal from |", "|---|---|---|---|"]
            for m in card.metrics:
                goal = "lower is better" if m.goal == "min" else "higher is better"
                lines.append(f"| {_cell(m.name)} | {_fmt(m.value)} | {goal} | {_cell(m.goal_source)} |")
            lines += ["", f"*Source: {_md_line(card.metrics[0].source)} metrics (final values).*", ""]
        for f in section.fields:
            if section.key == "metrics" and f.label == "Key metrics" and card.metrics:
                continue
            # a label may be a store's tag key (model_card.<field>): shown as itself, cut as a
            # name (issue 11, F25: a 1 MB key was copied whole, and read as Markdown)
            label = _md_line(f.label, NAME_CHARS)
            if f.value is None:
                lines += [f"**{label}:** *{NOT_RECORDED}*", ""]
            elif f.prose:
                # a card's prose is Markdown its author wrote: kept as Markdown, without raw HTML
                text = _cut(f.value.strip(), PAGE_TEXT_LIMIT).replace("<", "&lt;")
                lines += [f"**{label}** *(source: {_md_line(f.source or '')})*", "", text, ""]
            else:
                lines += [f"**{label}:** {_md_line(f.value)} *(source: {_md_line(f.source or '')})*", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _md_line(text: str, limit: int = 2_000) -> str:
    """Store text on one Markdown line, shown as itself (no emphasis, links or HTML), cut to
    ``limit`` characters with a note (issue 11: a 1 MB value is not copied whole)."""
    text = _cut(" ".join(text.split()), limit)
    return _MD_SPECIAL.sub(r"\\\1", text)


def _cut(text: str, limit: int) -> str:
    shown, was_cut = cut_text(text, limit)
    return f"{shown} … (cut: {len(text):,} characters)" if was_cut else text


# what would make Markdown read store text as markup: emphasis, code, links, HTML, table pipes
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _cell(text: str) -> str:
    return _md_line(text)
