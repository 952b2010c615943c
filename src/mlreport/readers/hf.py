"""Hugging Face Trainer output directories (``TrainingArguments.output_dir``).

Format: FORMATS.md §3. Read with json and PyYAML only; ``training_args.bin``, ``*.pt`` and
``*.pth`` are pickles and are never opened.

How an output dir maps onto the catalog (one dir = one run, no experiment):

- :class:`~mlreport.model.Run`: key ``hf:<path>`` (``hf:<dir name>`` for the store root), id the
  dir name, name the model card's ``model-index`` name or the dir name. No user. The start is the
  creation time in the name of the first TensorBoard event file below the dir
  (``events.out.tfevents.<unix seconds>.<host>``, UTC); no end (no file names one). The Trainer
  writes no time in ``trainer_state.json`` or in a ``checkpoint-N`` dir, and file mtimes are not
  used (a copy or checkout changes them; the same input must build the same site). Status FINISHED
  when the final summary entry (``train_runtime``) is in ``log_history`` or a ``*_results.json``,
  else UNKNOWN.
- Metrics: every numeric key of every ``log_history`` entry is a series over ``step`` with no
  timestamps: training (``loss``, ``grad_norm``, ``learning_rate``), evaluation (``eval_*``,
  ``test_*``), the summary (``train_runtime``, ``train_loss``, ``total_flos`` …) and ``epoch``.
  ``*_results.json`` (``all_results.json`` first) add the keys that have no history as single
  values at the last step; the card's ``model-index`` results add ``<type>`` (e.g. ``accuracy``)
  when neither ``<type>`` nor ``eval_<type>`` is known yet.
- Params: ``trainer_state.json``'s ``train_batch_size``, ``num_train_epochs``, ``max_steps``,
  ``logging_steps``, ``eval_steps``, ``save_steps``, ``trial_name``, ``trial_params.*``; the card's
  "Training hyperparameters" list (``learning_rate``, ``seed``, ``optimizer`` …); and
  ``config.<field>`` for the model config fields worth showing (architectures, model_type,
  finetuning_task, transformers_version, sizes, labels). Non-string values are sorted JSON.
- Tags: ``hf.global_step``, ``hf.epoch``, ``hf.best_metric``, ``hf.best_global_step``,
  ``hf.best_model_checkpoint``, ``hf.is_hyper_param_search`` from the state; from the card
  ``hf.base_model`` (a list is joined with ``, ``; without a card, a v4 config's hub-like
  ``_name_or_path``), ``hf.base_model_relation``, ``hf.library_name``, ``hf.license``,
  ``hf.pipeline_tag``, ``hf.language``, ``hf.tags``; ``hf.git_lfs_pointers`` lists files that
  are Git LFS pointers; the card's prose sections (intended use, limitations, data …) as
  ``model_card.<field>`` with a ``model_card.<field>.source`` naming the heading (``_readme.py``).
  The base model is a lineage hint kept in tags only: it is not a record.
- Lineage: the card's ``datasets`` are :class:`~mlreport.model.Dataset` records (key = the hub
  id) used in context ``training``; ``model-index`` result datasets (key = their ``type``, the
  hub id) in context ``evaluation`` with ``config``/``split``/``args``/``revision`` as ref tags.
- Models: when the dir holds checkpoints or model files, a
  :class:`~mlreport.model.RegisteredModel` named like the run, a
  :class:`~mlreport.model.ModelVersion` ``checkpoint-N`` per ``checkpoint-<N>/`` dir and
  ``final`` for the output dir itself when it holds a config or weights; alias ``best`` on the
  version named by ``best_model_checkpoint`` when that dir is present. Version tags:
  ``hf.step``, ``hf.epoch``.
- Artifacts: every file below the output dir. A Git LFS pointer (a small text file starting
  with ``version https://git-lfs.github.com/spec/v1``) is listed with the real size from the
  pointer and named in the ``hf.git_lfs_pointers`` tag with its pointer size; a needed file that
  is a pointer is a Problem and is not parsed.

``trainer_state.json`` missing or unreadable: the newest ``checkpoint-N/trainer_state.json``
gives the history instead. Event files in ``runs/`` are left to the ``tensorboard`` reader (point
mlreport at ``<output_dir>/runs``).
"""

from __future__ import annotations

import json
import math
import posixpath
import re
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

import yaml

from ..model import (
    Artifact,
    Dataset,
    DatasetRef,
    Goal,
    Metric,
    MetricGoal,
    MetricHistory,
    ModelVersion,
    Record,
    RegisteredModel,
    Run,
    RunStatus,
    frozen_map,
)
from ..stores import Store, join
from . import ReadOptions
from ._bounded import MAX_DEPTH, BoundedError, clamp_int64, load_json, load_yaml
from ._common import (
    LFS_MAX_SIZE,
    ReadContext,
    flatten_params,
    float_of_int,
    json_number,
    lfs_pointer,
    lfs_problem_reason,
    param_text,
    store_dir_name,
)
from ._readme import readme_sections
from ._units import maker

_STATE = "trainer_state.json"
_ADAPTER = "adapter_config.json"  # PEFT: PeftConfig.save_pretrained
_ARGS = "training_args.json"  # TrainingArguments.to_json_string(), saved by many scripts
_ADAPTER_FIELDS = (
    "peft_type", "task_type", "base_model_name_or_path", "revision", "r", "lora_alpha",
    "lora_dropout", "target_modules", "modules_to_save", "bias", "use_dora", "use_rslora",
    "init_lora_weights", "layers_to_transform", "num_virtual_tokens", "encoder_hidden_size",
)
# SummaryWriter names its file events.out.tfevents.<unix seconds>.<host>[.<pid>.<n>]
_EVENTS = re.compile(r"^(?:.*/)?events\.out\.tfevents\.(\d{9,11})(?:\.|$)")
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
_RESULTS = re.compile(r"^[A-Za-z0-9_.-]+_results\.json$")
_MODEL_FILES = re.compile(
    r"^(config\.json|(pytorch_|tf_|flax_|adapter_)?model([-.][^/]*)?"
    r"\.(safetensors|bin|h5|msgpack|ckpt|index\.json))$"
)
_STATE_PARAMS = (
    "train_batch_size", "num_train_epochs", "max_steps", "logging_steps", "eval_steps",
    "save_steps", "trial_name",
)
_STATE_TAGS = (
    "global_step", "epoch", "best_metric", "best_global_step", "best_model_checkpoint",
    "is_hyper_param_search",
)
_CONFIG_FIELDS = (
    "architectures", "model_type", "finetuning_task", "problem_type", "transformers_version",
    "torch_dtype", "dtype", "_name_or_path", "vocab_size", "hidden_size", "num_hidden_layers",
    "num_attention_heads", "num_key_value_heads", "intermediate_size", "max_position_embeddings",
    "hidden_act", "d_model", "d_ff", "num_layers", "num_decoder_layers", "num_heads",
    "n_positions", "n_ctx", "n_embd", "n_layer", "n_head", "image_size", "patch_size",
    "num_channels",
)
_MAX_LABELS = 50
_CARD_TAGS = ("library_name", "license", "pipeline_tag", "language", "tags", "base_model_relation")


# --- helpers ------------------------------------------------------------------------------------

def _names(value: object) -> list[str]:
    """A card field that is a string or a list of strings."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, (str, int, float)) and str(v).strip()]
    return []


def _hub_like(name: str) -> bool:
    """``org/name`` or ``name``: not a local path such as ``./output`` or ``/abs/dir``."""
    if not name or name.startswith(("/", ".", "~")) or "\\" in name or ":" in name:
        return False
    return name.count("/") <= 1


def split_front_matter(text: str) -> tuple[str | None, str]:
    """The YAML between the first two ``---`` lines of a model card, and the body after it."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None, text
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :])
    return None, text


def card_hyperparameters(body: str) -> dict[str, str]:
    """The "Training hyperparameters" bullet list that ``Trainer.create_model_card`` writes."""
    out: dict[str, str] = {}
    inside = False
    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            inside = stripped.lstrip("#").strip().lower() == "training hyperparameters"
            continue
        if inside and stripped.startswith("- ") and ":" in stripped:
            key, _, value = stripped[2:].partition(":")
            if key.strip():
                out[key.strip()] = value.strip()
    return out


class _Unreadable(Exception):
    pass


def _load_json(ctx: ReadContext, path: str, data: bytes | OSError | None, walk_depth: bool = True) -> object:
    """Parse a needed JSON file, or record a Problem and raise :class:`_Unreadable`.

    ``walk_depth=False`` skips the second, iterative depth walk (the parser's own recursion
    bound stays): for ``trainer_state.json``, whose long ``log_history`` only flat loops read.
    """
    if data is None:
        raise _Unreadable
    if isinstance(data, OSError):
        ctx.problem(path, f"cannot read: {data.strerror or data}")
        raise _Unreadable
    pointer = lfs_pointer(data)
    if pointer is not None:
        ctx.problem(path, lfs_problem_reason(pointer))
        raise _Unreadable
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        ctx.problem(path, "not UTF-8 text")
        raise _Unreadable from None
    try:
        return load_json(text, max_depth=MAX_DEPTH if walk_depth else None)
    except json.JSONDecodeError as exc:
        ctx.problem(path, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
        raise _Unreadable from None
    except BoundedError as exc:
        ctx.problem(path, f"not valid JSON: {exc}")
        raise _Unreadable from None


def _load_object(
    ctx: ReadContext, path: str, data: bytes | OSError | None, walk_depth: bool = True
) -> dict[str, object] | None:
    try:
        value = _load_json(ctx, path, data, walk_depth)
    except _Unreadable:
        return None
    if not isinstance(value, dict):
        ctx.problem(path, "not a JSON object")
        return None
    return value


@dataclass
class _Parts:
    """What one output dir holds, gathered before any record is built."""

    files: list[tuple[str, int | None]]
    top: set[str]
    checkpoints: list[tuple[int, str]]
    contents: dict[str, bytes | OSError]
    state: dict[str, object] | None = None
    config: dict[str, object] | None = None
    adapter: dict[str, object] | None = None
    args: dict[str, object] | None = None
    card: dict[str, object] = field(default_factory=dict)
    body: str = ""
    results: dict[str, float] = field(default_factory=dict)
    results_finished: bool = False
    # log_history of the newest checkpoint's state when it holds entries the top-level state's
    # bytes do not (F18): its points fill (metric, step) pairs the top-level history lacks
    checkpoint_history: list[object] | None = None
    checkpoint_state_path: str = ""


class HfTrainerReader:
    """Reads one Hugging Face Trainer output dir: a run, its checkpoints as model versions."""

    name = "hf"
    label = "Hugging Face Trainer"

    def detect(self, store: Store, path: str) -> bool:
        entries = store.ls(path)
        files = {e.name for e in entries if not e.is_dir}
        if _STATE in files:
            return True
        if "config.json" in files and any(_RESULTS.match(n) for n in files):
            return True
        checkpoints = [e.name for e in entries if e.is_dir and _CHECKPOINT.match(e.name)]
        return any(store.is_file(join(path, c, _STATE)) for c in checkpoints[-3:])

    def read(self, store: Store, path: str, options: ReadOptions) -> Iterator[Record]:
        ctx = ReadContext(store, path, self.name)
        options.progress("runs", 0, 1)
        try:
            records = list(self._read(ctx, path, options))
        except Exception as exc:  # noqa: BLE001 - the fault boundary of one output dir
            # What was read before the fault is dropped with it: a run half-built from a file
            # that broke the reader is worse than a Problem that names the file.
            records = []
            ctx.problem(join(path, _STATE) if path else _STATE, f"cannot read: {type(exc).__name__}: {str(exc)[:200]}")
        yield from records
        options.progress("runs", 1, 1)
        yield from ctx.drain()

    def _read(self, ctx: ReadContext, path: str, options: ReadOptions) -> Iterator[Record]:
        store = ctx.store
        parts = self._gather(ctx, path)

        dir_name = _dir_name(store, path)
        card = _card_facts(ctx, join(path, "README.md"), parts.card, parts.body)
        index_name = card.name
        run_key = f"hf:{path or dir_name}"
        run_name = index_name or dir_name
        state = parts.state or {}

        metrics, finished = _state_metrics(ctx, path, state, options, parts.checkpoint_history,
                                           parts.checkpoint_state_path)
        gs = state.get("global_step")
        global_step = clamp_int64(gs) if isinstance(gs, int) and not isinstance(gs, bool) else None
        last_step = global_step if global_step is not None else max(
            (m.final_step for m in metrics.values()), default=0
        )
        for key, value in parts.results.items():
            if key not in metrics:
                metrics[key] = Metric.single(key, value, step=last_step)

        params: dict[str, str] = {}
        tags: dict[str, str] = {}
        state_path = join(path, _STATE)
        for key in _STATE_PARAMS:
            if state.get(key) is not None:
                params[key] = param_text(state[key])
                _check_state_value(ctx, state_path, key, state[key])
        if isinstance(state.get("trial_params"), Mapping):
            flatten_params("trial_params", state["trial_params"], params)
        for key in _STATE_TAGS:
            if state.get(key) is not None:
                tags[f"hf.{key}"] = param_text(state[key])
                _check_state_value(ctx, state_path, key, state[key])

        datasets, refs = card.datasets, card.refs
        for key, value in card.metrics:
            if key not in metrics:  # a log_history key of the same name is the Trainer's own
                metrics[key] = Metric.single(key, value, step=last_step)
        for key, text in card.params.items():
            params.setdefault(key, text)
        tags.update(card.tags)
        _config_params(parts.config, params, tags)
        _adapter_params(parts.adapter, params, tags)

        artifacts, pointers = _artifacts(parts, path)
        if pointers:
            tags["hf.git_lfs_pointers"] = "; ".join(pointers)
        start, end = _event_file_times(parts.files)
        checkpoint_metrics = _checkpoint_metrics(metrics, [n for n, _name in parts.checkpoints])
        goals = _declared_goals(ctx, path, parts, metrics)
        if not options.history:
            metrics = {k: replace(m, history=None) if m.history is not None else m for k, m in metrics.items()}

        yield from goals
        yield from (datasets[k] for k in sorted(datasets))
        yield Run(
            key=run_key,
            id=dir_name,
            name=run_name,
            origin=ctx.origin(join(path, _STATE) if _STATE in parts.top else path),
            status=RunStatus.FINISHED if finished or parts.results_finished else RunStatus.UNKNOWN,
            start_time=start,
            end_time=end,
            params=frozen_map(params),
            tags=frozen_map(tags),
            metrics=tuple(metrics[k] for k in sorted(metrics)),
            inputs=tuple(sorted(refs, key=lambda r: (r.dataset_key, r.context or ""))),
            artifacts=artifacts,
        )
        yield from _models(ctx, path, run_key, run_name, index_name, parts, metrics.get("epoch"),
                           global_step, checkpoint_metrics)

    def _gather(self, ctx: ReadContext, path: str) -> _Parts:
        store = ctx.store
        files, top_dirs = _walk(store, path)  # one walk: artifacts, checkpoints, pointers
        top = {rel for rel, _size in files if "/" not in rel}
        checkpoints = sorted(
            (int(m.group(1)), m.group(0)) for m in (_CHECKPOINT.match(name) for name in top_dirs) if m
        )
        needed = {n for n in top if n in (_STATE, "config.json", "README.md", _ADAPTER, _ARGS) or _RESULTS.match(n)}
        # Every small file is read once: it may be a Git LFS pointer.
        small = {rel for rel, size in files if size is not None and size <= LFS_MAX_SIZE}
        wanted = sorted(needed | small)
        full = _under(path, wanted)
        raw = store.read_many(full)
        parts = _Parts(files, top, checkpoints, dict(zip(wanted, map(raw.__getitem__, full), strict=True)))

        # trainer_state.json, or the newest checkpoint's when it is missing or unreadable.
        # A state without a usable log_history (damaged, a key flipped) counts as missing for
        # the history: the newest checkpoint's stands in (fuzz finding F3).
        if _STATE in top:
            parts.state = _load_object(ctx, join(path, _STATE), parts.contents.get(_STATE), walk_depth=False)
        if parts.state is None or not isinstance(parts.state.get("log_history"), list):
            names = {rel for rel, _size in files}
            for _n, name in reversed(checkpoints):
                rel = join(name, _STATE)
                if rel in names:
                    data = parts.contents.get(rel)
                    if data is None:
                        data = store.read_many([join(path, rel)])[join(path, rel)]
                    fallback = _load_object(ctx, join(path, rel), data, walk_depth=False)
                    if fallback is not None and isinstance(fallback.get("log_history"), list):
                        if parts.state is not None:
                            ctx.problem(join(path, _STATE), f"no usable log_history; {rel}'s is shown")
                        parts.state = fallback
                    break
        elif checkpoints:
            _compare_with_checkpoint(ctx, path, parts)
        if "config.json" in top:
            config_path = join(path, "config.json")
            parts.config = _load_object(ctx, config_path, parts.contents["config.json"])
        if _ADAPTER in top:
            parts.adapter = _load_object(ctx, join(path, _ADAPTER), parts.contents[_ADAPTER])
        if _ARGS in top:
            parts.args = _load_object(ctx, join(path, _ARGS), parts.contents[_ARGS])
        if "README.md" in top:
            parts.card, parts.body = _read_card(ctx, join(path, "README.md"),
                                                parts.contents["README.md"])
        results_files = sorted((n for n in top if _RESULTS.match(n)),
                               key=lambda n: (n != "all_results.json", n))
        for name in results_files:
            # only its top-level numbers are read: no walk of its depth (the parser's bound stays)
            obj = _load_object(ctx, join(path, name), parts.contents[name], walk_depth=False)
            if obj is None:
                continue
            for key in sorted(obj):
                value = json_number(obj[key])
                if value is not None and key not in parts.results:
                    parts.results[key] = value
            parts.results_finished = parts.results_finished or "train_runtime" in obj
        return parts


def _walk(store: Store, path: str) -> tuple[list[tuple[str, int | None]], list[str]]:
    """Every file below ``path`` as :meth:`Store.walk_files` gives them, and the folders at the
    top: one listing of the top serves both (listing is a third of the I/O of a small dir)."""
    files: list[tuple[str, int | None]] = []
    top_dirs: list[str] = []
    stack = [""]
    while stack:
        rel = stack.pop()
        subdirs = []
        for e in store.ls(join(path, rel)):
            child = join(rel, e.name)
            if e.is_dir:
                subdirs.append(child)
            else:
                files.append((child, e.size))
        if not rel:
            top_dirs = subdirs[:]
        stack.extend(reversed(subdirs))
    return files, top_dirs


@dataclass
class _Card:
    """What the model card (README.md) gives the run and its model; empty without a card."""

    name: str | None = None
    datasets: dict[str, Dataset] = field(default_factory=dict)
    refs: list[DatasetRef] = field(default_factory=list)
    metrics: list[tuple[str, float]] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def _card_facts(ctx: ReadContext, readme: str, card: Mapping[str, object], body: str) -> _Card:
    """Everything the card gives, behind a fault boundary of its own.

    The run, its checkpoints and the model are proven by the rest of the folder; a damaged card
    may cost what the card gives and never more than a missing card would (fuzz finding F22: a
    YAML date in a dataset's ``config`` raised out of the dir's read and lost run and model).
    """
    try:
        facts = _Card(name=_model_index_name(ctx, readme, card))
        facts.datasets, facts.refs, facts.metrics = _card_lineage(ctx, readme, card)
        facts.params = card_hyperparameters(body)
        # the author's prose (intended use, limitations, data …) for the model card (issue 10)
        facts.tags = readme_sections(body, readme)
        base_models = _names(card.get("base_model"))
        if base_models:
            facts.tags["hf.base_model"] = ", ".join(base_models)
        for key in _CARD_TAGS:
            names = _names(card.get(key))
            if names:
                facts.tags[f"hf.{key}"] = ", ".join(names)
    except Exception as exc:  # noqa: BLE001 - the card's fault boundary: read as if it were absent
        ctx.problem(readme, f"cannot read the model card: {type(exc).__name__}: {str(exc)[:200]}; it is left out")
        return _Card()
    return facts


def _model_index_name(ctx: ReadContext, readme: str, card: Mapping[str, object]) -> str | None:
    """The first ``model-index`` entry's name: text (a number or date as written), else None
    (the dir's name stands) with a Problem when a name is there but cannot name a model."""
    index = card.get("model-index")
    if not (isinstance(index, list) and index and isinstance(index[0], dict)):
        return None
    name = index[0].get("name")
    if name is None or name == "":
        return None
    if isinstance(name, (dict, list, set, bytes)) or not param_text(name).strip():
        ctx.problem(readme, f"model-index name {_shown(name)} is not a name; the folder's name is used")
        return None
    return param_text(name)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


# What the newest checkpoint's state may stand in for when the top-level state lacks it: the
# settings of the training (constant over it) and the best checkpoint as of then.
_CHECKPOINT_FILLS = (*_STATE_PARAMS, "trial_params", "best_metric", "best_global_step",
                     "best_model_checkpoint", "is_hyper_param_search")
# ... and global_step and epoch only from a checkpoint of the step the training ended at (the
# top-level global_step, or the last step of its log_history): an earlier checkpoint's
# understate where training ended (fuzz seed 3 case 98719: a renamed 'epoch' lost hf.epoch).
_SAME_STEP_FILLS = ("global_step", "epoch")

# The JSON type the Trainer writes for each key read from the state (None is allowed for all):
# a value of another type is damage, named as a Problem (issue 11: never silent).
_NUMBER = (int, float)
_STATE_TYPES: dict[str, tuple[type, ...]] = {
    "train_batch_size": (int,), "max_steps": (int,), "global_step": (int,), "best_global_step": (int,),
    "num_train_epochs": _NUMBER, "logging_steps": _NUMBER, "eval_steps": _NUMBER, "save_steps": _NUMBER,
    "epoch": _NUMBER, "best_metric": _NUMBER,
    "trial_name": (str,), "best_model_checkpoint": (str,), "is_hyper_param_search": (bool,),
    "trial_params": (dict,),
}
#: Characters of a text value of the state past which it is damage, not a name or a path.
STATE_TEXT_LIMIT = 4_096
_JSON_TYPE_NAMES = {
    bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "an object",
}


def _state_value_fault(key: str, value: object) -> str | None:
    """What is wrong with ``value`` as the state's ``key`` (its type, or text past
    :data:`STATE_TEXT_LIMIT`), or None for a value the Trainer would write."""
    types = _STATE_TYPES.get(key)
    if value is None or types is None:
        return None
    if isinstance(value, bool) != (bool in types) or not isinstance(value, types):
        want = " or ".join(dict.fromkeys(_JSON_TYPE_NAMES[t] for t in types))
        return f"{key} is {_JSON_TYPE_NAMES.get(type(value), type(value).__name__)}, not {want}"
    if isinstance(value, str) and len(value) > STATE_TEXT_LIMIT:
        return f"{key} is {len(value):,} characters of text"
    return None


def _check_state_value(ctx: ReadContext, state_path: str, key: str, value: object) -> None:
    fault = _state_value_fault(key, value)
    if fault is not None:
        ctx.problem(state_path, f"{fault}; kept as text")


def _last_step(state: Mapping[str, object]) -> int | None:
    """The step the state says training ended at: global_step, or its log_history's last step."""
    step = state.get("global_step")
    if type(step) is int:
        return step
    history = state.get("log_history")
    steps = [e["step"] for e in history if isinstance(e, dict) and type(e.get("step")) is int] if isinstance(
        history, list
    ) else []
    return max(steps, default=None)
_HISTORY_OPEN = b'"log_history": ['
_HISTORY_CLOSE = b"\n  ]"  # json.dump(indent=2): a newline cannot occur inside a string


def _history_span(data: bytes) -> tuple[int, int] | None:
    """Where the entries of ``log_history`` are in a state as the Trainer writes it, or None."""
    start = data.find(_HISTORY_OPEN)
    if start < 0:
        return None
    start += len(_HISTORY_OPEN)
    end = data.find(_HISTORY_CLOSE, start)
    return (start, end) if end >= 0 else None


def _compare_with_checkpoint(ctx: ReadContext, path: str, parts: _Parts) -> None:
    """Fill what the top-level state lacks from the newest checkpoint's (fuzz finding F18).

    The Trainer writes each checkpoint's state as a prefix of the final one, so a metric point
    or a setting the checkpoint has and the top-level state lacks was lost to damage (a key
    renamed, a value swapped for one of another type). The usual case costs a byte compare:
    when the checkpoint's ``log_history`` bytes begin the top-level one's, only the rest of the
    checkpoint (its settings) is parsed. A checkpoint of a later step than the final state is
    from an earlier training into the same dir and is not used; nor is a damaged one (quietly:
    it is only a stand-in).
    """
    state = parts.state
    _n, name = parts.checkpoints[-1]
    rel = join(name, _STATE)
    if state is None or rel not in {r for r, _size in parts.files}:
        return
    top_data = parts.contents.get(_STATE)
    data = parts.contents.get(rel)
    if data is None:
        data = ctx.store.read_many([join(path, rel)])[join(path, rel)]
    if not isinstance(data, bytes) or not isinstance(top_data, bytes):
        return
    quiet = ReadContext(ctx.store, ctx.root, ctx.format)
    span, top_span = _history_span(data), _history_span(top_data)
    same_history = (
        span is not None
        and top_span is not None
        and top_data[top_span[0] : top_span[1]].startswith(data[span[0] : span[1]])
        and top_data[top_span[0] + span[1] - span[0] : top_span[0] + span[1] - span[0] + 1] in (b"", b",", b"\n")
    )
    if same_history and span is not None:
        checkpoint = _load_object(quiet, rel, data[: span[0]] + data[span[1] :], walk_depth=False)
    else:
        checkpoint = _load_object(quiet, rel, data, walk_depth=False)
    if checkpoint is None:
        return
    top_step, step = state.get("global_step"), checkpoint.get("global_step")
    if type(top_step) is int and type(step) is int and step > top_step:
        return
    fills: tuple[str, ...] = _CHECKPOINT_FILLS
    if type(step) is int and _last_step(state) == step:
        fills = (*fills, *_SAME_STEP_FILLS)
    usable = [key for key in fills if key in checkpoint and _state_value_fault(key, checkpoint[key]) is None]
    filled = [key for key in usable if key not in state]
    # a value of the wrong type is damage as much as a missing key: the checkpoint's stands in
    retyped = [key for key in usable if key in state and _state_value_fault(key, state[key]) is not None]
    if filled:
        ctx.problem(join(path, _STATE), f"no {', '.join(filled)}; {rel}'s is shown")
    for key in retyped:
        fault = _state_value_fault(key, state[key])
        ctx.problem(join(path, _STATE), f"{fault}; {rel}'s is shown")
    state.update((key, checkpoint[key]) for key in (*filled, *retyped))
    history = checkpoint.get("log_history")
    if not same_history and isinstance(history, list):
        parts.checkpoint_history = history
        parts.checkpoint_state_path = rel


def _history_columns(history: list[object]) -> tuple[dict[str, tuple[list[int], list[float]]], bool, int]:
    """Columns (steps, values) per numeric key of ``log_history``, whether the summary entry is
    there, and how many entries have no step."""
    # Columns per key, filled in one pass with type checks inlined: this loop is most of the
    # reader's time on a long log_history (issue 12).
    cols: dict[str, tuple[list[int], list[float]]] = {}
    adders: dict[str, tuple[Callable[[int], None], Callable[[float], None]]] = {}  # the lists' bound appends
    finished = False
    no_step = 0
    for entry in history:
        if type(entry) is not dict:
            no_step += 1
            continue
        raw_step = entry.get("step")
        kind = type(raw_step)
        if kind is int and -(2**63) <= raw_step <= 2**63 - 1:  # type: ignore[operator]
            step: int = raw_step  # type: ignore[assignment]
        else:
            number = json_number(raw_step) if kind in (int, float) else None
            if number is None or not math.isfinite(number):
                no_step += 1
                continue
            step = clamp_int64(int(number))
        if "train_runtime" in entry:
            finished = True
        for key, raw in entry.items():
            kind = type(raw)
            if kind is float:
                value: float = raw
            elif kind is int:
                if key == "step":  # (the step as an int: only an int is tested)
                    continue
                try:
                    value = float(raw)
                except OverflowError:  # past the float range: an infinity, as json_number says
                    value = float_of_int(raw)
            else:
                continue
            add = adders.get(key)
            if add is None:
                col = cols[key] = ([], [])
                add = adders[key] = (col[0].append, col[1].append)
            add[0](step)
            add[1](value)
    cols.pop("step", None)  # a step that is a float is collected with the values, never a metric
    return cols, finished, no_step


def _state_metrics(
    ctx: ReadContext,
    path: str,
    state: Mapping[str, object],
    options: ReadOptions,
    checkpoint_history: list[object] | None = None,
    checkpoint_path: str = "",
) -> tuple[dict[str, Metric], bool]:
    """Every numeric key of ``log_history`` as a series over ``step``; and whether the final
    summary entry (``train_runtime``) is there. ``checkpoint_history`` (the newest
    checkpoint's) fills the (key, step) points the state's own history lacks."""
    history = state.get("log_history")
    if history is None:
        history = []
    if not isinstance(history, list):
        ctx.problem(join(path, _STATE), "log_history is not a list")
        history = []
    cols, finished, no_step = _history_columns(history)
    if no_step:
        ctx.problem(join(path, _STATE), f"{no_step} log_history entries have no step; skipped")
    if checkpoint_history is not None:
        recovered = 0
        for key, (steps, values) in _history_columns(checkpoint_history)[0].items():
            col = cols.get(key)
            if col is None:
                col = cols[key] = ([], [])
            have = set(col[0])
            for step, value in zip(steps, values, strict=True):
                if step not in have:
                    col[0].append(step)
                    col[1].append(value)
                    recovered += 1
        if recovered:
            ctx.problem(join(path, _STATE), f"{recovered} log_history point(s) missing here; "
                        f"taken from {checkpoint_path}")
    steps_seen: list[tuple[list[int], array[int]]] = []
    stamps: dict[int, array[int]] = {}
    metrics = {key: _series(key, cols[key][0], cols[key][1], steps_seen, stamps) for key in sorted(cols)}
    return metrics, finished


_new_history = maker(MetricHistory)
_new_metric = maker(Metric)
_new_artifact = maker(Artifact)


def _series(
    key: str,
    steps: list[int],
    values: list[float],
    steps_seen: list[tuple[list[int], array[int]]],
    stamps: dict[int, array[int]],
) -> Metric:
    """``Metric.from_columns(key, steps, None, values)`` for one ``log_history`` column, the
    same record built with less work (issue 12: 15-20 series a run). Keys logged in the same
    entries have the same steps, so each run's few step columns (training, evaluation, the
    summary) are checked and made an array once (``steps_seen``), as are the timestamp arrays
    (``stamps``, no time: -1) per length: the arrays are shared, and histories are read-only.
    A column logged twice at a step with the same value (``epoch``: in the training and the
    evaluation entry) is that point once, as ``MetricHistory.from_columns`` would keep it."""
    total = sum(values)
    if total != total:  # a NaN (or +inf and -inf): the general path
        return Metric.from_columns(key, steps, None, values)
    for seen, shared in steps_seen:
        if steps == seen:
            array_of_steps = shared
            break
    else:
        if steps != sorted(set(steps)):
            deduped = _dedupe(steps, values)
            if deduped is None:
                return Metric.from_columns(key, steps, None, values)
            steps, values = deduped
            array_of_steps = array("q", steps)
        else:
            array_of_steps = array("q", steps)
            steps_seen.append((steps, array_of_steps))
    n = len(steps)
    no_time = stamps.get(n)
    if no_time is None:
        no_time = stamps[n] = array("q", (-1,)) * n
    # the points from_history picks: the last, the first lowest and the first highest
    min_i = values.index(min(values))
    max_i = values.index(max(values))
    history = _new_history(array_of_steps, no_time, array("d", values))
    metric: Metric = _new_metric(key, values[n - 1], steps[n - 1], None, values[min_i], steps[min_i],
                                 values[max_i], steps[max_i], n, history)
    return metric


def _dedupe(steps: list[int], values: list[float]) -> tuple[list[int], list[float]] | None:
    """Steps that never go back, a repeated step repeating its value, as strictly increasing
    columns (the first of equal points kept); None otherwise (the general path sorts)."""
    out_steps: list[int] = []
    out_values: list[float] = []
    last = None
    for step, value in zip(steps, values, strict=True):
        if step == last:
            if value == out_values[-1]:
                continue
            return None
        if last is not None and step < last:
            return None
        out_steps.append(step)
        out_values.append(value)
        last = step
    return out_steps, out_values


def _read_card(ctx: ReadContext, readme: str, data: bytes | OSError) -> tuple[dict[str, object], str]:
    """The model card's YAML front matter (``{}`` when absent or broken) and its body."""
    if isinstance(data, OSError):
        ctx.problem(readme, f"cannot read: {data.strerror or data}")
        return {}, ""
    pointer = lfs_pointer(data)
    if pointer is not None:
        ctx.problem(readme, lfs_problem_reason(pointer))
        return {}, ""
    front, body = split_front_matter(data.decode("utf-8", errors="replace"))
    if front is None:
        return {}, body
    try:
        card = load_yaml(front)  # libyaml: a card's front matter is most of the reading time
    except BoundedError as exc:
        ctx.problem(readme, f"YAML front matter refused: {exc}")
        return {}, body
    except yaml.YAMLError:
        # worded by the pure-Python parser, whose positions do not depend on the install
        mark = None
        try:
            yaml.load(front, Loader=yaml.SafeLoader)  # noqa: S506 - a safe loader
        except yaml.YAMLError as pure:
            mark = getattr(pure, "problem_mark", None)
        except (RecursionError, ValueError):
            # the pure parser recurses where libyaml does not (~900 levels lost the model), and
            # may build what libyaml refused (a 5,000-digit integer): no position then
            pass
        where = f" at line {mark.line + 2}" if mark is not None else ""  # +1: 0-based, +1: '---'
        ctx.problem(readme, f"invalid YAML front matter{where}")
        return {}, body
    except Exception as exc:  # noqa: BLE001 - the card's fault boundary (F22): read as if it were absent
        ctx.problem(readme, f"YAML front matter refused: {type(exc).__name__}: {str(exc)[:200]}")
        return {}, body
    if card is None:
        return {}, body
    if not isinstance(card, dict):
        ctx.problem(readme, "YAML front matter is not a mapping")
        return {}, body
    return card, body


def _card_lineage(
    ctx: ReadContext, readme: str, card: Mapping[str, object]
) -> tuple[dict[str, Dataset], list[DatasetRef], list[tuple[str, float]]]:
    """Datasets and refs from ``datasets`` and the ``model-index`` results, and the results'
    metric values as (type, value)."""
    datasets: dict[str, Dataset] = {}
    refs: list[DatasetRef] = []

    def add(name: str, context: str, ref_tags: Mapping[str, str]) -> None:
        if name not in datasets:
            datasets[name] = Dataset(key=name, name=name, origin=ctx.origin(readme),
                                     source_type="hugging_face", source=name)
        ref = DatasetRef(name, context, frozen_map(ref_tags))
        if ref not in refs:
            refs.append(ref)

    for name in _names(card.get("datasets")):
        add(name, "training", {})
    found: list[tuple[tuple[str, str, str, str, str, str], float]] = []
    index = card.get("model-index")
    for model in index if isinstance(index, list) else []:
        results = model.get("results") if isinstance(model, dict) else None
        for result in results if isinstance(results, list) else []:
            if not isinstance(result, dict):
                continue
            ds = result.get("dataset")
            ds_id = config = split = ""
            if isinstance(ds, dict):
                raw_id = ds.get("type") or ds.get("name")
                if isinstance(raw_id, str) and raw_id.strip():
                    ds_id = raw_id.strip()
                    keys = ("config", "split", "args", "revision")
                    add(ds_id, "evaluation",
                        {k: param_text(ds[k]) for k in keys if ds.get(k) is not None})
                config = _text(ds.get("config")) or _text(ds.get("args"))
                split = _text(ds.get("split"))
            task = result.get("task")
            task_type = _text(task.get("type") or task.get("name")) if isinstance(task, dict) else ""
            metrics = result.get("metrics")
            for m in metrics if isinstance(metrics, list) else []:
                if not isinstance(m, dict):
                    continue
                mtype, mname = _text(m.get("type")), _text(m.get("name"))
                value = json_number(m.get("value"))
                if (mtype or mname) and value is not None:
                    found.append(((task_type, ds_id, config, split, mtype or mname, mname), value))
    return datasets, refs, _card_metric_keys(found)


def _text(value: object) -> str:
    """A scalar as text (a number or a YAML date as written); "" for nothing or a container."""
    if isinstance(value, str):
        return value.strip()
    if value is None or isinstance(value, (dict, list, tuple, set, frozenset)):
        return ""
    return param_text(value)


def _card_metric_keys(
    found: list[tuple[tuple[str, str, str, str, str, str], float]],
) -> list[tuple[str, float]]:
    """Metric keys for the card's ``model-index`` results, one per (task, dataset, config/split,
    type, name): ``accuracy (glue/mrpc/validation)``, so that a test and a validation value of
    the same metric are two metrics. The task is named only when the card has several; the
    metric's name only when two results of one type would share a key."""
    tasks = {ident[0] for ident, _v in found if ident[0]}
    keyed: list[tuple[str, str, float]] = []
    for (task, ds_id, config, split, mtype, mname), value in found:
        qualifier = "/".join(p for p in (ds_id, config, split) if p)
        key = f"{mtype} ({qualifier})" if qualifier else mtype
        if len(tasks) > 1 and task:
            key = f"{task}: {key}"
        keyed.append((key, mname, value))
    counts: dict[str, int] = {}
    for key, _n, _v in keyed:
        counts[key] = counts.get(key, 0) + 1
    out: list[tuple[str, float]] = []
    seen: set[str] = set()
    for key, mname, value in keyed:
        if counts[key] > 1 and mname and mname != key:
            key = f"{key} · {mname}"
        if key not in seen:  # the same statement twice: the first stands
            seen.add(key)
            out.append((key, value))
    return out


def _adapter_params(
    adapter: Mapping[str, object] | None, params: dict[str, str], tags: dict[str, str]
) -> None:
    """A PEFT ``adapter_config.json``: rank, alpha, target modules … as ``peft.<field>`` params;
    its base model is the run's base model when the card does not name one."""
    if adapter is None:
        return
    for key in _ADAPTER_FIELDS:
        value = adapter.get(key)
        if value is None:
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = sorted(value)  # PEFT saves a set as a list in no fixed order
        params[f"peft.{key}"] = param_text(value)
    base = adapter.get("base_model_name_or_path")
    if "hf.base_model" not in tags and isinstance(base, str) and _hub_like(base):
        tags["hf.base_model"] = base
        tags.setdefault("hf.base_model_relation", "adapter")


def _event_file_times(files: list[tuple[str, int | None]]) -> tuple[int | None, int | None]:
    """The run's start from its TensorBoard event file names (the writer's creation time, epoch
    seconds, UTC); the end is not in a name, so it stays unknown. File mtimes are not used:
    the same input must build the same site."""
    starts = [int(m.group(1)) * 1000 for rel, _size in files if (m := _EVENTS.match(rel))]
    return (min(starts) if starts else None), None


def _declared_goals(ctx: ReadContext, path: str, parts: _Parts, metrics: Mapping[str, Metric]) -> list[MetricGoal]:
    """Which way the Trainer judged "best": ``metric_for_best_model`` and ``greater_is_better``
    from a saved ``training_args.json``; else what ``trainer_state.json`` shows of it
    (``best_metric`` at ``best_global_step`` equals exactly one eval series' minimum or maximum
    there). The Trainer writes ``TrainingArguments`` only as a pickle, which is never opened."""
    args = parts.args or {}
    name = args.get("metric_for_best_model")
    if isinstance(name, str) and name.strip() and isinstance(args.get("greater_is_better"), bool):
        key = name if name.startswith("eval_") else f"eval_{name}"  # as the Trainer looks it up
        greater = bool(args["greater_is_better"])
        detail = f"{_ARGS}: metric_for_best_model={name}, greater_is_better={str(greater).lower()}"
        return [MetricGoal(key, Goal.MAX if greater else Goal.MIN, ctx.origin(join(path, _ARGS)), detail)]
    state = parts.state or {}
    best, step = state.get("best_metric"), state.get("best_global_step")
    if not isinstance(step, int):  # before transformers 4.52: the step is in the checkpoint's name
        found = _CHECKPOINT.match(posixpath.basename(str(state.get("best_model_checkpoint") or "").rstrip("/")))
        step = int(found.group(1)) if found else None
    best_value = json_number(best)
    if best_value is None or step is None or isinstance(step, bool):
        return []
    candidates = []
    for key in sorted(metrics):
        history = metrics[key].history
        if not key.startswith("eval_") or history is None or best_value not in history.values:
            continue  # (the array's own membership test: most series never hold the value)
        if len(set(history.values)) < 2:
            continue
        at_step = [v for s, v in zip(history.steps, history.values, strict=True) if s == step]
        if best_value in at_step:
            low, high = min(history.values), max(history.values)
            if best_value in (low, high):
                candidates.append((key, Goal.MIN if best_value == low else Goal.MAX))
    if len(candidates) != 1:
        return []  # no series or several fit: nothing is declared
    key, goal = candidates[0]
    word = "lowest" if goal is Goal.MIN else "highest"
    detail = f"{_STATE}: best_metric {param_text(best)} at step {step} is the {word} {key}"
    state_path = join(path, _STATE) if _STATE in parts.top else path
    return [MetricGoal(key, goal, ctx.origin(state_path), detail)]


def _checkpoint_metrics(metrics: Mapping[str, Metric], steps: list[int]) -> dict[int, tuple[Metric, ...]]:
    """Each checkpoint's numbers: every ``log_history`` series as of the checkpoint's step (the
    points at or before it), so ``checkpoint-500`` shows what was logged by step 500, not the
    run's final evaluation."""
    out: dict[int, tuple[Metric, ...]] = {}
    for n in steps:
        found = []
        for key in sorted(metrics):
            history = metrics[key].history
            if history is None or len(history) == 0 or history.steps[0] > n:
                continue
            cut = bisect_right(history.steps, n)
            prefix = MetricHistory(history.steps[:cut], history.timestamps[:cut], history.values[:cut])
            found.append(replace(Metric.from_history(key, prefix), history=None))
        out[n] = tuple(found)
    return out


def _config_params(
    config: Mapping[str, object] | None, params: dict[str, str], tags: dict[str, str]
) -> None:
    if config is None:
        return
    for key in _CONFIG_FIELDS:
        if config.get(key) is not None:
            params[f"config.{key}"] = param_text(config[key])
    labels = config.get("id2label")
    if isinstance(labels, Mapping) and labels:
        params["config.num_labels"] = str(len(labels))
        if len(labels) <= _MAX_LABELS:
            params["config.id2label"] = param_text(labels)
    # v4 configs name the base checkpoint; v5 no longer saves it (FORMATS.md §3).
    name_or_path = config.get("_name_or_path")
    if "hf.base_model" not in tags and isinstance(name_or_path, str) and _hub_like(name_or_path):
        tags["hf.base_model"] = name_or_path


def _artifacts(parts: _Parts, path: str) -> tuple[tuple[Artifact, ...], list[str]]:
    """Every file with its size (and its store path under the output dir ``path``), and the
    pointers found. A Git LFS pointer is listed as what it is (its own size, the size it
    declares in the note): never as the real file, and with no store path to preview."""
    artifacts = []
    pointers = []
    contents = parts.contents
    for (rel, size), full in zip(parts.files, _under(path, [rel for rel, _size in parts.files]), strict=True):
        data = contents.get(rel)
        pointer = lfs_pointer(data) if type(data) is bytes else None
        if pointer is not None:
            pointers.append(f"{rel}: {pointer[1]} bytes (pointer {size} bytes)")
            artifacts.append(Artifact(rel, size, note=lfs_note(pointer)))
        else:
            artifacts.append(_new_artifact(rel, size, None, full))
    return tuple(artifacts), pointers


def _under(path: str, rels: list[str]) -> list[str]:
    """``[join(path, rel) for rel in rels]`` for paths from :func:`_walk` (already joined, so no
    part needs stripping): one concatenation each instead of a join."""
    base = join(path)
    if not base:
        return [join(rel) for rel in rels]
    prefix = base + "/"
    return [prefix + rel if rel and rel[0] != "/" and rel[-1] != "/" else join(path, rel) for rel in rels]


def lfs_note(pointer: tuple[str, int | None]) -> str:
    """``Git LFS pointer (declared 5.7 GB, not fetched)``: what an artifact that is a pointer is."""
    size = pointer[1]
    declared = f"declared {human_size(size)}, " if size is not None else ""
    return f"Git LFS pointer ({declared}not fetched)"


def human_size(size: int) -> str:
    """Bytes in decimal units with one decimal (``5.7 GB``), as file managers show them."""
    if size < 1000:
        return f"{size} bytes"
    value = float(size)
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        value /= 1000
        if value < 999.95 or unit == "PB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def _models(
    ctx: ReadContext,
    path: str,
    run_key: str,
    model_name: str,
    index_name: str | None,
    parts: _Parts,
    epoch: Metric | None,
    global_step: int | None,
    checkpoint_metrics: Mapping[int, tuple[Metric, ...]],
) -> Iterator[Record]:
    has_final = any(_MODEL_FILES.match(n) for n in parts.top)
    if not parts.checkpoints and not has_final:
        return
    state = parts.state or {}
    best = state.get("best_model_checkpoint")
    best_version = None
    if isinstance(best, str) and best.strip():
        candidate = posixpath.basename(best.replace("\\", "/").rstrip("/"))
        if any(name == candidate for _n, name in parts.checkpoints):
            best_version = candidate
    yield RegisteredModel(
        name=model_name,
        origin=ctx.origin(join(path, "README.md") if index_name else path),
        aliases=frozen_map({"best": best_version} if best_version else None),
    )
    epochs: dict[int, float] = {}
    if epoch is not None and epoch.history is not None:
        for s, v in zip(epoch.history.steps, epoch.history.values, strict=True):
            epochs[s] = v  # sorted by step: the last point of a step wins
    for n, name in parts.checkpoints:
        vtags = {"hf.step": str(n)}
        if n in epochs:
            vtags["hf.epoch"] = param_text(epochs[n])
        yield ModelVersion(
            model=model_name,
            version=name,
            origin=ctx.origin(join(path, name)),
            aliases=("best",) if name == best_version else (),
            source=join(path, name),
            run_key=run_key,
            tags=frozen_map(vtags),
            metrics=checkpoint_metrics.get(n, ()),
        )
    if has_final:
        vtags = {}
        if global_step is not None:
            vtags["hf.step"] = str(global_step)
        if state.get("epoch") is not None:
            vtags["hf.epoch"] = param_text(state["epoch"])
        yield ModelVersion(
            model=model_name,
            version="final",
            origin=ctx.origin(path),
            source=path or ".",
            run_key=run_key,
            tags=frozen_map(vtags),
        )


def _dir_name(store: Store, path: str) -> str:
    return store_dir_name(store, path, "output")


__all__ = ["HfTrainerReader", "card_hyperparameters", "human_size", "lfs_note", "lfs_pointer", "split_front_matter"]
