"""What render is handed for the artifact previews: records and the names of their kinds.

The previews are read before render (``mlreport.previews``, through the read-only store); render
imports only these records, so that it loads no store and no reader (issue 8: render knows
pages, not stores).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from .model import Artifact, Problem

__all__ = ["HEATMAP", "HTML", "IMAGE", "MAX_PER_OWNER", "NOT_HELD", "PLOT", "TABLE", "TEXT", "Preview", "Previews"]

MAX_PER_OWNER = 60  # artifacts previewed per run or model; the others are only listed

#: what an artifact row says when the store names the file but does not hold its bytes
NOT_HELD = "not previewed: its bytes are not in the store"

IMAGE = "image"
HEATMAP = "heatmap"
TABLE = "table"
TEXT = "text"
HTML = "html"
PLOT = "plot"  # a chart of a declared plot's table, or a store's plotly figure (mlreport.plots)


@dataclass(frozen=True, slots=True)
class Preview:
    """What a page shows for one artifact. Strings are untrusted: render escapes them.

    ``url`` is the site path of the copy (a download link, an ``<img>`` or ``<iframe>`` source),
    ``None`` when the file was not copied; ``note`` says what was cut or why nothing is shown;
    ``digest`` is the content digest of the bytes read (a page's digest includes it).
    """

    path: str
    kind: str | None
    url: str | None = None
    digest: str = ""
    note: str | None = None
    text: str | None = None
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    labels: tuple[str, ...] = ()
    matrix: tuple[tuple[float, ...], ...] = ()
    width: int | None = None
    height: int | None = None
    figure: str = ""  # PLOT: the plotly figure as JSON text


@dataclass(frozen=True)
class Previews:
    """Every artifact preview of a build: by (store, artifact location), the files to copy (site
    path -> bytes), and the problems met."""

    by_location: Mapping[tuple[str, str], Preview] = field(default_factory=dict)
    files: Mapping[str, bytes] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    enabled: bool = False  # previews were made (artifacts.previews), even if none was found

    def get(self, store: str, artifact: Artifact) -> Preview | None:
        if artifact.location is None:
            return None
        return self.by_location.get((store, artifact.location))

    def for_render(self) -> Previews:
        """These previews without the copies' bytes: what render workers need (the bytes go
        into the site once, from the building process, and would be up to 200 MB per worker)."""
        return replace(self, files={})

    def digest(self, store: str, artifacts: Iterable[Artifact]) -> bytes:
        """The previews of ``artifacts`` as bytes for a page's input digest."""
        h = hashlib.blake2b(digest_size=16)
        for a in artifacts:
            p = self.get(store, a)
            if p is not None:
                h.update(repr(p).encode())
        return h.digest()
