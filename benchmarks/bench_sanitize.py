#!/usr/bin/env python3
"""clean_text on a million short strings, next to a plain copy of each in the same process.

    python benchmarks/bench_sanitize.py [--strings 1000000]

The catalog passes every string a reader yields through ``mlreport.sanitize.clean_text``, so
its clean-string path must cost about as little as touching the string at all. Three sets of
short strings (metric, param and tag names and values as stores hold them):

- **ascii**: clean ASCII names such as ``train/loss_17``;
- **mixed**: clean text with spaces, newlines and non-ASCII letters (the check's slower path);
- **dirty**: one string in a hundred holds a NUL, a control character or a lone surrogate.

For each set the script times ``[clean_text(s) for s in xs]`` next to two baselines: a plain
copy, ``[str(s) for s in xs]`` (one call per string that returns it: the floor for any
per-string function), and ``[s.encode() for s in xs]`` (what writing a page does with every
string anyway). Figures are best of 3.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from mlreport.sanitize import clean_text  # noqa: E402


def _sets(n: int) -> dict[str, list[str]]:
    rng = random.Random(11)
    words = ["train", "eval", "loss", "accuracy", "lr", "epoch", "f1", "val", "model", "seed"]
    ascii_ = [f"{rng.choice(words)}/{rng.choice(words)}_{i % 997}" for i in range(n)]
    extra = ["café", "日本語", "line\nbreak", "tab\there", "naïve résumé", "☃ snow"]
    mixed = [f"{rng.choice(extra)} {rng.choice(words)} {i % 997}" for i in range(n)]
    bad = ["\x00", "\x1b", "\ud800", "\x7f"]
    dirty = [s + rng.choice(bad) if i % 100 == 0 else s for i, s in enumerate(ascii_)]
    # Make every string its own object, as strings decoded from a store are.
    sets = {"ascii": ascii_, "mixed": mixed, "dirty": dirty}
    return {name: [(s + ".")[:-1] for s in xs] for name, xs in sets.items()}


def _best(fn: Callable[[list[str]], object], xs: list[str]) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        fn(xs)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strings", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"{args.strings:,} strings per set, best of 3, seconds (ns per string)")
    print(f"{'set':<6} {'str(s)':>18} {'s.encode()':>18} {'clean_text(s)':>18}  ratio to str(s)")
    for name, xs in _sets(args.strings).items():
        base = _best(lambda xs: [str(s) for s in xs], xs)
        enc = _best(lambda xs: [s.encode("utf-8", "surrogatepass") for s in xs], xs)
        clean = _best(lambda xs: [clean_text(s) for s in xs], xs)
        per = 1e9 / len(xs)
        print(
            f"{name:<6} {base:>8.3f} ({base * per:>5.0f} ns) {enc:>8.3f} ({enc * per:>5.0f} ns) "
            f"{clean:>8.3f} ({clean * per:>5.0f} ns)  {clean / base:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
