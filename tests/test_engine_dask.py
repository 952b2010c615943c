"""A Dask cluster whose workers do not see the building machine's folders still builds the
same bytes: the histories, the user's templates and the theme's files travel with the context
(:mod:`mlreport.engine.remote`).

The two workers run in their own mount namespace (``unshare -m``) with an empty tmpfs mounted
over the build's folder, so the cache (and the histories in it), the templates, the user's
``mkdocs.yml`` and its ``custom_dir`` do not exist for them, as on another machine.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlreport.config import Config, SourceConfig
from mlreport.site import build_site

from .conftest import DATA, ROOT, tree_digest

V3 = DATA / "mlflow" / "v3_file"


def _can_unshare() -> bool:
    try:
        done = subprocess.run(["unshare", "-m", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.fixture
def blind_cluster(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Iterator[str]:
    """A scheduler and two workers on 127.0.0.1; the workers cannot see ``tmp_path``."""
    pytest.importorskip("distributed")
    if not _can_unshare():
        pytest.skip("needs unshare -m (a mount namespace) to hide the build's folder from the workers")
    shared = tmp_path_factory.mktemp("scheduler")
    scheduler_file = shared / "scheduler.json"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0"]
            + ["--no-dashboard", "--scheduler-file", str(scheduler_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=shared,
        )
    ]
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        hide = shlex.quote(str(tmp_path))
        worker = shlex.join(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file)]
            + ["--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1", "--local-directory", str(shared)]
        )
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    ["unshare", "-m", "sh", "-c", f"mount -t tmpfs none {hide} && cd / && exec {worker}"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                )
            )
        import distributed

        with distributed.Client(scheduler_file=str(scheduler_file), timeout=120) as client:
            client.wait_for_workers(2, timeout=120)
            address = str(client.scheduler.address)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_workers_without_the_build_folders_give_the_local_bytes(
    blind_cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import distributed

    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Team docs\n")
    (tmp_path / "overrides").mkdir()
    (tmp_path / "overrides" / "main.html").write_text(
        '{% extends "base.html" %}{% block announce %}custom-dir-was-here{% endblock %}'
    )
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Team\ndocs_dir: docs\ntheme:\n  name: material\n  custom_dir: overrides\n"
    )
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "run.html.j2").write_text(
        '{% extends "default:run.html.j2" %}{% block summary %}<p>user-template-was-here</p>{{ super() }}{% endblock %}'
    )
    sources = (SourceConfig(str(ROOT / "site_example")), SourceConfig(str(V3)))
    common = {"sources": sources, "templates": "templates", "mkdocs": "mkdocs.yml"}
    build_site(Config(output="local", **common), jobs=1)  # type: ignore[arg-type]

    with distributed.Client(blind_cluster) as client:
        seen = client.run(os.path.exists, str(tmp_path / "mkdocs.yml"))
    assert list(seen.values()) == [False, False], "the workers must not see the build's folder"

    build_site(Config(output="dask", scheduler=blind_cluster, **common))  # type: ignore[arg-type]
    assert tree_digest(tmp_path / "local") == tree_digest(tmp_path / "dask")
    run_pages = list((tmp_path / "dask" / "reports" / "runs").glob("*/index.html"))
    assert run_pages
    page = run_pages[0].read_text()
    assert "user-template-was-here" in page and "custom-dir-was-here" in page
    # the charts need the histories, which sat in the build cache the workers cannot see
    assert "data-figure" in "".join(p.read_text() for p in run_pages)
