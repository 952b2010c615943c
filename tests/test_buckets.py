"""Stores in buckets, against real servers on 127.0.0.1 (see tests/buckets.py).

Every reader gives the same catalog from a bucket as from the local folder, and the same site;
faults (throttling, a prefix the credentials may not list, an object deleted mid-crawl, a server
stopped mid-crawl, wrong credentials, a missing bucket, an endpoint that does not answer) end in
Problems or in one clear line with exit status 1; and nothing is ever written to the bucket,
checked by listing it with checksums before and after.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlreport.catalog import read_catalog, to_jsonable
from mlreport.config import Config, SourceConfig
from mlreport.errors import StoreAccessError
from mlreport.stores import FsspecStore, open_store

from .buckets import (
    AzureServer,
    FaultProxy,
    GcsServer,
    Request,
    S3Server,
    azurite,
    free_port,
    gcs_emulator,
    moto_server,
    s3_error,
    seaweedfs,
)
from .conftest import DATA, ROOT

pytestmark = pytest.mark.bucket

# (case under tests/data, the source inside it): one per format and backend
CASES = {
    "mlflow-3-file": ("mlflow/v3_file", "mlruns"),
    "mlflow-2-file": ("mlflow/v2_file", "mlruns"),
    "mlflow-3-sqlite": ("mlflow/v3_sqlite", "mlflow.db"),
    "mlflow-2-sqlite": ("mlflow/v2_sqlite", "mlflow.db"),
    "mlflow-broken": ("mlflow/broken", "mlruns"),
    "wandb": ("wandb/offline", ""),
    "hf": ("hf/full", ""),
    "dvc": ("dvc/pipeline", ""),
    "tensorboard": ("tensorboard/logdir", ""),
}


# ---------------------------------------------------------------------------------------------
# servers (one of each per session; the fault tests that stop a server start their own)


@pytest.fixture(scope="session")
def weed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with seaweedfs(tmp_path_factory.mktemp("weed")) as server:
        server.make_bucket("fixtures")
        upload(server.admin_fs(), DATA, "fixtures", [c for c, _ in CASES.values()])
        yield server


@pytest.fixture(scope="session")
def moto() -> Iterator[S3Server]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with moto_server() as server:
        server.make_bucket("fixtures")
        upload(server.admin_fs(), DATA, "fixtures", ["mlflow/v3_file"])
        yield server


@pytest.fixture(scope="session")
def azure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureServer]:
    with azurite(tmp_path_factory.mktemp("azurite")) as server:
        fs = server.admin_fs()
        fs.mkdir("fixtures")
        upload(fs, DATA, "fixtures", ["mlflow/v3_file", "mlflow/v3_sqlite"])
        yield server


@pytest.fixture(scope="session")
def gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsServer]:
    with gcs_emulator(tmp_path_factory.mktemp("gcs")) as server:
        fs = server.admin_fs()
        fs.mkdir("fixtures")
        upload(fs, DATA, "fixtures", ["mlflow/v3_file", "mlflow/v3_sqlite"])
        yield server


def upload(fs: Any, base: Path, dest: str, cases: list[str]) -> None:
    """Copy tests/data/<case> to <dest>/<case> with a writable client (test set-up only)."""
    for case in cases:
        for dirpath, _dirs, names in os.walk(base / case):
            for name in names:
                path = Path(dirpath) / name
                # one by one: gcp-storage-emulator answers concurrent uploads very slowly
                fs.pipe_file(f"{dest}/{path.relative_to(base).as_posix()}", path.read_bytes())


def bucket_digest(fs: Any, prefix: str) -> dict[str, str]:
    """Every object under ``prefix`` with a checksum of its content: compared before and after
    a crawl to prove that nothing was created, changed or deleted."""
    fs.invalidate_cache()
    out = {}
    for path in sorted(fs.find(prefix)):
        out[path] = hashlib.sha256(fs.cat_file(path)).hexdigest()
    return out


def catalog_json(url: str, options: dict[str, Any] | None = None, **config: Any) -> str:
    catalog = read_catalog(Config(sources=(SourceConfig(url, storage_options=options or {}),), **config))
    return json.dumps(to_jsonable(catalog), sort_keys=True, indent=1)


def local_source(case: str, inner: str) -> str:
    return str(DATA / case / inner) if inner else str(DATA / case)


def remote_source(scheme: str, case: str, inner: str) -> str:
    return f"{scheme}://fixtures/{case}" + (f"/{inner}" if inner else "")


# ---------------------------------------------------------------------------------------------
# every reader, the same from a bucket


@pytest.mark.parametrize("name", list(CASES))
def test_every_format_reads_the_same_from_seaweedfs(weed: S3Server, name: str) -> None:
    case, inner = CASES[name]
    local, remote = local_source(case, inner), remote_source("s3", case, inner)
    before = bucket_digest(weed.admin_fs(), f"fixtures/{case}")
    expected = catalog_json(local)
    got = catalog_json(remote, weed.storage_options())
    assert got == expected
    assert bucket_digest(weed.admin_fs(), f"fixtures/{case}") == before


def test_moto_azure_and_gcs_read_the_same(moto: S3Server, azure: AzureServer, gcs: GcsServer) -> None:
    for case, inner, servers in (
        (
            "mlflow/v3_file",
            "mlruns",
            [("s3", moto.storage_options()), ("az", azure.storage_options()), ("gs", gcs.storage_options())],
        ),
        ("mlflow/v3_sqlite", "mlflow.db", [("az", azure.storage_options()), ("gs", gcs.storage_options())]),
    ):
        local = local_source(case, inner)
        expected = catalog_json(local)
        for scheme, options in servers:
            remote = remote_source(scheme, case, inner)
            assert catalog_json(remote, options) == expected, scheme


def test_a_public_bucket_reads_anonymously(moto: S3Server) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=moto.endpoint,
        aws_access_key_id=moto.key,
        aws_secret_access_key=moto.secret,
        region_name="us-east-1",
    )
    moto.make_bucket("public-runs")
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": ["arn:aws:s3:::public-runs", "arn:aws:s3:::public-runs/*"],
    }
    client.put_bucket_policy(
        Bucket="public-runs", Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    upload(moto.admin_fs(), DATA, "public-runs", ["mlflow/v3_file"])
    url, options = "s3://public-runs/mlflow/v3_file/mlruns", {"anon": True, "endpoint_url": moto.endpoint}
    store = open_store(url, options)
    assert isinstance(store, FsspecStore) and store._direct is not None  # unsigned direct GETs
    assert catalog_json(url, options) == catalog_json(local_source("mlflow/v3_file", "mlruns"))
    files = [rel for rel, _size in store.walk_files("")]
    assert all(isinstance(v, bytes) for v in store.read_many(files).values())
    assert store._direct.enabled  # no answer made it fall back to s3fs


def test_the_site_is_byte_identical(weed: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlreport.site import build_site

    monkeypatch.chdir(tmp_path)
    case, inner = CASES["mlflow-3-file"]
    local, remote = local_source(case, inner), remote_source("s3", case, inner)
    sites = {}
    for name, url, options in (("local", local, {}), ("bucket", remote, weed.storage_options())):
        out = tmp_path / name
        build_site(Config(sources=(SourceConfig(url, storage_options=options, label="store"),), output=str(out)))
        sites[name] = {
            p.relative_to(out).as_posix(): p.read_bytes().replace(remote.encode(), local.encode())
            for p in sorted(out.rglob("*"))
            if p.is_file()
        }
    assert sites["bucket"].keys() == sites["local"].keys()
    differing = [k for k in sites["local"] if sites["local"][k] != sites["bucket"][k]]
    assert differing == []
    secret = weed.secret.encode()
    assert not any(secret in data for data in sites["bucket"].values())


def test_listing_is_one_snapshot_and_reads_are_gets(weed: S3Server) -> None:
    """Through a recording proxy: a crawl sends only GET/HEAD, lists each prefix once, and
    never asks for the same object twice."""
    case, inner = CASES["mlflow-3-file"]
    with FaultProxy(weed.endpoint) as proxy:
        seen: list[Request] = []

        def record(req: Request) -> None:
            seen.append(req)

        proxy.fault = lambda req: record(req)  # type: ignore[func-returns-value]
        catalog_json(remote_source("s3", case, inner), weed.storage_options(endpoint=proxy.endpoint))
    assert {r.method for r in seen} <= {"GET", "HEAD"}
    gets = [r.path for r in seen if r.method == "GET" and "list-type" not in r.query]
    assert len(gets) == len(set(gets)) > 50
    lists = [
        (r.query.get("prefix", [""])[0], r.query.get("delimiter", [""])[0], r.query.get("continuation-token", [""])[0])
        for r in seen
        if "list-type" in r.query
    ]
    assert len(lists[1:]) == len(set(lists[1:]))  # the first is open_store's look at the root


# ---------------------------------------------------------------------------------------------
# read-only by construction


def test_no_write_call_can_reach_a_source(weed: S3Server) -> None:
    store = open_store("s3://fixtures/mlflow/v3_file", weed.storage_options())
    assert isinstance(store, FsspecStore)
    for name in (
        "pipe",
        "pipe_file",
        "put",
        "put_file",
        "rm",
        "rm_file",
        "mv",
        "copy",
        "touch",
        "mkdir",
        "makedirs",
        "rmdir",
        "setxattrs",
        "_pipe_file",
        "_rm",
        "_put_file",
    ):
        with pytest.raises(AttributeError, match="read-only"):
            getattr(store._fs, name)
    with pytest.raises(AttributeError, match="read-only"):
        store._fs.open("fixtures/mlflow/v3_file/x", "wb")
    with pytest.raises(AttributeError):
        store._fs._fs = None  # type: ignore[misc]
    assert not any(hasattr(store, n) for n in ("write_bytes", "remove", "rename", "delete"))


# ---------------------------------------------------------------------------------------------
# faults


def test_throttling_is_retried_and_changes_nothing(weed: S3Server) -> None:
    case, inner = CASES["mlflow-3-file"]
    local, remote = local_source(case, inner), remote_source("s3", case, inner)
    tries: dict[str, int] = {}

    def slow_down(req: Request) -> tuple[int, dict[str, str], bytes] | None:
        key = f"{req.method} {req.path} {sorted(req.query.items())}"
        tries[key] = tries.get(key, 0) + 1
        if tries[key] <= 2:  # the first two tries of every request
            return s3_error(503, "SlowDown", "Please reduce your request rate.")
        return None

    before = bucket_digest(weed.admin_fs(), f"fixtures/{case}")
    with FaultProxy(weed.endpoint, slow_down) as proxy:
        got = catalog_json(remote, weed.storage_options(endpoint=proxy.endpoint))
    assert len(proxy.answered) > 100
    assert got == catalog_json(local)
    assert bucket_digest(weed.admin_fs(), f"fixtures/{case}") == before


def test_a_prefix_that_cannot_be_listed_is_skipped_with_a_warning(
    weed: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    case, inner = CASES["mlflow-3-file"]
    remote = remote_source("s3", case, inner)
    store = open_store(remote, weed.storage_options())
    exp = next(e.name for e in store.ls("") if e.is_dir and e.name.isdigit() and e.name != "0")
    runs = [e.name for e in store.ls(exp) if e.is_dir and len(e.name) == 32]
    denied = f"{case}/{inner}/{exp}/{runs[0]}/"

    def deny(req: Request) -> tuple[int, dict[str, str], bytes] | None:
        if req.query.get("prefix", [""])[0].startswith(denied) or req.path.startswith(f"/fixtures/{denied}"):
            return s3_error(403, "AccessDenied", "Access Denied")
        return None

    with FaultProxy(weed.endpoint, deny) as proxy, caplog.at_level(logging.WARNING, "mlreport"):
        catalog = read_catalog(
            Config(sources=(SourceConfig(remote, storage_options=weed.storage_options(endpoint=proxy.endpoint)),))
        )
    assert proxy.answered
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    shown = f"{remote}/{exp}/{runs[0]}"
    assert [w for w in warnings if "cannot list" in w] == [
        f"mlreport: cannot list {shown}: permission denied (Access Denied); skipped"
    ]
    assert runs[0] not in {r.id for r in catalog.runs}
    assert {r.id for r in catalog.runs} >= set(runs[1:])
    # the server's own words, as the listing's warning gives them (s3fs's error for a GET)
    assert [p.reason for p in catalog.problems if runs[0] in p.origin.path] == ["permission denied: Access Denied"]


@pytest.fixture
def own_weed(tmp_path: Path) -> Iterator[tuple[S3Server, str]]:
    """A SeaweedFS of this test's own, holding a generated 40-run MLflow store."""
    store = tmp_path / "gen"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "make_mlflow_store.py"),
            str(store),
            "--runs",
            "40",
            "--versions",
            "4",
        ],
        check=True,
        capture_output=True,
    )
    with seaweedfs(tmp_path / "server") as server:
        server.make_bucket("crawl")
        assert server.filer is not None
        subprocess.run(
            ["weed", "filer.copy", "-c", "16", str(store / "mlruns"), f"http://{server.filer}/buckets/crawl/"],
            check=True,
            capture_output=True,
        )
        yield server, "s3://crawl/mlruns"


def test_an_object_deleted_mid_crawl_is_a_problem(own_weed: tuple[S3Server, str]) -> None:
    server, url = own_weed
    fs = server.admin_fs()
    runs = sorted(p.rsplit("/", 2)[-2] for p in fs.glob("crawl/mlruns/*/*/meta.yaml") if "/models/" not in p)
    lost_param = next(p for p in sorted(fs.find("crawl/mlruns")) if f"/{runs[-1]}/params/" in p)
    lost_meta = next(p for p in sorted(fs.find("crawl/mlruns")) if p.endswith(f"/{runs[-2]}/meta.yaml"))
    before = bucket_digest(fs, "crawl")

    def delete_once_listed(stage: str, done: int, total: int | None) -> None:
        if stage == "runs" and done == 0:  # listed, nothing of the runs read yet
            fs.rm_file(lost_param)
            fs.rm_file(lost_meta)

    catalog = read_catalog(
        Config(sources=(SourceConfig(url, storage_options=server.storage_options()),)), delete_once_listed
    )
    assert len(catalog.runs) == 39
    reasons = {(p.origin.path, p.reason) for p in catalog.problems}
    rel = lambda p: p.split("/", 2)[2]  # noqa: E731 - bucket/mlruns/... -> path in the store
    assert reasons == {
        (rel(lost_meta), "missing meta.yaml"),
        (rel(lost_param), "cannot read param: no such file (it may have been deleted while reading)"),
    }
    after = bucket_digest(fs, "crawl")
    assert after == {k: v for k, v in before.items() if k not in (lost_param, lost_meta)}


def test_a_server_stopped_mid_crawl_is_one_clear_error(own_weed: tuple[S3Server, str]) -> None:
    server, url = own_weed
    before = bucket_digest(server.admin_fs(), "crawl")

    def stop_once_listed(stage: str, done: int, total: int | None) -> None:
        if stage == "runs" and done == 0:
            server.stop()

    with pytest.raises(StoreAccessError) as caught:
        read_catalog(Config(sources=(SourceConfig(url, storage_options=server.storage_options()),)), stop_once_listed)
    message = str(caught.value)
    assert message.startswith(f"cannot read {url}: the server stopped answering: ")
    assert "\n" not in message and server.secret not in message
    assert server.restart is not None
    server.restart()
    assert bucket_digest(server.admin_fs(), "crawl") == before


# ---------------------------------------------------------------------------------------------
# the command line: one line, exit status 1, no secret


def run_cli(*args: str, cwd: Path, config: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    if config is not None:
        (cwd / "mlreport.yml").write_text(json.dumps(config))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        env.pop(var, None)
    return subprocess.run(
        [sys.executable, "-m", "mlreport", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def source_config(url: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"sources": [{"path": url, "storage_options": options}]}


def test_cli_builds_from_a_bucket_and_writes_no_secret(weed: S3Server, tmp_path: Path) -> None:
    url = "s3://fixtures/mlflow/v3_file/mlruns"
    done = run_cli("build", "-o", "site", "-v", cwd=tmp_path, config=source_config(url, weed.storage_options()))
    assert done.returncode == 0, done.stderr
    assert weed.secret not in done.stdout + done.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    for path in (tmp_path / "site").rglob("*"):
        if path.is_file():
            assert weed.secret.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    "fault, expected",
    [
        (
            "wrong key",
            "mlreport: cannot open s3://fixtures/mlflow/v3_file/mlruns: access denied "
            "(Forbidden); check the credentials",
        ),
        ("missing bucket", "mlreport: cannot open s3://no-such-bucket/mlruns: bucket 'no-such-bucket' does not exist"),
        (
            "unreachable",
            "mlreport: cannot open s3://fixtures/mlflow/v3_file/mlruns: cannot connect to the endpoint "
            "127.0.0.1:{port} (connection refused)",
        ),
    ],
)
def test_cli_failures_are_one_line_and_exit_1(weed: S3Server, tmp_path: Path, fault: str, expected: str) -> None:
    url = "s3://fixtures/mlflow/v3_file/mlruns"
    options = weed.storage_options()
    port = free_port()
    if fault == "wrong key":
        options = weed.storage_options(secret="not-the-secret-" + weed.secret)
    elif fault == "missing bucket":
        url = "s3://no-such-bucket/mlruns"
    else:
        options = weed.storage_options(endpoint=f"http://127.0.0.1:{port}")
    done = run_cli("build", "-o", "site", cwd=tmp_path, config=source_config(url, options))
    assert done.returncode == 1
    assert done.stderr == expected.replace("{port}", str(port)) + "\n"
    assert str(options["secret"]) not in done.stderr
    assert not (tmp_path / "site").exists()


def test_a_missing_extra_is_named(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['s3fs'] = None; from mlreport.cli import main; "
        "sys.exit(main(['build', 's3://bucket/mlruns']))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr == (
        "mlreport: cannot open s3://bucket/mlruns: the 's3' filesystem needs s3fs; install mlreport[s3]\n"
    )


# ---------------------------------------------------------------------------------------------
# the per-file cap (max_file_size) against a bucket

CAP = 100_000


@pytest.fixture(scope="module")
def capped(moto: S3Server, tmp_path_factory: pytest.TempPathFactory) -> tuple[S3Server, Path]:
    """mlflow/v3_file with one param of 300 KB (over CAP), uploaded as fixtures/capped."""
    import shutil

    local = tmp_path_factory.mktemp("capped") / "capped"
    shutil.copytree(DATA / "mlflow" / "v3_file", local)
    run = next(p for p in (local / "mlruns").glob("*/*") if (p / "params").is_dir())
    (run / "params" / "big").write_bytes(b"x" * 300_000)
    upload(moto.admin_fs(), local.parent, "fixtures", ["capped"])
    return moto, run


def _problems(doc: str) -> list[str]:
    return [f"{p['path']}: {p['reason']}" for p in json.loads(doc)["problems"]]


def test_an_object_over_the_cap_is_refused_from_its_listed_size_without_a_get(capped: tuple[S3Server, Path]) -> None:
    server, run = capped
    big = f"{run.parent.name}/{run.name}/params/big"
    seen: list[Request] = []
    with FaultProxy(server.endpoint, lambda req: seen.append(req)) as proxy:  # type: ignore[arg-type,func-returns-value]
        doc = catalog_json(
            "s3://fixtures/capped/mlruns", server.storage_options(endpoint=proxy.endpoint), max_file_size=CAP
        )
    gets = [r.path for r in seen if r.method == "GET" and "list-type" not in r.query]
    assert len(gets) > 50 and not any(p.endswith(big) for p in gets)
    mine = [p for p in _problems(doc) if big in p]
    assert len(mine) == 1 and "larger than the 100000 bytes limit per file" in mine[0], mine
    assert "the server sent more" not in mine[0]  # refused from the listing, not from a GET
    params = {r["id"]: r["params"] for r in json.loads(doc)["runs"]}
    assert "big" not in params[run.name] and params[run.name]  # the run's other params are read


@pytest.mark.parametrize("direct", [True, False], ids=["direct-gets", "through-s3fs"])
def test_a_server_that_sends_more_than_it_listed_is_refused_at_the_cap(
    capped: tuple[S3Server, Path], direct: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing says a few bytes; the GET answers 5 MB with its true Content-Length: the
    direct path refuses it from the header, the s3fs path from its length (s3fs reads it)."""
    from mlreport import stores

    if not direct:

        async def no_direct(*args: object) -> None:
            return None

        monkeypatch.setattr(stores._S3Direct, "create", no_direct)
    server, run = capped
    lr = f"{run.parent.name}/{run.name}/params/"
    victim = sorted(p.name for p in (run / "params").iterdir() if p.name != "big")[0]

    def bloat(req: Request) -> tuple[int, dict[str, str], bytes] | None:
        if req.method == "GET" and req.path.endswith(lr + victim):
            return 200, {"Content-Type": "binary/octet-stream"}, b"0" * (5 << 20)
        return None

    with FaultProxy(server.endpoint, bloat) as proxy:
        doc = catalog_json(
            "s3://fixtures/capped/mlruns", server.storage_options(endpoint=proxy.endpoint), max_file_size=CAP
        )
    assert proxy.answered
    mine = [p for p in _problems(doc) if p.startswith(lr + victim)]
    assert len(mine) == 1 and "larger than the 100000 bytes limit" in mine[0] and "the server sent more" in mine[0], (
        mine
    )
    params = {r["id"]: r["params"] for r in json.loads(doc)["runs"]}
    assert victim not in params[run.name] and sum(map(len, params.values())) > 10  # the rest is read


def test_an_endless_body_is_cut_off_at_the_cap(capped: tuple[S3Server, Path]) -> None:
    """A GET answered with a chunked body that never ends (no length to refuse it by): the
    direct path stops reading a little past the cap and hangs up; the crawl goes on."""
    server, run = capped
    path = f"{run.parent.name}/{run.name}/params/"
    victim = sorted(p.name for p in (run / "params").iterdir() if p.name != "big")[0]

    def endless(req: Request) -> tuple[int, dict[str, str], Iterator[bytes]] | None:
        if req.method == "GET" and req.path.endswith(path + victim):
            return 200, {"Content-Type": "binary/octet-stream"}, (b"0" * 65536 for _ in range(1 << 14))  # 1 GiB
        return None

    with FaultProxy(server.endpoint, endless) as proxy:  # type: ignore[arg-type]
        doc = catalog_json(
            "s3://fixtures/capped/mlruns", server.storage_options(endpoint=proxy.endpoint), max_file_size=CAP
        )
    mine = [p for p in _problems(doc) if p.startswith(path + victim)]
    assert len(mine) == 1 and "larger than the 100000 bytes limit" in mine[0], mine
    # what the kernel's socket buffers took before the client hung up, not the gigabyte
    assert 0 < proxy.sent < 64 << 20, proxy.sent


# Through the backend libraries (s3fs when the direct path is off, gcsfs, adlfs) an object is
# read in pieces, or asked for as a range, of at most the cap and one byte: a body past the cap,
# whatever the listing said, is refused without being read whole.


@pytest.fixture(scope="module")
def capped_buckets(
    moto: S3Server, azure: AzureServer, gcs: GcsServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path]:
    import shutil

    local = tmp_path_factory.mktemp("capped-all") / "capped"
    shutil.copytree(DATA / "mlflow" / "v3_file", local)
    run = next(p for p in (local / "mlruns").glob("*/*") if (p / "params").is_dir())
    servers: dict[str, Any] = {"s3": moto, "gs": gcs, "az": azure}
    for server in servers.values():
        upload(server.admin_fs(), local.parent, "fixtures", ["capped"])
    return servers, run


def _victim(run: Path) -> str:
    return sorted(p.name for p in (run / "params").iterdir())[0]


def _refused(doc: str, victim_path: str) -> list[str]:
    return [p for p in _problems(doc) if p.startswith(victim_path) and "larger than the 100000 bytes limit" in p]


@pytest.mark.parametrize("scheme", ["s3", "gs"])
def test_an_endless_body_through_the_library_is_cut_off_at_the_cap(
    capped_buckets: tuple[dict[str, Any], Path], scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlreport import stores

    async def no_direct(*args: object) -> None:
        return None

    monkeypatch.setattr(stores._S3Direct, "create", no_direct)
    servers, run = capped_buckets
    server = servers[scheme]
    victim = f"{run.parent.name}/{run.name}/params/{_victim(run)}"
    quoted = victim.replace("/", "%2F")

    def endless(req: Request) -> tuple[int, dict[str, str], Iterator[bytes]] | None:
        if req.method == "GET" and (req.path.endswith(victim) or req.path.endswith(quoted)):
            return 200, {"Content-Type": "binary/octet-stream"}, (b"0" * 65536 for _ in range(1 << 14))  # 1 GiB
        return None

    with FaultProxy(server.endpoint, endless) as proxy:  # type: ignore[arg-type]
        options = (
            server.storage_options(endpoint=proxy.endpoint)
            if scheme == "s3"
            else {**server.storage_options(), "endpoint_url": proxy.endpoint}
        )
        doc = catalog_json(f"{scheme}://fixtures/capped/mlruns", options, max_file_size=CAP)
    assert proxy.answered
    assert len(_refused(doc, victim)) == 1, _problems(doc)
    assert 0 < proxy.sent < 64 << 20, proxy.sent  # what socket buffers took before the hang-up
    params = {r["id"]: r["params"] for r in json.loads(doc)["runs"]}
    assert sum(map(len, params.values())) > 10  # the rest is read


def test_an_object_grown_past_the_cap_after_the_listing_is_read_only_to_the_cap_on_azure(
    capped_buckets: tuple[dict[str, Any], Path],
) -> None:
    servers, run = capped_buckets
    server: AzureServer = servers["az"]
    victim = f"{run.parent.name}/{run.name}/params/{_victim(run)}"
    admin = server.admin_fs()
    grown: list[int] = []

    def grow(req: Request) -> None:
        # the first GET of the victim finds it replaced by 5 MB (the listing said a few bytes)
        if req.method == "GET" and req.path.endswith(victim) and not grown:
            admin.pipe_file(f"fixtures/capped/mlruns/{victim}", b"0" * (5 << 20))
            grown.append(req.number)

    try:
        with FaultProxy(server.endpoint, grow) as proxy:  # type: ignore[arg-type,func-returns-value]
            conn = server.connection_string.replace(
                server.endpoint, f"{proxy.endpoint}/{server.endpoint.rsplit('/', 1)[1]}"
            )
            doc = catalog_json("az://fixtures/capped/mlruns", {"connection_string": conn}, max_file_size=CAP)
    finally:
        admin.pipe_file(f"fixtures/capped/mlruns/{victim}", (run / "params" / _victim(run)).read_bytes())
    assert grown
    assert len(_refused(doc, victim)) == 1, _problems(doc)
    assert proxy.forwarded < (5 << 20), proxy.forwarded  # asked for a range: never the 5 MB
