"""Charts tested directly: which curves overlay, which runs are best, what a sweep is, what the
figures hold, what a page says about the metrics it does not chart (issues 8 and 10)."""

from __future__ import annotations

import json
import math
from array import array

import pytest

from mlreport.catalog import make_catalog
from mlreport.config import Config
from mlreport.model import Metric, MetricHistory, Origin, Run
from mlreport.render.base import MAX_CHARTS, RenderBase
from mlreport.render.charts import MAX_POINTS, figure_div, line_figure, plain
from mlreport.render.curves import chart_order, pair_curves, split_key, sweep_metric, top_runs
from mlreport.render.sweeps import (
    MAX_PARAMS,
    NOT_SET,
    detect_sweep,
    make_axis,
    parallel_figure,
    sample,
    scatter_figure,
    varying_params,
)

ORIGIN = Origin("mem://store", "mlruns/0", "mlflow")


def _metric(key: str, values: list[float], start: int = 0) -> Metric:
    steps = list(range(start, start + len(values)))
    history = MetricHistory(array("q", steps), array("q", [-1] * len(values)), array("d", values))
    return Metric.from_history(key, history)


def _run(key: str, params: dict[str, str] | None = None, start: int | None = None, **finals: float) -> Run:
    metrics = tuple(_metric(k, [v]) for k, v in sorted(finals.items()))
    return Run(key, key, key, ORIGIN, params=params or {}, metrics=metrics, start_time=start)


# -- which curves are one quantity on two splits ---------------------------------------------------


@pytest.mark.parametrize(
    "keys, group",
    [
        (["train_loss", "val_loss"], ("train_loss", "val_loss")),
        (["eval/acc", "train/acc"], ("train/acc", "eval/acc")),
        (["loss", "eval_loss"], ("loss", "eval_loss")),  # HF Trainer
        (["loss", "val_loss", "accuracy"], ("loss", "val_loss")),  # Keras
        (["training_loss", "validation_loss"], ("training_loss", "validation_loss")),
        (["Train/Loss", "Val/Loss"], ("Train/Loss", "Val/Loss")),
        (["loss_train", "loss_val"], ("loss_train", "loss_val")),
        (["training.l2", "valid_0.l2", "valid_1.l2"], ("training.l2", "valid_0.l2", "valid_1.l2")),  # LightGBM
        (["validation_0-logloss", "validation_1-logloss"], ("validation_0-logloss", "validation_1-logloss")),  # XGBoost
        (["tr_ls", "val_ls"], ("tr_ls", "val_ls")),
        (["l2.valid", "l2.train"], ("l2.train", "l2.valid")),
        (["train_loss", "val_loss", "test_loss"], ("train_loss", "val_loss", "test_loss")),
    ],
)
def test_pairs_are_found_whatever_the_tool_called_them(keys: list[str], group: tuple[str, ...]) -> None:
    assert pair_curves(keys) == [group]


@pytest.mark.parametrize(
    "keys",
    [
        ["val_loss", "val_loss_std"],  # a statistic of the same split, not another split
        ["train_loss", "val_loss_std"],
        ["val/loss", "val_loss"],  # the same split written twice
        ["loss", "train_loss"],  # a bare key is the training curve only beside an evaluation one
        ["trainer/global_step", "eval/global_steps"],
        ["device_loss", "dev_loss_ratio"],
        ["retrain_loss", "val_losses"],
        ["val_loss"],
        [],
    ],
)
def test_no_false_pairs(keys: list[str]) -> None:
    assert pair_curves(keys) == []


def test_a_named_training_curve_wins_over_a_bare_key() -> None:
    assert pair_curves(["loss", "train_loss", "val_loss"]) == [("train_loss", "val_loss")]


def test_pairs_do_not_depend_on_the_order_the_store_listed_the_keys() -> None:
    keys = ["val_acc", "train_loss", "lr", "train_acc", "val_loss"]
    assert (
        pair_curves(keys) == pair_curves(list(reversed(keys))) == [("train_acc", "val_acc"), ("train_loss", "val_loss")]
    )


def test_split_key_reads_the_split_word_at_either_end_only() -> None:
    assert split_key("valid_1.l2").word == "valid_1" and split_key("valid_1.l2").quantity == "l2"
    assert split_key("l2.valid_1").word == "valid_1" and split_key("l2.valid_1").split == "val"
    assert split_key("model/val/loss").split == ""  # a split word in the middle is not read
    assert split_key("train").split == "" and split_key("train").quantity == "train"


def test_chart_order_puts_key_metrics_first_and_keeps_groups_together() -> None:
    keys = ["a_lr", "train_loss", "val_auc", "val_loss", "zeta"]
    groups = pair_curves(keys)
    order = chart_order(groups, keys, lambda k: 0 if k == "val_auc" else (2 if k == "a_lr" else 1))
    assert order == [("val_auc",), ("train_loss", "val_loss"), ("zeta",), ("a_lr",)]


# -- the best runs ---------------------------------------------------------------------------------


def test_top_runs_follow_the_goal_and_never_count_nan_or_missing_as_best() -> None:
    runs = [
        _run("a", val_loss=0.5),
        _run("b", val_loss=math.nan),  # a failed run: its NaN loss is not the lowest
        _run("c", val_loss=0.2),
        _run("d", other=1.0),
        _run("e", val_loss=math.inf),
        _run("f", val_loss=0.9),
    ]
    assert [r.key for r, _ in top_runs(runs, "val_loss", "min", 10)] == ["c", "a", "f"]
    assert [r.key for r, _ in top_runs(runs, "val_loss", "max", 2)] == ["f", "a"]


def test_top_runs_break_ties_by_start_time_then_key() -> None:
    runs = [_run("z", start=5, m=1.0), _run("y", start=1, m=1.0), _run("x", m=1.0), _run("w", start=5, m=1.0)]
    assert [r.key for r, _ in top_runs(runs, "m", "max")] == ["y", "w", "z", "x"]


def test_sweep_metric_prefers_configured_then_held_out_metrics() -> None:
    assert sweep_metric(["train_logloss", "val_logloss", "accuracy"]) == "val_logloss"
    assert sweep_metric(["train_logloss", "val_logloss"], ["accuracy", "train_logloss"]) == "train_logloss"
    assert sweep_metric(["train_loss"]) == "train_loss"
    assert sweep_metric([]) is None


# -- sweeps ----------------------------------------------------------------------------------------


def _sweep_runs() -> list[Run]:
    return [
        _run("t0", {"lr": "0.001", "opt": "adam", "seed": "1", "out": "/o/t0"}, val_auc=0.80),
        _run("t1", {"lr": "0.01", "opt": "sgd", "seed": "1", "out": "/o/t1"}, val_auc=0.91),
        _run("t2", {"lr": "0.1", "opt": "adam", "seed": "1", "out": "/o/t2"}, val_auc=0.85),
        _run("t3", {"lr": "0.1", "seed": "1", "out": "/o/t3"}, val_auc=math.nan),
        _run("t4", {"lr": "1", "opt": "sgd", "seed": "1", "out": "/o/t4"}, val_auc=0.70),
        _run("t5", {"lr": "1", "opt": "sgd", "seed": "1", "out": "/o/t5"}, val_auc=0.75),
        _run("parent", {"n_trials": "6"}, best_val_auc=0.91),
    ]


def test_a_sweep_is_found_with_its_varying_params_and_best_run() -> None:
    sweep = detect_sweep(_sweep_runs(), "val_auc", "max")
    assert sweep is not None
    assert sweep.best.key == "t1" and sweep.values[0] == 0.91
    assert [r.key for r in sweep.runs] == ["t1", "t2", "t0", "t5", "t4"]  # NaN and metric-less runs left out
    assert [a.param for a in sweep.axes] == ["lr", "opt"]  # seed is constant; out is an identifier
    assert sweep.total == 5 and sweep.note == ""


def test_no_sweep_without_varying_params_or_with_too_few_runs() -> None:
    same = [_run(f"r{i}", {"lr": "0.1"}, m=float(i)) for i in range(5)]
    assert detect_sweep(same, "m", "max") is None
    two = [_run("a", {"lr": "1"}, m=1.0), _run("b", {"lr": "2"}, m=2.0)]
    assert detect_sweep(two, "m", "max") is None
    assert detect_sweep(_sweep_runs(), None, "max") is None


def test_varying_params_counts_a_missing_param_as_a_value() -> None:
    runs = [_run("a", {"x": "1", "y": "1"}), _run("b", {"x": "1", "y": "1"}), _run("c", {"y": "1"})]
    assert varying_params(runs) == ["x"]
    long = [_run(str(i), {"cmd": "python train.py " + "x" * 40 + str(i % 2)}) for i in range(3)]
    assert varying_params(long) == []


def test_axes_are_numeric_log_or_categorical() -> None:
    runs = _sweep_runs()[:5]
    lr = make_axis("lr", runs)
    assert lr.numeric and lr.log  # 0.001 .. 1 spans three decades
    opt = make_axis("opt", runs)
    assert not opt.numeric and opt.categories == ("adam", "sgd", NOT_SET)
    depth = make_axis("d", [_run("a", {"d": "10"}), _run("b", {"d": "9"}), _run("c", {"d": "x"})])
    assert depth.categories == ("9", "10", "x")  # numbers in numeric order, before text
    width = make_axis("w", [_run("a", {"w": "1"}), _run("b", {"w": "3"})])
    assert width.numeric and not width.log


def test_sampling_keeps_the_best_and_the_whole_range() -> None:
    scored = [(_run(f"r{i:05}"), float(i)) for i in range(10_000)]
    picked = sample(scored, 1000)
    assert len(picked) == 1000 and len({r.key for r, _ in picked}) == 1000
    assert [v for _, v in picked[:100]] == [float(i) for i in range(100)]
    assert picked[-1][1] == 9999.0
    assert sample(scored[:10], 1000) == scored[:10]


def test_a_sampled_sweep_says_so_and_stays_bounded() -> None:
    runs = [
        _run(f"r{i:05}", {f"p{j}": str((i // (j + 1)) % 5) for j in range(MAX_PARAMS + 3)}, m=float(i % 997))
        for i in range(10_000)
    ]
    sweep = detect_sweep(runs, "m", "max")
    assert sweep is not None and len(sweep.runs) == 1000 and sweep.total == 10_000
    assert len(sweep.axes) == MAX_PARAMS and sweep.params_total == MAX_PARAMS + 3
    assert (
        "1,000 of 10,000 runs drawn" in sweep.note and f"{MAX_PARAMS} of {MAX_PARAMS + 3} varying params" in sweep.note
    )
    size = len(str(figure_div(parallel_figure(sweep)))) + len(str(figure_div(scatter_figure(sweep))))
    assert size < 400_000  # 154 KB measured (benchmarks/bench_sweeps.py); 1.5 MB without the sample


def test_parallel_figure_has_a_dimension_per_param_and_the_metric_last() -> None:
    sweep = detect_sweep(_sweep_runs(), "val_auc", "max")
    assert sweep is not None
    fig = parallel_figure(sweep)
    (trace,) = fig["data"]  # type: ignore[misc]
    dims = trace["dimensions"]
    assert [d["label"] for d in dims] == ["lr (log)", "opt", "val_auc ↑"]
    assert dims[0]["values"] == [-2.0, -1.0, -3.0, 0.0, 0.0]  # log10 of the drawn runs' lr
    assert dims[0]["ticktext"] == ["0.001", "0.01", "0.1", "1"]
    assert dims[1]["values"] == [1, 0, 0, 1, 1] and dims[1]["ticktext"] == ["adam", "sgd"]
    assert dims[2]["values"] == [0.91, 0.85, 0.8, 0.75, 0.7]
    assert trace["line"]["reversescale"] is False
    low = detect_sweep(_sweep_runs(), "val_auc", "min")
    assert low is not None and parallel_figure(low)["data"][0]["line"]["reversescale"] is True  # type: ignore[index]
    assert low.best.key == "t4"


def test_scatter_figure_marks_the_best_run_and_switches_params() -> None:
    sweep = detect_sweep(_sweep_runs(), "val_auc", "max")
    assert sweep is not None
    fig = scatter_figure(sweep)
    data = fig["data"]
    assert isinstance(data, list) and len(data) == 2  # all runs, the best run: whatever the params
    assert data[0]["x"] == [0.01, 0.1, 0.001, 1.0, 1.0] and data[0]["y"] == [0.91, 0.85, 0.8, 0.75, 0.7]
    assert data[1]["name"] == "best run" and data[1]["x"] == [0.01] and data[1]["y"] == [0.91]
    assert data[1]["text"] == ["t1"] and data[1]["marker"]["symbol"] == "star"
    assert fig["layout"]["xaxis"]["type"] == "log"  # type: ignore[index]
    menu = fig["layout"]["updatemenus"][0]  # type: ignore[index]
    assert [b["label"] for b in menu["buttons"]] == ["lr", "opt"]
    restyle, relayout = menu["buttons"][1]["args"]
    assert restyle["x"] == [["sgd", "adam", "adam", "sgd", "sgd"], ["sgd"]]
    assert relayout["xaxis.type"] == "category" and relayout["xaxis.title.text"] == "opt"
    assert relayout["xaxis.categoryarray"] == ["adam", "sgd"]  # t3, the only run without opt, has a NaN
    assert "opt %{x}" in restyle["hovertemplate"][0]


def test_store_text_never_becomes_plotly_markup() -> None:
    assert plain("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    runs = [_run(f'<a href="javascript:alert(1)">r{i}</a>', {"<i>p</i>": str(i)}, m=float(i)) for i in range(3)]
    sweep = detect_sweep(runs, "m", "max")
    assert sweep is not None
    text = json.dumps([parallel_figure(sweep), scatter_figure(sweep)])
    assert "<a" not in text and "<i>" not in text and "&lt;i&gt;p&lt;/i&gt;" in text
    fig = line_figure("<b>t</b>", [("<s>n</s>", [0, 1], [1.0, 2.0])])
    assert "<" not in json.dumps(fig)


# -- line charts and their notes -------------------------------------------------------------------


def test_a_downsampled_chart_says_how_many_points_were_logged_and_drawn() -> None:
    n = 5000
    fig = line_figure("loss", [("loss", list(range(n)), [math.sin(i / 50) for i in range(n)])])
    assert len(fig["data"][0]["x"]) == MAX_POINTS  # type: ignore[index]
    assert "loss: 5,000 points logged, 1,000 drawn" in str(fig["note"])
    html = str(figure_div(fig))
    assert 'class="mlreport-chart-note"' in html and "5,000 points logged" in html


def test_a_history_the_reader_already_thinned_keeps_its_note() -> None:
    from mlreport.render.charts import Series

    fig = line_figure("loss", [Series("loss", list(range(800)), [1.0] * 800, count=2_000_000)])
    assert "2,000,000 points logged, 800 drawn" in str(fig["note"])
    assert line_figure("loss", [("loss", [0, 1], [1.0, 2.0])])["note"] == ""


def _charts(metrics: list[Metric], config: Config | None = None) -> list[str]:
    run = Run("r", "r", "r", ORIGIN, metrics=tuple(metrics))
    catalog = make_catalog(runs=[run])
    base = RenderBase(catalog, config or Config())
    return [str(x) for x in base.history_charts(run.metrics, run.key)]


def test_train_and_val_curves_share_one_chart_with_two_traces() -> None:
    charts = _charts(
        [_metric("train_loss", [3.0, 2.0, 1.0]), _metric("val_loss", [3.5, 2.5, 2.0]), _metric("acc", [0.1, 0.2])]
    )
    assert len(charts) == 2
    figures = [json.loads(_figure_json(c)) for c in charts]
    overlay = next(f for f in figures if len(f["data"]) == 2)
    assert [t["name"] for t in overlay["data"]] == ["train_loss", "val_loss"]
    assert overlay["layout"]["title"]["text"] == "train_loss vs val_loss"


def test_a_page_says_how_many_of_its_metrics_are_charted() -> None:
    metrics = [_metric(f"m{i:02}", [1.0, 2.0]) for i in range(MAX_CHARTS + 7)] + [_metric("final_only", [1.0])]
    charts = _charts(metrics)
    assert len(charts) == MAX_CHARTS + 1
    assert charts[0] == (
        '<p class="mlreport-charts-count">24 of 32 metrics charted; the others are in the Metrics table '
        "(1 has a single value, 7 are past this page&#39;s chart limit).</p>"
    )
    assert len(_charts([_metric("a", [1.0, 2.0]), _metric("b", [1.0, 2.0])])) == 2  # all charted: no line


def test_configured_key_metrics_are_charted_before_the_cap() -> None:
    metrics = [_metric(f"a{i:02}", [1.0, 2.0]) for i in range(MAX_CHARTS + 5)] + [_metric("zz_key", [1.0, 2.0])]
    charts = _charts(metrics, Config(key_metrics=("zz_key",)))
    assert "zz_key" in charts[1] and "6 are past" in charts[0]


def _figure_json(div: str) -> str:
    import html

    start = div.index('data-figure="') + len('data-figure="')
    return html.unescape(div[start : div.index('"', start)])


# -- curves across versions, and the compare page's histories ---------------------------------------


def _model_catalog(n_versions: int, points: int = 50, spike_at: int | None = None) -> RenderBase:
    from mlreport.model import ModelVersion, RegisteredModel

    runs, versions = [], []
    for i in range(1, n_versions + 1):
        values = [1.0 / (s + i) for s in range(points)]
        if spike_at is not None:
            values[spike_at] = 50.0
        runs.append(Run(f"r{i}", f"r{i}", f"run-{i}", ORIGIN, metrics=(_metric("val_loss", values),)))
        aliases = ("champion",) if i == 2 else ()
        versions.append(ModelVersion("m", str(i), ORIGIN, run_key=f"r{i}", aliases=aliases))
    catalog = make_catalog(
        runs=runs, models=[RegisteredModel("m", ORIGIN, aliases={"champion": "2"})], versions=versions
    )
    return RenderBase(catalog, Config())


def test_a_model_page_overlays_a_key_metric_across_versions_and_bounds_the_lines() -> None:
    from mlreport.render.curves import MAX_VERSIONS, versions_chart

    few = versions_chart(_model_catalog(3), "m", ["val_loss"])
    assert few is not None
    figure = json.loads(_figure_json(str(few)))
    assert [t["name"] for t in figure["data"]] == ["v1", "v2 @champion", "v3"]
    assert versions_chart(_model_catalog(3), "m", ["nothing"]) is None
    many = versions_chart(_model_catalog(MAX_VERSIONS + 8), "m", ["val_loss"])
    assert many is not None
    names = [t["name"] for t in json.loads(_figure_json(str(many)))["data"]]
    assert len(names) == MAX_VERSIONS and "v2 @champion" in names and "v20" in names and "v3" not in names
    assert f"{MAX_VERSIONS} of {MAX_VERSIONS + 8} versions drawn" in str(many)


def test_the_compare_page_keeps_a_spike_and_says_how_many_points_were_logged() -> None:
    import html

    from mlreport.review_html import COMPARE_POINTS, compare_payload

    base = _model_catalog(2, points=5000, spike_at=4321)
    text = str(compare_payload(base, "models/m/compare/", "m"))
    data = json.loads(html.unescape(text.split('data-compare="', 1)[1].rsplit('"', 1)[0]))
    xs, ys, logged = data["versions"][0]["history"]["val_loss"]
    assert len(xs) == COMPARE_POINTS and logged == 5000
    assert 50.0 in ys and 4321.0 in xs  # even thinning would have dropped it


def test_long_titles_are_cut_and_the_legend_keeps_the_full_names() -> None:
    from mlreport.render.charts import TITLE_CHARS

    a, b = "train/contrastive_alignment_loss_total", "eval/contrastive_alignment_loss_total"
    (chart,) = _charts([_metric(a, [1.0, 2.0]), _metric(b, [2.0, 3.0])])
    figure = json.loads(_figure_json(chart))
    assert figure["layout"]["title"]["text"] == "contrastive_alignment_loss_total on 2 splits"
    assert [t["name"] for t in figure["data"]] == [a, b]
    (single,) = _charts([_metric("x" * 80, [1.0, 2.0])])
    title = json.loads(_figure_json(single))["layout"]["title"]["text"]
    assert len(title) == TITLE_CHARS and title.endswith("…")
