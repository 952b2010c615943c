"""``feed.xml``: an Atom feed of new model versions and alias moves, for people who subscribe.

Entries come from the catalog (a version's registration time) and from the alias ledger (a move
first seen by a build, :mod:`mlreport.ledger`); holdings found when the history started have no
time and are not news. Pure: the caller passes the page URLs (planned by render) and writes the
bytes. The same catalog and ledger give the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from .catalog import Catalog
from .ledger import Ledger
from .sanitize import NAME_LIMIT, cut_text

FEED_NAME = "feed.xml"
MAX_ENTRIES = 100
# characters XML 1.0 cannot hold at all (control characters but tab, LF, CR; lone surrogates)
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", value))


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _name(value: str) -> str:
    """A store's name as a title or summary shows it: cut as render cuts a heading (issue 11,
    F25: a megabyte version or alias name is not copied into every entry)."""
    cut, was_cut = cut_text(value, NAME_LIMIT)
    return cut + "…" if was_cut else value


def _id(value: str) -> str:
    """A store's name as part of an entry id: the name itself, or past :data:`NAME_LIMIT` a
    digest of it, which is as stable and as unique."""
    if len(value) <= NAME_LIMIT:
        return quote(value, safe="")
    return "sha256-" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def _label(version: str) -> str:
    return _name(f"v{version}" if version[:1].isdigit() else version)


def atom_feed(
    catalog: Catalog,
    ledger: Ledger | None,
    *,
    title: str,
    site_url: str | None,
    version_urls: Mapping[tuple[str, str], str],
    alias_urls: Mapping[tuple[str, str], str],
    model_urls: Mapping[str, str],
) -> bytes:
    """The feed; page URLs are site-relative directories (``models/churn/3/``)."""
    base = (site_url.rstrip("/") + "/") if site_url else ""

    def href(path: str | None) -> str | None:
        return None if path is None else base + quote(path)

    # (time, kind order, id, title, link, summary)
    entries: list[tuple[int, int, str, str, str | None, str]] = []
    for v in catalog.versions:
        run = catalog.run_by_key.get(v.run_key or "")
        # a registry's time, else the source run's (a manifest or promoted version has no other)
        when = v.created or (run.end_time or run.start_time if run is not None else None)
        if when is None:
            continue
        entries.append(
            (
                when,
                1,
                f"urn:mlreport:version:{_id(v.model)}:{_id(v.version)}",
                f"{_name(v.model)} {_label(v.version)}: new version",
                href(version_urls.get((v.model, v.version))),
                f"{_name(v.model)} {_label(v.version)} was registered"
                + (f" (stage {_name(v.stage)})" if v.stage else ""),
            )
        )
    if ledger is not None:
        for model, m in ledger.models.items():
            for kind, table in (("alias", m.aliases), ("stage", m.stages)):
                for name, holdings in table.items():
                    previous: tuple[str, ...] = ()
                    for h in holdings:
                        if h.since is not None and h.seen in ("build", "store"):
                            who = ", ".join(_label(x) for x in h.versions) or "nobody"
                            was = ", ".join(_label(x) for x in previous) or "nobody"
                            shown = _name(f"@{name}" if kind == "alias" else f"stage {name}")
                            link = alias_urls.get((model, name)) if kind == "alias" else None
                            entries.append(
                                (
                                    h.since,
                                    0,
                                    f"urn:mlreport:{kind}:{_id(model)}:{_id(name)}:{h.since}",
                                    f"{_name(model)} {shown} → {who}",
                                    href(link or model_urls.get(model)),
                                    f"{_name(model)} {shown} moved from {was} to {who}",
                                )
                            )
                        previous = h.versions
    entries.sort(key=lambda e: (-e[0], e[1], e[2]))
    entries = entries[:MAX_ENTRIES]
    updated = entries[0][0] if entries else 0
    feed_id = base + FEED_NAME if base else "urn:mlreport:feed"
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"  <title>{_text(title)} · models</title>",
        f"  <id>{_text(feed_id)}</id>",
        f"  <updated>{_time(updated)}</updated>",
        "  <author><name>mlreport</name></author>",
    ]
    if base:
        out.append(f'  <link rel="self" href={_attr(base + FEED_NAME)}/>')
        out.append(f"  <link href={_attr(base)}/>")
    for when, _order, entry_id, entry_title, link, summary in entries:
        out.append("  <entry>")
        out.append(f"    <title>{_text(entry_title)}</title>")
        out.append(f"    <id>{_text(entry_id)}</id>")
        out.append(f"    <updated>{_time(when)}</updated>")
        if link is not None:
            out.append(f"    <link href={_attr(link)}/>")
        out.append(f"    <summary>{_text(summary)}</summary>")
        out.append("  </entry>")
    out.append("</feed>")
    return ("\n".join(out) + "\n").encode("utf-8")
