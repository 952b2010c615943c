#!/usr/bin/env python3
"""Fuzz the readers: mutated fixture stores through the crawl, with time and memory limits.

    python benchmarks/fuzz.py [--cases 100000] [--seed 0] [--workers 2] [--timeout 10]
                              [--memory-mb 1024] [--render changed|all|none] [--json OUT]
    python benchmarks/fuzz.py --seed 0 --case 1234 --write-repro DIR   # one case, on disk
    python benchmarks/fuzz.py --slice --case 806 --write-repro DIR     # a CI-slice case number

Cases are chosen from the seed and the case number alone (``tests/fuzz/mutate.py``), so a run
is reproducible and two commits can be compared case by case. ``tests/fuzz/harness.py``
describes the outcomes and the records-lost measure. The CI slice is
``tests/fuzz/test_fuzz_slice.py`` (seed 0, cases 0..1999).

Output: one line per finding (a distinct signature, with its count and first case), then the
totals: cases, crashes, hangs, memory blowups, worker deaths, unclean strings, escapes, cases
with records lost and the records lost, and the time per case. ``--json`` writes every result.
Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.fuzz import harness  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--start", type=int, default=0, help="first case number")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--memory-mb", type=int, default=1024, help="peak RSS a case may add")
    parser.add_argument("--render", choices=("changed", "all", "none"), default="changed")
    parser.add_argument("--case", type=int, action="append", default=[], help="run only this case (repeatable)")
    parser.add_argument("--write-repro", type=Path, help="with --case: write the mutated store here")
    parser.add_argument("--json", type=Path, help="write every result here")
    parser.add_argument("--from-json", type=Path, help="summarize the results a --json run wrote, instead of running")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument(
        "--slice",
        action="store_true",
        help="the CI slice's corpus (tests/fuzz/test_fuzz_slice.py:STORES), so its case numbers apply",
    )
    parser.add_argument("--findings-md", type=Path, help="append findings not yet listed there (FUZZ_FINDINGS.md)")
    args = parser.parse_args()
    stores: tuple[str, ...] = ()
    if args.slice:
        from tests.fuzz.test_fuzz_slice import STORES

        stores = STORES

    if args.write_repro:
        for index in args.case:
            dest = args.write_repro / str(index) if len(args.case) > 1 else args.write_repro
            case = harness.write_repro(args.seed, index, dest, stores)
            print(f"case {index}: {case.store.label} {case.rel} {case.op} {case.detail}")
            print(f"  mutated store: {dest / 'mutated'}  (reference: {dest / 'reference'})")
            print(f"  read it: python -m mlreport inspect {dest / 'mutated'}")
        return 0

    options = harness.Options(
        seed=args.seed,
        cases=args.cases,
        start=args.start,
        workers=args.workers,
        timeout=args.timeout,
        memory_mb=args.memory_mb,
        render=args.render,
        only=tuple(args.case),
        stores=stores,
    )
    total = len(options.only) or options.cases
    t0 = time.perf_counter()

    def progress(done: int, result: dict[str, object]) -> None:
        if not args.quiet and (done % 500 == 0 or done == total):
            rate = done / (time.perf_counter() - t0)
            print(f"  {done:,}/{total:,} cases, {rate:.1f}/s", file=sys.stderr, flush=True)

    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        results, seconds = saved["results"], saved.get("seconds", 0.0)
        options.seed, options.workers = saved["options"]["seed"], saved["options"]["workers"]
    else:
        results = harness.run(options, progress)
        seconds = time.perf_counter() - t0
    summary = harness.summarize(results)
    if args.json:
        args.json.write_text(
            json.dumps({"options": vars(options), "seconds": seconds, "results": results}, indent=1, default=str)
        )
    for sig, items in sorted(summary.findings.items()):
        first = items[0]
        print(f"{len(items):6d}  {sig}")
        print(
            f"        first: case {first['index']} {first['store']} {first['file']} {first['op']}"
            f" {first['detail'][:90]}"
        )
        for line in first.get("error", [])[-2:]:
            print(f"        {line[:160]}")
        if first.get("lost_sample"):
            print(f"        lost {first['lost']} e.g. {first['lost_sample'][0]}")
    if args.findings_md:
        added = append_findings(args.findings_md, summary, options)
        print(f"{added} new findings appended to {args.findings_md}")
    o = summary.outcomes
    print(
        f"seed {options.seed}, {summary.cases:,} cases in {seconds:.0f} s"
        f" ({1000 * seconds / max(1, summary.cases):.0f} ms a case, {options.workers} workers):"
        f" crashes {o['crash']}, hangs {o['hang']}, memory {o['memory']},"
        f" died {o['died']}, unclean {o['unclean']}, escapes {o['escape']}, bloat {o['bloat']},"
        f" records lost {summary.lost_records:,}"
        f" in {summary.lost_cases} cases; refused {o['refused']}, ok {o['ok']}"
    )
    print(f"  stopped by the crawl's guard (a reader exception, not a crash) {o['stopped']}")
    bad = sum(o[k] for k in ("crash", "hang", "memory", "died", "unclean", "escape", "bloat")) + summary.lost_cases
    return 1 if bad else 0


READERS = {
    "mlflow": "readers/mlflow_file.py",
    "wandb": "readers/wandb.py",
    "tensorboard": "readers/tensorboard.py",
    "hf": "readers/hf.py",
    "dvc": "readers/dvc.py",
    "manifest": "readers/manifest.py",
}
OWNERS = {"mlflow": "mlflow", "wandb": "wbtb", "tensorboard": "wbtb", "hf": "hdm", "dvc": "hdm", "manifest": "hdm"}


def append_findings(path: Path, summary: harness.Summary, options: harness.Options) -> int:
    """Append one entry per finding signature that the file does not list yet."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Fuzz findings\n"
    n = text.count("\n## F")
    entries = []
    for sig, items in sorted(summary.findings.items()):
        if f"`{sig}`" in text:
            continue
        first = items[0]
        fmt = first["store"].split("/")[0]
        reader = READERS.get(fmt, "?")
        if fmt == "mlflow" and first["file"].endswith(".db"):
            reader = "readers/mlflow_sql.py"
        if first.get("where"):
            reader = f"{reader} (failed in {first['where']})"
        n += 1
        lines = [
            f"## F{n}: `{sig}` — OPEN",
            "",
            f"- format: {fmt} (owner: {OWNERS.get(fmt, '?')}); reader: {reader}",
            f"- mutation: {first['op']} of {first['store']}/{first['file']}: {first['detail'][:160]}",
            f"- cases: {len(items)} of this run (seed {options.seed}), e.g. "
            + ", ".join(str(i["index"]) for i in items[:6]),
            f"- reproduce: `python benchmarks/fuzz.py --seed {options.seed} --case {first['index']}`"
            f" (`--write-repro /tmp/f{n}` writes the mutated store and its reference)",
            "- last lines:",
            "",
            "      " + "\n      ".join(line[:200] for line in first.get("error", [])),
        ]
        if first.get("lost"):
            lines.append(f"- records lost: {first['lost']}, e.g. {first['lost_sample'][:3]}")
        entries.append("\n".join(lines) + "\n")
    if entries:
        path.write_text(text.rstrip("\n") + "\n\n" + "\n".join(entries), encoding="utf-8")
    return len(entries)


if __name__ == "__main__":
    sys.exit(main())
