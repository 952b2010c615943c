"""Time mlreport's crawl and build against their budgets (issue: the MLflow foundation).

    python benchmarks/bench_build.py [--crawl-runs 10000] [--build-runs 2000] [--work DIR]

1. crawl: a synthetic MLflow file store of ``--crawl-runs`` runs (15 params, 8 metrics x 50
   steps, 10 tags) read completely, every metric history included. Budget: 10,000 runs < 15 s.
2. build: a store of ``--build-runs`` runs with as many registered versions, built end to end
   with ``mlreport build``; then a plain ``mkdocs build`` of the very same generated Markdown and
   mkdocs.yml, in the same run of this script. Budget: < 75 s, < 1 GB, <= 1.3 x plain mkdocs.

Each phase runs in its own process so its peak memory (max RSS, the process and its children)
is its own. Figures are printed, nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

CRAWL = """
import json, resource, sys, time
from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
t = time.perf_counter()
c = read_catalog(Config(sources=(SourceConfig(sys.argv[1]),)))
elapsed = time.perf_counter() - t
points = sum(m.count for r in c.runs for m in r.metrics)
print(json.dumps({"seconds": elapsed, "runs": len(c.runs), "points": points,
                  "versions": len(c.versions), "problems": len(c.problems),
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def generate(out: Path, runs: int, versions: int) -> Path:
    if not (out / "mlruns").exists():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "make_mlflow_store.py"),
                str(out),
                "--runs",
                str(runs),
                "--versions",
                str(versions),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return out / "mlruns"


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MB) of a command and everything it starts."""
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "e = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'seconds': e, 'rss': rss, 'rc': p.returncode, 'err': p.stderr[-2000:]}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", wrapper, *command], cwd=cwd, capture_output=True, text=True, check=True, env=env
    )
    data = json.loads(result.stdout)
    if data["rc"] != 0:
        raise SystemExit(f"{' '.join(command)} failed: {data['err']}")
    return data["seconds"], data["rss"], data["err"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crawl-runs", type=int, default=10_000)
    parser.add_argument("--build-runs", type=int, default=2_000)
    parser.add_argument("--work", type=Path, default=None, help="keep generated stores here")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mlreport-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; work dir {work}")

    if args.crawl_runs:
        store = generate(work / f"crawl-{args.crawl_runs}", args.crawl_runs, 0)
        subprocess.run(["cat", "/dev/null"], check=True)
        out = subprocess.run([sys.executable, "-c", CRAWL, str(store)], capture_output=True, text=True, check=True)
        crawl = json.loads(out.stdout)
        print(
            f"crawl: {crawl['runs']} runs, {crawl['points']:,} metric points in {crawl['seconds']:.2f} s "
            f"({crawl['runs'] / crawl['seconds']:,.0f} runs/s), peak {crawl['max_rss_mb']:.0f} MB "
            f"[budget 10,000 runs < 15 s]"
        )

    if args.build_runs:
        store = generate(work / f"build-{args.build_runs}", args.build_runs, args.build_runs)
        site_dir = work / "site"
        shutil.rmtree(site_dir, ignore_errors=True)
        shutil.rmtree(work / ".site.mlreport", ignore_errors=True)
        seconds, rss, _ = timed(
            [sys.executable, "-m", "mlreport", "build", str(store), "-o", str(site_dir), "-q"], work
        )
        pages = sum(1 for _ in site_dir.rglob("index.html"))
        # The baseline: MkDocs alone on the same docs and config mlreport generated.
        env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
        plain_site = work / "plain-site"
        base_seconds, base_rss, _ = timed(
            [
                sys.executable,
                "-m",
                "mkdocs",
                "build",
                "-q",
                "-f",
                str(work / ".site.mlreport" / "mkdocs.yml"),
                "-d",
                str(plain_site),
            ],
            work,
            env,
        )
        print(
            f"build: {args.build_runs} runs + {args.build_runs} versions -> {pages} pages in {seconds:.1f} s, "
            f"peak {rss:.0f} MB [budget < 75 s, < 1024 MB]"
        )
        print(f"plain mkdocs build of the same Markdown: {base_seconds:.1f} s, peak {base_rss:.0f} MB")
        print(f"ratio mlreport build / plain mkdocs build: {seconds / base_seconds:.2f} [budget <= 1.3]")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    _ = resource  # imported for the subprocess snippets' symmetry


if __name__ == "__main__":
    main()
