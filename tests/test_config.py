"""``mlreport.yml`` checked key by key (config.py): defaults, every accepted form of each key, and
the exact one-line message of each refusal, all collected at once. Direct tests of the checker,
written against the mutants that survived the CLI's tests (benchmarks/mutation.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mlreport.config import (
    ArtifactsConfig,
    Config,
    PromoteRule,
    SourceConfig,
    closest_name,
    find_config,
    load_config,
    unknown_names,
)
from mlreport.errors import ConfigError

FORMATS = ("mlflow", "mlflow-sql", "wandb", "hf")


def load(tmp_path: Path, text: str, formats: tuple[str, ...] = FORMATS) -> Config:
    path = tmp_path / "mlreport.yml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, formats)


def errors(tmp_path: Path, text: str, formats: tuple[str, ...] = FORMATS) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, formats)
    return str(info.value).splitlines()


# -- defaults and overrides ----------------------------------------------------------------------


def test_defaults() -> None:
    c = Config()
    assert (c.title, c.output, c.builder, c.baseline) == ("Model reports", "site", "mkdocs", "champion")
    assert c.include_deleted is False and c.strict is False and c.sources == () and c.promote == ()
    a = ArtifactsConfig()
    assert a.previews is True and a.max_bytes == 5_242_880 and a.max_site_bytes == 209_715_200
    rule = PromoteRule("m")
    assert rule.only_finished is True and rule.version == "sequence" and rule.experiment is None
    assert load_config(None) == Config(base_dir=load_config(None).base_dir)


def test_records_are_frozen() -> None:
    for record in (Config(), ArtifactsConfig(), PromoteRule("m"), SourceConfig("x")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.title = "x"  # type: ignore[union-attr]


def test_overrides_apply_only_what_was_given() -> None:
    c = Config(title="T", include_deleted=True, jobs=3)
    same = c.with_overrides(title=None, include_deleted=None, jobs=None)
    assert same == c
    changed = c.with_overrides(title="U", include_deleted=False, jobs=1, output="")
    assert (changed.title, changed.include_deleted, changed.jobs, changed.output) == ("U", False, 1, "")


# -- finding and reading the file ---------------------------------------------------------------


def test_find_config_prefers_yml_then_yaml_and_skips_folders(tmp_path: Path) -> None:
    assert find_config(tmp_path) is None
    (tmp_path / "mlreport.yml").mkdir()  # a folder of that name is not a config
    assert find_config(tmp_path) is None
    (tmp_path / "mlreport.yaml").write_text("title: b\n")
    assert find_config(tmp_path) == tmp_path / "mlreport.yaml"
    (tmp_path / "mlreport.yml").rmdir()
    (tmp_path / "mlreport.yml").write_text("title: a\n")
    assert find_config(tmp_path) == tmp_path / "mlreport.yml"


def test_unreadable_files_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^cannot read missing\.yml: no such file$"):
        load_config(tmp_path / "missing.yml")
    (tmp_path / "dir.yml").mkdir()
    with pytest.raises(ConfigError, match=r"^cannot read dir\.yml: \[Errno 21\] Is a directory"):
        load_config(tmp_path / "dir.yml")
    (tmp_path / "latin.yml").write_bytes(b"title: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"^cannot read latin\.yml: 'utf-8' codec can't decode byte 0xe9"):
        load_config(tmp_path / "latin.yml")
    (tmp_path / "bad.yml").write_text("title: a\nsources:\n  - [unclosed\n")
    with pytest.raises(ConfigError, match=r"^cannot read bad\.yml: invalid YAML at line 4$"):
        load_config(tmp_path / "bad.yml")
    # a path outside the working folder is shown as given
    outside = tmp_path.parent / f"{tmp_path.name}-missing.yml"
    with pytest.raises(ConfigError, match=f"^cannot read {outside}: no such file$"):
        load_config(outside)


def test_an_empty_file_is_the_defaults_with_its_folder(tmp_path: Path) -> None:
    c = load(tmp_path, "")
    assert c.title == "Model reports" and c.base_dir == tmp_path.resolve() and c.path == tmp_path / "mlreport.yml"


def test_the_top_level_must_be_a_mapping_of_known_keys(tmp_path: Path) -> None:
    assert errors(tmp_path, "- a\n- b\n") == ["mlreport.yml: expected a mapping, found a list"]
    assert errors(tmp_path, "titel: x\nstrict: true\n") == [
        "mlreport.yml: titel: unknown key; did you mean 'title'? (known: " + _known() + ")",
        "mlreport.yml: strict: unknown key (known: " + _known() + ")",
    ]


def _known() -> str:
    return ", ".join(sorted({f.name for f in dataclasses.fields(Config)} - {"base_dir", "path", "strict"}))


# -- each key -----------------------------------------------------------------------------------


def test_text_keys_take_text_and_numbers_but_not_booleans_or_lists(tmp_path: Path) -> None:
    c = load(tmp_path, "title: 2026\noutput: out\nprefix: p/\ntemplates: t\nmkdocs: m.yml\nhistory: h.json\n")
    assert (c.title, c.output, c.prefix, c.templates, c.mkdocs, c.history) == (
        "2026",
        "out",
        "p/",
        "t",
        "m.yml",
        "h.json",
    )
    assert load(tmp_path, "title: null\n").title == "Model reports"
    assert errors(tmp_path, "title: true\noutput: [a]\n") == [
        "mlreport.yml: title: expected a string, found a boolean",
        "mlreport.yml: output: expected a string, found a list",
    ]


def test_site_url_must_be_http(tmp_path: Path) -> None:
    assert load(tmp_path, "site_url: https://x.org/a/\n").site_url == "https://x.org/a/"
    assert load(tmp_path, "site_url: http://x\n").site_url == "http://x"
    assert errors(tmp_path, "site_url: ftp://x\n") == [
        "mlreport.yml: site_url: expected an http(s) URL, found 'ftp://x'"
    ]


def test_booleans_are_true_or_false_only(tmp_path: Path) -> None:
    assert load(tmp_path, "include_deleted: true\n").include_deleted is True
    assert load(tmp_path, "include_deleted: false\n").include_deleted is False
    assert errors(tmp_path, "include_deleted: 1\n") == [
        "mlreport.yml: include_deleted: expected true or false, found a number"
    ]


def test_key_metrics_and_shared_models_take_one_name_or_a_list(tmp_path: Path) -> None:
    c = load(tmp_path, "key_metrics: val_auc\nshared_models: [churn*, 7]\n")
    assert c.key_metrics == ("val_auc",) and c.shared_models == ("churn*", "7")
    assert errors(tmp_path, "key_metrics: {a: 1}\nshared_models: [a, [b]]\n") == [
        "mlreport.yml: key_metrics: expected a list of strings, found a mapping",
        "mlreport.yml: shared_models[1]: expected a string, found a list",
    ]


def test_metric_goals_are_min_or_max(tmp_path: Path) -> None:
    assert load(tmp_path, "metric_goals: {l2.valid: min, auc: max}\n").metric_goals == {"l2.valid": "min", "auc": "max"}
    assert errors(tmp_path, "metric_goals: {a: up}\n") == [
        "mlreport.yml: metric_goals.a: expected min or max, found 'up'"
    ]
    assert errors(tmp_path, "metric_goals: [a]\n") == ["mlreport.yml: metric_goals: expected a mapping, found a list"]
    assert errors(tmp_path, "metric_goals: {a: [min]}\n") == [
        "mlreport.yml: metric_goals.a: expected a string, found a list"
    ]


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("7", 7),
        ("1", 1),
        ("'7'", 7),
        ("2k", 2048),
        ("3KiB", 3072),
        ("64MB", 64 << 20),
        ("' 512 MiB '", 512 << 20),
        ("1gb", 1 << 30),
        ("2TB", 2 << 40),
        ("5B", 5),
    ],
)
def test_sizes(tmp_path: Path, text: str, size: int) -> None:
    c = load(tmp_path, f"max_file_size: {text}\nmax_line_size: {text}\nartifacts: {{max_bytes: {text}}}\n")
    assert c.max_file_size == size and c.max_line_size == size and c.artifacts.max_bytes == size


@pytest.mark.parametrize(
    ("text", "shown"),
    [("0", "'0'"), ("-1", "'-1'"), ("0MB", "'0MB'"), ("1.5GB", "'1.5GB'"), ("lots", "'lots'"), ("true", "a boolean"),
     ("[1]", "a list"), ("2PB", "'2PB'")],
)  # fmt: skip
def test_bad_sizes_are_refused_naming_the_value(tmp_path: Path, text: str, shown: str) -> None:
    assert errors(tmp_path, f"max_record_size: {text}\n") == [
        f"mlreport.yml: max_record_size: expected a size such as 512MB, found {shown}"
    ]


def test_builder_is_a_known_one(tmp_path: Path) -> None:
    assert load(tmp_path, "builder: zensical\n").builder == "zensical"
    assert errors(tmp_path, "builder: mkdoc\n") == [
        "mlreport.yml: builder: unknown builder 'mkdoc'; did you mean 'mkdocs'? "
        "(known: mkdocs, mkdocs-full, zensical, properdocs)"
    ]


def test_baseline_drops_the_at(tmp_path: Path) -> None:
    assert load(tmp_path, "baseline: '@prod'\n").baseline == "prod"
    assert load(tmp_path, "baseline: null\n").baseline == "champion"


@pytest.mark.parametrize("jobs", [1, 2, 64])
def test_jobs_take_a_whole_number_from_1(tmp_path: Path, jobs: int) -> None:
    assert load(tmp_path, f"jobs: {jobs}\n").jobs == jobs


@pytest.mark.parametrize(
    ("text", "shown"), [("0", "0"), ("-3", "-3"), ("true", "True"), ("'2'", "'2'"), ("1.0", "1.0")]
)
def test_bad_jobs(tmp_path: Path, text: str, shown: str) -> None:
    assert errors(tmp_path, f"jobs: {text}\n") == [
        f"mlreport.yml: jobs: expected a whole number of 1 or more, found {shown}"
    ]


def test_scheduler_is_a_dask_address(tmp_path: Path) -> None:
    assert load(tmp_path, "scheduler: tcp://10.0.0.1:8786\n").scheduler == "tcp://10.0.0.1:8786"
    assert load(tmp_path, "scheduler: wss://h\n").scheduler == "wss://h"
    for bad in ("10.0.0.1:8786", "tcp://", "tcp://a b"):
        assert errors(tmp_path, f"scheduler: '{bad}'\n") == [
            f"mlreport.yml: scheduler: expected a Dask scheduler address like tcp://host:8786, found '{bad}'"
        ]


def test_cache_dir(tmp_path: Path) -> None:
    assert load(tmp_path, "cache_dir: .cache\n").cache_dir == ".cache"


# -- sources ------------------------------------------------------------------------------------


def test_sources_take_a_path_or_a_mapping(tmp_path: Path) -> None:
    c = load(
        tmp_path,
        "sources:\n  - mlruns\n  - path: s3://b/x\n    format: mlflow-sql\n    label: Prod\n"
        "    storage_options: {anon: true}\n",
    )
    assert c.sources == (
        SourceConfig("mlruns"),
        SourceConfig("s3://b/x", "mlflow-sql", {"anon": True}, "Prod"),
    )
    assert load(tmp_path, "sources: mlruns\n").sources == (SourceConfig("mlruns"),)
    # without known formats (before the readers are loaded) any format is taken as given
    assert load(tmp_path, "sources: [{path: x, format: acme}]\n", ()).sources == (SourceConfig("x", "acme"),)


def test_every_bad_source_is_reported_and_the_good_ones_kept(tmp_path: Path) -> None:
    lines = errors(
        tmp_path,
        "sources:\n  - path: a\n    formt: mlflow\n  - format: wandb\n  - path: b\n    format: mlfow\n"
        "  - path: c\n    storage_options: [x]\n  - path: d\n    label: [x]\n  - 7\n  - path: e\n    format: zz\n",
    )
    assert lines == [
        "mlreport.yml: sources[0].formt: unknown key; did you mean 'format'? (known: format, label, path, storage_options)",
        "mlreport.yml: sources[1]: missing key 'path'",
        "mlreport.yml: sources[2].format: unknown format 'mlfow'; did you mean 'mlflow'? (known: mlflow, mlflow-sql, wandb, hf)",
        "mlreport.yml: sources[3].storage_options: expected a mapping, found a list",
        "mlreport.yml: sources[4].label: expected a string, found a list",
        "mlreport.yml: sources[5]: expected a mapping, found a number",
        "mlreport.yml: sources[6].format: unknown format 'zz' (known: mlflow, mlflow-sql, wandb, hf)",
    ]


# -- artifacts ----------------------------------------------------------------------------------


def test_artifacts_keys(tmp_path: Path) -> None:
    a = load(tmp_path, "artifacts: {previews: false, max_bytes: 1MB, max_site_bytes: 2GB}\n").artifacts
    assert a == ArtifactsConfig(previews=False, max_bytes=1 << 20, max_site_bytes=2 << 30)
    only_site = load(tmp_path, "artifacts: {max_site_bytes: 3MB}\n").artifacts
    assert only_site == ArtifactsConfig(max_site_bytes=3 << 20)
    only_bytes = load(tmp_path, "artifacts: {max_bytes: 3MB, max_site_bytes: null}\n").artifacts
    assert only_bytes == ArtifactsConfig(max_bytes=3 << 20)
    assert load(tmp_path, "artifacts: null\n").artifacts == ArtifactsConfig()


def test_each_bad_artifacts_key_is_reported(tmp_path: Path) -> None:
    assert errors(tmp_path, "artifacts: {preview: true, previews: 1, max_bytes: 0, max_site_bytes: x}\n") == [
        "mlreport.yml: artifacts.preview: unknown key; did you mean 'previews'? (known: max_bytes, max_site_bytes, previews)",
        "mlreport.yml: artifacts.previews: expected true or false, found a number",
        "mlreport.yml: artifacts.max_bytes: expected a size such as 512MB, found '0'",
        "mlreport.yml: artifacts.max_site_bytes: expected a size such as 512MB, found 'x'",
    ]
    assert errors(tmp_path, "artifacts: [1]\n") == ["mlreport.yml: artifacts: expected a mapping, found a list"]


# -- promotion rules ----------------------------------------------------------------------------


def test_promote_rules(tmp_path: Path) -> None:
    c = load(
        tmp_path,
        "promote:\n  - model: churn\n    experiment: 'churn-*'\n    tags: {stage: '*'}\n    params: {lr: 0.1}\n"
        "    version: run_name\n    only_finished: false\n  - model: other\n",
    )
    assert c.promote == (
        PromoteRule("churn", "churn-*", {"stage": "*"}, {"lr": "0.1"}, "run_name", False),
        PromoteRule("other"),
    )
    assert c.promote[1].only_finished is True


def test_bad_promote_rules(tmp_path: Path) -> None:
    assert errors(tmp_path, "promote: {model: x}\n") == [
        "mlreport.yml: promote: expected a list of rules, found a mapping"
    ]
    assert errors(
        tmp_path,
        "promote:\n  - {model: a, modle: b}\n  - {experiment: x}\n  - {model: a, version: latest}\n"
        "  - {model: a, only_finished: yes please}\n  - {model: a, tags: [x]}\n",
    ) == [
        "mlreport.yml: promote[0].modle: unknown key; did you mean 'model'? "
        "(known: experiment, model, only_finished, params, tags, version)",
        "mlreport.yml: promote[1]: missing key 'model'",
        "mlreport.yml: promote[2].version: expected one of sequence, run_name, run_id, found 'latest'",
        "mlreport.yml: promote[3].only_finished: expected true or false, found a string",
        "mlreport.yml: promote[4].tags: expected a mapping, found a list",
    ]


def test_all_errors_of_a_file_come_at_once(tmp_path: Path) -> None:
    lines = errors(tmp_path, "title: [x]\njobs: 0\nbuilder: x\nsources: [{}]\npromote: 3\n")
    assert [line.split(":")[1].strip() for line in lines] == ["sources[0]", "title", "builder", "jobs", "promote"]


# -- names -----------------------------------------------------------------------------------------


def test_closest_name() -> None:
    assert closest_name("val_acc", ["val_auc", "val_loss", "train_acc"]) == "val_auc"
    assert closest_name("zzz", ["val_auc"]) is None
    assert closest_name("ab", ["abcdef"]) is None  # ratio 0.5: under the cutoff
    assert closest_name("abc", ["abcd", "abcd"]) == "abcd"


def _catalog(**parts: Any) -> Any:
    run = SimpleNamespace(metrics=[SimpleNamespace(key="loss")], tags={"team": "a"}, params={"lr": "1"})
    version = SimpleNamespace(metrics=[SimpleNamespace(key="card_f1"), SimpleNamespace(key="loss")])
    defaults = {"runs": [run], "versions": [version], "experiments": [SimpleNamespace(name="churn-1")]}
    return SimpleNamespace(**{**defaults, **parts})


def test_unknown_names_are_warnings_with_the_closest(tmp_path: Path) -> None:
    config = Config(
        key_metrics=("loss", "card_f1", "los"),
        metric_goals={"card_f1": "max", "lss": "min"},
        promote=(PromoteRule("m", experiment="churn-*", tags={"team": "*", "teem": "*"}, params={"lr": "*", "zz": "*"}),
                 PromoteRule("n", experiment="fraud-*")),
        path=tmp_path / "mlreport.yml",
    )  # fmt: skip
    assert unknown_names(config, _catalog()) == [
        "mlreport.yml: key_metrics[2]: no metric 'los' in any run; did you mean 'loss'?",
        "mlreport.yml: metric_goals.lss: no metric 'lss' in any run; did you mean 'loss'?",
        "mlreport.yml: promote[0].tags.teem: no run has the tag 'teem'; did you mean 'team'?",
        "mlreport.yml: promote[0].params.zz: no run has the param 'zz'",
        "mlreport.yml: promote[1].experiment: no experiment matches 'fraud-*'",
    ]
    assert unknown_names(Config(key_metrics=("x",)), _catalog()) == ["config: key_metrics[0]: no metric 'x' in any run"]


def test_unknown_names_check_the_gates_unless_told_not_to(tmp_path: Path) -> None:
    config = load(tmp_path, "gates: [{metric: los, max: 1}]\n")
    catalog = _catalog(models=[], logged_models=[])
    assert unknown_names(config, catalog) == ["mlreport.yml: gates[0].metric: no run logs 'los'; did you mean 'loss'?"]
    assert unknown_names(config, catalog, gates=False) == []
