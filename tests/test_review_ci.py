"""The CI recipes run as written: ``action.yml``'s steps and the GitLab template's scripts are
parsed from the files and executed with bash against the fixture stores, with the CI's variables
set and the comment API served on 127.0.0.1 by a server that records each request.

mlreport is installed from this checkout into a throwaway venv exactly as the action's install
step says (``pip install "$GITHUB_ACTION_PATH"``), with the index switched off: the build
backend and the dependencies come from the test environment.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT

REVIEW = ROOT / "tests" / "review_data"
ACTION = ROOT / "action.yml"
GITLAB = ROOT / "ci" / "mlreport.gitlab-ci.yml"


# ---------------------------------------------------------------------------------------------
# a local stand-in for the GitHub and GitLab comment APIs


@dataclass
class Api:
    url: str
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def api() -> Iterator[Api]:
    state = Api("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

        def _reply(self, code: int, payload: object) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n)) if n else None

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            state.requests.append(("GET", self.path, dict(self.headers)))
            if "page=" not in self.path:  # the published site's history.json: not there yet
                self._reply(404, {"message": "Not Found"})
                return
            page = int(re.search(r"[?&]page=(\d+)", self.path).group(1))  # type: ignore[union-attr]
            self._reply(200, state.comments[(page - 1) * 100 : page * 100])

        def do_POST(self) -> None:  # noqa: N802
            body = self._body()
            state.requests.append(("POST", self.path, body))
            comment = {"id": 1000 + len(state.comments), "body": body["body"]}
            state.comments.append(comment)
            self._reply(201, comment)

        def _update(self) -> None:
            body = self._body()
            state.requests.append((self.command, self.path, body))
            cid = int(self.path.rstrip("/").rsplit("/", 1)[1])
            for c in state.comments:
                if c["id"] == cid:
                    c["body"] = body["body"]
            self._reply(200, {"id": cid})

        do_PATCH = _update  # noqa: N815
        do_PUT = _update  # noqa: N815

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------------------------
# running the files' commands


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv where the action's install step installed mlreport from this checkout."""
    where = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(where)], check=True)
    step = _step(_action(), "Install mlreport")
    env = _env(where, {"GITHUB_ACTION_PATH": str(ROOT), "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0"})
    env.update(_step_env(step, {"package": ""}, "push"))
    done = subprocess.run(["bash", "-c", step["run"]], env=env, capture_output=True, text=True, cwd=where.parent)
    assert done.returncode == 0, done.stderr
    assert (where / "bin" / "mlreport").exists()
    return where


def _env(venv: Path, extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_", "PYTHONPATH"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _action() -> dict[str, Any]:
    return yaml.safe_load(ACTION.read_text())


def _step(action: Mapping[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in action["runs"]["steps"] if s.get("name") == name)


def _inputs(given: Mapping[str, str]) -> dict[str, str]:
    defaults = {k: str(v.get("default", "")) for k, v in _action()["inputs"].items()}
    values = {**defaults, **given}
    return {k: ("ghs_test_token" if v == "${{ github.token }}" else v) for k, v in values.items()}


def _expr(text: str, inputs: Mapping[str, str], event: str) -> str:
    """``${{ inputs.x }}`` and ``${{ github.event_name }}`` in a value, as Actions expands them."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1).strip()
        if name.startswith("inputs."):
            return inputs[name[len("inputs.") :]]
        if name == "github.event_name":
            return event
        if name == "github.token":
            return "ghs_test_token"
        raise AssertionError(f"expression the test does not know: {name}")

    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


def _condition(expr: str | None, inputs: Mapping[str, str], event: str) -> bool:
    """The small part of the Actions expression language the action uses in ``if:``."""
    if expr is None:
        return True
    py = re.sub(r"inputs\.([\w-]+)", lambda m: repr(inputs[m.group(1)]), expr)
    py = py.replace("github.event_name", repr(event)).replace("&&", " and ").replace("||", " or ")
    return bool(eval(py, {"__builtins__": {}}, {}))  # noqa: S307 - the test's own file


def _step_env(step: Mapping[str, Any], given: Mapping[str, str], event: str) -> dict[str, str]:
    inputs = _inputs(given)
    return {k: _expr(str(v), inputs, event) for k, v in (step.get("env") or {}).items()}


def run_action(
    venv: Path, workdir: Path, given: Mapping[str, str], event: str, extra_env: Mapping[str, str]
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every ``run:`` step whose ``if:`` holds, in order, as the runner would (bash, the step's
    env, GITHUB_* variables); ``uses:`` steps are checked by the tests, not run."""
    inputs = _inputs(given)
    out: dict[str, subprocess.CompletedProcess[str]] = {}
    runner_temp = workdir / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    for step in _action()["runs"]["steps"]:
        if "run" not in step or step["name"] == "Install mlreport" or not _condition(step.get("if"), inputs, event):
            continue
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], "inputs reach scripts through env, never pasted into them"
        env = _env(
            venv,
            {
                "GITHUB_ACTION_PATH": str(ROOT),
                "GITHUB_EVENT_NAME": event,
                "GITHUB_OUTPUT": str(runner_temp / "output"),
                "GITHUB_STEP_SUMMARY": str(runner_temp / "summary.md"),
                "RUNNER_TEMP": str(runner_temp),
                **extra_env,
            },
        )
        env.update(_step_env(step, given, event))
        out[step["name"]] = subprocess.run(
            ["bash", "-c", step["run"]], env=env, cwd=workdir, capture_output=True, text=True
        )
        if out[step["name"]].returncode != 0:
            break
    return out


# ---------------------------------------------------------------------------------------------
# the GitHub Action


def test_action_file_declares_what_its_steps_use() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    used = {s["uses"].split("@")[0]: s for s in action["runs"]["steps"] if "uses" in s}
    assert set(used) == {"actions/setup-python", "actions/upload-pages-artifact", "actions/deploy-pages"}
    assert used["actions/upload-pages-artifact"]["with"]["path"] == "${{ inputs.output }}"
    assert all("@v" in s["uses"] for s in action["runs"]["steps"] if "uses" in s)
    text = ACTION.read_text()
    for name in re.findall(r"inputs\.([\w-]+)", text):
        assert name in action["inputs"], f"action.yml uses an input it does not declare: {name}"
    # deploying happens on pushes and schedules, never from a pull request
    for s in action["runs"]["steps"]:
        if s.get("uses", "").startswith(("actions/upload-pages-artifact", "actions/deploy-pages")):
            assert not _condition(s["if"], _inputs({}), "pull_request")
            assert _condition(s["if"], _inputs({}), "push")
            assert not _condition(s["if"], _inputs({"deploy": "false"}), "push")


def test_action_on_push_builds_the_site_strictly(venv: Path, tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    done = run_action(venv, work, {"sources": f"{REVIEW / 'registry'}\n"}, "push", {})
    assert set(done) == {"Build the site"}
    assert done["Build the site"].returncode == 0, done["Build the site"].stderr
    site = work / "site"
    assert (site / "models" / "churn-classifier" / "3" / "index.html").is_file()
    assert (site / "history.json").is_file() and (site / "feed.xml").is_file()
    # --strict: a store with a broken record fails the job
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.mlreport.yaml").write_text("mlreport_manifest: 1\nrun: {id: x}\nmetircs: {a: 1}\n")
    done = run_action(venv, work, {"sources": str(broken), "output": "site2"}, "push", {})
    assert done["Build the site"].returncode == 1


def test_action_on_a_pull_request_posts_then_updates_one_comment(venv: Path, tmp_path: Path, api: Api) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 17}}))
    env = {
        "GITHUB_API_URL": api.url,
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_EVENT_PATH": str(event),
    }
    api.comments.append({"id": 1, "body": "LGTM"})  # someone else's comment stays untouched
    given = {
        "sources": str(REVIEW / "registry"),
        "config": str(REVIEW / "mlreport.yml"),
        "candidate": "churn-classifier@challenger",
        "site-url": f"{api.url}/pages/",  # the build reads the published history.json from it
    }
    done = run_action(venv, work, given, "pull_request", env)
    assert list(done) == ["Build the site", "Compare the candidate (mlreport diff)"]
    diff = done["Compare the candidate (mlreport diff)"]
    assert diff.returncode == 0, diff.stderr
    assert "created the mlreport diff comment" in diff.stderr
    posts = [r for r in api.requests if r[0] == "POST"]
    assert [(m, p) for m, p, _ in posts] == [("POST", "/repos/acme/models/issues/17/comments")]
    body = posts[0][2]["body"]
    assert body.startswith("<!-- mlreport-diff -->\n### ✅")
    assert f"{api.url}/pages/models/churn-classifier/3/" in body
    gets = [r for r in api.requests if r[0] == "GET"]
    assert gets[0][1] == "/pages/history.json"
    assert gets[1][1] == "/repos/acme/models/issues/17/comments?per_page=100&page=1"
    assert gets[1][2]["Authorization"] == "Bearer ghs_test_token"
    assert (tmp_path / "repo" / "runner-temp" / "output").read_text() == "status=0\n"

    # the next push: a candidate that fails a gate updates the same comment and fails the job
    api.requests.clear()
    done = run_action(venv, work, {**given, "candidate": "churn-classifier/4"}, "pull_request", env)
    diff = done["Compare the candidate (mlreport diff)"]
    assert diff.returncode == 1
    assert [(m, p) for m, p, _ in api.requests if m != "GET"] == [("PATCH", "/repos/acme/models/issues/comments/1001")]
    assert api.comments[0]["body"] == "LGTM"
    assert api.comments[1]["body"].startswith("<!-- mlreport-diff -->\n### ❌ <code>churn")

    # bad input: exit 2, and no comment is posted
    api.requests.clear()
    done = run_action(venv, work, {**given, "candidate": "no-such-model@champion"}, "pull_request", env)
    assert done["Compare the candidate (mlreport diff)"].returncode == 2
    assert [r for r in api.requests if r[0] != "GET"] == []


def test_the_comment_tool_says_what_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlreport.comment import main

    body = tmp_path / "body.md"
    body.write_text("<!-- mlreport-diff -->\nx\n")
    assert main(["github", str(body)], env={"GITHUB_TOKEN": "t"}) == 1
    assert capsys.readouterr().err == "mlreport: cannot post the comment: GITHUB_REPOSITORY is not set\n"
    env = {
        "GITHUB_TOKEN": "t",
        "GITHUB_REPOSITORY": "a/b",
        "GITHUB_API_URL": "http://127.0.0.1:9",
        "MLREPORT_PR_NUMBER": "3",
    }
    assert main(["github", str(body)], env=env) == 1
    assert capsys.readouterr().err.startswith(
        "mlreport: cannot post the comment: GET http://127.0.0.1:9/repos/a/b/issues/3/comments?per_page=100&page=1: "
    )
    assert main(["bitbucket", str(body)], env={}) == 2


# ---------------------------------------------------------------------------------------------
# the GitLab CI template


def _gitlab_job(name: str) -> tuple[list[str], Mapping[str, str]]:
    data = yaml.safe_load(GITLAB.read_text())
    job = data[name]
    assert job["extends"] == ".mlreport"
    return [str(line) for line in job["script"]], {k: str(v) for k, v in data["variables"].items()}


def _run_gitlab(
    lines: list[str], variables: Mapping[str, str], venv: Path, cwd: Path
) -> subprocess.CompletedProcess[str]:
    # the runner runs a job's lines in one shell, stopping at the first that fails
    script = "set -e\n" + "\n".join(lines) + "\n"
    return subprocess.run(["bash", "-c", script], env=_env(venv, variables), cwd=cwd, capture_output=True, text=True)


def test_gitlab_template_pages_job(venv: Path, tmp_path: Path, api: Api) -> None:
    data = yaml.safe_load(GITLAB.read_text())
    assert data["pages"]["artifacts"]["paths"] == ["public"]
    assert data[".mlreport"]["before_script"] == [
        'python -m pip install --disable-pip-version-check "$MLREPORT_PACKAGE"'
    ]
    lines, variables = _gitlab_job("pages")
    env = {**variables, "MLREPORT_SOURCES": str(REVIEW / "registry"), "CI_PAGES_URL": f"{api.url}/pages"}
    done = _run_gitlab(lines, env, venv, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "public" / "models" / "churn-classifier" / "index.html").is_file()
    feed = (tmp_path / "public" / "feed.xml").read_text()
    assert f'<link rel="self" href="{api.url}/pages/feed.xml"/>' in feed
    assert [p for m, p, _ in api.requests] == ["/pages/history.json"]  # read back (404: the first build)


def test_gitlab_template_posts_one_merge_request_note(venv: Path, tmp_path: Path, api: Api) -> None:
    lines, variables = _gitlab_job("mlreport-diff")
    env = {
        **variables,
        "MLREPORT_SOURCES": str(REVIEW / "registry"),
        "MLREPORT_CANDIDATE": "churn-classifier/5",
        "CI_API_V4_URL": f"{api.url}/api/v4",
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "7",
        "MLREPORT_GITLAB_TOKEN": "glpat-test",
    }
    (tmp_path / "mlreport.yml").write_text(
        (REVIEW / "mlreport.yml").read_text().replace("- registry", f"- {REVIEW / 'registry'}")
    )
    for _ in range(2):
        done = _run_gitlab(lines, env, venv, tmp_path)
        assert done.returncode == 0, done.stderr
    writes = [(m, p) for m, p, _ in api.requests if m != "GET"]
    assert writes == [
        ("POST", "/api/v4/projects/42/merge_requests/7/notes"),
        ("PUT", "/api/v4/projects/42/merge_requests/7/notes/1000"),
    ]
    assert len(api.comments) == 1 and "changed digest, source" in api.comments[0]["body"]
    # the failing candidate fails the job after updating the note
    done = _run_gitlab(lines, {**env, "MLREPORT_CANDIDATE": "churn-classifier/4"}, venv, tmp_path)
    assert done.returncode == 1
    assert api.comments[0]["body"].startswith("<!-- mlreport-diff -->\n### ❌")


# ---------------------------------------------------------------------------------------------
# packaging: the wheel and the sdist install and run, twine check is clean


def test_wheel_and_sdist_build_install_and_run(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    check = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    for artifact in (wheels[0], sdists[0]):
        env_dir = tmp_path / f"venv-{artifact.suffix}"
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(env_dir)], check=True)
        env = _env(env_dir, {"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0"})
        install = subprocess.run(
            [
                str(env_dir / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                str(artifact),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        assert install.returncode == 0, install.stderr
        site = tmp_path / f"site-{artifact.suffix}"
        run = subprocess.run(
            [str(env_dir / "bin" / "mlreport"), "build", str(REVIEW / "registry"), "-o", str(site), "-q"],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stderr
        assert (site / "models" / "churn-classifier" / "5" / "index.html").is_file()
        # the installed copy is the one that ran, with its own templates and schema
        where = subprocess.run(
            [str(env_dir / "bin" / "python"), "-c", "import mlreport; print(mlreport.__file__)"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert where.stdout.startswith(str(env_dir))


# ---------------------------------------------------------------------------------------------
# the bucket recipe


@pytest.mark.bucket
def test_bucket_recipe_syncs_deletes_and_reads_the_history_back(venv: Path, tmp_path: Path) -> None:
    from .buckets import moto_server
    from .test_review_history import write_store

    store = tmp_path / "store"
    write_store(store, champion=1)
    with moto_server() as s3:
        s3.make_bucket("reports")
        fs = s3.admin_fs()
        fs.pipe("reports/models/stale/index.html", b"an old page the new site does not have")
        env = {
            "AWS_ACCESS_KEY_ID": s3.key,
            "AWS_SECRET_ACCESS_KEY": s3.secret,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": s3.endpoint,
            "SOURCE_DATE_EPOCH": "1795000000",
        }
        recipe = [str(ROOT / "ci" / "publish-to-bucket.sh"), "s3://reports/models", str(store)]
        done = subprocess.run(recipe, env=_env(venv, env), cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert fs.exists("reports/models/models/churn-classifier/1/index.html")
        assert not fs.exists("reports/models/stale/index.html")
        write_store(store, champion=2)
        env["SOURCE_DATE_EPOCH"] = "1795086400"
        done = subprocess.run(recipe, env=_env(venv, env), cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        ledger = json.loads(fs.cat("reports/models/history.json"))
        holders = [h["versions"] for h in ledger["models"]["churn-classifier"]["aliases"]["champion"]]
        assert holders == [["1"], ["2"]]  # read back from the bucket, then appended
