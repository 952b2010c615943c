"""The command line: exit statuses and messages, asserted in full."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlreport import __version__
from mlreport.cli import main

from .conftest import DATA, tree_digest

BROKEN = DATA / "mlflow" / "broken" / "mlruns"
V3 = DATA / "mlflow" / "v3_file" / "mlruns"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlreport", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"mlreport {__version__}\n"


def test_no_source_and_no_config_says_what_to_pass(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build"]) == 2
    assert capsys.readouterr().err == (
        "mlreport: nothing to build: pass a SOURCE (an mlruns/ folder, an mlflow.db file, a project "
        "folder or a bucket URL) or list sources in mlreport.yml\n"
    )


def test_missing_source(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "nowhere/mlruns", "-q"]) == 2
    assert capsys.readouterr().err == "mlreport: cannot open nowhere/mlruns: no such file or directory\n"
    assert not (chdir_tmp / "site").exists()


def test_folder_that_is_not_a_store(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (chdir_tmp / "empty" / "sub").mkdir(parents=True)
    (chdir_tmp / "empty" / "notes.txt").write_text("hello")
    assert main(["build", "empty", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "mlreport: cannot read empty: not a store of a known format (looked for MLflow file store, MLflow SQLite"
    )
    assert err.count("\n") == 1


def test_file_that_is_not_a_database(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (chdir_tmp / "mlflow.db").write_text("not sqlite")
    assert main(["build", "mlflow.db", "-q"]) == 2
    assert capsys.readouterr().err == (
        "mlreport: cannot read mlflow.db: not an SQLite database: its first bytes are not SQLite's header "
        "(damaged, or another format)\n"
    )


def test_a_damaged_or_foreign_sqlite_file_says_so(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    whole = (DATA / "mlflow" / "v3_sqlite" / "mlflow.db").read_bytes()
    (chdir_tmp / "mlflow.db").write_bytes(whole[:3000])  # cut short: the schema page is gone
    assert main(["build", "mlflow.db", "-q"]) == 2
    assert capsys.readouterr().err == (
        "mlreport: cannot read mlflow.db: a damaged SQLite database (database disk image is malformed)\n"
    )
    assert [p.name for p in chdir_tmp.glob("mlflow.db*")] == ["mlflow.db"]  # no -journal, -wal or -shm
    assert (chdir_tmp / "mlflow.db").read_bytes() == whole[:3000]
    other = chdir_tmp / "other" / "app.db"
    other.parent.mkdir()
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.commit()
    conn.close()
    assert main(["build", "other/app.db", "-q"]) == 2
    assert capsys.readouterr().err == (
        "mlreport: cannot read other/app.db: an SQLite database without MLflow's tables (it has: users)\n"
    )


def test_unknown_format(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", str(V3), "--format", "mlfow"]) == 2
    assert capsys.readouterr().err.startswith("mlreport: unknown format 'mlfow' (known: mlflow, mlflow-sql")


def test_broken_store_builds_and_lists_problems(tmp_path: Path) -> None:
    store = tmp_path / "mlruns"
    shutil.copytree(BROKEN, store)
    before = tree_digest(store)
    result = run_cli("build", "mlruns", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if ": warning: " in line]
    assert warnings == [
        "mlreport: warning: cannot read mlruns/1/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/meta.yaml: missing meta.yaml",
        "mlreport: warning: cannot read mlruns/1/cccccccccccccccccccccccccccccccc/meta.yaml: invalid YAML at line 2: did not find expected ',' or ']'",
        "mlreport: warning: cannot read mlruns/1/dddddddddddddddddddddddddddddddd/meta.yaml: missing field 'run_id'",
        "mlreport: warning: cannot read mlruns/1/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee/metrics/loss: 2 line(s) are not '<timestamp> <value> <step>' (line 11, 12); skipped",
        "mlreport: warning: cannot read mlruns/1/ffffffffffffffffffffffffffffffff/params/binary: param value is not UTF-8 text",
        "mlreport: warning: cannot read mlruns/7/meta.yaml: missing meta.yaml; its runs are listed under experiment 7",
    ]
    assert "Traceback" not in result.stderr
    problems = (tmp_path / "out" / "problems" / "index.html").read_text()
    assert "mlruns/1/dddddddddddddddddddddddddddddddd/meta.yaml" in problems
    assert "missing field &#39;run_id&#39;" in problems or "missing field 'run_id'" in problems
    assert (tmp_path / "out" / "runs" / ("a" * 32) / "index.html").is_file()
    assert (tmp_path / "out" / "runs" / ("0" * 32) / "index.html").is_file()
    assert not (tmp_path / "out" / "runs" / ("d" * 32)).exists()
    assert tree_digest(store) == before  # nothing under the source was created, changed or deleted

    strict = run_cli("build", "mlruns", "-o", "out", "--strict", "-q", cwd=tmp_path)
    assert strict.returncode == 1
    assert strict.stderr.splitlines()[-1] == "mlreport: error: 6 record(s) could not be read (--strict)"


def test_inspect_prints_the_catalog(tmp_path: Path) -> None:
    result = run_cli("inspect", str(V3), "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert sorted(data) == [
        "datasets",
        "experiments",
        "hidden",
        "logged_models",
        "models",
        "problems",
        "runs",
        "skipped",
        "stores",
        "versions",
    ]
    assert [v["version"] for v in data["versions"]] == ["1", "2"]
    assert data["stores"] == [{"reader": "mlflow", "path": ""}]


def test_config_file_sources_and_errors(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (chdir_tmp / "mlreport.yml").write_text("sources:\n  - path: x\n    format: mlfow\n")
    assert main(["build"]) == 2
    assert capsys.readouterr().err == (
        "mlreport: mlreport.yml: sources[0].format: unknown format 'mlfow'; did you mean 'mlflow'? (known: mlflow, mlflow-sql, "
        "wandb, hf, dvc, tensorboard, manifest, clearml)\n"
    )
    (chdir_tmp / "mlreport.yml").write_text("titel: x\n")
    assert main(["build"]) == 2
    assert capsys.readouterr().err.startswith(
        "mlreport: mlreport.yml: titel: unknown key; did you mean 'title'? (known: "
    )
    (chdir_tmp / "mlreport.yml").write_text("sources: [a\n")
    assert main(["build"]) == 2
    assert capsys.readouterr().err == "mlreport: cannot read mlreport.yml: invalid YAML at line 2\n"


def test_config_errors_are_all_reported_at_once(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (chdir_tmp / "mlreport.yml").write_text(
        "titel: x\n"
        "sources:\n"
        "  - path: a\n"
        "    fromat: mlflow\n"
        "  - 3\n"
        "  - {label: x}\n"
        "key_metrics: {a: 1}\n"
        "metric_goals: {loss: down}\n"
        "builder: sphinx\n"
        "jobs: 0\n"
        "max_file_size: lots\n"
        "promote:\n"
        "  - {model: m, version: bad}\n"
        "  - {modle: m}\n"
    )
    assert main(["build", "-q"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "mlreport: mlreport.yml: titel: unknown key; did you mean 'title'? (known: artifacts, baseline, builder, "
        "cache_dir, gates, history, include_deleted, jobs, key_metrics, max_document_size, max_file_size, "
        "max_line_size, max_record_size, metric_goals, mkdocs, output, prefix, promote, scheduler, shared_models, site_url, sources, templates, title)",
        "mlreport: mlreport.yml: sources[0].fromat: unknown key; did you mean 'format'? "
        "(known: format, label, path, storage_options)",
        "mlreport: mlreport.yml: sources[1]: expected a mapping, found a number",
        "mlreport: mlreport.yml: sources[2]: missing key 'path'",
        "mlreport: mlreport.yml: key_metrics: expected a list of strings, found a mapping",
        "mlreport: mlreport.yml: metric_goals.loss: expected min or max, found 'down'",
        "mlreport: mlreport.yml: max_file_size: expected a size such as 512MB, found 'lots'",
        "mlreport: mlreport.yml: builder: unknown builder 'sphinx' (known: mkdocs, mkdocs-full, zensical, properdocs)",
        "mlreport: mlreport.yml: jobs: expected a whole number of 1 or more, found 0",
        "mlreport: mlreport.yml: promote[0].version: expected one of sequence, run_name, run_id, found 'bad'",
        "mlreport: mlreport.yml: promote[1].modle: unknown key; did you mean 'model'? "
        "(known: experiment, model, only_finished, params, tags, version)",
        "mlreport: mlreport.yml: promote[1]: missing key 'model'",
    ]


def test_a_closed_stdout_ends_quietly(tmp_path: Path) -> None:
    # `mlreport inspect | head -1`: the reader goes away before the JSON is written
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent / "src")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlreport", "inspect", str(V3), "-q", "--history"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the crawl ends, so the first write meets a closed pipe
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert err == b""


def test_names_that_match_nothing_are_warnings_with_the_closest_name(
    chdir_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (chdir_tmp / "mlreport.yml").write_text(
        f"sources: [{V3}]\n"
        "output: out\n"
        "key_metrics: [loss, eval_ac, zzzz]\n"
        "metric_goals: {best_los: min, loss: min}\n"
        "gates:\n"
        "  - {metric: final_accc, min: 0.5}\n"
        "  - {metric: loss, max: 1, model: fixture-model}\n"
        "promote:\n"
        "  - {model: m, experiment: fixture-mian, tags: {coment: '*'}, params: {lr: '*', batchsize: '*'}}\n"
    )
    assert main(["inspect"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "mlreport.yml" in line]
    assert warnings == [
        "mlreport: warning: mlreport.yml: key_metrics[1]: no metric 'eval_ac' in any run; did you mean 'eval_acc'?",
        "mlreport: warning: mlreport.yml: key_metrics[2]: no metric 'zzzz' in any run",
        "mlreport: warning: mlreport.yml: metric_goals.best_los: no metric 'best_los' in any run; did you mean 'best_loss'?",
        "mlreport: warning: mlreport.yml: gates[0].metric: no run logs 'final_accc'; did you mean 'final_acc'?",
        "mlreport: warning: mlreport.yml: gates[1].model: 'fixture-model' matches no model (models: fixture model)",
        "mlreport: warning: mlreport.yml: promote[0].experiment: no experiment matches 'fixture-mian'; "
        "did you mean 'fixture-main'?",
        "mlreport: warning: mlreport.yml: promote[0].tags.coment: no run has the tag 'coment'; did you mean 'comment'?",
        "mlreport: warning: mlreport.yml: promote[0].params.batchsize: no run has the param 'batchsize'; "
        "did you mean 'batch_size'?",
    ]


@pytest.mark.parametrize("protocol", ["gs", "s3"])
def test_an_unreachable_bucket_is_one_line(chdir_tmp: Path, protocol: str) -> None:
    # nothing listens on the port: the filesystems would retry for most of a minute and log a
    # traceback per try; mlreport says it in one line at once (the trace only with -v)
    import socket

    pytest.importorskip({"gs": "gcsfs", "s3": "s3fs"}[protocol])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: a port nobody listens on
    options = {"endpoint_url": f"http://127.0.0.1:{port}"}
    options.update({"token": "anon"} if protocol == "gs" else {"anon": True})
    (chdir_tmp / "mlreport.yml").write_text(
        json.dumps({"sources": [{"path": f"{protocol}://bucket/mlruns", "storage_options": options}]})
    )
    result = run_cli("inspect", cwd=chdir_tmp)
    assert result.returncode == 1
    assert result.stderr == (
        f"mlreport: cannot open {protocol}://bucket/mlruns: cannot connect to the endpoint "
        f"127.0.0.1:{port} (connection refused)\n"
    )
    assert result.stdout == ""
