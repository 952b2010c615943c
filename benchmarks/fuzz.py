#!/usr/bin/env python3
"""Fuzz the readers: mutated fixture stores through the crawl, with time and memory limits.

    python benchmarks/fuzz.py [--cases 100000] [--seed 0] [--workers 2] [--timeout 10]
                              [--memory-mb 1024] [--render changed|all|none] [--json OUT]
    python benchmarks/fuzz.py --seed 0 --case 1234 --write-repro DIR   # one case, on disk

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
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    if args.write_repro:
        for index in args.case:
            dest = args.write_repro / str(index) if len(args.case) > 1 else args.write_repro
            case = harness.write_repro(args.seed, index, dest)
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
    )
    total = len(options.only) or options.cases
    t0 = time.perf_counter()

    def progress(done: int, result: dict[str, object]) -> None:
        if not args.quiet and (done % 500 == 0 or done == total):
            rate = done / (time.perf_counter() - t0)
            print(f"  {done:,}/{total:,} cases, {rate:.1f}/s", file=sys.stderr, flush=True)

    results = harness.run(options, progress)
    seconds = time.perf_counter() - t0
    summary = harness.summarize(results)
    if args.json:
        args.json.write_text(json.dumps({"options": vars(options), "results": results}, indent=1, default=str))
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
    o = summary.outcomes
    print(
        f"seed {options.seed}, {summary.cases:,} cases in {seconds:.0f} s"
        f" ({1000 * seconds / max(1, summary.cases):.0f} ms a case, {options.workers} workers):"
        f" crashes {o['crash']}, hangs {o['hang']}, memory {o['memory']},"
        f" died {o['died']}, unclean {o['unclean']}, escapes {o['escape']}, records lost {summary.lost_records:,}"
        f" in {summary.lost_cases} cases; refused {o['refused']}, ok {o['ok']}"
    )
    bad = sum(o[k] for k in ("crash", "hang", "memory", "died", "unclean", "escape")) + summary.lost_cases
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
