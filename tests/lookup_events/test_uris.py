"""URI normalisation: one spelling per dataset, whatever the caller typed."""

import os

import pytest

from lookup_events.uris import base_uri_of, is_local, local_path, normalise_uri


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/data/base", "file://myhost/data/base"),
        ("/data/base/", "file://myhost/data/base"),
        ("file:///data/base", "file://myhost/data/base"),
        ("file://otherhost/data/base", "file://otherhost/data/base"),
        ("s3://bucket", "s3://bucket"),
        ("s3://bucket/", "s3://bucket"),
        ("s3://bucket/uuid", "s3://bucket/uuid"),
    ],
)
def test_normalise_uri(given, expected):
    assert normalise_uri(given, hostname="myhost") == expected


def test_relative_paths_become_absolute():
    assert normalise_uri("rel/dir", hostname="h") == f"file://h{os.path.abspath('rel/dir')}"


def test_base_uri_of_and_local_helpers():
    assert base_uri_of("s3://bucket/af67") == "s3://bucket"
    assert base_uri_of("file://h/data/base/ds") == "file://h/data/base"
    assert is_local("file://h/data") and not is_local("s3://b")
    assert local_path("file://h/data/base") == "/data/base"
