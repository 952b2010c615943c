"""A Git LFS pointer in place of a file a reader parses is a Problem that says so, in every reader
(issue 8: "an LFS-pointer event file or config is a Problem"). A clone without ``git lfs pull``
holds these small text files instead of the real ones; parsing one as YAML gave "expected a
mapping", and a manifest folder skipped one without a word.

The W&B (``config.yaml``, ``.wandb``) and TensorBoard (event file) cases are in their readers'
tests; the HF ``trainer_state.json`` case in test_reader_hf.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlreport.model import Problem
from mlreport.readers import ReadOptions, available_readers
from mlreport.readers._common import lfs_pointer, lfs_reason
from mlreport.stores import open_store

from .conftest import DATA

OID = "sha256:" + "ab" * 32
POINTER = f"version https://git-lfs.github.com/spec/v1\noid {OID}\nsize 123456\n".encode()
REASON = f"git-lfs pointer, not the file (oid {OID}, size 123456)"

#: case -> (reader, fixture, the file replaced by a pointer)
CASES = {
    "hf config.json": ("hf", "hf/full", "config.json"),
    "hf adapter_config.json": ("hf", "hf/peft_events", "adapter_config.json"),
    "hf model card": ("hf", "hf/full", "README.md"),
    "mlflow experiment meta.yaml": ("mlflow", "mlflow/v3_file/mlruns", "0/meta.yaml"),
    "dvc params.yaml": ("dvc", "dvc/pipeline", "params.yaml"),
    "dvc dvc.lock": ("dvc", "dvc/pipeline", "dvc.lock"),
    "dvc dvc.yaml": ("dvc", "dvc/pipeline", "dvc.yaml"),
    "clearml task.json": ("clearml", "clearml/offline", "offline-0edfdafc488f4342a6b17db72350ca61/task.json"),
    "manifest in a folder": ("manifest", "manifest/basic", "mlreport.yaml"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_pointer_in_place_of_a_parsed_file_is_a_problem_that_says_so(case: str, tmp_path: Path) -> None:
    reader, fixture, rel = CASES[case]
    store = tmp_path / "store"
    shutil.copytree(DATA / fixture, store, symlinks=True)
    (store / rel).write_bytes(POINTER)
    records = list(available_readers()[reader].read(open_store(str(store)), "", ReadOptions()))
    about = [p.reason for p in records if isinstance(p, Problem) and p.origin.path == rel]
    assert len(about) == 1 and about[0].startswith(REASON), about


def test_a_run_of_a_pointer_meta_yaml_is_a_problem_too(tmp_path: Path) -> None:
    store = tmp_path / "mlruns"
    shutil.copytree(DATA / "mlflow" / "v3_file" / "mlruns", store, symlinks=True)
    run_meta = sorted(p for p in store.glob("[0-9]*/*/meta.yaml"))[0]
    run_meta.write_bytes(POINTER)
    records = list(available_readers()["mlflow"].read(open_store(str(store)), "", ReadOptions()))
    rel = run_meta.relative_to(store).as_posix()
    assert [p.reason for p in records if isinstance(p, Problem) and p.origin.path == rel] == [REASON]


def test_lfs_reason_knows_a_pointer_from_a_file() -> None:
    assert lfs_reason(POINTER) == REASON and lfs_reason(POINTER.decode()) == REASON
    assert lfs_pointer(POINTER) == (OID, 123456)
    assert lfs_reason(b"name: x\n") is None and lfs_reason("") is None
    assert lfs_reason(POINTER + b"x" * 1024) is None  # past the spec's 1024 bytes: not a pointer
    assert lfs_reason(b"version https://git-lfs.github.com/spec/v1\n") == (
        "git-lfs pointer, not the file (oid unknown, size unknown)"
    )
