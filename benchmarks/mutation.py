#!/usr/bin/env python3
"""Mutation score of the modules the record depends on (cosmic-ray), not part of the test run.

    python -m venv /tmp/mut && /tmp/mut/bin/pip install cosmic-ray
    python benchmarks/mutation.py --cosmic-ray /tmp/mut/bin/cosmic-ray [MODULE ...]

For each module, the tree is copied to a scratch folder (cosmic-ray edits the files it mutates,
so never in a work tree that other runs use), every mutant is run against the module's tests
(``TESTS`` below: the tests that exercise it directly, so that a run takes seconds), and the
killed/survived counts are printed with the score. ``--tests`` replaces the test selection, e.g.
to measure the tests that existed before a change ("before") against the current ones
("after"), in the same run of this script. ``--survivors FILE`` writes each surviving mutant
(module, line, operator and its diff) so that a test can be written for it; ``--jobs N`` scores
N modules at once (each in its own scratch copy).

``--keep DIR`` keeps each module's scratch copy and cosmic-ray session in ``DIR/<module>/``;
``--rescore DIR`` then runs only that session's survivors again, against the current tests copied
over the kept sources (a mutant killed before stays killed: tests are only ever added), and prints
the score before and after. The current tests must pass on the kept sources first (checked), so
the "after" figure is the new tests' and not a changed module's. This is how "before and after"
is measured without scoring every mutant twice.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: module -> the tests that exercise it directly
TESTS = {
    "src/mlreport/readers/_common.py": "tests/test_helpers_common.py tests/test_catalog_reader_kit.py"
    " tests/test_reader_lfs.py -k 'null_params or read_context or helpers_common or lfs_reason'",
    "src/mlreport/goals.py": "tests/test_helpers_mutants.py tests/test_catalog.py"
    " -k 'vocabulary or tokens or counters or quality or word or rates'",
    "src/mlreport/catalog.py": "tests/test_catalog.py tests/test_catalog_helpers.py",
    "src/mlreport/render/text.py": "tests/test_helpers_render.py tests/test_helpers_mutants.py"
    " tests/test_helpers_survivors.py",
    "src/mlreport/render/tables.py": "tests/test_helpers_render.py tests/test_helpers_mutants.py"
    " tests/test_helpers_survivors.py",
    "src/mlreport/config.py": "tests/test_config.py tests/test_cli.py tests/test_catalog_record.py"
    " -k 'config or names or named'",
    "src/mlreport/sanitize.py": "tests/test_safety_text.py",
}
#: the selections before this session's tests (benchmarks/mutation.py --before): the figures
#: the report compares against
BEFORE = {
    "src/mlreport/goals.py": "tests/test_catalog.py -k 'vocabulary or tokens or counters or quality'",
    "src/mlreport/render/tables.py": "tests/test_helpers_render.py -k csv",
    "src/mlreport/render/text.py": "tests/test_helpers_render.py",
    "src/mlreport/config.py": "tests/test_cli.py -k 'config or names'",
    "src/mlreport/readers/_common.py": "tests/test_catalog_reader_kit.py -k 'null_params or read_context'",
}

CONFIG = """[cosmic-ray]
module-path = "{module}"
timeout = 120.0
excluded-modules = []
test-command = "{python} -m pytest -x -q -p no:cacheprovider {tests}"

[cosmic-ray.distributor]
name = "local"
"""


def score(
    cosmic_ray: str,
    module: str,
    tests: str,
    keep: Path | None = None,
    rescore: Path | None = None,
    sample: int = 1,
    resume: bool = False,
) -> tuple[int, int, float, list[str], int]:
    kept = (keep or rescore) / module.replace("/", "_") if (keep or rescore) else None
    work = kept or Path(tempfile.mkdtemp(prefix="mlreport-mutation-"))
    try:
        if resume:
            pass
        elif rescore is None:
            work.mkdir(parents=True, exist_ok=True)
            for name in ("src", "tests", "pyproject.toml"):
                src = ROOT / name
                (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
        else:
            shutil.rmtree(work / "tests")
            shutil.copytree(ROOT / "tests", work / "tests")
        (work / "cr.toml").write_text(CONFIG.format(module=module, python=sys.executable, tests=tests))
        # no plugin autoload: pytest starts in a third of the time, and no mutant needs a plugin
        env = {**os.environ, "PYTHONPATH": str(work / "src"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        started = time.perf_counter()
        if resume:
            pass  # a kept session stopped midway: exec runs what it had not run yet
        elif rescore is None:
            # the tests must pass on the unmutated module, or every mutant would "die" (a package
            # missing from the environment is the usual cause)
            _baseline(tests, work, env)
            run = [cosmic_ray, "init", "cr.toml", "s.sqlite"]
            subprocess.run(run, cwd=work, env=env, check=True, capture_output=True)
            if sample > 1:
                keep_every(work / "s.sqlite", sample)
        else:
            # the new tests must pass on the unmutated kept sources, or every mutant would "die"
            _baseline(tests, work, env)
            forget_survivors(work / "s.sqlite")
        subprocess.run([cosmic_ray, "exec", "cr.toml", "s.sqlite"], cwd=work, env=env, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        killed, survived = outcomes(work / "s.sqlite")
        dump = subprocess.run(
            [cosmic_ray, "dump", "s.sqlite"], cwd=work, env=env, check=True, capture_output=True, text=True
        )
        left, same = survivors(dump.stdout)
        return killed, survived, seconds, left, same
    finally:
        if kept is None:
            shutil.rmtree(work, ignore_errors=True)


def _baseline(tests: str, work: Path, env: dict[str, str]) -> None:
    """Fail, naming the first failure, unless ``tests`` pass on the unmutated sources in ``work``."""
    base = f"{sys.executable} -m pytest -x -q -p no:cacheprovider {tests}"
    done = subprocess.run(base, shell=True, cwd=work, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-15:])
        raise SystemExit(f"mutation: the tests fail before any mutation ({tests}):\n{tail}")


def keep_every(db: Path, n: int) -> None:
    """Keep one mutant in ``n`` of a new session, for a module too big to score whole on a shared
    machine. Job ids are random UUIDs, so every n-th in id order is a uniform sample of the whole
    module and every operator (not the first lines of the file)."""
    con = sqlite3.connect(db)
    try:
        with con:
            ids = [row[0] for row in con.execute("SELECT job_id FROM work_items ORDER BY job_id")]
            drop = [(job,) for i, job in enumerate(ids) if i % n]
            con.executemany("DELETE FROM mutation_specs WHERE job_id = ?", drop)
            con.executemany("DELETE FROM work_items WHERE job_id = ?", drop)
    finally:
        con.close()


def forget_survivors(db: Path) -> None:
    """Drop the survivors' results from a session, so that ``cosmic-ray exec`` runs them again."""
    con = sqlite3.connect(db)
    try:
        with con:
            con.execute("DELETE FROM work_results WHERE lower(test_outcome) LIKE '%survived%'")
    finally:
        con.close()


def outcomes(db: Path) -> tuple[int, int]:
    """(killed, survived) from cosmic-ray's session database."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT test_outcome, COUNT(*) FROM work_results GROUP BY test_outcome").fetchall()
    finally:
        con.close()
    counts: dict[str, int] = {}
    for outcome, n in rows:  # summed: GROUP BY tells "KILLED" from "killed"
        counts[str(outcome).lower()] = counts.get(str(outcome).lower(), 0) + n
    return counts.get("killed", 0), counts.get("survived", 0)


_ANNOTATION = re.compile(r"^\s*(def \w+\(|\w+: )")
_CACHE_SIZE = re.compile(r"^\s*@(functools\.)?lru_cache\(maxsize=\d+\)\s*$")


def equivalent(operator: str, diff: str) -> bool:
    """A mutant no test can kill: an operator swapped inside a type annotation (``int | None``
    -> ``int & None``; with ``from __future__ import annotations``, every module here, an
    annotation is a string that nothing evaluates), or a memo's size changed by one
    (``lru_cache(maxsize=8192)`` -> ``8193``: what it returns is the same, only how much it
    remembers; a test that the memo is there kills its removal)."""
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    if len(removed) != 1:
        return False
    if "BitOr" in operator:
        return _ANNOTATION.match(removed[0]) is not None
    return "NumberReplacer" in operator and _CACHE_SIZE.match(removed[0]) is not None


def survivors(dump: str) -> tuple[list[str], int]:
    """Each surviving mutant of ``cosmic-ray dump`` (one JSON pair a line) as readable text, and
    how many of them are :func:`equivalent` (listed too, marked)."""
    out = []
    same = 0
    for line in dump.splitlines():
        item, result = json.loads(line)
        if result is None or str(result.get("test_outcome", "")).lower() != "survived":
            continue
        diff = str(result.get("diff") or "").strip()
        ops = [str(m["operator_name"]) for m in item.get("mutations", [])]
        eq = bool(ops) and all(equivalent(op, diff) for op in ops)
        same += eq
        for m in item.get("mutations", []):
            mark = " (equivalent: an annotation or a memo's size)" if eq else ""
            out.append(f"{m['module_path']}:{m['start_pos'][0]} {m['operator_name']} #{m['occurrence']}{mark}")
        out.append(diff)
    return out, same


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("modules", nargs="*", default=sorted(TESTS))
    p.add_argument("--cosmic-ray", default="cosmic-ray")
    p.add_argument("--tests", help="the test selection for every module (default: TESTS)")
    p.add_argument("--survivors", type=Path, help="write the surviving mutants here")
    p.add_argument("--jobs", type=int, default=1, help="modules scored at once")
    p.add_argument("--before", action="store_true", help="the BEFORE selections where there is one")
    p.add_argument("--keep", type=Path, help="keep each module's scratch copy and session here")
    p.add_argument("--rescore", type=Path, help="run the survivors of the sessions kept here again")
    p.add_argument("--resume", action="store_true", help="with --keep: finish the kept sessions' runs")
    p.add_argument("--sample", type=int, default=1, help="score one mutant in N (a new session)")
    args = p.parse_args()

    def one(module: str) -> tuple[str, tuple[int, int, float, list[str], int]]:
        selection = args.tests or (BEFORE.get(module) if args.before else None) or TESTS[module]
        if args.rescore is not None:
            before = outcomes(args.rescore / module.replace("/", "_") / "s.sqlite")
            print(f"{module}: before {before[0]} killed, {before[1]} survived", flush=True)
        return module, score(
            args.cosmic_ray, module, selection, args.keep, args.rescore, args.sample, args.resume and bool(args.keep)
        )

    # score: killed of all; "of the rest": killed of those a test can kill (not equivalent)
    print(
        f"{'module':40} {'killed':>7} {'survived':>9} {'equiv.':>7} {'score':>6} {'of the rest':>12} {'seconds':>8}",
        flush=True,
    )
    lost: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for module, (killed, survived, seconds, left, same) in pool.map(one, args.modules):
            total = killed + survived
            rest = total - same
            print(
                f"{module:40} {killed:>7} {survived:>9} {same:>7} {killed / total if total else 0:>6.0%}"
                f" {killed / rest if rest else 0:>12.0%} {seconds:>8.0f}",
                flush=True,
            )
            lost += left
    if args.survivors is not None:
        args.survivors.write_text("\n".join(lost) + "\n")


if __name__ == "__main__":
    main()
