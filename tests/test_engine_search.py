"""The search index in two parts (issue 7): the run pages' entries in a second file that
Material's search worker loads after the first part has answered, so the part a browser loads
first stays small; and in Chromium, search still finds runs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from mlreport.config import Config, SourceConfig
from mlreport.engine.output import RUNS_INDEX, WORKER_GLOB, WORKER_MARK, wrap_search_worker, write_search_index
from mlreport.render.page import SearchEntry

from .browser_kit import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, build_in, require_browser, serve
from .conftest import ROOT

RUN = "lgbm-trial-3 · run"  # a run of site_example that is no version's source run


def _docs(path: Path) -> list[dict[str, object]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["docs"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("search")
    return build_in(work, Config(sources=(SourceConfig(str(ROOT / "site_example")),), output="site", title="Example"))


def test_run_entries_are_the_second_part_and_everything_else_the_first(site: Path) -> None:
    first = _docs(site / "search" / "search_index.json")
    later = _docs(site / RUNS_INDEX)
    assert later and all(str(d["title"]).endswith(" · run") for d in later)
    assert RUN in {d["title"] for d in later}
    assert not any(str(d["title"]).endswith(" · run") for d in first)
    titles = {str(d["title"]) for d in first}
    assert "churn-classifier · model" in titles
    assert any(t.startswith("churn-classifier · version") for t in titles)
    assert "Runs" in titles  # the runs index page itself is in the first part


def test_the_worker_is_material_s_with_the_loader_in_front(site: Path) -> None:
    (worker,) = site.glob(WORKER_GLOB)
    data = worker.read_bytes()
    wrapper = resources.files("mlreport.engine").joinpath("search_worker.js").read_bytes()
    assert data.startswith(wrapper) and data.count(WORKER_MARK) == 1
    import material

    (original,) = (Path(material.__file__).parent / "templates").glob(WORKER_GLOB)
    assert data[len(wrapper) :] == original.read_bytes()
    # wrapping twice is wrapping once (the staging site is wrapped in place)
    assert wrap_search_worker(site) and worker.read_bytes() == data


def test_material_s_worker_protocol_is_what_the_loader_relies_on() -> None:
    """Material 9.7's worker: one message listener that posts ``{type: 1}`` (READY) after a
    SETUP (0) and ``{type: 3, data}`` (RESULT) for a QUERY (2), both through the global
    ``postMessage``; and the page fetches ``search/search_index.json`` itself."""
    import material

    templates = Path(material.__file__).parent / "templates"
    (worker,) = templates.glob(WORKER_GLOB)
    text = worker.read_text(encoding="utf-8")
    assert text.count('addEventListener("message"') == 1
    assert "postMessage(" in text and "{type:1}" in text and "{type:3,data:" in text
    (bundle,) = templates.glob("assets/javascripts/bundle.*.min.js")
    assert '"search/search_index.json"' in bundle.read_text(encoding="utf-8")


def test_without_material_s_worker_everything_stays_in_one_file(tmp_path: Path) -> None:
    first = [SearchEntry("models/m/", "m · model", "")]
    later = [SearchEntry("runs/r/", "r · run", "alice")]
    size = write_search_index(tmp_path, first, later)
    docs = _docs(tmp_path / "search" / "search_index.json")
    assert [d["title"] for d in docs] == ["m · model", "r · run"]
    assert size == (tmp_path / "search" / "search_index.json").stat().st_size
    assert not (tmp_path / RUNS_INDEX).exists()


def test_with_the_worker_the_runs_file_is_written_and_a_stale_one_removed(tmp_path: Path) -> None:
    worker = tmp_path / "assets" / "javascripts" / "workers" / "search.0123abcd.min.js"
    worker.parent.mkdir(parents=True)
    worker.write_bytes(b'addEventListener("message",e=>{});')
    write_search_index(tmp_path, [SearchEntry("models/m/", "m · model", "")], [SearchEntry("runs/r/", "r · run", "")])
    assert [d["title"] for d in _docs(tmp_path / RUNS_INDEX)] == ["r · run"]
    assert worker.read_bytes().startswith(WORKER_MARK)
    write_search_index(tmp_path, [SearchEntry("models/m/", "m · model", "")], [])
    assert not (tmp_path / RUNS_INDEX).exists()


# --- in Chromium --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    require_browser()
    with serve(site) as base:
        yield base


def _results(page: object) -> list[str]:
    return list(
        page.eval_on_selector_all(  # type: ignore[attr-defined]
            "li.md-search-result__item a", "els => els.map(e => e.href.split('?')[0].split('#')[0])"
        )
    )


@pytest.mark.browser
def test_a_query_answers_from_the_first_part_then_again_with_the_runs(served: str, site: Path) -> None:
    """The run entries are held back by the test: the model answers at once, the run is not
    found; once they arrive, the open result list is answered again and shows the run."""
    from playwright.sync_api import sync_playwright

    run_url = next(str(d["location"]) for d in _docs(site / RUNS_INDEX) if d["title"] == RUN)
    held: list[object] = []
    outside: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))

        def route(r: object) -> None:
            url = r.request.url  # type: ignore[attr-defined]
            if not url.startswith(served):
                outside.append(url)
                r.abort()  # type: ignore[attr-defined]
            elif url.endswith(RUNS_INDEX):
                held.append(r)
            else:
                r.continue_()  # type: ignore[attr-defined]

        page.route("**/*", route)
        page.goto(served)
        page.click(".md-search__input")
        page.keyboard.type("churn-classifier")
        page.locator("li.md-search-result__item a").first.wait_for(timeout=TIMEOUT_MS)
        assert any("models/churn-classifier/" in h for h in _results(page))
        page.fill(".md-search__input", "lgbm-trial-3")
        page.keyboard.press("End")  # Material searches on key events
        page.wait_for_function(
            "() => !document.querySelector('.md-search-result__meta').textContent.includes('Type to')"
        )
        page.wait_for_timeout(500)
        assert held, "the worker asked for the run entries"
        assert not any(h.endswith(run_url) for h in _results(page))
        held[0].continue_()  # type: ignore[attr-defined]
        page.wait_for_function(
            "u => [...document.querySelectorAll('li.md-search-result__item a')]"
            ".some(a => a.href.split('?')[0].endsWith(u))",
            arg=run_url,
            timeout=TIMEOUT_MS,
        )
        page.locator("li.md-search-result__item a").first.click()
        page.wait_for_load_state("load")
        assert page.url.split("#")[0].split("?")[0].endswith(run_url)
        browser.close()
    assert outside == [] and errors == []


# --- several words: every word required first, Material's own answer when none has them all ---


def _words(doc: dict[str, object]) -> set[str]:
    """A document's words as the site's index splits them (its separator, lower case)."""
    return set(re.split(r"[\s\-]+", f"{doc['title']} {doc['text']}".lower())) - {""}


def _pages_with(site: Path, *words: str) -> set[str]:
    docs = _docs(site / "search" / "search_index.json") + _docs(site / RUNS_INDEX)
    return {str(d["location"]) for d in docs if set(words) <= _words(d)}


def _answer(page: object, served: str, query: str, wanted: str) -> list[str]:
    """Type ``query`` on the home page; wait until the result list satisfies ``wanted`` (a JS
    predicate over the result paths, relative to the site)."""
    page.goto(served)  # type: ignore[attr-defined]
    page.click(".md-search__input")  # type: ignore[attr-defined]
    page.keyboard.type(query)  # type: ignore[attr-defined] # Material searches on key events
    page.wait_for_function(
        "([base, wanted]) => { const got = [...document.querySelectorAll('li.md-search-result__item > a')]"
        ".map(a => a.href.split('?')[0].split('#')[0].slice(base.length)); return eval(wanted)(got); }",
        arg=[served, wanted],
        timeout=TIMEOUT_MS,
    )
    return [h[len(served) :] for h in _results(page)]


@pytest.fixture
def tab(served: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page
        browser.close()
        assert errors == []


@pytest.mark.browser
def test_two_words_answer_with_the_entries_that_have_both(tab: object, served: str, site: Path) -> None:
    """Material alone would list every entry with "version" or a word starting with "2" (the
    other versions, runs); asked with both words required, the list is the versions 2."""
    both = _pages_with(site, "version", "2")
    assert len(both) >= 2 and all(p.endswith("/2/") for p in both)
    wanted = json.dumps(sorted(both), separators=(",", ":"))  # as JSON.stringify writes it
    got = _answer(tab, served, "version 2", f"got => JSON.stringify([...new Set(got)].sort()) === '{wanted}'")
    assert set(got) == both


@pytest.mark.browser
def test_a_word_in_no_entry_gives_material_s_own_answer(tab: object, served: str, site: Path) -> None:
    """No entry has "xyzzy" and "sentiment": the query is asked again as typed, any word, and
    the sentiment model is found (without the second asking the list would say nothing)."""
    assert not _pages_with(site, "xyzzy", "sentiment")
    got = _answer(tab, served, "xyzzy sentiment", "got => got.includes('models/sentiment-bert/')")
    assert "models/sentiment-bert/" in got


@pytest.mark.browser
def test_a_query_with_search_syntax_is_asked_as_typed(tab: object, served: str, site: Path) -> None:
    """A leading "-" excludes a word (lunr's syntax, through Material): asked as typed, no
    result has "bert"; rewritten as two required words every result would."""
    assert _pages_with(site, "sentiment") - _pages_with(site, "bert")
    got = _answer(tab, served, "sentiment -bert", "got => got.length > 0")
    tab.wait_for_timeout(300)  # type: ignore[attr-defined]
    docs = {str(d["location"]): d for d in _docs(site / "search" / "search_index.json") + _docs(site / RUNS_INDEX)}
    got = [h[len(served) :] for h in _results(tab)]
    assert got and not any("bert" in _words(docs[h]) for h in got if h in docs)
