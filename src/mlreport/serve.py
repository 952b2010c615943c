"""``mlreport serve``: build, serve the site on 127.0.0.1, rebuild when a source or config changes.

A preview, like ``mkdocs serve``: polling (no watcher dependency), one rebuild at a time, and the
server keeps serving the last good site when a rebuild fails.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .config import Config
from .errors import MlreportError
from .site import build_site

log = logging.getLogger("mlreport.serve")

POLL_SECONDS = 1.0


def _fingerprint(paths: list[Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime) of every file under the watched local paths."""
    out = []
    for root in paths:
        if root.is_file():
            st = root.stat()
            out.append((str(root), st.st_size, st.st_mtime_ns))
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                p = os.path.join(dirpath, name)
                try:
                    st = os.stat(p)
                except OSError:
                    continue
                out.append((p, st.st_size, st.st_mtime_ns))
    return tuple(sorted(out))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s - %s", self.address_string(), format % args)


def _rebuild(config: Config, site_dir: Path) -> None:
    """Build next to the served site, then swap it in: readers never see a half-built site."""
    fresh = site_dir.with_name(site_dir.name + ".next")
    build_site(config.with_overrides(output=str(fresh)))
    old = site_dir.with_name(site_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    site_dir.rename(old)
    fresh.rename(site_dir)
    shutil.rmtree(old, ignore_errors=True)


def serve(
    config: Config,
    port: int = 8000,
    host: str = "127.0.0.1",
    stop: threading.Event | None = None,
    ready: Callable[[str], None] | None = None,
) -> int:
    """Build once, then serve and rebuild on changes until interrupted (or ``stop`` is set).

    ``ready`` is called with the URL once the site is served (tests use it).
    """
    watched = [Path(s.path) for s in config.sources if "://" not in s.path and Path(s.path).exists()]
    if config.path is not None:
        watched.append(config.path)
    if config.templates:
        watched.append(config.base_dir / config.templates)
    if (Path.cwd() / "mkdocs.yml").is_file():
        watched.append(Path.cwd() / "mkdocs.yml")
    stop = stop or threading.Event()
    # taken before the first build: a change made while it runs is seen, not folded in
    last = _fingerprint(watched)
    result = build_site(config)
    site_dir = result.site_dir
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = ThreadingHTTPServer((host, port), handler)
    url = f"http://{host}:{server.server_address[1]}/"
    log.info("serving %s at %s (Ctrl-C to stop)", site_dir, url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    if ready is not None:
        ready(url)
    try:
        while not stop.wait(POLL_SECONDS):
            current = _fingerprint(watched)
            if current == last:
                continue
            last = current
            log.info("change detected, rebuilding")
            started = time.perf_counter()
            try:
                _rebuild(config, site_dir)
                log.info("rebuilt in %.1fs: %s", time.perf_counter() - started, url)
            except MlreportError as exc:
                log.error("rebuild failed, still serving the last site: %s", exc)
            except Exception:  # noqa: BLE001 - a preview keeps serving whatever one rebuild hit
                log.exception("rebuild failed, still serving the last site")
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
    return 0
