"""Text made safe for pages, paths and the search index (issue 11).

Every string a store yields is untrusted. Python accepts strings that cannot be written as
UTF-8 (a lone surrogate such as ``"\\ud800"``, which ``json.loads`` produces from the escape
``"\\ud800"``), and strings with control characters that HTML, XML (the sitemap), CSV and
terminals mishandle: a NUL byte ends a C string and corrupts a CSV cell, ``\\x1b`` drives a
terminal, ``\\x0c`` is not allowed in XML at all. The catalog passes every string a reader
yields through :func:`clean_text`, so render can assume clean text.

What "clean" means here:

- it encodes as UTF-8 (no surrogate code points; a surrogate *pair* split into two code points,
  as ``surrogateescape`` or careless concatenation leaves it, is joined into its character);
- it holds no control character (Unicode category Cc: C0, DEL and C1) other than tab, line
  feed and carriage return. NUL is removed; every other one becomes U+FFFD, so that a reader of
  the page sees that something was there.

Most strings are clean, so the check comes first and costs about what ``str.isprintable`` costs
(``benchmarks/bench_sanitize.py`` measures it against a plain copy).
"""

from __future__ import annotations

import re
from typing import Any

#: U+FFFD, the replacement character.
REPLACEMENT = "\ufffd"

#: Characters of a page value kept before it is cut (a 20 MB note is not copied into a page).
PAGE_TEXT_LIMIT = 20_000
#: Characters of a name (a heading, a column, a title, a feed entry) kept before it is cut.
NAME_LIMIT = 300

# Control characters other than \t \n \r (NUL is removed before this runs), and surrogates.
_BAD = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_clean(s: str) -> bool:
    """True when :func:`clean_text` would return ``s`` unchanged."""
    # isprintable() is False for every Cc and Cs character (and for some harmless ones such
    # as spaces other than U+0020 and unassigned code points): a True is a quick yes.
    if s.isprintable():
        return True
    return "\x00" not in s and _BAD.search(s) is None


def clean_text(s: str) -> str:
    """``s`` as valid, printable UTF-8 text; ``s`` itself (the same object) when already clean.

    NUL characters are removed; other control characters except ``\\t``, ``\\n`` and ``\\r``
    become U+FFFD; surrogate pairs are joined and lone surrogates become U+FFFD.
    """
    if s.isprintable():
        return s
    has_nul = "\x00" in s
    if not has_nul and _BAD.search(s) is None:
        return s
    if has_nul:
        s = s.replace("\x00", "")
    if _SURROGATE.search(s) is not None:
        # UTF-16 round trip: a high+low pair becomes its character, a lone one U+FFFD.
        s = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _BAD.sub(REPLACEMENT, s)


def load_json_text(text: str) -> Any:
    """A JSON value held in a (clean) store string, decoded after the crawl, as clean as the
    catalog: every string in it through :func:`clean_text` (the escape ``"\\ud800"`` decodes to
    a lone surrogate), nesting bounded. Raises ``ValueError`` for what is not JSON, nesting
    past the bound included (``json.loads`` would raise ``RecursionError``)."""
    from .readers._bounded import MAX_DEPTH, load_json

    return _clean_value(load_json(text, max_depth=MAX_DEPTH))


def _clean_value(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean_value(v) for v in value]  # depth bounded by the load
    if isinstance(value, dict):
        return {clean_text(k): _clean_value(v) for k, v in value.items()}
    return value


def cut_text(s: str, limit: int = PAGE_TEXT_LIMIT) -> tuple[str, bool]:
    """``s`` cut to at most ``limit`` characters, and whether it was cut.

    The cut never splits a surrogate pair or leaves a combining mark without its base
    character at the end: it backs off to the start of the last character. Callers show the
    cut value with a note and keep the full value in a downloadable file.
    """
    if limit < 0:
        raise ValueError(f"limit must be at least 0, not {limit}")
    if len(s) <= limit:
        return s, False
    end = limit
    # Back off over combining marks and joiners so the last visible character is whole.
    while end > 0 and (_continues(s[end]) or s[end - 1] == "\u200d"):
        end -= 1
    if end > 0 and "\ud800" <= s[end - 1] <= "\udbff":  # a high surrogate: its pair is cut
        end -= 1
    return s[:end], True


def _continues(ch: str) -> bool:
    # A character that belongs to the one before it: a combining mark (U+0300..U+036F and
    # the other Mn ranges are found by unicodedata), a zero-width joiner or a variation
    # selector. Imported lazily: unicodedata is only needed when something is cut.
    import unicodedata

    if ch in "\u200d\ufe0e\ufe0f":
        return True
    return unicodedata.category(ch) in ("Mn", "Me")
