"""The MLflow SQLite reader next to direct SQL of the same rows, side by side in one run (issue 12).

    python benchmarks/bench_mlflow_sql.py --make STORE/mlruns OUT/mlflow.db   # once
    python benchmarks/bench_mlflow_sql.py OUT/mlflow.db [--repeat 3] [--baseline OTHER/src]

``--make`` writes an ``mlflow.db`` with the content of a file store made by
``make_mlflow_store.py`` (experiments, runs, params, tags, every metric point, latest metrics,
registry), in the schema of MLflow 3.17.2 (copied from ``tests/data/mlflow/v3_sqlite``, indexes
included), so that the two benchmarks read the same store in its two backends.

The floor is direct SQL of the rows the reader needs: the same tables and columns, every row
fetched with the ``sqlite3`` module into tuples and dropped (experiments, runs, params, tags,
metrics, inputs, registry), one plain ``SELECT`` per table. The reader figure is
``MlflowSqlReader.read`` consumed to the end, and ``read_catalog``. Each pass runs in a fresh
process, alternating, fastest of ``--repeat`` shown with its peak RSS. Nothing is asserted; the
machine may be shared, so compare the paired figures. ``--baseline SRC`` adds the reader and
``read_catalog`` of another source tree (``git archive main src | tar -x -C /tmp/base``, then
``--baseline /tmp/base/src``) to the same alternation: a change's before and after in one run.
The reader runs with one job and with ``--jobs`` (2 by default: its units on the process pool);
``read_catalog`` with ``--jobs``. CPU seconds include the pool's workers (``RUSAGE_CHILDREN``,
they are joined by the end); the floor is one process. Peak MB with a pool is the parent's peak
plus ``--jobs`` times the largest worker's (a bound on the sum of their RSS).

Measured (issue 12; 10k mlflow.db from ``--make /work/stores/s10k/mlruns``, 971 MB, 4,000,000
metric points; 2 cores shared, load 4-17; CPU s, fastest of 5, ``--repeat 5 --baseline`` main
13a88ae's src vs 945252f, Tables.groups):

- floor (the reader's statements: metric counts + 4 point columns) 2.83 s, 21 MB; the old
  floor's 6-column metrics query costs ~1 s more (4.18 s vs 2.82 + 0.41 s, metrics alone).
- MlflowSqlReader.read 5.20 s (1.84x the new floor), 38 MB; main's 6.25 s (2.21x). Budget
  1.3x not met. Past the floor (stages, fastest of 3): ~1.3 s metric columns, ~0.6 s records,
  ~0.1-0.5 s the merge.

Measured again (Tables.blocks + units on the pool, ``--repeat 2 --baseline`` main d86c66a's src;
2 cores shared with other helpers' work, load 8.4-9.3 throughout, so walls are 2-3x the CPU and
their spread up to 1.5x; compare CPU):

- floor 4.10 s CPU, 12.8 s wall (the unit's statements: the same rows, 4,300,023).
- MlflowSqlReader.read, one job: 7.49 -> 6.47 s CPU (1.83x -> 1.58x the floor), 38 -> 37 MB.
  Budget 1.3x still not met in one process.
- with 2 jobs (units on the pool): 13.72 s CPU in all, 29.6 s wall against 17.3-24.5 s of one
  process, 292 MB (parent + 2 workers): on a machine with no idle core the pool only adds the
  records' pickling, cleaning and loading (~3 s) and the workers' contention. Its wall gain
  needs free cores; not shown here.
- read_catalog, 2 jobs: 10.61 -> 12.75 s CPU, 34.4 -> 32.0 s wall, 104 -> 308 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
SCHEMA_FROM = HERE.parent / "tests" / "data" / "mlflow" / "v3_sqlite" / "mlflow.db"

# The statements the reader runs, recorded by SQLite's trace hook in a pass of its own: the
# floor runs exactly these, so it reads the same rows in the same order (the per-run order the
# streaming needs is part of what the reader must read), and nothing the reader does not.
TRACE = r"""
import json, sqlite3, sys
from pathlib import Path
from mlreport.readers import ReadOptions, _sqlite
from mlreport.readers.mlflow_sql import MlflowSqlReader
from mlreport.stores import LocalStore
path = Path(sys.argv[1])
statements = []
connect = sqlite3.connect
def traced(*args, **kwargs):
    conn = connect(*args, **kwargs)
    conn.set_trace_callback(statements.append)
    return conn
_sqlite.sqlite3.connect = traced
for _ in MlflowSqlReader().read(LocalStore(path.parent, str(path.parent)), path.name, ReadOptions()):
    pass
print(json.dumps(statements))
"""

FLOOR = r"""
import json, resource, sqlite3, sys, time
path, statements = sys.argv[1], json.loads(sys.argv[2])
t0 = time.perf_counter(); c0 = time.process_time()
conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
rows = 0
for sql in statements:
    cursor = conn.execute(sql)
    while chunk := cursor.fetchmany(1024):
        rows += len(chunk)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "cpu": time.process_time() - c0, "rows": rows,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def floor_statements(db: Path) -> list[str]:
    """The reader's SELECTs of table rows, in the order it ran them, each once (not the table
    list, PRAGMAs, query plans or the runs' count, which cost nothing next to the rows)."""
    env = dict(os.environ, PYTHONPATH=str(SRC))
    out = subprocess.run([sys.executable, "-c", TRACE, str(db)], capture_output=True, text=True, env=env, check=True)
    seen: list[str] = []
    for sql in json.loads(out.stdout.strip().splitlines()[-1]):
        text = " ".join(sql.split())
        # not the progress bar's total (SELECT count(*) FROM runs); the metrics' group counts are rows read
        if not text.upper().startswith("SELECT ") or "sqlite_master" in text or text.startswith("SELECT count(*)"):
            continue
        if text not in seen:
            seen.append(text)
    return seen


def unordered(statements: list[str]) -> list[str]:
    return [re.sub(r" ORDER BY .*$", "", s) for s in statements]


READER = r"""
import json, resource, sys, time
from pathlib import Path
from mlreport.readers import ReadOptions
from mlreport.readers.mlflow_sql import MlflowSqlReader
from mlreport.stores import LocalStore
from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
path, mode, jobs = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter(); c0 = time.process_time()
if mode == "reader":
    runs = problems = 0
    for r in MlflowSqlReader().read(LocalStore(path.parent, str(path.parent)), path.name, ReadOptions(jobs=jobs)):
        kind = type(r).__name__
        runs += kind == "Run"
        problems += kind == "Problem"
else:
    c = read_catalog(Config(sources=(SourceConfig(str(path)),), jobs=jobs))
    runs, problems = len(c.runs), len(c.problems)
wall = time.perf_counter() - t0
children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pool's workers, joined by now
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = jobs if children.ru_maxrss else 0
print(json.dumps({"wall": wall, "cpu": time.process_time() - c0 + children.ru_utime + children.ru_stime,
                  "runs": runs, "problems": problems, "base_mb": base,
                  "rss_mb": own + workers * children.ru_maxrss / 1024}))
"""


def make(store: Path, out: Path) -> None:
    sys.path.insert(0, str(SRC))
    from mlreport.model import ModelVersion, RegisteredModel, Run
    from mlreport.readers import ReadOptions
    from mlreport.readers.mlflow_file import MlflowFileReader
    from mlreport.stores import LocalStore

    if out.exists():
        out.unlink()
    schema = sqlite3.connect(f"file:{SCHEMA_FROM}?mode=ro&immutable=1", uri=True)
    statements = [s for (s,) in schema.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")]
    conn = sqlite3.connect(out)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    for sql in statements:
        conn.execute(sql)
    exp_ids: dict[str, int] = {}
    status = {"FINISHED": "FINISHED", "FAILED": "FAILED", "RUNNING": "RUNNING", "KILLED": "KILLED"}
    for rec in MlflowFileReader().read(LocalStore(store, str(store)), "", ReadOptions(include_deleted=True)):
        kind = type(rec).__name__
        if kind == "Experiment":
            exp_ids[rec.key] = len(exp_ids)  # type: ignore[attr-defined]
            conn.execute(
                "INSERT INTO experiments (experiment_id, name, lifecycle_stage, creation_time, last_update_time) "
                "VALUES (?, ?, ?, ?, ?)",
                (exp_ids[rec.key], rec.name, "deleted" if rec.deleted else "active", rec.created, rec.updated),  # type: ignore[attr-defined]
            )
            conn.executemany(
                "INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?, ?, ?)",
                [(k, v, exp_ids[rec.key]) for k, v in rec.tags.items()],  # type: ignore[attr-defined]
            )
        elif isinstance(rec, Run):
            conn.execute(
                "INSERT INTO runs (run_uuid, name, source_type, user_id, status, start_time, end_time, "
                "lifecycle_stage, artifact_uri, experiment_id) VALUES (?, ?, 'LOCAL', ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec.id,
                    rec.name,
                    rec.user,
                    status.get(rec.status.value, "FINISHED"),
                    rec.start_time,
                    rec.end_time,
                    "deleted" if rec.deleted else "active",
                    rec.artifact_uri,
                    exp_ids.get(rec.experiment_key or ""),
                ),
            )
            conn.executemany(
                "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                [(k, v, rec.id) for k, v in rec.params.items()],
            )
            conn.executemany(
                "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                [(k, v, rec.id) for k, v in rec.tags.items()],
            )
            points = []
            latest = []
            for m in rec.metrics:
                h = m.history
                assert h is not None
                for step, ts, value in zip(h.steps, h.timestamps, h.values, strict=True):
                    nan = value != value
                    points.append((m.key, 0.0 if nan else value, ts, rec.id, step, int(nan)))
                nan = m.final != m.final
                latest.append((m.key, 0.0 if nan else m.final, m.final_timestamp, m.final_step, int(nan), rec.id))
            conn.executemany(
                "INSERT OR IGNORE INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                points,
            )
            conn.executemany(
                "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)",
                latest,
            )
        elif isinstance(rec, RegisteredModel):
            conn.execute(
                "INSERT INTO registered_models (name, creation_time, last_updated_time, description) "
                "VALUES (?, ?, ?, ?)",
                (rec.name, rec.created, rec.updated, rec.description),
            )
            conn.executemany(
                "INSERT INTO registered_model_aliases (alias, version, name) VALUES (?, ?, ?)",
                [(a, int(v), rec.name) for a, v in rec.aliases.items()],
            )
        elif isinstance(rec, ModelVersion):
            conn.execute(
                "INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id, "
                "current_stage, source, run_id, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'READY')",
                (
                    rec.model,
                    int(rec.version),
                    rec.created,
                    rec.updated,
                    rec.description,
                    rec.user,
                    rec.stage or "None",
                    rec.source,
                    rec.run_key,
                ),
            )
    conn.commit()
    conn.execute("VACUUM")
    conn.close()
    print(f"wrote {out} ({out.stat().st_size / 1e6:.0f} MB)")


def _run(code: str, *args: str, src: Path = SRC) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def bench(db: Path, repeat: int, baseline: Path | None = None, jobs: int = 2) -> None:
    statements = floor_statements(db)
    passes: dict[str, list[dict[str, float]]] = {}
    many = str(jobs)
    kinds = [
        ("floor: the reader's statements, fetched plainly", FLOOR, (json.dumps(statements),), SRC),
        ("same tables and columns, no ORDER BY", FLOOR, (json.dumps(unordered(statements)),), SRC),
        ("MlflowSqlReader.read, jobs=1", READER, ("reader", "1"), SRC),
        (f"MlflowSqlReader.read, jobs={jobs}", READER, ("reader", many), SRC),
        (f"read_catalog, jobs={jobs}", READER, ("catalog", many), SRC),
    ]
    if baseline is not None:  # another source tree's reader (e.g. main's), interleaved with this one's
        kinds[4:4] = [
            ("MlflowSqlReader.read, jobs=1, baseline", READER, ("reader", "1"), baseline),
            (f"MlflowSqlReader.read, jobs={jobs}, baseline", READER, ("reader", many), baseline),
        ]
        kinds.append((f"read_catalog, jobs={jobs}, baseline", READER, ("catalog", many), baseline))
    for _ in range(repeat):
        for name, code, args, src in kinds:
            passes.setdefault(name, []).append(_run(code, str(db), *args, src=src))
    first = kinds[0][0]
    floor = min(p["wall"] for p in passes[first])
    floor_cpu = min(p["cpu"] for p in passes[first])
    print(f"\nthe floor's {len(statements)} statements (the reader's, as SQLite traced them):")
    for sql in statements:
        print(f"    {sql}")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{db} ({db.stat().st_size / 1e6:.0f} MB; page cache warm; fastest of {repeat}, fresh process each)")
    print(f"load average at the end: {load}; cpu s include the pool's workers; the floor is one process;")
    print("peak MB with a pool: the parent's peak + jobs x the largest worker's")
    print("| pass | wall s | cpu s | x floor (wall) | x floor (cpu) | peak MB | notes |")
    print("|---|---|---|---|---|---|---|")
    for name, results in passes.items():
        best = min(results, key=lambda p: p["wall"])
        cpu = min(p["cpu"] for p in results)
        spread = max(p["wall"] for p in results) / best["wall"]
        notes = f"spread {spread:.2f}"
        if "runs" in best:
            notes += f", {int(best['runs'])} runs, {int(best['problems'])} problems, base {best['base_mb']:.0f} MB"
        else:
            notes += f", {int(best['rows'])} rows"
        print(
            f"| {name} | {best['wall']:.2f} | {cpu:.2f} | {best['wall'] / floor:.2f} | {cpu / floor_cpu:.2f} "
            f"| {max(p['rss_mb'] for p in results):.0f} | {notes} |"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("db", nargs="?", type=Path)
    p.add_argument("--make", nargs=2, type=Path, metavar=("STORE", "DB"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument(
        "--baseline",
        type=Path,
        metavar="SRC",
        help="also run the reader from this source tree (a copy of main's src/), interleaved",
    )
    p.add_argument("--jobs", type=int, default=2, help="the pool's workers in the jobs=N passes (default 2)")
    args = p.parse_args()
    if args.make:
        make(*args.make)
    if args.db:
        bench(args.db, args.repeat, args.baseline, args.jobs)


if __name__ == "__main__":
    main()
