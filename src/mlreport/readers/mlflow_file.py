"""MLflow file store (``mlruns/``), every era from 1.x to 3.x, without the ``mlflow`` package.

Layout and quirks: FORMATS.md §1.2–1.5. One directory per experiment (named by its id), one per
run inside it; params, tags and metrics are one file per key (a key with ``/`` is nested
directories); the registry lives in ``models/``; deleted experiments move to ``.trash/``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..model import (
    Artifact,
    Dataset,
    DatasetRef,
    Experiment,
    LoggedModel,
    Metric,
    ModelVersion,
    Problem,
    Record,
    RegisteredModel,
    Run,
    Skipped,
    Trace,
    frozen_map,
)
from ..sanitize import clean_text
from ..stores import Store, join
from . import ReadOptions
from ._bounded import load_json
from ._common import ReadContext, lfs_reason
from ._mlflow import (
    LOG_MODEL_HISTORY_TAG,
    LOGGED_MODEL_STATUS,
    NOTE_TAG,
    PARENT_TAG,
    RUN_NAME_TAG,
    SOURCE_NAME_TAG,
    TRACE_NAME_TAG,
    TRACE_RUN_METADATA,
    ModelLinks,
    as_int,
    as_str,
    bad_int,
    git_info,
    hidden,
    iso_ms,
    load_yaml_mapping,
    mlmodel_signature,
    parse_flat_yaml,
    parse_log_model_history,
    parse_status,
    resolve_artifact_dir,
    run_user,
    shown,
    split_tags,
)
from ._mlflow_metrics import MetricLines, parse_usual_files
from ._readahead import ReadAhead
from ._units import dumps, fast_replace, loads, trust

log = logging.getLogger("mlreport.readers.mlflow_file")

# Metric files larger than this are read in pieces (parsed as they are read, never held whole).
_STREAMED_FILE = 8 << 20

# What a run folder holds that the reader lists but does not read.
_LISTED_ONLY = frozenset({"artifacts"})

# Runs whose files a remote store is asked to fetch ahead of the one being parsed.
_PREFETCH_RUNS = 64

# Names inside an experiment directory that are not runs (FORMATS.md §1.2).
_RESERVED = frozenset({"tags", "datasets", "traces", "models", "meta.yaml"})


class _Skip(Exception):
    """One record cannot be read; carries the path and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


@dataclass
class _Ctx(ReadContext):
    """The readers' shared context (origins, problems) and what this reader keeps while reading."""

    options: ReadOptions = field(default_factory=ReadOptions)
    links: ModelLinks = field(default_factory=ModelLinks)
    deleted_runs: list[str] = field(default_factory=list)
    # set while a run is read when it reads something outside its own folder (artifacts kept
    # elsewhere): such a run's result cannot be keyed by its folder, so it is not cached
    outside_unit: bool = False


def _is_experiment_dir_name(name: str) -> bool:
    return name.isdigit()


class MlflowFileReader:
    """Reads an MLflow file store directory (the one holding ``0/``, ``models/``, ``.trash/``)."""

    name = "mlflow"
    label = "MLflow file store"

    def detect(self, store: Store, path: str) -> bool:
        entries = store.ls(path)
        names = {e.name for e in entries if e.is_dir}
        for name in sorted(n for n in names if _is_experiment_dir_name(n)):
            if store.is_file(join(path, name, "meta.yaml")):
                return True
            # an experiment dir that lost its meta.yaml still holds run dirs with one
            for child in store.ls(join(path, name))[:5]:
                if child.is_dir and store.is_file(join(path, name, child.name, "meta.yaml")):
                    return True
        if "models" in names:
            for model in store.ls(join(path, "models"))[:5]:
                if model.is_dir and store.is_file(join(path, "models", model.name, "meta.yaml")):
                    text = _read_text_or_none(store, join(path, "models", model.name, "meta.yaml"))
                    if text and "creation_timestamp" in text:
                        return True
        return False

    def read(self, store: Store, path: str, options: ReadOptions) -> Iterator[Record]:
        yield from self._read(store, path, options)
        # Running MLflow from inside mlruns/ writes a second store at mlruns/mlruns/: read it too,
        # its experiment keys prefixed by the folder so that its ids ("0") cannot meet ours.
        nested = join(path, "mlruns")
        if store.is_dir(nested) and self.detect(store, nested):
            for rec in self.read(store, nested, options):
                yield _prefixed(rec, "mlruns/")

    def _read(self, store: Store, path: str, options: ReadOptions) -> Iterator[Record]:
        ctx = _Ctx(store, path, self.name, options=options)
        entries = store.ls(path)
        exp_dirs = [join(path, e.name) for e in entries if e.is_dir and _is_experiment_dir_name(e.name)]
        if any(e.name == ".trash" and e.is_dir for e in entries):
            trash = join(path, ".trash")
            trashed = [join(trash, e.name) for e in store.ls(trash) if e.is_dir and e.name.isdigit()]
        else:
            trashed = []

        # Runs first gathered per experiment so the progress bar knows the total.
        plans: list[tuple[str, bool, list[str]]] = []
        for exp_dir in exp_dirs:
            plans.append((exp_dir, False, _run_dirs(store, exp_dir)))
        if options.include_deleted:
            for exp_dir in trashed:
                plans.append((exp_dir, True, _run_dirs(store, exp_dir)))
        hidden_experiments = [f"exp:{t.rsplit('/', 1)[-1]}" for t in trashed] if not options.include_deleted else []
        if not options.include_deleted:
            for t in trashed:  # listed only to be counted: "N deleted runs not shown"
                ctx.deleted_runs.extend(r.rsplit("/", 1)[-1] for r in _run_dirs(store, t))
        total = sum(len(p[2]) for p in plans)
        done = 0
        options.progress("runs", 0, total)

        active_ids = {p.rsplit("/", 1)[-1] for p in exp_dirs}
        for exp_dir, in_trash, run_dirs in plans:
            try:
                experiment = _read_experiment(ctx, exp_dir, in_trash)
            except Exception as exc:  # noqa: BLE001 - one experiment's fault, never the store's
                ctx.problem(exp_dir, f"experiment skipped: {_describe(exc)}")
                yield from ctx.problems
                ctx.problems.clear()
                continue
            if experiment.deleted and not options.include_deleted:
                hidden_experiments.append(experiment.key)
                ctx.deleted_runs.extend(r.rsplit("/", 1)[-1] for r in run_dirs)
                done += len(run_dirs)
                continue
            if in_trash and experiment.id in active_ids:
                # The same id in mlruns/ and .trash/ (a store copied over another): two experiments.
                experiment = replace(experiment, key=f"exp:.trash/{experiment.id}")
                ctx.problem(
                    exp_dir,
                    f"experiment id {experiment.id} is also in the store outside .trash/; "
                    "the deleted one is listed separately",
                )
            yield experiment
            try:
                datasets = _read_datasets(ctx, exp_dir)
            except Exception as exc:  # noqa: BLE001
                ctx.problem(join(exp_dir, "datasets"), f"datasets skipped: {_describe(exc)}")
                datasets = {}
            seen: set[str] = set()
            for ds in datasets.values():
                if ds.key not in seen:
                    seen.add(ds.key)
                    yield ds
            try:
                yield from list(_read_logged_models(ctx, exp_dir, experiment.key))
            except Exception as exc:  # noqa: BLE001
                ctx.problem(join(exp_dir, "models"), f"logged models skipped: {_describe(exc)}")
            yield from _read_traces(ctx, exp_dir, experiment.key)

            def on_run(_i: int) -> None:
                nonlocal done
                done += 1
                if done % 100 == 0 or done == total:
                    options.progress("runs", done, total)

            yield from _Runs(ctx, experiment, datasets).read(run_dirs, on_run)
            yield from ctx.problems
            ctx.problems.clear()
        if store.prefetches:
            store.prefetch(join(path, "models", rel) for rel, _size in store.walk_files(join(path, "models")))
        try:
            yield from list(_read_registry(ctx, join(path, "models")))
        except Exception as exc:  # noqa: BLE001
            ctx.problem(join(path, "models"), f"model registry skipped: {_describe(exc)}")
        yield from ctx.problems
        yield from hidden(ctx.origin(path), hidden_experiments, ctx.deleted_runs)


def _time(ctx: _Ctx, path: str, meta: Mapping[str, object], field: str) -> int | None:
    """An epoch-ms field; a value that is not an int64 (1e400, a 5,000-digit number) is a Problem."""
    value = meta.get(field)
    if bad_int(value):
        ctx.problem(path, f"{field} {shown(value)} is not an int64 time; shown as unknown")
    return as_int(value)


def _prefixed(rec: Record, prefix: str) -> Record:
    if isinstance(rec, Experiment):
        return replace(rec, key=f"exp:{prefix}{rec.key[4:]}")
    if isinstance(rec, (Run, LoggedModel, Trace)) and rec.experiment_key:
        return replace(rec, experiment_key=f"exp:{prefix}{rec.experiment_key[4:]}")
    if isinstance(rec, Skipped):
        keys = tuple(f"exp:{prefix}{k[4:]}" if k.startswith("exp:") else k for k in rec.keys)
        return replace(rec, keys=keys)
    return rec


#: An experiment with at least this many runs to read is read on a process pool (when the crawl
#: has more than one job): below it, starting the workers costs more than they save.
POOL_MIN_RUNS = 256


@dataclass(frozen=True)
class _UnitInput:
    """What a worker needs to read a run of one experiment (inherited on fork, else pickled)."""

    store: Store
    root: str
    options: ReadOptions
    experiment: Experiment
    datasets: Mapping[str, Dataset]


def _read_unit(inp: _UnitInput, run_dir: str) -> tuple[bool, bytes]:
    """One run folder, read in a crawl worker: whether it read outside its folder, and its
    records (cleaned as the crawl cleans them, so the parent only loads them), Problems and
    deleted ids as bytes (what the unit cache keeps: the parent does not pickle them again)."""
    from ..crawl import clean_record  # the crawl imports this module

    ctx = _Ctx(inp.store, inp.root, MlflowFileReader.name, options=inp.options)
    records = _read_run_guarded(ctx, run_dir, inp.experiment, inp.datasets)
    unit = clean_record((tuple(records), tuple(ctx.problems), tuple(ctx.deleted_runs)))
    return ctx.outside_unit, dumps(unit)


class _Runs:
    """The runs of one experiment, in order: from the build's unit cache where a run folder's
    files did not change since the last build (issue 7: one new run in a 10,000-run store
    re-reads one run), the others read here or, when there are many, on the crawl's process
    pool (decision 12: results in run order, the same whatever the number of workers).

    A run's cache key is its folder's digest from the build's walk, the experiment record and
    datasets the run refers to, and the read options; a run that reads outside its folder
    (artifacts kept elsewhere) is not kept."""

    def __init__(self, ctx: _Ctx, experiment: Experiment, datasets: Mapping[str, Dataset]) -> None:
        self.ctx = ctx
        self.experiment = experiment
        self.datasets = datasets
        local = ctx.store.local_root()
        self.local = os.path.realpath(str(local)) if local is not None else None
        self.cache = ctx.options.units if local is not None else None
        self.context = b""
        if self.cache is not None:
            self.context = self.cache.key(
                "mlflow-file run",
                ctx.store.url,
                ctx.root,
                ctx.options.include_deleted,
                ctx.options.history,
                ctx.store.max_file_size,
                experiment,
                sorted(datasets.items()),
            )

    def _key(self, run_dir: str) -> bytes | None:
        if self.cache is None or self.local is None:
            return None
        # a run folder is a real folder inside the store (store listings never follow a link
        # out, and a linked run folder holds a link: no digest), so no realpath per run
        folder = f"{self.local}/{run_dir}" if run_dir else self.local
        digest = self.cache.digest(folder, resolved=not os.path.islink(folder))
        return None if digest is None else self.cache.key(self.context, run_dir, digest)

    def read(self, run_dirs: list[str], on_run: Callable[[int], None]) -> Iterator[Record]:
        ctx, cache = self.ctx, self.cache
        keys = [self._key(d) for d in run_dirs]
        present = cache.present(keys) if cache is not None else set()
        to_read = [d for d, k in zip(run_dirs, keys, strict=True) if k is None or k not in present]
        pooled = self._pool(to_read)  # forks its workers now, before any read-ahead thread runs
        ahead = None
        if self.local is not None and not ctx.store.prefetches:
            # on a cold page cache, threads read the next runs' files ahead of whoever parses
            # them: this process, or the pool's workers (a few runs ahead of what it yields)
            ahead = ReadAhead(Path(self.local), to_read)
        pending = set(to_read)
        read_i = 0
        try:
            for i, (run_dir, key) in enumerate(zip(run_dirs, keys, strict=True)):
                if ctx.store.prefetches and i % _PREFETCH_RUNS == 0:
                    # keep the next one or two windows of runs in flight while this one is parsed
                    window = run_dirs[i + _PREFETCH_RUNS if i else 0 : i + 2 * _PREFETCH_RUNS]
                    ctx.store.prefetch(p for run in window for p in _run_files(ctx.store, run))
                hit = cache.get(key) if cache is not None and key is not None and run_dir not in pending else None
                if hit is not None:
                    yield from self._replay(hit)
                elif pooled is not None and run_dir in pending:
                    if ahead is not None:
                        ahead.at(read_i)
                        read_i += 1
                    outside, data = next(pooled)
                    unit = loads(data)
                    if cache is not None and key is not None and not outside:
                        cache.put_clean(key, data, unit)
                    else:
                        trust(unit)  # cleaned in the worker: the crawl does not clean it again
                    yield from self._replay(unit)
                else:
                    if ahead is not None and run_dir in pending:
                        ahead.at(read_i)
                        read_i += 1
                    yield from self._read_here(run_dir, key)
                on_run(i)
        finally:
            if ahead is not None:
                ahead.close()

    def _pool(self, to_read: list[str]) -> Iterator[tuple[bool, bytes]] | None:
        ctx = self.ctx
        jobs = ctx.options.jobs
        if jobs <= 1 or len(to_read) < POOL_MIN_RUNS or self.local is None or ctx.store.prefetches:
            return None
        from ..executor import Executor

        inp = _UnitInput(
            ctx.store,
            ctx.root,
            replace(ctx.options, units=None, progress=_no_progress),
            self.experiment,
            dict(self.datasets),
        )
        return Executor(jobs=jobs).map(_read_unit, to_read, context=inp)

    def _read_here(self, run_dir: str, key: bytes | None) -> list[Record]:
        ctx = self.ctx
        p0, d0 = len(ctx.problems), len(ctx.deleted_runs)
        ctx.outside_unit = False
        records = _read_run_guarded(ctx, run_dir, self.experiment, self.datasets)
        if self.cache is None or key is None or ctx.outside_unit:
            return records
        unit = (tuple(records), tuple(ctx.problems[p0:]), tuple(ctx.deleted_runs[d0:]))
        del ctx.problems[p0:], ctx.deleted_runs[d0:]
        return self._replay(self.cache.put(key, unit))

    def _replay(self, unit: tuple[tuple[Record, ...], tuple[Problem, ...], tuple[str, ...]]) -> list[Record]:
        records, problems, deleted = unit
        ctx = self.ctx
        for rec in records:  # the side effect of reading a run: the links it registered
            if isinstance(rec, LoggedModel):
                ctx.links.logged_model(rec.key, rec.run_key, rec.name)
        ctx.problems.extend(problems)
        ctx.deleted_runs.extend(deleted)
        return list(records)


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


def _read_run_guarded(ctx: _Ctx, run_dir: str, experiment: Experiment, datasets: Mapping[str, Dataset]) -> list[Record]:
    store = ctx.store
    # the run folder read in one pass where the store can (a local one), answering as the store
    # would: every file of the run but its artifacts, which are only listed (issue 12)
    ctx.store = store.folder(run_dir, _LISTED_ONLY, _STREAMED_FILE)
    try:
        return _read_run(ctx, run_dir, experiment, datasets)
    except _Skip as skip:
        ctx.problem(skip.path, skip.reason)
    except Exception as exc:  # noqa: BLE001 - one run's fault, never the store's
        ctx.problem(run_dir, f"run skipped: {_describe(exc)}")
    finally:
        ctx.store = store
    return []


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _read_text_or_none(store: Store, path: str) -> str | None:
    try:
        return store.read_text(path)
    except (OSError, UnicodeDecodeError):
        return None


def _run_files(store: Store, run_dir: str) -> Iterator[str]:
    """The files :func:`_read_run` reads (for :meth:`Store.prefetch`; artifacts are only listed)."""
    yield join(run_dir, "meta.yaml")
    for sub in ("tags", "params", "metrics"):
        base = join(run_dir, sub)
        for rel, _size in store.walk_files(base):
            yield join(base, rel)
    for entry in store.ls(join(run_dir, "inputs")):
        yield join(run_dir, "inputs", entry.name, "meta.yaml")


def _run_dirs(store: Store, exp_dir: str) -> list[str]:
    # f-strings, not join(): listed names hold no "/" (a tenth of a run's cost was join's strips)
    prefix = f"{exp_dir}/" if exp_dir else ""
    return [prefix + e.name for e in store.ls(exp_dir) if e.is_dir and e.name not in _RESERVED]


def _read_meta(ctx: _Ctx, path: str) -> dict[str, object]:
    try:
        text = ctx.store.read_text(path)
    except FileNotFoundError:
        raise _Skip(path, "missing meta.yaml") from None
    except UnicodeDecodeError:
        raise _Skip(path, "not UTF-8 text") from None
    except OSError as exc:
        raise _Skip(path, exc.strerror or str(exc)) from None
    flat = parse_flat_yaml(text)
    if flat is not None:
        return flat
    try:
        return load_yaml_mapping(text)
    except ValueError as exc:  # a pointer fails here: the usual file pays no check
        raise _Skip(path, lfs_reason(text) or str(exc)) from None


def _read_key_files(ctx: _Ctx, base: str, what: str) -> dict[str, str]:
    """``params/``, ``tags/``: one file per key, nested directories for keys with ``/``."""
    tree = ctx.store.read_tree(base)
    try:  # the usual folder: every file read, every one UTF-8
        return {rel: data.decode("utf-8") for rel, data in tree.items()}  # type: ignore[union-attr]
    except (AttributeError, UnicodeDecodeError):
        pass
    out: dict[str, str] = {}
    for rel, data in tree.items():
        full = f"{base}/{rel}"
        if isinstance(data, OSError):
            ctx.problem(full, f"cannot read {what}: {data.strerror or data}")
            continue
        try:
            out[rel] = data.decode("utf-8")
        except UnicodeDecodeError:
            ctx.problem(full, f"{what} value is not UTF-8 text")
    return out


def _read_metrics(ctx: _Ctx, base: str) -> tuple[Metric, ...]:
    files = list(ctx.store.walk_files(base))
    if not files:
        return ()
    small = [rel for rel, size in files if size is None or size <= _STREAMED_FILE]
    paths = [f"{base}/{rel}" for rel in small]  # walked names hold no "/" at either end
    contents = ctx.store.read_many(paths) if small else {}
    read: dict[str, bytes] = {}
    for rel, path in zip(small, paths, strict=True):
        data = contents[path]
        if isinstance(data, OSError):
            ctx.problem(path, f"cannot read metric: {data.strerror or data}")
        else:
            read[rel] = data
    metrics = dict(parse_usual_files(read))  # most runs: every file on the fast path at once
    for rel, size in files:
        if rel in metrics or (rel not in read and size is not None and size <= _STREAMED_FILE):
            continue
        full = join(base, rel)
        lines = MetricLines(rel, size)
        try:
            lines.feed_bytes((read[rel],) if rel in read else ctx.store.read_chunks(full))
        except OSError as exc:
            ctx.problem(full, f"cannot read metric: {exc.strerror or exc}")
            continue
        if (reason := lines.problem()) is not None:
            ctx.problem(full, reason)
        if (note := lines.downsampled()) is not None:
            ctx.problem(full, note)
        metric = lines.metric()
        if metric is not None:
            metrics[rel] = metric
    return tuple(metrics[rel] for rel, _size in files if rel in metrics)


def _read_experiment(ctx: _Ctx, exp_dir: str, in_trash: bool) -> Experiment:
    exp_id = exp_dir.rsplit("/", 1)[-1]
    meta_path = join(exp_dir, "meta.yaml")
    try:
        meta = _read_meta(ctx, meta_path)
    except _Skip as skip:
        # The runs are still worth showing: keep them under the bare id, and say so.
        ctx.problem(skip.path, f"{skip.reason}; its runs are listed under experiment {exp_id}")
        return Experiment(
            key=f"exp:{exp_id}",
            id=exp_id,
            name=exp_id,
            origin=ctx.origin(exp_dir),
            deleted=in_trash,
        )
    tags = _read_key_files(ctx, join(exp_dir, "tags"), "tag")
    inline = meta.get("tags")
    if isinstance(inline, dict):  # some eras inline experiment tags
        for k, v in inline.items():
            tags.setdefault(str(k), str(v))
    name = as_str(meta.get("name")) or exp_id
    deleted = in_trash or str(meta.get("lifecycle_stage", "active")) == "deleted"
    description = tags.pop(NOTE_TAG, None)
    user_tags, system_tags = split_tags(tags)
    return Experiment(
        key=f"exp:{exp_id}",
        id=exp_id,
        name=name,
        origin=ctx.origin(meta_path),
        deleted=deleted,
        created=_time(ctx, meta_path, meta, "creation_time"),
        updated=_time(ctx, meta_path, meta, "last_update_time"),
        description=description,
        tags=frozen_map(user_tags),
        system_tags=frozen_map(system_tags),
    )


def _read_datasets(ctx: _Ctx, exp_dir: str) -> dict[str, Dataset]:
    """Dataset records of an experiment by their directory id (what run inputs point at)."""
    base = join(exp_dir, "datasets")
    out: dict[str, Dataset] = {}
    for entry in ctx.store.ls(base):
        if not entry.is_dir:
            continue
        meta_path = join(base, entry.name, "meta.yaml")
        try:
            meta = _read_meta(ctx, meta_path)
        except _Skip as skip:
            ctx.problem(skip.path, skip.reason)
            continue
        name = as_str(meta.get("name"))
        if name is None:
            ctx.problem(meta_path, "missing field 'name'")
            continue
        digest = as_str(meta.get("digest"))
        out[entry.name] = Dataset(
            key=dataset_key(name, digest),
            name=name,
            origin=ctx.origin(meta_path),
            digest=digest,
            source_type=as_str(meta.get("source_type")),
            source=_dataset_source(as_str(meta.get("source"))),
            schema=as_str(meta.get("schema")),
            profile=as_str(meta.get("profile")),
        )
    return out


def dataset_key(name: str, digest: str | None) -> str:
    return f"{name}@{digest}" if digest else name


def _dataset_source(raw: str | None) -> str | None:
    """MLflow stores the source as JSON (``{"uri": …}``, ``{"url": …}``, ``{"path": …}``)."""
    if not raw:
        return None
    try:
        # bounded: JSON nested 100,000 deep raised RecursionError here, which skipped every
        # dataset of the experiment (issue 11); text that is not JSON is the source itself
        data = load_json(raw)
    except ValueError:
        return raw
    if isinstance(data, dict):
        for key in ("uri", "url", "path", "table_name", "repo_id", "dataset_source"):
            if data.get(key):
                return str(data[key])
    return raw


def _read_artifacts(ctx: _Ctx, artifact_dir: str | None) -> tuple[Artifact, ...]:
    if artifact_dir is None:
        return ()
    return tuple(Artifact(rel, size, None, f"{artifact_dir}/{rel}") for rel, size in ctx.store.walk_files(artifact_dir))


def _signature(ctx: _Ctx, artifacts: tuple[Artifact, ...]) -> tuple[Mapping[str, str], str | None]:
    """The signature and input example a model's MLmodel file declares; a bad file is a Problem."""
    signature, example, problem = mlmodel_signature(ctx.store, artifacts)
    if problem is not None:
        ctx.problem(*problem)
    return signature, example


def _artifact_dir(ctx: _Ctx, uri: str | None, own_dir: str, anchor: str) -> str | None:
    # The common case first: the store was copied whole, artifacts sit in the record's dir.
    own = f"{own_dir}/artifacts"
    if uri and uri.rstrip("/\\").endswith(f"{anchor}/artifacts") and ctx.store.is_dir(own):
        return own
    parent = ctx.root.rsplit("/", 1)[0] if "/" in ctx.root else ""
    return resolve_artifact_dir(ctx.store, uri, [ctx.root, parent] if ctx.root else [""], anchor)


def _read_run(ctx: _Ctx, run_dir: str, experiment: Experiment, datasets: Mapping[str, Dataset]) -> list[Record]:
    meta_path = f"{run_dir}/meta.yaml"
    meta = _read_meta(ctx, meta_path)
    raw_id = meta.get("run_id", meta.get("run_uuid"))
    # An id YAML read as a number (an unquoted all-digit id) lost its zeros: the folder has it.
    run_id = raw_id if isinstance(raw_id, str) and raw_id else None
    if run_id is None and raw_id is not None:
        run_id = run_dir.rsplit("/", 1)[-1]
    if run_id is None:
        raise _Skip(meta_path, "missing field 'run_id'")
    deleted = str(meta.get("lifecycle_stage", "active")) == "deleted" or experiment.deleted
    if deleted and not ctx.options.include_deleted:
        ctx.deleted_runs.append(run_id)
        return []
    tags = _read_key_files(ctx, f"{run_dir}/tags", "tag")
    params = _read_key_files(ctx, f"{run_dir}/params", "param")
    metrics = _read_metrics(ctx, f"{run_dir}/metrics")

    inputs = []
    for input_entry in ctx.store.ls(f"{run_dir}/inputs"):
        input_path = f"{run_dir}/inputs/{input_entry.name}/meta.yaml"
        try:
            imeta = _read_meta(ctx, input_path)
        except _Skip as skip:
            ctx.problem(skip.path, skip.reason)
            continue
        if str(imeta.get("source_type", "DATASET")).upper() != "DATASET":
            continue
        ds = datasets.get(str(imeta.get("source_id")))
        if ds is None:
            ctx.problem(input_path, f"dataset {imeta.get('source_id')} is not in the experiment")
            continue
        raw_tags = imeta.get("tags")
        itags = {str(k): str(v) for k, v in raw_tags.items()} if isinstance(raw_tags, dict) else {}
        context = itags.pop("mlflow.data.context", None)
        inputs.append(DatasetRef(ds.key, context, frozen_map(itags)))
    outputs = tuple(e.name for e in ctx.store.ls(f"{run_dir}/outputs") if e.is_dir)

    artifact_uri = as_str(meta.get("artifact_uri"))
    artifact_dir = _artifact_dir(ctx, artifact_uri, run_dir, run_id)
    if artifact_dir is not None and artifact_dir != f"{run_dir}/artifacts":
        ctx.outside_unit = True
    artifacts = _read_artifacts(ctx, artifact_dir)

    records: list[Record] = []
    # MLflow 2.x logs models inside the run's artifacts and lists them in a tag.
    model_keys = list(outputs)
    for entry in parse_log_model_history(tags.get(LOG_MODEL_HISTORY_TAG)):
        artifact_path = str(entry.get("artifact_path") or "model")
        key = str(entry.get("model_uuid") or f"{run_id}/{artifact_path}")
        if key in model_keys:
            continue
        model_keys.append(key)
        ctx.links.logged_model(key, run_id, artifact_path)
        prefix = artifact_path.rstrip("/") + "/"
        model_files = tuple(replace(a, path=a.path[len(prefix) :]) for a in artifacts if a.path.startswith(prefix))
        signature, example = _signature(ctx, model_files)
        records.append(
            LoggedModel(
                key=key,
                id=key,
                name=artifact_path,
                origin=ctx.origin(join(run_dir, "tags", LOG_MODEL_HISTORY_TAG)),
                experiment_key=experiment.key,
                run_key=run_id,
                status="READY",
                model_type=_flavors(entry),
                created=iso_ms(entry.get("utc_time_created")),  # MLmodel's own time, UTC
                artifacts=model_files,
                artifact_uri=join(artifact_uri or "", artifact_path) if artifact_uri else None,
                signature=signature,
                input_example=example,
            )
        )

    name = as_str(meta.get("run_name")) or tags.get(RUN_NAME_TAG) or as_str(meta.get("name")) or run_id
    user_tags, system_tags = split_tags(tags)
    records.insert(
        0,
        Run(
            key=run_id,
            id=run_id,
            name=name,
            origin=ctx.origin(meta_path),
            experiment_key=experiment.key,
            status=parse_status(meta.get("status")),
            start_time=_time(ctx, meta_path, meta, "start_time"),
            end_time=_time(ctx, meta_path, meta, "end_time"),
            user=run_user(as_str(meta.get("user_id")), tags),
            description=tags.get(NOTE_TAG),
            params=frozen_map(params),
            tags=frozen_map(user_tags),
            system_tags=frozen_map(system_tags),
            metrics=metrics,
            parent_key=tags.get(PARENT_TAG),
            inputs=tuple(sorted(inputs, key=lambda r: (r.dataset_key, r.context or ""))),
            output_model_keys=tuple(model_keys),
            artifacts=artifacts,
            artifact_uri=artifact_uri,
            git=git_info(tags),
            source_name=tags.get(SOURCE_NAME_TAG),
            deleted=deleted,
        ),
    )
    return records


def _read_logged_models(ctx: _Ctx, exp_dir: str, experiment_key: str) -> Iterator[LoggedModel]:
    base = join(exp_dir, "models")
    for entry in ctx.store.ls(base):
        if not entry.is_dir:
            continue
        model_dir = join(base, entry.name)
        meta_path = join(model_dir, "meta.yaml")
        try:
            meta = _read_meta(ctx, meta_path)
        except _Skip as skip:
            ctx.problem(skip.path, skip.reason)
            continue
        model_id = as_str(meta.get("model_id")) or entry.name
        if str(meta.get("lifecycle_stage", "active")) == "deleted" and not ctx.options.include_deleted:
            continue
        status = meta.get("status")
        artifact_uri = as_str(meta.get("artifact_location"))
        # LoggedModel metric lines carry the run id after the step: `<ts> <value> <step> <run>`.
        metrics = _read_metrics(ctx, join(model_dir, "metrics"))
        model_files = _read_artifacts(ctx, _artifact_dir(ctx, artifact_uri, model_dir, model_id))
        signature, example = _signature(ctx, model_files)
        user_tags, system_tags = split_tags(_read_key_files(ctx, join(model_dir, "tags"), "tag"))
        yield LoggedModel(
            key=model_id,
            id=model_id,
            name=as_str(meta.get("name")) or model_id,
            origin=ctx.origin(meta_path),
            experiment_key=experiment_key,
            run_key=_remember(ctx, model_id, as_str(meta.get("source_run_id"))),
            status=LOGGED_MODEL_STATUS.get(status, str(status)) if isinstance(status, int) else as_str(status),
            created=_time(ctx, meta_path, meta, "creation_timestamp"),
            updated=_time(ctx, meta_path, meta, "last_updated_timestamp"),
            model_type=as_str(meta.get("model_type")),
            params=frozen_map(_read_key_files(ctx, join(model_dir, "params"), "param")),
            tags=frozen_map(user_tags),
            system_tags=frozen_map(system_tags),
            metrics=metrics,
            artifacts=model_files,
            artifact_uri=artifact_uri,
            signature=signature,
            input_example=example,
        )


def _remember(ctx: _Ctx, model_id: str, run_id: str | None) -> str | None:
    ctx.links.logged_model(model_id, run_id)
    return run_id


def _read_traces(ctx: _Ctx, exp_dir: str, experiment_key: str) -> Iterator[Trace]:
    """``<exp>/traces/<trace id>/``: trace_info.yaml, request_metadata/, tags/ (FORMATS.md §1.2)."""
    base = join(exp_dir, "traces")
    for entry in ctx.store.ls(base):
        if not entry.is_dir:
            continue
        trace_dir = join(base, entry.name)
        info_path = join(trace_dir, "trace_info.yaml")
        try:
            info = _read_meta(ctx, info_path)
            metadata = _read_key_files(ctx, join(trace_dir, "request_metadata"), "trace metadata")
            tags = _read_key_files(ctx, join(trace_dir, "tags"), "trace tag")
        except _Skip as skip:
            ctx.problem(skip.path, skip.reason)
            continue
        except Exception as exc:  # noqa: BLE001 - one trace's fault
            ctx.problem(trace_dir, f"trace skipped: {_describe(exc)}")
            continue
        trace_id = as_str(info.get("trace_id")) or as_str(info.get("request_id")) or entry.name
        yield Trace(
            key=trace_id,
            id=trace_id,
            origin=ctx.origin(info_path),
            experiment_key=experiment_key,
            name=tags.get(TRACE_NAME_TAG),
            status=as_str(info.get("state")) or as_str(info.get("status")),
            request_time=iso_ms(info["request_time"]) if "request_time" in info else as_int(info.get("timestamp_ms")),
            duration_ms=as_int(info.get("execution_duration_ms", info.get("execution_time_ms"))),
            request_preview=as_str(info.get("request_preview")),
            response_preview=as_str(info.get("response_preview")),
            run_key=metadata.get(TRACE_RUN_METADATA),
            metadata=frozen_map(metadata),
            tags=frozen_map(tags),
        )


def _read_registry(ctx: _Ctx, base: str) -> Iterator[Record]:
    """Each registered model folder of ``models/``; from the build's unit cache where the
    folder did not change (a 10,000-version registry was a sixth of a crawl after one new
    run). What a version takes from the runs (its logged model, filled in by
    :class:`ModelLinks`) is not kept: it is looked up again as each model is yielded."""
    local = ctx.store.local_root()
    cache = ctx.options.units if local is not None else None
    model_dirs = [join(base, e.name) for e in ctx.store.ls(base) if e.is_dir]
    keys: list[bytes | None] = [None] * len(model_dirs)
    if cache is not None and local is not None:
        context = cache.key(
            "mlflow-file registered model",
            ctx.store.url,
            ctx.root,
            ctx.store.max_file_size,
            ctx.options.include_deleted,
        )
        real = os.path.realpath(str(local))
        for i, model_dir in enumerate(model_dirs):
            folder = f"{real}/{model_dir}"
            digest = cache.digest(folder, resolved=not os.path.islink(folder))
            keys[i] = None if digest is None else cache.key(context, model_dir, digest)
    present = cache.present(keys, counted=False) if cache is not None else set()
    to_read = [d for d, k in zip(model_dirs, keys, strict=True) if k is None or k not in present]
    pooled = _registry_pool(ctx, to_read)
    pending = set(to_read)
    for model_dir, key in zip(model_dirs, keys, strict=True):
        unit = None
        if model_dir not in pending and cache is not None and key is not None:
            unit = cache.get(key, counted=False)
        if unit is None:
            if pooled is not None and model_dir in pending:
                unit = loads(next(pooled))
            else:
                unit = _registered_unit(ctx, model_dir)
            if cache is not None and key is not None:
                unit = cache.put_if_clean(key, unit) or unit
        records, problems = unit
        for rec in records:
            if isinstance(rec, ModelVersion):
                rec = _linked(ctx, rec)
            yield rec
        yield from problems
        yield from ctx.problems
        ctx.problems.clear()


def _registered_unit(ctx: _Ctx, model_dir: str) -> tuple[tuple[Record, ...], tuple[Problem, ...]]:
    """One registered model folder's records and Problems, as read (not cleaned: the crawl
    cleans them, and keeps a name that cleaning changes distinct)."""
    p0 = len(ctx.problems)
    store = ctx.store
    ctx.store = store.folder(model_dir, frozenset(), _STREAMED_FILE)  # as a run folder is
    try:
        records = tuple(_read_registered_model(ctx, model_dir, model_dir.rsplit("/", 1)[-1]))
    except Exception as exc:  # noqa: BLE001 - one model's fault, never the registry's
        records = (Problem(ctx.origin(model_dir), f"registered model skipped: {_describe(exc)}"),)
    finally:
        ctx.store = store
    unit = (records, tuple(ctx.problems[p0:]))
    del ctx.problems[p0:]
    return unit


@dataclass(frozen=True)
class _RegistryInput:
    """What a worker needs to read a registered model folder (inherited on fork, else pickled)."""

    store: Store
    root: str
    options: ReadOptions


def _read_model_unit(inp: _RegistryInput, model_dir: str) -> bytes:
    ctx = _Ctx(inp.store, inp.root, MlflowFileReader.name, options=inp.options)
    return dumps(_registered_unit(ctx, model_dir))


def _registry_pool(ctx: _Ctx, model_dirs: list[str]) -> Iterator[bytes] | None:
    """The registered models' folders read on the crawl's process pool, in order, when there
    are several and they hold many versions between them (a 10,000-version registry was a
    sixth of the reader, read in the parent while the workers waited); None: read them here."""
    jobs = ctx.options.jobs
    if jobs <= 1 or len(model_dirs) < 2 or ctx.store.prefetches or ctx.store.local_root() is None:
        return None
    versions = 0
    for model_dir in model_dirs:
        versions += sum(1 for e in ctx.store.ls(model_dir) if e.is_dir and e.name.startswith("version-"))
        if versions >= POOL_MIN_RUNS:
            break
    else:
        return None
    from ..executor import Executor

    inp = _RegistryInput(ctx.store, ctx.root, replace(ctx.options, units=None, progress=_no_progress))
    return Executor(jobs=jobs).map(_read_model_unit, model_dirs, context=inp, chunksize=1)


def _linked(ctx: _Ctx, mv: ModelVersion) -> ModelVersion:
    """A version as read (``run_key``/``logged_model_key`` as its file says) with what the
    runs read before tell about it filled in (:meth:`ModelLinks.version`)."""
    run_key, model_key = ctx.links.version(mv.run_key, mv.logged_model_key, mv.source)
    if run_key == mv.run_key and model_key == mv.logged_model_key:
        return mv
    linked: ModelVersion = fast_replace(mv, run_key=run_key, logged_model_key=model_key)
    return linked


def _read_registered_model(ctx: _Ctx, model_dir: str, dir_name: str) -> Iterator[Record]:
    meta_path = join(model_dir, "meta.yaml")
    try:
        meta = _read_meta(ctx, meta_path)
    except _Skip as skip:
        yield Problem(ctx.origin(skip.path), skip.reason)
        return
    raw_name = meta.get("name")
    name = as_str(raw_name) or dir_name
    if raw_name is not None and not isinstance(raw_name, str):
        # MLflow writes the name as text: a number or a list here is damage, and the folder is
        # the model's name as MLflow finds it (issue 11: a wrongly typed value is never silent)
        yield Problem(ctx.origin(meta_path), f"registered model name is {_yaml_kind(raw_name)}, not text; "
                      f"the folder's name '{dir_name}' is used")
        name = dir_name
    if name != dir_name and clean_text(name) != name and clean_text(dir_name) == dir_name:
        # a name a page cannot show as written ("\u0000", "\u0000nul"): the folder is the
        # store's own name for the model (MLflow names it so and finds the model by it), as
        # when the field is missing (fuzz seed 3 cases 90926, 91143)
        reason = f"registered model name {ascii(name)[:40]} is not printable; the folder's name '{dir_name}' is used"
        yield Problem(ctx.origin(meta_path), reason)
        name = dir_name
    aliases: dict[str, str] = {}
    inline_aliases = meta.get("aliases")
    if isinstance(inline_aliases, dict):
        aliases.update({str(k): str(v) for k, v in inline_aliases.items()})
    aliases.update({k: v.strip() for k, v in _read_key_files(ctx, join(model_dir, "aliases"), "alias").items()})
    user_tags, system_tags = split_tags(_read_key_files(ctx, join(model_dir, "tags"), "tag"))
    yield RegisteredModel(
        name=name,
        origin=ctx.origin(meta_path),
        description=as_str(meta.get("description")),
        created=_time(ctx, meta_path, meta, "creation_timestamp"),
        updated=_time(ctx, meta_path, meta, "last_updated_timestamp"),
        tags=frozen_map(user_tags),
        system_tags=frozen_map(system_tags),
        aliases=frozen_map(aliases),
    )
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    for ventry in ctx.store.ls(model_dir):
        if not (ventry.is_dir and ventry.name.startswith("version-")):
            continue
        vpath = f"{model_dir}/{ventry.name}/meta.yaml"
        try:
            vmeta = _read_meta(ctx, vpath)
        except _Skip as skip:
            yield Problem(ctx.origin(skip.path), skip.reason)
            continue
        stage = as_str(vmeta.get("current_stage"))
        if stage == "Deleted_Internal":
            continue
        raw_version = vmeta.get("version")
        version = as_str(raw_version) or ventry.name[len("version-") :]
        if raw_version is not None and (isinstance(raw_version, bool) or not isinstance(raw_version, (int, str))):
            # MLflow writes an int; the folder (version-<n>) names it too (issue 11, as the name)
            version = ventry.name[len("version-") :]
            yield Problem(ctx.origin(vpath), f"version is {_yaml_kind(raw_version)}, not a number; "
                          f"the folder's version '{version}' is used")
        source = as_str(vmeta.get("source"))
        # as the file says: _linked fills in what the runs tell (not kept in the unit cache)
        run_key = as_str(vmeta.get("run_id"))
        model_key = as_str(vmeta.get("model_id")) or logged_model_from_source(source)
        vtags, vsystem = split_tags(_read_key_files(ctx, f"{model_dir}/{ventry.name}/tags", "tag"))
        yield ModelVersion(
            model=name,
            version=version,
            origin=ctx.origin(vpath),
            stage=None if stage in (None, "None") else stage,
            aliases=tuple(sorted(by_version.get(version, []))),
            status=as_str(vmeta.get("status")),
            description=as_str(vmeta.get("description")),
            created=_time(ctx, vpath, vmeta, "creation_timestamp"),
            updated=_time(ctx, vpath, vmeta, "last_updated_timestamp"),
            user=as_str(vmeta.get("user_id")),
            source=source,
            run_key=run_key,
            logged_model_key=model_key,
            tags=frozen_map(vtags),
            system_tags=frozen_map(vsystem),
        )


def _flavors(entry: dict[str, object]) -> str | None:
    flavors = entry.get("flavors")
    return ", ".join(sorted(str(f) for f in flavors)) or None if isinstance(flavors, dict) else None


def _yaml_kind(value: object) -> str:
    """What a YAML value is, in a Problem's words."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    return "a mapping" if isinstance(value, dict) else f"a {type(value).__name__}"


def logged_model_from_source(source: str | None) -> str | None:
    """``models:/m-…`` names a LoggedModel (MLflow 3); other sources name run artifacts."""
    if source and source.startswith("models:/m-"):
        return source[len("models:/") :].split("/", 1)[0]
    return None
