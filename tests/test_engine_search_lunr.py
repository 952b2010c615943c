"""The search worker's joined unions (issue 7: a query < 200 ms in the browser at 10,000 + 10,000).

``search_worker.js`` makes lunr's ``Set.union`` keep its two parts and join them when read,
because lunr's own union copies both sets for each word a prefix expands to (Material's
suggestion query asks every word as a required title prefix). Here, in node, Material 9.7's own
worker is run as it ships and with mlreport's loader in front, on one index with many prefix
expansions: every answer (items, scores, highlights, suggestions) is the same, and the union is
the lazy one (a union changed after it was made shows it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from mlreport.engine.output import WORKER_GLOB

NODE = shutil.which("node")

# Two fresh contexts, each with a worker global of its own: Material's worker as it ships, and
# mlreport's loader in front of it. Both get the same SETUP and the same queries (for the
# loader, the query it would itself ask: single words and search syntax go through as typed).
RUNNER = r"""
const vm = require("vm");
const fs = require("fs");
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const material = fs.readFileSync(input.material, "utf8");
const loader = fs.readFileSync(input.loader, "utf8");

function worker(code) {
  const listeners = [];
  const replies = [];
  const ctx = {
    console: { warn() {}, log() {} },
    location: { href: "http://127.0.0.1/assets/javascripts/workers/search.js" },
    URL, setTimeout, Promise,
    fetch: () => Promise.resolve({ ok: true, json: () => Promise.resolve({ docs: [] }) }),
    importScripts() {},
    postMessage: (m) => replies.push(m),
    addEventListener: (type, fn) => { if (type === "message") listeners.push(fn); },
  };
  ctx.self = ctx;
  vm.createContext(ctx);
  vm.runInContext(code, ctx);
  const send = async (m) => {
    const before = replies.length;
    for (const fn of listeners) fn({ data: m });
    while (replies.length === before) await new Promise((r) => setTimeout(r, 0));
    return replies[replies.length - 1];
  };
  return { ctx, send };
}

(async () => {
  const out = {};
  const plain = worker(material);
  const wrapped = worker(loader + material);
  const setup = { type: 0, data: input.index };
  await plain.send(setup);
  await wrapped.send(setup);
  out.answers = [];
  for (const q of input.queries) {
    const a = await plain.send({ type: 2, data: q });
    const b = await wrapped.send({ type: 2, data: q });
    out.answers.push([q, JSON.stringify(a), JSON.stringify(b)]);
  }
  // the union itself, in the loader's context
  const S = wrapped.ctx.lunr.Set;
  const P = plain.ctx.lunr.Set;
  const a = new S(["x", "y"]), b = new S(["y", "z"]);
  const u = a.union(b);
  a.elements.later = true; // lunr never changes a set once made; this shows when u is joined
  out.lazy = u.contains("later");
  const pa = new P(["x", "y"]), pu = pa.union(new P(["y", "z"]));
  pa.elements.later = true;
  out.plainLazy = pu.contains("later");
  const c = new S(["x", "y"]).union(new S(["y", "z"]));
  const pc = new P(["x", "y"]).union(new P(["y", "z"]));
  out.length = [c.length, pc.length];
  out.order = [Object.keys(c.elements), Object.keys(pc.elements)];
  out.intersect = [Object.keys(new S(["z", "x", "q"]).intersect(c).elements), Object.keys(new P(["z", "x", "q"]).intersect(pc).elements)];
  out.complete = S.complete.union(c) === S.complete && c.union(S.complete) === S.complete;
  out.empty = c.union(S.empty) === c && S.empty.union(c) === c;
  let chain = new S([]);
  for (let i = 0; i < 200000; i++) chain = chain.union(new S(["k" + i]));
  out.chain = [chain.contains("k0"), chain.contains("k199999"), chain.contains("k200000"), chain.length];
  out.nested = Object.keys(new S(["a"]).union(new S(["b"])).union(new S(["c"]).union(new S(["a", "d"]))).elements);
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { process.stderr.write(String(e && e.stack)); process.exit(1); });
"""


def _index() -> dict[str, Any]:
    """Material's index format, with titles and texts whose words share prefixes widely (version
    numbers, metric values): the shape that made the suggestion query slow."""
    docs: list[dict[str, Any]] = []
    for m in ("churn", "chart", "demand"):
        docs.append({"location": f"models/{m}/", "title": f"{m} · model", "text": f"{m} classifier registered"})
        for v in range(1, 121):
            docs.append(
                {
                    "location": f"models/{m}/{v}/",
                    "title": f"{m} · version {v}",
                    "text": f"run-{v * 7 % 97} accuracy 0.{v * 37 % 1000:03d} loss {v * 13 % 200} batch_size {2 ** (v % 8)}",
                }
            )
            docs.append({"location": f"models/{m}/{v}/#params", "title": "Parameters", "text": f"lr 0.{v:04d}"})
    return {
        "config": {
            "lang": ["en"],
            "separator": "[\\s\\-]+",
            "pipeline": ["stopWordFilter"],
            "fields": {"title": {"boost": 1000.0}, "text": {"boost": 1.0}, "tags": {"boost": 1000000.0}},
        },
        "docs": docs,
        "options": {"suggest": True},
    }


def _run() -> dict[str, Any]:
    if NODE is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed (apt-get install nodejs)")
        pytest.skip("node is not installed")
    import material

    (original,) = (Path(material.__file__).parent / "templates").glob(WORKER_GLOB)
    loader = resources.files("mlreport.engine").joinpath("search_worker.js")
    queries = ["2", "1", "v", "version", "ver", "c", "ch", "0", "churn", "+version +2", "+ver* +1*"]
    queries += ["version 2*", "-churn version", "title:version", "acc*", "zzz", "+churn +12 -chart"]
    payload = {"material": str(original), "loader": str(loader), "index": _index(), "queries": queries}
    res = subprocess.run(
        [NODE, "-e", RUNNER], input=json.dumps(payload), capture_output=True, text=True, check=False, timeout=300
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def node_run() -> dict[str, Any]:
    return _run()


def test_every_answer_is_material_s_own(node_run: dict[str, Any]) -> None:
    answers = node_run["answers"]
    for query, plain, wrapped in answers:
        assert wrapped == plain, query
    # the queries did exercise prefixes, suggestions and ranking (not a row of empty answers)
    first = {q: json.loads(a)["data"] for q, a, _ in answers}
    assert len(first["2"]["items"]) > 10 and first["2"]["suggest"]
    assert first["version"]["suggest"] == ["version"]
    assert first["zzz"]["items"] == []


def test_a_union_is_joined_when_read_not_when_made(node_run: dict[str, Any]) -> None:
    assert node_run["lazy"] is True and node_run["plainLazy"] is False


def test_the_joined_union_has_lunr_s_length_order_and_identities(node_run: dict[str, Any]) -> None:
    lazy, plain = node_run["length"]
    assert lazy == plain == 4  # lunr counts the shared "y" twice
    lazy_order, plain_order = node_run["order"]
    assert lazy_order == plain_order == ["x", "y", "z"]
    assert node_run["intersect"][0] == node_run["intersect"][1] == ["z", "x"]
    assert node_run["complete"] is True and node_run["empty"] is True
    assert node_run["nested"] == ["a", "b", "c", "d"]


def test_a_chain_of_200000_unions_is_joined_without_recursion(node_run: dict[str, Any]) -> None:
    assert node_run["chain"] == [True, True, False, 200000]
