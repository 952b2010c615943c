"""Exceptions that own their message; ``cli.py`` turns them into one line and an exit status.

Tree::

    MlreportError            exit 1 unless said otherwise
    ├── UsageError           exit 2: a command line or config that cannot work
    ├── ConfigError          exit 2: mlreport.yml is wrong (the message names the key)
    ├── SourceError          exit 2: a source that does not exist or is not a known store
    ├── StoreAccessError     exit 1: a store that exists but cannot be read (credentials, network)
    └── BuildError           exit 1: the site builder failed
"""

from __future__ import annotations

#: Characters of a message kept: messages quote store names, and one line of a terminal or a
#: CI log is no place for a megabyte model name (issue 11, F25).
MESSAGE_LIMIT = 2_000


class MlreportError(Exception):
    """Base class: ``str(error)`` is the whole message, without the ``mlreport:`` prefix, cut
    to :data:`MESSAGE_LIMIT` characters."""

    exit_code = 1

    def __str__(self) -> str:
        text = super().__str__()
        if len(text) <= MESSAGE_LIMIT:
            return text
        from .sanitize import cut_text

        return f"{cut_text(text, MESSAGE_LIMIT)[0]}… (cut: {len(text):,} characters)"


class UsageError(MlreportError):
    exit_code = 2


class ConfigError(MlreportError):
    exit_code = 2


class SourceError(MlreportError):
    exit_code = 2


class StoreAccessError(MlreportError):
    exit_code = 1


class BuildError(MlreportError):
    exit_code = 1


class RecordError(Exception):
    """Raised inside a reader for one bad record; the reader turns it into a Problem."""


def kind_of(value: object) -> str:
    """How a message names the type of a value read from YAML or JSON ("a string", "a list")."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
