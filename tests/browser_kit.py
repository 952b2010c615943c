"""What every browser test needs, in one place: Debian's Chromium driven by Playwright, a site
served on 127.0.0.1, and a tab that fails its test on a request outside the site or a script
error.

A browser test builds its site with the URL it will be served at, so :func:`serve` gives the
URL before the folder exists (the handler reads the folder per request)::

    with serve(work / "site") as base:
        build_in(work, Config(..., output="site", site_url=base))
        yield base

and opens pages through :func:`tab`, which allows the given URL prefixes (plus ``data:`` and
``blob:``) and aborts and records everything else.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlreport.config import Config
from mlreport.site import build_site

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
#: Every local test server (the suite may run several sites at once).
THIS_MACHINE = "http://127.0.0.1:"
#: The suite shares 2 cores with other work: wait for elements, not for a quiet machine.
TIMEOUT_MS = 90_000


def build_in(work: Path, config: Config) -> Path:
    """Build ``config``'s site from inside ``work``, as a user runs ``mlreport build`` there:
    relative sources and the output resolve against ``work`` (module-scoped fixtures cannot use
    the ``monkeypatch`` fixture, so the working folder is changed and restored here)."""
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    try:
        build_site(config)
    finally:
        mp.undo()
    return work / config.output


def require_browser() -> None:
    """Skip (fail under ``CI=true``) when Playwright or Debian's Chromium is missing."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        reason = "playwright is not installed"
    else:
        if Path(CHROMIUM).is_file():
            return
        reason = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free port of 127.0.0.1; yields its URL, ending in ``/``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{THIS_MACHINE}{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium() -> Iterator[Any]:
    """One Chromium for a module's tests (launching one costs seconds)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Tab:
    """A page in its own browser context, with every URL it requested. Requests outside
    ``allowed`` are aborted and kept; script errors are kept; :meth:`close` fails on either."""

    def __init__(self, browser: Any, *allowed: str, timeout_ms: int = TIMEOUT_MS, **context: Any) -> None:
        self.allowed = (*allowed, "data:", "blob:")
        self.context = browser.new_context(**context)
        self.context.set_default_timeout(timeout_ms)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._guard)

    def _guard(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.allowed):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def close(self) -> None:
        self.context.close()
        assert self.outside == [], f"requests left the site: {self.outside}"
        assert self.errors == [], f"script errors: {self.errors}"


@contextmanager
def tab(browser: Any, *allowed: str, timeout_ms: int = TIMEOUT_MS, **context: Any) -> Iterator[Tab]:
    """A :class:`Tab`, closed (and checked) when the block ends without an exception of its own."""
    t = Tab(browser, *allowed, timeout_ms=timeout_ms, **context)
    try:
        yield t
    except BaseException:
        t.context.close()
        raise
    t.close()
