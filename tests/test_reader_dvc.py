"""The DVC / dvclive reader against fixtures written by dvc, dvclive and gto (tests/data/dvc/)."""

from __future__ import annotations

import dataclasses
import html
import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mlreport.model import (
    Dataset,
    DatasetRef,
    Experiment,
    LoggedModel,
    ModelVersion,
    Problem,
    Record,
    RegisteredModel,
    Run,
    RunStatus,
)
from mlreport.readers import ReadOptions
from mlreport.readers.dvc import DvcReader
from mlreport.stores import open_store

DATA = Path(__file__).resolve().parent / "data" / "dvc"
CASES = [
    "pipeline", "nested", "live_dvcyaml", "old_dvclive", "templated",
    "broken_yaml", "missing_metrics", "stale_lock", "bad_tsv",
]
MODEL_MD5 = {  # models/model.json per commit of pipeline.bundle
    "c1": "f4075542c83add0c519def1d9f2a9237",
    "c2": "fa7ec4912210d188c6ce80d407bde8f9",
    "c3": "15e67aa71cc066f46c8dcd5bd51f6717",
}
C1 = "b3096bf9e3eafd1408a5b82659ffa4933941b6d0"
C2 = "84a68871fb6eba3c4e62f1a7413e7f64642a219a"
C3 = "e5a0fc75b5c5ecf44aa60c8607c56fa14600a764"
EXP = "93624c4d1b4a1f4650876c6f9b5da4ebc7ba845a"
RAW = "data/raw.csv@6f541272252224d234b976cd6d507f4b"
PREPARED = "data/prepared@572d5d6c6aca16471e0ac34916d4aa9b.dir"
_prefixes = itertools.count()

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def read(source: str | Path, **options: object) -> list[Record]:
    store = open_store(str(source))
    return list(DvcReader().read(store, "", ReadOptions(**options)))  # type: ignore[arg-type]


def of(records: list[Record], kind: type) -> list:  # type: ignore[type-arg]
    return [r for r in records if isinstance(r, kind)]


def runs(records: list[Record]) -> dict[str, Run]:
    return {r.key: r for r in of(records, Run)}


def reasons(records: list[Record]) -> list[tuple[str, str]]:
    return [(p.origin.path, p.reason) for p in of(records, Problem)]


def to_memory(local: Path, name: str) -> str:
    """Upload a folder to memory://<unique>/<name> (the last part names the project)."""
    import fsspec

    fs = fsspec.filesystem("memory")
    prefix = f"/mlreport-dvc-{os.getpid()}-{next(_prefixes)}/{name}"
    for dirpath, dirs, files in os.walk(local):
        dirs[:] = [d for d in dirs if d != ".git"]
        for f in files:
            p = Path(dirpath) / f
            fs.pipe_file(f"{prefix}/{p.relative_to(local).as_posix()}", p.read_bytes())
    return f"memory://{prefix}"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """pipeline.bundle restored with every ref (refs/exps too), main checked out."""
    target = tmp_path / "pipeline"
    target.mkdir()
    git(target, "init", "-q")
    git(target, "fetch", "-q", str(DATA / "pipeline.bundle"), "+refs/*:refs/*")
    git(target, "checkout", "-q", "main")
    return target


def snapshot(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


# -- detect


@pytest.mark.parametrize("case", CASES)
def test_detect_fixture_cases(case: str) -> None:
    assert DvcReader().detect(open_store(str(DATA / case)), "")


def test_detect_rejects_other_folders(tmp_path: Path) -> None:
    assert not DvcReader().detect(open_store(str(DATA)), "")
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "metrics.json").write_text("{}")
    assert not DvcReader().detect(open_store(str(tmp_path)), "")
    assert DvcReader().detect(open_store(str(DATA / "nested")), "dvclive")
    assert DvcReader().detect(open_store(str(DATA / "old_dvclive")), "")


# -- pipeline, work-tree mode


def test_pipeline_work_tree() -> None:
    records = read(DATA / "pipeline")
    assert reasons(records) == []
    [exp] = of(records, Experiment)
    assert (exp.key, exp.name) == ("dvc-project:.", "pipeline")
    by_key = runs(records)
    assert list(by_key) == ["dvc:workspace"]  # one pipeline run; its stages are rows of it
    ws = by_key["dvc:workspace"]
    assert ws.status is RunStatus.FINISHED
    assert ws.experiment_key == "dvc-project:."
    assert dict(ws.params) == {
        "prepare.split": "0.25", "train.epochs": "4", "train.lr": "0.05",
        "train.model.layers": "2", "dvclive/params.yaml:epochs": "4",
        "dvclive/params.yaml:lr": "0.05", "dvclive/params.yaml:model.layers": "2",
    }
    finals = {m.key: (m.final, m.final_step, m.count) for m in ws.metrics}
    assert finals == {
        "acc": (0.99, 3, 4), "best_acc": (0.99, 3, 1), "test/acc": (0.8, 0, 1),
        "test/loss": (0.2, 0, 1), "train/loss": (0.4, 3, 4),
    }
    loss = ws.metric("train/loss")
    assert loss is not None and loss.history is not None
    assert list(loss.history.steps) == [0, 1, 2, 3]
    assert all(t > 1_700_000_000_000 for t in loss.history.timestamps)  # epoch ms
    acc = ws.metric("acc")
    assert acc is not None and acc.history is not None
    assert list(acc.history.timestamps) == [-1, -1, -1, -1]  # logged without timestamp=True
    assert ws.start_time == loss.history.timestamps[0]
    assert ws.end_time == loss.history.timestamps[-1]
    assert ws.inputs == (DatasetRef(RAW, "prepare"),)
    model_key = f"dvc-model:models/model.json@{MODEL_MD5['c3']}"
    assert ws.output_model_keys == (model_key,)
    assert [(a.path, a.size) for a in ws.artifacts] == [
        ("data/prepared", 32), ("eval/metrics.json", 35), ("models/model.json", 25),
    ]
    assert ws.tags["dvclive.dir"] == "dvclive"

    assert [s.name for s in ws.stages] == ["prepare", "train", "evaluate"]  # in run order
    assert ws.produced == (DatasetRef(PREPARED),)
    prepare, train, evaluate = ws.stages
    assert dict(train.params) == {
        "train.epochs": "4", "train.lr": "0.05", "train.model.layers": "2",
    }
    assert train.inputs == (DatasetRef(PREPARED),)
    assert train.output_model_keys == (model_key,)
    assert train.command == "python src/train.py"
    assert train.upstream == ("prepare",)
    assert train.tags["dvc.code:src/train.py"] == "9a5428cc448e37c038223bfb9a7457c6"
    assert prepare.produced == (DatasetRef(PREPARED),) and prepare.upstream == ()
    assert evaluate.upstream == ("prepare", "train")
    assert evaluate.tags["dvc.model:models/model.json"] == MODEL_MD5["c3"]
    # metrics on the stage that produced them (the run lists every metric)
    assert {m.key: m.final for m in evaluate.metrics} == {"test/acc": 0.8, "test/loss": 0.2}
    assert train.metrics == ()  # dvclive's metrics are declared at the top level, by no stage

    assert [(d.key, d.digest, d.profile) for d in of(records, Dataset)] == [
        (PREPARED, "572d5d6c6aca16471e0ac34916d4aa9b.dir", '{"nfiles": 2, "size": 32}'),
        (RAW, "6f541272252224d234b976cd6d507f4b", '{"size": 32}'),
    ]
    [lm] = of(records, LoggedModel)
    assert (lm.key, lm.id, lm.name, lm.run_key) == (
        model_key, MODEL_MD5["c3"], "demo-model", "dvc:workspace",
    )
    assert dict(lm.tags) == {
        "dvc.desc": "demo classifier", "dvc.labels": "cv,demo", "dvc.path": "models/model.json",
        "meta.framework": "none",
    }
    [rm] = of(records, RegisteredModel)
    assert (rm.name, rm.description, dict(rm.aliases)) == ("demo-model", "demo classifier", {})
    assert rm.tags["dvc.type"] == "model"
    [mv] = of(records, ModelVersion)
    assert (mv.model, mv.version, mv.run_key, mv.logged_model_key, mv.stage) == (
        "demo-model", "15e67aa7", "dvc:workspace", model_key, None,
    )


def test_history_option_drops_arrays_keeps_summary() -> None:
    ws = runs(read(DATA / "pipeline", history=False))["dvc:workspace"]
    loss = ws.metric("train/loss")
    assert loss is not None
    assert loss.history is None
    assert (loss.final, loss.count, loss.minimum) == (0.4, 4, 0.4)


# -- pipeline, git mode


@needs_git
def test_git_mode_commits_experiments_and_gto(repo: Path) -> None:
    before = snapshot(repo)
    records = read(repo)
    assert snapshot(repo) == before  # git ran read-only: no index refresh, no new files
    assert reasons(records) == []
    [exp] = of(records, Experiment)
    assert exp.created == 1793613600000  # first commit that ran the pipeline
    by_key = runs(records)
    assert list(by_key) == [f"dvc:{C1}", f"dvc:{C2}", f"dvc:{C3}", f"dvc:{EXP}"]  # 4 pipeline runs
    assert all([s.name for s in r.stages] == ["prepare", "train", "evaluate"] for r in by_key.values())
    c1 = by_key[f"dvc:{C1}"]
    assert (c1.name, c1.user, c1.start_time, c1.description) == (
        C1[:7], "Ada Example", 1793613600000, "Train lr=0.01 epochs=3",
    )
    assert c1.git.commit == C1
    assert (c1.params["train.lr"], c1.params["train.epochs"]) == ("0.01", "3")
    assert {m.key: m.count for m in c1.metrics}["train/loss"] == 3
    assert by_key[f"dvc:{C3}"].metric("train/loss").count == 4  # type: ignore[union-attr]
    e = by_key[f"dvc:{EXP}"]
    assert e.name == "exp-lr01"
    assert dict(e.tags) == {
        "dvc.exp.baseline": C3, "dvc.exp.name": "exp-lr01", "dvclive.dir": "dvclive",
    }
    assert e.params["train.lr"] == "0.1"

    models = {m.key: m.run_key for m in of(records, LoggedModel)}
    assert models[f"dvc-model:models/model.json@{MODEL_MD5['c1']}"] == f"dvc:{C1}"
    assert len(models) == 4  # one per distinct model md5, the experiment's included
    assert len(of(records, Dataset)) == 2  # the data never changed: deduplicated across commits

    [rm] = of(records, RegisteredModel)
    assert dict(rm.aliases) == {"prod": "v1.1.0", "staging": "v1.0.0"}
    versions = [
        (v.version, v.stage, v.aliases, v.run_key, v.logged_model_key, v.user, v.tags["gto.tag"])
        for v in of(records, ModelVersion)
    ]
    assert versions == [
        ("v1.0.0", "staging", ("staging",), f"dvc:{C1}",
         f"dvc-model:models/model.json@{MODEL_MD5['c1']}", "Ada Example", "demo-model@v1.0.0"),
        ("v1.1.0", "prod", ("prod",), f"dvc:{C2}",
         f"dvc-model:models/model.json@{MODEL_MD5['c2']}", "Ada Example", "demo-model@v1.1.0"),
    ]


@needs_git
def test_git_mode_stage_on_unregistered_commit_and_dirty_work_tree(repo: Path) -> None:
    git(repo, "tag", "-a", "demo-model#dev", C3, "-m", "Assigning stage dev")
    lock = repo / "dvc.lock"
    lock.write_text(lock.read_text().replace("size: 25", "size: 26"))
    records = read(repo)
    by_version = {v.version: v for v in of(records, ModelVersion)}
    assert sorted(by_version) == ["15e67aa7", "v1.0.0", "v1.1.0"]
    dev = by_version["15e67aa7"]
    assert (dev.stage, dev.run_key) == ("dev", f"dvc:{C3}")
    [rm] = of(records, RegisteredModel)
    assert dict(rm.aliases) == {"dev": "15e67aa7", "prod": "v1.1.0", "staging": "v1.0.0"}
    ws = runs(records)["dvc:workspace"]
    assert (ws.git.commit, ws.git.dirty) == (C3, True)
    assert ws.tags["dvc.baseline"] == C3


@needs_git
def test_git_mode_only_for_local_stores(repo: Path) -> None:
    records = read(to_memory(repo, "pipeline"))
    assert [k for k, r in runs(records).items() if r.parent_key is None] == ["dvc:workspace"]
    assert [v.version for v in of(records, ModelVersion)] == ["15e67aa7"]


def test_folder_inside_another_repo_is_read_as_work_tree() -> None:
    # tests/data/dvc/pipeline sits inside this project's own git repository
    records = read(DATA / "pipeline")
    assert "dvc:workspace" in runs(records)


# -- templating, dvclive layouts


def test_templated_foreach_vars_and_stale_entry() -> None:
    records = read(DATA / "templated")
    assert reasons(records) == [
        (
            "dvc.lock",
            "stage 'split@platypus.jsonl' in dvc.lock is not in dvc.yaml (stale lock entry)",
        ),
    ]
    by_key = runs(records)
    assert sorted(by_key) == ["dvc:workspace"]
    ws = by_key["dvc:workspace"]
    stages = {s.name: s for s in ws.stages}
    assert [s.name for s in ws.stages] == [
        "split@identity.jsonl", "split@orca.jsonl", "convert@small", "split@platypus.jsonl", "train",
    ]  # each stage after the ones it reads from, ties by name
    assert stages["split@platypus.jsonl"].tags["dvc.stale"] == "true"
    assert "dvc.stale" not in stages["split@orca.jsonl"].tags
    assert stages["train"].upstream == ("convert@small",)
    assert stages["train"].command == "python src/train.py --missing ${nowhere.to.be.found}"
    assert dict(ws.params) == {
        "data.val_size": "0.2", "train.epochs": "2", "train.model_size": "7b",
    }
    # external inputs only: split outputs feed convert, stale entries do not count
    assert [(r.dataset_key, r.context) for r in ws.inputs] == [
        ("data/raw/identity.jsonl@a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "split@identity.jsonl"),
        ("data/raw/orca.jsonl@d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4", "split@orca.jsonl"),
        ("data/split@b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8.dir", "convert@small"),
        ("models/Llama-2-7b-chat-hf@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.dir", "train"),
    ]
    assert len(of(records, Dataset)) == 10


def test_expand_stages_unit() -> None:
    from mlreport.readers.dvc import _expand_stages

    stages = {
        "a": {"foreach": [1, 2], "do": {"cmd": "run ${item} ${x.y} ${nope}"}},
        "b": {"foreach": {"k1": {"f": "v1"}}, "do": {"cmd": "${key}=${item.f}"}},
        "c": {"matrix": {"m": ["p", "q"], "n": [3]}, "cmd": "${item.m}${item.n}"},
        "d": {"foreach": "${missing}", "do": {"cmd": "x"}},
    }
    out, unexpanded = _expand_stages(stages, {"x": {"y": 7}})
    assert {k: v.get("cmd") for k, v in out.items()} == {
        "a@1": "run 1 7 ${nope}", "a@2": "run 2 7 ${nope}", "b@k1": "k1=v1",
        "c@p-3": "p3", "c@q-3": "q3", "d": None,  # left as written: foreach, do
    }
    assert unexpanded == {"d"}


def test_nested_dvclive_dirs_are_runs() -> None:
    records = read(DATA / "nested")
    assert reasons(records) == []
    by_key = runs(records)
    assert list(by_key) == [
        "dvc:workspace", "dvc:workspace:dvclive/fold_0", "dvc:workspace:dvclive/fold_1",
    ]
    ws = by_key["dvc:workspace"]
    assert ws.status is RunStatus.UNKNOWN
    assert dict(ws.params) == {"folds": "2"}
    assert {m.key: (m.final, m.count) for m in ws.metrics} == {
        "eval/loss": (pytest.approx(0.7), 3), "train/loss": (0.5, 3),
    }
    fold1 = by_key["dvc:workspace:dvclive/fold_1"]
    assert (fold1.name, fold1.parent_key, dict(fold1.params)) == (
        "dvclive/fold_1", "dvc:workspace", {"fold": "1"},
    )
    assert {m.key: m.count for m in fold1.metrics} == {"train/loss": 3}
    assert {m.key: m.count for m in by_key["dvc:workspace:dvclive/fold_0"].metrics} == {
        "train/loss": 2
    }


def test_old_dvclive_layout() -> None:
    records = read(DATA / "old_dvclive")
    assert reasons(records) == []
    [ws] = of(records, Run)
    assert dict(ws.params) == {"lr": "0.1"}
    finals = {m.key: (m.final, m.final_step, m.count) for m in ws.metrics}
    assert finals == {"acc": (0.7, 2, 3), "train/loss": (0.3333333333333333, 2, 3)}
    acc = ws.metric("acc")
    assert acc is not None and acc.history is not None
    assert all(t > 1_700_000_000_000 for t in acc.history.timestamps)
    assert ws.start_time is not None and ws.end_time is not None
    assert ws.start_time <= ws.end_time


# -- broken stores


def test_broken_yaml_still_reads_the_lock() -> None:
    records = read(DATA / "broken_yaml")
    assert reasons(records) == [
        ("dvc.yaml", "invalid YAML at line 5: did not find expected ',' or ']'"),
    ]
    by_key = runs(records)
    assert sorted(by_key) == ["dvc:workspace"]
    assert dict(by_key["dvc:workspace"].params) == {"lr": "0.1"}
    assert [(s.name, s.inputs) for s in by_key["dvc:workspace"].stages] == [
        ("train", (DatasetRef("data.csv@0123456789abcdef0123456789abcdef"),)),
    ]
    assert of(records, RegisteredModel) == []


def test_missing_and_invalid_metrics_files() -> None:
    records = read(DATA / "missing_metrics")
    assert reasons(records) == [
        ("eval/summary.yaml", "declared metrics file is missing"),
        (
            "eval/metrics.json",
            "invalid JSON at line 1: expecting property name enclosed in double quotes",
        ),
    ]
    [ws] = of(records, Run)
    assert [(m.key, m.final) for m in ws.metrics] == [("f1", 0.5)]  # the string value is skipped
    assert ws.status is RunStatus.UNKNOWN  # no dvc.lock: nothing says a stage ran


def test_stale_lock_entry_is_read_and_flagged() -> None:
    records = read(DATA / "stale_lock")
    [problem] = of(records, Problem)
    assert problem.reason == "stage 'featurize' in dvc.lock is not in dvc.yaml (stale lock entry)"
    assert problem.severity.value == "warning"
    assert problem.origin.path == "dvc.lock"
    by_key = runs(records)
    assert {s.name: s.tags.get("dvc.stale") for s in by_key["dvc:workspace"].stages} == {
        "featurize": "true", "train": None,
    }
    assert by_key["dvc:workspace"].inputs == (
        DatasetRef("data.csv@1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e", "train"),
    )
    # the stale entry's out is still an artifact: it was written and recorded (fuzz finding F2)
    assert [a.path for a in by_key["dvc:workspace"].artifacts] == ["data.csv", "model.bin"]


def test_tsv_with_garbage_row() -> None:
    records = read(DATA / "bad_tsv")
    assert reasons(records) == [
        ("dvclive/plots/metrics/loss.tsv", "1 row(s) are not numbers (line 3); skipped"),
    ]
    [ws] = of(records, Run)
    loss = ws.metric("loss")
    assert loss is not None and loss.history is not None
    assert (list(loss.history.steps), list(loss.history.values)) == ([0, 2], [1.0, 0.25])


# -- the same through memory://


def _without_store(record: Record) -> Record:
    origin = dataclasses.replace(record.origin, store="")
    return dataclasses.replace(record, origin=origin)


@pytest.mark.parametrize("case", CASES)
def test_memory_store_reads_the_same(case: str) -> None:
    local = [_without_store(r) for r in read(DATA / case)]
    remote_url = to_memory(DATA / case, case)
    remote = read(remote_url)
    assert all(r.origin.store == remote_url for r in remote)
    assert [_without_store(r) for r in remote] == local
    assert local  # every case yields records


# -- hostile input (issue 11): each is a Problem in fixed time and memory, the rest is read


def _laughs_yaml(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


_LOCK = "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n    - {path: model.bin, md5: 0123456789abcdef0123456789abcdef, size: 3}\n"


@pytest.mark.parametrize(
    ("dvc_yaml", "params", "reason"),
    [
        (
            _laughs_yaml() + "stages:\n  s:\n    foreach: ${a8}\n    do:\n      cmd: echo ${item}\n",
            "",
            "refused: YAML aliases expand to more than 1,000,000 nodes",
        ),
        (
            "stages:\n  s:\n    matrix:\n" + "".join(f"      x{i}: [1,2,3,4,5,6,7,8,9,10]\n" for i in range(9)) + "    cmd: echo\n",
            "",
            "refused: foreach/matrix expand to more than 10,000 stages; the pipeline is read from dvc.lock alone",
        ),
        (
            "stages:\n  s:\n    foreach: [" + ",".join(map(str, range(2000))) + "]\n    do:\n      cmd: '" + "${x}" * 1000 + "'\n",
            "x: " + "a" * 100_000 + "\n",
            "refused: templating expands to more than 50,000,000 characters; the pipeline is read from dvc.lock alone",
        ),
        ("stages: {s: {cmd: " + "[" * 300 + "]" * 300 + "}}\n", "", "refused: nested deeper than 200 levels"),
    ],
    ids=["billion-laughs", "matrix-product", "string-growth", "deep"],
)
def test_template_and_yaml_bombs_are_one_problem(tmp_path: Path, dvc_yaml: str, params: str, reason: str) -> None:
    import tracemalloc

    (tmp_path / "dvc.yaml").write_text(dvc_yaml)
    (tmp_path / "dvc.lock").write_text(_LOCK)
    if params:
        (tmp_path / "params.yaml").write_text(params)
    tracemalloc.start()
    try:
        records = read(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reasons(records) == [("dvc.yaml", reason)]
    assert peak < 300 * 2**20
    # dvc.lock is still read: the stage that ran and its output
    assert [a.path for a in runs(records)["dvc:workspace"].artifacts] == ["model.bin"]


def test_hostile_tsv_and_json_are_problems(tmp_path: Path) -> None:
    live = tmp_path / "dvclive"
    (live / "plots" / "metrics").mkdir(parents=True)
    (live / "metrics.json").write_text('{"acc": 1, "deep": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (live / "plots" / "metrics" / "acc.tsv").write_bytes(
        b"step\tacc\n0\t0.5\n1\x00\t0.6\n" + b"9" * 5000 + b"\t1\n1e300\t1\n2\t0.75\n"
    )
    (live / "plots" / "metrics" / "bad.tsv").write_bytes(b'step\tbad\n0\t"' + b"x" * 200_000 + b"\n")
    (live / "plots" / "metrics" / "utf.tsv").write_bytes(b"step\tutf\n0\t\xff\xfe\n1\t2\n")
    records = read(tmp_path)
    assert reasons(records) == [
        ("dvclive/metrics.json", "refused: JSON nested too deep"),
        ("dvclive/plots/metrics/acc.tsv", "3 row(s) are not numbers (line 3, 4, 5); skipped"),
        ("dvclive/plots/metrics/bad.tsv", "1 row(s) are not numbers (line 2); skipped"),
        ("dvclive/plots/metrics/utf.tsv", "1 row(s) are not numbers (line 2); skipped"),
    ]
    ws = runs(records)["dvc:workspace"]
    acc = ws.metric("acc")
    assert acc is not None and acc.history is not None
    assert list(acc.history.steps) == [0, 2]


def test_an_unexpected_fault_in_one_stage_keeps_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlreport.readers import dvc

    (tmp_path / "dvc.lock").write_text(
        _LOCK + "  eval:\n    cmd: python eval.py\n    params: {params.yaml: {boom: 1}}\n"
    )
    real = dvc._lock_params

    def planted(params: object) -> dict[str, str]:
        if isinstance(params, dict) and "boom" in str(params):
            raise OverflowError("planted")
        return real(params)

    monkeypatch.setattr(dvc, "_lock_params", planted)
    records = read(tmp_path)
    assert reasons(records) == [("dvc.lock", "stage 'eval': cannot read: OverflowError: planted")]
    assert [s.name for s in runs(records)["dvc:workspace"].stages] == ["train"]


def test_run_order_puts_each_stage_after_its_upstream() -> None:
    from mlreport.model import Stage
    from mlreport.readers.dvc import _run_order

    stages = [Stage("a", upstream=("c",)), Stage("b"), Stage("c", upstream=("b",)), Stage("x", upstream=("x",))]
    assert [s.name for s in _run_order(stages)] == ["b", "c", "a", "x"]  # a cycle falls back to name order


def test_the_run_page_lists_the_stages() -> None:
    from mlreport.catalog import read_catalog
    from mlreport.config import Config, SourceConfig
    from mlreport.render.pages import render_site

    catalog = read_catalog(Config(sources=(SourceConfig(str(DATA / "pipeline")),)))
    pages = render_site(catalog, Config())
    (page,) = [p for p in pages if getattr(p, "url", None) == "runs/workspace/"]
    section = page.body.split('id="stages"', 1)[1].split("<h2", 1)[0]
    rows = json.loads(html.unescape(section.split('data-rows="', 1)[1].split('"', 1)[0]))
    assert [[cell[0] for cell in row] for row in rows] == [
        ["prepare", "python src/prepare.py", "data/raw.csv", "data/prepared", "", ""],
        ["train", "python src/train.py", "data/prepared", "models/model.json", "", "prepare"],
        ["evaluate", "python src/evaluate.py", "data/prepared", "eval/metrics.json", "test/acc 0.8; test/loss 0.2",
         "prepare, train"],
    ]


def test_a_dvclive_dvc_yaml_declares_artifacts_and_plots() -> None:
    """Written by dvclive 3.49.1 with dvcyaml="dvclive/dvc.yaml" in a DVC project (make_fixtures.py)."""
    records = read(DATA / "live_dvcyaml")
    assert reasons(records) == []
    [lm] = of(records, LoggedModel)
    assert (lm.key, lm.name, lm.run_key, lm.artifact_uri) == (
        "dvc-model:models/model.pt@63f4f1e9b725370f459720575cd5f953", "tiny-model", "dvc:workspace", "models/model.pt",
    )
    [rm] = of(records, RegisteredModel)
    assert (rm.name, rm.description, rm.tags["dvc.path"]) == ("tiny-model", "a tiny model", "models/model.pt")
    [ws] = of(records, Run)
    assert ws.output_model_keys == (lm.key,)
    assert [(a.path, a.note) for a in ws.artifacts] == [
        ("dvclive/plots/sklearn/cm.json", 'DVC plot: confusion, predicted vs actual, "Confusion Matrix"'),
    ]
    assert [m.key for m in ws.metrics] == ["acc", "train/loss"]  # plots/metrics are histories, not plot files


def test_the_projects_dvc_yaml_declaration_wins_over_a_dvclive_one(tmp_path: Path) -> None:
    # the same artifact name in dvc.yaml and dvclive/dvc.yaml: the project's own file is the one
    # a user edits; the nested one (rewritten by every Live run) only fills in what it lacks
    project = tmp_path / "p"
    shutil.copytree(DATA / "live_dvcyaml", project)
    (project / "dvc.yaml").write_text(
        "artifacts:\n  tiny-model:\n    path: models/model.pt\n    type: model\n    desc: the project's word\n"
    )
    records = read(project)
    assert reasons(records) == []
    [rm] = of(records, RegisteredModel)
    assert (rm.name, rm.description) == ("tiny-model", "the project's word")


def test_a_declared_plot_folder_lists_its_images_as_images(tmp_path: Path) -> None:
    (tmp_path / "plots" / "img").mkdir(parents=True)
    (tmp_path / "plots" / "img" / "roc.png").write_bytes(b"\x89PNG")
    (tmp_path / "plots" / "img" / "points.json").write_text('[{"x": 1, "y": 2}]')
    (tmp_path / "dvc.yaml").write_text("plots:\n  - plots/img:\n      x: x\n      y: y\n")
    records = read(tmp_path)
    assert reasons(records) == []
    [ws] = of(records, Run)
    assert [(a.path, a.note) for a in ws.artifacts] == [
        ("plots/img/points.json", "DVC plot: y vs x"), ("plots/img/roc.png", "DVC plot image"),
    ]


def test_plot_note_says_what_a_plot_is() -> None:
    from mlreport.readers.dvc import _plot_note

    assert _plot_note({}) == "DVC plot"
    assert _plot_note({"x": "step"}) == "DVC plot: over step"
    assert _plot_note({"template": "linear", "x": "epoch", "y": ["acc", "loss"]}) == (
        'DVC plot: linear, ["acc", "loss"] vs epoch'
    )


def test_one_damaged_tsv_line_costs_only_itself(tmp_path: Path) -> None:
    """Fuzz finding F1: a bare CR, a stray quote or a duplicated chunk in one line."""
    live = tmp_path / "dvclive"
    (live / "plots" / "metrics").mkdir(parents=True)
    (live / "metrics.json").write_text('{"acc": 0.7}')
    (live / "plots" / "metrics" / "acc.tsv").write_bytes(
        b'step\tacc\n0\t0.5\n1\t1\r0.2\n2\t"0.6\n3\t0.7\t0.7\n4\t0.75\n'
    )
    records = read(tmp_path)
    assert reasons(records) == [("dvclive/plots/metrics/acc.tsv", "3 row(s) are not numbers (line 3, 4, 5); skipped")]
    acc = runs(records)["dvc:workspace"].metric("acc")
    assert acc is not None and acc.history is not None
    assert (list(acc.history.steps), list(acc.history.values)) == ([0, 4], [0.5, 0.75])


def _number_paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _number_paths(v, (*prefix, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _number_paths(v, (*prefix, i))]
    return [prefix] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def _shape(records: list[Record]) -> dict[tuple[str, str], int]:
    """(run, metric) -> how many points: what must survive a value out of the float range."""
    return {(r.key, m.key): m.count for r in of(records, Run) for m in r.metrics}


@pytest.mark.parametrize("case", ["nested", "live_dvcyaml", "old_dvclive", "missing_metrics", "bad_tsv", "pipeline"])
def test_a_number_past_the_float_range_in_any_json_costs_nothing(case: str, tmp_path: Path) -> None:
    """Fuzz finding F17: a 10**400 summary value in a dvclive metrics.json raised OverflowError,
    and the dvclive dir (that metric's .tsv history with it) was lost. Every number of every JSON
    file of the fixture is swapped in turn: every metric keeps its points, no Problem appears."""
    root = tmp_path / case
    shutil.copytree(DATA / case, root, ignore=shutil.ignore_patterns(".git"))
    pristine = read(root)
    files = sorted(p for p in root.rglob("*.json"))
    assert files
    swapped = 0
    for path in files:
        original = path.read_bytes()
        try:
            doc = json.loads(original)
        except ValueError:
            continue  # the fixture's own broken file (missing_metrics)
        for where in _number_paths(doc):
            for huge in (10**400, -(10**400)):
                mutated = json.loads(original)
                node = mutated
                for key in where[:-1]:
                    node = node[key]
                node[where[-1]] = huge
                path.write_text(json.dumps(mutated))
                records = read(root)
                assert reasons(records) == reasons(pristine), (path, where)
                assert _shape(records) == _shape(pristine), (path, where)
                swapped += 1
        path.write_bytes(original)
    assert swapped > 0


def _count_listings(store: object, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    listed: dict[str, int] = {}
    ls = store.ls  # type: ignore[attr-defined]

    def counting(path: str = "") -> object:
        listed[path] = listed.get(path, 0) + 1
        return ls(path)

    monkeypatch.setattr(store, "ls", counting)
    return listed


def test_a_project_folder_is_listed_once_per_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # finding the dvclive dirs asked for the project folder and dvclive/ twice each (issue 12)
    shutil.copytree(DATA / "nested", tmp_path / "p")
    store = open_store(str(tmp_path))
    listed = _count_listings(store, monkeypatch)
    records = list(DvcReader().read(store, "p", ReadOptions()))
    assert of(records, Run)
    assert listed and all(n == 1 for n in listed.values()), listed


def test_large_listings_are_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlreport.readers.dvc as dvc

    shutil.copytree(DATA / "nested", tmp_path / "p")
    monkeypatch.setattr(dvc, "_LISTING_KEPT", 0)
    store = open_store(str(tmp_path))
    listed = _count_listings(store, monkeypatch)
    list(DvcReader().read(store, "p", ReadOptions()))
    assert listed["p"] > 1  # every listing has more entries than kept: each is asked again
