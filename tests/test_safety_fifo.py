"""A FIFO in place of any file of any fixture store is never opened, and nothing waits on it
(issue 11, fuzz finding F11).

The fuzz harness releases a FIFO that something opened (it writes to it, so that no case
hangs), which hides a blocking open. Here nothing releases it: each kind of file of each store
in turn (paths alike but for ids and numbers, or for the name of a param, tag or metric file,
are one kind: 341 of the 767 files) is replaced by a FIFO and the store is read through the crawl (``read_catalog``) and through
the MLflow read-ahead (``_readahead.warm``, which a cold disk turns on), in a child process
with an audit hook that records every ``open`` of the FIFO and an alarm that ends a read
blocked on it. Either one fails the test, naming the file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .fuzz import mutate

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, logging, os, shutil, signal, sys, tempfile
from pathlib import Path
logging.disable(logging.CRITICAL)
sys.path.insert(0, sys.argv[1])
from mlreport import catalog
from mlreport.config import Config, SourceConfig
from mlreport.errors import MlreportError
from mlreport.readers import _readahead

watched = {"path": None}
opened = []

def hook(event, args):
    if event == "open" and watched["path"] and args and isinstance(args[0], (str, bytes)):
        try:
            if os.path.realpath(os.fsdecode(args[0])) == watched["path"]:
                opened.append(os.fsdecode(args[0]))
        except (TypeError, ValueError):
            pass

sys.addaudithook(hook)

class Blocked(Exception):
    pass

def alarm(signum, frame):
    raise Blocked()

signal.signal(signal.SIGALRM, alarm)
out = {"opened": [], "blocked": [], "crashed": [], "files": 0}
tmp = Path(tempfile.mkdtemp())
for label, files in json.loads(sys.argv[2]):
    root = tmp / label
    shutil.copytree(Path(sys.argv[3]) / label, root, symlinks=True)
    for rel in files:
        path = root / rel
        original = path.read_bytes()
        path.unlink()
        os.mkfifo(path)
        watched["path"] = os.path.realpath(path)
        opened.clear()
        out["files"] += 1
        signal.alarm(10)
        try:
            try:
                catalog.read_catalog(Config(sources=(SourceConfig(str(root)),), include_deleted=True))
            except MlreportError:
                pass
            _readahead.warm(str(root))
        except Blocked:
            out["blocked"].append(f"{label}/{rel}")
        except Exception as exc:
            out["crashed"].append(f"{label}/{rel}: {type(exc).__name__}: {exc}")
        finally:
            signal.alarm(0)
            watched["path"] = None
        if opened:
            out["opened"].append(f"{label}/{rel}")
        path.unlink()
        path.write_bytes(original)
print(json.dumps(out))
"""


def _kinds(files: tuple[str, ...]) -> list[str]:
    """One file of each kind: the first of those whose paths differ only in ids and numbers,
    or in the name of a param, tag or metric file (each kind is read by the same code)."""
    seen: set[str] = set()
    out = []
    for rel in files:
        kind = re.sub(r"[0-9a-f]{32}|[0-9a-f]{8,}|\d+", "#", rel)
        kind = re.sub(r"/(params|tags|metrics)/[^/]+$", r"/\1/*", kind)
        if kind not in seen:
            seen.add(kind)
            out.append(rel)
    return out


@pytest.mark.parametrize("fmt", sorted({s.format for s in mutate.load_corpus()}))
def test_a_fifo_in_place_of_any_file_is_never_opened(fmt: str) -> None:
    stores = [(s.label, _kinds(s.files)) for s in mutate.load_corpus() if s.format == fmt]
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(ROOT / "src"), json.dumps(stores), str(mutate.DATA)],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["files"] == sum(len(f) for _, f in stores)
    assert not out["blocked"], f"a read blocked on a FIFO: {out['blocked'][:10]}"
    assert not out["opened"], f"a FIFO was opened: {out['opened'][:10]}"
    assert not out["crashed"], out["crashed"][:10]


def test_the_check_sees_an_open_fifo(tmp_path: Path) -> None:
    """The child's audit hook and alarm, against a reader that opens the FIFO blocking: the
    sabotaged read is reported as opened and blocked, not passed."""
    store = tmp_path / "store"
    store.mkdir()
    (store / "f").write_text("x")
    child = _CHILD.replace(
        "            _readahead.warm(str(root))",
        "            _readahead.warm(str(root))\n            open(path, 'rb').close()  # the sabotage",
    )
    proc = subprocess.run(
        [sys.executable, "-c", child, str(ROOT / "src"), json.dumps([["store", ["f"]]]), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["blocked"] == ["store/f"] and out["opened"] == ["store/f"]
