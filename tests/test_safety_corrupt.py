"""A corrupt file never costs more than a missing one (issue 11, fuzz finding F7's class).

For every document file of every fixture store (JSON, YAML, MLmodel, meta files, text: the files
the fuzz harness's reference *removes*), the file is replaced by bytes no parser accepts and, as
the reference, deleted. Every record of the reference's catalog (``harness.records``: keys of
experiments, runs, versions, models, datasets; each run's params, tags, metrics, artifacts and
history points) must be in the corrupt store's catalog too. A reader that gives up on a whole
run, or skips the fallback it takes when the file is absent (F3: a corrupt trainer_state.json
hid the checkpoint's), fails here. Line and frame files (metric files, .tsv/.csv/.jsonl,
tfevents, .wandb, SQLite) have finer references: the fuzz slice measures those.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlreport import catalog
from mlreport.config import Config, SourceConfig
from mlreport.errors import MlreportError

from .fuzz import harness, mutate

#: Bytes no reader's parser accepts: NUL, invalid UTF-8, unbalanced brackets, a bare colon.
GARBAGE = b"\x00\xff\xfe{[: ,\n\t- ]}\x80"
#: (store, file) whose removal moves the store's detected root (the sources differ): the
#: reference then names every record differently, so it bounds nothing. Listed so that the
#: exclusion cannot grow unseen; the test checks each still moves the root.
ROOT_MOVES = {
    ("dvc/live_dvcyaml", "dvclive/metrics.json"),  # without it, dvclive/ (with its dvc.yaml) is the store
    ("dvc/nested", "dvclive/metrics.json"),  # without it, fold_0/ and fold_1/ are two stores
    ("artifacts/dvclive", "dvclive/metrics.json"),  # the same detection, in the previews' fixture
}
LINE_KINDS = ("tfevents", "wandb", "sqlite", "jsonl", "table", "mlflow-metric")


def _read(root: Path) -> dict[str, Any] | None:
    try:
        cat = catalog.read_catalog(Config(sources=(SourceConfig(str(root)),), include_deleted=True))
    except MlreportError:
        return None
    return catalog.to_jsonable(cat)


#: The formats whose fixture stores have document files (TensorBoard's are all event files).
FORMATS = sorted(
    {
        s.format
        for s in mutate.load_corpus()
        if any(mutate.file_kind(f, (s.path / f).read_bytes()[:16]) not in LINE_KINDS for f in s.files)
    }
)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_corrupt_file_keeps_what_its_absence_keeps(fmt: str, tmp_path: Path) -> None:
    logging.disable(logging.CRITICAL)
    try:
        failures, moved, checked = [], set(), 0
        for store in (s for s in mutate.load_corpus() if s.format == fmt):
            root = tmp_path / store.label
            shutil.copytree(store.path, root, symlinks=True)
            for rel in store.files:
                path = root / rel
                original = path.read_bytes()
                if mutate.file_kind(rel, original) in LINE_KINDS:
                    continue
                path.unlink()
                reference = _read(root)
                path.write_bytes(GARBAGE)
                corrupt = _read(root)
                path.write_bytes(original)
                checked += 1
                if reference and corrupt and reference["stores"] != corrupt["stores"]:
                    moved.add((store.label, rel))
                    continue
                gone = harness.lost(harness.records(reference), harness.records(corrupt))
                if gone:
                    failures.append(
                        f"{store.label}/{rel}: {sum(gone.values())} lost, e.g. {sorted(map(str, gone))[:3]}"
                    )
    finally:
        logging.disable(logging.NOTSET)
    assert checked > 0
    assert not failures, "\n".join(failures)
    assert moved == {m for m in ROOT_MOVES if m[0].startswith(f"{fmt}/")}


def test_the_check_sees_a_reader_that_drops_a_run_for_a_corrupt_file(tmp_path: Path) -> None:
    """The measure above, against a real store: a corrupt meta.yaml costs that run (so does its
    absence), a corrupt param file costs that param only; dropping a neighbour would show."""
    store = tmp_path / "s"
    shutil.copytree(mutate.DATA / "mlflow" / "v2_file", store)
    run_id = "2ae7d87daf9741f3b1a806eda3e29ea3"
    victim = store / "mlruns" / "169632163454191882" / run_id / "meta.yaml"
    before = harness.records(_read(store))
    victim.write_bytes(GARBAGE)
    after = harness.records(_read(store))
    gone = harness.lost(before, after)
    assert gone and all(any(run_id in str(part) for part in key) for key in gone), sorted(map(str, gone))[:5]
