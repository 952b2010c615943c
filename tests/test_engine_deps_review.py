"""A version page's digest reads its model's ledger entry, alias moves and baseline: memoised once
per model (engine/deps.py ``model_review``, ``baseline``), a change to one model's entry must
still change exactly that model's version pages."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mlreport.catalog import Catalog, read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.engine.deps import PageInputs
from mlreport.ledger import Ledger, observe
from mlreport.model import AliasMove, Origin
from mlreport.render.pages import SiteRenderer

from .conftest import ROOT

STORE = ROOT / "site_example" / "mlruns"


def _digests(catalog: Catalog, config: Config, ledger: Ledger | None) -> dict[tuple[str, str], str]:
    inputs = PageInputs(SiteRenderer(catalog, config, ledger=ledger), "g")
    try:
        # every model's version pages in site order: a memo keyed by less than the model would
        # serve the first model's entry to the others
        return {ref: inputs.digest(ref) for ref in SiteRenderer(catalog, config).refs() if ref[0] == "version"}
    finally:
        inputs.close()


def _catalog(tmp: Path) -> tuple[Catalog, Config]:
    config = Config(sources=(SourceConfig(str(STORE)),))
    return read_catalog(config, history_dir=tmp), config


def _changed(before: dict[tuple[str, str], str], after: dict[tuple[str, str], str]) -> set[str]:
    assert before.keys() == after.keys()
    return {ref[1].split("\0")[0] for ref in before if before[ref] != after[ref]}


def _all_changed(before: dict[tuple[str, str], str], after: dict[tuple[str, str], str], model: str) -> bool:
    return all(before[ref] != after[ref] for ref in before if ref[1].startswith(model + "\0"))


def test_a_changed_ledger_entry_changes_that_models_version_pages(tmp_path: Path) -> None:
    catalog, config = _catalog(tmp_path)
    names = [m.name for m in catalog.models]
    assert len(names) >= 3
    ledger = observe(None, catalog, 1_000)
    before = _digests(catalog, config, ledger)
    for name in names[1:]:  # not the first model: a memo of the first would hide it
        models = dict(ledger.models)
        models[name] = replace(models[name], versions=(*models[name].versions, "99"))
        after = _digests(catalog, config, Ledger(models))
        assert _changed(before, after) == {name}
        assert _all_changed(before, after, name)


def test_a_store_alias_move_changes_that_models_version_pages(tmp_path: Path) -> None:
    catalog, config = _catalog(tmp_path)
    names = [m.name for m in catalog.models]
    before = _digests(catalog, config, None)
    for name in names[1:]:
        move = AliasMove(name, "champion", ("1",), 5, Origin(str(STORE), "x", "mlflow"))
        moved = replace(catalog, alias_moves_by_model={name: (move,)})
        after = _digests(moved, config, None)
        assert _changed(before, after) == {name}
        assert _all_changed(before, after, name)


def test_each_version_gets_the_baseline_choose_baseline_gives_it(tmp_path: Path) -> None:
    """The holder of @champion compares with the version before it, every other version with
    the holder: a baseline memo keyed by the model alone would give them all one baseline."""
    from mlreport.review import choose_baseline, subject_of_version

    catalog, config = _catalog(tmp_path)
    inputs = PageInputs(SiteRenderer(catalog, config), "g")
    try:
        seen = set()
        for m in catalog.models:
            for v in catalog.versions_by_model[m.name]:
                base = choose_baseline(catalog, subject_of_version(catalog, v), None, config.baseline)[0]
                want = inputs.run_context(base.run.key) if base is not None and base.run is not None else []
                assert inputs.baseline(m.name, v) == want, (m.name, v.version)
                seen.add((base.model, base.version) if base is not None else None)
        assert len(seen) >= 4  # holders and non-holders of several models: distinct baselines
    finally:
        inputs.close()
