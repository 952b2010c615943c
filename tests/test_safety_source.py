"""The source is never written, in any format (issue 11: "nothing in a source is ever written").

Every fixture store of every format (the fuzz corpus: 40+ stores written by the real tools,
and the hand-damaged ones), pristine and with its database damaged, is read through the crawl
and its pages rendered; afterwards every file has the same bytes, mode and modification time,
and nothing was created or removed beside them (SQLite side files, caches, lock files).
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import shutil
from pathlib import Path

import pytest

from mlreport import catalog
from mlreport.config import Config, SourceConfig
from mlreport.errors import MlreportError
from mlreport.render.pages import render_site

from .fuzz import mutate


def _state(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every entry under ``root``: (sha256 or link target or kind, mode, mtime in ns)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(dirpath) / name
            st = path.lstat()
            if path.is_symlink():
                what = "-> " + os.readlink(path)
            elif path.is_file():
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                what = "dir"
            out[str(path.relative_to(root))] = (what, st.st_mode, st.st_mtime_ns)
    return out


def _crawl_and_render(root: Path) -> None:
    config = Config(sources=(SourceConfig(str(root)),), include_deleted=True)
    logging.disable(logging.CRITICAL)
    try:
        cat = catalog.read_catalog(config)
    except MlreportError:
        return
    finally:
        logging.disable(logging.NOTSET)
    render_site(cat, config)


@pytest.mark.parametrize("fmt", sorted({s.format for s in mutate.load_corpus()}))
def test_reading_and_rendering_changes_nothing_in_the_source(fmt: str, tmp_path: Path) -> None:
    stores = [s for s in mutate.load_corpus() if s.format == fmt]
    for store in stores:
        root = tmp_path / store.label
        shutil.copytree(store.path, root, symlinks=True)
        before = _state(root)
        _crawl_and_render(root)
        assert _state(root) == before, store.label
        for db in [root / f for f in store.files if f.endswith(".db")]:
            # damaged: the reader salvages and repairs, always in a private copy
            data = bytearray(db.read_bytes())
            page = random.Random(store.label).randrange(1, len(data) // 4096) * 4096
            data[page : page + 4096] = random.Random(page).randbytes(4096)
            db.write_bytes(bytes(data))
            os.utime(db, ns=(10**18, 10**18))
            damaged = _state(root)
            _crawl_and_render(root)
            assert _state(root) == damaged, f"{store.label}: {db.name} damaged at byte {page}"
