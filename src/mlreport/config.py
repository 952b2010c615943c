"""``mlreport.yml``: sources, site settings and promotion rules.

Every key is checked and every error reported at once, one line each, naming the file and the
key path (``mlreport.yml: sources[1].format: unknown format 'mlfow'``). Command-line flags
override the file only when they are given.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from .errors import ConfigError, kind_of

if TYPE_CHECKING:
    from .catalog import Catalog
    from .gates import Gate

T = TypeVar("T")

CONFIG_NAMES = ("mlreport.yml", "mlreport.yaml")
VERSION_SCHEMES = ("sequence", "run_name", "run_id")
BUILDERS = ("mkdocs", "mkdocs-full", "zensical", "properdocs")


@dataclass(frozen=True)
class SourceConfig:
    """One source: a path or URL, optionally a forced reader, fsspec options, a display label."""

    path: str
    format: str | None = None
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None


@dataclass(frozen=True)
class PromoteRule:
    """Runs matching every given condition become versions of ``model``.

    ``experiment`` is a glob on the experiment name; ``tags``/``params`` map a key to a glob on
    the value (``"*"`` means "present"). Versions are numbered by start time (``sequence``), or
    named by the run name or id.
    """

    model: str
    experiment: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    version: str = "sequence"
    only_finished: bool = True


@dataclass(frozen=True)
class ArtifactsConfig:
    """``artifacts:``: which artifact files are copied into the site for previews (issue 10)."""

    previews: bool = True
    max_bytes: int = 5 * 1024 * 1024  # per file
    max_site_bytes: int = 200 * 1024 * 1024  # all copies of one site together


@dataclass(frozen=True)
class Config:
    sources: tuple[SourceConfig, ...] = ()
    title: str = "Model reports"
    site_url: str | None = None
    output: str = "site"
    include_deleted: bool = False
    key_metrics: tuple[str, ...] = ()
    metric_goals: Mapping[str, str] = field(default_factory=dict)
    # registered models that are one model across stores (globs on the name); others with one
    # name in two stores stay apart, named "name (store label)" (catalog helper, issue 8)
    shared_models: tuple[str, ...] = ()
    promote: tuple[PromoteRule, ...] = ()
    prefix: str | None = None
    templates: str | None = None
    mkdocs: str | None = None
    builder: str = "mkdocs"
    strict: bool = False
    # review (issue 9): the alias versions are compared with, and the gates (see mlreport.gates)
    baseline: str = "champion"
    gates: tuple[Gate, ...] = ()
    history: str | None = None  # the previous alias ledger (history.json): a path or URL
    # engine (issue 7): render workers, a Dask scheduler to run them on, the build cache folder
    jobs: int | None = None
    scheduler: str | None = None
    cache_dir: str | None = None
    max_file_size: int | None = None
    # length bounds below max_file_size (readers/_bounded.Limits has the defaults)
    max_line_size: int | None = None
    max_record_size: int | None = None
    max_document_size: int | None = None
    artifacts: ArtifactsConfig = field(default_factory=ArtifactsConfig)
    base_dir: Path = field(default_factory=Path.cwd)
    path: Path | None = None

    def __post_init__(self) -> None:
        # A source is the record's provenance on every page (issue 8): an absolute path inside
        # the config's folder (or the working folder) is kept as the path from there, so that a
        # site built from `$PWD/mlruns` in CI shows `mlruns`, not the build machine's folders.
        # The source's path is its identity everywhere after this (reading, previews, the cache),
        # so it is changed here once, not where it is shown.
        named = tuple(replace(s, path=source_as_named(s.path, self.base_dir)) for s in self.sources)
        if named != self.sources:
            object.__setattr__(self, "sources", named)

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with the given values; ``None`` means "not given on the command line"."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **given)


def source_as_named(path: str, base_dir: Path) -> str:
    """``path`` as pages name the source: an absolute local path inside ``base_dir`` (the
    config's folder, or the working folder) becomes the path from there (``mlruns``, ``.`` for
    the folder itself); a URL, a relative path, ``~/…`` and a folder outside ``base_dir`` stay
    as the user wrote them (the only way to name a folder outside is to name it)."""
    if "://" in path or not path.startswith("/"):
        return path
    here = Path(path)
    for inner, outer in ((here, base_dir), (here.resolve(), base_dir.resolve())):
        try:
            rel = inner.relative_to(outer)
        except ValueError:
            continue
        return rel.as_posix() if rel.parts else "."
    return path


def find_config(directory: Path) -> Path | None:
    for name in CONFIG_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None, known_formats: Sequence[str] = ()) -> Config:
    """Read and check a config file; ``None`` gives the defaults for the current folder."""
    if path is None:
        return Config()
    shown = _shown(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"cannot read {shown}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {shown}: {exc}") from None
    from .readers._bounded import BoundedError, load_yaml

    try:
        # bounded like a store's YAML (issue 11): deep nesting raised RecursionError, an
        # internal error; the pure-Python loader keeps the error positions of every install
        data = load_yaml(text, loader=yaml.SafeLoader)
    except BoundedError as exc:
        raise ConfigError(f"cannot read {shown}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"cannot read {shown}: invalid YAML{where}") from None
    if data is None:
        data = {}
    checker = _Checker(path.name, known_formats)
    return checker.config(data, base_dir=path.parent.resolve(), path=path)


def _closest(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the known name closest to a misspelt one, else ``""``."""
    match = closest_name(name, known)
    return f"; did you mean '{match}'?" if match else ""


def closest_name(name: str, known: Iterable[str]) -> str | None:
    """The known name most like ``name`` (difflib's ratio of at least 0.6), or ``None``."""
    found = difflib.get_close_matches(name, sorted(set(known)), n=1, cutoff=0.6)
    return found[0] if found else None


def _shown_value(value: object) -> str:
    return f"'{value}'" if isinstance(value, (str, int, float)) and not isinstance(value, bool) else kind_of(value)


def _shown(path: Path) -> str:
    """A path as messages show it: relative to the current folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class _Checker:
    def __init__(self, filename: str, known_formats: Sequence[str]) -> None:
        self.filename = filename
        self.known_formats = tuple(known_formats)
        self.errors: list[str] = []

    def note(self, error: ConfigError) -> None:
        self.errors.append(str(error))

    @contextlib.contextmanager
    def attempt(self) -> Iterator[None]:
        """Check one key: its error is noted and checking goes on with the next key."""
        try:
            yield
        except ConfigError as exc:
            self.note(exc)

    def each(self, check: Callable[[object, str], T], items: list[Any], where: str) -> Iterator[T]:
        """``check`` on every item of a list, each one's error noted (a bad item is left out)."""
        for i, item in enumerate(items):
            try:
                yield check(item, f"{where}[{i}]")
            except ConfigError as exc:
                self.note(exc)

    def fail(self, where: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.filename}: {where}: {reason}" if where else f"{self.filename}: {reason}")

    def unknown(self, where: str, key: str, allowed: Iterable[str]) -> ConfigError:
        return self.fail(where, f"unknown key{_closest(key, allowed)} (known: {', '.join(sorted(allowed))})")

    def mapping(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, found {kind_of(value)}")
        return {str(k): v for k, v in value.items()}

    def string(self, value: object, where: str) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(where, f"expected a string, found {kind_of(value)}")
        return str(value)

    def strings(self, value: object, where: str) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list of strings, found {kind_of(value)}")
        return tuple(self.string(v, f"{where}[{i}]") for i, v in enumerate(value))

    def boolean(self, value: object, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, f"expected true or false, found {kind_of(value)}")
        return value

    def size(self, value: object, where: str) -> int:
        """A size in bytes: a whole number, or text such as ``64MB``, ``512 MiB``, ``1GB``."""
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if isinstance(value, str):
            m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(i?B)?\s*", value, re.IGNORECASE)
            if m and int(m.group(1)) > 0:
                power = " KMGT".index(m.group(2).upper() or " ")
                return int(m.group(1)) * (1 << (10 * power))
        raise self.fail(where, f"expected a size such as 512MB, found {_shown_value(value)}")

    def string_map(self, value: object, where: str) -> dict[str, str]:
        data = self.mapping(value, where)
        return {k: self.string(v, f"{where}.{k}") for k, v in data.items()}

    def config(self, raw: object, base_dir: Path, path: Path) -> Config:
        """Check every key; all errors are collected and raised together (one line each)."""
        data = self.mapping(raw, "")
        allowed = {f.name for f in fields(Config)} - {"base_dir", "path", "strict"}
        for key in data:
            if key not in allowed:
                self.note(self.unknown(key, key, allowed))
        values: dict[str, Any] = {"base_dir": base_dir, "path": path}
        with self.attempt():
            if "sources" in data:
                items = data["sources"]
                if not isinstance(items, list):
                    items = [items]
                values["sources"] = tuple(self.each(self.source, items, "sources"))
        for key in ("title", "output", "prefix", "templates", "mkdocs"):
            with self.attempt():
                if key in data and data[key] is not None:
                    values[key] = self.string(data[key], key)
        with self.attempt():
            if data.get("site_url") is not None:
                url = self.string(data["site_url"], "site_url")
                if not re.match(r"^https?://", url):
                    raise self.fail("site_url", f"expected an http(s) URL, found '{url}'")
                values["site_url"] = url
        with self.attempt():
            if "include_deleted" in data:
                values["include_deleted"] = self.boolean(data["include_deleted"], "include_deleted")
        with self.attempt():
            if "key_metrics" in data:
                values["key_metrics"] = self.strings(data["key_metrics"], "key_metrics")
        with self.attempt():
            if "metric_goals" in data:
                goals = self.string_map(data["metric_goals"], "metric_goals")
                for k, v in goals.items():
                    if v not in ("min", "max"):
                        raise self.fail(f"metric_goals.{k}", f"expected min or max, found '{v}'")
                values["metric_goals"] = goals
        with self.attempt():
            if "shared_models" in data:
                values["shared_models"] = self.strings(data["shared_models"], "shared_models")
        with self.attempt():
            if data.get("max_file_size") is not None:
                values["max_file_size"] = self.size(data["max_file_size"], "max_file_size")
        for bound in ("max_line_size", "max_record_size", "max_document_size"):
            with self.attempt():
                if data.get(bound) is not None:
                    values[bound] = self.size(data[bound], bound)
        with self.attempt():
            if "builder" in data:
                builder = self.string(data["builder"], "builder")
                if builder not in BUILDERS:
                    raise self.fail(
                        "builder",
                        f"unknown builder '{builder}'{_closest(builder, BUILDERS)} (known: {', '.join(BUILDERS)})",
                    )
                values["builder"] = builder
        with self.attempt():
            if data.get("baseline") is not None:
                values["baseline"] = self.string(data["baseline"], "baseline").removeprefix("@")
        with self.attempt():
            if "gates" in data:
                from .gates import parse_gates

                values["gates"] = parse_gates(data["gates"], self.fail)
        with self.attempt():
            if data.get("history") is not None:
                values["history"] = self.string(data["history"], "history")
        with self.attempt():
            if data.get("jobs") is not None:
                jobs = data["jobs"]
                if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
                    raise self.fail("jobs", f"expected a whole number of 1 or more, found {jobs!r}")
                values["jobs"] = jobs
        with self.attempt():
            if data.get("scheduler") is not None:
                address = self.string(data["scheduler"], "scheduler")
                if not re.match(r"^(tcp|tls|ucx|ws|wss)://\S+$", address):
                    raise self.fail(
                        "scheduler", f"expected a Dask scheduler address like tcp://host:8786, found '{address}'"
                    )
                values["scheduler"] = address
        with self.attempt():
            if data.get("cache_dir") is not None:
                values["cache_dir"] = self.string(data["cache_dir"], "cache_dir")
        with self.attempt():
            if data.get("artifacts") is not None:
                values["artifacts"] = self.artifacts(data["artifacts"], "artifacts")
        with self.attempt():
            if "promote" in data:
                rules = data["promote"]
                if not isinstance(rules, list):
                    raise self.fail("promote", f"expected a list of rules, found {kind_of(rules)}")
                values["promote"] = tuple(self.each(self.rule, rules, "promote"))
        if self.errors:
            raise ConfigError("\n".join(self.errors))
        return Config(**values)

    def source(self, raw: object, where: str) -> SourceConfig:
        if isinstance(raw, str):
            return SourceConfig(raw)
        data = self.mapping(raw, where)
        allowed = {"path", "format", "storage_options", "label"}
        for key in data:
            if key not in allowed:
                self.note(self.unknown(f"{where}.{key}", key, allowed))
        if "path" not in data:
            raise self.fail(where, "missing key 'path'")
        fmt = None
        if data.get("format") is not None:
            fmt = self.string(data["format"], f"{where}.format")
            if self.known_formats and fmt not in self.known_formats:
                hint = _closest(fmt, self.known_formats)
                raise self.fail(
                    f"{where}.format", f"unknown format '{fmt}'{hint} (known: {', '.join(self.known_formats)})"
                )
        options = self.mapping(data.get("storage_options") or {}, f"{where}.storage_options")
        label = self.string(data["label"], f"{where}.label") if data.get("label") is not None else None
        return SourceConfig(self.string(data["path"], f"{where}.path"), fmt, options, label)

    def artifacts(self, raw: object, where: str) -> ArtifactsConfig:
        data = self.mapping(raw, where)
        allowed = {f.name for f in fields(ArtifactsConfig)}
        for key in data:
            if key not in allowed:
                self.note(self.unknown(f"{where}.{key}", key, allowed))
        out = ArtifactsConfig()
        with self.attempt():  # each key's error is noted, the others still checked
            if "previews" in data:
                out = replace(out, previews=self.boolean(data["previews"], f"{where}.previews"))
        with self.attempt():
            if data.get("max_bytes") is not None:
                out = replace(out, max_bytes=self.size(data["max_bytes"], f"{where}.max_bytes"))
        with self.attempt():
            if data.get("max_site_bytes") is not None:
                out = replace(out, max_site_bytes=self.size(data["max_site_bytes"], f"{where}.max_site_bytes"))
        return out

    def rule(self, raw: object, where: str) -> PromoteRule:
        data = self.mapping(raw, where)
        allowed = {"model", "experiment", "tags", "params", "version", "only_finished"}
        for key in data:
            if key not in allowed:
                self.note(self.unknown(f"{where}.{key}", key, allowed))
        if "model" not in data:
            raise self.fail(where, "missing key 'model'")
        version = self.string(data.get("version", "sequence"), f"{where}.version")
        if version not in VERSION_SCHEMES:
            raise self.fail(f"{where}.version", f"expected one of {', '.join(VERSION_SCHEMES)}, found '{version}'")
        return PromoteRule(
            model=self.string(data["model"], f"{where}.model"),
            experiment=self.string(data["experiment"], f"{where}.experiment")
            if data.get("experiment") is not None
            else None,
            tags=self.string_map(data.get("tags") or {}, f"{where}.tags"),
            params=self.string_map(data.get("params") or {}, f"{where}.params"),
            version=version,
            only_finished=self.boolean(data.get("only_finished", True), f"{where}.only_finished"),
        )


# ---------------------------------------------------------------------------------------------
# names that match nothing (checked after the crawl, when the names are known)


def unknown_names(config: Config, catalog: Catalog, gates: bool = True) -> list[str]:
    """Warnings for names in the config that match nothing the crawl found, each with the key path
    and the closest existing name: ``mlreport.yml: key_metrics[1]: no metric 'val_acc' in any run;
    did you mean 'val_auc'?``. A typo there is otherwise silent (an empty column, a gate that never
    applies, a rule that promotes nothing). ``gates=False`` leaves the gates to a caller that
    reports them itself (``mlreport diff``)."""
    import fnmatch

    metrics = {m.key for r in catalog.runs for m in r.metrics} | {m.key for v in catalog.versions for m in v.metrics}
    experiments = {e.name for e in catalog.experiments}
    tags = {k for r in catalog.runs for k in r.tags}
    params = {k for r in catalog.runs for k in r.params}
    filename = config.path.name if config.path is not None else "config"
    out: list[str] = []

    def warn(where: str, what: str, name: str, known: set[str]) -> None:
        out.append(f"{filename}: {where}: {what.format(repr_name(name))}{_closest(name, known)}")

    for i, name in enumerate(config.key_metrics):
        if name not in metrics:
            warn(f"key_metrics[{i}]", "no metric {} in any run", name, metrics)
    for name in config.metric_goals:
        if name not in metrics:
            warn(f"metric_goals.{name}", "no metric {} in any run", name, metrics)
    if gates and config.gates:
        from .gates import check_gates  # the review's one definition of a gate that cannot apply

        out.extend(f"{filename}: {w}" for w in check_gates(config.gates, catalog))
    for i, rule in enumerate(config.promote):
        if rule.experiment is not None and not any(fnmatch.fnmatchcase(e, rule.experiment) for e in experiments):
            warn(f"promote[{i}].experiment", "no experiment matches {}", rule.experiment, experiments)
        for key in rule.tags:
            if key not in tags:
                warn(f"promote[{i}].tags.{key}", "no run has the tag {}", key, tags)
        for key in rule.params:
            if key not in params:
                warn(f"promote[{i}].params.{key}", "no run has the param {}", key, params)
    return out


def repr_name(name: str) -> str:
    return f"'{name}'"
