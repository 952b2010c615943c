"""The input digest of every page: what it reads from the catalog, the URLs it links to, and
everything global (templates, theme, config, mlreport's version).

A page whose digest is unchanged is not rendered again (DESIGN.md: incremental,
content-addressed). The lists below follow what each page builder in
:mod:`mlreport.render.pages` reads; ``tests/test_engine_incremental.py`` checks, for each kind of
change, that an incremental build gives exactly the bytes of a full one. Index pages (home,
models, runs …) depend on the whole catalog and are rendered on any change.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

from ..model import LoggedModel, ModelVersion, Run
from ..readers._units import canonical_dumps
from ..render.curves import best_runs
from ..render.pages import PageRef, SiteRenderer


def _h(parts: Iterable[bytes]) -> str:
    h = hashlib.blake2b(digest_size=20)
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.hexdigest()


def canonical_pickle(obj: object) -> bytes:
    """``obj`` pickled without the memo: the same bytes for equal records however their strings
    are shared. A plain pickle writes a string met twice in one record as a reference to the
    first, so a run read back from the unit cache (fewer shared strings than one parsed fresh)
    pickled differently, and one new run in a 10,000-run store re-rendered a whole model's
    version pages. Records are trees (no cycles), which the memo-less mode needs."""
    return canonical_dumps(obj)  # no memo: no back-references


class PageInputs:
    """Digests of records (memoised) and of pages, for one catalog and renderer."""

    def __init__(self, renderer: SiteRenderer, global_digest: str) -> None:
        self.r = renderer
        self.c = renderer.c
        self.g = global_digest.encode()
        self._memo: dict[int, bytes] = {}
        self._catalog: bytes | None = None
        self._fd: int | None = None
        # memos: one run is read by its own page, its versions' pages and, as a baseline, by
        # every version page of its model; a metric's goal by every page that shows the metric
        self._goals: dict[str, bytes] = {}
        self._run_contexts: dict[str, list[bytes]] = {}
        self._histories: dict[str, bytes] = {}
        self._versions_by_lm: dict[str, list[ModelVersion]] = {}
        for v in self.c.versions:
            if v.logged_model_key:
                self._versions_by_lm.setdefault(v.logged_model_key, []).append(v)

    def rec(self, obj: object) -> bytes:
        """A record's digest (pickle of the frozen record: every field it has)."""
        if obj is None:
            return b"-"
        key = id(obj)
        d = self._memo.get(key)
        if d is None:
            d = self._memo[key] = hashlib.blake2b(canonical_pickle(obj), digest_size=16).digest()
        return d

    def catalog(self) -> bytes:
        """Everything in the catalog: what an index page depends on."""
        if self._catalog is None:
            c = self.c
            parts = [self.rec(x) for group in (c.stores, c.experiments, c.runs, c.logged_models) for x in group]
            parts += [self.rec(x) for group in (c.datasets, c.models, c.versions, c.problems) for x in group]
            parts.append(repr(sorted(c.metric_goals.items())).encode())
            parts.append(canonical_pickle(dict(c.declared_goals)))
            self._catalog = _h(parts).encode()
        return self._catalog

    def goals(self, metrics: Iterable[Any]) -> list[bytes]:
        """Which way each metric is better and who says so (``Catalog.goal``, ``goal_source``:
        metric tables show both), once per metric key."""
        out = []
        memo = self._goals
        for m in metrics:
            g = memo.get(m.key)
            if g is None:
                g = memo[m.key] = f"{self.c.goal(m.key)}\0{self.c.goal_source(m.key)}".encode()
            out.append(g)
        return out

    def url(self, mapping: Mapping[Any, str], key: object) -> bytes:
        return str(mapping.get(key, "")).encode()

    def run_context(self, run_key: str | None) -> list[bytes]:
        """A run and what its page or lineage shows around it."""
        memo = self._run_contexts.get(run_key or "")
        if memo is None:
            memo = self._run_contexts[run_key or ""] = self._run_context(run_key)
        return memo

    def _run_context(self, run_key: str | None) -> list[bytes]:
        c, u = self.c, self.r.urls
        run = c.run_by_key.get(run_key or "")
        if run is None:
            return [b"norun", (run_key or "").encode()]
        out = [self.rec(run), self.url(u.run, run.key), self.previews(run)]
        exp = c.experiment_by_key.get(run.experiment_key or "")
        out += [self.rec(exp), self.url(u.experiment, run.experiment_key)]
        parent = c.run_by_key.get(run.parent_key or "")
        out += [self.rec(parent), self.url(u.run, run.parent_key)]
        for ref in (*run.inputs, *run.produced):
            out += [self.rec(c.dataset_by_key.get(ref.dataset_key)), self.url(u.dataset, ref.dataset_key)]
            for key in c.producers_by_dataset.get(ref.dataset_key, ()):
                out += [self.rec(c.run_by_key.get(key)), self.url(u.run, key)]
        for key in run.output_model_keys:
            out += [self.rec(c.logged_model_by_key.get(key)), self.url(u.logged_model, key)]
        for v in c.versions_by_run.get(run.key, ()):
            out += [self.rec(v), self.url(u.version, (v.model, v.version))]
        for key in c.children_by_run.get(run.key, ()):
            child = c.run_by_key.get(key)
            out += [self.rec(child), self.url(u.run, key)]
            out += self.goals(child.metrics) if child else []  # the child-runs table's ▲/▼ and sort
        out += self.goals(run.metrics)
        out.append(self.histories(run.key))
        out += self.best_histories(c.children_by_run.get(run.key, ()))  # charts: the best children's curves
        return out

    def previews(self, record: Run | LoggedModel | None) -> bytes:
        """The content of a record's artifact previews (artifacts, issue 10): an artifact whose
        bytes changed under the same name and size re-renders the page that shows it."""
        p = self.r.previews
        if p is None or record is None or not record.artifacts:
            return b"-"
        return p.digest(record.origin.store, record.artifacts)

    def best_histories(self, run_keys: Iterable[str]) -> list[bytes]:
        """The histories a page's best-runs chart draws (render/curves.py best_runs)."""
        runs = [r for k in run_keys if (r := self.c.run_by_key.get(k)) is not None]
        return [self.histories(r.key) for r in best_runs(self.r, runs)[1]] if len(runs) > 1 else []

    def histories(self, owner_key: str) -> bytes:
        """The content of a run's metric histories (not where they sit in the history file:
        one more run moves every later run's series)."""
        done = self._histories.get(owner_key)
        if done is not None:
            return done
        index = self.c.history_index.get(owner_key)
        if not index or self.c.histories is None:
            return b"-"
        if self._fd is None:
            self._fd = os.open(self.c.histories.path, os.O_RDONLY)
        h = hashlib.blake2b(digest_size=16)
        for metric_key, (offset, n) in sorted(index.items()):
            h.update(metric_key.encode() + b"\0")
            h.update(os.pread(self._fd, 24 * n, offset))
        done = self._histories[owner_key] = h.digest()
        return done

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def model_context(self, name: str) -> list[bytes]:
        c, u = self.c, self.r.urls
        m = self.r.model_by_name[name]
        out = [self.rec(m), self.url(u.model, name), repr(self.r.model_key_metrics[name]).encode()]
        out.append(repr(sorted(self.r.varying_params(name))).encode())
        for v in c.versions_by_model.get(name, ()):
            run = c.run_by_key.get(v.run_key or "")
            out += [self.rec(v), self.rec(run), self.url(u.version, (name, v.version)), self.url(u.run, v.run_key)]
            out += self.goals(run.metrics) if run else []
            out.append(self.histories(v.run_key or v.logged_model_key or ""))  # charts: curves across versions
        out += [self.url(u.alias, (name, a)) for a in m.aliases]
        return out

    # review (issue 9): a version page compares with its baseline (another version of the model,
    # chosen by aliases and order), says which version serves (every version's stage) and
    # evaluates gates (the metrics every version logs); model and alias pages show the ledger.
    def model_versions(self, name: str) -> bytes:
        """Every version of a model with its run and logged model, once per model."""
        memo: dict[str, bytes] = self.__dict__.setdefault("_model_versions", {})
        if name not in memo:
            c = self.c
            parts: list[bytes] = []
            for v in c.versions_by_model.get(name, ()):
                parts += [self.rec(v), self.rec(c.run_by_key.get(v.run_key or ""))]
                parts.append(self.rec(c.logged_model_by_key.get(v.logged_model_key or "")))
            memo[name] = _h(parts).encode()
        return memo[name]

    def review(self, name: str, v: ModelVersion | None) -> list[bytes]:
        parts = [*self.model_review(name)]
        if v is not None:
            parts += self.baseline(name, v)
        return parts

    def model_review(self, name: str) -> tuple[bytes, ...]:
        """What every review of a model reads, once per model: the ledger's and the alias moves'
        reprs were made again for each of a model's version pages (2,500 a model at 10k
        versions, ~10 % of the digests)."""
        memo: dict[str, tuple[bytes, ...]] = self.__dict__.setdefault("_model_reviews", {})
        done = memo.get(name)
        if done is None:
            ledger = self.r.ledger
            done = memo[name] = (
                self.model_versions(name),
                # repr, not pickle: a ledger read back shares fewer string objects than a fresh one
                repr(ledger.models.get(name) if ledger is not None else None).encode(),
                repr(self.c.alias_moves_by_model.get(name)).encode(),  # the store's own history
            )
        return done

    def baseline(self, name: str, v: ModelVersion) -> list[bytes]:
        """The run context of the baseline a version page compares with. Without ``--against``
        ``choose_baseline`` reads of the candidate only its model and whether it is the version
        holding the baseline alias (then the one before it), so it is chosen once per model and
        once for the holder, not once per version."""
        from ..review import choose_baseline, subject_of_version

        alias = self.r.config.baseline
        model = self.c.model_by_name.get(v.model)
        holder = model.aliases.get(alias) if model is not None else None
        key = (v.model, v.version == holder)
        memo: dict[tuple[str, bool], list[bytes]] = self.__dict__.setdefault("_baselines", {})
        done = memo.get(key) if v.model else None  # no model: the baseline comes from the run
        if done is None:
            base = choose_baseline(self.c, subject_of_version(self.c, v), None, alias)[0]
            done = memo[key] = self.run_context(base.run.key) if base is not None and base.run is not None else []
        return done

    def digest(self, ref: PageRef) -> str:
        family, key = ref
        c, u = self.c, self.r.urls
        parts: list[bytes] = [self.g, family.encode(), key.encode()]
        if family in ("model", "compare"):
            parts += self.model_context(key)
            parts += self.review(key, None)
        elif family == "version":
            name, version = key.split("\0", 1)
            m = self.r.model_by_name[name]
            v = self.r.version_of(name, version)
            parts += [self.rec(m), self.url(u.model, name), repr(self.r.model_key_metrics[name]).encode()]
            parts.append(repr(sorted(self.r.varying_params(name))).encode())
            parts += [self.rec(v), self.url(u.version, (name, version))]
            parts += self.run_context(v.run_key)
            lm = c.logged_model_by_key.get(v.logged_model_key or "")
            parts += [self.rec(lm), self.url(u.logged_model, v.logged_model_key), self.previews(lm)]
            parts.append(self.histories(v.logged_model_key or ""))
            parts += self.goals(lm.metrics if lm else ())
            parts += self.goals(v.metrics) if hasattr(v, "metrics") else []
            parts += self.review(name, v)
        elif family == "alias":
            name, alias = key.split("\0", 1)
            m = self.r.model_by_name[name]
            target = m.aliases.get(alias, "")
            parts += [repr((name, alias, target)).encode(), self.url(u.version, (name, target))]
            parts += [self.url(u.model, name), self.url(u.alias, (name, alias))]
            parts += [self.url(u.version, (name, x.version)) for x in c.versions_by_model.get(name, ())]
            parts += self.review(name, None)
        elif family == "run":
            parts += self.run_context(key)
        elif family == "experiment":
            e = c.experiment_by_key[key]
            parts += [self.rec(e), self.url(u.experiment, key)]
            for rk in c.runs_by_experiment.get(key, ()):
                run = c.run_by_key.get(rk)
                parts += [self.rec(run), self.url(u.run, rk)]
                parts += self.goals(run.metrics) if run else []
            parts += self.best_histories(c.runs_by_experiment.get(key, ()))  # charts: the best runs' curves
            for t in c.traces_by_experiment.get(key, ()):  # the page's traces table
                parts += [self.rec(t), self.url(u.run, t.run_key)]
        elif family == "dataset":
            d = c.dataset_by_key[key]
            parts += [self.rec(d), self.url(u.dataset, key)]
            for rk in (*c.runs_by_dataset.get(key, ()), *c.producers_by_dataset.get(key, ())):
                run = c.run_by_key.get(rk)
                parts += [self.rec(run), self.url(u.run, rk)]
                if run is not None:
                    parts += [self.rec(c.experiment_by_key.get(run.experiment_key or ""))]
                    parts += [self.url(u.experiment, run.experiment_key)]
                    parts += self.goals(run.metrics)
            parts += [repr(c.same_content_by_dataset.get(key, ())).encode()]
            parts += [self.url(u.dataset, k) for k in c.same_content_by_dataset.get(key, ())]
        elif family == "logged_model":
            lm = c.logged_model_by_key[key]
            parts += [self.rec(lm), self.url(u.logged_model, key), self.histories(key), self.previews(lm)]
            run = c.run_by_key.get(lm.run_key or "")
            parts += [self.rec(run), self.url(u.run, lm.run_key)]
            for v in self._versions_by_lm.get(key, ()):
                parts += [self.rec(v), self.url(u.version, (v.model, v.version))]
            parts += self.goals(lm.metrics)
        else:  # home and the index pages: the whole catalog
            parts.append(self.catalog())
        return _h(parts)


__all__ = ["PageInputs"]
