"""DVC projects and dvclive logs (FORMATS.md §4), without the ``dvc`` or ``dvclive`` packages.

A *project* is the folder holding ``dvc.yaml``/``dvc.lock`` (or only dvclive output). It is read
in one of two modes:

* **work-tree mode** (any store; always for remote stores): the files as they are. One *state*,
  the workspace.
* **git mode** (only a :class:`~mlreport.stores.LocalStore` whose folder is the top of a git
  repository, or lies inside one whose top is inside the store, with ``git`` on ``PATH``): git is
  run read-only (``GIT_OPTIONAL_LOCKS=0``, ``core.fsmonitor`` off, nothing that writes). Every
  commit on a branch or tag that changed ``dvc.lock``, a declared metrics file or dvclive's
  ``metrics.json``/``dvclive.json`` is a state, and so is every ``dvc exp`` ref
  (``refs/exps/<2>/<38>/<name>``) and every commit a GTO tag points at. The work tree is one more
  state only when its ``dvc.lock`` or metrics differ from ``HEAD``.

Mapping, per state (``S`` is ``dvc:workspace`` or ``dvc:<commit sha>``):

=========================  ===================================================================
record                     from
=========================  ===================================================================
Experiment                 the project: key ``dvc-project:<path>`` (``.`` for the store root),
                           name = the folder's name
Run ``S``                  the state: params = ``params.yaml`` flattened with ``.`` (values as
                           JSON unless strings), then other params files as ``<file>:<key>``,
                           then the main dvclive dir's ``params.yaml`` (keys not yet present);
                           metrics = the main dvclive dir (``metrics.json`` finals + the
                           ``plots/metrics/**.tsv`` histories, names joined with ``/``) and every
                           other declared metrics file (json/yaml/toml; a name already taken is
                           prefixed ``<file>:``); inputs = the data deps of the pipeline that no
                           stage produces; produced = the data outs; output_model_keys = the
                           model outs; artifacts = every stage out (path, size); stages = one
                           :class:`~mlreport.model.Stage` row per ``dvc.lock`` stage (below), in
                           run order; git = the commit; user/start_time = the
                           author and author date (work tree: first/last dvclive timestamp);
                           status FINISHED when a ``dvc.lock`` exists (DVC writes it only after
                           a stage succeeded), else UNKNOWN; name = the exp name, else the short
                           sha, else ``workspace``
Stage of ``S``             each ``dvc.lock`` stage, a row of the run (a pipeline execution is
                           one run, not one run per stage): command; params = the params the
                           lock recorded for it; inputs/produced = its data deps/outs;
                           metrics = its declared metrics files (and the main dvclive dir's when
                           exactly one stage writes it); upstream = stages whose out is, lies
                           in, or holds one of its deps; tags ``dvc.code:<path>`` /
                           ``dvc.model:<path>`` = md5 for code and model deps, ``dvc.stale`` for
                           lock entries no longer in ``dvc.yaml``
Run ``S:<dir>``            every other dvclive dir (e.g. ``dvclive/fold_0``), parent ``S``
Dataset                    each data dep/out with a digest: key ``<path>@<md5>`` (the md5 is the
                           digest, so the same file logged elsewhere links up), profile = JSON
                           with size/nfiles. Code deps (under ``src/``, or ``.py``/``.sh``/
                           ``.ipynb``) are tags, model paths are LoggedModels, metrics/plots
                           files are only artifacts
LoggedModel                an out whose path is an ``artifacts:`` entry of type ``model`` (or
                           the ``<path>.dvc`` pointer of one): key
                           ``dvc-model:<path>@<md5>``, id = md5, run_key = the state's run
RegisteredModel            each ``artifacts:`` entry of type model (desc, labels, meta as tags)
                           and each name in a GTO tag; aliases = stage -> version
ModelVersion               GTO tags ``<name>@<version>`` (run = the tagged commit) with stages
                           from ``<name>#<stage>#<n>`` / ``<name>#<stage>`` (the assignment with
                           the highest number, then the newest tag, wins a stage; ``!`` tags
                           deregister/unassign). A model with no GTO tag gets one version per
                           distinct model md5, named by its first 8 hex digits, from the oldest
                           non-experiment state that produced it
=========================  ===================================================================

``dvc.yaml`` templating is partly resolved: ``foreach`` over lists and dicts (``${item}``,
``${key}``, ``${item.field}``), ``matrix``, and ``${a.b}`` from ``params.yaml`` and ``vars``;
whatever cannot be resolved stays literal. Problems: invalid YAML/JSON, a declared metrics file
that is missing, a TSV row that is not numbers, and ``dvc.lock`` entries for stages that are not in
``dvc.yaml`` (warning ``stage 'x' in dvc.lock is not in dvc.yaml (stale lock entry)``).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import math
import os
import posixpath
import re
import shutil
import subprocess
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import yaml

from ..model import (
    AliasMove,
    Artifact,
    Dataset,
    DatasetRef,
    Experiment,
    GitInfo,
    LoggedModel,
    Metric,
    ModelVersion,
    Origin,
    Problem,
    Record,
    RegisteredModel,
    Run,
    RunStatus,
    Skipped,
    Stage,
    frozen_map,
)
from ..stores import Entry, Store, join
from . import ReadOptions
from ._bounded import (
    INT64_MAX,
    INT64_MIN,
    MAX_DEPTH,
    BoundedError,
    load_json,
    load_yaml,
    long_lines,
    split_lines,
)
from ._common import ReadContext, json_number, lfs_reason, param_text

log = logging.getLogger("mlreport.readers.dvc")

# libyaml is several times faster on big dvc.lock files; PyYAML may be built without it
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_CODE_SUFFIXES = (".py", ".sh", ".ipynb")
_TEMPLATE = re.compile(r"\$\{\s*([^${}]+?)\s*\}")
_EXP_REF = re.compile(r"^refs/exps/([0-9a-f]{2})/([0-9a-f]{38})/(.+)$")
# GTO tag grammar (gto/constants.py): name@version[!][#n], name#stage[!][#n]
_GTO_VERSION = re.compile(r"^(?P<name>[^@#]+)@(?P<version>[^@#!]+)(?P<dereg>!)?(?:#(?P<n>\d+))?$")
_GTO_STAGE = re.compile(r"^(?P<name>[^@#]+)#(?P<stage>[^@#!]+)(?P<unassign>!)?(?:#(?P<n>\d+))?$")
_GIT_TIMEOUT = 120


# --------------------------------------------------------------------------------------------
# Trees: the files of one state, from the store (work tree) or from a git commit


class _Tree(Protocol):
    def ls(self, path: str) -> list[Entry]: ...

    def read_many(self, paths: Iterable[str]) -> dict[str, bytes | OSError]: ...


class _StoreTree:
    """The project's work tree, paths relative to the project folder."""

    def __init__(self, store: Store, root: str) -> None:
        self.store = store
        self.root = root
        # Listings of one read of the project: finding the dvclive dirs lists the project
        # folder and each candidate twice (check, then nested), a fifth of a small project's
        # reading (issue 12). Small listings only: a data folder of many files is not kept.
        self._listed: dict[str, list[Entry]] = {}

    def ls(self, path: str) -> list[Entry]:
        full = join(self.root, path)
        entries = self._listed.get(full)
        if entries is None:
            entries = self.store.ls(full)
            if len(entries) <= _LISTING_KEPT:
                self._listed[full] = entries
        return entries

    def read_many(self, paths: Iterable[str]) -> dict[str, bytes | OSError]:
        wanted = list(paths)
        full = [join(self.root, p) for p in wanted]
        got = self.store.read_many(full)
        return dict(zip(wanted, map(got.__getitem__, full), strict=True))


_LISTING_KEPT = 1_000  # entries of a listing _StoreTree keeps for the rest of a project's read


class _GitTree:
    """One commit's tree, listed once with ``git ls-tree`` and read with ``git cat-file``."""

    def __init__(self, git: _Git, sha: str) -> None:
        self.git = git
        self.sha = sha
        self._blobs: dict[str, tuple[str, int | None]] = {}
        self._dirs: dict[str, dict[str, Entry]] = {"": {}}
        out = git.run(["ls-tree", "-r", "-l", "-z", sha])
        for item in out.split(b"\0"):
            if not item:
                continue
            meta, _, raw_path = item.partition(b"\t")
            fields = meta.split()
            if len(fields) < 4 or fields[1] != b"blob":
                continue
            path = raw_path.decode("utf-8", "surrogateescape")
            size = int(fields[3]) if fields[3].isdigit() else None
            self._blobs[path] = (fields[2].decode(), size)
            parent, _, name = path.rpartition("/")
            self._dirs.setdefault(parent, {})[name] = Entry(name, False, size)
            while parent:
                up, _, dname = parent.rpartition("/")
                children = self._dirs.setdefault(up, {})
                if dname in children:
                    break
                children[dname] = Entry(dname, True, None)
                self._dirs.setdefault(parent, {})
                parent = up

    def ls(self, path: str) -> list[Entry]:
        entries = self._dirs.get(path.strip("/"), {})
        return [entries[k] for k in sorted(entries)]

    def read_many(self, paths: Iterable[str]) -> dict[str, bytes | OSError]:
        out: dict[str, bytes | OSError] = {}
        todo: list[tuple[str, str]] = []
        for p in paths:
            blob = self._blobs.get(p)
            if blob is None:
                out[p] = FileNotFoundError(2, "No such file or directory", p)
            else:
                todo.append((p, blob[0]))
        if todo:
            data = self.git.cat_blobs([oid for _, oid in todo])
            for p, oid in todo:
                out[p] = data.get(oid, OSError(f"cannot read blob {oid}"))
        return out


class _GitError(Exception):
    pass


class _Git:
    """Runs read-only git commands in one folder."""

    def __init__(self, exe: str, cwd: Path) -> None:
        self.exe = exe
        self.cwd = cwd
        self.env = {
            **os.environ,
            "GIT_OPTIONAL_LOCKS": "0",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_PAGER": "cat",
            "LC_ALL": "C",
        }
        for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            self.env.pop(var, None)

    def run(self, args: list[str], stdin: bytes | None = None) -> bytes:
        cmd = [self.exe, "-c", "core.fsmonitor=", "-c", "safe.directory=*", "-C", str(self.cwd)]
        try:
            done = subprocess.run(
                cmd + args, input=stdin, capture_output=True, env=self.env,
                timeout=_GIT_TIMEOUT, check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise _GitError(f"git {args[0]} failed: {exc}") from None
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise _GitError(f"git {args[0]} failed: {err[0] if err else done.returncode}")
        return done.stdout

    def cat_blobs(self, oids: list[str]) -> dict[str, bytes]:
        raw = self.run(["cat-file", "--batch"], ("\n".join(oids) + "\n").encode())
        out: dict[str, bytes] = {}
        pos = 0
        while pos < len(raw):
            nl = raw.index(b"\n", pos)
            header = raw[pos:nl].split()
            pos = nl + 1
            if len(header) < 3 or header[1] == b"missing":
                continue
            size = int(header[2])
            out[header[0].decode()] = raw[pos : pos + size]
            pos += size + 1
        return out


# The store's root, resolved, per store (one crawl's): every project of a folder of projects
# would resolve it again (an lstat per component of the path, 2% of the 1k dvc-projects read).
_RESOLVED: weakref.WeakKeyDictionary[Store, Path] = weakref.WeakKeyDictionary()


def _open_git(store: Store, path: str) -> _Git | None:
    """A git runner for the project folder when git mode applies (see the module docstring)."""
    root = store.local_root()
    if root is None:
        return None
    project = (root / path) if path else root
    # Git mode needs a repository inside the store: look for `.git` before starting git at all
    # (a subprocess per project costs more than reading the project), and before looking for
    # git on PATH (shutil.which: a stat per PATH entry, for every project of a folder of them).
    store_root = _RESOLVED.get(store)
    if store_root is None:
        store_root = _RESOLVED[store] = root.resolve()
    folder = project.resolve()
    while not (folder / ".git").exists():
        if folder == store_root or folder.parent == folder:
            return None
        folder = folder.parent
    exe = shutil.which("git")
    if exe is None:
        return None
    git = _Git(exe, project)
    try:
        top = Path(git.run(["rev-parse", "--show-toplevel"]).decode().strip()).resolve()
    except _GitError:
        return None
    store_root = root.resolve()
    # A repository around the store (the store is a folder inside some other project) is not
    # this project's history.
    if top != store_root and store_root not in top.parents:
        return None
    return git


# --------------------------------------------------------------------------------------------
# Small parsers


def _load_yaml(data: bytes) -> object:
    """Parse YAML, bounded (alias expansion, depth, huge integers); raise ValueError with a
    short reason."""
    _refuse_lfs_pointer(data)
    try:
        return load_yaml(data.decode("utf-8"), loader=_Loader)
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except BoundedError as exc:
        raise ValueError(f"refused: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ValueError(f"invalid YAML{where}: {problem}") from None


def _refuse_lfs_pointer(data: bytes) -> None:
    """A Git LFS pointer committed in place of the file is a Problem that says so (``dvc.lock``,
    ``params.yaml``, a metrics file), never "expected a mapping"."""
    reason = lfs_reason(data)
    if reason is not None:
        raise ValueError(reason)


def _load_json(data: bytes) -> object:
    _refuse_lfs_pointer(data)
    try:
        return load_json(data.decode("utf-8"), max_depth=MAX_DEPTH)
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON at line {exc.lineno}: {exc.msg.lower()}") from None
    except BoundedError as exc:
        raise ValueError(f"refused: {exc}") from None


def _load_toml(data: bytes) -> object:
    try:
        import tomllib
    except ImportError:  # pragma: no cover - python 3.10
        raise ValueError("reading TOML needs Python 3.11") from None
    _refuse_lfs_pointer(data)
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"invalid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses on nested arrays and inline tables
        raise ValueError("refused: TOML nested too deep") from None


def _load_by_suffix(path: str, data: bytes) -> object:
    if path.endswith(".json"):
        return _load_json(data)
    if path.endswith(".toml"):
        return _load_toml(data)
    return _load_yaml(data)


def _param_value(value: object) -> str:
    return param_text(value)  # the readers' one rule (a YAML date is its ISO text)


def _flatten_params(data: object, prefix: str, out: dict[str, str]) -> None:
    if isinstance(data, Mapping) and data:
        for k, v in data.items():
            _flatten_params(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif prefix:
        out[prefix] = _param_value(data)


def _flatten_metrics(data: object, prefix: str, out: dict[str, float]) -> None:
    if isinstance(data, Mapping):
        for k, v in data.items():
            _flatten_metrics(v, f"{prefix}/{k}" if prefix else str(k), out)
    elif prefix and (number := json_number(data)) is not None:
        out[prefix] = number


def _norm(path: object) -> str:
    text = str(path).strip().replace("\\", "/")
    if not text:
        return ""
    normed = posixpath.normpath(text)
    return "" if normed == "." else normed


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _is_code(path: str) -> bool:
    return path.startswith("src/") or path == "src" or path.endswith(_CODE_SUFFIXES)


def _path_entries(items: object) -> list[tuple[str, Mapping[str, object]]]:
    """``deps``/``outs``/``metrics`` lists: strings or one-key mappings ``{path: {opts}}``."""
    out: list[tuple[str, Mapping[str, object]]] = []
    if isinstance(items, (str, Mapping)):
        items = [items]
    if not isinstance(items, list):
        return out
    for item in items:
        if isinstance(item, str):
            out.append((_norm(item), {}))
        elif isinstance(item, Mapping):
            for k, v in item.items():
                out.append((_norm(k), v if isinstance(v, Mapping) else {}))
    return [(p, o) for p, o in out if p]


def _short_digest(md5: str) -> str:
    return md5.removesuffix(".dir")[:8]


# --------------------------------------------------------------------------------------------
# dvc.yaml templating


def _lookup(context: Mapping[str, object], dotted: str) -> object:
    cur: object = context
    for part in dotted.split("."):
        m = re.fullmatch(r"([^\[\]]*)((?:\[\d+\])*)", part)
        if m is None:
            raise KeyError(dotted)
        if m.group(1):
            if not isinstance(cur, Mapping) or m.group(1) not in cur:
                raise KeyError(dotted)
            cur = cur[m.group(1)]
        for idx in re.findall(r"\[(\d+)\]", m.group(2)):
            if not isinstance(cur, list) or int(idx) >= len(cur):
                raise KeyError(dotted)
            cur = cur[int(idx)]
    return cur


#: ``foreach``/``matrix`` may expand one dvc.yaml to at most this many stages (DVC itself has no
#: limit; a real pipeline has tens).
MAX_STAGES = 10_000
#: Templating may produce at most this many values and characters in all, per state: a small
#: file whose ``${...}`` references multiply (a long var used 1,000 times in 2,000 stages)
#: is refused in a fixed time and memory.
MAX_TEMPLATE_NODES = 2_000_000
MAX_TEMPLATE_CHARS = 50_000_000


class _TemplateTooLarge(ValueError):
    pass


@dataclass
class _Budget:
    nodes: int = MAX_TEMPLATE_NODES
    chars: int = MAX_TEMPLATE_CHARS

    def spend(self, nodes: int, chars: int = 0) -> None:
        self.nodes -= nodes
        self.chars -= chars
        if self.nodes < 0:
            raise _TemplateTooLarge(f"templating expands to more than {MAX_TEMPLATE_NODES:,} values")
        if self.chars < 0:
            raise _TemplateTooLarge(f"templating expands to more than {MAX_TEMPLATE_CHARS:,} characters")


def _substitute(value: object, context: Mapping[str, object], budget: _Budget | None = None) -> object:
    if budget is None:
        budget = _Budget()
    budget.spend(1)
    if isinstance(value, str):
        whole = _TEMPLATE.fullmatch(value)
        if whole:
            try:
                return _lookup(context, whole.group(1))
            except KeyError:
                return value

        def repl(m: re.Match[str]) -> str:
            try:
                found = _lookup(context, m.group(1))
            except KeyError:
                return m.group(0)
            if isinstance(found, (Mapping, list)):
                return m.group(0)
            text = _param_value(found) if not isinstance(found, bool) else str(found).lower()
            budget.spend(0, len(text))  # as it grows: 10,000 references to a long value stop early
            return text

        if "$" not in value:
            return value
        return _TEMPLATE.sub(repl, value)
    if isinstance(value, Mapping):
        return {_substitute(k, context, budget) if isinstance(k, str) else k: _substitute(v, context, budget)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, context, budget) for v in value]
    return value


def _expand_stages(
    stages: Mapping[str, object], context: Mapping[str, object], budget: _Budget | None = None
) -> tuple[dict[str, Mapping[str, object]], set[str]]:
    """Expanded stage definitions by name, plus the names of stages left unexpanded.

    Raises :class:`_TemplateTooLarge` past :data:`MAX_STAGES` stages or the template budget.
    """
    budget = budget or _Budget()
    out: dict[str, Mapping[str, object]] = {}
    unexpanded: set[str] = set()

    def room(n: int) -> None:
        if len(out) + n > MAX_STAGES:
            raise _TemplateTooLarge(f"foreach/matrix expand to more than {MAX_STAGES:,} stages")

    for raw_name, body in stages.items():
        name = str(raw_name)
        if not isinstance(body, Mapping):
            out[name] = {}
            continue
        if "foreach" in body and "do" in body:
            items = _substitute(body["foreach"], context, budget)
            do = body["do"]
            pairs: list[tuple[str, object, object]] = []
            if isinstance(items, (list, Mapping)):
                room(len(items))
            if isinstance(items, list):
                for i, item in enumerate(items):
                    key = str(item) if isinstance(item, (str, int, float)) else str(i)
                    pairs.append((key, item, i))
            elif isinstance(items, Mapping):
                pairs = [(str(k), v, k) for k, v in items.items()]
            else:
                unexpanded.add(name)
                out[name] = body
                continue
            for key, item, keyval in pairs:
                local = {**context, "item": item, "key": keyval}
                sub = _substitute(do, local, budget)
                out[f"{name}@{key}"] = sub if isinstance(sub, Mapping) else {}
        elif "matrix" in body and isinstance(body["matrix"], Mapping):
            axes = {str(k): _substitute(v, context, budget) for k, v in body["matrix"].items()}
            if not all(isinstance(v, list) for v in axes.values()):
                unexpanded.add(name)
                out[name] = body
                continue
            template = {k: v for k, v in body.items() if k != "matrix"}
            lists = [v for v in axes.values() if isinstance(v, list)]
            room(math.prod(len(v) for v in lists))  # before the product is made
            for combo in itertools.product(*lists):
                item = dict(zip(axes, combo, strict=True))
                suffix = "-".join(
                    str(v) if isinstance(v, (str, int, float)) else f"{k}{i}"
                    for i, (k, v) in enumerate(item.items())
                )
                sub = _substitute(template, {**context, "item": item}, budget)
                out[f"{name}@{suffix}"] = sub if isinstance(sub, Mapping) else {}
        else:
            room(1)
            sub = _substitute(body, context, budget)
            out[name] = sub if isinstance(sub, Mapping) else {}
    return out, unexpanded


# --------------------------------------------------------------------------------------------
# The reader


@dataclass
class _State:
    key: str
    id: str
    name: str
    tree: _Tree
    sha: str | None = None
    user: str | None = None
    time: int | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    is_exp: bool = False
    dirty: bool | None = None


@dataclass
class _LiveDir:
    path: str  # relative to the project; "" when the project folder itself is the dvclive dir
    old: bool = False  # dvclive 0.x: <dir>.json summary beside <dir>/[scalars/]*.tsv


@dataclass
class _StateResult:
    records: list[Record]
    model_md5: dict[str, tuple[str, str | None]]  # artifact name -> (md5, logged model key)


class DvcReader:
    """Reads a DVC project (``dvc.yaml``/``dvc.lock``) or a folder of dvclive output."""

    name = "dvc"
    label = "DVC / dvclive"
    # A DVC project is a whole repository: other stores (mlruns/, wandb/) may sit inside it.
    owns_subtree = False

    def detect(self, store: Store, path: str) -> bool:
        entries = {e.name: e for e in store.ls(path)}
        if any(n in entries and not entries[n].is_dir for n in ("dvc.yaml", "dvc.lock")):
            return True
        if "dvclive.json" in entries and "dvclive" in entries and entries["dvclive"].is_dir:
            return True
        if "metrics.json" in entries and store.is_dir(join(path, "plots", "metrics")):
            return True
        if "dvclive" in entries and entries["dvclive"].is_dir:
            return store.is_file(join(path, "dvclive", "metrics.json"))
        return False

    def read(self, store: Store, path: str, options: ReadOptions) -> Iterator[Record]:
        yield from _Reading(store, path, options).run()


class _Reading:
    def __init__(self, store: Store, path: str, options: ReadOptions) -> None:
        self.store = store
        self.root = path.strip("/")
        self.options = options
        self.ctx = ReadContext(store, self.root, DvcReader.name)  # the readers' shared origins and problems
        self.seen: set[str] = set()  # dataset and logged-model keys already yielded
        folder = self.root.rsplit("/", 1)[-1] if self.root else ""
        if not folder:
            local = store.local_root()
            folder = local.name if local is not None else store.url.rstrip("/").rsplit("/", 1)[-1]
        self.exp_key = f"dvc-project:{self.root or '.'}"
        self.exp_name = folder or "."

    # -- helpers

    def origin(self, rel: str) -> Origin:
        """The origin of a record read from ``rel`` (relative to the project folder)."""
        return self.ctx.origin(self.ctx.at(rel))

    def problem(self, rel: str, reason: str, state: _State | None = None) -> None:
        if state is not None and state.sha:
            reason = f"{reason} (commit {state.sha[:7]})"
        self.ctx.problem(self.ctx.at(rel), reason)

    def flush(self) -> Iterator[Problem | Skipped]:
        yield from self.ctx.drain()

    # -- top level

    def run(self) -> Iterator[Record]:
        work = _StoreTree(self.store, self.root)
        git = _open_git(self.store, self.root)
        states: list[_State] = []
        gto_tags: list[tuple[str, str, int | None, str | None, str]] = []
        if git is not None:
            try:
                states, gto_tags = self.git_states(git, work)
            except _GitError as exc:
                self.problem("", f"{exc}; read the work tree only")
                states, gto_tags = [], []
        if not states:
            states = [_State("dvc:workspace", "workspace", "workspace", work)]

        created = min((s.time for s in states if s.time is not None), default=None)
        yield Experiment(
            key=self.exp_key, id=self.root or ".", name=self.exp_name, origin=self.origin(""),
            created=created,
        )
        total = len(states)
        self.options.progress("states", 0, total)
        per_state: list[tuple[_State, dict[str, tuple[str, str | None]]]] = []
        artifacts_decl: dict[str, Mapping[str, object]] = {}
        for i, state in enumerate(states):
            try:
                result, decl = self.read_state(state)
            except Exception as exc:  # noqa: BLE001 - the fault boundary of one state (a commit)
                self.problem("", f"cannot read this state: {type(exc).__name__}: {str(exc)[:160]}", state)
                result, decl = _StateResult([], {}), None
            yield from result.records
            yield from self.flush()
            per_state.append((state, result.model_md5))
            if decl is not None and not state.is_exp:
                artifacts_decl = decl  # the newest non-experiment state declares the models
            self.options.progress("states", i + 1, total)
        yield from self.registry(artifacts_decl, per_state, gto_tags)
        yield from self.flush()

    # -- git

    def git_states(
        self, git: _Git, work: _StoreTree
    ) -> tuple[list[_State], list[tuple[str, str, int | None, str | None, str]]]:
        try:
            git.run(["rev-parse", "--verify", "-q", "HEAD"])
        except _GitError:
            return [], []  # a repository without commits: the work tree is all there is
        pathspecs = ["dvc.lock", "dvclive/metrics.json", "dvclive.json"]
        decl = self._work_tree_metric_paths(work)
        pathspecs.extend(p for p in decl if p not in pathspecs)
        log_out = git.run(
            ["log", "--format=%H", "HEAD", "--branches", "--tags", "--", *pathspecs]
        ).decode()
        shas = [s for s in log_out.split() if s]
        refs = git.run(
            [
                "for-each-ref",
                "--format=%(refname)%00%(objectname)%00%(*objectname)%00%(creatordate:unix)"
                "%00%(taggername)%00%(contents:subject)",
                "refs/tags",
                "refs/exps",
            ]
        ).decode("utf-8", "replace")
        exps: list[tuple[str, str, str]] = []  # (sha, name, baseline)
        tags: list[tuple[str, str, int | None, str | None, str]] = []
        for line in refs.splitlines():
            parts = line.split("\0")
            if len(parts) < 6:
                continue
            ref, obj, peeled, date, tagger, subject = parts[:6]
            m = _EXP_REF.match(ref)
            if m:
                exps.append((obj, m.group(3), m.group(1) + m.group(2)))
            elif ref.startswith("refs/tags/"):
                tag = ref[len("refs/tags/") :]
                if _GTO_VERSION.match(tag) or _GTO_STAGE.match(tag):
                    when = int(date) * 1000 if date.isdigit() else None
                    tags.append((tag, peeled or obj, when, tagger.strip("<> ") or None, subject))
        wanted = list(dict.fromkeys(shas + [t[1] for t in tags]))
        exp_shas = [e[0] for e in exps if e[0] not in wanted]
        all_shas = wanted + exp_shas
        if not all_shas:
            return [], []
        meta_out = git.run(
            ["show", "-s", "--no-walk=unsorted", "--format=%H%x00%an%x00%at%x00%s%x00", *all_shas]
        ).decode("utf-8", "replace")
        meta: dict[str, tuple[str, int | None, str]] = {}
        for line in meta_out.splitlines():
            parts = line.split("\0")
            if len(parts) >= 4:
                meta[parts[0]] = (parts[1], int(parts[2]) * 1000 if parts[2].isdigit() else None,
                                  parts[3])
        exp_names = {e[0]: (e[1], e[2]) for e in exps}
        states: list[_State] = []
        for sha in all_shas:
            author, when, subject = meta.get(sha, ("", None, ""))
            state = _State(
                key=f"dvc:{sha}", id=sha, name=sha[:7], tree=_GitTree(git, sha), sha=sha,
                user=author or None, time=when, description=subject or None,
            )
            if sha in exp_names:
                name, baseline = exp_names[sha]
                state.name = name
                state.is_exp = True
                state.tags = {"dvc.exp.name": name, "dvc.exp.baseline": baseline}
            states.append(state)
        states.sort(key=lambda s: (s.is_exp, s.time or 0, s.sha or ""))

        # The work tree is a state of its own only when it differs from HEAD.
        head = git.run(["rev-parse", "HEAD"]).decode().strip()
        head_tree = _GitTree(git, head)
        check = ["dvc.lock", *decl, "dvclive/metrics.json"]
        a, b = work.read_many(check), head_tree.read_many(check)
        if any(
            (not isinstance(a[p], OSError) or not isinstance(b[p], OSError)) and a[p] != b[p]
            for p in check
        ):
            states.append(
                _State("dvc:workspace", "workspace", "workspace", work,
                       tags={"dvc.baseline": head}, dirty=True)
            )
        return states, sorted(tags)

    def _work_tree_metric_paths(self, tree: _Tree) -> list[str]:
        data = tree.read_many(["dvc.yaml"])["dvc.yaml"]
        if isinstance(data, OSError):
            return []
        try:
            doc = _load_yaml(data)
        except ValueError:
            return []
        if not isinstance(doc, Mapping):
            return []
        paths = [p for p, _ in _path_entries(doc.get("metrics"))]
        stages = doc.get("stages")
        if isinstance(stages, Mapping):
            for body in stages.values():
                if isinstance(body, Mapping):
                    paths.extend(p for p, _ in _path_entries(body.get("metrics")) if "$" not in p)
        return sorted(set(paths))

    # -- one state

    def read_state(
        self, state: _State
    ) -> tuple[_StateResult, dict[str, Mapping[str, object]] | None]:
        tree = state.tree
        base = tree.read_many(["dvc.yaml", "dvc.lock", "params.yaml"])

        params_doc: Mapping[str, object] = {}
        if not isinstance(base["params.yaml"], OSError):
            try:
                loaded = _load_yaml(base["params.yaml"])
                if isinstance(loaded, Mapping):
                    params_doc = loaded
                elif loaded is not None:
                    self.problem("params.yaml", "expected a mapping", state)
            except ValueError as exc:
                self.problem("params.yaml", str(exc), state)

        yaml_doc: Mapping[str, object] | None = None
        if not isinstance(base["dvc.yaml"], OSError):
            try:
                loaded = _load_yaml(base["dvc.yaml"])
                if isinstance(loaded, Mapping):
                    yaml_doc = loaded
                elif loaded is not None:
                    self.problem("dvc.yaml", "expected a mapping", state)
                else:
                    yaml_doc = {}
            except ValueError as exc:
                self.problem("dvc.yaml", str(exc), state)

        context: dict[str, object] = dict(params_doc)
        stage_defs: dict[str, Mapping[str, object]] = {}
        unexpanded: set[str] = set()
        artifacts_decl: dict[str, Mapping[str, object]] | None = None
        top_metrics: list[str] = []
        top_params: list[str] = []
        if yaml_doc is not None:
            self._load_vars(state, yaml_doc.get("vars"), context)
            budget = _Budget()
            try:
                yaml_stages = yaml_doc.get("stages")
                if isinstance(yaml_stages, Mapping):
                    stage_defs, unexpanded = _expand_stages(yaml_stages, context, budget)
                top_metrics = [
                    p for p, _ in _path_entries(_substitute(yaml_doc.get("metrics"), context, budget))
                ]
                top_params = [
                    p for p, _ in _path_entries(_substitute(yaml_doc.get("params"), context, budget))
                ]
                arts = yaml_doc.get("artifacts")
                artifacts_decl = {}
                if isinstance(arts, Mapping):
                    for name, spec in arts.items():
                        if isinstance(spec, Mapping):
                            artifacts_decl[str(name)] = _substitute(spec, context, budget)  # type: ignore[assignment]
            except _TemplateTooLarge as exc:
                self.problem("dvc.yaml", f"refused: {exc}; the pipeline is read from dvc.lock alone", state)
                yaml_doc, stage_defs, unexpanded = None, {}, set()
                artifacts_decl, top_metrics, top_params = None, [], []
        # dvclive dirs; a dvclive dir with its own dvc.yaml (Live(dvcyaml="dvclive/dvc.yaml"))
        # declares artifacts and plots there, with paths relative to that folder.
        live_dirs = self._find_live_dirs(tree, top_metrics, top_params, yaml_doc)
        plot_specs: list[tuple[str, Mapping[str, object]]] = []
        if yaml_doc is not None:
            plot_specs.extend(_path_entries(yaml_doc.get("plots")))
            for body in stage_defs.values():
                plot_specs.extend(_path_entries(body.get("plots")))
        nested = [join(d.path, "dvc.yaml") for d in live_dirs if d.path and not d.old]
        for ypath, data in tree.read_many(nested).items() if nested else ():
            if isinstance(data, OSError):
                continue
            try:
                doc = _load_yaml(data)
            except ValueError as exc:
                self.problem(ypath, str(exc), state)
                continue
            if not isinstance(doc, Mapping):
                continue
            folder = posixpath.dirname(ypath)
            arts = doc.get("artifacts")
            for name, spec in arts.items() if isinstance(arts, Mapping) else ():
                if isinstance(spec, Mapping) and str(name) not in (artifacts_decl or {}):
                    spec = dict(spec)
                    if spec.get("path"):
                        spec["path"] = _norm(posixpath.join(folder, str(spec["path"])))
                    artifacts_decl = {**(artifacts_decl or {}), str(name): spec}
            plot_specs.extend((_norm(posixpath.join(folder, p)), o) for p, o in _path_entries(doc.get("plots")))
        model_paths = {
            _norm(spec.get("path", "")): name
            for name, spec in (artifacts_decl or {}).items()
            if str(spec.get("type", "")) == "model" and spec.get("path")
        }

        lock_stages: dict[str, Mapping[str, object]] = {}
        if not isinstance(base["dvc.lock"], OSError):
            try:
                lock = _load_yaml(base["dvc.lock"])
            except ValueError as exc:
                self.problem("dvc.lock", str(exc), state)
                lock = None
            if isinstance(lock, Mapping):
                raw = lock.get("stages") if "stages" in lock or "schema" in lock else lock
                if isinstance(raw, Mapping):
                    lock_stages = {str(k): v for k, v in raw.items() if isinstance(v, Mapping)}
            elif lock is not None:
                self.problem("dvc.lock", "expected a mapping", state)
        has_pipeline = yaml_doc is not None or bool(lock_stages)
        declared_stages = yaml_doc.get("stages") if yaml_doc is not None else None
        if isinstance(declared_stages, Mapping):
            # a stage that is not a mapping is read as defining nothing (_expand_stages): say so,
            # the lock's entry is all there is of it (fuzz seed 3 case 97082: it was silent)
            for raw_name, body in declared_stages.items():
                if not isinstance(body, Mapping):
                    rest = "dvc.lock's entry is read alone" if str(raw_name) in lock_stages else "it is skipped"
                    what = f"stage '{str(raw_name)[:80]}' is {_yaml_type(body)}, not a mapping"
                    self.problem("dvc.yaml", f"{what}; {rest}", state)

        # Which lock entries are stale (dvc.yaml was read and no longer defines them).
        stale: set[str] = set()
        if yaml_doc is not None:
            for name in sorted(lock_stages):
                if name in stage_defs:
                    continue
                if any(name.startswith(f"{u}@") for u in unexpanded):
                    continue
                stale.add(name)
                self.problem("dvc.lock", f"stage '{name}' in dvc.lock is not in dvc.yaml (stale lock entry)", state)

        # dvclive dirs and metrics files.
        main_live = live_dirs[0] if live_dirs else None
        stage_metrics: dict[str, list[str]] = {}
        for sname, body in stage_defs.items():
            stage_metrics[sname] = [p for p, _ in _path_entries(body.get("metrics"))]
        declared = list(
            dict.fromkeys(top_metrics + [p for ps in stage_metrics.values() for p in ps])
        )
        own = [
            p for p in declared
            if not any(_live_owns(d, p) for d in live_dirs)
        ]
        metric_files = self._read_metric_files(state, own)

        records: list[Record] = []
        state_key = state.key

        # Lock stages -> datasets, logged models, stage runs.
        outs_by_path: dict[str, tuple[str, str | None]] = {}  # out path -> (stage, md5)
        for sname in sorted(lock_stages):
            for path, entry in _lock_entries(lock_stages[sname].get("outs")):
                if sname not in stale or path not in outs_by_path:
                    outs_by_path[path] = (sname, _digest(entry))
        metrics_and_plots = set(declared)
        for body in stage_defs.values():
            metrics_and_plots.update(p for p, _ in _path_entries(body.get("plots")))

        model_md5: dict[str, tuple[str, str | None]] = {}
        all_inputs: list[DatasetRef] = []
        all_models: list[str] = []
        all_artifacts: dict[str, Artifact] = {}
        stages: list[Stage] = []
        all_produced: list[DatasetRef] = []
        run_key = state_key  # a stage is a row of its pipeline run, not a run of its own
        for sname in sorted(lock_stages):
            try:
                body = lock_stages[sname]
                tags: dict[str, str] = {}
                cmd = body.get("cmd")
                command = None
                if isinstance(cmd, str):
                    command = cmd
                elif isinstance(cmd, list):
                    command = " && ".join(str(c) for c in cmd)
                if sname in stale:
                    tags["dvc.stale"] = "true"
                inputs: list[DatasetRef] = []
                upstream: set[str] = set()
                for path, entry in _lock_entries(body.get("deps")):
                    md5 = _digest(entry)
                    for out_path, (producer, _m) in outs_by_path.items():
                        # a dep inside an out (data/prepared/x) or holding one (data/split)
                        if producer != sname and (_under(path, out_path) or _under(out_path, path)):
                            if producer not in stale or sname in stale:
                                upstream.add(producer)
                    if path in model_paths:
                        tags[f"dvc.model:{path}"] = md5 or ""
                        continue
                    if _is_code(path):
                        tags[f"dvc.code:{path}"] = md5 or ""
                        continue
                    ds = self._dataset(path, entry, sname, "dvc.lock")
                    if ds is not None:
                        records.append(ds)
                    key = f"{path}@{md5}" if md5 else path
                    inputs.append(DatasetRef(key))
                    produced = any(
                        _under(path, op) for op, (prod, _m) in outs_by_path.items() if prod not in stale
                    )
                    if sname not in stale and not produced:
                        all_inputs.append(DatasetRef(key, context=sname))
                outputs: list[str] = []
                produced_refs: list[DatasetRef] = []
                artifacts: list[Artifact] = []
                # a work tree's output files are files of the store (previews read them); a
                # commit's are only named, and so is a folder
                root = tree.root if isinstance(tree, _StoreTree) else None
                for path, entry in _lock_entries(body.get("outs")):
                    md5 = _digest(entry)
                    size = _int(entry.get("size"))
                    is_folder = str(md5 or "").endswith(".dir") or "nfiles" in entry
                    where = None if root is None or is_folder or not _is_work_file(tree, path) else join(root, path)
                    artifacts.append(Artifact(path, size, None, where))
                    if path in model_paths:
                        name = model_paths[path]
                        lm = self._logged_model(name, path, md5, size, run_key,
                                                (artifacts_decl or {}).get(name, {}))
                        if lm is not None:
                            outputs.append(lm.key)
                            if lm.key not in self.seen:
                                self.seen.add(lm.key)
                                records.append(lm)
                        if md5 and sname not in stale:
                            model_md5[name] = (md5, lm.key if lm else None)
                    elif path not in metrics_and_plots:
                        ds = self._dataset(path, entry, sname, "dvc.lock")
                        if ds is not None:
                            records.append(ds)
                        produced_refs.append(DatasetRef(f"{path}@{md5}" if md5 else path))
                if sname not in stale:
                    all_models.extend(outputs)
                    all_produced.extend(produced_refs)
                # a stale entry's outs were still written and recorded: they are artifacts
                # (an emptied or retyped dvc.yaml must not hide them; fuzz finding F2)
                for a in artifacts:
                    if sname in stale:
                        all_artifacts.setdefault(a.path, a)  # a live stage's record wins
                    else:
                        all_artifacts[a.path] = a
                params = _lock_params(body.get("params"))
                metrics = _metrics_from_files(
                    [(p, metric_files[p]) for p in stage_metrics.get(sname, []) if p in metric_files]
                )
                stages.append(
                    Stage(
                        name=sname,
                        command=command,
                        params=frozen_map(params),
                        metrics=metrics,
                        inputs=_sorted_refs(inputs),
                        produced=_sorted_refs(produced_refs),
                        output_model_keys=tuple(sorted(set(outputs))),
                        artifacts=tuple(sorted(artifacts, key=lambda a: a.path)),
                        upstream=tuple(sorted(upstream)),
                        tags=frozen_map(tags),
                    )
                )
            except Exception as exc:  # noqa: BLE001 - the fault boundary of one stage
                reason = f"{type(exc).__name__}: {str(exc)[:160]}"
                self.problem("dvc.lock", f"stage '{sname[:80]}': cannot read: {reason}", state)

        # Models declared but not produced by a stage: a `<path>.dvc` pointer (dvc add /
        # dvclive log_artifact) gives their md5.
        missing = [
            (name, _norm(spec.get("path", "")))
            for name, spec in (artifacts_decl or {}).items()
            if str(spec.get("type", "")) == "model" and spec.get("path") and name not in model_md5
            and _norm(spec.get("path", "")) not in outs_by_path
        ]
        if missing:
            pointers = tree.read_many([f"{p}.dvc" for _, p in missing])
            for name, path in missing:
                data = pointers[f"{path}.dvc"]
                if isinstance(data, OSError):
                    continue
                try:
                    doc = _load_yaml(data)
                except ValueError as exc:
                    self.problem(f"{path}.dvc", str(exc), state)
                    continue
                outs = _lock_entries(doc.get("outs") if isinstance(doc, Mapping) else None)
                if not outs:
                    continue
                _p, entry = outs[0]
                md5 = _digest(entry)
                lm = self._logged_model(name, path, md5, _int(entry.get("size")), state_key,
                                        (artifacts_decl or {}).get(name, {}), pointer=True)
                if lm is not None and md5:
                    if lm.key not in self.seen:
                        self.seen.add(lm.key)
                        records.append(lm)
                    all_models.append(lm.key)
                    model_md5[name] = (md5, lm.key)

        # dvclive runs.
        live_records: list[Run] = []
        main_metrics: tuple[Metric, ...] = ()
        main_params: dict[str, str] = {}
        times: list[int] = []
        for live in live_dirs:
            try:
                metrics, lparams, first, last = self._read_live(state, live)
            except Exception as exc:  # noqa: BLE001 - the fault boundary of one dvclive dir
                self.problem(live.path, f"cannot read dvclive output: {type(exc).__name__}: {str(exc)[:160]}", state)
                continue
            if live is main_live:
                main_metrics, main_params = metrics, lparams
                times = [t for t in (first, last) if t is not None]
                continue
            live_records.append(
                Run(
                    key=f"{state_key}:{live.path}",
                    id=f"{state.id}:{live.path}",
                    name=live.path,
                    origin=self.origin(live.path),
                    experiment_key=self.exp_key,
                    start_time=first if state.sha is None else state.time,
                    end_time=last if state.sha is None else None,
                    user=state.user,
                    params=frozen_map(lparams),
                    metrics=metrics,
                    parent_key=state_key,
                    git=GitInfo(commit=state.sha, dirty=state.dirty),
                )
            )

        if main_live is not None and main_metrics:
            stages = _with_live_metrics(stages, stage_defs, main_live, main_metrics)

        for art in self._plots(tree, plot_specs, live_dirs):
            known = all_artifacts.get(art.path)
            all_artifacts[art.path] = dataclasses.replace(known, note=art.note) if known else art

        # The state run.
        state_params: dict[str, str] = {}
        _flatten_params(params_doc, "", state_params)
        extra_params = [p for p in top_params if p != "params.yaml"
                        and not (main_live and _live_owns(main_live, p))]
        for sname in sorted(lock_stages):
            if sname in stale:
                continue
            lp = lock_stages[sname].get("params")
            if isinstance(lp, Mapping):
                extra_params.extend(str(f) for f in lp if str(f) != "params.yaml")
        extra_params = sorted(set(extra_params))
        if extra_params:
            got = tree.read_many(extra_params)
            for pfile in extra_params:
                data = got[pfile]
                if isinstance(data, OSError):
                    continue
                try:
                    doc = _load_by_suffix(pfile, data)
                except ValueError as exc:
                    self.problem(pfile, str(exc), state)
                    continue
                flat: dict[str, str] = {}
                _flatten_params(doc, "", flat)
                for k, v in flat.items():
                    state_params.setdefault(f"{pfile}:{k}", v)
        # dvclive's own params.yaml: plain keys when the project has no params.yaml, else
        # under its file name like any other params file (they often repeat params.yaml).
        live_prefix = ""
        if params_doc and main_live is not None:
            live_prefix = f"{join(main_live.path, 'params.yaml')}:"
        for k, v in main_params.items():
            state_params.setdefault(f"{live_prefix}{k}", v)

        metrics_list = list(main_metrics)
        taken = {m.key for m in metrics_list}
        for path in own:
            if path not in metric_files:
                continue
            for m in _metrics_from_files([(path, metric_files[path])]):
                if m.key in taken:
                    m = dataclasses.replace(m, key=f"{path}:{m.key}")
                taken.add(m.key)
                metrics_list.append(m)

        if state.sha is not None:
            start, end = state.time, None
        else:
            start = min(times) if times else None
            end = max(times) if times else None
        git_info = GitInfo(commit=state.sha or state.tags.get("dvc.baseline"), dirty=state.dirty)
        state_tags = dict(state.tags)
        if main_live is not None:
            state_tags["dvclive.dir"] = main_live.path or "."
        state_run = Run(
            key=state_key,
            id=state.id,
            name=state.name,
            origin=self.origin(
                "dvc.lock" if lock_stages else (main_live.path if main_live else "")
            ),
            experiment_key=self.exp_key,
            status=RunStatus.FINISHED if lock_stages else RunStatus.UNKNOWN,
            start_time=start,
            end_time=end,
            user=state.user,
            description=state.description,
            params=frozen_map(state_params),
            tags=frozen_map(state_tags),
            metrics=tuple(sorted(metrics_list, key=lambda m: m.key)),
            inputs=_sorted_refs(all_inputs),
            produced=_sorted_refs(all_produced),
            output_model_keys=tuple(sorted(set(all_models))),
            artifacts=tuple(all_artifacts[p] for p in sorted(all_artifacts)),
            git=git_info,
            stages=_run_order(stages),
        )
        if not has_pipeline and main_live is None and not live_records:
            return _StateResult(records, model_md5), artifacts_decl
        return (
            _StateResult([*records, state_run, *live_records], model_md5),
            artifacts_decl,
        )

    def _plots(
        self, tree: _Tree, specs: list[tuple[str, Mapping[str, object]]], live_dirs: list[_LiveDir]
    ) -> list[Artifact]:
        """Each declared plot file as an artifact saying what it is (``DVC plot: confusion,
        actual vs predicted``); a plot folder lists its files. dvclive's metric histories
        (``plots/metrics``) are metrics already and are left out."""
        histories = {join(d.path, "plots", "metrics") for d in live_dirs if not d.old}
        # where the bytes are: the work tree's files are in the store; a commit's are not
        root = tree.root if isinstance(tree, _StoreTree) else None
        out: dict[str, Artifact] = {}
        for path, opts in specs:
            if "$" in path or any(_under(path, h) for h in histories):
                continue
            note = _plot_note(opts)
            parent, _, name = path.rpartition("/")
            entries = {e.name: e for e in tree.ls(parent)}
            entry = entries.get(name)
            if entry is None:
                continue  # declared, not written (yet): nothing to list
            if not entry.is_dir:
                out.setdefault(path, Artifact(path, entry.size, note, None if root is None else join(root, path)))
                continue
            for rel in _walk(tree, path)[:1000]:
                child = join(path, rel)
                if any(_under(child, h) for h in histories):
                    continue
                siblings = tree.ls(posixpath.dirname(child))
                size = next((e.size for e in siblings if e.name == posixpath.basename(child)), None)
                image = rel.lower().endswith((".png", ".jpg", ".jpeg", ".svg", ".gif"))
                where = None if root is None else join(root, child)
                out.setdefault(child, Artifact(child, size, "DVC plot image" if image else note, where))
        return [out[k] for k in sorted(out)]

    def _load_vars(self, state: _State, vars_: object, context: dict[str, object]) -> None:
        if not isinstance(vars_, list):
            return
        files: list[tuple[str, list[str] | None]] = []
        for item in vars_:
            if isinstance(item, Mapping):
                context.update({str(k): v for k, v in item.items()})
            elif isinstance(item, str):
                fpath, _, keys = item.partition(":")
                files.append((_norm(fpath), keys.split(",") if keys else None))
        if not files:
            return
        got = state.tree.read_many([f for f, _ in files if f])
        for fpath, wanted in files:
            data = got.get(fpath)
            if data is None or isinstance(data, OSError):
                continue  # DVC would fail; for a catalog the stage names just stay literal
            try:
                doc = _load_by_suffix(fpath, data)
            except ValueError as exc:
                self.problem(fpath, str(exc), state)
                continue
            if isinstance(doc, Mapping):
                context.update(
                    {str(k): v for k, v in doc.items() if wanted is None or k in wanted}
                )

    def _dataset(
        self, path: str, entry: Mapping[str, object], stage: str, source: str
    ) -> Dataset | None:
        md5 = _digest(entry)
        key = f"{path}@{md5}" if md5 else path
        if key in self.seen:
            return None
        self.seen.add(key)
        profile = {
            k: _int(entry.get(k)) for k in ("size", "nfiles") if _int(entry.get(k)) is not None
        }
        return Dataset(
            key=key,
            name=path,
            origin=self.origin(source),
            digest=md5,
            source_type="dvc",
            source=path,
            profile=json.dumps(profile, sort_keys=True) if profile else None,
            # a folder's md5 ends ".dir" (DVC's marker, not part of the hash): compare without it
            content_digest=md5.removesuffix(".dir") if md5 and md5.endswith(".dir") else None,
        )

    def _logged_model(
        self, name: str, path: str, md5: str | None, size: int | None, run_key: str,
        spec: Mapping[str, object], pointer: bool = False,
    ) -> LoggedModel | None:
        if not md5:
            return None
        tags: dict[str, str] = {"dvc.path": path}
        if spec.get("desc"):
            tags["dvc.desc"] = str(spec["desc"])
        tags.update(_label_tags(spec))
        return LoggedModel(
            key=f"dvc-model:{path}@{md5}",
            id=md5,
            name=name,
            origin=self.origin(f"{path}.dvc" if pointer else "dvc.lock"),
            experiment_key=self.exp_key,
            run_key=run_key,
            status="READY",
            model_type=str(spec.get("type") or "model"),
            tags=frozen_map(tags),
            artifacts=(Artifact(path, size),),
            artifact_uri=path,
        )

    def _read_metric_files(self, state: _State, paths: list[str]) -> dict[str, dict[str, float]]:
        if not paths:
            return {}
        got = state.tree.read_many(paths)
        out: dict[str, dict[str, float]] = {}
        for p in paths:
            data = got[p]
            if isinstance(data, FileNotFoundError):
                self.problem(p, "declared metrics file is missing", state)
                continue
            if isinstance(data, OSError):
                self.problem(p, f"cannot read metrics file: {data.strerror or data}", state)
                continue
            try:
                doc = _load_by_suffix(p, data)
            except ValueError as exc:
                self.problem(p, str(exc), state)
                continue
            flat: dict[str, float] = {}
            _flatten_metrics(doc, "", flat)
            out[p] = flat
        return out

    # -- dvclive

    def _find_live_dirs(
        self, tree: _Tree, top_metrics: list[str], top_params: list[str],
        yaml_doc: Mapping[str, object] | None,
    ) -> list[_LiveDir]:
        """dvclive dirs: the project folder itself, declared ones, top-level ones, and the ones
        nested inside those (``dvclive/fold_0``). The first is the main one."""
        found: dict[str, _LiveDir] = {}

        def check(path: str) -> _LiveDir | None:
            names = {e.name: e.is_dir for e in tree.ls(path)}
            if names.get("plots") and any(
                e.name == "metrics" and e.is_dir for e in tree.ls(join(path, "plots"))
            ):
                return _LiveDir(path)
            if "metrics.json" in names and names["metrics.json"] is False and (
                "params.yaml" in names or "report.html" in names or "report.md" in names
                or "dvc.yaml" in names or path.rsplit("/", 1)[-1].startswith("dvclive")
            ):
                return _LiveDir(path)
            return None

        def nested(live: _LiveDir) -> None:
            for e in tree.ls(live.path):
                if not e.is_dir or e.name in ("plots", "artifacts", "scalars", "images"):
                    continue
                child = join(live.path, e.name)
                if child in found:
                    continue
                sub = check(child)
                if sub is not None:
                    found[child] = sub
                    nested(sub)

        root_entries = tree.ls("")
        me = check("")
        if me is not None:
            found[""] = me
        names = {e.name: e.is_dir for e in root_entries}
        # dvclive 0.x: <dir>.json beside <dir>/
        for e in root_entries:
            if not e.is_dir and e.name.endswith(".json") and names.get(e.name[:-5]):
                d = e.name[:-5]
                listing = {x.name: x.is_dir for x in tree.ls(d)}
                if listing.get("scalars") or any(n.endswith(".tsv") for n in listing):
                    found[d] = _LiveDir(d, old=True)
        candidates: list[str] = []
        for p in top_metrics:
            if p.endswith("/metrics.json"):
                candidates.append(p[: -len("/metrics.json")])
        for p in top_params:
            if p.endswith("/params.yaml"):
                candidates.append(p[: -len("/params.yaml")])
        if yaml_doc is not None:
            for p, _ in _path_entries(yaml_doc.get("plots")):
                if p.endswith("/plots/metrics"):
                    candidates.append(p[: -len("/plots/metrics")])
        candidates.extend(
            e.name for e in root_entries
            if e.is_dir and not e.name.startswith(".") and e.name not in ("src",)
        )
        for c in dict.fromkeys(candidates):
            if c in found:
                continue
            sub = check(c)
            if sub is not None:
                found[c] = sub
        for live in list(found.values()):
            if not live.old:
                nested(live)
        # Drop dirs nested inside an old-layout dir, then order: "" first, "dvclive" next,
        # then the rest by depth and name.
        ordered = sorted(
            found.values(),
            key=lambda d: (d.path != "", d.path != "dvclive", d.path.count("/"), d.path),
        )
        return ordered

    def _read_live(
        self, state: _State, live: _LiveDir
    ) -> tuple[tuple[Metric, ...], dict[str, str], int | None, int | None]:
        tree = state.tree
        if live.old:
            summary_path = f"{live.path}.json"
            hist_roots = [join(live.path, "scalars"), live.path]
        else:
            summary_path = join(live.path, "metrics.json")
            hist_roots = [join(live.path, "plots", "metrics")]
        tsvs: dict[str, str] = {}  # metric name -> file path
        for hroot in hist_roots:
            for rel in _walk(tree, hroot, skip=("scalars",) if hroot == live.path else ()):
                if rel.endswith(".tsv"):
                    tsvs.setdefault(rel[: -len(".tsv")], join(hroot, rel))
        params_path = join(live.path, "params.yaml")
        got = tree.read_many([summary_path, params_path, *tsvs.values()])

        summary: dict[str, float] = {}
        summary_step = 0
        data = got[summary_path]
        if not isinstance(data, OSError):
            try:
                doc = _load_json(data)
            except ValueError as exc:
                self.problem(summary_path, str(exc), state)
                doc = None
            if isinstance(doc, Mapping):
                step = doc.get("step")
                if isinstance(step, int) and not isinstance(step, bool):
                    summary_step = step
                _flatten_metrics({k: v for k, v in doc.items() if k != "step"}, "", summary)

        params: dict[str, str] = {}
        data = got[params_path]
        if not isinstance(data, OSError):
            try:
                _flatten_params(_load_yaml(data), "", params)
            except ValueError as exc:
                self.problem(params_path, str(exc), state)

        metrics: list[Metric] = []
        first: int | None = None
        last: int | None = None
        for name in sorted(tsvs):
            tpath = tsvs[name]
            data = got[tpath]
            if isinstance(data, OSError):
                self.problem(tpath, f"cannot read history: {data.strerror or data}", state)
                continue
            steps, stamps_col, values = self._parse_tsv(state, tpath, data)
            if not steps:
                continue
            metric = Metric.from_columns(name, steps, stamps_col, values)  # sorts when it must
            history = metric.history
            assert history is not None  # from_columns always keeps it
            if not self.options.history:
                metric = dataclasses.replace(metric, history=None)
            metrics.append(metric)
            stamps = [t for t in history.timestamps if t >= 0]
            if stamps:
                first = min(stamps) if first is None else min(first, min(stamps))
                last = max(stamps) if last is None else max(last, max(stamps))
        have = {m.key for m in metrics}
        for key in sorted(summary):
            if key not in have:
                metrics.append(Metric.single(key, summary[key], summary_step))
        metrics.sort(key=lambda m: m.key)
        return tuple(metrics), params, first, last

    def _parse_tsv(self, state: _State, path: str, data: bytes) -> tuple[list[int], list[int], list[float]]:
        """The (steps, timestamps or -1, values) columns of a dvclive .tsv, in file order."""
        # Line by line with a plain split, not the csv module: dvclive writes numbers, never
        # quotes, and one damaged line (a stray quote, a bare CR, a huge field) must cost only
        # itself, not the file (fuzz finding F1).
        steps: list[int] = []
        stamps: list[int] = []
        values: list[float] = []
        long = long_lines()  # a line past the bound is left empty before it is split in fields
        lines = split_lines(data.decode("utf-8", "replace"), long, "\n")
        if too_long := long.problem():
            self.problem(path, too_long, state)
        if lines and not lines[-1].rstrip("\r"):
            lines.pop()
        if not lines:
            return steps, stamps, values
        header = [h.strip() for h in lines[0].rstrip("\r").split("\t")]
        width = len(header)
        step_i = header.index("step") if "step" in header else None
        ts_i = header.index("timestamp") if "timestamp" in header else None
        value_cols = [i for i, h in enumerate(header) if i not in (step_i, ts_i)]
        if not value_cols:
            self.problem(path, "no value column in the header", state)
            return steps, stamps, values
        value_i = value_cols[-1]
        bad: list[int] = []
        for lineno, line in enumerate(lines[1:], 2):
            row = line.rstrip("\r").split("\t")
            try:
                if len(row) != width:
                    if all(not c.strip() for c in row):
                        continue
                    raise ValueError("field count")
                value = float(row[value_i])
                if step_i is None:
                    step = lineno - 2
                else:
                    cell = row[step_i]
                    try:
                        step = int(cell)  # dvclive writes integers: no float round trip
                        if not -_EXACT < step < _EXACT:
                            step = int(float(cell))  # as a float would round it, as before
                    except ValueError:
                        step = int(float(cell))
                ts = -1
                if ts_i is not None and row[ts_i].strip():
                    raw_ts = float(row[ts_i])
                    ts = int(raw_ts if raw_ts >= 1e11 else raw_ts * 1000)  # seconds -> ms
                if not INT64_MIN <= step <= INT64_MAX or not INT64_MIN <= ts <= INT64_MAX:
                    raise OverflowError  # beyond int64: not a step or a time of any tool
            except (ValueError, IndexError, OverflowError):
                if all(not c.strip() for c in row):
                    continue  # a blank line (spaces only) is no row
                bad.append(lineno)
                continue
            steps.append(step)
            stamps.append(ts)
            values.append(value)
        if bad:
            shown = ", ".join(str(n) for n in bad[:5]) + (" …" if len(bad) > 5 else "")
            self.problem(path, f"{len(bad)} row(s) are not numbers (line {shown}); skipped", state)
        return steps, stamps, values

    # -- registry

    def registry(
        self,
        decl: Mapping[str, Mapping[str, object]],
        per_state: list[tuple[_State, dict[str, tuple[str, str | None]]]],
        tags: list[tuple[str, str, int | None, str | None, str]],
    ) -> Iterator[Record]:
        models = {n: s for n, s in decl.items() if str(s.get("type", "")) == "model"}
        by_sha = {s.sha: (s, mm) for s, mm in per_state if s.sha}

        # GTO: versions and stage assignments.
        versions: dict[str, dict[str, dict[str, object]]] = {}
        assignments: list[tuple[str, str, str, bool, int, int, str]] = []
        for tag, sha, when, tagger, subject in tags:
            m = _GTO_VERSION.match(tag)
            if m:
                name, version = m.group("name"), m.group("version")
                vmap = versions.setdefault(name, {})
                if m.group("dereg"):
                    vmap.pop(version, None)
                    vmap.setdefault(f"!{version}", {})
                    continue
                if f"!{version}" in vmap:
                    continue
                vmap[version] = {"sha": sha, "when": when, "user": tagger, "tag": tag,
                                 "message": subject}
                continue
            s = _GTO_STAGE.match(tag)
            if s:
                assignments.append(
                    (s.group("name"), s.group("stage"), sha, bool(s.group("unassign")),
                     int(s.group("n") or 0), when or 0, tag)
                )
        for name in versions:
            versions[name] = {k: v for k, v in versions[name].items() if not k.startswith("!")}
        # stage holder: the assignment with the highest number, then the newest, wins
        holders: dict[tuple[str, str], str | None] = {}
        ordered = sorted(assignments, key=lambda a: (a[4], a[5], a[6]))
        for name, stage, sha, unassign, _n, _w, _t in ordered:
            holders[(name, stage)] = None if unassign else sha

        names = sorted(set(models) | set(versions) | {a[0] for a in assignments})
        for name in names:
            spec = models.get(name, {})
            out_versions: list[ModelVersion] = []
            tags_common = _model_tags(spec)

            def lm_at(sha: str | None, name: str = name) -> str | None:
                if sha is None or sha not in by_sha:
                    return None
                found = by_sha[sha][1].get(name)
                return found[1] if found else None

            vmap = versions.get(name, {})
            sha_version: dict[str, str] = {}
            if vmap or any(a[0] == name for a in assignments):
                for version, info in vmap.items():
                    sha = str(info["sha"])
                    sha_version.setdefault(sha, version)
                    out_versions.append(
                        ModelVersion(
                            model=name, version=version, origin=self.origin(""),
                            status="READY",
                            description=str(info["message"]) or None,
                            created=info["when"],  # type: ignore[arg-type]
                            user=info["user"],  # type: ignore[arg-type]
                            source=f"git:{sha}",
                            run_key=f"dvc:{sha}",
                            logged_model_key=lm_at(sha),
                            tags=frozen_map({"gto.tag": str(info["tag"])}),
                        )
                    )
                # a stage on a commit with no version tag: the commit is a version of its own
                for (mname, _stage), holder in sorted(holders.items()):
                    if mname != name or holder is None or holder in sha_version:
                        continue
                    sha = holder
                    version = _fallback_version(name, sha, by_sha)
                    sha_version[sha] = version
                    state = by_sha.get(sha, (None, {}))[0]
                    out_versions.append(
                        ModelVersion(
                            model=name, version=version, origin=self.origin(""), status="READY",
                            created=state.time if state else None,
                            user=state.user if state else None,
                            source=f"git:{sha}", run_key=f"dvc:{sha}", logged_model_key=lm_at(sha),
                        )
                    )
            else:
                seen_md5: set[str] = set()
                for state, mm in per_state:
                    if state.is_exp or name not in mm:
                        continue
                    md5, lm_key = mm[name]
                    if md5 in seen_md5:
                        continue
                    seen_md5.add(md5)
                    out_versions.append(
                        ModelVersion(
                            model=name, version=_short_digest(md5), origin=self.origin("dvc.lock"),
                            status="READY", created=state.time, user=state.user,
                            source=str(spec.get("path") or "") or None,
                            run_key=state.key, logged_model_key=lm_key,
                        )
                    )
            # stages -> aliases
            stages_by_version: dict[str, list[tuple[int, int, str]]] = {}
            aliases: dict[str, str] = {}
            for (mname, stage), holder in holders.items():
                if mname != name or holder is None or holder not in sha_version:
                    continue
                version = sha_version[holder]
                aliases[stage] = version
                order = max(
                    (a[4], a[5]) for a in assignments if a[0] == name and a[1] == stage
                )
                stages_by_version.setdefault(version, []).append((order[0], order[1], stage))
            # the stage history GTO keeps: every assignment tag, in GTO's order, with its time
            for mname, stage, sha, unassign, _n, when, tag in ordered:
                if mname != name:
                    continue
                holder_v = () if unassign else (
                    sha_version.get(sha) or _fallback_version(name, sha, by_sha),
                )
                for kind in ("alias", "stage"):
                    yield AliasMove(
                        model=name, name=stage, versions=holder_v, time=when or None,
                        origin=self.origin(""), kind=kind, source=f"GTO tag {tag}",
                    )
            yield RegisteredModel(
                name=name,
                origin=self.origin("dvc.yaml" if spec else ""),
                description=str(spec["desc"]) if spec.get("desc") else None,
                tags=frozen_map(tags_common),
                aliases=frozen_map(aliases),
            )
            for mv in sorted(out_versions, key=lambda v: (v.created or 0, v.version)):
                held = sorted(stages_by_version.get(mv.version, []))
                if held:
                    mv = dataclasses.replace(
                        mv, stage=held[-1][2], aliases=tuple(sorted(s for _, _, s in held))
                    )
                yield mv


def _plot_note(opts: Mapping[str, object]) -> str:
    """``DVC plot: confusion, actual vs predicted, "Confusion Matrix"``: a plot's declaration in words."""
    parts = []
    template = opts.get("template")
    if isinstance(template, str) and template:
        parts.append(template)
    x, y = opts.get("x"), opts.get("y")
    if isinstance(y, (str, list, dict)) and y and isinstance(x, (str, dict)) and x:
        parts.append(f"{_param_value(y)} vs {_param_value(x)}")
    elif isinstance(x, str) and x:
        parts.append(f"over {x}")
    title = opts.get("title")
    if isinstance(title, str) and title:
        parts.append(f'"{title}"')
    return "DVC plot" + (": " + ", ".join(parts) if parts else "")


def _run_order(stages: list[Stage]) -> tuple[Stage, ...]:
    """Stages in the order the pipeline runs them: a stage after every stage it reads from, ties
    (and cycles, which DVC refuses) by name."""
    by_name = {s.name: s for s in stages}
    done: list[Stage] = []
    placed: set[str] = set()
    pending = sorted(by_name)
    while pending:
        ready = [n for n in pending if all(u in placed or u not in by_name for u in by_name[n].upstream)]
        chosen = ready[0] if ready else pending[0]
        done.append(by_name[chosen])
        placed.add(chosen)
        pending.remove(chosen)
    return tuple(done)


def _with_live_metrics(
    stages: list[Stage],
    stage_defs: Mapping[str, Mapping[str, object]],
    live: _LiveDir,
    metrics: tuple[Metric, ...],
) -> list[Stage]:
    """The main dvclive dir's metrics also on the stage that wrote it (the stage whose outs,
    metrics or plots lie in it), without their histories: the run holds those."""
    def writes_live(stage: Stage) -> bool:
        body = stage_defs.get(stage.name, {})
        paths = [a.path for a in stage.artifacts]
        for key in ("outs", "metrics", "plots"):
            paths.extend(p for p, _ in _path_entries(body.get(key)))
        return any(_live_owns(live, p) or (live.path and _under(live.path, p)) for p in paths)

    writers = [s for s in stages if writes_live(s) and s.tags.get("dvc.stale") != "true"]
    if len(writers) != 1:
        return stages  # none or several: the run's metrics stay the run's
    (writer,) = writers
    have = {m.key for m in writer.metrics}
    extra = tuple(dataclasses.replace(m, history=None) for m in metrics if m.key not in have)
    merged = tuple(sorted((*writer.metrics, *extra), key=lambda m: m.key))
    return [dataclasses.replace(s, metrics=merged) if s is writer else s for s in stages]


def _fallback_version(
    name: str, sha: str, by_sha: Mapping[str, tuple[_State, dict[str, tuple[str, str | None]]]]
) -> str:
    found = by_sha.get(sha, (None, {}))[1].get(name)
    return _short_digest(found[0]) if found else sha[:7]


def _model_tags(spec: Mapping[str, object]) -> dict[str, str]:
    tags: dict[str, str] = {}
    if spec.get("path"):
        tags["dvc.path"] = _norm(spec["path"])
    if spec.get("type"):
        tags["dvc.type"] = str(spec["type"])
    tags.update(_label_tags(spec))
    return tags


def _label_tags(spec: Mapping[str, object]) -> dict[str, str]:
    """An `artifacts:` entry's labels and meta as tags (`dvc.labels`, `meta.<key>`)."""
    tags: dict[str, str] = {}
    labels = spec.get("labels")
    if isinstance(labels, list) and labels:
        tags["dvc.labels"] = ",".join(str(x) for x in labels)
    meta = spec.get("meta")
    if isinstance(meta, Mapping):
        flat: dict[str, str] = {}
        _flatten_params(meta, "", flat)
        tags.update({f"meta.{k}": v for k, v in flat.items()})
    return tags


def _live_owns(live: _LiveDir, path: str) -> bool:
    if live.old:
        return path == f"{live.path}.json" or _under(path, live.path)
    return _under(path, live.path) if live.path else path in ("metrics.json", "params.yaml")


_EXACT = 2**53  # integers a float holds exactly


def _walk(tree: _Tree, base: str, skip: tuple[str, ...] = ()) -> list[str]:
    out: list[str] = []
    stack = [""]
    while stack:
        rel = stack.pop()
        for e in tree.ls(join(base, rel)):
            child = join(rel, e.name)
            if e.is_dir:
                if not (rel == "" and e.name in skip):
                    stack.append(child)
            else:
                out.append(child)
    return sorted(out)


def _lock_entries(items: object) -> list[tuple[str, Mapping[str, object]]]:
    out: list[tuple[str, Mapping[str, object]]] = []
    if not isinstance(items, list):
        return out
    for item in items:
        if isinstance(item, Mapping) and item.get("path"):
            out.append((_norm(item["path"]), item))
    return out


def _is_work_file(tree: _Tree, path: str) -> bool:
    """Whether the work tree holds ``path`` as a file (an output may not be checked out)."""
    parent, _, name = path.rpartition("/")
    try:
        return any(e.name == name and not e.is_dir for e in tree.ls(parent))
    except OSError:
        return False


def _digest(entry: Mapping[str, object]) -> str | None:
    for k in ("md5", "etag", "checksum"):
        v = entry.get(k)
        if isinstance(v, str) and v:
            return v
        if isinstance(v, int) and not isinstance(v, bool):  # an all-digit md5 left unquoted
            return str(v)
    return None


def _yaml_type(value: object) -> str:
    """What a YAML value is, in a Problem's words."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _lock_params(params: object) -> dict[str, str]:
    out: dict[str, str] = {}
    if not isinstance(params, Mapping):
        return out
    for pfile, values in params.items():
        flat: dict[str, str] = {}
        _flatten_params(values, "", flat)
        prefix = "" if str(pfile) == "params.yaml" else f"{pfile}:"
        out.update({f"{prefix}{k}": v for k, v in flat.items()})
    return out


def _metrics_from_files(files: list[tuple[str, dict[str, float]]]) -> tuple[Metric, ...]:
    out: dict[str, Metric] = {}
    for path, flat in files:
        for key, value in flat.items():
            name = key if key not in out else f"{path}:{key}"
            out[name] = Metric.single(name, value)
    return tuple(out[k] for k in sorted(out))


def _sorted_refs(refs: list[DatasetRef]) -> tuple[DatasetRef, ...]:
    unique = {(r.dataset_key, r.context or ""): r for r in refs}
    return tuple(unique[k] for k in sorted(unique))
