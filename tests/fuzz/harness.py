"""The fuzz harness: mutated fixture stores read through the crawl in worker subprocesses.

Each worker copies the fixture stores it needs into a private folder once, reads each pristine
copy (its *baseline*), then for every case: applies the mutation, reads the store through the
crawl entry point (``read_catalog``, as ``mlreport build`` does), turns the catalog into JSON
(``to_jsonable``) and, when the catalog differs from any seen before, renders the site's
pages (``render_site``) and encodes every page as UTF-8 the way the page writer does; then it
restores the file. The parent gives each case a time limit (the worker is killed and restarted
past it: a **hang**), and each worker runs under an address-space limit (``RLIMIT_AS``) and has
its peak RSS reset before every case (``/proc/self/clear_refs``), so one case's memory is its
own (past ``memory_mb`` above the worker's start: a **memory** blowup).

Outcomes of a case:

- ``ok``: the crawl returned a catalog and everything after it worked;
- ``refused``: the crawl raised an ``MlreportError`` (one line; e.g. "not a store of a known
  format") — not a crash; its records count as lost if the reference keeps them;
- ``crash``: any other exception out of the crawl, ``to_jsonable``, ``render_site`` or the
  UTF-8 encoding of a page (what the CLI reports as "internal error");
- ``hang`` / ``memory`` / ``died``: past the time limit, past the memory limit (or a
  ``MemoryError``), the worker process ended;
- ``stopped``: an exception escaped a reader and was caught by the crawl's last-resort guard
  around the whole reader (``mlreport.crawl.guarded``): not a crash, but the reader's own
  fault boundary missed it, and the rest of that store was not read (its records count as
  lost when the reference has them);
- ``unclean``: the catalog holds a string that ``mlreport.sanitize.is_clean`` rejects
  (a lone surrogate or a control character reached the catalog);
- ``bloat``: a rendered page holds a string of more than ``MAX_PAGE_CHARS`` characters (a long
  value copied whole into a page instead of cut);
- ``escape``: the crawl opened a file that resolves outside the store, or a special file.

**Records lost** (the measure, and why it is sound): the records of a catalog are the keys of
its experiments, runs, model versions, registered and logged models and datasets; each run's
param, tag, metric and artifact keys; and each metric history's (step, value) points, as a
multiset. The mutation comes with a *reference* (``mutate.py``): the same store with the damaged
part removed instead of damaged — the file deleted, the damaged lines deleted, the file cut where
the damage starts, the row deleted or the table emptied, by kind of file. A record is **lost**
when the reference's catalog holds it and the mutated store's catalog does not. A reader that
confines damage to the damaged part loses nothing by this measure; one that drops a whole
database for one bad cell, a whole metric file for one bad line, or a run's history for a bad
metadata file is caught. The reference is never more damaged than the mutation, so a reader is
never blamed for a record the damage could legitimately take (it can still be too lenient:
records after a damaged TFRecord frame are not demanded).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import mutate

ROOT = mutate.ROOT
CRASHY = ("crash", "hang", "memory", "died")
#: A page (or any one string of it) longer than this copies a value whole: a **bloat** finding.
#: Fixture pages are 10-200 KB; a value is cut for pages (mlreport.sanitize.cut_text).
MAX_PAGE_CHARS = 1_000_000
#: A case that uses little CPU (blocked, or starved on a loaded machine) is a hang only after
#: this many times the time limit of wall-clock time.
WALL_FACTOR = 6.0
#: A worker's set-up (imports, store copies, baselines) may take this long on a loaded machine.
STARTUP_SECONDS = 300.0
_MAIN = threading.main_thread()
# The harness's own idea of clean text (not the code under test's): no surrogate code point, no
# control character but tab, line feed and carriage return.
# The crawl's guard around a whole reader (mlreport.crawl.guarded) words its Problem so.
_STOPPED = re.compile(r"the [^:]* reader stopped \([^)]*\)(: )?")
_UNCLEAN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


# ---------------------------------------------------------------------------------------------
# records


def records(doc: dict[str, Any] | None) -> Counter[tuple[object, ...]]:
    """The record multiset of a catalog's JSON view (None: a refused store, no records)."""
    out: Counter[tuple[object, ...]] = Counter()
    if doc is None:
        return out
    for section in ("experiments", "logged_models", "datasets"):
        for item in doc.get(section, ()):
            out[(section, item.get("key"))] += 1
    for item in doc.get("models", ()):
        out[("model", item.get("name"))] += 1
    for item in doc.get("versions", ()):
        out[("version", item.get("model"), item.get("version"))] += 1
    for run in doc.get("runs", ()):
        key = run.get("key")
        out[("run", key)] += 1
        for section in ("params", "tags"):
            for k in run.get(section) or {}:
                out[(section, key, k)] += 1
        for a in run.get("artifacts") or ():
            out[("artifact", key, a.get("path") if isinstance(a, dict) else str(a))] += 1
        for m in run.get("metrics") or ():
            out[("metric", key, m.get("key"))] += 1
            hist = m.get("history") or {}
            for step, value in zip(hist.get("steps") or (), hist.get("values") or (), strict=False):
                out[("point", key, m.get("key"), step, repr(value))] += 1
    return out


def lost(reference: Counter[tuple[object, ...]], mutated: Counter[tuple[object, ...]]) -> Counter[tuple[object, ...]]:
    return reference - mutated


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for k, v in item.items():
                if isinstance(k, str):
                    yield k
                stack.append(v)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


# ---------------------------------------------------------------------------------------------
# the worker (a subprocess: ``python -m tests.fuzz.harness --worker SEED MEMORY_MB RENDER``)


class _Watch:
    """An audit hook that notes files opened outside the store and special files, while armed."""

    def __init__(self) -> None:
        self.root: str | None = None
        self.escapes: list[str] = []
        self.fifos: set[str] = set()
        sys.addaudithook(self)

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        root = self.root
        if root is None or event not in ("open", "sqlite3.connect") or threading.current_thread() is not _MAIN:
            return
        path = args[0] if args else None
        if isinstance(path, int) or path is None:
            return
        path = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
        if path.startswith("file:"):
            path = path[5:].split("?", 1)[0]
        if not path or path == ":memory:" or not os.path.isabs(path):
            return
        if os.path.commonpath([path, root]) != root:
            return  # the library's own files (templates, plotly): not the store's
        real = os.path.realpath(path)
        if os.path.commonpath([real, root]) != root:
            self.escapes.append(f"opened {os.path.relpath(path, root)} -> {real}")
            return
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return
        if stat.S_ISFIFO(mode):
            if path not in self.fifos:  # noted once, released at every open
                self.fifos.add(path)
                self.escapes.append(f"opened the FIFO {os.path.relpath(path, root)}")
            # release it, so the reader sees an end of file instead of blocking for ever
            threading.Thread(target=_release_fifo, args=(path,), daemon=True).start()
        elif not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            self.escapes.append(f"opened the special file {os.path.relpath(path, root)}")


def _release_fifo(path: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY)
        os.close(fd)
    except OSError:
        pass


def _vm_kb(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


class Worker:
    def __init__(self, seed: int, memory_mb: int, render: str, stores: tuple[str, ...] = ()) -> None:
        import logging

        logging.disable(logging.CRITICAL)
        from mlreport import catalog as catalog_module
        from mlreport.config import Config, SourceConfig
        from mlreport.errors import MlreportError

        self.catalog_module = catalog_module
        self.Config, self.SourceConfig, self.MlreportError = Config, SourceConfig, MlreportError
        try:
            import functools

            from mlreport.render import base as base_module
            from mlreport.render import pages as pages_module
            from mlreport.render.pages import render_site

            self.render_site: Any = render_site
            self.markdown_pages: Any = getattr(pages_module, "markdown_pages", None)
            if hasattr(base_module, "make_environment"):
                # The templates are not input: compile them once per worker, not once a case
                # (two thirds of a render of a fixture store is Jinja compiling templates).
                base_module.make_environment = functools.lru_cache(maxsize=4)(base_module.make_environment)
        except ImportError:  # the render API moved: the JSON view is still checked
            self.render_site = None
            self.markdown_pages = None
        self.seed = seed
        self.render = render
        self.corpus = mutate.load_corpus(stores)
        self.tmp = Path(
            tempfile.mkdtemp(prefix="mlreport-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        )
        self.copies: dict[str, Path] = {}
        self.baselines: dict[str, tuple[Counter[tuple[object, ...]], str]] = {}
        self.rendered: set[str] = set()
        self.watch = _Watch()
        self.memory_kb = memory_mb * 1024
        # Address space: what the worker holds now, plus the per-case allowance (and slack for
        # the libraries the first render imports).
        limit = (_vm_kb("VmSize") + memory_mb * 1024 + 512 * 1024) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        self.can_reset_peak = self._reset_peak()

    def _reset_peak(self) -> bool:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            return True
        except OSError:
            return False

    def copy_of(self, store: mutate.Store) -> Path:
        if store.label not in self.copies:
            dest = self.tmp / "stores" / store.format / store.name
            shutil.copytree(store.path, dest, symlinks=True)
            self.copies[store.label] = dest
        return self.copies[store.label]

    def read(self, root: Path) -> tuple[dict[str, Any] | None, Any, str | None]:
        """(JSON view or None, catalog or None, refusal message or None); other errors propagate."""
        config = self.Config(sources=(self.SourceConfig(str(root)),), include_deleted=True)
        try:
            cat = self.catalog_module.read_catalog(config)
        except self.MlreportError as exc:
            return None, None, str(exc)
        doc = self.catalog_module.to_jsonable(cat)
        return doc, cat, None

    def baseline(self, store: mutate.Store) -> tuple[Counter[tuple[object, ...]], str]:
        if store.label not in self.baselines:
            try:
                doc, _, _ = self.read(self.copy_of(store))
            except Exception:  # a reader that fails on the pristine store: every case shows it
                doc = None
            self.baselines[store.label] = (records(doc), _digest(doc))
        return self.baselines[store.label]

    def run_case(self, index: int, case: mutate.Case | None = None) -> dict[str, Any]:
        case = case or mutate.plan_case(self.corpus, self.seed, index)
        root = self.copy_of(case.store)
        base, base_digest = self.baseline(case.store)
        original = (case.store.path / case.rel).read_bytes()
        result: dict[str, Any] = {"index": index, "store": case.store.label, "file": case.rel, "op": case.op}
        result["detail"] = case.detail
        self.watch.escapes = []
        self.watch.fifos = set()
        peak_ok = self.can_reset_peak and self._reset_peak()
        start_kb = _vm_kb("VmHWM")
        t0 = time.perf_counter()
        stage = "crawl"
        try:
            mutate.apply_edit(root, case.edit, self.tmp / "outside")
            self.watch.root = str(root)
            try:
                doc, cat, refusal = self.read(root)
            finally:
                self.watch.root = None
            result["outcome"] = "refused" if refusal is not None else "ok"
            if refusal is not None:
                result["error"] = [refusal[:300]]
            stage = "json"
            digest = _digest(doc)
            bad = [s for s in _strings(doc) if _UNCLEAN.search(s)] if doc is not None else []
            if not bad:  # with unclean strings, that is the finding (and this would fail on it)
                json.dumps(doc, ensure_ascii=False, allow_nan=False).encode("utf-8")
            stage = "render"
            if cat is not None and self.render_site is not None and self.render != "none":
                if digest != base_digest and digest not in self.rendered:
                    config = self.Config(sources=(self.SourceConfig(str(root)),))
                    try:
                        pages = self.render_site(cat, config)
                        if not isinstance(pages, dict) and self.markdown_pages is not None:
                            _texts(self.markdown_pages(pages))  # the Markdown builders' page writer
                        longest = 0
                        for text in _texts(pages):  # every page's title, body, search entries
                            text.encode("utf-8")
                            longest = max(longest, len(text))
                        if longest > MAX_PAGE_CHARS:
                            result["bloat"] = longest
                    except UnicodeEncodeError:
                        if not bad:
                            raise
                    if self.render == "changed":
                        self.rendered.add(digest)
            stage = "records"
            got = records(doc)
            missing = base - got
            if missing:
                restore(root, case, original, self.tmp)
                mutate.apply_edit(root, case.reference, self.tmp / "outside")
                ref_doc, _, _ = self.read(root)
                gone = lost(records(ref_doc), got)
                if gone:
                    result["lost"] = sum(gone.values())
                    result["lost_sample"] = [list(map(str, k)) for k in sorted(gone, key=repr)[:5]]
            stopped = [p["reason"] for p in (doc or {}).get("problems", ()) if _STOPPED.search(p.get("reason", ""))]
            if stopped:  # an exception out of a reader, caught by the crawl's last-resort guard
                result["outcome"] = "stopped"
                result["error"] = stopped[:1]
                result["where"] = _STOPPED.sub("", stopped[0]).split(":")[0][:80]
            if result.get("bloat"):
                result["outcome"] = "bloat"
                result["error"] = [f"a page string of {result['bloat']:,} characters"]
            if bad:
                result["outcome"] = "unclean"
                result["error"] = [f"{len(bad)} unclean strings, e.g. {bad[0][:80]!r}"]
            if self.watch.escapes:
                result["outcome"] = "escape"
                result["error"] = self.watch.escapes[:3]
        except MemoryError:
            result["outcome"] = "memory"
            result["error"] = [f"MemoryError in {stage}"]
        except Exception as exc:  # the point: anything escaping is a finding
            result["outcome"] = "crash"
            result["stage"] = stage
            tb = traceback.extract_tb(exc.__traceback__)
            frames = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in tb if "/mlreport/" in f.filename]
            result["error"] = [*frames[-3:], f"{type(exc).__name__}: {str(exc)[:200]}"]
            result["where"] = frames[-1] if frames else ""
        finally:
            self.watch.root = None
            restore(root, case, original, self.tmp)
        result["seconds"] = round(time.perf_counter() - t0, 3)
        if peak_ok:
            grown_kb = _vm_kb("VmHWM") - start_kb
            result["peak_mb"] = round(grown_kb / 1024, 1)
            if grown_kb > self.memory_kb and result.get("outcome") not in CRASHY:
                result["outcome"] = "memory"
                result["error"] = [f"peak RSS grew by {grown_kb // 1024} MB"]
        return result


def restore(root: Path, case: mutate.Case, original: bytes, tmp: Path) -> None:
    mutate.restore(root, case.rel, original)
    for suffix in ("-journal", "-wal", "-shm"):  # SQLite must not have left any (it is opened read-only)
        extra = root / (case.rel + suffix)
        if extra.exists():
            extra.unlink()


def _texts(value: Any) -> list[str]:
    """Every string in a rendered page set: dict values, list items, dataclass fields."""
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif hasattr(item, "__dataclass_fields__"):
            stack.extend(getattr(item, name) for name in item.__dataclass_fields__)
    return out


def _digest(doc: dict[str, Any] | None) -> str:
    text = json.dumps(doc, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def worker_main(seed: int, memory_mb: int, render: str, stores: tuple[str, ...] = ()) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a worker ends
    try:  # and a worker does not outlive it (PR_SET_PDEATHSIG)
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    worker = Worker(seed, memory_mb, render, stores)
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing a reader prints may garble the protocol
    out.write("ready\n")
    out.flush()
    try:
        for line in sys.stdin:
            index = int(line)
            case = mutate.plan_case(worker.corpus, seed, index)
            worker.baseline(case.store)  # set-up is not the case's time: copy and baseline first
            out.write("go\n")
            out.flush()
            result = worker.run_case(index, case)
            out.write(json.dumps(result) + "\n")
            out.flush()
    finally:
        shutil.rmtree(worker.tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# the parent: a pool of workers with a time limit per case


@dataclass
class Options:
    seed: int = 0
    cases: int = 2000
    start: int = 0
    workers: int = 2
    timeout: float = 10.0
    memory_mb: int = 1024
    render: str = "changed"  # "all", "changed" (skip catalogs already rendered), "none"
    only: tuple[int, ...] = ()
    stores: tuple[str, ...] = ()  # the corpus: these fixture stores only (all when empty)


@dataclass
class _Proc:
    proc: subprocess.Popen[bytes]
    index: int | None = None
    since: float = 0.0
    cpu: float = 0.0
    ready: bool = False
    started: bool = False
    buffer: bytes = b""


def _spawn(options: Options) -> _Proc:
    env = dict(os.environ)
    # MLREPORT_FUZZ_SRC: another checkout's src/ (to measure an older commit on today's corpus)
    src = os.environ.get("MLREPORT_FUZZ_SRC") or str(ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONHASHSEED"] = "0"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fuzz.harness",
            "--worker",
            str(options.seed),
            str(options.memory_mb),
            options.render,
            ",".join(options.stores),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    return _Proc(proc, since=time.monotonic())


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(options: Options, progress: Any = None) -> list[dict[str, Any]]:
    """Run the cases of ``options``; results sorted by case number."""
    todo = list(options.only) or list(range(options.start, options.start + options.cases))
    todo.reverse()
    previous_sigterm: Any = None
    if threading.current_thread() is _MAIN:  # SIGTERM ends the run through the finally below
        # restored on the way out: in-process callers (the CI slice under pytest) fork pools later,
        # and a worker that inherits a sys.exit handler can hang in Pool.terminate
        previous_sigterm = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    procs = [_spawn(options) for _ in range(max(1, min(options.workers, len(todo))))]
    results: dict[int, dict[str, Any]] = {}

    def finish(i: int, p: _Proc, result: dict[str, Any], restart: bool) -> None:
        assert p.index is not None
        results[p.index] = result
        p.index = None
        if progress:
            progress(len(results), result)
        if restart:
            p.proc.kill()
            p.proc.wait()
            procs[i] = _spawn(options)

    try:
        while todo or any(p.index is not None for p in procs):
            for p in procs:
                if p.index is None and todo and p.ready:
                    p.index = todo.pop()
                    p.started = False
                    p.since = time.monotonic()
                    assert p.proc.stdin is not None
                    p.proc.stdin.write(f"{p.index}\n".encode())
                    p.proc.stdin.flush()
            ready, _, _ = select.select([p.proc.stdout for p in procs], [], [], 0.25)
            now = time.monotonic()
            for i, p in enumerate(procs):
                assert p.proc.stdout is not None
                if p.proc.stdout in ready:
                    chunk = os.read(p.proc.stdout.fileno(), 1 << 20)
                    if not chunk:
                        why = f"worker exited ({p.proc.wait()})"
                        if p.index is None:
                            raise RuntimeError(f"a fuzz worker failed outside a case: {why}")
                        finish(i, p, _failed(options, p.index, "died", why), restart=True)
                        continue
                    p.buffer += chunk
                while b"\n" in p.buffer:
                    line, _, p.buffer = p.buffer.partition(b"\n")
                    if line == b"ready":
                        p.ready = True
                    elif line == b"go":  # the case is set up (store copied, baseline read)
                        p.started, p.since, p.cpu = True, now, _cpu_seconds(p.proc.pid)
                    elif p.index is not None:
                        finish(i, p, json.loads(line), restart=False)
                if p.index is None:
                    if not p.ready and now - p.since > STARTUP_SECONDS:
                        raise RuntimeError("a fuzz worker did not start; run one with --worker to see why")
                    continue
                limit = options.timeout if p.started else STARTUP_SECONDS
                if now - p.since > limit and (
                    not p.started or _cpu_seconds(p.proc.pid) - p.cpu > limit or now - p.since > limit * WALL_FACTOR
                ):
                    # CPU time, not wall time: on a loaded machine a slow case is not a hang.
                    # A case blocked without using CPU (a FIFO, a lock) is caught by the wall limit.
                    cpu = _cpu_seconds(p.proc.pid) - p.cpu
                    why = f"no answer after {now - p.since:.0f} s ({cpu:.1f} s of CPU)"
                    finish(i, p, _failed(options, p.index, "hang", why), restart=True)
    finally:
        for p in procs:
            p.proc.kill()
            p.proc.wait()
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)
    return [results[i] for i in sorted(results)]


def _failed(options: Options, index: int, outcome: str, why: str) -> dict[str, Any]:
    case = mutate.plan_case(mutate.load_corpus(options.stores), options.seed, index)
    return {
        "index": index,
        "store": case.store.label,
        "file": case.rel,
        "op": case.op,
        "detail": case.detail,
        "outcome": outcome,
        "error": [why],
    }


_CORPUS: tuple[mutate.Store, ...] | None = None


def _corpus() -> tuple[mutate.Store, ...]:
    global _CORPUS
    if _CORPUS is None:
        _CORPUS = mutate.load_corpus()
    return _CORPUS


# ---------------------------------------------------------------------------------------------
# summaries


@dataclass
class Summary:
    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    lost_cases: int = 0
    lost_records: int = 0
    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["outcomes"] = dict(sorted(self.outcomes.items()))
        d["findings"] = {k: {"count": len(v), "first": v[0]} for k, v in sorted(self.findings.items())}
        return d


def signature(result: dict[str, Any]) -> str | None:
    """What makes two findings the same: outcome, format, and where it failed (or the op)."""
    outcome = result.get("outcome")
    fmt = result["store"].split("/")[0]
    if outcome == "crash":
        err = result.get("error") or [""]
        return f"crash {fmt} {result.get('where', '')} {err[-1].split(':')[0]}"
    if outcome == "stopped":
        return f"stopped {fmt} {result.get('where', '')}"
    if outcome in ("hang", "memory", "died", "escape", "bloat"):
        return f"{outcome} {fmt} {result['op']}"
    if outcome == "unclean":
        return f"unclean {fmt} {result['op']}"
    if result.get("lost"):
        return f"lost {result['store']} {result['file'].split('/')[-1]} {result['op']}"
    return None


def summarize(results: Iterable[dict[str, Any]]) -> Summary:
    s = Summary()
    for r in results:
        s.cases += 1
        s.outcomes[r.get("outcome", "?")] += 1
        if r.get("lost"):
            s.lost_cases += 1
            s.lost_records += r["lost"]
        sig = signature(r)
        if sig:
            s.findings.setdefault(sig, []).append(r)
    return s


def write_repro(seed: int, index: int, dest: Path, stores: tuple[str, ...] = ()) -> mutate.Case:
    """Write case ``index``'s mutated store (and its reference) under ``dest``.

    ``stores`` is the corpus the case number refers to (the CI slice names its stores).
    """
    case = mutate.plan_case(mutate.load_corpus(stores) if stores else _corpus(), seed, index)
    for name, edit in (("mutated", case.edit), ("reference", case.reference)):
        root = dest / name
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(case.store.path, root, symlinks=True)
        mutate.apply_edit(root, edit, dest / "outside")
    return case


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker_main(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], tuple(filter(None, sys.argv[5].split(","))))
    else:
        sys.exit("run benchmarks/fuzz.py")
