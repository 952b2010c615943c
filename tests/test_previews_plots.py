"""Plots logged as data, drawn as charts (issue 10): a declared plot's table (dvclive
``log_plot``, a DVC ``plots:`` entry) as a line, scatter or bar chart of the axes its note names,
and a plotly figure saved as JSON (W&B ``wandb.Plotly``) kept only as sanitised data and layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig
from mlreport.plots import MAX_VALUES, plot_axes, plotly_figure, table_figure
from mlreport.previews import PLOT, TEXT, collect_previews, structured
from mlreport.render.page import Page
from mlreport.render.pages import render_site

from .conftest import ROOT

DATA = ROOT / "tests" / "data" / "artifacts"


def test_a_note_names_a_plots_axes() -> None:
    axes = plot_axes('DVC plot: linear, observed vs bin, "Calibration, binned"')
    assert axes is not None and (axes.template, axes.x, axes.y, axes.title) == (
        "linear",
        "bin",
        "observed",
        "Calibration, binned",
    )
    bare = plot_axes("DVC plot: tpr vs fpr")
    assert bare is not None and (bare.template, bare.x, bare.y, bare.title) == (None, "fpr", "tpr", None)
    for note in (None, "", "DVC plot image", "DVC plot: over step", "a run's notes: a vs b", "DVC plot: linear"):
        assert plot_axes(note) is None, note


def test_table_figure_draws_the_named_columns_only_when_they_are_numbers() -> None:
    axes = plot_axes("DVC plot: scatter, y vs x")
    assert axes is not None
    fig = table_figure(axes, ("x", "y", "z"), (("1", "0.5", "a"), ("2", "0.7", "b")), "p.json")
    assert fig is not None
    (trace,) = fig["data"]  # type: ignore[misc]
    assert trace == {"type": "scatter", "mode": "markers", "x": [1.0, 2.0], "y": [0.5, 0.7], "name": "y"}
    assert table_figure(axes, ("x", "y"), (("1", "n/a"),), "p.json") is None  # y not a number: the table
    assert table_figure(axes, ("a", "y"), (("1", "2"),), "p.json") is None  # no x column
    bars = plot_axes("DVC plot: bar_horizontal, importance vs feature")
    assert bars is not None
    fig = table_figure(bars, ("feature", "importance"), (("age", "0.3"), ("tenure", "0.5")), "f.csv")
    assert fig is not None and fig["data"][0]["orientation"] == "h"  # type: ignore[index]
    assert fig["data"][0]["y"] == ["age", "tenure"]  # type: ignore[index]


def test_plotly_json_keeps_only_offline_data_and_layout() -> None:
    figure = {
        "data": [
            {"type": "scatter", "x": [1, 2], "y": [3, float("nan")], "text": "x" * 5000},
            {"type": "scattergeo", "lat": [1], "lon": [2]},  # would fetch topology from a CDN
            {"type": "scattermapbox", "lat": [1], "lon": [2]},  # map tiles
        ],
        "layout": {
            "title": {"text": "loss"},
            "images": [{"source": "https://example.com/x.png"}, {"source": "data:image/png;base64,AAAA"}],
            "mapbox": {"style": "open-street-map"},
            "template": {"layout": {"font": {"family": "x"}}},
            "width": 3000,
            "height": 5000,
        },
        "frames": [{"data": []}],
        "config": {"displaylogo": True},
    }
    clean, note = plotly_figure(figure)
    assert clean is not None
    assert [t["type"] for t in clean["data"]] == ["scatter"]  # type: ignore[attr-defined,index]
    assert clean["data"][0]["y"] == [3, None]  # type: ignore[index]
    assert len(clean["data"][0]["text"]) == 1000  # type: ignore[index]
    layout: Any = clean["layout"]
    assert layout["images"] == [{"source": "data:image/png;base64,AAAA"}]
    assert "mapbox" not in layout and "template" not in layout and "width" not in layout
    assert layout["height"] == 800 and set(clean) == {"data", "layout"}
    assert note == "left out: a scattergeo trace, a scattermapbox trace, layout images from outside the site"
    assert plotly_figure({"data": [{"type": "scatter", "x": list(range(MAX_VALUES))}]}) == (
        None,
        f"a plotly figure of more than {MAX_VALUES:,} values is not drawn",
    )
    assert plotly_figure({"data": [{"type": "choropleth", "z": [1]}]})[0] is None
    assert plotly_figure({"data": [[1, 2]]}) == (None, None)  # a W&B table's rows, not traces
    assert plotly_figure({"columns": ["a"], "data": [{"a": 1}]}) == (None, None)  # records without axes


def test_a_plotly_file_becomes_a_chart_and_a_refused_one_says_why() -> None:
    p = structured(json.dumps({"data": [{"type": "bar", "x": ["a"], "y": [1]}], "layout": {}}), "m/f.plotly.json")
    assert p is not None and p.kind == PLOT and json.loads(p.figure)["data"][0]["type"] == "bar"
    big = json.dumps({"data": [{"type": "scatter", "y": list(range(MAX_VALUES))}]})
    refused = structured(big, "m/big.plotly.json")
    assert refused is not None and refused.kind == TEXT and refused.note is not None
    assert refused.note.startswith("not drawn: a plotly figure of more than")


def test_dvclive_log_plot_is_a_chart_on_its_run_page() -> None:
    config = Config(sources=(SourceConfig(str(DATA / "dvclive")),))
    catalog = read_catalog(config)
    previews = collect_previews(catalog, config)
    # keyed by the source as pages name it (relative to the working folder when inside it)
    p = previews.by_location[(config.sources[0].path, "dvclive/plots/custom/calibration.json")]
    assert p.kind == PLOT and p.rows == (("0.1", "0.12"), ("0.5", "0.46"), ("0.9", "0.85"))
    fig = json.loads(p.figure)
    assert fig["data"][0]["x"] == [0.1, 0.5, 0.9] and fig["layout"]["title"]["text"] == "Calibration"
    pages = [o for o in render_site(catalog, Config(), previews=previews) if isinstance(o, Page)]
    body = next(pg.body for pg in pages if "calibration.json" in pg.body and pg.url.startswith("runs/"))
    assert "mlreport-preview-plot" in body and "the data: 3 rows" in body
    assert body.count('class="mlreport-chart"') >= 2  # the calibration chart and the confusion heatmap


def test_wandb_plotly_media_is_a_chart() -> None:
    config = Config(sources=(SourceConfig(str(DATA / "wandb_plotly")),))
    catalog = read_catalog(config)
    previews = collect_previews(catalog, config)
    plots = {loc: p for (_store, loc), p in previews.by_location.items() if loc.endswith(".plotly.json")}
    assert plots, "the W&B fixture logs a wandb.Plotly figure"
    for p in plots.values():
        assert p.kind == PLOT, p
        fig = json.loads(p.figure)
        assert set(fig) == {"data", "layout"} and fig["data"][0]["type"] == "scatter"
        assert "template" not in fig["layout"]


def test_figure_json_has_no_script(tmp_path: Path) -> None:
    """A figure is data for plotly.js: a string holding a script tag stays a string, escaped in
    the page's data-figure attribute."""
    p = structured(
        json.dumps({"data": [{"type": "scatter", "x": [1], "y": [1], "name": "<script>x()</script>"}]}), "a.plotly.json"
    )
    assert p is not None and p.kind == PLOT
    from mlreport.render.previews import _preview  # the block a page gets

    html = str(
        _preview(
            "runs/x/", __import__("mlreport.model", fromlist=["Artifact"]).Artifact("a.plotly.json", 1), p, "artifact-1"
        )
    )
    assert "<script" not in html and "&lt;script&gt;" in html


# -- artifacts whose bytes the record's own store holds (or does not) -------------------------------


def test_manifest_artifact_locations_stay_inside_the_store() -> None:
    from mlreport.readers.manifest import _artifact_location

    assert _artifact_location("runs/a.mlreport.yaml", "out/report.csv") == "runs/out/report.csv"
    assert _artifact_location("mlreport.yaml", "./model.bin") == "model.bin"
    assert _artifact_location("runs/a.mlreport.yaml", "../shared/x.png") == "shared/x.png"
    for outside in ("../x", "/etc/passwd", "s3://bucket/x", "C:/x", "\\\\host\\share", "runs/../..", "."):
        assert _artifact_location("mlreport.yaml", outside) is None, outside


def test_artifacts_are_previewed_where_the_store_holds_them_and_rows_say_where_not(tmp_path: Path) -> None:
    import yaml

    store = tmp_path / "store"
    (store / "out").mkdir(parents=True)
    (store / "out" / "scores.csv").write_text("threshold,precision\n0.5,0.8\n0.9,0.95\n", encoding="utf-8")
    doc = {
        "mlreport_manifest": 1,
        "run": {"id": "m1", "name": "m1", "experiment": "e"},
        "metrics": {"auc": 0.9},
        "artifacts": [{"path": "out/scores.csv"}, {"path": "out/model.bin", "size": 10}, {"path": "s3://b/x.png"}],
    }
    (store / "m1.mlreport.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    config = Config(sources=(SourceConfig(str(store)),))
    catalog = read_catalog(config)
    previews = collect_previews(catalog, config)
    assert previews.problems == ()  # a file named and not held is not a problem of the store
    run = catalog.runs[0]
    got = {a.path: previews.get(run.origin.store, a) for a in run.artifacts}
    assert got["out/scores.csv"] is not None and got["out/scores.csv"].columns == ("threshold", "precision")
    assert got["out/model.bin"] is None  # named, not in the store: the reader gave it no location
    assert got["s3://b/x.png"] is None  # a URI: no location either; render says so for both
    page = next(
        o for o in render_site(catalog, config, previews=previews) if isinstance(o, Page) and o.url == "runs/m1/"
    )
    assert page.body.count("not previewed: its bytes are not in the store") == 2
    assert "mlreport-preview-table" in page.body


def test_dvc_workspace_outputs_are_previewed_a_commits_are_named() -> None:
    store = ROOT / "tests" / "data" / "dvc" / "pipeline"
    config = Config(sources=(SourceConfig(str(store)),))
    catalog = read_catalog(config)
    previews = collect_previews(catalog, config)
    shown = {
        a.path: previews.get(r.origin.store, a) for r in catalog.runs for a in r.artifacts if a.location is not None
    }
    assert shown["eval/metrics.json"] is not None and shown["eval/metrics.json"].kind is not None
    assert "data/prepared" not in shown  # a folder output is named only
