"""Store strings with NUL bytes and control characters never reach a page, a CSV file or the search
index: the catalog cleans every string a reader yields (mlreport.sanitize.clean_text), end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlreport.cli import main

from .conftest import DATA

V3 = DATA / "mlflow" / "v3_file" / "mlruns"
EXP = "716778322394665320"
RUN = "95134758cdb849a6bde5e7dd86a16770"


def test_nul_and_control_characters_do_not_reach_the_site(chdir_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = chdir_tmp / "mlruns"
    shutil.copytree(V3, store)
    run = store / EXP / RUN
    (run / "params" / "lr").write_bytes(b"0.1\x00injected")
    (run / "params" / "note").write_bytes(b"esc\x1b[31mred\x07bell\x00")
    (run / "tags" / "comment").write_bytes(b"nul\x00in a tag\x0b")
    (run / "tags" / "mlflow.runName").write_bytes(b"run\x00name")
    assert main(["build", "mlruns", "-o", "site", "-q"]) == 0
    site = chdir_tmp / "site"
    # every text file the site has (pages, search index, downloadable CSV/JSON); images and the
    # gzipped sitemap are binary
    files = [p for p in site.rglob("*") if p.suffix in {".html", ".csv", ".json", ".tsv", ".txt", ".xml", ".md"}]
    assert any(p.suffix == ".html" for p in files)
    assert any(p.name == "search_index.json" for p in files)
    offenders = {}
    for p in files:
        data = p.read_bytes()
        bad = [c for c in (b"\x00", b"\x1b", b"\x07", b"\x0b") if c in data]
        if bad:
            offenders[str(p.relative_to(site))] = bad
    assert offenders == {}
    # the cleaned text is still there: nothing else was lost
    page = (site / "runs" / RUN / "index.html").read_text(encoding="utf-8")
    assert "0.1injected" in page
    assert "runname" in page


# -- numbers past the float range (fuzz F24) --------------------------------------------------


@pytest.mark.parametrize("value", [10**29, -(10**400), 2**63, 10**400], ids=["1e29", "-1e400", "2^63", "1e400"])
def test_a_table_number_past_the_float_range_is_a_cell_not_a_crash(value: int) -> None:
    from mlreport.render.tables import num

    cell = num(value, str(value)[:20])
    assert cell.sort is not None and (cell.sort > 0) == (value > 0)
    assert cell.csv is not None
