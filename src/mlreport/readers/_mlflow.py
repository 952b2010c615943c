"""What the two MLflow backends share: status codes, system tags, artifact URIs (FORMATS.md §1)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from urllib.parse import unquote

import yaml

from ..model import EMPTY, Artifact, GitInfo, Origin, RunStatus, Skipped, frozen_map
from ..stores import Store, join
from ._bounded import INT64_MAX, INT64_MIN, load_json, load_yaml

STATUS_BY_CODE = {
    1: RunStatus.RUNNING,
    2: RunStatus.SCHEDULED,
    3: RunStatus.FINISHED,
    4: RunStatus.FAILED,
    5: RunStatus.KILLED,
}

LOGGED_MODEL_STATUS = {1: "PENDING", 2: "READY", 3: "FAILED"}

NOTE_TAG = "mlflow.note.content"
PARENT_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
SOURCE_NAME_TAG = "mlflow.source.name"
LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"
MODEL_VERSIONS_TAG = "mlflow.modelVersions"


def load_yaml_mapping(text: str) -> dict[str, object]:
    """Parse a meta.yaml (bounded: aliases, nesting, huge integers); raise ValueError with a
    short reason when it is not a mapping."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ValueError(f"invalid YAML{where}: {problem}") from None
    if data is None:
        raise ValueError("empty file")
    if not isinstance(data, dict):
        raise ValueError(f"expected a mapping, found {type(data).__name__}")
    return {str(k): v for k, v in data.items()}


_PLAIN = re.compile(r"[A-Za-z_/](?:[^\s#'\"\[\]{}]| (?![\s#]))*")
_QUOTED = re.compile(r"'[^'\n]*'")
_INT = re.compile(r"-?[0-9]+")
_HEX_ID = re.compile(r"[0-9a-f]*[a-f][0-9a-f]*")  # run ids: YAML reads them as strings too
_KEY = re.compile(r"[a-z_]+")


def parse_flat_yaml(text: str) -> dict[str, object] | None:
    """The flat ``key: scalar`` meta.yaml files MLflow writes, parsed without a YAML parser.

    Returns None (use PyYAML) unless every line is a lowercase key and a value that means the
    same in YAML and here: an int, ``null``, ``''``-quoted text without quotes inside, or a plain
    word that YAML cannot read as anything but a string. A 10,000-run store has 10,000 of these
    files; this is ~10x faster than libyaml.
    """
    out: dict[str, object] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if not sep:
            if line.endswith(":") or not line:
                return None
            return None
        if not _KEY.fullmatch(key):
            return None
        if value in ("null", "~", ""):
            out[key] = None
        elif _INT.fullmatch(value):
            if len(value) > 19 or len(value) > 1 and value.lstrip("-").startswith("0"):
                return None  # octal in YAML 1.1
            out[key] = int(value)
        elif _HEX_ID.fullmatch(value):
            out[key] = value
        elif _QUOTED.fullmatch(value):
            out[key] = value[1:-1]
        elif value == "[]":
            out[key] = []
        elif value == "{}":
            out[key] = {}
        elif (
            _PLAIN.fullmatch(value)
            and value.lower() not in _YAML_WORDS
            and not value.endswith((":", " "))
            and ": " not in value
        ):
            out[key] = value
        else:
            return None
    return out


_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null", ".nan", ".inf"})


def parse_status(value: object) -> RunStatus:
    if value is None:
        return RunStatus.RUNNING  # MLflow writes no status while a run is being created
    if isinstance(value, int):
        return STATUS_BY_CODE.get(value, RunStatus.UNKNOWN)
    text = str(value).strip().upper()
    if text.isdigit():
        return STATUS_BY_CODE.get(int(text), RunStatus.UNKNOWN)
    try:
        return RunStatus(text)
    except ValueError:
        return RunStatus.UNKNOWN


def as_int(value: object) -> int | None:
    """An int64 from an int, a float or their text; None for anything else, including values
    outside the int64 range and non-finite floats (steps and times are int64 in MLflow)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if INT64_MIN <= value <= INT64_MAX else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and -(2.0**63) <= value < 2.0**63 else None
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    text = text.strip()
    if len(text) > 40:  # int() of a huge digit string is quadratic and past int64 anyway
        return None
    try:
        return as_int(int(text)) if _INT.fullmatch(text) else as_int(float(text))
    except (ValueError, OverflowError):
        return None


def shown(value: object) -> str:
    """A cell or field for a message: text quoted and cut, numbers as they are."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return repr(value[:40]) if isinstance(value, str) else str(value)[:40]


def bad_int(value: object) -> bool:
    """True when ``value`` is present but :func:`as_int` cannot read it (worth a Problem)."""
    return value is not None and value != "" and as_int(value) is None


def as_str(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text != "" else None


def git_info(tags: Mapping[str, str]) -> GitInfo:
    dirty = tags.get("mlflow.source.git.dirty")
    return GitInfo(
        commit=tags.get("mlflow.source.git.commit") or None,
        branch=tags.get("mlflow.source.git.branch") or None,
        repo_url=tags.get("mlflow.source.git.repoURL") or tags.get("mlflow.gitRepoURL") or None,
        dirty=None if dirty is None else dirty.strip().lower() == "true",
    )


def run_user(user_id: str | None, tags: Mapping[str, str]) -> str | None:
    user = tags.get(USER_TAG) or user_id
    return user if user and user != "unknown" else None


def parse_log_model_history(text: str | None) -> list[dict[str, object]]:
    """The 2.x ``mlflow.log-model.history`` tag: a JSON list; anything else yields ``[]``."""
    if not text:
        return []
    try:
        data = load_json(text)
    except ValueError:
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def parse_model_versions_tag(text: str | None) -> list[tuple[str, str]]:
    if not text:
        return []
    try:
        data = load_json(text)
    except ValueError:
        return []
    out = []
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict) and "name" in item and "version" in item:
            out.append((str(item["name"]), str(item["version"])))
    return out


_REMOTE_SCHEMES = re.compile(r"^(s3|s3a|s3n|gs|gcs|wasbs?|abfss?|az|hdfs|viewfs|https?|ftp|sftp|dbfs)://")
_DRIVE = re.compile(r"^/?[A-Za-z]:$")


def uri_parts(uri: str) -> list[str] | None:
    """The path segments of an artifact URI written on any machine, or None for remote URIs.

    Handles ``file:///abs``, ``file:relative``, ``file:C:\\Users\\…`` with mixed separators,
    percent-encoded paths, plain absolute paths (sqlite), ``./mlruns/N`` and
    ``mlflow-artifacts:/<exp>/…`` (the server's artifact root, ``mlartifacts/`` by default).
    """
    text = uri.strip()
    if not text or _REMOTE_SCHEMES.match(text):
        return None
    if text.startswith("mlflow-artifacts:"):
        text = text[len("mlflow-artifacts:") :]
        text = re.sub(r"^//[^/]*", "", text)  # mlflow-artifacts://host:port/path
        return ["mlartifacts", *[p for p in unquote(text).split("/") if p and p != "."]]
    if text.startswith("file:"):
        text = text[5:]
        if text.startswith("//"):
            text = re.sub(r"^//[^/]*", "", text)  # file://host/path; host is usually empty
    text = unquote(text).replace("\\", "/")
    parts = [p for p in text.split("/") if p and p != "."]
    if parts and _DRIVE.match(parts[0]):
        parts = parts[1:]
    if ".." in parts:
        return None
    return parts


def resolve_artifact_dir(store: Store, uri: str | None, bases: list[str], anchor: str) -> str | None:
    """Find the directory an artifact URI points at, inside ``store``.

    The URI was written on the machine that ran MLflow; the store may have been copied
    anywhere since. Try each suffix of the URI that still contains ``anchor`` (a run or model
    id) against each base directory, longest first (FORMATS.md §6).
    """
    if not uri:
        return None
    parts = uri_parts(uri)
    if not parts:
        return None
    try:
        start_limit = parts.index(anchor)
    except ValueError:
        start_limit = len(parts) - 1
    for i in range(0, start_limit + 1):
        suffix = "/".join(parts[i:])
        for base in bases:
            candidate = join(base, suffix)
            if candidate and store.is_dir(candidate):
                return candidate
    return None


class ModelLinks:
    """What a model version needs from the runs and logged models read before it.

    - MLflow 3 can register a LoggedModel with an empty ``run_id``: the version's run is then
      the logged model's ``source_run_id``.
    - MLflow 2.x versions name no logged model (``runs:/<id>/<artifact path>`` or the
      artifact folder): the model is the one the run logged at that artifact path, or the run's
      only one.
    """

    def __init__(self) -> None:
        self.model_run: dict[str, str] = {}
        self.run_models: dict[str, list[tuple[str, str]]] = {}

    def logged_model(self, key: str, run_id: str | None, artifact_path: str | None = None) -> None:
        if run_id:
            self.model_run.setdefault(key, run_id)
            if artifact_path is not None:
                self.run_models.setdefault(run_id, []).append((key, artifact_path))

    def version(self, run_id: str | None, model_key: str | None, source: str | None) -> tuple[str | None, str | None]:
        """The (run key, logged model key) of a version, filled in where the store left them out."""
        if not run_id and model_key:
            run_id = self.model_run.get(model_key)
        if model_key is None and run_id:
            candidates = self.run_models.get(run_id, [])
            end = (source or "").rstrip("/")
            for key, path in candidates:
                if end.endswith("/" + path.strip("/")):
                    model_key = key
                    break
            else:
                if len(candidates) == 1:
                    model_key = candidates[0][0]
        return run_id or None, model_key


HIDDEN_REASON = "deleted in MLflow; --include-deleted shows them"


def hidden(origin: Origin, experiments: list[str], runs: list[str]) -> list[Skipped]:
    """What a read without ``--include-deleted`` left out, counted (never silent)."""
    out = []
    if experiments:
        out.append(Skipped(origin, "deleted experiments", len(experiments), HIDDEN_REASON, tuple(sorted(experiments))))
    if runs:
        out.append(Skipped(origin, "deleted runs", len(runs), HIDDEN_REASON, tuple(sorted(set(runs)))))
    return out


TRACE_NAME_TAG = "mlflow.traceName"
TRACE_RUN_METADATA = "mlflow.sourceRun"


def iso_ms(value: object) -> int | None:
    """``2026-12-01T22:24:19.170Z`` (a trace's request_time) as epoch ms; None when unreadable."""
    import datetime as dt

    if not isinstance(value, str) or len(value) > 40:
        return as_int(value)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return as_int(round(parsed.timestamp() * 1000))


SYSTEM_TAG_PREFIX = "mlflow."


def split_tags(tags: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(the user's tags, MLflow's own ``mlflow.*`` tags) of a run, experiment, registered model,
    model version or logged model."""
    user: dict[str, str] = {}
    system: dict[str, str] = {}
    for k, v in tags.items():
        (system if k.startswith(SYSTEM_TAG_PREFIX) else user)[k] = v
    return user, system


# An MLmodel file is a few hundred bytes; a larger one is not an MLmodel worth parsing.
MLMODEL_MAX_BYTES = 1 << 20
SIGNATURE_PARTS = ("inputs", "outputs", "params")


def with_location(artifacts: Sequence[Artifact], root: str) -> tuple[Artifact, ...]:
    """``artifacts`` (paths relative to ``root``) with their store paths filled in."""
    return tuple(Artifact(a.path, a.size, a.note, join(root, a.path)) for a in artifacts)


def mlmodel_signature(
    store: Store, artifacts: Sequence[Artifact]
) -> tuple[Mapping[str, str], str | None, tuple[str, str] | None]:
    """The signature and input example a model's ``MLmodel`` file declares (FORMATS.md §1.3).

    Returns (signature part -> JSON text, the input example's artifact path, a problem as
    (store path, reason) when the file is there but cannot be read). The parts stay the store's
    JSON text: :mod:`mlreport.review` and the version page parse them where they are shown.
    """
    mlmodel = next((a for a in artifacts if a.path == "MLmodel" and a.location), None)
    if mlmodel is None or mlmodel.location is None:
        return EMPTY, None, None
    path = mlmodel.location
    try:
        raw = store.read_head(path, MLMODEL_MAX_BYTES + 1)
        if len(raw) > MLMODEL_MAX_BYTES:
            return EMPTY, None, (path, "larger than 1 MB, not an MLmodel file")
        data = load_yaml(raw.decode("utf-8"))
    except OSError as exc:
        return EMPTY, None, (path, exc.strerror or str(exc))
    except UnicodeDecodeError:
        return EMPTY, None, (path, "MLmodel is not UTF-8 text")
    except yaml.YAMLError:
        return EMPTY, None, (path, "MLmodel is not valid YAML")
    except ValueError as exc:  # a parser bound (BoundedError)
        return EMPTY, None, (path, str(exc))
    if not isinstance(data, dict):
        return EMPTY, None, (path, "not a YAML mapping")
    signature: dict[str, str] = {}
    raw_sig = data.get("signature")
    if isinstance(raw_sig, dict):
        for part in SIGNATURE_PARTS:
            value = raw_sig.get(part)
            if isinstance(value, str) and value.strip() not in ("", "null"):
                signature[part] = value
    example = None
    info = data.get("saved_input_example_info")
    if isinstance(info, dict) and isinstance(info.get("artifact_path"), str):
        example = info["artifact_path"]
    return frozen_map(signature), example, None
