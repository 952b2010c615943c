"""The phone-width pass (issue 10): every page family of the example site in Chromium at 390 px
and 1400 px, light and dark. At 390 px no element may stick out of the viewport (a wide table
or the lineage scrolls inside its own box; nothing widens the page), numbers, dates and names do
not break inside a word, and lineage labels keep a readable size. The screenshots (first screen,
JPEG) are kept in ``tests/artefacts/layout/`` for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager

import pytest

from .browser_kit import Tab, tab
from .browser_kit import chromium as launch
from .conftest import ROOT
from .test_browser import served  # noqa: F401 - the fixture builds and serves the site

pytestmark = pytest.mark.browser

ARTEFACTS = ROOT / "tests" / "artefacts" / "layout"

# one page of every family (the example site's URLs are a public contract: they stay)
FAMILIES = {
    "home": "",
    "models": "models/",
    "model": "models/churn-classifier/",
    "version": "models/churn-classifier/4/",
    "alias": "models/churn-classifier/@champion/",
    "compare": "models/churn-classifier/compare/",
    "experiments": "experiments/",
    "experiment": "experiments/churn-classifier/",
    "runs": "runs/",
    "run": "runs/070fe2bf9c8a4b6fb68bce5e08fd726f/",
    "datasets": "datasets/",
    "dataset": "datasets/churn-2026-11-train-62c352e8/",
    "logged-model": "logged-models/",
    "problems": "problems/",
}

# Elements whose right edge is past the viewport and that no scrolling box (overflow other than
# visible, itself inside the viewport) contains: those widen the page on a phone.
OVERFLOW_JS = """() => {
  const vw = document.documentElement.clientWidth;
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= vw + 1) continue;
    let contained = false;
    // only a scrolling box of the page's own content counts (a table or lineage wrapper, a code
    // block), not the theme's layout boxes: content that scrolls the whole article is a failure
    for (let a = el.parentElement; a && !a.classList.contains('md-content__inner'); a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible' && a.getBoundingClientRect().right <= vw + 1) {
        contained = true;
        break;
      }
    }
    if (!contained) bad.push(el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined ? '.' + el.className : '') + ' right=' + Math.round(r.right));
  }
  return {vw: vw, scroll: document.documentElement.scrollWidth, bad: bad.slice(0, 10)};
}"""


# Every date or time shown (``2026-11-24 07:24 UTC``, with seconds or not) whose text lies on
# more than one line: dates stay on one line at every width (issue 10).
DATES_JS = """() => {
  const re = /\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}(:\\d{2})?( UTC)?/g;
  const out = [];
  const walker = document.createTreeWalker(document.querySelector('article') || document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    if (!node.parentElement || node.parentElement.closest('svg, script, style')) continue;
    const r0 = node.parentElement.getBoundingClientRect();
    if (r0.width === 0 && r0.height === 0) continue;  // hidden
    for (const m of node.textContent.matchAll(re)) {
      const range = document.createRange();
      range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (tops.size > 1) out.push(m[0] + ' in ' + node.parentElement.tagName.toLowerCase());
    }
  }
  return out.slice(0, 10);
}"""


@pytest.fixture(scope="module")
def chromium(served: str) -> Iterator[object]:  # noqa: F811
    with launch() as b:
        yield b


def _open(chromium: object, served: str, width: int) -> AbstractContextManager[Tab]:  # noqa: F811
    """A tab of ``width`` px that may reach only the site (script errors fail the test too)."""
    return tab(chromium, served, timeout_ms=120_000, viewport={"width": width, "height": 844 if width < 600 else 900})


def _goto(page: object, url: str, scheme: str) -> None:
    page.goto(url)  # type: ignore[attr-defined]
    page.wait_for_load_state("load")  # type: ignore[attr-defined]
    page.evaluate(f"document.body.setAttribute('data-md-color-scheme', '{scheme}')")  # type: ignore[attr-defined]
    page.wait_for_timeout(250)  # type: ignore[attr-defined] # tables and charts drawn by script


@pytest.mark.parametrize("family", list(FAMILIES))
def test_nothing_is_wider_than_a_phone(chromium: object, served: str, family: str) -> None:  # noqa: F811
    with _open(chromium, served, 390) as t:
        page = t.page
        url = served + _resolve(page, served, family)
        _goto(page, url, "default")
        found = page.evaluate(OVERFLOW_JS)  # type: ignore[attr-defined]
        assert found["bad"] == [] and found["scroll"] <= found["vw"], f"{family} ({url}) at 390 px: {found}"
        for width in (390, 1400):
            for scheme in ("default", "slate"):
                if (width, scheme) != (390, "default"):
                    page.set_viewport_size({"width": width, "height": 844 if width < 600 else 900})  # type: ignore[attr-defined]
                    _goto(page, url, scheme)
                if scheme == "default":
                    wrapped = page.evaluate(DATES_JS)  # type: ignore[attr-defined]
                    assert wrapped == [], f"{family} ({url}) at {width} px: dates on two lines: {wrapped}"
                ARTEFACTS.mkdir(parents=True, exist_ok=True)
                name = f"{family}-{width}-{'dark' if scheme == 'slate' else 'light'}.jpg"
                page.screenshot(path=str(ARTEFACTS / name), type="jpeg", quality=55)  # type: ignore[attr-defined]


def _resolve(page: object, served: str, family: str) -> str:  # noqa: F811
    """The URL of ``family``; the logged-model page is the first one the index links."""
    if family != "logged-model":
        return FAMILIES[family]
    page.goto(served + "models/churn-classifier/4/")  # type: ignore[attr-defined]
    href = page.evaluate(  # type: ignore[attr-defined]
        "() => { const a = [...document.querySelectorAll('a')].find(x => /logged-models\\/[^/]+\\/$/.test(x.href)); return a ? a.href : null; }"
    )
    assert href, "the version page links its logged model"
    return str(href)[len(served) :]


def test_the_overflow_check_finds_a_wide_element(chromium: object, served: str) -> None:  # noqa: F811
    """The check above can fail: an element wider than the screen, outside any scrolling box."""
    with _open(chromium, served, 390) as t:
        page = t.page
        _goto(page, served + "models/churn-classifier/4/", "default")
        page.evaluate(  # type: ignore[attr-defined]
            "() => { const d = document.createElement('div'); d.style.width = '900px'; d.style.height = '10px'; d.className = 'wide';"
            " document.querySelector('article').appendChild(d); }"
        )
        found = page.evaluate(OVERFLOW_JS)  # type: ignore[attr-defined]
        assert any(b.startswith("div.wide") for b in found["bad"]), found


def test_dates_stay_on_one_line_in_a_squeezed_table(chromium: object, served: str) -> None:  # noqa: F811
    """Summary tables squeezed to 10 em keep every date on one line (the cell scrolls or
    overflows, the date does not wrap); a date in a plain narrow box does wrap, and the check
    sees it."""
    with _open(chromium, served, 390) as t:
        page = t.page
        for url in (
            "runs/070fe2bf9c8a4b6fb68bce5e08fd726f/",
            "models/churn-classifier/4/",
            "experiments/churn-classifier/",
        ):
            _goto(page, served + url, "default")
            page.add_style_tag(content="article table { width: 10em !important; table-layout: fixed; }")  # type: ignore[attr-defined]
            assert page.evaluate(DATES_JS) == [], url  # type: ignore[attr-defined]
        page.evaluate(  # type: ignore[attr-defined]
            "() => { const d = document.createElement('div'); d.style.width = '4em';"
            " d.textContent = '2026-11-24 07:24 UTC'; document.querySelector('article').appendChild(d); }"
        )
        assert page.evaluate(DATES_JS) == ["2026-11-24 07:24 UTC in div"]  # type: ignore[attr-defined]


def test_numbers_and_names_do_not_break_inside_and_lineage_labels_stay_readable(chromium: object, served: str) -> None:  # noqa: F811
    with _open(chromium, served, 390) as t:
        page = t.page
        _goto(page, served + "models/churn-classifier/4/", "default")
        # every table cell holding a number, a date or a short name is one line tall, or wraps
        # only between words: no cell's text is split inside a word
        split = page.evaluate(  # type: ignore[attr-defined]
            """() => {
              const out = [];
              for (const td of document.querySelectorAll('table td')) {
                if (td.classList.contains('mlr-long') || td.querySelector('.mlr-long')) continue;
                // a word may wrap after a hyphen or a slash (churn-2026-11-train), and one
                // longer than 28 characters (a URI, a digest) anywhere; nothing else may break
                const words = td.innerText.trim().split(/\\s+/).filter(w => w && w.length <= 28)
                  .flatMap(w => w.split(/[\\/-]+/)).filter(Boolean);
                for (const w of words) {
                  const range = document.createRange();
                  const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
                  let node; while ((node = walker.nextNode())) {
                    const i = node.textContent.indexOf(w);
                    if (i < 0) continue;
                    range.setStart(node, i); range.setEnd(node, i + w.length);
                    if (range.getClientRects().length > 1) out.push(w);
                    break;
                  }
                }
              }
              return out.slice(0, 10);
            }"""
        )
        assert split == [], f"words broken inside at 390 px: {split}"
        size = page.evaluate(  # type: ignore[attr-defined]
            "() => { const t = document.querySelector('svg.mlreport-lineage .mlr-label');"
            " return t ? t.getBoundingClientRect().height : 0; }"
        )
        assert size >= 11, f"lineage labels are {size:.1f} px tall at 390 px"
