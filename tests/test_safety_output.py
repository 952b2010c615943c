"""The source is sacred and the site is published whole (mlreport.publish).

An output or work folder that is, holds or sits inside a source is refused before anything is
written; so is a folder of someone else's files. A build that fails, is interrupted or killed
leaves the previous site byte-identical, and two builds of one output never mix.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlreport import publish
from mlreport.cli import main
from mlreport.errors import BuildError, UsageError

from .conftest import DATA, ROOT, tree_digest

V3 = DATA / "mlflow" / "v3_file" / "mlruns"
SQLITE = DATA / "mlflow" / "v3_sqlite" / "mlflow.db"


@pytest.fixture
def project(chdir_tmp: Path) -> Path:
    """A project folder with a store in it (``store/``) and a file beside it."""
    shutil.copytree(V3, chdir_tmp / "store")
    (chdir_tmp / "notes.txt").write_text("mine\n")
    return chdir_tmp


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


def _mlreport(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mlreport", *args],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# ---------------------------------------------------------------------------------------------
# refused outputs


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("store", "cannot write the site to store: it is a source; choose another output folder with -o"),
        (".", "cannot write the site to .: it holds the source store; choose another output folder with -o"),
        (
            "store/site",
            "cannot write the site to store/site: it is inside the source store; choose a folder outside it with -o",
        ),
        (
            "store/0",
            "cannot write the site to store/0: it is inside the source store; choose a folder outside it with -o",
        ),
    ],
)
def test_output_over_inside_or_around_the_source_is_refused(
    project: Path, output: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_digest(project)
    assert main(["build", "store", "-o", output, "-q"]) == 2
    assert capsys.readouterr().err == f"mlreport: {reason}\n"
    assert tree_digest(project) == before


def test_output_above_the_source_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inner = project / "inner"
    inner.mkdir()
    shutil.move(str(project / "store"), str(inner / "store"))
    os.chdir(inner)
    before = tree_digest(project)
    assert main(["build", "store", "-o", "..", "-q"]) == 2
    assert capsys.readouterr().err == (
        f"mlreport: cannot write the site to {project}: it holds the source store; choose another output folder with -o\n"
    )
    assert tree_digest(project) == before


def test_the_work_folder_is_checked_too(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the work folder of "out" is ".out.mlreport": a source there must stop the build too
    (project / ".out.mlreport").mkdir()
    shutil.copytree(V3, project / ".out.mlreport" / "mlruns")
    before = tree_digest(project)
    assert main(["build", ".out.mlreport/mlruns", "-o", "out", "-q"]) == 2
    assert capsys.readouterr().err == (
        "mlreport: cannot write the work folder to .out.mlreport: it holds the source .out.mlreport/mlruns; "
        "choose another output folder with -o\n"
    )
    assert tree_digest(project) == before


def test_a_symlink_to_the_source_is_seen_through(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "alias").symlink_to(project / "store")
    before = tree_digest(project / "store")
    assert main(["build", "store", "-o", "alias", "-q"]) == 2
    assert capsys.readouterr().err == (
        "mlreport: cannot write the site to store: it is a source; choose another output folder with -o\n"
    )
    assert tree_digest(project / "store") == before


def test_a_file_source_cannot_be_the_output(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(SQLITE, chdir_tmp / "mlflow.db")
    before = tree_digest(chdir_tmp)
    assert main(["build", "mlflow.db", "-o", "mlflow.db", "-q"]) == 2
    assert capsys.readouterr().err == (
        "mlreport: cannot write the site to mlflow.db: it is a source; choose another output folder with -o\n"
    )
    assert main(["build", "mlflow.db", "-o", ".", "-q"]) == 2
    assert capsys.readouterr().err == (
        "mlreport: cannot write the site to .: it holds the source mlflow.db; choose another output folder with -o\n"
    )
    assert tree_digest(chdir_tmp) == before


def test_sources_in_the_config_are_resolved_from_its_folder(
    chdir_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = chdir_tmp / "proj"
    shutil.copytree(V3, proj / "mlruns")
    (proj / "mlreport.yml").write_text("sources: [mlruns]\noutput: mlruns/site\n")
    before = tree_digest(proj)
    assert main(["build", "-c", "proj/mlreport.yml", "-o", "proj/mlruns/site", "-q"]) == 2
    assert capsys.readouterr().err == (
        "mlreport: cannot write the site to proj/mlruns/site: it is inside the source proj/mlruns; "
        "choose a folder outside it with -o\n"
    )
    assert tree_digest(proj) == before


def test_a_folder_of_other_files_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "docs").mkdir()
    (project / "docs" / "index.md").write_text("# my docs\n")
    before = tree_digest(project)
    assert main(["build", "store", "-o", "docs", "-q"]) == 2
    assert capsys.readouterr().err == (
        "mlreport: cannot write the site to docs: it holds files mlreport did not write; "
        "choose an empty or new folder, or delete it first\n"
    )
    assert main(["build", "store", "-o", "notes.txt", "-q"]) == 2
    assert capsys.readouterr().err == "mlreport: cannot write the site to notes.txt: it is a file, not a folder\n"
    assert tree_digest(project) == before


def test_refusal_leaves_no_work_folder(project: Path) -> None:
    (project / "docs").mkdir()
    (project / "docs" / "x").write_text("x")
    assert main(["build", "store", "-o", "docs", "-q"]) == 2
    assert sorted(p.name for p in project.iterdir()) == ["docs", "notes.txt", "store"]  # refused: nothing
    assert main(["build", "nowhere", "-o", "site", "-q"]) == 2
    # failed on its source: no site and no work folder; only folders marked as ours (the build cache)
    left = sorted(p.name for p in project.iterdir() if p.name not in ("docs", "notes.txt", "store"))
    assert "site" not in left and ".site.mlreport" not in left
    assert all(publish.is_ours(project / name) for name in left)


def test_an_empty_folder_and_a_previous_site_are_accepted(project: Path) -> None:
    (project / "site").mkdir()
    assert main(["build", "store", "-q"]) == 0
    assert (project / "site" / publish.MARKER).is_file()
    assert (project / "site" / "index.html").is_file()
    first = tree_digest(project / "site")
    (project / "site" / "stale.html").write_text("from an old build")
    assert main(["build", "store", "-q"]) == 0  # ours: replaced whole, stale files gone
    assert tree_digest(project / "site") == first


def test_check_output_directly(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    publish.check_output(tmp_path / "out", [tmp_path / ".out.mlreport"], [src, "s3://bucket/x"])
    with pytest.raises(UsageError):
        publish.check_output(tmp_path, [], [f"file://{src}"])
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "a").write_text("a")
    with pytest.raises(UsageError):
        publish.check_output(theirs, [], [])
    publish.mark(theirs)
    publish.check_output(theirs, [], [])
    # a marker that is a symlink is not a marker
    other = tmp_path / "other"
    other.mkdir()
    (other / "a").write_text("a")
    (other / publish.MARKER).symlink_to(theirs / publish.MARKER)
    with pytest.raises(UsageError):
        publish.check_output(other, [], [])


# ---------------------------------------------------------------------------------------------
# the swap


def _site(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(text)
    (folder / "sub").mkdir()
    (folder / "sub" / "page.html").write_text(text * 2)
    return folder


def test_atomic_replace_swaps_and_removes_the_old(tmp_path: Path) -> None:
    site = _site(tmp_path / "site", "old")
    publish.mark(site)
    new = _site(publish.staging_dir_for(site), "new")
    publish.atomic_replace(new, site)
    assert (site / "index.html").read_text() == "new"
    assert (site / publish.MARKER).is_file()
    assert not new.exists()
    assert not (publish.work_dir_for(site) / publish.OLD_NAME).exists()


def test_atomic_replace_without_exchange_and_recovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Filesystems without renameat2(RENAME_EXCHANGE) take two renames; a stop between them is
    # undone by the next build (recover).
    monkeypatch.setattr(publish, "_exchange", lambda a, b: False)
    site = _site(tmp_path / "site", "old")
    publish.mark(site)
    new = _site(publish.staging_dir_for(site), "new")
    publish.atomic_replace(new, site)
    assert (site / "index.html").read_text() == "new"
    old = publish.work_dir_for(site) / publish.OLD_NAME
    assert not old.exists()
    # the state a SIGKILL between the renames leaves: the site moved aside, the new not in place
    site.rename(old)
    publish.recover(site)
    assert (site / "index.html").read_text() == "new"
    assert not old.exists()


def test_the_old_site_is_removed_only_when_ours(tmp_path: Path) -> None:
    folder = _site(tmp_path / "x", "theirs")
    with pytest.raises(BuildError) as exc:
        publish._remove_old(folder)
    assert str(exc.value).endswith("x: it holds files mlreport did not write")
    assert (folder / "index.html").is_file()


# ---------------------------------------------------------------------------------------------
# the lock


def test_the_lock_refuses_a_second_build_in_one_line(project: Path) -> None:
    site = project / "site"
    with publish.output_lock(site), publish.output_lock(site):  # reentrant in one process
        proc = _mlreport("build", "store", cwd=project)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert err == f"mlreport: cannot build site: another mlreport build is writing it (pid {os.getpid()})\n"
    assert not site.exists()
    # released: the next build runs, and a lock left by nobody leaves no work folder behind
    assert main(["build", "store", "-q"]) == 0


def test_a_failed_first_build_leaves_nothing(project: Path) -> None:
    with publish.output_lock(project / "site"):
        assert (project / ".site.mlreport" / publish.LOCK_NAME).is_file()
    assert not (project / ".site.mlreport").exists()


def test_concurrent_builds_never_mix(project: Path) -> None:
    assert main(["build", "store", "-q", "-o", "reference"]) == 0
    reference = tree_digest(project / "reference")
    for _trial in range(2):
        procs = [_mlreport("build", "store", "-q", cwd=project) for _ in range(3)]
        results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
        assert any(code == 0 for code, _ in results), results
        for code, err in results:
            if code != 0:
                assert code == 1
                assert err.startswith("mlreport: cannot build site: another mlreport build is writing it (pid "), err
                assert err.count("\n") == 1, err
            else:
                assert err == ""
        assert tree_digest(project / "site") == reference


# ---------------------------------------------------------------------------------------------
# interrupted builds


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _kill_while_building(project: Path, sig: int) -> tuple[subprocess.Popen[str], list[int]]:
    """Start a build and send ``sig`` once the builder subprocess is writing the staged site."""
    proc = _mlreport("build", "store", "-q", "--title", "Changed", cwd=project)
    staging = publish.staging_dir_for(project / "site")
    deadline = time.monotonic() + 120
    builders: list[int] = []
    while time.monotonic() < deadline and proc.poll() is None:
        builders = _children(proc.pid)
        if builders and staging.exists():
            break
        time.sleep(0.005)
    assert builders, "the build ended before its builder started"
    proc.send_signal(sig)
    proc.wait(timeout=60)
    return proc, builders


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_a_killed_build_leaves_the_old_site(project: Path, sig: int) -> None:
    assert main(["build", "store", "-q"]) == 0
    old = tree_digest(project / "site")
    proc, builders = _kill_while_building(project, sig)
    assert proc.returncode != 0
    # the builder dies with mlreport and never touches the published site afterwards
    deadline = time.monotonic() + 10
    while any(_alive(b) for b in builders) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(b) for b in builders)
    time.sleep(0.5)
    assert tree_digest(project / "site") == old
    # the next build takes the lock the killed one held and publishes normally
    assert main(["build", "store", "-q", "--title", "Changed"]) == 0
    assert tree_digest(project / "site") != old


def test_a_failed_builder_leaves_the_old_site(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "store", "-q"]) == 0
    old = tree_digest(project / "site")
    (project / "mkdocs.yml").write_text("site_name: Mine\nplugins:\n  - no-such-plugin\n")
    assert main(["build", "store", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err and 'File "' not in err
    assert tree_digest(project / "site") == old


def test_a_crashing_builder_is_one_line_without_its_traceback(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a real MkDocs hook that raises: MkDocs prints the whole traceback on stderr
    (project / "hook.py").write_text('def on_config(config):\n    raise ValueError("the hook broke")\n')
    (project / "mkdocs.yml").write_text("site_name: Mine\nhooks:\n  - hook.py\n")
    assert main(["build", "store", "-q"]) == 1
    assert capsys.readouterr().err == "mlreport: cannot build the site: mkdocs failed: ValueError: the hook broke\n"
    assert not (project / "site").exists()


def test_builder_failure_keeps_the_error_lines_only() -> None:
    from mlreport.build import builder_failure

    output = (
        "INFO    -  Building documentation...\n"
        "WARNING -  a warning\n"
        "Traceback (most recent call last):\n"
        '  File "/x/y.py", line 3, in <module>\n'
        "    foo()\n"
        "ValueError: bad thing\n"
    )
    assert builder_failure(output) == "ValueError: bad thing"
    assert builder_failure(
        "ERROR    -  Config value 'plugins': The \"x\" plugin is not installed\n\nAborted with 1 configuration errors!\n"
    ) == "ERROR: Config value 'plugins': The \"x\" plugin is not installed; Aborted with 1 configuration errors!"
    assert builder_failure("E" * 1000).endswith("…")
    assert len(builder_failure("E" * 1000)) == 400
