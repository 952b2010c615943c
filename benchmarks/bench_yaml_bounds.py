#!/usr/bin/env python3
"""CPU cost of the bounded YAML loader (readers/_bounded.load_yaml), next to its baselines.

    python benchmarks/bench_yaml_bounds.py [--repeat 5]

1. Alias bombs (``tests/fuzz/mutate.yaml_bomb``, 9 aliases a level) of 9, 12 and 30 levels:
   the CPU to refuse one, next to the walk of the loaded result that the previous version did
   (the load, then counting every node as a consumer sees it, until the bound).
2. Normal files: every YAML file of the fixture stores (tests/data), loaded once each, with
   ``load_yaml`` and with the plain C loader (``yaml.load(..., yaml.CSafeLoader)``), the floor.
   Also the same files with an anchor and an alias added, which take the event-counting pass
   (a file without both has no alias to count and goes straight to the C loader).

CPU seconds are ``time.process_time`` (this process only; nothing here forks).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from mlreport.readers._bounded import MAX_YAML_NODES, BoundedError, load_yaml  # noqa: E402
from tests.fuzz.mutate import yaml_bomb  # noqa: E402


def _walk_until(value: Any, max_nodes: int) -> None:
    # the previous check: walk the composed result, an aliased object counted at every use
    stack = [value]
    seen = 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > max_nodes:
            raise BoundedError("expand")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _cpu(fn: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    print("alias bombs (best of --repeat, CPU ms):")
    print(f"  {'levels':>6} {'load_yaml':>10} {'old: load + walk':>17}")
    for levels in (9, 12, 30):
        bomb = yaml_bomb(levels) + f"top: *a{levels}\n".encode()

        def refuse(bomb: bytes = bomb) -> None:
            try:
                load_yaml(bomb)
            except BoundedError:
                return
            raise AssertionError("the bomb was accepted")

        def old(bomb: bytes = bomb) -> None:
            try:
                _walk_until(yaml.load(bomb, Loader=yaml.CSafeLoader), MAX_YAML_NODES)  # noqa: S506
            except BoundedError:
                return

        new_ms = 1000 * _cpu(refuse, args.repeat)
        old_ms = 1000 * _cpu(old, 1 if levels > 9 else args.repeat)
        print(f"  {levels:>6} {new_ms:>10.2f} {old_ms:>17.1f}")

    files = sorted(p for p in (ROOT / "tests" / "data").rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    texts = [p.read_bytes() for p in files]
    texts = [t for t in texts if _loads(t)]
    anchored = [
        b"x-anchor: &mlreport_bench 1\nx-alias: *mlreport_bench\n" + t if not t.lstrip().startswith((b"-", b"[")) else t
        for t in texts
    ]
    size = sum(map(len, texts))

    def plain(items: list[bytes] = texts) -> None:
        for t in items:
            yaml.load(t, Loader=yaml.CSafeLoader)  # noqa: S506

    def bounded(items: list[bytes] = texts) -> None:
        for t in items:
            load_yaml(t)

    base = _cpu(plain, args.repeat)
    ours = _cpu(bounded, args.repeat)
    base_a = _cpu(lambda: plain(anchored), args.repeat)
    ours_a = _cpu(lambda: bounded(anchored), args.repeat)
    print(f"normal files: {len(texts)} YAML files of tests/data, {size:,} bytes (best of {args.repeat}, CPU ms):")
    print(f"  without anchors: load_yaml {1000 * ours:.1f}, C loader {1000 * base:.1f}, ratio {ours / base:.2f}")
    print(
        f"  with an alias:   load_yaml {1000 * ours_a:.1f}, C loader {1000 * base_a:.1f}, ratio {ours_a / base_a:.2f}"
    )
    return 0


def _loads(text: bytes) -> bool:
    try:
        load_yaml(text)
    except (yaml.YAMLError, ValueError):
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
