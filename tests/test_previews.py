"""Artifact previews (issue 10): sniffing, bounds, the copy budget, confusion matrices, and what
a page shows, on artifacts the real tools wrote (``tests/data/artifacts/``) and hostile ones."""

from __future__ import annotations

import json
import os
import shutil
import struct
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from mlreport.catalog import read_catalog
from mlreport.config import ArtifactsConfig, Config, SourceConfig
from mlreport.model import Artifact
from mlreport.previews import (
    HEATMAP,
    HTML,
    HTML_GUARD,
    IMAGE,
    TABLE,
    TABLE_ROWS,
    TEXT,
    classify,
    collect_previews,
    confusion_matrix,
    copy_name,
    guard_html,
    image_size,
    image_type,
)
from mlreport.stores import open_store

from .conftest import ROOT

DATA = ROOT / "tests" / "data" / "artifacts"
MLFLOW = DATA / "mlflow" / "mlruns"
WANDB = DATA / "wandb"
DVCLIVE = DATA / "dvclive"


def png(width: int, height: int, extra: bytes = b"") -> bytes:
    """A valid PNG of one grey colour (built by hand: no imaging library in the test env)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + (chunk(b"tEXt", b"pad\x00" + extra) if extra else b"")
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _run_dir(root: Path) -> Path:
    return next(p for p in root.glob("*/*") if (p / "artifacts").is_dir() and p.parent.name != "models")


def _config(source: Path, **artifacts: object) -> Config:
    return Config(sources=(SourceConfig(str(source)),), artifacts=ArtifactsConfig(**artifacts))  # type: ignore[arg-type]


def _previews(source: Path, **artifacts: object):  # type: ignore[no-untyped-def]
    config = _config(source, **artifacts)
    catalog = read_catalog(config)
    return catalog, collect_previews(catalog, config)


def _by_path(catalog, previews):  # type: ignore[no-untyped-def]
    out = {}
    for r in catalog.runs:
        for a in r.artifacts:
            p = previews.get(r.origin.store, a)
            if p is not None:
                out[a.path] = p
    return out


# -- sniffing ------------------------------------------------------------------------------------


def test_image_types_come_from_the_bytes_not_the_name() -> None:
    assert image_type(png(3, 2)) == "png"
    assert image_type(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "jpeg"
    assert image_type(b"GIF89a\x02\x00\x03\x00") == "gif"
    assert image_type(b"RIFF\x10\x00\x00\x00WEBPVP8 ") == "webp"
    assert image_type(b'<?xml version="1.0"?>\n<!-- made by hand -->\n<svg xmlns="x"/>') == "svg"
    assert image_type(b"hello, I am a text file") is None
    assert classify("plot.png", b"hello, I am a text file\n") == TEXT
    assert classify("plot.txt", png(1, 1)) == IMAGE
    assert classify("model.bin", b"\x00\x01\x02binary") is None
    assert classify("report.html", b"<html><body>hi</body></html>") == HTML
    assert classify("table.csv", b"a,b\n1,2\n") == TABLE


def test_image_sizes_are_read_from_the_header() -> None:
    assert image_size(png(17, 5), "png") == (17, 5)
    assert image_size(b"GIF89a" + struct.pack("<HH", 40, 30) + b"\x00" * 8, "gif") == (40, 30)
    # a baseline JPEG: SOI, an APP0 segment, then SOF0 with height 20 and width 30
    jpeg = b"\xff\xd8" + b"\xff\xe0\x00\x04ab" + b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", 20, 30) + b"\x00" * 12
    assert image_size(jpeg, "jpeg") == (30, 20)
    assert image_size(b"\x89PNG\r\n\x1a\n", "png") is None


def test_real_images_from_mlflow_are_images_with_their_sizes() -> None:
    catalog, previews = _previews(MLFLOW)
    shown = _by_path(catalog, previews)
    assert shown["plots/loss.png"].kind == IMAGE  # log_figure (matplotlib)
    assert (shown["plots/loss.png"].width, shown["plots/loss.png"].height) == (150, 100)
    assert shown["images/sample.png"].kind == IMAGE  # log_image (a numpy array)
    assert (shown["images/sample.png"].width, shown["images/sample.png"].height) == (16, 12)
    assert shown["plots/loss.svg"].kind == IMAGE  # matplotlib's SVG has no script
    assert shown["report/index.html"].kind == HTML
    assert shown["notes.txt"].kind == TEXT and shown["notes.txt"].text == "evaluated on 24 rows\nno warnings\n"
    assert shown["config/train.yaml"].kind == TEXT
    assert shown["eval/predictions.json"].kind == TABLE  # log_table
    assert shown["eval/predictions.json"].columns == ("id", "label", "score")
    assert shown["eval/confusion_matrix.json"].kind == HEATMAP  # log_dict
    assert not previews.problems


# -- confusion matrices ---------------------------------------------------------------------------


def test_confusion_matrix_from_mlflow_log_dict() -> None:
    path = next(MLFLOW.glob("*/*/artifacts/eval/confusion_matrix.json"))
    labels, matrix = confusion_matrix(json.loads(path.read_text()), str(path))  # type: ignore[misc]
    assert labels == ["cat", "dog", "bird"]
    assert matrix == [[5, 1, 0], [2, 6, 1], [0, 1, 7]]


def test_confusion_matrix_from_a_wandb_table() -> None:
    path = next(WANDB.glob("wandb/*/files/media/table/confusion_table_*.table.json"))
    found = confusion_matrix(json.loads(path.read_text()), str(path))
    assert found is not None
    labels, matrix = found
    assert labels == ["cat", "dog", "bird"]
    # wandb.plot.confusion_matrix(y_true=[0,0,1,1,2,2,2,1,0], preds=[0,1,1,1,2,0,2,1,0])
    assert matrix == [[2, 1, 0], [0, 3, 0], [1, 0, 2]]


def test_confusion_matrix_from_dvclive_sklearn_plot() -> None:
    path = DVCLIVE / "dvclive" / "plots" / "sklearn" / "cm.json"
    found = confusion_matrix(json.loads(path.read_text()), str(path))
    assert found is not None
    labels, matrix = found
    assert labels == ["0", "1", "2"]
    # log_sklearn_plot("confusion_matrix", [0, 0, 1, 1, 2, 2, 1], [0, 1, 1, 1, 2, 0, 1])
    assert matrix == [[1, 1, 0], [0, 3, 0], [1, 0, 1]]


def test_confusion_matrix_long_form_with_counts_and_wide_named_tables() -> None:
    long = {"columns": ["y_true", "y_pred", "count"], "data": [[1, 1, 4], [1, 0, 1], [0, 0, 3]]}
    assert confusion_matrix(long) == (["0", "1"], [[3, 0], [1, 4]])
    wide = {"columns": ["", "a", "b"], "data": [["a", 2, 1], ["b", 0, 3]]}
    assert confusion_matrix(wide, "eval/confusion.json") == (["a", "b"], [[2, 1], [0, 3]])
    assert confusion_matrix(wide, "eval/scores.json") is None  # a square table is not a matrix by itself
    assert confusion_matrix({"columns": ["id", "score"], "data": [[1, 0.5]]}) is None
    assert confusion_matrix({"matrix": [[1, 2], [3]]}) is None  # not square
    assert confusion_matrix({"matrix": [[1, "x"], [3, 4]]}) is None  # not numbers
    assert confusion_matrix([{"actual": "a", "predicted": "b"}] * 3) == (["a", "b"], [[0, 3], [0, 0]])


# -- copies ----------------------------------------------------------------------------------------


def test_copy_names_are_stable_safe_and_never_pages() -> None:
    assert copy_name("plots/loss.png") == "plots/loss.png"
    odd = copy_name("plots/my loss <1>.png")
    assert odd == copy_name("plots/my loss <1>.png")  # stable
    assert odd.startswith("plots/my-loss--1--") and odd.endswith(".png")
    assert copy_name("a b.png") != copy_name("a_b.png") and copy_name("a b.png") != copy_name("a-b.png")
    assert copy_name("../../etc/passwd").split("/")[0] not in ("..", ".")
    assert copy_name("notes.md").endswith(".md.txt")  # MkDocs would build a .md as a page
    assert copy_name(".hidden") != ".hidden"


def test_a_copied_html_report_forbids_scripts_even_opened_directly() -> None:
    guarded = guard_html(b"<!DOCTYPE html><html><script>x()</script></html>")
    assert guarded.startswith(b"<!DOCTYPE html>\n" + HTML_GUARD)
    assert guard_html(b"<p>hi</p>") == b"\n" + HTML_GUARD + b"<p>hi</p>"


# -- hostile artifacts ------------------------------------------------------------------------------


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """The real MLflow store with hand-made hostile artifacts added to its run."""
    root = tmp_path / "mlruns"
    shutil.copytree(MLFLOW, root)
    art = _run_dir(root) / "artifacts"
    (art / "hostile").mkdir()
    (art / "hostile" / "script.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect width="5" height="5"/></svg>'
    )
    (art / "hostile" / "onload.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    (art / "hostile" / "report.html").write_text(
        "<html><head><script>document.title='pwned'</script></head><body onload=\"window.pwned=1\">x</body></html>"
    )
    (art / "hostile" / "big.png").write_bytes(png(4, 4, os.urandom(6 * 1024 * 1024)))
    (art / "hostile" / "notapng.png").write_text("this is not an image\n")
    os.symlink("/etc/passwd", art / "hostile" / "plot.png")
    with (art / "hostile" / "rows.csv").open("w") as f:
        f.write("step,value\n")
        f.writelines(f"{i},{i * 0.5}\n" for i in range(1_000_000))
    return root


def test_hostile_artifacts_are_bounded_and_named(hostile: Path) -> None:
    catalog, previews = _previews(hostile)
    shown = _by_path(catalog, previews)
    problems = {p.origin.path.rsplit("/", 1)[-1]: p.reason for p in previews.problems}

    for name in ("script.svg", "onload.svg"):  # an SVG that would run if opened from the site
        assert shown[f"hostile/{name}"].kind is None and shown[f"hostile/{name}"].url is None
        assert "SVG with script" in problems[name]

    big = shown["hostile/big.png"]
    assert big.url is None and big.note == "not copied: 6.0 MB is over artifacts.max_bytes (5.0 MB)"
    assert problems["big.png"] == "artifact not copied into the site: 6.0 MB is over artifacts.max_bytes (5.0 MB)"

    assert shown["hostile/notapng.png"].kind == TEXT  # the bytes decide, not the name
    assert shown["hostile/report.html"].kind == HTML
    report = previews.files[shown["hostile/report.html"].url]  # type: ignore[index]
    assert HTML_GUARD in report

    rows = shown["hostile/rows.csv"]
    assert rows.kind == TABLE and len(rows.rows) == TABLE_ROWS and rows.columns == ("step", "value")
    assert rows.url is None and "not copied" in (rows.note or "")
    assert rows.note is not None and rows.note.startswith("shows the first 500 rows")

    # the link out of the store: the crawl leaves it out and says why; nothing of it is copied
    assert "hostile/plot.png" not in shown
    assert any(
        p.origin.path.endswith("hostile/plot.png") and "leads outside the store" in p.reason for p in catalog.problems
    )
    assert not any(b"root:" in data for data in previews.files.values())


def test_a_file_swapped_for_a_link_after_the_crawl_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "mlruns"
    shutil.copytree(MLFLOW, root)
    catalog = read_catalog(_config(root))
    target = _run_dir(root) / "artifacts" / "notes.txt"
    target.unlink()
    os.symlink("/etc/passwd", target)  # between the crawl and the previews
    previews = collect_previews(catalog, _config(root))
    shown = _by_path(catalog, previews)
    assert shown["notes.txt"].kind is None and shown["notes.txt"].url is None
    (problem,) = [p for p in previews.problems if p.origin.path.endswith("notes.txt")]
    assert problem.reason == "artifact not previewed: a symbolic link that leads outside the store (to /etc/passwd)"
    assert not any(b"root:" in data for data in previews.files.values())


def test_the_site_budget_is_counted_in_a_stable_order(tmp_path: Path) -> None:
    catalog, everything = _previews(MLFLOW)
    sizes = sorted(len(d) for d in everything.files.values())
    # room for all but the largest copies: the same files are left out every time
    budget = sum(sizes) - sizes[-1] - 1
    _, first = _previews(MLFLOW, max_site_bytes=budget)
    _, second = _previews(MLFLOW, max_site_bytes=budget)
    assert first.files.keys() == second.files.keys()
    assert sum(len(d) for d in first.files.values()) <= budget
    left_out = set(everything.files) - set(first.files)
    assert left_out
    assert all("artifacts.max_site_bytes" in p.reason for p in first.problems)
    assert len(first.problems) == len(left_out)


def test_per_file_cap_and_previews_off() -> None:
    catalog, small = _previews(MLFLOW, max_bytes=1024)
    shown = _by_path(catalog, small)
    assert shown["plots/loss.png"].url is None  # 3.7 KB
    assert shown["images/sample.png"].url is not None  # 82 B
    assert shown["plots/loss.png"].note == "not copied: 3.7 KB is over artifacts.max_bytes (1.0 KB)"
    _, off = _previews(MLFLOW, previews=False)
    assert not off.files and not off.by_location


def test_wandb_media_and_dvclive_plots_are_previewed() -> None:
    catalog, previews = _previews(WANDB)
    shown = _by_path(catalog, previews)
    media = {k.rsplit("/", 1)[-1].split("_", 1)[0]: v for k, v in shown.items() if "/media/" in k}
    assert media["sample"].kind == IMAGE and media["sample"].url
    assert media["predictions"].kind == TABLE and media["predictions"].columns == ("id", "label", "score")
    assert media["confusion"].kind == HEATMAP
    catalog, previews = _previews(DVCLIVE)
    shown = _by_path(catalog, previews)
    assert shown["dvclive/plots/images/sample.png"].kind == IMAGE  # log_image
    assert shown["dvclive/plots/sklearn/cm.json"].kind == HEATMAP  # log_sklearn_plot("confusion_matrix")
    # log_plot: a chart of its declared y over x, with its table (tests/test_previews_plots.py)
    assert shown["dvclive/plots/custom/calibration.json"].kind == "plot"
    assert shown["dvclive/plots/custom/calibration.json"].columns == ("bin", "observed")


def test_artifacts_carry_where_their_bytes_are() -> None:
    catalog = read_catalog(_config(MLFLOW))
    store = open_store(str(MLFLOW))
    for owner in (*catalog.runs, *catalog.logged_models):
        for a in owner.artifacts:
            assert a.location is not None and store.is_file(a.location), a
    assert Artifact("x", 1).location is None
    # a Git LFS pointer (Hugging Face dir, W&B files/) has no bytes of its own to preview
    hf = read_catalog(_config(ROOT / "tests" / "data" / "hf" / "lfs_pointer"))
    files = [a for r in hf.runs for a in r.artifacts]
    assert any(a.note and "LFS" in a.note for a in files)
    assert all((a.location is None) == bool(a.note and "LFS" in a.note) for a in files)


def test_a_changed_artifact_changes_its_pages_digest(tmp_path: Path) -> None:
    """The engine re-renders a page whose previews changed, even when name and size did not."""
    from mlreport.engine.deps import PageInputs
    from mlreport.render.pages import SiteRenderer

    root = tmp_path / "mlruns"
    shutil.copytree(MLFLOW, root)
    config = _config(root)
    catalog = read_catalog(config)
    run = catalog.runs[0]
    version = catalog.versions[0]

    def digests() -> tuple[str, str, str]:
        previews = collect_previews(catalog, config)
        inputs = PageInputs(SiteRenderer(catalog, config, previews=previews), "g")
        lm = run.output_model_keys[0]
        return (
            inputs.digest(("run", run.key)),
            inputs.digest(("version", f"{version.model}\0{version.version}")),
            inputs.digest(("logged_model", lm)),
        )

    before = digests()
    notes = _run_dir(root) / "artifacts" / "notes.txt"
    notes.write_text(notes.read_text().replace("24", "42"))  # same size, other bytes
    after = digests()
    assert after[0] != before[0]  # the run page shows notes.txt
    assert after[2] == before[2]  # the logged model's page shows only the model's files
    req = next(_run_dir(root).parent.glob("models/*/artifacts/requirements.txt"))
    req.write_text(req.read_text().upper())
    last = digests()
    assert last[0] == after[0]
    assert last[1] != after[1] and last[2] != after[2]  # the version page shows the model's files


def test_unreadable_artifacts_are_problems_not_crashes(tmp_path: Path) -> None:
    root = tmp_path / "mlruns"
    shutil.copytree(MLFLOW, root)
    catalog = read_catalog(_config(root))
    shutil.rmtree(_run_dir(root) / "artifacts" / "plots")  # gone between the crawl and the previews
    previews = collect_previews(catalog, _config(root))
    gone = [p for p in previews.problems if "plots/" in p.origin.path]
    assert len(gone) == 2 and all(p.reason.startswith("artifact not previewed: ") for p in gone)
    shown = _by_path(catalog, previews)
    assert shown["plots/loss.png"].kind is None and shown["notes.txt"].kind == TEXT
    moved = replace(_config(root), sources=(SourceConfig(str(tmp_path / "elsewhere")),))
    assert collect_previews(catalog, moved).problems  # a source that cannot be opened: one Problem


def test_the_artifacts_config_block(tmp_path: Path) -> None:
    from mlreport.config import load_config
    from mlreport.errors import ConfigError

    path = tmp_path / "mlreport.yml"
    path.write_text("artifacts:\n  max_bytes: 10MB\n  max_site_bytes: 1GB\n  previews: false\n")
    assert load_config(path).artifacts == ArtifactsConfig(False, 10 << 20, 1 << 30)
    assert load_config(None).artifacts == ArtifactsConfig(True, 5 << 20, 200 << 20)
    path.write_text("artifacts:\n  max_byte: 10MB\n  previews: maybe\n  max_site_bytes: lots\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).splitlines() == [
        "mlreport.yml: artifacts.max_byte: unknown key; did you mean 'max_bytes'? "
        "(known: max_bytes, max_site_bytes, previews)",
        "mlreport.yml: artifacts.previews: expected true or false, found a string",
        "mlreport.yml: artifacts.max_site_bytes: expected a size such as 512MB, found 'lots'",
    ]


def test_heatmap_labels_cannot_become_plotly_markup() -> None:
    from mlreport.previews import Preview
    from mlreport.render.previews import heatmap_figure

    fig = heatmap_figure(Preview("<b>cm</b>.json", HEATMAP, labels=('<a href="x">a</a>', "b"), matrix=((1, 0), (0, 1))))
    trace = fig["data"][0]
    shown = json.dumps([trace["x"], trace["y"], trace["text"], fig["layout"]["title"]])
    assert "<" not in shown and ">" not in shown  # only the hover template (ours) has tags
    assert fig["data"][0]["x"] == ['‹a href="x"›a‹/a›', "b"]


def test_previews_stop_at_a_bound_per_record_and_the_page_says_so(tmp_path: Path) -> None:
    from mlreport.previews import MAX_PER_OWNER
    from mlreport.render.previews import artifacts_block

    root = tmp_path / "mlruns"
    shutil.copytree(MLFLOW, root)
    many = _run_dir(root) / "artifacts" / "many"
    many.mkdir()
    for i in range(MAX_PER_OWNER + 5):
        (many / f"n{i:03d}.txt").write_text(f"{i}\n")
    catalog, previews = _previews(root)
    run = next(r for r in catalog.runs if len(r.artifacts) > MAX_PER_OWNER)
    made = [a for a in run.artifacts if previews.get(run.origin.store, a) is not None]
    assert len(made) == MAX_PER_OWNER and len(run.artifacts) == MAX_PER_OWNER + 13
    html = str(artifacts_block(run.artifacts, "runs/x/", run.origin.store, previews))
    assert f"13 more files listed without a preview (previews are made for the first {MAX_PER_OWNER}" in html
