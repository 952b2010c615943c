"""Every parser call in ``src/`` is bounded or catches what it can raise (issue 11).

The standard parsers fail on hostile bytes in ways a reader's ``except ValueError`` does not
catch: JSON nested 100,000 deep raises ``RecursionError``; PyYAML's pure-Python loader recurses
per level and raises it near 900 levels where libyaml does not; a 5,000-digit integer raises
``ValueError`` from the int-string limit (``tomllib`` too). ``readers/_bounded.py`` turns all of
that into a ``ValueError`` with a message. This file holds the list of every other parser call:

- an AST scan of ``src/mlreport`` finds each call of a parser (``json.loads``, ``yaml.load``,
  ``tomllib.loads``, ``ElementTree.fromstring``, ``pickle.loads`` …) outside ``_bounded.py``;
  each must be in :data:`ALLOWED` with the reason it is safe, so a new unguarded call fails this
  test until someone has thought about it (and an entry whose call is gone fails too);
- the calls that take store bytes (or a server's, or a user's file) are then fed hostile input
  and must end as their documented error, never as another exception.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from .conftest import DATA, ROOT

SRC = ROOT / "src" / "mlreport"

#: (module, attribute) calls that parse bytes or text.
PARSERS = {
    ("json", "loads"),
    ("json", "load"),
    ("yaml", "load"),
    ("yaml", "safe_load"),
    ("yaml", "load_all"),
    ("yaml", "safe_load_all"),
    ("yaml", "full_load"),
    ("yaml", "unsafe_load"),
    ("yaml", "compose"),
    ("yaml", "parse"),
    ("tomllib", "loads"),
    ("tomllib", "load"),
    ("ET", "fromstring"),
    ("ET", "parse"),
    ("ET", "XML"),
    ("ElementTree", "fromstring"),
    ("minidom", "parseString"),
    ("pickle", "loads"),
    ("pickle", "load"),
    ("marshal", "loads"),
    ("plistlib", "loads"),
    ("ast", "literal_eval"),
}
#: attribute calls that parse whatever object they are called on
METHODS = {"raw_decode", "ParseFromString", "make_scanner"}

#: (file, enclosing function, call) -> why it is safe. Store bytes go through readers/_bounded.py.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("comment.py", "_request", "json.loads"): "the forge's API answer; ValueError and RecursionError become CommentError",
    ("comment.py", "_pr_number", "json.load"): "the CI runner's event file; RecursionError is caught with the rest",
    ("engine/output.py", "write_search_index", "json.loads"): "the search index MkDocs just wrote into our own site",
    ("engine/remote.py", "theme_paths", "yaml.safe_load"): "the mkdocs.yml mlreport generated itself",
    ("readers/dvc.py", "_load_toml", "tomllib.loads"): (
        "catches UnicodeDecodeError, TOMLDecodeError and RecursionError; the int-string limit "
        "is a ValueError, the function's own error (tested below)"
    ),
    ("readers/hf.py", "_read_card", "yaml.load"): (
        "re-parses, for the error's line only, front matter libyaml refused; YAMLError and "
        "RecursionError caught (tested below)"
    ),
    ("readers/manifest.py", "_yaml_problem", "yaml.load"): (
        "re-parses, for the error's wording only, a text libyaml refused; YAMLError and "
        "RecursionError caught (tested below)"
    ),
    ("readers/manifest.py", "manifest_schema", "json.loads"): "the JSON schema packaged with mlreport",
    ("readers/testkit.py", "check_reader", "pickle.loads"): "a round trip of the catalog the kit just read",
    ("readers/wandb.py", "<module>", "?.make_scanner"): (
        "json's C scanner, given one scalar value at a time by _fast_items (containers take the "
        "bounded general path), which catches IndexError, ValueError and StopIteration"
    ),
    ("render/previews.py", "_preview", "json.loads"): "a figure mlreport.plots wrote, sanitised and bounded",
    ("render/runs_table.py", "read_data_script", "json.loads"): "a runs-table data script mlreport wrote (tests, tools)",
    ("render/site_config.py", "load_user_config", "yaml.load"): (
        "the user's own mkdocs.yml; YAMLError and RecursionError become ConfigError (tested below)"
    ),
    ("stores.py", "_parse_list", "ET.fromstring"): (
        "a bucket's listing: expat does not recurse and (2.4+) refuses entity amplification; "
        "ParseError becomes OSError; a bad Size is an unknown size (tested below)"
    ),
}


def _calls() -> dict[tuple[str, str, str], int]:
    found: dict[tuple[str, str, str], int] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel == "readers/_bounded.py":
            continue  # the bounded parsers themselves (tests/fuzz/test_bounded.py)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for owner, node in _walk(tree, "<module>"):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            f = node.func
            if isinstance(f.value, ast.Name) and (f.value.id, f.attr) in PARSERS:
                name = f"{f.value.id}.{f.attr}"
            elif f.attr in METHODS:
                name = f"?.{f.attr}"
            else:
                continue
            found[(rel, owner, name)] = node.lineno
    return found


def _walk(node: ast.AST, owner: str):  # type: ignore[no-untyped-def]
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _walk(child, child.name)
        else:
            yield owner, child
            yield from _walk(child, owner)


def test_every_parser_call_outside_bounded_is_listed_with_its_reason() -> None:
    found = _calls()
    unlisted = {f"{k[0]}:{line} {k[2]} in {k[1]}" for k, line in found.items() if k not in ALLOWED}
    assert unlisted == set(), "parse store bytes through readers/_bounded.py, or list the call with why it is safe"
    gone = set(ALLOWED) - set(found)
    assert gone == set(), "these listed calls are gone: remove them from ALLOWED"


def test_the_scan_finds_a_new_call(tmp_path: Path) -> None:
    tree = ast.parse("import json\ndef read(data):\n    return json.loads(data)\n")
    calls = [(owner, n.func.attr) for owner, n in _walk(tree, "<module>") if isinstance(n, ast.Call)]
    assert calls == [("read", "loads")]


# -- hostile input through each call that takes bytes it did not write -------------------------

DEEP_JSON = "[" * 100_000
DEEP_FLOW = "a: " + "[" * 900 + "1" + "]" * 899 + "\n"  # libyaml refuses it; the pure loader recursed
HUGE_INT = "9" * 5_000


def test_an_mlflow_dataset_source_nested_deep_keeps_every_dataset(tmp_path: Path) -> None:
    """``_dataset_source`` caught only ValueError: JSON nested 100,000 deep in one dataset's
    ``source`` raised RecursionError, and every dataset of the experiment was skipped."""
    from mlreport.catalog import read_catalog
    from mlreport.config import Config, SourceConfig
    from mlreport.readers.mlflow_file import _dataset_source

    assert _dataset_source(DEEP_JSON) == DEEP_JSON  # not JSON it can use: the text itself
    assert _dataset_source('{"uri": ' + HUGE_INT + "}") is not None
    assert _dataset_source('{"uri": "s3://b/k"}') == "s3://b/k"
    store = tmp_path / "mlruns"
    shutil.copytree(DATA / "mlflow" / "v3_file" / "mlruns", store)
    meta = store / "716778322394665320" / "datasets" / "1cabf8c7e8ffd6ce6bd3baf9670afc63" / "meta.yaml"
    doc = yaml.safe_load(meta.read_text(encoding="utf-8"))
    doc["source"] = DEEP_JSON
    meta.write_text(yaml.safe_dump(doc), encoding="utf-8")
    catalog = read_catalog(Config(sources=(SourceConfig(str(store)),)))
    assert sorted(d.name for d in catalog.datasets) == ["eval-ds", "train-ds"]
    assert not [p for p in catalog.problems if "RecursionError" in p.reason]


def test_hf_front_matter_nested_past_the_pure_loader_is_one_problem(tmp_path: Path) -> None:
    """The re-parse that words a front-matter error recursed where libyaml did not: 900 levels
    raised RecursionError and the whole output dir (3 model versions) was lost."""
    from mlreport.catalog import read_catalog
    from mlreport.config import Config, SourceConfig

    out = tmp_path / "full"
    shutil.copytree(DATA / "hf" / "full", out)
    readme = out / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    readme.write_text("---\nbad: " + DEEP_FLOW[3:] + text[4:], encoding="utf-8")
    catalog = read_catalog(Config(sources=(SourceConfig(str(out)),)))
    assert len(catalog.versions) == 3
    assert [p.reason for p in catalog.problems] == ["invalid YAML front matter"]


def _raises(call: Callable[[], object], allowed: tuple[type[BaseException], ...]) -> None:
    try:
        call()
    except allowed:
        pass


HOSTILE_YAML = [DEEP_FLOW, "a: [" + "[" * 100_000, "a: " + HUGE_INT + "\n", "a: &x [*x, *x]\n"]


@pytest.mark.parametrize("text", HOSTILE_YAML, ids=["deep-900", "deep-100k", "huge-int", "self-alias"])
def test_hostile_yaml_is_one_error_everywhere(text: str, tmp_path: Path) -> None:
    from mlreport.errors import ConfigError
    from mlreport.readers.manifest import ManifestError, _yaml_problem, load_manifest
    from mlreport.render.site_config import load_user_config

    assert _yaml_problem(text).startswith("invalid YAML")
    _raises(lambda: load_manifest("mlreport.yaml", ("kind: run\n" + text).encode()), (ManifestError,))
    path = tmp_path / "mkdocs.yml"
    path.write_text(text, encoding="utf-8")
    _raises(lambda: load_user_config(path), (ConfigError,))
    cfg = tmp_path / "mlreport.yml"
    cfg.write_text(text, encoding="utf-8")
    from mlreport.config import load_config

    _raises(lambda: load_config(cfg), (ConfigError,))


@pytest.mark.parametrize(
    "data",
    [b"a = " + b"[" * 100_000, b"a = " + HUGE_INT.encode(), b"\xff\xfe", b"a = {" * 50_000],
    ids=["deep-array", "huge-int", "not-utf8", "deep-table"],
)
def test_hostile_toml_is_a_value_error(data: bytes) -> None:
    from mlreport.readers.dvc import _load_toml

    with pytest.raises(ValueError):
        _load_toml(data)


@pytest.mark.parametrize(
    "body",
    [
        b"<a>" * 100_000,
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(b'<!ENTITY %s "%s">' % (b"a" * (i + 2), (b"&" + b"a" * (i + 1) + b";") * 10) for i in range(8))
        + b"]><ListBucketResult>&"
        + b"a" * 9
        + b";</ListBucketResult>",
        b"<ListBucketResult><Contents><Key>k</Key><Size>" + HUGE_INT.encode() + b"</Size></Contents></ListBucketResult>",
        b"<ListBucketResult><Contents><Key>k</Key><Size>abc</Size></Contents></ListBucketResult>",
        b"\xff\xfe not xml",
    ],
    ids=["deep", "entity-bomb", "huge-size", "bad-size", "not-xml"],
)
def test_a_hostile_bucket_listing_is_an_os_error_or_a_listing(body: bytes) -> None:
    from mlreport.stores import _parse_list

    try:
        page = _parse_list(body)
    except OSError:
        return
    assert all(size is None or 0 <= size < 2**64 for _, size in page.keys)


def test_a_forge_answer_that_is_not_json_is_a_comment_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import urllib.request

    from mlreport import comment

    class Answer(io.BytesIO):
        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *_: object) -> None:
            pass

    for text in (DEEP_JSON, "<html>proxy error</html>"):
        monkeypatch.setattr(urllib.request, "urlopen", lambda *_a, _t=text, **_k: Answer(_t.encode()))
        with pytest.raises(comment.CommentError, match="the answer is not JSON"):
            comment._request("GET", "https://forge.invalid/api", {})


def test_a_deep_event_file_is_a_comment_error(tmp_path: Path) -> None:
    from mlreport import comment

    event = tmp_path / "event.json"
    event.write_text(DEEP_JSON, encoding="utf-8")
    with pytest.raises(comment.CommentError, match="cannot read the pull request's number"):
        comment._pr_number({"GITHUB_EVENT_PATH": str(event)})


def test_the_wandb_fast_path_leaves_hostile_values_to_the_general_decoder() -> None:
    from mlreport.readers.wandb import _fast_items

    def item(key: bytes, value: bytes) -> bytes:
        inner = b"\x0a" + bytes([len(key)]) + key + b"\x82\x01" + bytes([len(value)]) + value
        return b"\x0a" + bytes([len(inner)]) + inner

    assert _fast_items(item(b"k", b"1.5"), history=False) == (["k"], [1.5], None)
    for value in (b"9" * 120, b'"\\ud800', b"[" * 100, b"\xff", b"1e999x"):
        _fast_items(item(b"k", value), history=False)  # None or items: never an exception

