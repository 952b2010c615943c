"""The ``mlreport diff`` comment in GitHub's and GitLab's flavours, checked against their rules.

Both hosts parse GitHub-flavoured Markdown (GitHub: cmark-gfm; GitLab: GLFM, a GFM superset), so
each comment is parsed here with markdown-it-py in CommonMark mode plus the GFM table rule and
HTML on, and held to what the hosts document: every table row has its header's number of cells
(a stray ``|`` from a store string would shift them), only the HTML both hosts keep
(``details``, ``summary``, ``code``, ``sub``, ``br``, a comment), no ``@``/``#``/``!``/``~``
outside ``<code>`` that could mention someone or link an issue, and the length limit of each
(GitHub 65,536 characters per comment; GitLab 1,000,000 per note).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from mlreport.catalog import read_catalog
from mlreport.cli import main
from mlreport.config import load_config
from mlreport.diff import FLAVOURS, comment_length, cut, diff_report, render

from .conftest import GOLDENS, ROOT
from .test_diff import CASES, REVIEW
from .test_goldens import check_golden

ALLOWED_HTML = re.compile(r"</?(details|summary|code|sub|br)>|<!-- mlreport-diff -->")


def parse(markdown: str) -> list[object]:
    return list(MarkdownIt("commonmark", {"html": True}).enable("table").parse(markdown))


def cells(row: str) -> int:
    """Cells of one source table row: ``|`` that is not escaped (we never write ``\\|``)."""
    return row.strip().strip("|").count("|") + 1


def check_comment(markdown: str, flavour: str) -> None:
    assert comment_length(markdown) <= FLAVOURS[flavour].limit
    tokens = parse(markdown)
    lines = markdown.split("\n")
    tables = [t for t in tokens if getattr(t, "type", "") == "table_open"]
    # every line that looks like a table row belongs to a parsed table, with the header's cells
    in_table: set[int] = set()
    for t in tables:
        start, end = t.map  # type: ignore[attr-defined]
        header = cells(lines[start])
        for i in range(start, end):
            in_table.add(i)
            assert cells(lines[i]) == header, f"row {i + 1} has {cells(lines[i])} cells, header {header}"
    for i, line in enumerate(lines):
        if line.startswith("|"):
            assert i in in_table, f"line {i + 1} is not in a table: {line!r}"
    # the HTML: only what both hosts keep, balanced
    for t in tokens:
        for part in [t, *(getattr(t, "children", None) or [])]:
            if getattr(part, "type", "") in ("html_inline", "html_block"):
                for tag in re.findall(r"<[^>]*>", part.content):  # type: ignore[attr-defined]
                    assert ALLOWED_HTML.fullmatch(tag), tag
    assert markdown.count("<details>") == markdown.count("</details>")
    # references act only outside code: none of their characters is left there
    outside = re.sub(r"<code>.*?</code>", "", markdown)
    outside = re.sub(r"\]\([^)]*\)", "]", outside)  # our own link targets
    outside = outside.replace("<!-- mlreport-diff -->", "").replace("[!WARNING]", "")
    assert not re.search(r"@\w|(?<![&\w])#\w|![0-9]|~[a-z]", outside), outside


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
@pytest.mark.parametrize(("name", "candidate", "extra", "expected"), CASES, ids=[c[0] for c in CASES])
def test_every_golden_case_parses_by_each_hosts_rules(
    name: str,
    candidate: str,
    extra: list[str],
    expected: int,
    flavour: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REVIEW)
    assert main(["diff", candidate, "-q", "--flavour", flavour, *extra]) == expected
    check_comment(capsys.readouterr().out, flavour)


def test_warnings_are_alerts_on_github_and_plain_quotes_on_gitlab(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # the example's v2 has stage Production while @champion is v3: a serving warning
    monkeypatch.chdir(tmp_path)
    store = str(ROOT / "site_example" / "mlruns")
    main(["diff", "churn-classifier@challenger", store, "-q", "--flavour", "github"])
    github = capsys.readouterr().out
    main(["diff", "churn-classifier@challenger", store, "-q", "--flavour", "gitlab"])
    gitlab = capsys.readouterr().out
    assert "> [!WARNING]\n> Serving: " in github and "> ⚠️" not in github
    assert "> ⚠️ Serving: " in gitlab and "[!WARNING]" not in gitlab
    # the rest is the same text
    assert github.replace("> [!WARNING]\n> ", "> ⚠️ ") == gitlab


def wide_store(root: Path, n: int) -> None:
    """Two versions of one model whose params and metrics all differ, with long values."""
    for version, alias in (("1", "champion"), ("2", "challenger")):
        lines = [
            "mlreport_manifest: 1",
            f"run: {{id: run-{version}, experiment: wide}}",
            f"model: {{name: wide-model, version: '{version}', aliases: [{alias}]}}",
            "params:",
            *(f"  p{i:05d}: '{version}-{'x|@#' * 25}'" for i in range(n)),
            "metrics:",
            *(f"  m{i:05d}_loss: {int(version) + i / 7}" for i in range(n)),
        ]
        (root / f"v{version}.mlreport.yaml").write_text("\n".join(lines) + "\n")


def test_a_long_comparison_fits_each_hosts_limit_rows_first(tmp_path: Path) -> None:
    wide_store(tmp_path, 3000)
    (tmp_path / "mlreport.yml").write_text("sources: ['.']\n")
    config = load_config(tmp_path / "mlreport.yml")
    report = diff_report(read_catalog(config), config, "wide-model@challenger")
    github = render(report, "markdown", "github")
    gitlab = render(report, "markdown", "gitlab")
    check_comment(github, "github")
    check_comment(gitlab, "gitlab")
    # GitHub's 65,536 characters hold only a few rows of each table; GitLab's million many more
    assert 20_000 < comment_length(github) <= 65_536 < comment_length(gitlab) <= 1_000_000
    shown = re.findall(r"\| … and (\d+) more \|", github)
    assert len(shown) == 2 and all(int(n) > 2900 for n in shown)
    # 1,000 rows each: of the 3,000 params, and of the 2,996 metrics that are not key metrics
    assert re.findall(r"\| … and (\d+) more \|", gitlab) == ["2000", "1996"]
    # the links and the footer survive: rows were given up, nothing was cut
    assert "cut to fit" not in github and github.rstrip().endswith("</sub>")


def test_cut_keeps_whole_lines_closes_details_and_says_so() -> None:
    github = FLAVOURS["github"]
    assert cut("short\n", github) == "short\n"
    text = "<!-- mlreport-diff -->\n### head\n\n<details><summary>All</summary>\n\n" + "| a | b |\n" * 20_000
    out = cut(text, github)
    assert comment_length(out) <= github.limit
    assert out.count("<details>") == out.count("</details>") == 1
    assert out.endswith("… (cut to fit GitHub's limit of 65,536 characters; the site has the whole comparison)\n")
    body = out.split("\n</details>\n")[0]
    assert all(line == "| a | b |" for line in body.split("\n")[5:])  # whole rows only
    # emoji are counted as a host counts them at most (two UTF-16 units), so never too long
    emoji = "🟢" * 40_000
    assert comment_length(emoji) == 80_000 and comment_length(cut(emoji, github)) <= github.limit
    assert cut(emoji, FLAVOURS["gitlab"]) == emoji


def test_an_unknown_flavour_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["diff", "x@champion", "--flavour", "bitbucket"])
    assert exc.value.code == 2
    assert "invalid choice: 'bitbucket'" in capsys.readouterr().err


def test_the_recipes_pass_their_hosts_flavour() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    diff_steps = [s["run"] for s in action["runs"]["steps"] if "mlreport.comment" in s.get("run", "")]
    assert len(diff_steps) == 1 and "--flavour github" in diff_steps[0]
    gitlab = yaml.safe_load((ROOT / "ci" / "mlreport.gitlab-ci.yml").read_text())
    script = "\n".join(gitlab["mlreport-diff"]["script"])
    assert "--flavour gitlab" in script and "mlreport.comment gitlab" in script


def test_gitlab_golden(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, update_goldens: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    store = str(ROOT / "site_example" / "mlruns")
    assert main(["diff", "churn-classifier@challenger", store, "-q", "--flavour", "gitlab"]) == 0
    check_golden(GOLDENS / "diff" / "site-example-gitlab.md", capsys.readouterr().out, update_goldens)
