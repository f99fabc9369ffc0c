"""The bucket walk lists each dataset's stamp in few requests, past any number of items."""

from __future__ import annotations

from typing import Any

import dtoolcore
import pytest

from lookup_events.model import STAMP
from lookup_events.storage.s3 import Endpoint, S3Clients, S3DatasetReader, new_client
from tests.support.aws import Aws, new_bucket_name, point_dtool_s3_at
from tests.support.datasets import fill


class Listings:
    """Makes real S3 clients and counts the listing requests they send."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, endpoint: Endpoint) -> Any:
        client = new_client(endpoint)
        client.meta.events.register("before-call.s3.ListObjectsV2", self._count)
        return client

    def _count(self, **_: Any) -> None:
        self.count += 1


def test_a_dataset_of_many_items_costs_the_walk_about_one_request(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = new_bucket_name()
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    point_dtool_s3_at(monkeypatch, bucket, aws.endpoint)
    uris = []
    for name in ("big", "small", "draft"):
        proto = dtoolcore.create_proto_dataset(name, f"s3://{bucket}", readme_content="---\n")
        fill(proto, {"a.txt": b"apple"}, ["fruit"], {"colour": "red"}, freeze=name != "draft")
        uris.append(str(proto.uri))
    big_uuid = uris[0].rsplit("/", 1)[1]
    # Items as dtool-s3 keeps them: three pages of a listing (a page holds 1,000 keys), so a
    # walk that lists them all sends three requests and one that skips them two.
    for number in range(2100):
        s3.put_object(Bucket=bucket, Key=f"{big_uuid}/data/{number:040x}", Body=b"")
    listings = Listings()
    reader = S3DatasetReader(S3Clients(listings))

    stamps = dict(reader.list_dataset_stamps(f"s3://{bucket}"))

    # A proto dataset has admin metadata too: listed, judged by the rescan.
    assert stamps.keys() == set(uris)
    assert stamps[uris[0]] == reader.read_dataset(uris[0])[STAMP]
    assert stamps[uris[1]] == reader.read_dataset(uris[1])[STAMP]
    listings.count = 0
    dict(reader.list_dataset_stamps(f"s3://{bucket}"))
    assert listings.count <= 2  # the items past the first page are skipped, not listed
