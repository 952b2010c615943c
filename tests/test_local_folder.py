"""mlreport.local_folder: a folder read in one pass answers every question as LocalStore does,
and declines (the store reads it itself) wherever LocalStore's confinement has a say."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mlreport.local_folder import FolderView, read_folder
from mlreport.stores import LocalStore


def _run_folder(root: Path) -> Path:
    run = root / "1" / "abc"
    for sub in ("params", "tags", "metrics/nested/deeper", "artifacts/model", "inputs/ds1"):
        (run / sub).mkdir(parents=True)
    (run / "meta.yaml").write_text("run_id: abc\n")
    (run / "params" / "lr").write_text("0.1")
    (run / "params" / "empty").write_bytes(b"")
    (run / "tags" / "mlflow.runName").write_text("r\u00e9")
    (run / "tags" / "bad").write_bytes(b"\xff\xfe")
    (run / "metrics" / "loss").write_text("1 0.5 0\n")
    (run / "metrics" / "nested" / "acc").write_text("1 0.9 0\n")
    (run / "metrics" / "nested" / "deeper" / "f1").write_text("1 0.7 0\n")
    (run / "metrics" / "nested_after").write_text("1 1 0\n")  # sorts after "nested/" as a path
    (run / "metrics" / "big").write_bytes(b"1 2 3\n" * 2000)  # past max_read below: listed only
    (run / "artifacts" / "model" / "MLmodel").write_text("flavors: {}\n")
    (run / "artifacts" / "notes.txt").write_text("hello")
    (run / "inputs" / "ds1" / "meta.yaml").write_text("source_id: x\n")
    (root / "1" / "other").mkdir()
    (root / "1" / "other" / "meta.yaml").write_text("outside the folder\n")
    return run


def _paths(run: Path, root: Path) -> list[str]:
    rel = [str(p.relative_to(root)) for p in sorted(run.rglob("*"))]
    return ["1/abc", *rel, "1/abc/missing", "1/abc/params/lr/x", "1/other", "1/other/meta.yaml", "1", ""]


def _answers(store: Any, path: str) -> tuple[object, ...]:
    def attempt(fn: Callable[..., object], *args: object) -> object:
        try:
            result = fn(*args)
        except OSError as exc:
            return (type(exc).__name__, exc.errno)
        return list(result) if isinstance(result, (list, Iterator)) else result  # type: ignore[arg-type]

    def tree(path: str) -> dict[str, object]:
        return {k: v if isinstance(v, bytes) else type(v).__name__ for k, v in store.read_tree(path).items()}

    return (
        attempt(store.ls, path),
        attempt(store.kind, path),
        attempt(store.read_bytes, path),
        attempt(store.read_head, path, 3),
        attempt(lambda p: b"".join(store.read_chunks(p, 7)), path),
        attempt(tree, path),
        attempt(store.walk_files, path),
        attempt(store.is_dir, path),
        attempt(store.is_file, path),
    )


def test_a_folder_view_answers_as_the_store_does(tmp_path: Path) -> None:
    run = _run_folder(tmp_path)
    store = LocalStore(tmp_path, str(tmp_path))
    view = read_folder(store, "1/abc", str(run), frozenset({"artifacts"}), max_read=5000)
    assert isinstance(view, FolderView)
    # what was read, and what was only listed (artifacts; a file past max_read)
    assert "1/abc/params/lr" in view.files and "1/abc/metrics/big" not in view.files
    assert not any("artifacts" in p for p in view.files)
    for path in _paths(run, tmp_path):
        assert _answers(view, path) == _answers(store, path), path
    assert list(view.read_tree("1/abc/metrics")) == sorted(store.read_tree("1/abc/metrics"))


def test_the_budget_leaves_the_rest_to_the_store(tmp_path: Path) -> None:
    run = _run_folder(tmp_path)
    store = LocalStore(tmp_path, str(tmp_path))
    view = read_folder(store, "1/abc", str(run), frozenset({"artifacts"}), budget=10)
    assert view is not None and sum(map(len, view.files.values())) <= 10 + 12_000
    for path in _paths(run, tmp_path):
        assert _answers(view, path) == _answers(store, path), path


def test_the_store_hands_out_a_view_or_itself(tmp_path: Path) -> None:
    _run_folder(tmp_path)
    store = LocalStore(tmp_path, str(tmp_path))
    assert isinstance(store.folder("1/abc"), FolderView)
    assert store.folder("1/missing") is store
    assert store.folder("1/abc/meta.yaml") is store  # a file
    assert store.folder("../1") is store
    view = store.folder("1/abc")
    assert view.folder("1/abc/params") is view and isinstance(view.folder("1/other"), FolderView)


@pytest.mark.parametrize("case", ["file link", "folder link", "link out", "fifo", "too deep", "over the cap"])
def test_it_declines_what_the_store_must_decide(tmp_path: Path, case: str) -> None:
    run = _run_folder(tmp_path)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    max_depth = 64
    store = LocalStore(tmp_path, str(tmp_path))
    if case == "file link":
        os.symlink(run / "params" / "lr", run / "tags" / "alias")
    elif case == "folder link":
        os.symlink(run / "params", run / "metrics" / "linked")
    elif case == "link out":
        os.symlink(outside / "secret", run / "params" / "leak")
    elif case == "fifo":
        os.mkfifo(run / "params" / "fifo")
    elif case == "too deep":
        max_depth = 4  # 1/abc/metrics/nested/deeper is five folders down
    else:
        store.max_file_size = 100
    assert read_folder(store, "1/abc", str(run), frozenset({"artifacts"}), max_depth=max_depth) is None
    assert store.folder("1/abc") is store or case == "too deep"


def test_a_linked_run_folder_is_the_store_s_to_follow(tmp_path: Path) -> None:
    run = _run_folder(tmp_path)
    os.symlink(run, tmp_path / "1" / "linked")
    store = LocalStore(tmp_path, str(tmp_path))
    assert store.folder("1/linked") is store  # O_NOFOLLOW: LocalStore resolves (and checks) the link
    assert store.read_bytes("1/linked/params/lr") == b"0.1"


def test_the_reader_reads_the_same_through_views(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every MLflow fixture store, read with run and model folders read in one pass and with the
    store answering each call, gives the same records."""
    from mlreport.readers import ReadOptions
    from mlreport.readers.mlflow_file import MlflowFileReader

    data = Path(__file__).parent / "data" / "mlflow"
    roots = sorted({p.parent.parent for p in data.rglob("meta.yaml") if p.parent.parent.name == "mlruns"})
    assert roots
    for root in roots:
        store = LocalStore(root, str(root))
        viewed = [repr(r) for r in MlflowFileReader().read(store, "", ReadOptions())]
        with monkeypatch.context() as m:
            m.setattr(LocalStore, "folder", lambda self, path, list_only=frozenset(), max_read=0: self)
            plain = [repr(r) for r in MlflowFileReader().read(LocalStore(root, str(root)), "", ReadOptions())]
        assert viewed == plain, root
