"""Post or update the one ``mlreport diff`` comment of a pull request (GitHub) or merge request
(GitLab), for the CI recipes: ``python -m mlreport.comment github|gitlab BODY_FILE``.

The comment is found by the marker ``mlreport diff`` writes on its first line, so every push to
the pull request updates the same comment instead of adding one. Standard library only (the CI
step runs right after ``pip install``); the API address comes from the CI's own variables, so a
test can serve it on 127.0.0.1.

GitHub: ``GITHUB_API_URL``, ``GITHUB_REPOSITORY``, ``GITHUB_TOKEN``, the pull request's number from
``GITHUB_EVENT_PATH`` (or ``MLREPORT_PR_NUMBER``). GitLab: ``CI_API_V4_URL``, ``CI_PROJECT_ID``,
``CI_MERGE_REQUEST_IID`` and a token with the ``api`` scope in ``MLREPORT_GITLAB_TOKEN`` (the job
token cannot write notes).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from .diff import FLAVOURS, MARKER, cut

PAGE = 100


class CommentError(Exception):
    """One line: what failed and why."""


def _request(method: str, url: str, headers: Mapping[str, str], body: Mapping[str, str] | None = None) -> Any:
    data = json.dumps(body).encode("utf-8") if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={**headers, "User-Agent": "mlreport"})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310 - the CI's own API URL
            text = response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        raise CommentError(f"{method} {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise CommentError(f"{method} {url}: {getattr(exc, 'reason', exc)}") from None
    try:
        return json.loads(text) if text.strip() else None
    except (ValueError, RecursionError):  # not JSON, or nested past the recursion limit
        raise CommentError(f"{method} {url}: the answer is not JSON") from None


def _find(list_url: str, headers: Mapping[str, str], key: str) -> Any:
    """The first comment (oldest first) whose text starts with the marker, over every page."""
    page = 1
    while True:
        sep = "&" if "?" in list_url else "?"
        items = _request("GET", f"{list_url}{sep}per_page={PAGE}&page={page}", headers)
        if not isinstance(items, list):
            raise CommentError(f"GET {list_url}: expected a list of comments")
        for item in items:
            if isinstance(item, dict) and str(item.get(key) or "").startswith(MARKER):
                return item
        if len(items) < PAGE:
            return None
        page += 1


def post_github(body: str, api_url: str, repository: str, number: int, token: str) -> str:
    """Create or update the comment; returns ``"created"`` or ``"updated"``."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    base = f"{api_url.rstrip('/')}/repos/{repository}"
    found = _find(f"{base}/issues/{number}/comments", headers, "body")
    if found is not None:
        _request("PATCH", f"{base}/issues/comments/{found['id']}", headers, {"body": body})
        return "updated"
    _request("POST", f"{base}/issues/{number}/comments", headers, {"body": body})
    return "created"


def post_gitlab(body: str, api_url: str, project: str, iid: int, token: str) -> str:
    headers = {"PRIVATE-TOKEN": token}
    base = f"{api_url.rstrip('/')}/projects/{quote(project, safe='')}/merge_requests/{iid}/notes"
    found = _find(f"{base}?sort=asc&order_by=created_at", headers, "body")
    if found is not None:
        _request("PUT", f"{base}/{found['id']}", headers, {"body": body})
        return "updated"
    _request("POST", base, headers, {"body": body})
    return "created"


def _need(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise CommentError(f"{name} is not set")
    return value


def _pr_number(env: Mapping[str, str]) -> int:
    given = env.get("MLREPORT_PR_NUMBER", "").strip()
    if given:
        if not given.isdigit():
            raise CommentError(f"MLREPORT_PR_NUMBER is not a number: '{given}'")
        return int(given)
    path = _need(env, "GITHUB_EVENT_PATH")
    try:
        with open(path, encoding="utf-8") as f:
            event = json.load(f)
        return int(event["pull_request"]["number"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        raise CommentError(f"cannot read the pull request's number from {path}") from None


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if env is None else env
    if len(args) != 2 or args[0] not in ("github", "gitlab"):
        print("usage: python -m mlreport.comment github|gitlab BODY_FILE", file=sys.stderr)
        return 2
    host, body_file = args
    try:
        with open(body_file, encoding="utf-8") as f:
            # `mlreport diff --flavour` already fits the host; a body from elsewhere is cut here
            # rather than refused by the API
            body = cut(f.read(), FLAVOURS[host])
        if host == "github":
            done = post_github(
                body,
                env.get("GITHUB_API_URL") or "https://api.github.com",
                _need(env, "GITHUB_REPOSITORY"),
                _pr_number(env),
                _need(env, "GITHUB_TOKEN"),
            )
        else:
            iid = _need(env, "CI_MERGE_REQUEST_IID")
            if not iid.isdigit():
                raise CommentError(f"CI_MERGE_REQUEST_IID is not a number: '{iid}'")
            done = post_gitlab(
                body,
                _need(env, "CI_API_V4_URL"),
                _need(env, "CI_PROJECT_ID"),
                int(iid),
                _need(env, "MLREPORT_GITLAB_TOKEN"),
            )
    except OSError as exc:
        print(f"mlreport: cannot read {body_file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except CommentError as exc:
        print(f"mlreport: cannot post the comment: {exc}", file=sys.stderr)
        return 1
    print(f"mlreport: {done} the mlreport diff comment", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
