"""Runs tables (issue 10): the frame behind them, its defaults, the JSON payload, the CSV and
the first screen (Python), and the pure part of ``runs-table.js`` (the filter language, the
goal-aware sort, grouping, URL state, the CSV of a view, number formatting) run in node.

The browser half (the widget itself) is tests/test_browser_tables.py.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlreport.catalog import Catalog, make_catalog, read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.model import Experiment, Metric, Origin, Run, RunStatus
from mlreport.render.page import Asset, Page
from mlreport.render.pages import SiteRenderer, render_site
from mlreport.render.runs_table import (
    STATIC_ROWS,
    csv_bytes,
    data_script,
    payload,
    primary_metrics,
    read_data_script,
    runs_frame,
    static_table,
)
from mlreport.render.text import fmt_number

from .conftest import ROOT

JS = ROOT / "src" / "mlreport" / "render" / "assets" / "runs-table.js"
ORIGIN = Origin("store", "runs", "manifest")
EVIL = "<img src=x onerror=alert(1)>"
QUOTED_TAG = 'it\'s "quoted"'


def _metric(key: str, value: float) -> Metric:
    return Metric(key, value, 0, None, value, 0, value, 0, 1)


def _run(i: int, *, status: RunStatus = RunStatus.FINISHED, metrics: dict[str, float] | None = None, **kw: Any) -> Run:
    return Run(
        key=f"r{i:03d}",
        id=f"r{i:03d}",
        name=kw.pop("name", f"run-{i:03d}"),
        origin=ORIGIN,
        experiment_key="e1",
        status=status,
        start_time=1_700_000_000_000 + i * 60_000,
        end_time=1_700_000_000_000 + i * 60_000 + 90_000,
        metrics=tuple(_metric(k, v) for k, v in (metrics or {}).items()),
        **kw,
    )


def _catalog(runs: list[Run]) -> Catalog:
    return make_catalog(experiments=[Experiment("e1", "1", "exp", ORIGIN)], runs=runs)


@pytest.fixture(scope="module")
def example() -> Catalog:
    return read_catalog(Config(sources=(SourceConfig(str(ROOT / "site_example")),)))


def _experiment_runs(c: Catalog, name: str) -> list[Run]:
    e = next(e for e in c.experiments if e.name == name)
    return [c.run_by_key[k] for k in c.runs_by_experiment[e.key]]


# -- the frame and its defaults ----------------------------------------------------------------


def test_every_metric_param_and_tag_is_a_column(example: Catalog) -> None:
    runs = _experiment_runs(example, "churn-classifier")
    frame = runs_frame(example, runs, with_experiment=False)
    ids = {c.id for c in frame.columns}
    for r in runs:
        assert {f"metrics.{m.key}" for m in r.metrics} <= ids
        assert {f"params.{k}" for k in r.params} <= ids
        assert {f"tags.{k}" for k in r.tags} <= ids
    assert {"run", "status", "started", "duration", "user", "run_id"} <= ids
    assert "experiment" not in ids


def test_default_columns_are_the_primary_and_key_metrics_and_the_varying_params(example: Catalog) -> None:
    runs = _experiment_runs(example, "churn-classifier")
    frame = runs_frame(example, runs, with_experiment=False)
    # the sweep parent names val_auc as its objective (params metric/direction): first, and the sort
    assert frame.default_columns[5] == "metrics.val_auc"
    assert frame.sort == "metrics.val_auc" and frame.descending
    metrics = [c for c in frame.default_columns if c.startswith("metrics.")]
    assert metrics[1:] == ["metrics.train_logloss", "metrics.val_logloss", "metrics.accuracy", "metrics.auc"]
    params = [c for c in frame.default_columns if c.startswith("params.")]
    assert "params.max_depth" in params and "params.learning_rate" in params
    # a param every run has with one value (or only one run has) is not a default column
    assert "params.n_trials" not in params and "params.early_stopping_rounds" not in params
    assert not [c for c in frame.default_columns if c.startswith("tags.")]


def test_demand_forecast_minimises_its_objective(example: Catalog) -> None:
    frame = runs_frame(example, _experiment_runs(example, "demand-forecast"), with_experiment=False)
    assert frame.sort == "metrics.val_rmse" and not frame.descending
    values = [r.metric("val_rmse") for r in frame.runs]
    finals = [m.final for m in values if m is not None]
    assert finals == sorted(finals)
    assert all(m is None for m in values[len(finals) :]), "runs without the metric come last"


def test_configured_key_metrics_win(example: Catalog) -> None:
    runs = _experiment_runs(example, "churn-classifier")
    frame = runs_frame(example, runs, with_experiment=False, configured=["f1", "nope"])
    assert [c for c in frame.default_columns if c.startswith("metrics.")] == ["metrics.f1"]


def test_primary_metrics_from_objective_params() -> None:
    runs = [
        _run(1, params={"metric_for_best_model": "accuracy"}, metrics={"eval_accuracy": 0.9}),
        _run(2, params={"monitor": "val_loss"}, metrics={"val_loss": 0.2}),
        _run(3, params={"monitor": "val_loss"}),
        _run(4, params={"metric": "not_logged"}),
    ]
    present = {"eval_accuracy": 1, "val_loss": 1}
    assert primary_metrics(runs, present) == ["val_loss", "eval_accuracy"]


def test_sort_puts_blank_and_nan_last_in_both_directions() -> None:
    runs = [
        _run(1, metrics={"loss": 0.5}),
        _run(2, metrics={"loss": float("nan")}, status=RunStatus.FAILED),
        _run(3, metrics={"loss": 0.1}),
        _run(4),
        _run(5, metrics={"loss": 0.3}),
        _run(6, metrics={"acc": 0.9}),
    ]
    frame = runs_frame(_catalog(runs), runs, with_experiment=False, configured=["loss"])
    assert frame.sort == "metrics.loss" and not frame.descending  # a loss: lower is better
    names = [r.name for r in frame.runs]
    assert names[:3] == ["run-003", "run-005", "run-001"]
    assert set(names[3:]) == {"run-002", "run-004", "run-006"}
    frame = runs_frame(_catalog(runs), runs, with_experiment=False, configured=["acc"])
    assert frame.descending and frame.runs[0].name == "run-006"


def test_number_params_are_number_columns() -> None:
    runs = [_run(1, params={"lr": "0.01", "opt": "adam"}), _run(2, params={"lr": "1e-3", "opt": "3"})]
    frame = runs_frame(_catalog(runs), runs, with_experiment=False)
    assert frame.column("params.lr").type == "number"
    assert frame.column("params.opt").type == "text"


# -- the JSON payload ----------------------------------------------------------------------------


def _links(frame: Any) -> dict[str, Any]:
    return {"run": lambda r: f"../runs/{r.key}/"}


def test_payload_is_columns_with_sparse_keys_and_nan_as_strings() -> None:
    runs = [_run(i, metrics={"loss": 1.0 / (i + 1)}, params={"seed": str(i)}) for i in range(6)]
    runs[0] = _run(0, metrics={"loss": float("nan"), "rare": float("inf")}, tags={"only": "one"})
    frame = runs_frame(_catalog(runs), runs, with_experiment=False)
    data = json.loads(payload(frame, _links(frame)))
    assert data["format"] == 1 and data["rows"] == 6
    cols = {c["id"]: c for c in data["columns"]}
    loss = cols["metrics.loss"]
    assert loss["goal"] == "min" and loss["goal_source"] == "name vocabulary"
    assert "NaN" in loss["values"] and loss["values"][-1] == "NaN"  # NaN sorts last by default
    assert cols["metrics.rare"]["sparse"] == {"i": [5], "v": ["Infinity"]}
    assert cols["tags.only"]["sparse"]["v"] == ["one"]
    assert cols["run"]["links"][0] == f"../runs/{frame.runs[0].key}/"
    assert cols["started"]["text"][0].startswith("2023-11-")
    assert data["default"]["sort"] == "metrics.loss" and data["default"]["dir"] == "asc"


def test_payload_keeps_store_text_as_text_and_cuts_long_values() -> None:
    runs = [_run(1, name=EVIL, tags={QUOTED_TAG: "x" * 2000})]
    frame = runs_frame(_catalog(runs), runs, with_experiment=False)
    raw = payload(frame, _links(frame))
    data = json.loads(raw)
    cols = {c["id"]: c for c in data["columns"]}
    assert cols["run"]["values"] == [EVIL]  # JSON is data: escaping is the script's textContent
    assert len(cols[f"tags.{QUOTED_TAG}"]["values"][0]) == 501


def _rows(data: bytes) -> Any:
    return read_data_script(data)


def test_data_script_is_the_payload_in_one_call_that_javascript_runs() -> None:
    """The rows file is a script (so file:// can load it): a run name with a line separator
    (raw in JSON, a line break to older JavaScript parsers) and a closing script tag stays data."""
    runs = [_run(1, name="a\u2028b\u2029c</script><script>x()</script>"), _run(2, metrics={"loss": float("nan")})]
    frame = runs_frame(_catalog(runs), runs, with_experiment=False)
    script = data_script(frame, _links(frame))
    assert "\u2028".encode() not in script and b"\\u2028" in script
    assert read_data_script(script) == json.loads(payload(frame, _links(frame)))
    if NODE is None:
        pytest.skip("node is not installed")
    got = subprocess.run(
        [
            NODE,
            "-e",
            "globalThis.mlreportRunsTable = {receive: d => process.stdout.write(JSON.stringify(d))};"
            "require('vm').runInThisContext(require('fs').readFileSync(0, 'utf8'));",
        ],
        input=script,
        capture_output=True,
        check=True,
    )
    assert json.loads(got.stdout) == read_data_script(script)
    with pytest.raises(ValueError, match="not a runs-table data script"):
        read_data_script(payload(frame, _links(frame)))


def test_payload_is_byte_identical_across_renders(example: Catalog) -> None:
    def assets() -> dict[str, bytes]:
        return {
            o.path: o.data
            for o in render_site(example, Config())
            if isinstance(o, Asset) and o.path.endswith((".js", ".csv"))
        }

    first, second = assets(), assets()
    assert first == second
    assert "runs/runs.js" in first and "experiments/churn-classifier/runs.js" in first


def test_every_runs_table_has_its_json_and_csv(example: Catalog) -> None:
    out = render_site(example, Config())
    files = {o.path for o in out if isinstance(o, Asset)}
    pages = {o.url: o.body for o in out if isinstance(o, Page)}
    sweep = next(r for r in example.runs if r.name == "xgb-sweep-2026-10")
    for url, body in pages.items():
        for name in ("runs", "children", "producers"):
            if f'data-runs="{name}.js"' in body:
                assert url + f"{name}.js" in files and url + f"{name}.csv" in files
    body = pages[f"runs/{sweep.id}/"]
    assert 'data-runs="children.js"' in body
    data = _rows(next(o.data for o in out if isinstance(o, Asset) and o.path == f"runs/{sweep.id}/children.js"))
    assert data["rows"] == 8
    # the sweep parent's child-runs table has metrics, sorted by the objective the parent names
    assert data["default"]["sort"] == "metrics.val_auc"
    assert "metrics.val_auc" in data["default"]["columns"]


# -- the CSV and the first screen -----------------------------------------------------------------


def test_csv_has_every_run_and_column_and_guards_formulas() -> None:
    runs = [
        _run(1, metrics={"loss": 0.123456789012}, params={"cmd": "=HYPERLINK(1)", "n": "-3"}),
        _run(2, metrics={"loss": float("nan")}, tags={"team": 'a,b "c"'}),
    ]
    frame = runs_frame(_catalog(runs), runs, with_experiment=True)
    rows = list(csv.reader(io.StringIO(csv_bytes(frame).decode("utf-8"))))
    head = rows[0]
    assert head[:7] == ["Run", "Status", "Experiment", "Started", "Duration", "User", "Run id"]
    assert head[7:] == ["metric: loss", "param: cmd", "param: n", "tag: team"]
    first = dict(zip(head, rows[1], strict=True))
    assert first["metric: loss"] == "0.123456789012"  # full precision, not the page's 6 digits
    assert first["param: cmd"] == "'=HYPERLINK(1)" and first["param: n"] == "-3"
    assert first["Experiment"] == "exp" and first["Duration"] == "1 min 30 s"
    second = dict(zip(head, rows[2], strict=True))
    assert second["metric: loss"] == "NaN" and second["tag: team"] == 'a,b "c"'


def test_first_screen_is_a_plain_table_of_the_top_rows() -> None:
    runs = [_run(i, metrics={"val_auc": i / 100}) for i in range(30)]
    runs.append(_run(99, name=EVIL, metrics={"val_auc": 0.95}, tags={QUOTED_TAG: "<b>"}))
    frame = runs_frame(_catalog(runs), runs, with_experiment=False)
    html = str(static_table(frame, "runs.js", "runs.csv", "runs", _links(frame)))
    assert html.count("<tr>") == 1 + STATIC_ROWS
    assert f"The top {STATIC_ROWS} of 31 runs by val_auc, higher is better (name vocabulary)" in html
    assert '<a href="runs.csv" download>runs.csv</a>' in html
    assert EVIL not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    body = html.split("<tbody>")[1]
    assert body.index("&lt;img") < body.index("run-029") < body.index("run-028"), "best first"
    assert 'data-runs="runs.js"' in html and "data-search-exclude" in html


def test_runs_index_and_experiment_pages_carry_the_table(example: Catalog) -> None:
    renderer = SiteRenderer(example, Config())
    (page, *assets) = [o for o in renderer.render_ref(("runs", "")) if isinstance(o, Page)] + [
        o for o in renderer.render_ref(("runs", "")) if isinstance(o, Asset)
    ]
    assert isinstance(page, Page)
    assert 'class="mlr-runs"' in page.body and "of 29 runs" in page.body
    data = _rows(next(a.data for a in assets if isinstance(a, Asset) and a.path == "runs/runs.js"))
    assert "experiment" in [c["id"] for c in data["columns"]]


def test_rendering_does_not_import_pandas(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from mlreport.catalog import read_catalog\n"
        "from mlreport.config import Config, SourceConfig\n"
        "from mlreport.render.pages import render_site\n"
        f"render_site(read_catalog(Config(sources=(SourceConfig({str(ROOT / 'site_example')!r}),))), Config())\n"
        "print('pandas' in sys.modules)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"


# -- runs-table.js in node ------------------------------------------------------------------------

NODE = shutil.which("node")

RUNNER = r"""
const rt = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = input.ops.map(function (op) {
  const table = op.payload ? rt.load(op.payload) : null;
  const names = (rows) => rows.map((r) => rt.shown(table, table.byId.run, r));
  const state = table ? Object.assign(rt.defaultState(table), op.state || {}) : null;
  switch (op.kind) {
    case "fmt": return op.values.map(rt.fmtNumber);
    case "view": {
      const v = rt.computeView(table, state);
      if (v.error) return { error: v.error };
      if (v.groups) return { groups: v.groups.map((g) => [g.key, g.rows.length, g.stats.map((s) => [s.n, s.mean, isNaN(s.std) ? null : s.std])]) };
      return { rows: names(v.rows) };
    }
    case "roundtrip": {
      const hash = rt.writeState(op.name, state, op.hash || "");
      return { hash: hash, back: rt.readState(table, op.name, hash) };
    }
    case "csv": return rt.viewCsv(table, state, rt.computeView(table, state));
    case "add": return rt.addColumn(table, op.cols, op.id);
  }
});
process.stdout.write(JSON.stringify(out));
"""


def _node(ops: list[dict[str, Any]]) -> list[Any]:
    if NODE is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed (apt-get install nodejs)")
        pytest.skip("node is not installed")
    res = subprocess.run(
        [NODE, "-e", RUNNER, str(JS)], input=json.dumps({"ops": ops}), capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def _table() -> dict[str, Any]:
    """Seeds of two optimizers: a failed run with a NaN loss, a run without the metric."""
    runs = [
        _run(1, metrics={"val_auc": 0.91, "loss": 0.2}, params={"optimizer": "adam", "lr": "0.01", "seed": "1"}),
        _run(2, metrics={"val_auc": 0.89, "loss": 0.3}, params={"optimizer": "adam", "lr": "0.01", "seed": "2"}),
        _run(3, metrics={"val_auc": 0.80, "loss": 0.4}, params={"optimizer": "sgd", "lr": "0.1", "seed": "1"}),
        _run(4, metrics={"val_auc": 0.84, "loss": 0.5}, params={"optimizer": "sgd", "lr": "0.1", "seed": "2"}),
        _run(5, metrics={"loss": float("nan")}, params={"optimizer": "adam", "lr": "1e-3"}, status=RunStatus.FAILED),
        _run(6, metrics={"val_auc": 0.86}, params={"optimizer": "adam", "lr": "0.001"}, tags={"team": "growth"}),
        _run(7, name=EVIL, tags={QUOTED_TAG: "yes", "team": "Growth ML"}, params={"optimizer": "rms prop"}),
    ]
    frame = runs_frame(_catalog(runs), runs, with_experiment=False, configured=["val_auc", "loss"])
    return json.loads(payload(frame, _links(frame)))  # type: ignore[no-any-return]


def test_js_formats_numbers_as_python_does() -> None:
    values = [0, 1, -1, 0.5, 1 / 3, 2 / 3, 123456.7, 1234567.0, 999999.7, 1e-5, 0.0001234, 12345678.9, -0.000123456789]
    values += [1e15, 1.5e15, 3.14159265, 100.25, 0.1 + 0.2, 1e300, -2.5e-300, 6.02214076e23, 42.0, 1e21]
    (got,) = _node([{"kind": "fmt", "values": values}])
    assert got == [fmt_number(v) for v in values]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("val_auc > 0.85 and optimizer = adam", ["run-001", "run-002", "run-006"]),
        ("val_auc > 0.85 AND optimizer = adam", ["run-001", "run-002", "run-006"]),
        ("tags.team = growth", ["run-006"]),
        ("tags.team ~ growth", ["run-006", EVIL]),
        ("tags.team !~ growth", ["run-001", "run-002", "run-004", "run-003", "run-005"]),
        ("params.lr <= 0.01", ["run-001", "run-002", "run-006", "run-005"]),
        ("lr = 0.001", ["run-006", "run-005"]),  # "1e-3" and "0.001" are one number
        ("params.lr = '1e-3'", ["run-005"]),  # quoted: the text
        ("status = failed", ["run-005"]),
        ("status = FAILED or val_auc >= 0.9", ["run-001", "run-005"]),
        ("(optimizer = sgd or optimizer = adam) and val_auc < 0.9", ["run-002", "run-006", "run-004", "run-003"]),
        ("not (optimizer = adam)", ["run-004", "run-003", EVIL]),
        ("optimizer != adam", ["run-004", "run-003", EVIL]),
        ('optimizer = "rms prop"', [EVIL]),
        ('tags."it\'s \\"quoted\\"" = yes', [EVIL]),
        ("loss = nan", ["run-005"]),
        ("val_auc != 0.91", ["run-002", "run-006", "run-004", "run-003", "run-005", EVIL]),
        ("onerror", [EVIL]),  # a lone word: any shown text contains it
        ("started >= 2023-11-14", ["run-001", "run-002", "run-006", "run-004", "run-003", "run-005", EVIL]),
        ("", ["run-001", "run-002", "run-006", "run-004", "run-003", "run-005", EVIL]),
    ],
)
def test_filter_language(expr: str, expected: list[str]) -> None:
    (got,) = _node([{"kind": "view", "payload": _table(), "state": {"q": expr}}])
    assert got == {"rows": expected}


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("val_auc >", "Filter: a value must follow '>' (quote it if it has spaces or brackets) (at character 9)"),
        ("val_auc > high", "Filter: val_auc holds numbers: 'high' is not one (at character 11)"),
        (
            "nope = 1",
            "Filter: there is no column 'nope' (name one as status, metrics.<key>, params.<key> or tags.<key>)",
        ),
        ("optimizer = 'adam", "Filter: the string opened here is not closed: add ' (at character 13)"),
        ("(val_auc > 0.8", "Filter: the '(' here is not closed: add ')' (at character 1)"),
        ("val_auc > 0.8)", "Filter: there is no '(' for this ')' (at character 14)"),
        ("val_auc 0.8", "Filter: expected 'and' or 'or' before '0.8' (at character 9)"),
        ("> 3", "Filter: a column name must come before '>' (at character 1)"),
        ("val_auc > 0.8 and", "Filter: the filter ends where a condition should follow (at character 17)"),
        ("a ! b", "Filter: '!' must be part of != or !~ (at character 3)"),
    ],
)
def test_filter_errors_are_one_line(expr: str, message: str) -> None:
    (got,) = _node([{"kind": "view", "payload": _table(), "state": {"q": expr}}])
    assert got["error"].startswith(message)
    assert "\n" not in got["error"]


def test_js_sort_follows_the_goal_with_blank_and_nan_last() -> None:
    t = _table()
    ops = [
        {"kind": "view", "payload": t, "state": {"sort": "metrics.loss", "dir": "asc"}},
        {"kind": "view", "payload": t, "state": {"sort": "metrics.loss", "dir": "desc"}},
        {"kind": "view", "payload": t, "state": {"sort": "metrics.val_auc", "dir": "asc"}},
        {"kind": "view", "payload": t, "state": {"sort": "params.optimizer", "dir": "desc"}},
        {"kind": "view", "payload": t, "state": {"sort": "params.lr", "dir": "asc"}},
    ]
    loss_asc, loss_desc, auc_asc, opt_desc, lr_asc = (v["rows"] for v in _node(ops))
    assert loss_asc[:4] == ["run-001", "run-002", "run-003", "run-004"]
    assert loss_desc[:4] == ["run-004", "run-003", "run-002", "run-001"]
    assert set(loss_asc[4:]) == set(loss_desc[4:]) == {"run-005", "run-006", EVIL}  # NaN and blank last
    assert auc_asc[:5] == ["run-003", "run-004", "run-006", "run-002", "run-001"]
    assert set(auc_asc[5:]) == {"run-005", EVIL}
    assert opt_desc[:3] == ["run-004", "run-003", EVIL]
    assert lr_asc[:2] == ["run-006", "run-005"] and lr_asc[-1] == EVIL  # numbers as numbers: 1e-3 < 0.01


def test_grouping_gives_count_and_mean_and_std() -> None:
    (got,) = _node([{"kind": "view", "payload": _table(), "state": {"group": "params.optimizer"}}])
    groups = {g[0]: g for g in got["groups"]}
    assert [g[0] for g in got["groups"]] == ["adam", "sgd", "rms prop"]  # by mean val_auc, best first
    adam = groups["adam"]
    assert adam[1] == 4
    n, mean, std = adam[2][0]  # val_auc: three runs have it
    assert n == 3 and mean == pytest.approx((0.91 + 0.89 + 0.86) / 3)
    assert std == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in (0.91, 0.89, 0.86)) / 2))
    assert groups["sgd"][2][1][:2] == [2, pytest.approx(0.45)]  # loss of sgd
    assert groups["rms prop"][2][0] == [0, None, None]


def test_url_state_round_trips() -> None:
    t = _table()
    state = {
        "cols": ["run", "metrics.loss", f"tags.{QUOTED_TAG}", "params.lr"],
        "sort": "params.lr",
        "dir": "asc",
        "q": "tags.team ~ 'growth & co' and lr < 1",
        "group": "params.optimizer",
    }
    (got,) = _node([{"kind": "roundtrip", "payload": t, "state": state, "name": "runs", "hash": "#other.q=x&heading"}])
    assert got["back"] == {"state": state, "missing": [], "fromUrl": True}
    assert "other.q=x" in got["hash"] and "heading" not in got["hash"]


def test_url_state_names_columns_it_no_longer_has() -> None:
    t = _table()
    ops = [{"kind": "roundtrip", "payload": t, "state": {"cols": ["run", "metrics.gone"]}, "name": "runs"}]
    (got,) = _node(ops)
    assert got["back"]["state"]["cols"] == ["run"] and got["back"]["missing"] == ["metrics.gone"]


def test_csv_of_the_view_is_what_is_shown() -> None:
    t = _table()
    state = {
        "cols": ["run", "metrics.val_auc", "params.cmd", "params.lr"],
        "q": "optimizer = adam",
        "sort": "params.lr",
    }
    state["cols"] = ["run", "metrics.val_auc", "params.lr"]
    (text, grouped) = _node(
        [
            {"kind": "csv", "payload": t, "state": dict(state, dir="asc")},
            {"kind": "csv", "payload": t, "state": {"group": "params.optimizer", "cols": ["metrics.val_auc"]}},
        ]
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["Run", "metric: val_auc", "param: lr"],
        ["run-006", "0.86", "0.001"],
        ["run-005", "", "1e-3"],
        ["run-001", "0.91", "0.01"],
        ["run-002", "0.89", "0.01"],
    ]
    head, *lines = list(csv.reader(io.StringIO(grouped)))
    assert head == ["param: optimizer", "runs", "metric: val_auc mean", "metric: val_auc std", "metric: val_auc n"]
    assert [line[:2] for line in lines] == [["adam", "4"], ["sgd", "2"], ["rms prop", "1"]]


def test_a_column_added_joins_its_kind() -> None:
    t = _table()
    (got,) = _node(
        [
            {
                "kind": "add",
                "payload": t,
                "cols": ["run", "metrics.loss", "params.lr", "tags.team"],
                "id": "metrics.val_auc",
            }
        ]
    )
    assert got == ["run", "metrics.loss", "metrics.val_auc", "params.lr", "tags.team"]


def test_the_script_never_writes_markup() -> None:
    source = JS.read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source, sink


def test_a_child_runs_goal_is_an_input_of_its_parents_page() -> None:
    """The child-runs table shows and sorts by its metrics' goals: a goal that only a child's
    metric has must change the parent page's digest, or an incremental build keeps a stale table."""
    from mlreport.engine.deps import PageInputs
    from mlreport.model import Goal, MetricGoal

    parent = _run(1, params={"metric": "score_x"})
    children = [_run(i, parent_key=parent.key, metrics={"score_x": i / 10}) for i in range(2, 5)]

    def digest(goals: dict[str, MetricGoal]) -> str:
        catalog = make_catalog(
            experiments=[Experiment("e1", "1", "exp", ORIGIN)], runs=[parent, *children], declared_goals=goals
        )
        return PageInputs(SiteRenderer(catalog, Config()), "g").digest(("run", parent.key))

    declared = {"score_x": MetricGoal("score_x", Goal.MIN, ORIGIN, "a child's manifest")}
    assert digest({}) != digest(declared)


def test_tables_are_byte_identical_whatever_the_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlreport.site import build_site

    monkeypatch.chdir(tmp_path)
    store = ROOT / "tests" / "data" / "mlflow" / "v3_file"
    files = []
    for jobs in (1, 2):
        out = tmp_path / f"site-{jobs}"
        build_site(Config(sources=(SourceConfig(str(store)),), output=str(out)), jobs=jobs)
        files.append(
            {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.suffix in (".js", ".csv")}
        )
    tables = [k for k in files[0] if k.endswith(("/runs.js", "/children.js", "/producers.js"))]
    assert "runs/runs.js" in tables and len(tables) > 3
    assert files[0] == files[1]


# -- a tool's own tags (Run.system_tags) ------------------------------------------------------------


def test_system_tags_are_columns_of_their_own_group_unless_they_repeat_a_field() -> None:
    runs = [
        _run(
            1,
            user="ana",
            system_tags={"mlflow.user": "ana", "mlflow.runName": "run-001", "mlflow.source.type": "LOCAL"},
        ),
        _run(2, user="bo", system_tags={"mlflow.user": "bo", "mlflow.source.type": "JOB", "mlflow.autologging": "xgb"}),
        # a value that repeats a field for one run but not for another is information: kept
        _run(3, user="cy", system_tags={"mlflow.runName": "renamed later"}),
    ]
    frame = runs_frame(_catalog(runs), runs, with_experiment=False)
    system = [c for c in frame.columns if c.kind == "system"]
    assert [c.id for c in system] == ["tags.mlflow.autologging", "tags.mlflow.runName", "tags.mlflow.source.type"]
    assert not any(c.id in frame.default_columns for c in system)
    assert system[2].csv_label == "system tag: mlflow.source.type"
    data = json.loads(payload(frame, _links(frame)))
    col = next(c for c in data["columns"] if c["id"] == "tags.mlflow.source.type")
    assert col["kind"] == "system" and col["values"][frame.runs.index(runs[1])] == "JOB"
    head = next(csv.reader(io.StringIO(csv_bytes(frame).decode("utf-8"))))
    assert head[-3:] == [
        "system tag: mlflow.autologging",
        "system tag: mlflow.runName",
        "system tag: mlflow.source.type",
    ]
    # the filter language names them as MLflow's search does, quoted or not
    ops = [
        {"kind": "view", "payload": data, "state": {"q": "tags.mlflow.source.type = JOB"}},
        {"kind": "view", "payload": data, "state": {"q": 'tags."mlflow.source.type" = LOCAL'}},
        {"kind": "view", "payload": data, "state": {"q": "mlflow.autologging ~ xg"}},
        {"kind": "csv", "payload": data, "state": {"cols": ["run", "tags.mlflow.source.type"]}},
    ]
    job, local, auto, view_csv = _node(ops)
    assert job == {"rows": ["run-002"]} and local == {"rows": ["run-001"]} and auto == {"rows": ["run-002"]}
    assert view_csv.splitlines()[0] == "Run,system tag: mlflow.source.type"


def test_example_runs_table_offers_the_mlflow_system_tags(example: Catalog) -> None:
    runs = _experiment_runs(example, "churn-classifier")
    frame = runs_frame(example, runs, with_experiment=False)
    system = {c.label for c in frame.columns if c.kind == "system"}
    # the run name, user, entry point, git commit/branch/repo, note and parent are fields already
    assert system == {"mlflow.source.type"}, system
