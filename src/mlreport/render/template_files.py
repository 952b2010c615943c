"""Where the page templates are and a digest of them, without Jinja2: a build with nothing
changed keys on the templates but renders nothing (issue 7), so it does not import the
environment (:mod:`mlreport.render.templates`)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def builtin_templates_dir() -> Path:
    """The packaged templates (inside the wheel), or the source tree's ``templates/``."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "templates"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "templates"


def templates_digest(user_dir: str | None = None) -> str:
    """A digest of every template the pages can use (the user's and the built-ins): part of
    each page's input digest, so an edited template re-renders the pages."""
    digest = hashlib.sha256()
    for folder in [builtin_templates_dir(), *([Path(user_dir)] if user_dir else [])]:
        digest.update(str(folder).encode())
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.is_file():
                digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
