"""The comparison model: a candidate against its baseline, as pure functions over the catalog.

The question a model review asks is "should this candidate replace what serves today, and what
changed?". :func:`compare` answers it with plain records (metric deltas judged by the metric's
goal, params, datasets, code, logged-model signature, which version serves) that both the site
and ``mlreport diff`` present; nothing here formats text for a page or touches a store.

"Better" has one definition, the catalog's: :meth:`Catalog.goal`.
"""

from __future__ import annotations

import difflib
import enum
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .catalog import Catalog, key_metrics
from .errors import UsageError
from .model import Dataset, LoggedModel, Metric, ModelVersion, Run
from .sanitize import load_json_text

DEFAULT_BASELINE = "champion"
TREND_POINTS = 16  # points kept of a metric's history for a sparkline


class Verdict(enum.Enum):
    """How the candidate's value compares with the baseline's, by the metric's goal."""

    BETTER = "better"
    WORSE = "worse"
    SAME = "same"
    NEW = "new"  # only the candidate has it
    DROPPED = "dropped"  # only the baseline has it
    NOT_COMPARABLE = "not comparable"  # NaN or infinite on a side, or no baseline at all


@dataclass(frozen=True, slots=True)
class Subject:
    """One side of a comparison: a model version, or a run that no registry holds (yet)."""

    model: str | None
    version: str | None
    run: Run | None
    logged_model: LoggedModel | None = None
    aliases: tuple[str, ...] = ()
    stage: str | None = None
    metrics: tuple[Metric, ...] = ()  # the version's own numbers (a checkpoint's), when it has them

    @property
    def label(self) -> str:
        if self.version is not None:
            return f"v{self.version}" if self.version[:1].isdigit() else self.version
        if self.run is not None:
            return f"run {self.run.name}" if self.run.name != self.run.id else f"run {self.run.id[:12]}"
        return "nothing"


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """One metric on both sides. ``delta`` is candidate minus baseline; ``relative`` is the delta
    over the baseline's magnitude (``None`` when the baseline is 0)."""

    key: str
    goal: str
    goal_source: str
    candidate: float | None
    baseline: float | None
    delta: float | None
    relative: float | None
    verdict: Verdict
    key_metric: bool
    trend: tuple[float, ...] = ()  # the candidate's history, thinned for a sparkline


@dataclass(frozen=True, slots=True)
class ValueChange:
    """A param (or tag) whose value differs; ``None`` where a side does not have it."""

    key: str
    candidate: str | None
    baseline: str | None


@dataclass(frozen=True, slots=True)
class DatasetSide:
    key: str
    name: str
    digest: str | None
    source: str | None
    context: str | None


class DataStatus(enum.Enum):
    SAME = "same"
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class DatasetChange:
    """An input dataset on both sides, paired by name, then by context (training, validation …)."""

    status: DataStatus
    candidate: DatasetSide | None
    baseline: DatasetSide | None

    @property
    def role(self) -> str:
        side = self.candidate or self.baseline
        assert side is not None
        return side.context or "input"

    @property
    def changed_fields(self) -> tuple[str, ...]:
        if self.candidate is None or self.baseline is None:
            return ()
        return tuple(f for f in ("name", "digest", "source") if getattr(self.candidate, f) != getattr(self.baseline, f))


@dataclass(frozen=True, slots=True)
class CodeChange:
    """The git commits of both runs, with links when the repository's web address is known."""

    candidate_commit: str | None
    baseline_commit: str | None
    candidate_branch: str | None
    baseline_branch: str | None
    repo_url: str | None  # web address (https), derived from https:// or git@ remotes
    candidate_dirty: bool | None = None

    @property
    def changed(self) -> bool:
        return self.candidate_commit != self.baseline_commit

    @property
    def compare_url(self) -> str | None:
        if not self.repo_url or not self.changed or not _is_sha(self.candidate_commit):
            return None
        if not _is_sha(self.baseline_commit):
            return None
        return f"{self.repo_url}/compare/{self.baseline_commit}...{self.candidate_commit}"

    @property
    def candidate_url(self) -> str | None:
        return commit_url(self.repo_url, self.candidate_commit)


@dataclass(frozen=True, slots=True)
class SignatureChange:
    """A difference in a logged model's signature (inputs, outputs or params)."""

    part: str
    field: str
    candidate: str | None  # the field's type, ``None`` when the candidate lacks the field
    baseline: str | None


@dataclass(frozen=True, slots=True)
class Serving:
    """Which version serves: the baseline alias's holder and each stage's holders.

    Registries keep aliases and stages side by side (MLflow's deprecated stages next to its
    aliases); when they disagree, a reviewer must know which one the deployment reads.
    """

    alias: str
    alias_holder: str | None
    stages: Mapping[str, tuple[str, ...]]

    @property
    def note(self) -> str | None:
        production = [v for s, vs in self.stages.items() if s.lower() == "production" for v in vs]
        if not production or self.alias_holder is None or production == [self.alias_holder]:
            return None
        held = ", ".join(f"v{v}" for v in production)
        return (
            f"stage Production is {held} while @{self.alias} is v{self.alias_holder}: "
            "which one serves depends on whether the deployment loads by stage or by alias"
        )


@dataclass(frozen=True, slots=True)
class Comparison:
    """A candidate against its baseline. ``baseline`` is ``None`` when there is none, and
    ``baseline_note`` says why in words a reviewer reads."""

    model: str | None
    candidate: Subject
    baseline: Subject | None
    against: str  # what was asked for: "@champion", "churn/3"
    baseline_note: str
    metrics: tuple[MetricDelta, ...]
    params: tuple[ValueChange, ...]
    datasets: tuple[DatasetChange, ...]
    code: CodeChange | None
    signature: tuple[SignatureChange, ...]
    serving: Serving | None

    def metric(self, key: str) -> MetricDelta | None:
        return next((m for m in self.metrics if m.key == key), None)


# ---------------------------------------------------------------------------------------------
# which way is better


def goal_source(catalog: Catalog, key: str) -> str:
    """Where a metric's goal came from, in words for the page ("name vocabulary" …)."""
    source = getattr(catalog, "goal_source", None)  # the catalog helper's method, when landed
    if callable(source):
        return str(source(key))
    return "metric_goals in mlreport.yml" if key in catalog.metric_goals else "name vocabulary"


def judge(goal: str, candidate: float | None, baseline: float | None) -> Verdict:
    """Better, worse or the same, by ``goal`` ("min" or "max")."""
    if candidate is None and baseline is None:
        return Verdict.NOT_COMPARABLE
    if baseline is None:
        return Verdict.NEW if candidate is not None and not math.isnan(candidate) else Verdict.NOT_COMPARABLE
    if candidate is None:
        return Verdict.DROPPED
    if not (math.isfinite(candidate) and math.isfinite(baseline)):
        return Verdict.SAME if candidate == baseline else Verdict.NOT_COMPARABLE
    if candidate == baseline:
        return Verdict.SAME
    lower = candidate < baseline
    return Verdict.BETTER if lower == (goal == "min") else Verdict.WORSE


# ---------------------------------------------------------------------------------------------
# resolving what to compare


def resolve(catalog: Catalog, spec: str, model_hint: str | None = None) -> Subject:
    """A subject from a spec: ``model@alias``, ``model/version``, ``runs:/<run_id>[/path]``, a
    run id or run key, or (with ``model_hint``) ``@alias`` or a bare version.

    Raises:
        UsageError: nothing in the catalog matches; the message names the closest match.
    """
    text = spec.strip()
    if text.startswith("runs:/"):
        run_id = text[len("runs:/") :].strip("/").split("/", 1)[0]
        return subject_of_run(catalog, _find_run(catalog, run_id, spec))
    if text.startswith("@") and model_hint is not None:
        text = f"{model_hint}{text}"
    if "@" in text:
        name, _, alias = text.rpartition("@")
        model = _find_model(catalog, name, spec)
        holder = catalog.model_by_name[model].aliases.get(alias)
        if holder is None:
            known = ", ".join(f"@{a}" for a in catalog.model_by_name[model].aliases) or "none"
            raise UsageError(f"cannot compare {spec}: {model} has no alias @{alias} (aliases: {known})")
        return subject_of_version(catalog, _find_version(catalog, model, holder, spec))
    if "/" in text:
        # model names may hold "/" themselves; the version is after the last one
        name, _, version = text.rpartition("/")
        if name in catalog.model_by_name or model_hint is None:
            return subject_of_version(catalog, _find_version(catalog, _find_model(catalog, name, spec), version, spec))
    if model_hint is not None and catalog.version(model_hint, text) is not None:
        return subject_of_version(catalog, _find_version(catalog, model_hint, text, spec))
    if text in catalog.run_by_key or any(r.id == text for r in catalog.runs):
        return subject_of_run(catalog, _find_run(catalog, text, spec))
    raise UsageError(
        f"cannot compare {spec}: expected model@alias, model/version, runs:/<run_id> or a run id"
        + _closest_hint(text, [*catalog.model_by_name, *(r.id for r in catalog.runs)])
    )


def subject_of_version(catalog: Catalog, mv: ModelVersion) -> Subject:
    run = catalog.run_by_key.get(mv.run_key or "")
    return Subject(
        model=mv.model,
        version=mv.version,
        run=run,
        logged_model=catalog.logged_model_by_key.get(mv.logged_model_key or ""),
        aliases=mv.aliases,
        stage=mv.stage,
        metrics=mv.metrics,
    )


def subject_of_run(catalog: Catalog, run: Run) -> Subject:
    """A run as a subject: the version it is the source of when there is one (the newest)."""
    versions = catalog.versions_by_run.get(run.key, ())
    if versions:
        return subject_of_version(catalog, versions[-1])
    logged = next(
        (catalog.logged_model_by_key[k] for k in run.output_model_keys if k in catalog.logged_model_by_key), None
    )
    return Subject(model=None, version=None, run=run, logged_model=logged)


def model_of_run(catalog: Catalog, run: Run) -> str | None:
    """The model an unregistered run is a candidate for: the one model whose versions come from
    runs of the same experiment; ``None`` when that is not one model."""
    if run.experiment_key is None:
        return None
    models = {
        v.model
        for key in catalog.runs_by_experiment.get(run.experiment_key, ())
        for v in catalog.versions_by_run.get(key, ())
    }
    return next(iter(models)) if len(models) == 1 else None


def _find_model(catalog: Catalog, name: str, spec: str) -> str:
    if name in catalog.model_by_name:
        return name
    raise UsageError(f"cannot compare {spec}: no model '{name}'" + _closest_hint(name, list(catalog.model_by_name)))


def _find_version(catalog: Catalog, model: str, version: str, spec: str) -> ModelVersion:
    found = catalog.version(model, version)
    if found is not None:
        return found
    stripped = version[1:] if version[:1] in "vV" else version
    found = catalog.version(model, stripped)
    if found is not None:
        return found
    versions = catalog.versions_by_model.get(model, ())
    known = ", ".join(v.version for v in versions) or "none"
    raise UsageError(f"cannot compare {spec}: {model} has no version {version} (versions: {known})")


def _find_run(catalog: Catalog, run_id: str, spec: str) -> Run:
    run = catalog.run_by_key.get(run_id)
    if run is not None:
        return run
    matches = [r for r in catalog.runs if r.id == run_id]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        keys = ", ".join(sorted(r.key for r in matches))
        raise UsageError(f"cannot compare {spec}: run id {run_id} is in several stores (keys: {keys})")
    raise UsageError(f"cannot compare {spec}: no run {run_id}" + _closest_hint(run_id, [r.id for r in catalog.runs]))


def _closest_hint(text: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(text, sorted(set(known)), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def choose_baseline(
    catalog: Catalog, candidate: Subject, against: str | None = None, alias: str = DEFAULT_BASELINE
) -> tuple[Subject | None, str, str]:
    """The baseline for ``candidate``: ``against`` when given, else the version holding ``@alias``;
    when the candidate itself holds it, the version before it. Returns (baseline, what was asked,
    a note in words)."""
    model = candidate.model or (model_of_run(catalog, candidate.run) if candidate.run else None)
    if against is not None:
        base = resolve(catalog, against, model)
        return base, against, _describe(base)
    asked = f"@{alias}"
    if model is None:
        return None, asked, "no baseline: the candidate is not a version of a model; pass --against model@alias"
    holder = catalog.model_by_name[model].aliases.get(alias) if model in catalog.model_by_name else None
    if holder is None:
        return None, asked, f"no baseline: {model} has no @{alias}; pass --against to choose one"
    if candidate.version != holder:
        mv = catalog.version(model, holder)
        if mv is None:
            return None, asked, f"no baseline: @{alias} names v{holder}, which is not in the store"
        base = subject_of_version(catalog, mv)
        return base, asked, f"@{alias} ({base.label})"
    previous = previous_version(catalog, model, holder)
    if previous is None:
        return None, asked, f"no baseline: this version holds @{alias} and has no earlier version"
    base = subject_of_version(catalog, previous)
    return base, asked, f"the previous version {base.label} (this version holds @{alias})"


def _describe(subject: Subject) -> str:
    if subject.version is not None:
        return f"{subject.model} {subject.label}"
    return subject.label


def previous_version(catalog: Catalog, model: str, version: str) -> ModelVersion | None:
    """The version before ``version`` in the model's natural version order."""
    before, _ = neighbours(catalog, model, version)
    return before


def neighbours(catalog: Catalog, model: str, version: str) -> tuple[ModelVersion | None, ModelVersion | None]:
    """The versions just before and just after ``version`` (natural order), for page links."""
    # the catalog keeps each model's versions in natural order (make_catalog) and indexes them
    # once: no sort and no scan per page
    return catalog.version_neighbours(model, version)


# ---------------------------------------------------------------------------------------------
# the comparison


def compare(
    catalog: Catalog,
    candidate: Subject,
    baseline: Subject | None,
    *,
    against: str = f"@{DEFAULT_BASELINE}",
    baseline_note: str = "",
    alias: str = DEFAULT_BASELINE,
    configured_metrics: Sequence[str] = (),
    extra_metrics: Sequence[str] = (),
    keys: Sequence[str] | None = None,
    trends: bool = True,
) -> Comparison:
    """Compare two subjects: every metric either side has (key metrics first), the params, inputs,
    commits and signatures that differ, and which version serves the model.

    ``keys`` are the key metrics when the caller has them (the site computes them once a model);
    ``trends`` adds the candidate's thinned histories for sparklines.
    """
    model = candidate.model or (baseline.model if baseline else None)
    keys = list(keys) if keys is not None else _key_metrics(catalog, model, candidate, configured_metrics)
    for extra in extra_metrics:
        if extra not in keys:
            keys.append(extra)
    cand_metrics = _metrics(candidate)
    base_metrics = _metrics(baseline) if baseline else {}
    others = sorted((set(cand_metrics) | set(base_metrics)) - set(keys))
    deltas = []
    for key in [*keys, *others]:
        if key not in cand_metrics and key not in base_metrics:
            continue
        deltas.append(
            _delta(catalog, key, candidate, cand_metrics.get(key), base_metrics.get(key), baseline, keys, trends)
        )
    serving = None
    if model is not None and model in catalog.model_by_name:
        serving = Serving(
            alias=alias,
            alias_holder=catalog.model_by_name[model].aliases.get(alias),
            stages=serving_stages(catalog, model),
        )
    return Comparison(
        model=model,
        candidate=candidate,
        baseline=baseline,
        against=against,
        baseline_note=baseline_note,
        metrics=tuple(deltas),
        params=param_changes(_params(candidate), _params(baseline) if baseline else None),
        datasets=dataset_changes(catalog, candidate.run, baseline.run if baseline else None),
        code=code_change(candidate.run, baseline.run if baseline else None),
        signature=signature_changes(candidate.logged_model, baseline.logged_model if baseline else None),
        serving=serving,
    )


def compare_spec(
    catalog: Catalog,
    candidate_spec: str,
    against: str | None = None,
    alias: str = DEFAULT_BASELINE,
    configured_metrics: Sequence[str] = (),
    extra_metrics: Sequence[str] = (),
) -> Comparison:
    """:func:`compare` from the command line's words (``churn@challenger``, ``--against @champion``)."""
    candidate = resolve(catalog, candidate_spec)
    baseline, asked, note = choose_baseline(catalog, candidate, against, alias)
    return compare(
        catalog,
        candidate,
        baseline,
        against=asked,
        baseline_note=note,
        alias=alias,
        configured_metrics=configured_metrics,
        extra_metrics=extra_metrics,
    )


def compare_version(
    catalog: Catalog,
    mv: ModelVersion,
    alias: str = DEFAULT_BASELINE,
    configured_metrics: Sequence[str] = (),
    keys: Sequence[str] | None = None,
) -> Comparison:
    """A version against its baseline, as the version page shows it (no sparkline trends)."""
    candidate = subject_of_version(catalog, mv)
    baseline, asked, note = choose_baseline(catalog, candidate, None, alias)
    return compare(
        catalog,
        candidate,
        baseline,
        against=asked,
        baseline_note=note,
        alias=alias,
        configured_metrics=configured_metrics,
        keys=keys,
        trends=False,
    )


def serving_stages(catalog: Catalog, model: str) -> Mapping[str, tuple[str, ...]]:
    """Which versions of ``model`` hold each stage that serves (not None, not Archived), by
    stage name: the same for every version page of the model, so made once a model."""

    def make() -> dict[str, tuple[str, ...]]:
        stages: dict[str, list[str]] = {}
        for v in catalog.versions_by_model.get(model, ()):
            if v.stage and v.stage.lower() not in ("none", "archived"):
                stages.setdefault(v.stage, []).append(v.version)
        return {s: tuple(vs) for s, vs in sorted(stages.items())}

    return dict(catalog.derived("review.serving_stages", model, make))  # each comparison its own


def _key_metrics(catalog: Catalog, model: str | None, candidate: Subject, configured: Sequence[str]) -> list[str]:
    runs = [
        r
        for v in catalog.versions_by_model.get(model or "", ())
        if (r := catalog.run_by_key.get(v.run_key or "")) is not None
    ]
    if candidate.run is not None and candidate.run not in runs:
        runs.append(candidate.run)
    return list(key_metrics(catalog, runs, configured))


def _metrics(subject: Subject) -> dict[str, Metric]:
    """The subject's metrics: the version's own when it has them (as its page shows), else its
    run's, then the logged model's for keys the run lacks (an MLflow 3 evaluation logs onto it)."""
    if subject.metrics:
        return {m.key: m for m in subject.metrics}
    out: dict[str, Metric] = {}
    if subject.run is not None:
        for m in subject.run.metrics:
            out[m.key] = m
    if subject.logged_model is not None:
        for m in subject.logged_model.metrics:
            out.setdefault(m.key, m)
    return out


def _delta(
    catalog: Catalog,
    key: str,
    candidate: Subject,
    cand: Metric | None,
    base: Metric | None,
    baseline: Subject | None,
    keys: Sequence[str],
    trends: bool,
) -> MetricDelta:
    goal = catalog.goal(key)
    c = cand.final if cand is not None else None
    b = base.final if base is not None else None
    verdict = judge(goal, c, b) if baseline is not None else Verdict.NOT_COMPARABLE
    delta = relative = None
    if c is not None and b is not None and math.isfinite(c) and math.isfinite(b):
        delta = c - b
        relative = delta / abs(b) if b != 0 else None
    trend: tuple[float, ...] = ()
    if trends and key in keys and candidate.run is not None and cand is not None:
        history = catalog.history(candidate.run.key, key)
        if history is not None and len(history) > 1:
            trend = thin([v for v in history.values if math.isfinite(v)], TREND_POINTS)
    return MetricDelta(
        key=key,
        goal=goal,
        goal_source=goal_source(catalog, key),
        candidate=c,
        baseline=b,
        delta=delta,
        relative=relative,
        verdict=verdict,
        key_metric=key in keys,
        trend=trend,
    )


def thin(values: Sequence[float], n: int) -> tuple[float, ...]:
    """At most ``n`` values, evenly spaced, first and last kept."""
    if len(values) <= n:
        return tuple(values)
    step = (len(values) - 1) / (n - 1)
    return tuple(values[round(i * step)] for i in range(n))


def _params(subject: Subject) -> Mapping[str, str]:
    if subject.run is not None and subject.run.params:
        return subject.run.params
    if subject.logged_model is not None:
        return subject.logged_model.params
    return {}


def param_changes(candidate: Mapping[str, str], baseline: Mapping[str, str] | None) -> tuple[ValueChange, ...]:
    """The params whose values differ, sorted by key; nothing when there is no baseline."""
    if baseline is None:
        return ()
    keys = sorted(set(candidate) | set(baseline))
    return tuple(ValueChange(k, candidate.get(k), baseline.get(k)) for k in keys if candidate.get(k) != baseline.get(k))


def _inputs(catalog: Catalog, run: Run | None) -> list[DatasetSide]:
    if run is None:
        return []
    out = []
    for ref in run.inputs:
        ds: Dataset | None = catalog.dataset_by_key.get(ref.dataset_key)
        out.append(
            DatasetSide(
                key=ref.dataset_key,
                name=ds.name if ds else ref.dataset_key,
                digest=ds.digest if ds else None,
                source=ds.source if ds else None,
                context=ref.context,
            )
        )
    return sorted(out, key=lambda d: (d.context or "", d.name, d.key))


def dataset_changes(catalog: Catalog, candidate: Run | None, baseline: Run | None) -> tuple[DatasetChange, ...]:
    """Every input of both runs, paired: the same dataset key is the same data; the same name
    (in the same context) with another digest or source changed; otherwise one unpaired input
    per context on each side is that context's data, changed; the rest are added or removed."""
    if baseline is None:
        return tuple(DatasetChange(DataStatus.ADDED, d, None) for d in _inputs(catalog, candidate))
    cand = _inputs(catalog, candidate)
    base = _inputs(catalog, baseline)
    pairs: list[DatasetChange] = []

    def take(match: Callable[[DatasetSide, DatasetSide], bool]) -> None:
        for c in list(cand):
            for b in base:
                if match(c, b):
                    cand.remove(c)
                    base.remove(b)
                    status = (
                        DataStatus.SAME
                        if (c.key, c.digest, c.source) == (b.key, b.digest, b.source)
                        else DataStatus.CHANGED
                    )
                    pairs.append(DatasetChange(status, c, b))
                    break

    take(lambda c, b: c.key == b.key and c.context == b.context)
    take(lambda c, b: c.name == b.name and c.context == b.context)
    take(lambda c, b: c.key == b.key)
    for context in sorted({c.context or "" for c in cand}):
        cs = [c for c in cand if (c.context or "") == context]
        bs = [b for b in base if (b.context or "") == context]
        if len(cs) == 1 and len(bs) == 1:
            cand.remove(cs[0])
            base.remove(bs[0])
            pairs.append(DatasetChange(DataStatus.CHANGED, cs[0], bs[0]))
    pairs.extend(DatasetChange(DataStatus.ADDED, c, None) for c in cand)
    pairs.extend(DatasetChange(DataStatus.REMOVED, None, b) for b in base)
    return tuple(sorted(pairs, key=_change_order))


def _change_order(change: DatasetChange) -> tuple[str, str, str]:
    side = change.candidate or change.baseline
    assert side is not None
    return (side.context or "", side.name, side.key)


def code_change(candidate: Run | None, baseline: Run | None) -> CodeChange | None:
    """Both runs' commits; ``None`` when neither run records one."""
    c = candidate.git if candidate is not None else None
    b = baseline.git if baseline is not None else None
    if not (c and c.commit) and not (b and b.commit):
        return None
    return CodeChange(
        candidate_commit=c.commit if c else None,
        baseline_commit=b.commit if b else None,
        candidate_branch=c.branch if c else None,
        baseline_branch=b.branch if b else None,
        repo_url=web_url((c.repo_url if c else None) or (b.repo_url if b else None)),
        candidate_dirty=c.dirty if c else None,
    )


def _is_sha(commit: str | None) -> bool:
    return bool(commit) and re.fullmatch(r"[0-9a-fA-F]{7,64}", commit or "") is not None


def web_url(repo_url: str | None) -> str | None:
    """The https address of a git remote: ``git@host:org/repo.git``, ``ssh://git@host/org/repo``
    and ``https://user@host/org/repo.git`` all become ``https://host/org/repo``; anything else
    (a local path, an unknown scheme) gives ``None``, so no link is invented."""
    if not repo_url:
        return None
    url = repo_url.strip()
    if re.match(r"^[\w.-]+@[\w.-]+:(?!//)", url):  # scp-like: git@github.com:acme/repo.git
        host, _, path = url.split("@", 1)[1].partition(":")
        url = f"https://{host}/{path.lstrip('/')}"
    elif url.startswith("ssh://"):
        rest = url[len("ssh://") :]
        host, _, path = rest.partition("/")
        host = host.rsplit("@", 1)[-1].split(":", 1)[0]
        url = f"https://{host}/{path}"
    elif url.startswith(("https://", "http://")):
        scheme, _, rest = url.partition("://")
        host, _, path = rest.partition("/")
        url = f"{scheme}://{host.rsplit('@', 1)[-1]}/{path}"
    else:
        return None
    url = url.rstrip("/")
    if url.endswith(".git"):
        url = url[:-4]
    if re.search(r"[\s\"'<>`]", url) or url.count("/") < 3:
        return None
    return url


def commit_url(repo_url: str | None, commit: str | None) -> str | None:
    """A link to one commit on the repository's web host, when both are known."""
    if not repo_url or not _is_sha(commit):
        return None
    return f"{repo_url}/commit/{commit}"


def _signature(model: LoggedModel | None) -> dict[str, dict[str, str]] | None:
    """``{part: {field: type}}`` from a logged model's signature, where the store records one
    (``LoggedModel.signature``, the MLmodel file's ``inputs``/``outputs``/``params`` JSON)."""
    raw = getattr(model, "signature", None) if model is not None else None
    if not raw:
        return None
    out: dict[str, dict[str, str]] = {}
    for part in ("inputs", "outputs", "params"):
        text = raw.get(part) if isinstance(raw, Mapping) else None
        if not text:
            continue
        try:
            spec = load_json_text(text) if isinstance(text, str) else None  # bounded, clean (fuzz F21)
        except ValueError:
            continue
        fields: dict[str, str] = {}
        if isinstance(spec, list):
            for i, col in enumerate(spec):
                if isinstance(col, dict):
                    name = str(col.get("name", f"[{i}]"))
                    kind = col.get("type") or col.get("tensor-spec") or "?"
                    fields[name] = kind if isinstance(kind, str) else json.dumps(kind, sort_keys=True)
        out[part] = fields
    return out


def signature_changes(candidate: LoggedModel | None, baseline: LoggedModel | None) -> tuple[SignatureChange, ...]:
    """Fields added, removed or retyped between two logged models' signatures."""
    c, b = _signature(candidate), _signature(baseline)
    if c is None or b is None:
        return ()
    out = []
    for part in ("inputs", "outputs", "params"):
        cf, bf = c.get(part, {}), b.get(part, {})
        for name in sorted(set(cf) | set(bf)):
            if cf.get(name) != bf.get(name):
                out.append(SignatureChange(part, name, cf.get(name), bf.get(name)))
    return tuple(out)
