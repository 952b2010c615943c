"""What confining a local store costs: the crawl with the confined LocalStore next to the same
crawl with a plain, unconfined one (the store as it was before: scandir + open().read(), links
followed, no type check, no size cap).

    python benchmarks/bench_local_store.py [--runs 1000] [--formats mlflow hf ...] [--repeat 5]

Both crawls run in this process, alternately, on the same store (page cache warm); the fastest
of ``--repeat`` is reported, wall and CPU time. The plain store is defined here and swapped in for
the baseline only. Figures are printed, nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_stores  # noqa: E402 - a sibling script, not a package

from mlreport import stores  # noqa: E402
from mlreport.catalog import read_catalog  # noqa: E402
from mlreport.config import Config, SourceConfig  # noqa: E402
from mlreport.readers import available_readers  # noqa: E402


class PlainStore(stores.Store):
    """The unconfined baseline (LocalStore before confinement)."""

    def __init__(self, root: Path, url: str, max_file_size: int = 0) -> None:
        self.root = root
        self.url = url
        self.refused: dict[str, str] = {}

    def _abs(self, path: str) -> str:
        return os.path.join(self.root, path) if path else str(self.root)

    def ls(self, path: str = "") -> list[stores.Entry]:
        try:
            with os.scandir(self._abs(path)) as it:
                entries = []
                for e in it:
                    try:
                        is_dir = e.is_dir()
                        size = None if is_dir else e.stat().st_size
                    except OSError:
                        continue
                    entries.append(stores.Entry(e.name, is_dir, size))
        except (FileNotFoundError, NotADirectoryError):
            return []
        entries.sort(key=lambda e: e.name)
        return entries

    def read_bytes(self, path: str) -> bytes:
        with open(self._abs(path), "rb") as f:
            return f.read()

    def read_tree(self, path: str) -> dict[str, bytes | OSError]:
        out: dict[str, bytes | OSError] = {}
        stack = [(self._abs(path), "")]
        while stack:
            directory, prefix = stack.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except (FileNotFoundError, NotADirectoryError):
                continue
            for e in entries:
                rel = f"{prefix}{e.name}"
                try:
                    if e.is_dir():
                        stack.append((e.path, rel + "/"))
                        continue
                    with open(e.path, "rb") as f:
                        out[rel] = f.read()
                except OSError as exc:
                    out[rel] = exc
        return dict(sorted(out.items()))

    def read_head(self, path: str, size: int) -> bytes:
        with open(self._abs(path), "rb") as f:
            return f.read(size)

    def kind(self, path: str) -> str | None:
        try:
            mode = os.stat(self._abs(path)).st_mode
        except (OSError, ValueError):
            return None
        return "dir" if stat.S_ISDIR(mode) else "file"

    @contextlib.contextmanager
    def local_copy(self, path: str) -> Iterator[Path]:
        yield Path(self._abs(path))

    def local_root(self) -> Path | None:
        return self.root


def crawl(source: str) -> tuple[float, float, int]:
    t, cpu = time.perf_counter(), time.process_time()
    c = read_catalog(Config(sources=(SourceConfig(source),)))
    return time.perf_counter() - t, time.process_time() - cpu, len(c.runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--formats", nargs="+", default=["mlflow", "hf", "dvc", "manifest"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    available_readers()
    confined = stores.LocalStore
    print(f"{'format':<12} {'runs':>6} {'files':>7}  {'plain s':>8} {'confined s':>10} {'ratio':>6}  {'cpu ratio':>9}")
    with tempfile.TemporaryDirectory(prefix="mlreport-bench-") as tmp:
        for fmt in args.formats:
            source, writer = make_stores.generate(fmt, tmp, args.runs, 0)
            best: dict[str, tuple[float, float]] = {}
            for _ in range(args.repeat):
                for name, cls in (("plain", PlainStore), ("confined", confined)):
                    stores.LocalStore = cls  # type: ignore[misc]  # the baseline, for this crawl only
                    try:
                        wall, cpu, runs = crawl(source)
                    finally:
                        stores.LocalStore = confined  # type: ignore[misc]
                    old = best.get(name, (float("inf"), float("inf")))
                    best[name] = (min(old[0], wall), min(old[1], cpu))
            (pw, pc), (cw, cc) = best["plain"], best["confined"]
            print(f"{fmt:<12} {runs:>6} {writer.files:>7}  {pw:>8.3f} {cw:>10.3f} {cw / pw:>6.2f}  {cc / pc:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
