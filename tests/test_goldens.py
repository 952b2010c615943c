"""Golden files: the normalized catalog of every fixture store, and a few rendered pages.

Refresh with ``python -m pytest tests/test_goldens.py --update-goldens`` and review the diff
like code: a changed golden is a changed behaviour.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlreport.catalog import read_catalog, to_jsonable
from mlreport.config import Config, SourceConfig
from mlreport.render.page import Page
from mlreport.render.pages import render_site

from .conftest import DATA, GOLDENS, ROOT


def _cases() -> list[Path]:
    cases = []
    for fmt in sorted(p for p in DATA.iterdir() if p.is_dir()):
        for case in sorted(p for p in fmt.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
            cases.append(case)
    return cases


CASES = _cases()


def check_golden(path: Path, text: str, update: bool) -> None:
    if update or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not update:
            pytest.fail(f"golden {path.relative_to(GOLDENS)} did not exist; written now, review it")
        return
    assert text == path.read_text(encoding="utf-8"), f"{path.relative_to(GOLDENS)} differs; --update-goldens to accept"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_catalog_golden(case: Path, update_goldens: bool) -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(case)),), include_deleted=True))
    text = json.dumps(to_jsonable(catalog), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    check_golden(GOLDENS / "catalog" / case.parent.name / f"{case.name}.json", text, update_goldens)


PAGES = [
    "",
    "models/fixture-model/",
    "models/fixture-model/1/",
    "models/fixture-model/@champion/",
    "problems/",
]


@pytest.mark.parametrize("page", PAGES)
def test_rendered_page_golden(page: str, update_goldens: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # pages name their source as given: keep it relative to the checkout
    catalog = read_catalog(Config(sources=(SourceConfig("tests/data/mlflow/v3_file"),)))
    pages = {p.url: p for p in render_site(catalog, Config(title="Fixture report")) if isinstance(p, Page)}
    # the page's HTML body as rendered (never parsed as Markdown), its title and search entries
    rendered = pages[page]
    search = "".join(f"<!-- search: {json.dumps(e.as_json(), ensure_ascii=False)} -->\n" for e in rendered.search)
    text = f"<!-- title: {rendered.title} -->\n{search}{rendered.body}"
    name = (page or "home/").replace("/", "__") + "index.html"
    check_golden(GOLDENS / "pages" / "mlflow-v3_file" / name, text, update_goldens)


def test_runs_pages_link_by_run_id() -> None:
    catalog = read_catalog(Config(sources=(SourceConfig(str(DATA / "mlflow" / "v3_file")),)))
    urls = {p.url for p in render_site(catalog, Config()) if isinstance(p, Page)}
    for run in catalog.runs:
        assert f"runs/{run.id}/" in urls
