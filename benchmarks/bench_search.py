"""Search in a real browser: how long Material's search takes to answer on a built site.

    python benchmarks/bench_search.py SITE_DIR [--query churn --query 'version 2' ...]

Serves SITE_DIR on 127.0.0.1, opens it in Debian's Chromium (Playwright), and for each query
measures, inside the page, the time from the first key stroke to the first result on screen:
the first query includes fetching search_index.json and building the index in Material's
worker ("first answer after load"); later ones are the query alone. Also printed: the size of
each part of the index (search_index.json, loaded first, and search_index.runs.json, fetched
after it) and how long the page took to load. Nothing is asserted; the machine may be shared,
say so next to the figures. Budget (issue 7): at 10,000 runs + 10,000 versions the index
is <= 4 MB and a query answers in < 200 ms after the page has loaded.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import statistics
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
WATCH = """() => {
  const root = document.querySelector('.md-search-result');
  window.__mlr = {start: null, took: null};
  new MutationObserver(() => {
    const s = window.__mlr;
    const list = document.querySelector('.md-search-result__list');
    if (s.start !== null && s.took === null && list && list.children.length) s.took = performance.now() - s.start;
  }).observe(root, {childList: true, subtree: true});
}"""


EMPTY = "document.querySelector('.md-search-result__list').children.length === 0"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("site", type=Path)
    parser.add_argument("--query", action="append", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    queries = args.query or ["churn", "version 2", "resnet50", "brave-bat", "alice"]
    # Every part of the index: search_index.json (what a browser loads before search answers)
    # and the parts fetched after it (search_index.runs.json, the run pages' entries).
    parts = sorted((args.site / "search").glob("search_index*.json"))
    sizes = ", ".join(f"{part.name} {part.stat().st_size / 2**20:.2f} MB" for part in parts)
    print(f"site {args.site}: {sizes}")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(args.site)))
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
        t = time.perf_counter()
        page.goto(base, wait_until="load")
        print(f"page load: {1000 * (time.perf_counter() - t):.0f} ms")
        page.evaluate(WATCH)
        page.click(".md-search__input")
        timings: dict[str, list[float]] = {}
        start = "() => { window.__mlr.took = null; window.__mlr.start = performance.now(); }"
        # the first query right after the load: the index is fetched and built first
        page.evaluate(start)
        page.keyboard.type(queries[0])
        page.wait_for_function("window.__mlr.took !== null", timeout=300_000)
        timings["first answer after load"] = [float(page.evaluate("window.__mlr.took"))]
        for _ in range(args.repeat):
            for q in queries:
                # a query with no answer empties the list; then the whole query at once (one
                # input event), timed from there to its first result on screen
                page.fill(".md-search__input", "zzqqxxjj")
                page.keyboard.press("End")  # Material searches on key events, not on input
                page.wait_for_function(EMPTY, timeout=120_000)
                page.fill(".md-search__input", q)
                page.evaluate(start)
                page.keyboard.press("End")
                try:
                    page.wait_for_function("window.__mlr.took !== null", timeout=30_000)
                except Exception:  # noqa: BLE001 - playwright's TimeoutError: no result for q
                    print(f"{q!r}: no result within 30 s")
                    continue
                timings.setdefault(q, []).append(float(page.evaluate("window.__mlr.took")))
        for label, values in timings.items():
            print(
                f"{label:>28}: median {statistics.median(values):7.1f} ms, max {max(values):7.1f} ms ({len(values)}x)"
            )
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
