"""No store string reaches an output whole (issue 11, fuzz findings F6 and F25).

A store value may be a megabyte (a param, an alias, a dataset's schema, a DVC score, a W&B
summary). Pages cut every shown value (``render/text.py``: 20,000 characters on a page, 2,000 in
a cell, 300 in a heading), with the full text in ``values/<sha256>.txt`` beside the page. F25
found four places that built their text outside that cut. This test finds the class instead of
the four: it reads small fixture stores of every format, replaces **every** string of **every**
record (each field of each of ``mlreport.model``'s dataclasses, every key and value of their
mappings, every string inside a JSON text they hold) by a 1 MB one, builds the site from that
catalog, and looks at every file of the output, the model card README and the pull-request
comment in every flavour. No file may hold more than :data:`LONGEST_COPY` characters of one
value in a row, nor grow by more than :data:`GROWTH` over the same build of the plain catalog,
except the full values themselves (``values/*.txt``) and the runs tables' full CSV files, which
are the deliberate place for whole values.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from array import array
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from mlreport import model
from mlreport.catalog import Catalog, FoundStore, read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.history_store import HistoryFile
from mlreport.sanitize import PAGE_TEXT_LIMIT

from .conftest import DATA

MB = 1_000_000
#: The filler of a planted value: a letter no fixture string repeats, so a run of it in an output
#: file is a copy of a planted value, and its length says how much of one was copied.
FILL = "Q"
#: The longest run of one value an output file may hold: what a page shows of a value.
LONGEST_COPY = PAGE_TEXT_LIMIT
#: How much bigger than the plain site's largest file of its kind any one output file may be.
#: A page may show many cut values (every param, tag and metric of a run); a megabyte over the
#: plain build is a value copied whole.
GROWTH = MB

#: Small fixture stores that hold every record type of ``mlreport.model.Record`` between them.
STORES = (
    DATA / "mlflow" / "v3_file" / "mlruns",  # registry, aliases, datasets, logged models, signature
    DATA / "mlflow" / "cases" / "file" / "mlruns",  # traces, odd cases
    DATA / "mlflow" / "broken",  # problems
    DATA / "dvc" / "pipeline",  # stages, scores, params, GTO
    DATA / "wandb" / "alias_history",  # alias moves
    DATA / "manifest" / "basic",  # manifest datasets and artifacts
    DATA / "manifest" / "goals",  # declared metric goals
    DATA / "hf" / "full",  # checkpoints as versions, model card prose
    DATA / "tensorboard" / "logdir",
)

#: Fields that are not store text, left as they are, and why.
KEEP = {
    # the source as the user named it and the reader's name: config and code, not store content
    ("Origin", "store"),
    ("Origin", "format"),
    # where the bytes are, as the reader opened them: previews read the artifact through it
    ("Artifact", "location"),
    # a closed set the reader chooses ("alias" or "stage")
    ("AliasMove", "kind"),
}


class Planter:
    """Replaces every string by a 1 MB string that starts (``"prefix"``) or ends (``"suffix"``)
    with it. Equal strings get the same value, so every reference between records still holds;
    a prefix keeps ``startswith`` rules working (``mlflow.*``, ``model_card.*``), a suffix
    ``endswith`` rules (``….source``)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.memo: dict[str, str] = {}
        self.types: set[str] = set()

    def text(self, s: str) -> str:
        found = self.memo.get(s)
        if found is not None:
            return found
        inner = _json_container(s)
        if inner is not None:  # JSON held in a string (a signature, a schema): plant inside it
            out = json.dumps(self.value(inner), ensure_ascii=False)
        else:
            pad = FILL * (MB - len(s) - 1)
            out = f"{s}|{pad}" if self.where == "prefix" else f"{pad}|{s}"
        self.memo[s] = out
        return out

    def value(self, v: Any) -> Any:
        if isinstance(v, str):
            return self.text(v)
        if v is None or isinstance(v, (bool, int, float, bytes, enum.Enum, array, HistoryFile)):
            return v
        if isinstance(v, model.MetricHistory):
            return v
        if isinstance(v, MappingProxyType):
            return MappingProxyType(self._items(v))
        if isinstance(v, dict):
            return self._items(v)
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, tuple):
            return tuple(self.value(x) for x in v)
        if isinstance(v, frozenset):
            return frozenset(self.value(x) for x in v)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return self.record(v)
        raise TypeError(f"no planting rule for {type(v).__name__}: a new field type needs one")

    def _items(self, m: Mapping[Any, Any]) -> dict[Any, Any]:
        return {self.value(k): self.value(x) for k, x in m.items()}

    def record(self, r: Any) -> Any:
        name = type(r).__name__
        self.types.add(name)
        changes = {}
        for f in dataclasses.fields(r):
            value = getattr(r, f.name)
            if (name, f.name) in KEEP or isinstance(r, FoundStore):
                continue  # FoundStore: the source and reader the build found, not store content
            if isinstance(r, Catalog) and f.name == "metric_goals":
                changes[f.name] = {self.text(k): goal for k, goal in value.items()}  # "min"/"max": config
                continue
            changes[f.name] = self.value(value)
        return dataclasses.replace(r, **changes)


def _json_container(s: str) -> Any:
    if s[:1] not in ("{", "["):
        return None
    try:
        value = json.loads(s)
    except ValueError:
        return None
    return value if isinstance(value, (dict, list)) else None


def _runs(text: str, fill: str = FILL) -> int:
    """The longest run of ``fill`` in ``text``, in either case (a note that capitalised its
    sentence lowercased the name in it)."""
    longest = 0
    for m in re.finditer(re.escape(fill) + f"{{{LONGEST_COPY // 2},}}", text, re.IGNORECASE):
        longest = max(longest, m.end() - m.start())
    return longest


def _outputs(site: Path) -> Iterator[tuple[str, bytes]]:
    for p in sorted(site.rglob("*")):
        if p.is_file():
            yield p.relative_to(site).as_posix(), p.read_bytes()


def _deliberate(rel: str) -> bool:
    """The places meant for whole values: the full value files; the tables' CSV downloads
    (the data itself, for a spreadsheet: a cut value there would be a changed value); and
    ``history.json``, the site's memory of the store's names for the next build, where a cut
    name would merge two models or versions that share their first characters."""
    return bool(re.search(r"(^|/)values/[0-9a-f]{24}\.txt$", rel)) or rel.endswith(".csv") or rel.rsplit("/", 1)[-1] == "history.json"


def _kind(rel: str) -> str:
    """What a file is, to compare it with the plain build's files of the same kind (the URLs of
    planted names differ from the plain ones)."""
    parts = rel.split("/")
    return f"{parts[0]}/*/{parts[-1]}" if len(parts) > 2 else rel


@pytest.fixture(scope="module")
def plain_catalog() -> Catalog:
    return read_catalog(Config(sources=tuple(SourceConfig(str(s)) for s in STORES)))


def test_the_stores_hold_every_record_type(plain_catalog: Catalog) -> None:
    planter = Planter("prefix")
    planter.value(plain_catalog)
    records = {t.__name__ for t in model.Record.__args__}  # type: ignore[attr-defined]
    held = records | {"Origin", "Metric", "Artifact", "DatasetRef", "GitInfo", "Stage"}
    assert held - planter.types == set(), "the fixture stores no longer hold every record type"


def _build(catalog: Catalog, out: Path) -> dict[str, bytes]:
    from mlreport.site import build_site

    build_site(Config(sources=tuple(SourceConfig(str(s)) for s in STORES), output=str(out), title="t"), catalog=catalog)
    return dict(_outputs(out))


def _check(outputs: Mapping[str, bytes], plain: Mapping[str, bytes]) -> list[str]:
    largest: dict[str, int] = {}
    for rel, data in plain.items():
        largest[_kind(rel)] = max(largest.get(_kind(rel), 0), len(data))
    biggest = max(largest.values(), default=0)
    bad = []
    for rel, data in outputs.items():
        if _deliberate(rel):
            continue
        text = data.decode("utf-8", "replace")
        run = _runs(text)
        if run > LONGEST_COPY:
            bad.append(f"{rel}: {run:,} characters of one value")
        elif len(data) > largest.get(_kind(rel), biggest) + GROWTH:
            bad.append(f"{rel}: {len(data):,} bytes")
    return bad


@pytest.mark.parametrize("where", ["prefix", "suffix"])
def test_no_output_holds_a_megabyte_store_value(where: str, plain_catalog: Catalog, tmp_path: Path) -> None:
    planted = Planter(where).value(plain_catalog)
    plain = _build(plain_catalog, tmp_path / "plain")
    outputs = _build(planted, tmp_path / "site")
    assert any(_deliberate(rel) for rel in outputs)  # values were cut, and kept in full
    assert _check(outputs, plain) == []


def _texts(catalog: Catalog) -> Iterator[tuple[str, str]]:
    """The model card README and the pull-request comment in every format, for each version."""
    from mlreport import diff
    from mlreport.card import card_for, card_readme
    from mlreport.errors import MlreportError

    config = Config(sources=tuple(SourceConfig(str(s)) for s in STORES), title="t", site_url="https://example.com/")
    for v in catalog.versions[:6]:
        spec = f"{v.model}@{v.version}"
        yield f"card {spec[:40]}", card_readme(card_for(catalog, spec))
        try:
            report = diff.diff_report(catalog, config, spec)
        except MlreportError as exc:  # no baseline: the message quotes the names, cut too
            yield f"diff error {spec[:40]}", str(exc)
            continue
        for flavour in ("github", "gitlab"):
            yield f"comment {flavour} {spec[:40]}", diff.render(report, "markdown", flavour)
        yield f"comment json {spec[:40]}", diff.render(report, "json")


@pytest.mark.parametrize("where", ["prefix", "suffix"])
def test_card_and_comment_hold_no_megabyte_store_value(where: str, plain_catalog: Catalog) -> None:
    planted = Planter(where).value(plain_catalog)
    bad = [f"{what}: {run:,}" for what, text in _texts(planted) if (run := _runs(text)) > LONGEST_COPY]
    assert bad == []


def test_the_check_finds_a_value_copied_whole() -> None:
    """The check itself: one planted value copied whole is found, a cut one is not."""
    value = Planter("prefix").text("x")
    assert _check({"runs/a/index.html": value.encode()}, {"runs/b/index.html": b"<p>x</p>"}) == [
        f"runs/a/index.html: {MB - 2:,} characters of one value"
    ]
    assert _check({"runs/a/index.html": value[:LONGEST_COPY].encode()}, {"runs/b/index.html": b""}) == []
    assert _check({"runs/a/values/" + "0" * 24 + ".txt": value.encode()}, {}) == []
