"""``mlreport serve``: build, serve the site on 127.0.0.1, rebuild when a source or config changes.

A preview, like ``mkdocs serve``: polling (no watcher dependency), one rebuild at a time, and the
server keeps serving the last good site when a rebuild fails.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .config import Config, unknown_names
from .errors import MlreportError, UsageError
from .publish import check_output, output_lock, protected_paths, resolve_output, work_dir_for
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


def _rebuild(config: Config) -> None:
    """Build again: :func:`build_site` stages the site and swaps it in, so a request never sees a
    half-built site and a failed rebuild leaves the last good one."""
    build_site(config)


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
    site_dir = resolve_output(config.output)
    check_output(site_dir, [work_dir_for(site_dir)], protected_paths(config))
    # The port first: a busy one is one line at once, not an error after a whole build.
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        reason = "it is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc)).lower()
        raise UsageError(f"cannot serve on {host}:{port}: {reason}; choose another with --port") from None
    try:
        with output_lock(site_dir):
            return _serve(config, server, host, site_dir, watched, stop, ready)
    finally:
        server.server_close()


def _serve(
    config: Config,
    server: ThreadingHTTPServer,
    host: str,
    site_dir: Path,
    watched: list[Path],
    stop: threading.Event,
    ready: Callable[[str], None] | None,
) -> int:
    # taken before the first build: a change made while it runs is seen, not folded in
    last = _fingerprint(watched)
    result = build_site(config)
    for warning in unknown_names(config, result.catalog):
        log.warning("%s", warning)
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
                _rebuild(config)
                log.info("rebuilt in %.1fs: %s", time.perf_counter() - started, url)
            except MlreportError as exc:
                log.error("rebuild failed, still serving the last site: %s", exc)
            except Exception:  # noqa: BLE001 - a preview keeps serving whatever one rebuild hit
                log.exception("rebuild failed, still serving the last site")
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0
