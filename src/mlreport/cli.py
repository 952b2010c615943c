"""The command line. Thin: parse, load the config, call the library, print.

Only this module talks to the terminal. Library errors carry their message and exit status
(:mod:`mlreport.errors`); they are printed here as one line, with a traceback only under ``-v``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .errors import MlreportError, UsageError

log = logging.getLogger("mlreport")

NOTHING_TO_BUILD = (
    "nothing to build: pass a SOURCE (an mlruns/ folder, an mlflow.db file, a project folder "
    "or a bucket URL) or list sources in mlreport.yml"
)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if message.startswith("mlreport: "):
            message = message[len("mlreport: ") :]
        if record.levelno >= logging.WARNING:
            return f"mlreport: {record.levelname.lower()}: {message}"
        return f"mlreport: {message}"


class Progress:
    """A one-line progress bar on a terminal; nothing otherwise (CI gets log lines)."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.last = 0.0
        self.drawn = False

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and done != total:
            return
        self.last = now
        if total:
            width = 30
            filled = int(width * done / total)
            bar = "█" * filled + "░" * (width - filled)
            self.stream.write(f"\r  {stage:<8} {bar} {done}/{total}")
        else:
            self.stream.write(f"\r  {stage:<8} {done}")
        self.stream.flush()
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.drawn = False


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="more detail, tracebacks on errors")
    common.add_argument("-q", "--quiet", action="store_true", help="only errors")
    common.add_argument("-c", "--config", metavar="FILE", help="config file (default: ./mlreport.yml if present)")

    parser = argparse.ArgumentParser(
        prog="mlreport",
        description="Turn ML run records (MLflow, W&B, HF, DVC, TensorBoard) into a searchable static site.",
    )
    parser.add_argument("--version", action="version", version=f"mlreport {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def site_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("sources", nargs="*", metavar="SOURCE", help="store, project folder, mlflow.db or bucket URL")
        p.add_argument("-o", "--output", metavar="SITE_DIR", help="where the site goes (default: site/)")
        p.add_argument("--strict", action="store_true", default=None, help="exit 1 when any record could not be read")
        p.add_argument("--format", metavar="NAME", help="read the sources with this reader, skip detection")
        p.add_argument("--site-url", metavar="URL", help="where the site will be served")
        p.add_argument("--title", metavar="TEXT", help="the site's title")
        p.add_argument(
            "--include-deleted", action="store_true", default=None, help="also show deleted runs and experiments"
        )
        p.add_argument(
            "--builder",
            choices=("mkdocs", "mkdocs-full", "zensical", "properdocs"),
            help="site builder (default: mkdocs, mlreport's own engine with the MkDocs theme)",
        )
        p.add_argument("--history", metavar="PATH_OR_URL", help="the previous site's history.json (alias ledger)")
        p.add_argument("--jobs", type=int, metavar="N", help="render with N processes (default: every core)")
        p.add_argument("--scheduler", metavar="ADDRESS", help="render on a Dask cluster (tcp://host:8786)")
        p.add_argument("--cache-dir", metavar="DIR", help="the build cache (default: beside the output)")

    build = sub.add_parser("build", parents=[common], help="build the site")
    site_options(build)
    serve = sub.add_parser("serve", parents=[common], help="build, serve on 127.0.0.1 and rebuild on changes")
    site_options(serve)
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    inspect = sub.add_parser("inspect", parents=[common], help="print the normalized catalog as JSON")
    inspect.add_argument("sources", nargs="*", metavar="SOURCE")
    inspect.add_argument("--format", metavar="NAME")
    inspect.add_argument("--include-deleted", action="store_true", default=None)
    inspect.add_argument("--history", action="store_true", help="include every metric point")
    # review (issue 9): mlreport diff; the logic is in mlreport.diff
    diff = sub.add_parser("diff", parents=[common], help="compare a candidate with production (a PR comment)")
    diff.add_argument("candidate", metavar="CANDIDATE", help="model@alias, model/version, runs:/<id>, PATH[#RUN_ID]")
    diff.add_argument("sources", nargs="*", metavar="SOURCE", help="stores to read (default: mlreport.yml's sources)")
    diff.add_argument("--against", metavar="SPEC", help="the baseline (default: @champion, or mlreport.yml's baseline)")
    diff.add_argument("--format", dest="output_format", choices=("markdown", "json"), default="markdown")
    diff.add_argument("--site-url", metavar="URL", help="the published site, for deep links")
    diff.add_argument(
        "--flavour", choices=("github", "gitlab"), default="github", help="the comment's host (default github)"
    )
    # card (issue 10): a version's model card as a Hugging Face README.md; the logic is in mlreport.card
    card = sub.add_parser("card", parents=[common], help="write a model version's card as a Hugging Face README.md")
    card.add_argument("version", metavar="MODEL@ALIAS", help="the version: model@alias or model@version")
    card.add_argument("sources", nargs="*", metavar="SOURCE", help="stores to read (default: mlreport.yml's sources)")
    card.add_argument("-o", "--output", metavar="FILE", help="write the card here (default: standard output)")
    card.add_argument("--format", metavar="NAME", help="read the sources with this reader, skip detection")
    card.add_argument("--include-deleted", action="store_true", default=None)
    return parser


def _setup_logging(verbose: bool, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("mlreport")
    root.handlers[:] = [handler]
    root.propagate = False
    root.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.INFO)
    # Libraries (gcsfs, aiobotocore, fsspec …) log their retries with tracebacks; mlreport says
    # what failed in one line, so theirs are shown only with -v (Python's last-resort handler
    # would print them otherwise).
    others = logging.getLogger()
    if verbose:
        others.addHandler(handler)
        others.setLevel(logging.DEBUG)
    elif not others.handlers:
        others.addHandler(logging.NullHandler())


def _load(args: argparse.Namespace) -> Any:
    from .config import Config, SourceConfig, find_config, load_config
    from .readers import BUILTIN, available_readers

    config_path = Path(args.config) if args.config else find_config(Path.cwd())
    known = list(dict.fromkeys([*BUILTIN, *available_readers()]))
    config = load_config(config_path, known) if config_path else Config()
    if args.format is not None and args.format not in known:
        raise UsageError(f"unknown format '{args.format}' (known: {', '.join(known)})")
    if args.sources:
        config = config.with_overrides(
            sources=tuple(SourceConfig(s, args.format) for s in args.sources), base_dir=Path.cwd(), path=None
        )
    elif args.format is not None:
        from dataclasses import replace

        config = config.with_overrides(sources=tuple(replace(s, format=args.format) for s in config.sources))
    if not config.sources:
        raise UsageError(NOTHING_TO_BUILD)
    overrides: dict[str, Any] = {"include_deleted": args.include_deleted}
    for name in ("output", "site_url", "title", "strict", "builder", "history", "jobs", "scheduler", "cache_dir"):
        overrides[name] = getattr(args, name, None)
    return config.with_overrides(**overrides)


def _report_problems(catalog: Any, config: Any = None, gates: bool = True) -> None:
    from .site import warning_lines

    for line in warning_lines(catalog, config, gates):
        log.warning("%s", line)


def cmd_build(args: argparse.Namespace) -> int:
    from .publish import check_output, output_lock, protected_paths, resolve_output, work_dir_for
    from .site import build_site

    config = _load(args)
    # Checked and locked before the crawl: a refused output costs nothing, and a second build of
    # the same folder is turned away at once rather than after reading every store.
    site_dir = resolve_output(config.output)
    check_output(site_dir, [work_dir_for(site_dir)], protected_paths(config))
    progress = Progress(sys.stderr, sys.stderr.isatty() and not args.quiet)
    start = time.perf_counter()
    with output_lock(site_dir):
        try:
            # build_site crawls, or takes the crawl from the build cache when no source changed
            result = build_site(config, progress)
        finally:
            progress.clear()
        # the warnings and counts of the catalog the site shows (kept with the site when
        # nothing changed: that build does not load the catalog)
        summary = result.summary
        for line in summary.warnings:
            log.warning("%s", line)
    log.info(
        "built %s in %.1fs: %d models, %d versions, %d experiments, %d runs, %d problems",
        result.site_dir,
        time.perf_counter() - start,
        summary.models,
        summary.versions,
        summary.experiments,
        summary.runs,
        summary.problems,
    )
    if config.strict and summary.problems:
        log.error("%d record(s) could not be read (--strict)", summary.problems)
        return 1
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from .catalog import read_catalog, to_jsonable

    args.output = args.site_url = args.title = args.strict = args.builder = None
    config = _load(args)
    catalog = read_catalog(config)
    _report_problems(catalog, config)
    json.dump(to_jsonable(catalog, history=args.history), sys.stdout, indent=2, sort_keys=False, ensure_ascii=False)
    sys.stdout.write("\n")
    sys.stdout.flush()  # here, where a closed pipe is handled, not at interpreter exit
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    config = _load(args)
    return serve(config, args.port)


def cmd_diff(args: argparse.Namespace) -> int:
    from .catalog import read_catalog
    from .diff import diff_config, diff_report, render

    config = diff_config(args.candidate, args.sources, args.config, args.site_url)
    catalog = read_catalog(config)
    _report_problems(catalog, config, gates=False)  # the report warns about its gates itself
    report = diff_report(catalog, config, args.candidate, args.against)
    for warning in report.warnings:
        log.warning("%s", warning)
    sys.stdout.write(render(report, args.output_format, args.flavour))
    return report.exit_status


def cmd_card(args: argparse.Namespace) -> int:
    from .card import card_for, card_readme
    from .catalog import read_catalog

    output, args.output = args.output, None
    args.site_url = args.title = args.strict = args.builder = None
    config = _load(args)
    catalog = read_catalog(config)
    _report_problems(catalog, config, gates=False)
    text = card_readme(card_for(catalog, args.version, config.key_metrics))
    if output is None or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    target = Path(output)
    if target.is_dir():
        raise UsageError(f"cannot write the card to {output}: it is a folder; name a file (-o {output}/README.md)")
    for source in config.sources:  # the card is written beside the stores, never into one
        root = Path(source.path).resolve() if "://" not in source.path else None
        if root is not None and (target.resolve() == root or root in target.resolve().parents):
            raise UsageError(f"cannot write the card to {output}: it is inside the source {source.path}")
    target.write_text(text, encoding="utf-8")
    log.info("wrote the card of %s to %s", args.version, output)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    _setup_logging(args.verbose, args.quiet)
    commands = {"build": cmd_build, "inspect": cmd_inspect, "serve": cmd_serve, "diff": cmd_diff, "card": cmd_card}
    try:
        return commands[args.command](args)
    except MlreportError as exc:
        if args.verbose:
            log.exception("%s", exc)
        else:
            for line in str(exc).splitlines() or [""]:  # a config with several errors: one line each
                print(f"mlreport: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mlreport: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of stdout went away (``mlreport inspect | head``): end quietly, like any
        # Unix tool, and keep Python from complaining while it flushes stdout at exit
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if args.verbose:
            log.exception("internal error")
        else:
            print(f"mlreport: internal error: {type(exc).__name__}: {exc} (run with -v for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
