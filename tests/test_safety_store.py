"""A local store is read inside its root only (mlreport.stores.LocalStore).

Links that leave the store are not followed and are named in a Problem; special files are never
opened; link loops end; every read stops at the size cap. The hostile entries are made here
(links, FIFOs, sockets, sparse files), never committed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

from mlreport.catalog import read_catalog, to_jsonable
from mlreport.config import Config, SourceConfig, load_config
from mlreport.errors import ConfigError
from mlreport.stores import LocalStore, RefusedPath, open_store

from .conftest import DATA, to_memory

V3 = DATA / "mlflow" / "v3_file" / "mlruns"
EXP = "716778322394665320"
RUN = "95134758cdb849a6bde5e7dd86a16770"
OTHER = "822a0d611673450fb905fbdf696bba6d"


@pytest.fixture
def mlruns(tmp_path: Path) -> Path:
    shutil.copytree(V3, tmp_path / "mlruns")
    return tmp_path / "mlruns"


def _crawl(store: Path, **config: object) -> tuple[dict[str, object], dict[str, str]]:
    """The catalog as JSON and its problems as {path: reason}, read on a thread with a deadline
    (a FIFO or a loop used to hang the crawl: a hang fails the test instead of the run)."""
    result: dict[str, object] = {}

    def run() -> None:
        result["catalog"] = read_catalog(Config(sources=(SourceConfig(str(store)),), **config))  # type: ignore[arg-type]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the crawl hangs"
    catalog = result["catalog"]
    problems = {p.origin.path: p.reason for p in catalog.problems}  # type: ignore[attr-defined]
    return to_jsonable(catalog), problems  # type: ignore[arg-type]


def _text(data: object) -> str:
    return json.dumps(data, ensure_ascii=False)


def _param(catalog: dict[str, object], run: str, key: str) -> object:
    for r in catalog["runs"]:  # type: ignore[attr-defined]
        if r["id"] == run:
            return r["params"].get(key)
    raise AssertionError(f"no run {run}")


def test_a_param_linked_to_the_environment_is_not_read(mlruns: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLREPORT_TEST_SECRET", "hunter2-very-secret")
    param = mlruns / EXP / RUN / "params" / "lr"
    param.unlink()
    param.symlink_to("/proc/self/environ")
    catalog, problems = _crawl(mlruns)
    assert "hunter2-very-secret" not in _text(catalog)
    assert problems[f"{EXP}/{RUN}/params/lr"] == (
        f"cannot read param: a symbolic link that leads outside the store (to /proc/{os.getpid()}/environ)"
    )
    assert _param(catalog, RUN, "lr") is None
    assert any(r["id"] == RUN and r["metrics"] for r in catalog["runs"])  # type: ignore[attr-defined]  # the rest is read


def test_a_tag_linked_to_etc_passwd_is_not_read(mlruns: Path) -> None:
    tag = mlruns / EXP / RUN / "tags" / "mlflow.runName"
    tag.unlink()
    tag.symlink_to("/etc/passwd")
    catalog, problems = _crawl(mlruns)
    assert "root:" not in _text(catalog)
    assert problems[f"{EXP}/{RUN}/tags/mlflow.runName"] == (
        "cannot read tag: a symbolic link that leads outside the store (to /etc/passwd)"
    )


def test_an_experiment_linked_to_etc_lists_nothing_of_etc(mlruns: Path) -> None:
    (mlruns / "77").symlink_to("/etc")
    catalog, problems = _crawl(mlruns)
    assert problems == {"77": "a symbolic link that leads outside the store (to /etc)"}
    assert "passwd" not in _text(catalog)


def test_links_inside_the_store_are_followed(mlruns: Path) -> None:
    params = mlruns / EXP / RUN / "params"
    (params / "alias").symlink_to(params / "lr")
    (mlruns / EXP / "linked-run").symlink_to(mlruns / EXP / OTHER)
    store = LocalStore(mlruns, str(mlruns))
    assert store.read_bytes(f"{EXP}/{RUN}/params/alias") == (params / "lr").read_bytes()
    assert store.read_tree(f"{EXP}/{RUN}/params")["alias"] == (params / "lr").read_bytes()
    assert [e.name for e in store.ls(EXP) if e.is_dir and e.name == "linked-run"] == ["linked-run"]
    assert store.read_bytes(f"{EXP}/linked-run/meta.yaml") == (mlruns / EXP / OTHER / "meta.yaml").read_bytes()
    assert store.refused == {}


def test_an_intermediate_folder_link_out_of_the_store_is_refused(mlruns: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "meta.yaml").write_text("secret: 1\n")
    (mlruns / "42").symlink_to(outside)
    store = LocalStore(mlruns, str(mlruns))
    for read in (store.read_bytes, store.read_text, lambda p: store.read_head(p, 4)):
        with pytest.raises(RefusedPath) as exc:
            read("42/meta.yaml")
        assert exc.value.strerror == f"a symbolic link that leads outside the store (to {outside})"
    with pytest.raises(RefusedPath), store.local_copy("42/meta.yaml"):
        pass
    assert store.kind("42") is None
    assert store.kind("42/meta.yaml") is None
    assert store.ls("42") == []
    assert store.read_tree("42") == {}
    assert store.refused == {"42": f"a symbolic link that leads outside the store (to {outside})"}


def test_special_files_are_never_opened(mlruns: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = mlruns / EXP / RUN
    os.mkfifo(run / "params" / "fifo")  # opening it for reading would block forever
    os.mkfifo(run / "meta.yaml.fifo")
    sock = socket.socket(socket.AF_UNIX)
    monkeypatch.chdir(run / "tags")  # a socket's path must be short
    sock.bind("sock")
    monkeypatch.undo()
    try:
        catalog, problems = _crawl(mlruns)
    finally:
        sock.close()
    assert problems[f"{EXP}/{RUN}/params/fifo"] == "cannot read param: a FIFO, not a regular file"
    assert problems[f"{EXP}/{RUN}/tags/sock"] == "cannot read tag: a socket, not a regular file"
    assert _param(catalog, RUN, "lr") is not None
    store = LocalStore(mlruns, str(mlruns))
    for read in (store.read_bytes, lambda p: store.read_head(p, 4)):
        with pytest.raises(RefusedPath) as exc:
            read(f"{EXP}/{RUN}/meta.yaml.fifo")
        assert exc.value.strerror == "a FIFO, not a regular file"


def test_a_device_is_never_opened(mlruns: Path) -> None:
    target = mlruns / EXP / RUN / "params" / "zero"
    try:
        os.mknod(target, 0o600 | 0o020000, os.makedev(1, 5))  # a character device: /dev/zero
    except PermissionError:
        pytest.skip("no permission to make a device node here")
    store = LocalStore(mlruns, str(mlruns))
    with pytest.raises(RefusedPath) as exc:
        store.read_bytes(f"{EXP}/{RUN}/params/zero")
    assert exc.value.strerror == "a character device, not a regular file"
    assert isinstance(store.read_tree(f"{EXP}/{RUN}/params")["zero"], RefusedPath)


def test_a_link_to_dev_zero_is_refused(mlruns: Path) -> None:
    (mlruns / EXP / RUN / "params" / "zero").symlink_to("/dev/zero")
    _catalog, problems = _crawl(mlruns)
    assert problems[f"{EXP}/{RUN}/params/zero"] == (
        "cannot read param: a symbolic link that leads outside the store (to /dev/zero)"
    )


def test_link_loops_end(mlruns: Path) -> None:
    (mlruns / "selfloop").symlink_to("selfloop")
    (mlruns / EXP / "up").symlink_to("..")
    (mlruns / EXP / RUN / "params" / "a").symlink_to("b")
    (mlruns / EXP / RUN / "params" / "b").symlink_to("a")
    catalog, problems = _crawl(mlruns)
    assert problems["selfloop"] == "a symbolic link loop"
    assert problems[f"{EXP}/up"] == "a symbolic link loop"
    assert problems[f"{EXP}/{RUN}/params/a"] == "cannot read param: a symbolic link loop"
    assert len(catalog["runs"]) == len(_crawl(V3)[0]["runs"])  # type: ignore[arg-type]


def test_a_two_link_loop_ends(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "b" / "c").mkdir(parents=True)
    (root / "a" / "x").symlink_to(root / "b" / "c")
    (root / "b" / "c" / "y").symlink_to(root / "b")
    store = LocalStore(root, str(root))
    files = list(store.walk_files(""))
    assert files == []
    assert store.refused == {"a/x/y": "a symbolic link loop", "b/c/y": "a symbolic link loop"}


def test_reads_stop_at_the_size_cap(mlruns: Path) -> None:
    big = mlruns / EXP / RUN / "params" / "big"
    big.write_bytes(b"x" * 2048)
    _catalog, problems = _crawl(mlruns, max_file_size=1024)
    assert problems[f"{EXP}/{RUN}/params/big"] == (
        "cannot read param: larger than the 1 KiB limit per file (max_file_size in mlreport.yml)"
    )
    store = LocalStore(mlruns, str(mlruns), max_file_size=1024)
    assert store.read_head(f"{EXP}/{RUN}/params/big", 10) == b"x" * 10  # a head is not the whole file
    with pytest.raises(RefusedPath):
        store.read_bytes(f"{EXP}/{RUN}/params/big")


def test_a_huge_sparse_file_is_refused_without_reading_it(mlruns: Path) -> None:
    huge = mlruns / EXP / RUN / "params" / "huge"
    with open(huge, "wb") as f:
        f.truncate(64 * 1024**3)  # 64 GiB of holes: reading it would take the machine's memory
    store = LocalStore(mlruns, str(mlruns))
    with pytest.raises(RefusedPath) as exc:
        store.read_bytes(f"{EXP}/{RUN}/params/huge")
    assert exc.value.strerror == "larger than the 512 MiB limit per file (max_file_size in mlreport.yml)"


def test_the_cap_applies_to_bucket_stores(mlruns: Path) -> None:
    (mlruns / EXP / RUN / "params" / "big").write_bytes(b"x" * 2048)
    url = to_memory(mlruns)
    store = open_store(url, max_file_size=1024)
    list(store.walk_files(""))  # the listing holds the sizes
    with pytest.raises(RefusedPath) as exc:
        store.read_bytes(f"{EXP}/{RUN}/params/big")
    assert exc.value.strerror == "larger than the 1 KiB limit per file (max_file_size in mlreport.yml)"
    assert store.read_bytes(f"{EXP}/{RUN}/params/lr") == (mlruns / EXP / RUN / "params" / "lr").read_bytes()


def test_paths_that_escape_are_refused(mlruns: Path) -> None:
    store = LocalStore(mlruns, str(mlruns))
    for bad in ("../x", "/etc/passwd", f"{EXP}/../../x", "a\x00b"):
        with pytest.raises(FileNotFoundError):
            store.read_bytes(bad)


def test_max_file_size_in_the_config(tmp_path: Path) -> None:
    cfg = tmp_path / "mlreport.yml"
    for text, want in (("64MB", 64 << 20), ("1 GiB", 1 << 30), ("512k", 512 << 10), ("1000", 1000)):
        cfg.write_text(f"max_file_size: {text}\n")
        assert load_config(cfg).max_file_size == want
    cfg.write_text("max_file_size: lots\n")
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    assert str(exc.value) == "mlreport.yml: max_file_size: expected a size such as 512MB, found 'lots'"


def test_streamed_reads_are_confined_too(mlruns: Path) -> None:
    params = mlruns / EXP / RUN / "params"
    (params / "out").symlink_to("/etc/passwd")
    os.mkfifo(params / "fifo")
    store = LocalStore(mlruns, str(mlruns))
    for name, reason in (
        ("out", "a symbolic link that leads outside the store (to /etc/passwd)"),
        ("fifo", "a FIFO, not a regular file"),
    ):
        with pytest.raises(RefusedPath) as exc:
            list(store.read_chunks(f"{EXP}/{RUN}/params/{name}"))
        assert exc.value.strerror == reason
    assert b"".join(store.read_chunks(f"{EXP}/{RUN}/params/lr", 1)) == (params / "lr").read_bytes()


def test_a_file_source_given_as_a_link_is_read(tmp_path: Path) -> None:
    # the confinement is for what a store holds; the file the user names may be a link anywhere
    real = tmp_path / "data" / "real.db"
    real.parent.mkdir()
    shutil.copy(DATA / "mlflow" / "v3_sqlite" / "mlflow.db", real)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "mlflow.db").symlink_to(real)
    catalog, problems = _crawl(tmp_path / "proj" / "mlflow.db")
    assert catalog["runs"] and problems == {}


def test_the_identity_of_a_file_is_taken_only_inside_the_store(tmp_path: Path) -> None:
    # What a cache keys a file's bytes by (LocalStore.regular_file_stat): never a file reached by
    # '..', by a folder link out of the store, or a link, folder or special file.
    root = tmp_path / "store"
    (root / "inside").mkdir(parents=True)
    (root / "inside" / "a.txt").write_text("a")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    (root / "out").symlink_to(outside)
    (root / "in").symlink_to(root / "inside")
    (root / "link.txt").symlink_to(root / "inside" / "a.txt")
    os.mkfifo(root / "fifo")
    store = LocalStore(root, str(root))
    st = store.regular_file_stat("inside/a.txt")
    assert st is not None and st.st_ino == (root / "inside" / "a.txt").stat().st_ino
    assert store.regular_file_stat("in/a.txt") == st  # a folder link inside the store is followed
    refused_paths = ("../outside/secret.txt", "out/secret.txt", "link.txt", "inside", "fifo", "missing", "/etc/passwd")
    for refused in (*refused_paths, "a\x00b"):
        assert store.regular_file_stat(refused) is None, refused
