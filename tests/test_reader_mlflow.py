"""The MLflow readers on stores written by real mlflow 2.22.5 and 3.17.2, both backends."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mlreport.catalog import Catalog, read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.model import RunStatus

from .conftest import DATA, to_memory, tree_digest

STORES = {
    "v3_file": DATA / "mlflow" / "v3_file" / "mlruns",
    "v3_sqlite": DATA / "mlflow" / "v3_sqlite" / "mlflow.db",
    "v2_file": DATA / "mlflow" / "v2_file" / "mlruns",
    "v2_sqlite": DATA / "mlflow" / "v2_sqlite" / "mlflow.db",
}


def read(path: str | Path, **kwargs: object) -> Catalog:
    return read_catalog(Config(sources=(SourceConfig(str(path)),), **kwargs))  # type: ignore[arg-type]


def by_name(catalog: Catalog) -> dict[str, object]:
    return {r.name: r for r in catalog.runs}


@pytest.fixture(scope="module", params=sorted(STORES))
def store(request: pytest.FixtureRequest) -> tuple[str, Catalog]:
    return request.param, read(STORES[request.param])


def test_reads_every_active_run_and_leaves_deleted_ones_out(store: tuple[str, Catalog]) -> None:
    _, catalog = store
    names = sorted(r.name for r in catalog.runs)
    assert names == sorted(
        [
            "<script>alert(1)</script>",
            "baseline",
            "candidate",
            "failed-run",
            "killed-run",
            "still-running",
            "sweep",
            "trial-lr0.01",
            "trial-lr0.1",
        ]
    )
    assert sorted(e.name for e in catalog.experiments) == ["Default", "fixture-main"]
    assert catalog.problems == ()


def test_deleted_records_are_read_with_a_flag(store: tuple[str, Catalog]) -> None:
    name, _ = store
    catalog = read(STORES[name], include_deleted=True)
    runs = {r.name: r for r in catalog.runs}
    assert runs["deleted-run"].deleted and runs["orphan"].deleted
    assert not runs["baseline"].deleted
    deleted_exp = next(e for e in catalog.experiments if e.name == "fixture-deleted")
    assert deleted_exp.deleted


def test_statuses_users_and_times(store: tuple[str, Catalog]) -> None:
    _, catalog = store
    runs = by_name(catalog)
    assert runs["failed-run"].status is RunStatus.FAILED  # type: ignore[attr-defined]
    assert runs["killed-run"].status is RunStatus.KILLED  # type: ignore[attr-defined]
    assert runs["still-running"].status is RunStatus.RUNNING  # type: ignore[attr-defined]
    assert runs["still-running"].end_time is None  # type: ignore[attr-defined]
    assert runs["still-running"].user is None  # "unknown" means no user  # type: ignore[attr-defined]
    base = runs["baseline"]
    assert base.status is RunStatus.FINISHED  # type: ignore[attr-defined]
    assert base.user == "root"  # type: ignore[attr-defined]
    assert base.start_time is not None and base.end_time >= base.start_time  # type: ignore[attr-defined]


def test_params_tags_notes_and_git(store: tuple[str, Catalog]) -> None:
    _, catalog = store
    base = by_name(catalog)["baseline"]
    assert dict(base.params) == {"batch_size": "32", "epochs": "5", "lr": "0.01", "optimizer": "adam"}  # type: ignore[attr-defined]
    assert base.tags["owner"] == "alice"  # type: ignore[attr-defined]
    assert base.description == "# Baseline\n\nFirst run, *markdown* note."  # type: ignore[attr-defined]
    assert base.git.commit and len(base.git.commit) == 40  # type: ignore[attr-defined]
    evil = by_name(catalog)["<script>alert(1)</script>"]
    assert evil.params["pipes"] == "a|b *c* [x](y)"  # type: ignore[attr-defined]


def test_metric_history_final_min_max(store: tuple[str, Catalog]) -> None:
    name, catalog = store
    base = by_name(catalog)["baseline"]
    loss = base.metric("loss")  # type: ignore[attr-defined]
    assert loss is not None and loss.count == 5 and loss.final_step == 4
    # the step-0 line that log_model appends again is not a sixth point nor the final value
    history = catalog.history(base.key, "loss")  # type: ignore[attr-defined]
    assert history is not None and list(history.steps) == [0, 1, 2, 3, 4]
    assert loss.final == history.values[-1] == loss.minimum
    assert base.metric("train/loss") is not None  # a key with "/" (nested dirs in file stores)
    assert base.metric("val/acc").count == 5  # type: ignore[union-attr]
    if name.startswith("v3"):
        eval_acc = base.metric("eval_acc")  # type: ignore[attr-defined]
        assert eval_acc.final_step == 4 and eval_acc.count == 1 and eval_acc.final == pytest.approx(0.81)
    weird_run = by_name(catalog)["<script>alert(1)</script>"]
    weird = weird_run.metric("weird")  # type: ignore[attr-defined]
    values = list(catalog.history(weird_run.key, "weird").values)  # type: ignore[attr-defined, union-attr]
    assert math.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf and values[3] == 0.5
    assert weird.minimum == -math.inf and weird.maximum == math.inf and weird.final == 0.5


def test_nested_runs(store: tuple[str, Catalog]) -> None:
    _, catalog = store
    runs = by_name(catalog)
    sweep = runs["sweep"]
    children = {catalog.run_by_key[k].name for k in catalog.children_by_run[sweep.key]}  # type: ignore[attr-defined]
    assert children == {"trial-lr0.1", "trial-lr0.01"}


def test_datasets_and_inputs(store: tuple[str, Catalog]) -> None:
    _, catalog = store
    names = {d.name for d in catalog.datasets}
    assert names == {"train-ds", "eval-ds"}
    train = next(d for d in catalog.datasets if d.name == "train-ds")
    assert train.digest and train.key == f"train-ds@{train.digest}"
    assert train.source == "s3://fixture-bucket/train.parquet"
    base = by_name(catalog)["baseline"]
    contexts = {(catalog.dataset_by_key[i.dataset_key].name, i.context) for i in base.inputs}  # type: ignore[attr-defined]
    assert contexts == {("train-ds", "training"), ("eval-ds", "validation")}


def test_registry_versions_aliases_stages(store: tuple[str, Catalog]) -> None:
    name, catalog = store
    assert [m.name for m in catalog.models] == ["fixture model"]
    model = catalog.models[0]
    assert dict(model.aliases) == {"champion": "2"}
    assert model.description == "Doubles its input. Registered name has a space."
    assert model.tags["task"] == "regression"
    v1, v2 = catalog.versions
    assert (v1.version, v1.stage, v1.aliases) == ("1", "Staging", ())
    assert (v2.version, v2.stage, v2.aliases) == ("2", None, ("champion",))
    assert v1.tags["validation_status"] == "approved"
    assert catalog.run_by_key[v1.run_key].name == "baseline"  # type: ignore[index]
    assert catalog.run_by_key[v2.run_key].name == "candidate"  # type: ignore[index]
    # version -> logged model: MLflow 3 LoggedModel, or the 2.x model inside the run's artifacts
    lm = catalog.logged_model_by_key[v2.logged_model_key]  # type: ignore[index]
    assert lm.run_key == v2.run_key
    assert any(a.path == "MLmodel" for a in lm.artifacts)


def test_artifact_uris_from_another_machine_resolve_against_the_store(store: tuple[str, Catalog]) -> None:
    _, catalog = store
    base = by_name(catalog)["baseline"]
    paths = {a.path for a in base.artifacts}  # type: ignore[attr-defined]
    assert {"notes.txt", "config/config.json", "report/sub/deep/values.csv"} <= paths
    assert all(a.size is not None and a.size > 0 for a in base.artifacts)  # type: ignore[attr-defined]
    # the URIs still name the writing machine's absolute paths
    assert base.artifact_uri.startswith(("file:///work/main/", "/work/main/"))  # type: ignore[attr-defined]


def test_file_and_sqlite_backends_agree() -> None:
    for version in ("v2", "v3"):
        a = read(STORES[f"{version}_file"])
        b = read(STORES[f"{version}_sqlite"])

        def summary(c: Catalog) -> object:
            return sorted(
                (
                    r.name,
                    r.status,
                    dict(r.params),
                    {m.key: (m.final, m.count) for m in r.metrics if not math.isnan(m.final)},
                    r.user,
                    len(r.inputs),
                )
                for r in c.runs
            )

        assert summary(a) == summary(b), version
        assert [(v.model, v.version, v.stage, v.aliases) for v in a.versions] == [
            (v.model, v.version, v.stage, v.aliases) for v in b.versions
        ]


@pytest.mark.parametrize("name", ["v3_file", "v2_file", "v3_sqlite"])
def test_memory_store_reads_the_same_as_local(name: str) -> None:
    local = read(STORES[name])
    src = STORES[name]
    root = src.parent if src.is_file() else src
    url = to_memory(root)
    remote = read(url + ("/" + src.name if src.is_file() else ""))

    def strip(c: Catalog) -> object:
        return sorted(
            (
                r.name,
                dict(r.params),
                [(m.key, m.count) for m in r.metrics],
                [(a.path, a.size) for a in r.artifacts],
                r.origin.path,
            )
            for r in c.runs
        )

    assert strip(local) == strip(remote)
    assert [(v.model, v.version) for v in local.versions] == [(v.model, v.version) for v in remote.versions]


def test_reading_writes_nothing_into_the_store() -> None:
    before = {k: tree_digest(p.parent if p.is_file() else p) for k, p in STORES.items()}
    for p in STORES.values():
        read(p, include_deleted=True)
    after = {k: tree_digest(p.parent if p.is_file() else p) for k, p in STORES.items()}
    assert before == after


# ---------------------------------------------------------------------------------------------
# mlflow.db: opened without touching anything beside it, read with a fault boundary per table/row

V3_DB = STORES["v3_sqlite"]
NEW_RUN = "f" * 32

# A second process that writes the database the way MLflow's SQLAlchemy session does, and stays
# alive holding its connection (and, for the rollback journal modes, an open write transaction).
WRITER = r"""
import sqlite3, sys
path, mode, hold = sys.argv[1], sys.argv[2], sys.argv[3]
conn = sqlite3.connect(path, isolation_level=None)
conn.execute(f"PRAGMA journal_mode={mode}")
conn.execute("PRAGMA wal_autocheckpoint=0")
exp = conn.execute("SELECT experiment_id FROM experiments WHERE name='fixture-main'").fetchone()[0]
conn.execute(
    "INSERT INTO runs (run_uuid, name, status, start_time, lifecycle_stage, experiment_id, user_id) "
    "VALUES (?, 'from-the-writer', 'FINISHED', 1767225600000, 'active', ?, 'w')",
    (sys.argv[4], exp),
)
if hold == "transaction":
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE runs SET name = 'uncommitted' WHERE run_uuid = ?", (sys.argv[4],))
    conn.execute("CREATE TABLE filler (x)")  # dirty enough pages that some reach the file
    conn.executemany("INSERT INTO filler VALUES (?)", [(b"x" * 4000,) for _ in range(600)])
print("ready", flush=True)
sys.stdin.readline()
"""


def _snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    import hashlib

    return {
        p.name: (p.stat().st_size, p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def _db_copy(tmp_path: Path) -> Path:
    import shutil

    folder = tmp_path / "store"
    folder.mkdir()
    shutil.copyfile(V3_DB, folder / "mlflow.db")
    return folder / "mlflow.db"


def _start_writer(db: Path, mode: str, hold: str) -> object:
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), mode, hold, NEW_RUN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.parametrize(
    ("mode", "hold", "sees_new_run"),
    [
        ("WAL", "connection", True),  # -wal and -shm exist, the committed run is only in the -wal
        ("DELETE", "transaction", True),  # a hot -journal beside a half-written file
        ("TRUNCATE", "transaction", True),
        ("PERSIST", "transaction", True),
        ("DELETE", "connection", True),  # no side file at all: read in place, immutable
    ],
)
def test_a_live_writer_in_any_journal_mode_sees_no_file_created_or_changed(
    tmp_path: Path, mode: str, hold: str, sees_new_run: bool
) -> None:
    db = _db_copy(tmp_path)
    proc = _start_writer(db, mode, hold)
    try:
        before = _snapshot(db.parent)
        catalog = read(db)
        after = _snapshot(db.parent)
    finally:
        proc.communicate("\n", timeout=30)  # type: ignore[attr-defined]
    assert after == before
    names = {r.name for r in catalog.runs}
    assert ("from-the-writer" in names) is sees_new_run
    assert "uncommitted" not in names  # an open transaction is never seen half-done
    assert "baseline" in names
    assert catalog.problems == ()


def test_a_wal_without_its_shm_is_read_and_no_shm_is_created(tmp_path: Path) -> None:
    import signal

    db = _db_copy(tmp_path)
    proc = _start_writer(db, "WAL", "connection")
    proc.send_signal(signal.SIGKILL)  # type: ignore[attr-defined]
    proc.wait()  # type: ignore[attr-defined]
    db.with_name("mlflow.db-shm").unlink()
    assert db.with_name("mlflow.db-wal").stat().st_size > 0
    before = _snapshot(db.parent)
    catalog = read(db)
    assert _snapshot(db.parent) == before
    assert not db.with_name("mlflow.db-shm").exists()
    assert "from-the-writer" in {r.name for r in catalog.runs}


def _edited(tmp_path: Path, *statements: str) -> Path:
    import sqlite3

    db = _db_copy(tmp_path)
    conn = sqlite3.connect(db)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()
    return db


def _problems(catalog: Catalog) -> list[str]:
    return [f"{p.origin.path}: {p.reason}" for p in catalog.problems]


def _run_id(name: str) -> str:
    return next(r.id for r in read(V3_DB).runs if r.name == name)


def test_a_tag_that_is_not_utf8_costs_one_problem_not_the_database(tmp_path: Path) -> None:
    baseline = _run_id("baseline")
    db = _edited(
        tmp_path, f"UPDATE tags SET value = CAST(x'ff41fe' AS TEXT) WHERE key='owner' AND run_uuid='{baseline}'"
    )
    catalog = read(db)
    assert len(catalog.runs) == 9
    base = by_name(catalog)["baseline"]
    assert base.tags["owner"] == "\ufffdA\ufffd"  # type: ignore[attr-defined]
    assert _problems(catalog) == [f"mlflow.db#tags/{baseline}/owner: text is not UTF-8; invalid bytes shown as U+FFFD"]


def test_a_renamed_optional_column_is_a_problem_and_the_rest_is_read(tmp_path: Path) -> None:
    db = _edited(tmp_path, "ALTER TABLE runs RENAME COLUMN status TO run_status")
    catalog = read(db)
    assert len(catalog.runs) == 9
    assert {r.status for r in catalog.runs} == {RunStatus.RUNNING}  # MLflow reads a missing status so
    assert _problems(catalog) == ["mlflow.db#runs: table 'runs' has no column 'status'; read without it"]
    assert by_name(catalog)["baseline"].metric("loss").count == 5  # type: ignore[attr-defined]


def test_a_renamed_key_column_skips_that_table_only(tmp_path: Path) -> None:
    db = _edited(tmp_path, "ALTER TABLE metrics RENAME COLUMN value TO v")
    catalog = read(db)
    assert len(catalog.runs) == 9
    assert all(not r.metrics for r in catalog.runs)
    assert dict(by_name(catalog)["baseline"].params)["lr"] == "0.01"  # type: ignore[attr-defined]
    assert _problems(catalog) == ["mlflow.db#metrics: table 'metrics' has no column 'value'; the table is not read"]


def test_bad_cells_in_metrics_and_runs_cost_their_point_or_field(tmp_path: Path) -> None:
    baseline = _run_id("baseline")
    db = _edited(
        tmp_path,
        f"INSERT INTO metrics VALUES ('loss', 'abc', 1, '{baseline}', 7, 0)",  # text in a REAL column
        f"INSERT INTO metrics VALUES ('loss', 0.5, 2, '{baseline}', 1e20, 0)",  # step beyond int64
        f"INSERT INTO metrics VALUES ('loss', 0.5, 9.3e18, '{baseline}', 8, 0)",  # timestamp beyond int64
        f"UPDATE runs SET start_time = 1e300, end_time = 'soon' WHERE run_uuid = '{baseline}'",
    )
    catalog = read(db)
    base = by_name(catalog)["baseline"]
    assert list(catalog.history(base.key, "loss").steps) == [0, 1, 2, 3, 4]  # type: ignore[attr-defined, union-attr]
    assert base.start_time is None and base.end_time is None  # type: ignore[attr-defined]
    assert _problems(catalog) == [
        f"mlflow.db#metrics/{baseline}/loss: point skipped: step 1e+20 is not an int64",
        f"mlflow.db#metrics/{baseline}/loss: point skipped: timestamp 9.3e+18 is not an int64",
        f"mlflow.db#metrics/{baseline}/loss: point skipped: value 'abc' is not a number",
        f"mlflow.db#runs/{baseline}: end_time 'soon' is not an int64 time; shown as unknown",
        f"mlflow.db#runs/{baseline}: start_time 1e+300 is not an int64 time; shown as unknown",
    ]


def _corrupt_table(tmp_path: Path, table: str) -> Path:
    import sqlite3

    db = _db_copy(tmp_path)
    conn = sqlite3.connect(db)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    conn.close()
    with open(db, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(bytes(range(256)) * (page_size // 256))
    return db


def test_garbage_in_a_table_page_is_a_problem_naming_the_table(tmp_path: Path) -> None:
    catalog = read(_corrupt_table(tmp_path, "params"))
    assert len(catalog.runs) == 9
    assert all(not r.params for r in catalog.runs)
    problems = _problems(catalog)
    assert problems and all(p.startswith("mlflow.db#params: table 'params' cannot be read") for p in problems)
    assert by_name(catalog)["baseline"].metric("loss").count == 5  # type: ignore[attr-defined]


def test_a_damaged_database_is_named_as_a_damaged_mlflow_database(tmp_path: Path) -> None:
    db = _db_copy(tmp_path)
    with open(db, "r+b") as f:
        f.seek(100)
        f.write(b"\xff" * 12)  # the header of the schema page
    catalog = read(db)
    assert catalog.runs == ()
    assert [p.reason.split(":")[0] for p in catalog.problems] == ["damaged MLflow database"]


@pytest.mark.parametrize("seed", range(40))
def test_no_corrupted_page_crashes_the_reader(tmp_path: Path, seed: int) -> None:
    import random
    import shutil

    folder = tmp_path / f"s{seed}"
    folder.mkdir()
    db = folder / "mlflow.db"
    shutil.copyfile(V3_DB, db)
    data = bytearray(db.read_bytes())
    rng = random.Random(seed)
    page = rng.randrange(len(data) // 4096)
    for _ in range(rng.choice([1, 8, 64])):
        data[page * 4096 + rng.randrange(4096)] = rng.randrange(256)
    db.write_bytes(bytes(data))
    from mlreport.readers import ReadOptions
    from mlreport.readers.mlflow_sql import MlflowSqlReader
    from mlreport.stores import LocalStore

    records = list(
        MlflowSqlReader().read(LocalStore(folder, str(folder)), "mlflow.db", ReadOptions(include_deleted=True))
    )
    assert records  # a Problem at least


# ---------------------------------------------------------------------------------------------
# file store: bad values cost a line or a field, big files are parsed in pieces


def _file_copy(tmp_path: Path, name: str = "v3_file") -> Path:
    import shutil

    target = tmp_path / name / "mlruns"
    shutil.copytree(STORES[name], target)
    return target


def _run_dir(root: Path, run_name: str) -> Path:
    for tag in root.glob("*/*/tags/mlflow.runName"):
        if tag.read_text() == run_name:
            return tag.parent.parent
    raise AssertionError(run_name)


def test_metric_lines_beyond_int64_or_not_numbers_cost_their_line(tmp_path: Path) -> None:
    root = _file_copy(tmp_path)
    run = _run_dir(root, "candidate")
    loss = run / "metrics" / "loss"
    lines = loss.read_text().splitlines()
    loss.write_text(
        "\n".join([*lines, "1 0.5 99999999999999999999", "99999999999999999999 0.5 9", "x y z", "1 2"]) + "\n"
    )
    catalog = read(root)
    metric = by_name(catalog)["candidate"].metric("loss")  # type: ignore[attr-defined]
    assert metric.count == 9 and metric.final_step == 7  # the 8 real points and `1 2` at step 0
    rel = loss.relative_to(root.parent).as_posix()
    assert [p.reason for p in catalog.problems if p.origin.path.endswith("/loss")] == [
        f"3 line(s) are not '<timestamp> <value> <step>' (line {len(lines) + 1}, {len(lines) + 2}, "
        f"{len(lines) + 3}, 2 with a step or timestamp beyond int64); skipped"
    ]
    assert rel.endswith("metrics/loss")


def test_times_out_of_range_and_yaml_bombs_are_problems(tmp_path: Path) -> None:
    root = _file_copy(tmp_path)
    cand = _run_dir(root, "candidate") / "meta.yaml"
    cand.write_text(cand.read_text().replace("start_time: ", "start_time: 1.0e+400\nx_old_start: "))
    killed = _run_dir(root, "killed-run") / "meta.yaml"
    killed.write_text(
        'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
        + "".join(
            f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
    )
    catalog = read(root)
    runs = by_name(catalog)
    assert runs["candidate"].start_time is None  # type: ignore[attr-defined]
    assert "killed-run" not in runs and "baseline" in runs
    reasons = {
        p.origin.path.rsplit("/", 2)[-2] + "/" + p.origin.path.rsplit("/", 1)[-1]: p.reason for p in catalog.problems
    }
    assert reasons[f"{cand.parent.name}/meta.yaml"] == "start_time inf is not an int64 time; shown as unknown"
    assert reasons[f"{killed.parent.name}/meta.yaml"] == "YAML aliases expand to more than 1,000,000 nodes"


def test_a_huge_metric_file_keeps_exact_summaries_and_a_chart_sized_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlreport.readers import _mlflow_metrics, mlflow_file

    monkeypatch.setattr(_mlflow_metrics, "FULL_POINTS", 1000)
    monkeypatch.setattr(_mlflow_metrics, "BUCKETS", 100)
    monkeypatch.setattr(mlflow_file, "_STREAMED_FILE", 10_000)  # read in pieces above 10 kB
    root = _file_copy(tmp_path)
    big = _run_dir(root, "candidate") / "metrics" / "big"
    n = 50_000
    values = [((i * 7919) % 10007) / 100.0 for i in range(n)]
    values[123] = -5.0
    values[40_000] = 1e9
    values[777] = math.nan
    big.write_text("".join(f"{1767225600000 + i} {v} {i}\n" for i, v in enumerate(values)))
    monkeypatch.setattr(LocalStore_type(), "read_bytes", _refuse_big(LocalStore_type().read_bytes))
    catalog = read(root)
    candidate = by_name(catalog)["candidate"]
    metric = candidate.metric("big")  # type: ignore[attr-defined]
    assert (metric.count, metric.final, metric.final_step) == (n, values[-1], n - 1)
    assert (metric.minimum, metric.minimum_step, metric.maximum, metric.maximum_step) == (-5.0, 123, 1e9, 40_000)
    steps = list(catalog.history(candidate.key, "big").steps)  # type: ignore[attr-defined, union-attr]
    assert len(steps) <= 4 * 1000 and steps == sorted(steps) and {0, 123, 40_000, n - 1} <= set(steps)
    assert [p.reason for p in catalog.problems if p.origin.path.endswith("/big")] == [
        f"{n:,} points; {len(steps):,} kept for charts (final, min, max and count are exact; duplicate lines are counted)"
    ]


def LocalStore_type() -> type:  # noqa: N802 - reads like the class it returns
    from mlreport.stores import LocalStore

    return LocalStore


def _refuse_big(read_bytes: object) -> object:
    def guarded(self: object, path: str) -> bytes:
        data: bytes = read_bytes(self, path)  # type: ignore[operator]
        assert len(data) < 100_000 or not path.endswith("/big"), "a big metric file was read whole"
        return data

    return guarded


def test_an_experiment_id_in_mlruns_and_in_trash_is_two_experiments(tmp_path: Path) -> None:
    import shutil

    root = _file_copy(tmp_path)
    main = next(p.parent for p in root.glob("*/meta.yaml") if "name: fixture-main" in p.read_text())
    trashed = root / ".trash" / main.name
    shutil.copytree(main, trashed)
    meta = trashed / "meta.yaml"
    meta.write_text(
        meta.read_text()
        .replace("name: fixture-main", "name: fixture-main-old")
        .replace("lifecycle_stage: active", "lifecycle_stage: deleted")
    )
    for run in trashed.iterdir():
        if (run / "meta.yaml").exists() and run.name != "meta.yaml":
            shutil.move(run, trashed / ("0" * 16 + run.name[16:]))
    for run_meta in trashed.glob("*/meta.yaml"):
        run_meta.write_text(
            run_meta.read_text()
            .replace("run_id: ", "run_id: " + "0" * 16 + "x")
            .replace("x" + run_meta.parent.name[16:], "")
            .replace("run_id: " + "0" * 16, "run_id: " + run_meta.parent.name[:16])
        )
    catalog = read(root, include_deleted=True)
    exps = {e.name: e for e in catalog.experiments}
    assert exps["fixture-main"].key == f"exp:{main.name}" and not exps["fixture-main"].deleted
    assert exps["fixture-main-old"].key == f"exp:.trash/{main.name}" and exps["fixture-main-old"].deleted
    in_old = [r for r in catalog.runs if r.experiment_key == exps["fixture-main-old"].key]
    in_new = [r for r in catalog.runs if r.experiment_key == exps["fixture-main"].key]
    assert len(in_old) == len(in_new) == 11 - 1
    assert any("is also in the store outside .trash/" in p.reason for p in catalog.problems)


# ---------------------------------------------------------------------------------------------
# issue 8 cases, written by the real mlflow 3.17.2 (tests/data/mlflow/make_cases.py)

CASES = {
    "file": DATA / "mlflow" / "cases" / "file" / "mlruns",
    "sqlite": DATA / "mlflow" / "cases" / "sqlite" / "mlflow.db",
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[str, Catalog]:
    return request.param, read(CASES[request.param])


def test_a_constant_metric_keeps_its_real_step_0_point_after_log_model(case: tuple[str, Catalog]) -> None:
    _, catalog = case
    run = by_name(catalog)["constant"]
    c = catalog.history(run.key, "c")  # type: ignore[attr-defined]
    assert c is not None and (list(c.steps), list(c.values)) == ([0, 1, 2], [1.0, 1.0, 1.0])
    d = run.metric("d")  # logged with a dataset at steps 0 and 3; the echo of step 3 is dropped  # type: ignore[attr-defined]
    assert d is not None and list(catalog.history(run.key, "d").steps) == [0, 3]  # type: ignore[attr-defined, union-attr]


def test_a_version_without_run_id_gets_the_run_of_its_logged_model(case: tuple[str, Catalog]) -> None:
    _, catalog = case
    (version,) = catalog.versions
    assert version.run_key is not None and catalog.run_by_key[version.run_key].name == "constant"
    assert catalog.logged_model_by_key[version.logged_model_key].run_key == version.run_key  # type: ignore[index]


def test_datasets_with_one_digest_and_two_names_stay_two(case: tuple[str, Catalog]) -> None:
    _, catalog = case
    twins = by_name(catalog)["twins"]
    inputs = {
        (catalog.dataset_by_key[i.dataset_key].name, catalog.dataset_by_key[i.dataset_key].source, i.context)
        for i in twins.inputs
    }  # type: ignore[attr-defined]
    assert inputs == {
        ("twin-a", "s3://bucket/a.parquet", "training"),
        ("twin-b", "s3://bucket/b.parquet", "validation"),
    }


@pytest.mark.parametrize("store", ["v3_file/mlruns", "v3_sqlite/mlflow.db", "v2_sqlite/mlflow.db"])
def test_deleted_experiments_and_runs_are_counted_and_shown_on_request(store: str) -> None:
    # "128 deleted runs not shown; --include-deleted shows them": experiments too (issue 8)
    from mlreport.catalog import read_catalog
    from mlreport.config import Config, SourceConfig

    source = SourceConfig(str(DATA / "mlflow" / store))
    catalog = read_catalog(Config(sources=(source,)))
    hint = "deleted in MLflow; --include-deleted shows them"
    assert [(s.what, s.count, s.reason) for s in catalog.skipped] == [
        ("deleted experiments", 1, hint), ("deleted runs", 2, hint),
    ]
    assert "fixture-deleted" not in {e.name for e in catalog.experiments}
    shown = read_catalog(Config(sources=(source,), include_deleted=True))
    assert [e.name for e in shown.experiments if e.deleted] == ["fixture-deleted"] and shown.skipped == ()
    if store.startswith("v3_file"):
        from mlreport.render.pages import render_site

        page = next(p for p in render_site(catalog, Config()) if getattr(p, "url", None) == "problems/")
        assert "1 deleted experiments not shown: " + hint in page.body  # type: ignore[attr-defined]


def test_a_deleted_parent_is_counted_and_named_as_skipped(case: tuple[str, Catalog]) -> None:
    _, catalog = case
    runs = by_name(catalog)
    child = runs["child"]
    assert "parent" not in runs and child.parent_key not in catalog.run_by_key  # type: ignore[attr-defined]
    (skipped,) = [s for s in catalog.skipped if s.what == "deleted runs"]
    assert child.parent_key in skipped.keys and skipped.count == 1  # type: ignore[attr-defined]
    assert skipped.reason == "deleted in MLflow; --include-deleted shows them"
    parent = next(r for r in read(CASES[case[0]], include_deleted=True).runs if r.name == "parent")
    assert parent.deleted and parent.key == child.parent_key  # type: ignore[attr-defined]


def test_traces_are_read_with_status_and_previews(case: tuple[str, Catalog]) -> None:
    from mlreport.model import Trace
    from mlreport.readers import ReadOptions, available_readers
    from mlreport.stores import LocalStore

    name, _ = case
    path = CASES[name]
    reader = available_readers()["mlflow" if name == "file" else "mlflow-sql"]
    root, inner = (path, "") if name == "file" else (path.parent, path.name)
    traces = [r for r in reader.read(LocalStore(root, str(root)), inner, ReadOptions()) if isinstance(r, Trace)]
    summary = sorted(
        (t.name, t.status, t.request_preview, t.response_preview, t.duration_ms is not None) for t in traces
    )
    assert summary == [
        ("answer", "OK", '{"question": "what is mlreport?"}', '"WHAT IS MLREPORT?"', True),
        ("fails", "ERROR", '{"question": "why?"}', None, True),
    ]
    assert all(t.id.startswith("tr-") and t.request_time and t.request_time > 1.7e12 for t in traces)
    assert all(t.metadata["mlflow.traceInputs"].startswith('{"question"') for t in traces)


def test_a_store_nested_at_mlruns_mlruns_is_read_too() -> None:
    catalog = read(CASES["file"])
    nested = by_name(catalog)["nested-run"]
    exp = catalog.experiment_by_key[nested.experiment_key]  # type: ignore[index]
    assert exp.name == "nested" and exp.key.startswith("exp:mlruns/")
    assert nested.metric("loss").final == 0.25  # type: ignore[attr-defined]
    assert sorted(e.name for e in catalog.experiments) == ["Default", "Default", "cases", "nested"]


def test_read_ahead_never_follows_links_nor_blocks_on_special_files(tmp_path: Path) -> None:
    import os

    from mlreport.readers._readahead import ReadAhead, warm

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("x")
    run = tmp_path / "store" / "1" / "run"
    (run / "params").mkdir(parents=True)
    (run / "params" / "lr").write_text("0.1")
    (run / "artifacts").mkdir()
    (run / "artifacts" / "big.bin").write_bytes(b"0" * 10)
    os.symlink(outside / "secret", run / "params" / "leak")
    os.symlink(outside, run / "linked-dir")
    os.mkfifo(run / "params" / "fifo")
    assert warm(str(run)) == 2  # lr, big.bin (listed); the fifo is not even opened
    os.symlink(outside, tmp_path / "store" / "1" / "elsewhere")
    ahead = ReadAhead(tmp_path / "store", ["1/elsewhere"])
    assert ahead._warm("1/elsewhere") == 0 and ahead._warm("1/run") == 2


def _evicted(paths: list[Path]) -> bool:
    """Evict ``paths`` from the page cache; False where this file system keeps them (tmpfs)."""
    import os

    from mlreport.readers._readahead import blocks_read

    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    before = blocks_read()
    paths[-1].read_bytes()
    after = blocks_read()
    return before is not None and after is not None and after > before


def test_read_ahead_starts_on_a_cold_store_not_on_a_slow_warm_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe asks whether the first runs' reads went to the disk, not how long they took: on
    a loaded machine a warm read is slow too, and the old timed probe started 16 threads on a
    warm store (a sixth of the crawl's CPU, measured at load 27)."""
    from mlreport.readers import _readahead

    runs = []
    for i in range(12):
        run = tmp_path / "store" / "1" / f"run{i}"
        (run / "params").mkdir(parents=True)
        for k in range(8):
            (run / "params" / f"p{k}").write_text("x" * 5000)
        runs.append(f"1/run{i}")
    clock = iter(range(0, 10**6, 10))  # every perf_counter call 10 s later: a starved process

    monkeypatch.setattr(_readahead.time, "perf_counter", lambda: float(next(clock)))
    warm_probe = _readahead.ReadAhead(tmp_path / "store", runs)
    warm_probe.at(0)
    assert warm_probe.pool is None  # warm: read from the page cache, however slowly
    warm_probe.close()
    files = sorted((tmp_path / "store").rglob("p*"))
    if _readahead.blocks_read() is None or not _evicted(files):
        pytest.skip("this platform or file system does not count or evict page-cache reads")
    _evicted(files)
    cold_probe = _readahead.ReadAhead(tmp_path / "store", runs)
    cold_probe.at(0)
    assert cold_probe.pool is not None
    cold_probe.close()
    assert _readahead.is_cold(10, 80, 0.0) and not _readahead.is_cold(10, 0, 100.0) and not _readahead.is_cold(0, 0, 1)
    assert _readahead.is_cold(10, None, 1.0) and not _readahead.is_cold(10, None, 1e-6)


def test_reading_ahead_on_a_cold_store_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlreport.readers import _readahead

    monkeypatch.setattr(_readahead, "COLD_PER_FILE_S", 0.0)  # every store counts as cold
    monkeypatch.setattr(_readahead, "COLD_BLOCKS_PER_FILE", 0.0)
    started = []
    real = _readahead.ThreadPoolExecutor

    def pool(*args: object, **kwargs: object) -> object:
        started.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_readahead, "ThreadPoolExecutor", pool)
    ahead = read(STORES["v3_file"])
    monkeypatch.undo()
    plain = read(STORES["v3_file"])
    assert started
    assert [(r.key, dict(r.params), [(m.key, m.count, repr(m.final)) for m in r.metrics]) for r in ahead.runs] == [
        (r.key, dict(r.params), [(m.key, m.count, repr(m.final)) for m in r.metrics]) for r in plain.runs
    ]


def test_detect_reads_the_schema_text_and_does_not_open_or_copy_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlreport.readers import mlflow_sql
    from mlreport.stores import LocalStore

    db = _db_copy(tmp_path)

    def refuse(path: Path) -> object:
        raise AssertionError("detect opened the database")

    monkeypatch.setattr(mlflow_sql, "open_snapshot", refuse)
    assert mlflow_sql.MlflowSqlReader().detect(LocalStore(db.parent, str(db.parent)), "mlflow.db")
