"""The catalog's lookups that version pages use instead of scanning a model's versions (issue 7):
:meth:`Catalog.version`, :meth:`Catalog.version_neighbours`, :meth:`Catalog.versions_of_logged_model`,
the review's baseline, neighbours and serving stages built on them, and :meth:`Catalog.derived`.

Each lookup is checked against the scan it replaced, on versions in natural order with the
awkward cases a store can have (a repeated version name, ``v``-prefixed names, a model with one
version, an unknown name): a wrong neighbour or baseline fails here.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence

import pytest

from mlreport.catalog import Catalog, make_catalog
from mlreport.config import Config
from mlreport.model import ModelVersion, Origin, RegisteredModel
from mlreport.render.pages import SiteRenderer
from mlreport.review import (
    choose_baseline,
    neighbours,
    previous_version,
    serving_stages,
    subject_of_version,
)

ORIGIN = Origin("store", "models/m", "mlflow")


def _catalog(
    versions: Sequence[tuple[str, str]],
    aliases: dict[str, dict[str, str]] | None = None,
    stages: dict[tuple[str, str], str] | None = None,
    logged: dict[tuple[str, str], str] | None = None,
) -> Catalog:
    models = sorted({m for m, _ in versions})
    return make_catalog(
        models=[RegisteredModel(m, ORIGIN, aliases=(aliases or {}).get(m, {})) for m in models],
        versions=[
            ModelVersion(
                m,
                v,
                Origin("store", f"models/{m}/{v}/{i}", "mlflow"),  # a repeated name is a different record
                stage=(stages or {}).get((m, v)),
                logged_model_key=(logged or {}).get((m, v)),
                description=f"record {i}",
            )
            for i, (m, v) in enumerate(versions)
        ],
    )


VERSIONS = [("m", v) for v in ("10", "2", "1", "v1.2.0", "3", "2", "v1.10.0")] + [("solo", "1"), ("other", "7")]


def _scan_neighbours(c: Catalog, model: str, version: str) -> tuple[ModelVersion | None, ModelVersion | None]:
    # what review.neighbours did before the index: the first match in natural order
    versions = c.versions_by_model.get(model, ())
    for i, v in enumerate(versions):
        if v.version == version:
            return (versions[i - 1] if i > 0 else None, versions[i + 1] if i + 1 < len(versions) else None)
    return None, None


def test_version_is_the_first_match_of_a_scan() -> None:
    c = _catalog(VERSIONS)
    for model, versions in c.versions_by_model.items():
        for v in versions:
            first = next(x for x in versions if x.version == v.version)
            assert c.version(model, v.version) is first
    assert c.version("m", "2").description == "record 1"  # the repeated "2": the first record
    assert c.version("m", "4") is None
    assert c.version("nobody", "1") is None
    assert c.version("solo", "1") is c.versions_by_model["solo"][0]


def test_neighbours_follow_the_natural_order_exactly_as_a_scan() -> None:
    c = _catalog(VERSIONS)
    assert [v.version for v in c.versions_by_model["m"]] == ["1", "2", "2", "3", "10", "v1.2.0", "v1.10.0"]
    for model, versions in c.versions_by_model.items():
        for v in [*versions, ModelVersion(model, "missing", ORIGIN)]:
            assert c.version_neighbours(model, v.version) == _scan_neighbours(c, model, v.version)
            assert neighbours(c, model, v.version) == _scan_neighbours(c, model, v.version)
    before, after = c.version_neighbours("m", "3")
    assert (before and before.version, after and after.version) == ("2", "10")
    assert c.version_neighbours("m", "1")[0] is None
    assert c.version_neighbours("m", "v1.10.0")[1] is None
    assert c.version_neighbours("solo", "1") == (None, None)
    assert c.version_neighbours("nobody", "1") == (None, None)
    assert previous_version(c, "m", "10") is c.version("m", "3")
    assert previous_version(c, "m", "1") is None


def test_the_baseline_is_the_alias_holder_or_the_version_before_it() -> None:
    c = _catalog(VERSIONS, aliases={"m": {"champion": "3", "gone": "99"}, "other": {"champion": "7"}})
    for v in c.versions_by_model["m"]:
        base, asked, note = choose_baseline(c, subject_of_version(c, v))
        assert asked == "@champion"
        if v.version == "3":  # holds @champion: the previous version, "2" (the second record)
            assert base is not None and base.version == "2", note
            assert "previous version" in note
        else:
            assert base is not None and base.version == "3", note
    held = c.version("other", "7")
    assert held is not None
    assert choose_baseline(c, subject_of_version(c, held))[0] is None  # holds it, nothing before
    dangling = c.version("m", "1")
    assert dangling is not None
    base, _, note = choose_baseline(c, subject_of_version(c, dangling), alias="gone")
    assert base is None and "not in the store" in note
    solo = c.version("solo", "1")
    assert solo is not None
    assert choose_baseline(c, subject_of_version(c, solo))[0] is None  # no alias at all


def test_serving_stages_are_each_stage_s_holders_in_order() -> None:
    stages = {("m", "2"): "Production", ("m", "10"): "Staging", ("m", "3"): "Production", ("m", "1"): "Archived"}
    c = _catalog(VERSIONS, stages=stages)
    assert serving_stages(c, "m") == {"Production": ("2", "2", "3"), "Staging": ("10",)}
    assert serving_stages(c, "solo") == {}
    mine = serving_stages(c, "m")
    mine["Production"] = ()  # a comparison's own copy: changing it changes no other page's
    assert serving_stages(c, "m")["Production"] == ("2", "2", "3")


def test_versions_of_a_logged_model_are_those_registered_from_it() -> None:
    c = _catalog(VERSIONS, logged={("m", "2"): "lm-a", ("m", "10"): "lm-a", ("other", "7"): "lm-b"})
    scan = {k: tuple(v for v in c.versions if v.logged_model_key == k) for k in ("lm-a", "lm-b", "lm-c")}
    for key, expected in scan.items():
        assert c.versions_of_logged_model(key) == expected
    assert [v.version for v in c.versions_of_logged_model("lm-a")] == ["2", "2", "10"]  # both records named 2
    assert c.versions_of_logged_model("lm-c") == ()


def test_derived_values_are_made_once_and_never_pickled() -> None:
    c = _catalog(VERSIONS)
    made: list[int] = []
    assert c.derived("test", "k", lambda: made.append(1) or len(made)) == 1
    assert c.derived("test", "k", lambda: made.append(1) or len(made)) == 1
    assert c.derived("test", "other", lambda: made.append(1) or len(made)) == 2
    c.version("m", "2")
    copy = pickle.loads(pickle.dumps(c))
    assert "_derived" not in copy.__dict__  # a worker or the unit cache gets the records only
    assert copy == c
    assert pickle.dumps(copy) == pickle.dumps(_catalog(VERSIONS))  # the index leaves no trace
    assert copy.version("m", "2") == c.version("m", "2")


@pytest.mark.parametrize("version", ["1", "2", "3", "10", "v1.10.0"])
def test_the_renderer_looks_up_the_version_its_page_names(version: str) -> None:
    c = _catalog(VERSIONS)
    r = SiteRenderer(c, Config())
    assert r.version_of("m", version) is c.version("m", version)
    with pytest.raises(KeyError):
        r.version_of("m", "nope")


def test_runs_of_a_dataset_keep_the_catalog_s_run_order_once_each() -> None:
    # the index is built with dicts as ordered sets (a list's "in" per run was quadratic): the
    # same order and the same single entries as before
    from mlreport.model import DatasetRef, Run

    def run(key: str, start: int, inputs: Sequence[str], produced: Sequence[str] = ()) -> Run:
        return Run(
            key,
            key,
            key,
            ORIGIN,
            start_time=start,
            inputs=tuple(DatasetRef(d, ctx) for d, ctx in zip(inputs, ("train", "eval", "x"), strict=False)),
            produced=tuple(DatasetRef(d) for d in produced),
        )

    c = make_catalog(
        runs=[
            run("a", 1, ["d1", "d1", "d2"], produced=["d3", "d3"]),
            run("b", 3, ["d2", "d1"]),
            run("c", 2, ["d1"], produced=["d3"]),
        ]
    )
    assert [r.key for r in c.runs] == ["b", "c", "a"]  # newest first
    assert c.runs_by_dataset == {"d1": ("b", "c", "a"), "d2": ("b", "a")}
    assert c.producers_by_dataset == {"d3": ("c", "a")}
