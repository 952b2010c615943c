"""One entry of another type: what it costs, against the same file with that entry deleted.

    python benchmarks/fuzz_entries.py [--per-file 12] [--seed 7] [--store FORMAT/NAME ...]

The fuzz harness's reference for a damaged JSON or YAML document is the file deleted, which is
lenient: it allows losing everything in the file. This run is stricter. It takes every JSON and
YAML file of the fuzz corpus (``tests/fuzz/mutate.py``, the fixture stores of every format), and
``--per-file`` of its entries (``mutate._paths``, shuffled with ``--seed``). It gives each entry
a value of another type (``7`` for text, a list or a mapping, ``["x", 1]`` for a number or a
boolean). It reads the store with that file, and with the same file with only that entry
deleted, and prints each entry whose damage costs records that the deletion does not cost (the
harness's ``records``/``lost``). It is an exploration, not a gate: renames (a new digest is a
new dataset key) show up too, and docs/safety-checklist.md says which is which.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlreport.catalog import read_catalog, to_jsonable  # noqa: E402
from mlreport.config import Config, SourceConfig  # noqa: E402
from mlreport.errors import MlreportError  # noqa: E402
from tests.fuzz import harness, mutate  # noqa: E402

_DELETE = object()


def _with(doc: Any, path: tuple[Any, ...], value: object) -> Any:
    doc = copy.deepcopy(doc)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if value is _DELETE:
        if isinstance(parent, list):
            parent.pop(path[-1])
        else:
            del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


def _records(root: Path) -> Counter[tuple[object, ...]]:
    try:
        catalog = read_catalog(Config(sources=(SourceConfig(str(root)),), include_deleted=True))
    except MlreportError:
        return harness.records(None)
    return harness.records(to_jsonable(catalog))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-file", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--store", action="append", default=[], help="only this store (format/name)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    checked = costly = 0
    for store in mutate.load_corpus():
        if args.store and store.label not in args.store:
            continue
        work = Path(tempfile.mkdtemp(prefix="mlreport-fuzz-entries-"))
        try:
            root = work / "store"
            shutil.copytree(store.path, root, symlinks=True)
            for rel in store.files:
                data = (store.path / rel).read_bytes()
                kind = mutate.file_kind(rel, data)
                if kind not in ("json", "yaml"):
                    continue
                try:
                    doc = json.loads(data) if kind == "json" else yaml.safe_load(data)
                except (ValueError, yaml.YAMLError):
                    continue
                if not isinstance(doc, (dict, list)):
                    continue
                paths = [p for p in mutate._paths(doc) if p]
                rng.shuffle(paths)
                for path in paths[: args.per_file]:
                    parent = doc
                    for key in path[:-1]:
                        parent = parent[key]
                    current = parent[path[-1]]
                    wrong: object = 7 if isinstance(current, (dict, list, str)) else ["x", 1]
                    deleted, damaged = _with(doc, path, _DELETE), _with(doc, path, wrong)

                    def dump(d: Any, kind: str = kind) -> bytes:
                        if kind == "json":
                            return json.dumps(d).encode()
                        return yaml.safe_dump(d, sort_keys=False).encode()

                    (root / rel).write_bytes(dump(deleted))
                    reference = _records(root)
                    (root / rel).write_bytes(dump(damaged))
                    got = _records(root)
                    (root / rel).write_bytes(data)
                    checked += 1
                    gone = harness.lost(reference, got)
                    if gone:
                        costly += 1
                        where = "/".join(map(str, path))[:60]
                        sample = sorted(map(str, gone))[:2]
                        print(f"{store.label} {rel} {where} = {wrong!r}: {sum(gone.values())} lost, e.g. {sample}")
        finally:
            shutil.rmtree(work)
    print(f"{checked:,} entries checked, {costly:,} cost more than their deletion")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
