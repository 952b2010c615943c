"""``mlreport serve``: a preview that rebuilds when the source changes."""

from __future__ import annotations

import shutil
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from mlreport.config import Config, SourceConfig
from mlreport.serve import serve

from .conftest import DATA


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
        return str(response.read().decode("utf-8"))


def test_serves_and_rebuilds_on_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "mlruns"
    shutil.copytree(DATA / "mlflow" / "v3_file" / "mlruns", store)
    config = Config(sources=(SourceConfig(str(store)),), output=str(tmp_path / "site"))
    stop = threading.Event()
    urls: list[str] = []
    ready = threading.Event()

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    thread = threading.Thread(target=serve, args=(config, 0), kwargs={"stop": stop, "ready": on_ready}, daemon=True)
    thread.start()
    try:
        assert ready.wait(60), "the first build did not finish"
        url = urls[0]
        assert url.startswith("http://127.0.0.1:")
        assert "fixture model" in _get(url + "models/")
        name_file = next(p for p in store.glob("*/*/tags/mlflow.runName") if p.read_text() == "candidate")
        run_id = name_file.parent.parent.name
        name_file.write_text("candidate-renamed")
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            if "candidate-renamed" in _get(f"{url}runs/{run_id}/"):
                break
            time.sleep(0.5)
        else:
            pytest.fail("the site was not rebuilt after the source changed")
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_a_busy_port_is_one_line_before_any_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    from mlreport.cli import main

    monkeypatch.chdir(tmp_path)
    shutil.copytree(DATA / "mlflow" / "v3_file" / "mlruns", tmp_path / "mlruns")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "mlruns", "--port", str(port)]) == 2
    assert capsys.readouterr().err == (
        f"mlreport: cannot serve on 127.0.0.1:{port}: it is in use; choose another with --port\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlruns"]  # nothing was built
