"""The catalog is the record; render reads only the record (issue 8: "render imports no reader and
no store", "nothing after the catalog knows which tool wrote a run").
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from mlreport.model import display_path

from .conftest import ROOT

SRC = ROOT / "src" / "mlreport"
#: what reads stores: render and the record never import it
CRAWL_SIDE = ("mlreport.readers", "mlreport.crawl", "mlreport.stores", "fsspec")


def _imports(path: str) -> set[str]:
    """Every module a file imports, at any level of the file (function-level imports too)."""
    tree = ast.parse((SRC / path).read_text(encoding="utf-8"))
    package = ("mlreport." + path.removesuffix(".py").replace("/", ".")).rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
    return out


@pytest.mark.parametrize("path", sorted(str(p.relative_to(SRC)) for p in (SRC / "render").glob("*.py")))
def test_no_render_module_imports_a_reader_the_crawl_or_a_store(path: str) -> None:
    bad = sorted(m for m in _imports(path) if m.startswith(CRAWL_SIDE))
    assert not bad, f"render/{path}: {bad}"


def test_the_import_scan_sees_relative_and_function_level_imports() -> None:
    # the check above can fail: the crawl module itself imports readers and stores both ways
    found = _imports("crawl.py")
    assert "mlreport.readers" in found and "mlreport.stores" in found
    assert "mlreport.readers._common" in _imports("readers/hf.py")


def test_importing_render_loads_no_reader_and_no_store() -> None:
    code = f"import sys, mlreport.render.pages\nprint(sorted(m for m in sys.modules if m.startswith({CRAWL_SIDE!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_display_path_is_the_source_as_named_then_the_file() -> None:
    assert display_path("./mlruns", "1/meta.yaml") == "mlruns/1/meta.yaml"
    assert display_path("s3://b/x/", "") == "s3://b/x"
    assert display_path("/", "a") == "/a" and display_path("/", "") == "/"
    assert display_path(".", "a/b") == "a/b" and display_path("./", "a") == "a"
    assert display_path("runs", "") == "runs" and display_path("runs", "a") == "runs/a"
    # the stores module answers the same (it re-exports the record's function)
    from mlreport.stores import display_path as stores_display

    assert stores_display is display_path
