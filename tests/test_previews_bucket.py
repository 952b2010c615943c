"""Artifact previews from a bucket (issue 10): read through the same read-only store as the
crawl (fsspec, s3fs) against moto's S3 server on 127.0.0.1, and identical to the local ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlreport.catalog import read_catalog
from mlreport.config import Config, SourceConfig

from .buckets import S3Server, moto_server
from .conftest import DATA
from .test_buckets import bucket_digest, upload

pytestmark = pytest.mark.bucket


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_server() as server:
        server.make_bucket("previews")
        upload(server.admin_fs(), DATA, "previews", ["artifacts/mlflow"])
        yield server


def test_previews_from_a_bucket_equal_the_local_ones(s3: S3Server) -> None:
    from mlreport.previews import collect_previews

    local_config = Config(sources=(SourceConfig(str(DATA / "artifacts" / "mlflow" / "mlruns")),))
    local_catalog = read_catalog(local_config)
    local = collect_previews(local_catalog, local_config)

    before = bucket_digest(s3.admin_fs(), "previews")
    url = "s3://previews/artifacts/mlflow/mlruns"
    config = Config(sources=(SourceConfig(url, storage_options=s3.storage_options()),))
    catalog = read_catalog(config)
    remote = collect_previews(catalog, config)
    assert bucket_digest(s3.admin_fs(), "previews") == before  # nothing written to the bucket

    assert not remote.problems
    assert remote.files == local.files  # the same copies, byte for byte, at the same site paths
    strip = {(loc, p.kind, p.digest, p.url, p.note) for (_store, loc), p in local.by_location.items()}
    assert {(loc, p.kind, p.digest, p.url, p.note) for (_store, loc), p in remote.by_location.items()} == strip
    assert any(p.kind == "image" for p in remote.by_location.values())
