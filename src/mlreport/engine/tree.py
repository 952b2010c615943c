"""The spare tree: the site before the last one, updated in place into the next site.

After a swap (:func:`mlreport.publish.swap_in`) the folder that was published sits in the work
folder as the spare. The next build makes the spare hold exactly the new site's files and swaps
it in: a page whose files in the spare are already those of its digest is not touched at all
(its folder neither read nor written), so a build after one new run costs the pages that changed
in the last two builds, not one link per page of the site (20,000 at 10,000 runs + 10,000
versions). The spare is never published while it is being changed.

Every file of the site is a hard link shared with the published site, the page cache
(:mod:`mlreport.engine.page_store`) and MkDocs' output folder, so a file is never written
through: it is unlinked and made anew (:meth:`Tree.write`, :meth:`Tree.link`). A file is taken
as it is only while it has the size and modification time recorded when it was put there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

#: (size, mtime_ns) of a file, as recorded when it was put into a tree (the manifest's form)
Stat = tuple[int, int]


def stat_of(path: str | Path) -> Stat | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


class Tree:
    """A folder being made to hold exactly a set of files (site-relative paths).

    ``recorded``: what the folder held when it was last complete (path -> :data:`Stat`); a
    file not as recorded is replaced, a recorded file not put again is removed by :meth:`prune`.
    """

    def __init__(self, root: Path, recorded: Mapping[str, Stat]) -> None:
        self.root = root
        self.recorded = dict(recorded)
        self.files: dict[str, Stat] = {}  # what the tree holds now, as it will be recorded
        self._made: set[str] = set()  # folders known to exist
        root.mkdir(parents=True, exist_ok=True)

    def intact(self, rel: str, expected: Stat | None = None) -> bool:
        """Keep ``rel`` as it is when it is still the file recorded (or ``expected``)."""
        want = expected if expected is not None else self.recorded.get(rel)
        if want is None:
            return False
        now = stat_of(self.root / rel)
        if now != want:
            return False
        self.files[rel] = now
        return True

    def _parent(self, rel: str) -> Path:
        target = self.root / rel
        folder = rel.rpartition("/")[0]
        if folder and folder not in self._made:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                # a file of the last site where a folder is wanted now (a file that became a
                # page's folder): it is the tree's own, removed, and the folders made
                self._unfile(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
        return target

    def _unfile(self, folder: str) -> None:
        """Remove the first non-folder on the way from the root to ``folder``."""
        path = self.root
        for part in folder.split("/"):
            path = path / part
            if os.path.lexists(path) and (path.is_symlink() or not path.is_dir()):
                path.unlink()
                return

    def _clear(self, target: Path) -> None:
        # a folder where a file is wanted (a page's folder that became a file): the tree's own;
        # unlink() of a folder raises IsADirectoryError, so it is looked at first
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
            return
        with contextlib.suppress(FileNotFoundError):
            target.unlink()

    def link(self, source: Path, rel: str) -> Stat:
        """Make ``rel`` a hard link to ``source`` (a copy across file systems)."""
        target = self._parent(rel)
        try:
            if os.path.samestat(os.lstat(target), os.lstat(source)):
                st = stat_of(target)
                assert st is not None
                self.files[rel] = st  # already that very file
                return st
        except OSError:
            pass
        self._clear(target)
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
        st = stat_of(target)
        assert st is not None
        self.files[rel] = st
        return st

    def write(self, rel: str, data: bytes) -> Stat:
        """Make ``rel`` a new file holding ``data`` (never a write through a shared inode)."""
        target = self._parent(rel)
        self._clear(target)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        st = stat_of(target)
        assert st is not None
        self.files[rel] = st
        return st

    def put(self, rel: str, data: bytes) -> Stat:
        """Make ``rel`` hold ``data``: the recorded file is kept when it already does (a copy
        of an artifact, the same in most builds), else a new file is written."""
        want = self.recorded.get(rel)
        if want is not None and want[0] == len(data) and stat_of(self.root / rel) == want:
            try:
                same = (self.root / rel).read_bytes() == data
            except OSError:
                same = False
            if same:
                self.files[rel] = want
                return want
        return self.write(rel, data)

    def prune(self, extra: Iterable[str] = ()) -> int:
        """Remove what the tree held (recorded, or named in ``extra``) and was not put again,
        and the folders left empty. Returns the files removed."""
        gone = [rel for rel in {*self.recorded, *extra} if rel not in self.files]
        folders: set[str] = set()
        for rel in gone:
            # gone, or already replaced by a folder of the new site (or under a file of it)
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
                (self.root / rel).unlink()
            parent = rel.rpartition("/")[0]
            while parent:
                folders.add(parent)
                parent = parent.rpartition("/")[0]
        for folder in sorted(folders, key=lambda f: f.count("/"), reverse=True):
            with contextlib.suppress(OSError):  # not empty: it still holds something wanted
                (self.root / folder).rmdir()
        return len(gone)


__all__ = ["Stat", "Tree", "stat_of"]
