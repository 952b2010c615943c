"""Runs tables at scale (issue 10): build cost in Python, and load, sort, filter and group in
Chromium, next to a baseline measured in the same run.

    python benchmarks/bench_runs_table.py [--runs 10000] [--repeat 5]

Python: CPU seconds of the frame, its JSON, its CSV and the first screen, and their sizes.
Baseline: the same rows as the plain index table (``tables.html_table``, rows as one JSON
attribute that ``mlreport.js`` turns into DOM rows) — what the runs index was before.

Chromium (Debian's, through Playwright; pages served from a local http.server): the
interactive table (``runs-table.js``) on a page with the first screen and ``runs.js`` (the rows' data script), and the
plain table of the same runs and columns with ``mlreport.js``, each in its own page. Measured in
the page with ``performance.now()`` around a synchronous call, then a forced layout, median of
``--repeat``:

- load: navigation start to the table drawn (the rows script loaded and parsed + first page of rows), against
  the plain table filled and made sortable;
- sort: by a metric both ways, by a text param, against a click on the plain table's header
  (it re-appends every row) and against ``Array.prototype.sort`` of the row indices by the same
  numbers (the floor: no DOM at all);
- filter: three expressions, against the plain table's substring filter;
- group: by a param, with mean ± std of the shown metrics.

The machine these figures come from is shared: compare the ratios more than the milliseconds.
"""

from __future__ import annotations

import argparse
import functools
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mlreport.catalog import Catalog, make_catalog
from mlreport.model import Experiment, Metric, Origin, Run, RunStatus
from mlreport.render.runs_table import RunsFrame, csv_bytes, data_script, runs_frame, static_table
from mlreport.render.tables import Cell, html_table, num
from mlreport.render.text import fmt_number

ASSETS = Path(__file__).resolve().parent.parent / "src" / "mlreport" / "render" / "assets"
ORIGIN = Origin("bench", "runs", "manifest")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]


def make_runs(n: int, seed: int = 0) -> list[Run]:
    """15 params (6 that vary), 8 metrics (5 % failed runs: NaN loss, no val_auc), 3 tags."""
    rng = random.Random(seed)
    runs = []
    for i in range(n):
        failed = rng.random() < 0.05
        lr = rng.choice(["0.1", "0.03", "0.01", "0.003", "0.001"])
        params = {
            "optimizer": rng.choice(["adam", "adamw", "sgd"]),
            "learning_rate": lr,
            "seed": str(rng.randint(0, 4)),
            "batch_size": str(rng.choice([16, 32, 64, 128])),
            "max_depth": str(rng.randint(2, 12)),
            "dropout": f"{rng.uniform(0, 0.5):.2f}",
            "metric": "val_auc",  # what the sweep optimises: the table's primary metric
            **{f"const_{k}": f"value-{k}" for k in range(8)},
        }
        auc = 0.7 + rng.random() * 0.25
        metrics = {
            "train_loss": rng.random(),
            "val_loss": float("nan") if failed else rng.random(),
            "val_acc": rng.random(),
            "f1": rng.random(),
            "precision": rng.random(),
            "recall": rng.random(),
            "epoch_time": rng.random() * 100,
        }
        if not failed:
            metrics["val_auc"] = auc
        start = 1_767_225_600_000 + i * 61_000
        runs.append(
            Run(
                f"r{i:06d}",
                f"r{i:06d}",
                f"trial-{i:05d}",
                ORIGIN,
                experiment_key="e",
                status=RunStatus.FAILED if failed else RunStatus.FINISHED,
                start_time=start,
                end_time=start + rng.randint(10_000, 3_600_000),
                user=f"user{rng.randint(0, 9)}",
                params=params,
                tags={"team": rng.choice(["growth", "risk", "search"]), "owner": f"user{i % 10}", "stage": "dev"},
                metrics=tuple(Metric(k, v, 10, None, v, 10, v, 10, 11) for k, v in metrics.items()),
            )
        )
    return runs


def cpu(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


def plain_rows(frame: RunsFrame, link: Callable[[Run], str | None]) -> tuple[list[str], list[list[Cell]]]:
    """The baseline: the same runs and default columns as the plain index table's cells."""
    cols = [frame.column(c) for c in frame.default_columns]
    rows = []
    for r in frame.runs:
        row = []
        for c in cols:
            value = frame.value(r, c)
            if c.id == "run":
                row.append(Cell(frame.text(r, c), link(r)))
            elif c.kind == "metric":
                row.append(num(value, fmt_number(value)) if isinstance(value, float) else Cell(""))
            elif c.type in ("time", "duration"):
                row.append(Cell(frame.text(r, c), sort=value if isinstance(value, int) else None))
            else:
                row.append(Cell(frame.text(r, c)))
        rows.append(row)
    return [c.header for c in cols], rows


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>bench</title>
<link rel="stylesheet" href="runs-table.css"></head><body>{body}
<script src="{script}"></script></body></html>"""

# The operations, each a function of the repeat index, registered in the page as window.__ops.
SETUP = """(kind) => {
  const ops = {};
  if (kind === "live") {
    const w = document.querySelector("div.mlr-runs").mlreportRunsTable;
    const rt = window.mlreportRunsTable;
    const base = Object.assign({}, w.state);
    const state = (extra) => Object.assign({}, base, extra);
    const apply = (extra) => () => w.apply(state(extra), false);
    const view = (extra) => () => rt.computeView(w.table, state(extra));
    const both = { sort: "metrics.val_loss" };
    ops["sort val_auc, best first"] = apply({ sort: "metrics.val_auc", dir: "desc" });
    ops["sort val_loss, each way in turn"] = (i) => w.apply(state(Object.assign({ dir: i % 2 ? "asc" : "desc" }, both)), false);
    ops["sort optimizer (text)"] = apply({ sort: "params.optimizer", dir: "asc" });
    ops["filter val_auc > 0.85 and optimizer = adam"] = apply({ q: "val_auc > 0.85 and optimizer = adam" });
    ops["filter tags.team = growth or params.learning_rate <= 0.01"] = apply({ q: "tags.team = growth or params.learning_rate <= 0.01" });
    ops["filter a lone word (trial-0999)"] = apply({ q: "trial-0999" });
    ops["group by optimizer (mean ± std)"] = apply({ group: "params.optimizer" });
    ops["filter + sort + group"] = apply({ q: "val_auc > 0.8", sort: "metrics.f1", dir: "desc", group: "params.learning_rate" });
    ops["next page"] = () => { w.page = (w.page + 1) % 10; w.draw(); };
    // the same views computed without drawing them: what the table's own code costs
    ops["view only: sort val_auc"] = view({ sort: "metrics.val_auc", dir: "desc" });
    ops["view only: filter val_auc > 0.85 and optimizer = adam"] = view({ q: "val_auc > 0.85 and optimizer = adam" });
    // the floor: sort the row indices by the same numbers, no table, no DOM
    const values = w.table.byId["metrics.val_auc"].spec.values.map((v) => (typeof v === "number" ? v : NaN));
    ops["floor: Array.sort of row indices by val_auc"] = () => values.map((_, i) => i).sort((a, b) => values[b] - values[a] || a - b);
  } else {
    const table = document.querySelector("table.mlreport-table");
    const ths = Array.from(table.querySelectorAll("thead th"));
    const auc = ths.find((x) => x.textContent.trim().startsWith("val_auc"));
    const opt = ths.find((x) => x.textContent.trim().startsWith("optimizer"));
    const input = document.querySelector("input.mlreport-filter");
    ops["sort val_auc (header click)"] = () => auc.click();
    ops["sort optimizer (header click)"] = () => opt.click();
    ops["filter substring adam/adamw"] = (i) => { input.value = i % 2 ? "adam" : "adamw"; input.dispatchEvent(new Event("input")); };
  }
  window.__ops = ops;
  return Object.keys(ops);
}"""  # noqa: E501 - JavaScript

RUN_OP = """([name, repeat]) => {
  const fn = window.__ops[name], out = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    fn(i);
    document.body.offsetHeight;  // a forced layout: the drawing is part of the cost
    out.push(performance.now() - t);
  }
  const first = out[0];
  out.sort((a, b) => a - b);
  return [first, out[Math.floor(out.length / 2)]];
}"""


# When the table is ready: a MutationObserver's callback runs after the script that set
# data-ready has finished its task (the rows drawn), before Playwright's polling sees it.
READY_AT = """new MutationObserver((records, observer) => {
  if (!document.querySelector("[data-ready]")) return;
  document.body.offsetHeight;
  window.__readyAt = performance.now();
  observer.disconnect();
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-ready"] });"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


Figures = dict[str, tuple[float, float, float]]  # name -> (first ms, median ms, CPU ms per call)


def _thread_time(cdp: Any) -> float:
    """The page's main-thread CPU seconds (Chromium's Performance.getMetrics ThreadTime)."""
    return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "ThreadTime")


def browser_figures(folder: Path, repeat: int) -> dict[str, Figures]:
    from playwright.sync_api import sync_playwright

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    out: dict[str, Figures] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for kind, page_name, ready in (
                ("live", "live.html", "div.mlr-runs[data-ready]"),
                ("plain", "plain.html", "table.mlreport-table[data-ready]"),
            ):
                figures: Figures = {}
                loads: list[tuple[float, float]] = []
                errors: list[str] = []
                for attempt in range(repeat):
                    context = browser.new_context()
                    context.add_init_script(READY_AT)
                    pg = context.new_page()
                    pg.set_default_timeout(600_000)
                    pg.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                    cdp = context.new_cdp_session(pg)
                    cdp.send("Performance.enable")  # counts from here: before the navigation
                    pg.goto(base + page_name, wait_until="domcontentloaded")
                    pg.wait_for_selector(ready)
                    # wall: navigation start to the table drawn; CPU: the page's main thread so far
                    loads.append((pg.evaluate("() => window.__readyAt"), _thread_time(cdp) * 1000))
                    if attempt == repeat - 1:
                        for name in pg.evaluate(SETUP, kind):
                            before = _thread_time(cdp)
                            first, median = pg.evaluate(RUN_OP, [name, repeat])
                            figures[name] = (first, median, (_thread_time(cdp) - before) * 1000 / repeat)
                    context.close()
                walls = sorted(w for w, _ in loads)
                cpus = sorted(c for _, c in loads)
                figures["load (navigation to the table drawn)"] = (
                    loads[0][0],
                    walls[len(walls) // 2],
                    cpus[len(cpus) // 2],
                )
                assert not errors, errors
                out[kind] = figures
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true", help="only the Python figures")
    args = parser.parse_args()

    runs = make_runs(args.runs)
    catalog: Catalog = make_catalog(experiments=[Experiment("e", "1", "bench", ORIGIN)], runs=runs)
    runs = [catalog.run_by_key[k] for k in catalog.runs_by_experiment["e"]]
    link: Callable[[Run], str | None] = lambda r: f"../runs/{r.key}/"  # noqa: E731
    links = {"run": link}

    print(f"runs tables, {args.runs:,} runs, 15 params, 8 metrics, 3 tags (a loaded, shared 2-core machine)")
    t_frame, frame = cpu(lambda: runs_frame(catalog, runs, with_experiment=False))
    t_json, data = cpu(lambda: data_script(frame, links))
    t_csv, csv_data = cpu(lambda: csv_bytes(frame))
    t_static, first = cpu(lambda: static_table(frame, "runs.js", "runs.csv", "runs", links))
    t_cells, (columns, rows) = cpu(lambda: plain_rows(frame, link))
    t_plain, plain = cpu(lambda: html_table(columns, rows, csv_url="runs.csv", numeric=[True] * len(columns)))
    ours = t_frame + t_json + t_csv + t_static
    print("Python, CPU seconds (and bytes):")
    print(f"  frame {t_frame:.3f} s · rows script {t_json:.3f} s ({len(data) / 1e6:.2f} MB)")
    print(f"  CSV {t_csv:.3f} s ({len(csv_data) / 1e6:.2f} MB)")
    print(f"  first screen {t_static:.3f} s ({len(str(first)) / 1e3:.1f} KB of HTML in the page)")
    print(f"  all of it {ours:.3f} s")
    print(
        f"  baseline, the plain table of the same rows and default columns: cells {t_cells:.3f} s + HTML "
        f"{t_plain:.3f} s = {t_cells + t_plain:.3f} s ({len(str(plain)) / 1e6:.2f} MB in the page)"
    )
    if args.no_browser:
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "runs.js").write_bytes(data)
        for name in ("runs-table.js", "runs-table.css", "mlreport.js"):
            shutil.copy(ASSETS / name, folder / name)
        (folder / "live.html").write_text(PAGE.format(body=first, script="runs-table.js"), encoding="utf-8")
        (folder / "plain.html").write_text(PAGE.format(body=plain, script="mlreport.js"), encoding="utf-8")
        figures = browser_figures(folder, args.repeat)
    live, plain_f = figures["live"], figures["plain"]
    width = max(len(k) for k in [*live, *plain_f])
    print(f"Chromium, milliseconds: first call, median of {args.repeat} (wall clock), main-thread CPU per call:")
    for title, figs in (
        ("runs-table.js (rows in runs.js, one page of 50 rows drawn)", live),
        ("baseline, the plain table (every row in the DOM, mlreport.js)", plain_f),
    ):
        print(f"  {title}:")
        for key, (first, median, cpu_ms) in figs.items():
            print(f"    {key:<{width}} {first:>9.1f} {median:>9.1f} {cpu_ms:>9.1f}")
    ops = {k: v for k, v in live.items() if k.startswith(("sort", "filter", "group"))}
    worst_wall = max(v[1] for v in ops.values())
    worst_cpu = max(v[2] for v in ops.values())
    print(f"  slowest sort/filter/group: median {worst_wall:.1f} ms wall, {worst_cpu:.1f} ms CPU (issue 10: < 300 ms)")
    for ours, theirs in (
        ("sort val_auc, best first", "sort val_auc (header click)"),
        ("sort optimizer (text)", "sort optimizer (header click)"),
        ("load (navigation to the table drawn)", "load (navigation to the table drawn)"),
    ):
        print(f"  {ours}: the plain table takes {plain_f[theirs][2] / max(live[ours][2], 1e-9):.1f}x the CPU")


if __name__ == "__main__":
    main()
