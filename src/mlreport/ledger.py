"""The alias ledger: which version held each alias (and stage) over time, build after build.

Most registries keep only the present (MLflow's registry stores the current aliases and stage).
So each build compares what it sees with the previous build's ledger, appends what moved, and
publishes the result with the site as ``history.json``; the next build reads it back (from the
previous site, a cache, or the published URL), so the history accumulates. A build with no
previous ledger records what it sees as the start ("history starts here") and invents nothing.

``history.json`` (documented in docs/reviews.md)::

    {
      "mlreport_history": 1,
      "models": {
        "churn-classifier": {
          "aliases": {"champion": [{"versions": ["2"], "since": null, "seen": "start"},
                                   {"versions": ["3"], "since": 1795505063378, "seen": "build"}]},
          "stages": {"Production": [{"versions": ["2"], "since": null, "seen": "start"}]},
          "versions": ["1", "2", "3"]
        }
      }
    }

Entries are oldest first. ``since`` is epoch milliseconds: the time the build that first saw the
holding ran (``seen: "build"``; an alias moved at or before it, after the build before), or
``null`` for the holdings found when the history started (``seen: "start"``). ``versions: []``
means the alias was removed. Nothing changes in the ledger when nothing moved, so two builds of
the same stores with the same previous ledger write the same bytes; ``SOURCE_DATE_EPOCH`` fixes
the clock for reproducible builds.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .catalog import Catalog, version_sort_key

LEDGER_NAME = "history.json"
FORMAT = 1
MAX_LEDGER_BYTES = 20_000_000
MAX_ENTRIES = 1_000  # per alias or stage; older entries are dropped first


class LedgerError(ValueError):
    """A previous ledger that cannot be used; the message names the reason."""


@dataclass(frozen=True, slots=True)
class Holding:
    """Who held an alias or stage from ``since`` on (until the next holding)."""

    versions: tuple[str, ...]
    since: int | None
    seen: str  # "start" | "build" | "store" (a move the store itself recorded, never written here)
    source: str | None = None  # for "store": where the store records it ("GTO tag m#prod#3")


@dataclass(frozen=True, slots=True)
class ModelLedger:
    aliases: Mapping[str, tuple[Holding, ...]] = field(default_factory=dict)
    stages: Mapping[str, tuple[Holding, ...]] = field(default_factory=dict)
    versions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Ledger:
    models: Mapping[str, ModelLedger] = field(default_factory=dict)


def build_clock() -> int:
    """Now, in epoch milliseconds; ``SOURCE_DATE_EPOCH`` (seconds) when it is set."""
    fixed = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if fixed.isdigit():
        return int(fixed) * 1000
    return int(time.time() * 1000)


def current(catalog: Catalog) -> dict[str, tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]]:
    """What the catalog says today: per model, the alias holders and the stage holders."""
    out: dict[str, tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]] = {}
    for m in catalog.models:
        aliases: dict[str, tuple[str, ...]] = {a: (v,) for a, v in m.aliases.items()}
        stages: dict[str, list[str]] = {}
        for v in catalog.versions_by_model.get(m.name, ()):
            if v.stage and v.stage.lower() not in ("none", "archived"):
                stages.setdefault(v.stage, []).append(v.version)
        out[m.name] = (aliases, {s: tuple(vs) for s, vs in stages.items()})
    return out


def observe(previous: Ledger | None, catalog: Catalog, now: int | None = None) -> Ledger:
    """The ledger after this build: ``previous`` with every move appended.

    ``now`` is the build's time (see :func:`build_clock`); it is recorded only for holdings that
    changed since the previous ledger.
    """
    seen_now = current(catalog)
    models: dict[str, ModelLedger] = {}
    old_models = previous.models if previous is not None else {}
    for name in sorted(set(seen_now) | set(old_models)):
        old = old_models.get(name, ModelLedger())
        aliases_now, stages_now = seen_now.get(name, ({}, {}))
        fresh = previous is None or name not in old_models
        versions = [v.version for v in catalog.versions_by_model.get(name, ())]
        models[name] = ModelLedger(
            aliases=_advance(old.aliases, aliases_now, fresh, now),
            stages=_advance(old.stages, stages_now, fresh, now),
            versions=tuple(sorted(set(old.versions) | set(versions), key=version_sort_key)),
        )
    return Ledger(models)


def _advance(
    old: Mapping[str, tuple[Holding, ...]], now_held: Mapping[str, tuple[str, ...]], fresh: bool, now: int | None
) -> dict[str, tuple[Holding, ...]]:
    out: dict[str, tuple[Holding, ...]] = {}
    for key in sorted(set(old) | set(now_held)):
        entries = old.get(key, ())
        held = tuple(sorted(now_held.get(key, ()), key=version_sort_key))
        last = entries[-1].versions if entries else ()
        if not entries:
            if held:
                entries = (Holding(held, None if fresh else now, "start" if fresh else "build"),)
        elif held != last:
            entries = (*entries, Holding(held, now, "build"))[-MAX_ENTRIES:]
        if entries:
            out[key] = entries
    return out


# ---------------------------------------------------------------------------------------------
# reading and writing


def dumps(ledger: Ledger) -> bytes:
    """``history.json``: sorted keys, one stable layout (the same ledger, the same bytes)."""

    def holdings(entries: tuple[Holding, ...]) -> list[dict[str, object]]:
        # only what builds saw: a store's own history is read from the store each build
        return [{"versions": list(h.versions), "since": h.since, "seen": h.seen} for h in entries if h.seen != "store"]

    data = {
        "mlreport_history": FORMAT,
        "models": {
            name: {
                "aliases": {a: holdings(e) for a, e in sorted(m.aliases.items())},
                "stages": {s: holdings(e) for s, e in sorted(m.stages.items())},
                "versions": list(m.versions),
            }
            for name, m in sorted(ledger.models.items())
        },
    }
    return (json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def loads(data: bytes) -> Ledger:
    """A ledger from ``history.json``.

    Raises:
        LedgerError: not a ledger, a newer format, or a malformed entry (the reason says where).
    """
    if len(data) > MAX_LEDGER_BYTES:
        raise LedgerError(f"larger than {MAX_LEDGER_BYTES} bytes")
    from .readers._bounded import BoundedError, load_json

    try:
        raw = load_json(data)
    except (BoundedError, ValueError, UnicodeDecodeError) as exc:
        raise LedgerError(f"not JSON: {exc}") from None
    if not isinstance(raw, dict) or "mlreport_history" not in raw:
        raise LedgerError("not an mlreport history ledger (no 'mlreport_history' key)")
    if raw["mlreport_history"] != FORMAT:
        raise LedgerError(f"unsupported format {raw['mlreport_history']!r} (this mlreport reads {FORMAT})")
    models_raw = raw.get("models")
    if not isinstance(models_raw, dict):
        raise LedgerError("'models' is not a mapping")
    models: dict[str, ModelLedger] = {}
    for name, m in models_raw.items():
        where = f"models.{name}"
        if not isinstance(m, dict):
            raise LedgerError(f"{where} is not a mapping")
        versions = m.get("versions", [])
        if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
            raise LedgerError(f"{where}.versions is not a list of strings")
        models[str(name)] = ModelLedger(
            aliases=_holdings_map(m.get("aliases", {}), f"{where}.aliases"),
            stages=_holdings_map(m.get("stages", {}), f"{where}.stages"),
            versions=tuple(versions),
        )
    return Ledger(models)


def _holdings_map(raw: object, where: str) -> dict[str, tuple[Holding, ...]]:
    if not isinstance(raw, dict):
        raise LedgerError(f"{where} is not a mapping")
    out: dict[str, tuple[Holding, ...]] = {}
    for key, entries in raw.items():
        if not isinstance(entries, list):
            raise LedgerError(f"{where}.{key} is not a list")
        items = []
        for i, e in enumerate(entries[-MAX_ENTRIES:]):
            at = f"{where}.{key}[{i}]"
            if not isinstance(e, dict):
                raise LedgerError(f"{at} is not a mapping")
            versions, since, seen = e.get("versions"), e.get("since"), e.get("seen")
            if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
                raise LedgerError(f"{at}.versions is not a list of strings")
            if since is not None and (isinstance(since, bool) or not isinstance(since, int)):
                raise LedgerError(f"{at}.since is not a time in milliseconds")
            if seen not in ("start", "build"):
                raise LedgerError(f"{at}.seen is not 'start' or 'build'")
            items.append(Holding(tuple(versions), since, str(seen)))
        out[str(key)] = tuple(items)
    return out


def read_previous(location: str) -> bytes | None:
    """The bytes of a previous ledger at a local path or URL (``https://…/history.json``,
    ``s3://…``); ``None`` when there is none there yet (the first build).

    Raises:
        LedgerError: it exists but cannot be read (the reason names it).
    """
    if location.startswith(("http://", "https://")):
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(location, timeout=30) as response:  # noqa: S310 - http(s) only
                return bytes(response.read(MAX_LEDGER_BYTES + 1))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise LedgerError(f"cannot read {location}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise LedgerError(f"cannot read {location}: {getattr(exc, 'reason', exc)}") from None
    if "://" in location:
        import fsspec

        try:
            with fsspec.open(location, "rb") as f:
                return bytes(f.read(MAX_LEDGER_BYTES + 1))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, ImportError) as exc:
            raise LedgerError(f"cannot read {location}: {exc}") from None
    try:
        with open(location, "rb") as f:
            return f.read(MAX_LEDGER_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LedgerError(f"cannot read {location}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------------------------
# the history the stores keep, merged with the ledger


def store_holdings(catalog: Catalog, model: str) -> tuple[dict[str, list[Holding]], dict[str, list[Holding]]]:
    """The moves ``model``'s store recorded itself (:class:`~mlreport.model.AliasMove`), as
    holdings oldest first: (aliases, stages)."""
    aliases: dict[str, list[Holding]] = {}
    stages: dict[str, list[Holding]] = {}
    for m in catalog.alias_moves_by_model.get(model, ()):
        table = stages if m.kind == "stage" else aliases
        table.setdefault(m.name, []).append(Holding(m.versions, m.time, "store", m.source or None))
    return aliases, stages


def merge(
    ledger_entries: tuple[Holding, ...], store_entries: list[Holding] | tuple[Holding, ...]
) -> tuple[Holding, ...]:
    """One alias's history, oldest first, from what the store recorded and what builds saw.

    The rule (docs/reviews.md): where the store keeps history it is the record, since its times
    are when a move happened and a build only notices one later. So the store's moves make the
    history from the store's first dated move on; the ledger adds only what it saw *before*
    that move (history from before the store kept any); a ledger holding dated after it, or the
    ledger's undated start, is left out, whether it agrees with the store or not. Consecutive
    holdings by the same versions are one (the earliest)."""
    if not store_entries:
        return tuple(ledger_entries)
    first = min((h.since for h in store_entries if h.since is not None), default=None)
    kept = [h for h in ledger_entries if h.since is not None and first is not None and h.since < first]
    merged = sorted([*kept, *store_entries], key=lambda h: (h.since is not None, h.since or 0))
    out: list[Holding] = []
    for h in merged:
        if out and out[-1].versions == h.versions:
            continue
        out.append(h)
    return tuple(out[-MAX_ENTRIES:])


def with_store_history(ledger: Ledger | None, catalog: Catalog) -> Ledger | None:
    """The ledger as pages and the feed show it: each alias and stage merged (:func:`merge`)
    with the history its store keeps. ``history.json`` keeps only what builds saw."""
    if not catalog.alias_moves_by_model:
        return ledger
    models = dict(ledger.models) if ledger is not None else {}
    for name in catalog.alias_moves_by_model:
        old = models.get(name, ModelLedger())
        store_aliases, store_stages = store_holdings(catalog, name)
        models[name] = ModelLedger(
            aliases={
                a: merge(old.aliases.get(a, ()), store_aliases.get(a, ()))
                for a in sorted({*old.aliases, *store_aliases})
            },
            stages={
                s: merge(old.stages.get(s, ()), store_stages.get(s, ())) for s in sorted({*old.stages, *store_stages})
            },
            versions=old.versions,
        )
    return Ledger(models)


def keeps_history(catalog: Catalog, model: str) -> bool:
    """Whether ``model``'s store recorded any alias or stage move itself."""
    return bool(catalog.alias_moves_by_model.get(model))


# ---------------------------------------------------------------------------------------------
# for pages


def timeline(ledger: Ledger, model: str, alias: str, stage: bool = False) -> tuple[Holding, ...]:
    """The holdings of one alias (or stage), newest first."""
    m = ledger.models.get(model)
    if m is None:
        return ()
    return tuple(reversed((m.stages if stage else m.aliases).get(alias, ())))


def day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d")


def _who(h: Holding) -> str:
    if not h.versions:
        return "nobody (removed)"
    return ", ".join(f"v{v}" if v[:1].isdigit() else v for v in h.versions)


def describe(entries: tuple[Holding, ...]) -> str:
    """``held by v3 since 2026-11-24, before that v2 (history starts here)`` from newest-first
    holdings; empty when there are none."""
    if not entries:
        return ""
    parts = []
    for i, h in enumerate(entries):
        who = _who(h)
        when = f" since {day(h.since)}" if h.since is not None else ""
        if h.seen == "start":
            when = " (history starts here)"
        if h.source:
            when += f" ({h.source})"
        parts.append(f"held by {who}{when}" if i == 0 else f"before that {who}{when}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# the build step


def previous_location(config_history: str | None, site_dir: str, prefix: str) -> str:
    """Where the previous ledger is: ``history`` in the config (``--history``), else the
    published site in the output folder."""
    return config_history or os.path.join(site_dir, prefix, LEDGER_NAME)


def load_previous(location: str) -> Ledger | None:
    """The previous ledger, ``None`` when there is none yet.

    Raises:
        BuildError: one exists and cannot be used; the build stops rather than publish a
        history that starts over and so loses the old one.
    """
    from .errors import BuildError

    try:
        raw = read_previous(location)
        return loads(raw) if raw is not None else None
    except LedgerError as exc:
        reason = str(exc).removeprefix(f"cannot read {location}: ")
        raise BuildError(
            f"cannot read the previous alias history {location}: {reason}; "
            "fix or remove it (the history then starts again)"
        ) from None


def observe_build(catalog: Catalog, location: str) -> Ledger:
    """This build's ledger: the previous one at ``location`` with what moved appended."""
    return observe(load_previous(location), catalog, build_clock())


def history_pages(catalog: Catalog, ledger: Ledger, title: str, site_url: str | None, prefix: str) -> dict[str, bytes]:
    """``history.json`` and ``feed.xml`` for the site (paths relative to the docs root)."""
    from .feed import FEED_NAME, atom_feed
    from .render.urls import plan_urls

    urls = plan_urls(catalog, prefix)
    feed = atom_feed(
        catalog,
        with_store_history(ledger, catalog),
        title=title,
        site_url=site_url,
        version_urls=urls.version,
        alias_urls=urls.alias,
        model_urls=urls.model,
    )
    return {f"{prefix}{LEDGER_NAME}": dumps(ledger), f"{prefix}{FEED_NAME}": feed}
