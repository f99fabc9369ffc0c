"""Curation routes on real disk datasets: written to the dataset, then indexed at once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import quote

import dtoolcore
import pytest
from falcon import testing

from lookup_events.config import Settings
from lookup_events.registrar.writer import Registrar
from lookup_events.store import Stores
from tests.support.api import Header, client_for
from tests.support.aws import Aws, make_s3_dataset, new_bucket_name, point_dtool_s3_at
from tests.support.datasets import make_dataset

README = "---\ndescription: apples\n"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return tmp_path / "base"


@pytest.fixture
def dataset_uri(base: Path, stores: Stores) -> str:
    """One registered disk dataset; grumpy may curate, sleepy only search, dopey nothing."""
    uri = make_dataset(
        base, "apples", readme=README, tags=("fruit",), annotations={"colour": "red"}
    )
    base_uri = uri.rsplit("/", 1)[0]
    for username, is_admin in (("grumpy", False), ("sleepy", False), ("dopey", False)):
        stores.admin.add_user(username, is_admin)
    stores.admin.add_user("snow-white", True)
    stores.admin.add_base_uri(base_uri)
    stores.admin.set_permissions(base_uri, search=["grumpy", "sleepy"], register=["grumpy"])
    Registrar(stores.admin, stores.datasets).register_uri(uri)
    return uri


@pytest.fixture
def api(settings: Settings, stores: Stores) -> testing.TestClient:
    return client_for(settings, stores)


def path(prefix: str, uri: str, *rest: str) -> str:
    """Return ``/prefix/<percent-encoded uri>[/rest...]`` as the web app spells it."""
    return "/".join([f"/{prefix}", quote(uri, safe=""), *rest])


def on_disk(uri: str) -> dtoolcore.DataSet:
    return dtoolcore.DataSet.from_uri(uri)


def test_put_tags_writes_the_dataset_and_the_index(
    api: testing.TestClient, auth: Header, dataset_uri: str
) -> None:
    reply = api.simulate_put(
        path("tags", dataset_uri), json={"tags": ["pome", "sweet"]}, headers=auth("grumpy")
    )

    assert reply.status_code == 200
    assert sorted(reply.json["tags"]) == ["pome", "sweet"]
    assert sorted(on_disk(dataset_uri).list_tags()) == ["pome", "sweet"]
    found = api.simulate_post("/uris", json={"tags": ["sweet"]}, headers=auth("sleepy"))
    assert [hit["uri"] for hit in found.json] == [dataset_uri]
    assert "sweet" in api.simulate_get("/me/summary", headers=auth("sleepy")).json["tags"]


def test_add_and_remove_one_tag(api: testing.TestClient, auth: Header, dataset_uri: str) -> None:
    added = api.simulate_post(path("tags", dataset_uri, "ripe"), json={}, headers=auth("grumpy"))
    assert added.status_code == 200
    assert sorted(added.json["tags"]) == ["fruit", "ripe"]

    removed = api.simulate_delete(path("tags", dataset_uri, "fruit"), headers=auth("grumpy"))

    assert removed.status_code == 200
    assert removed.json == {"tags": ["ripe"]}
    assert on_disk(dataset_uri).list_tags() == ["ripe"]
    legacy = api.simulate_post(
        "/dataset/search", json={"tags": ["ripe"]}, headers=auth("sleepy")
    ).json
    assert [hit["uri"] for hit in legacy] == [dataset_uri]


def test_annotations_set_one_replace_all_delete_one(
    api: testing.TestClient, auth: Header, dataset_uri: str
) -> None:
    one = api.simulate_put(
        path("annotations", dataset_uri, "count"), json={"value": 3}, headers=auth("grumpy")
    )
    assert one.status_code == 200
    assert one.json == {"annotations": {"colour": "red", "count": 3}}
    assert on_disk(dataset_uri).get_annotation("count") == 3

    every = api.simulate_put(
        path("annotations", dataset_uri),
        json={"annotations": {"species": "malus", "sizes": [1, 2]}},
        headers=auth("grumpy"),
    )
    assert every.json == {"annotations": {"species": "malus", "sizes": [1, 2]}}
    assert on_disk(dataset_uri).list_annotation_names() == ["sizes", "species"]

    gone = api.simulate_delete(path("annotations", dataset_uri, "sizes"), headers=auth("grumpy"))
    assert gone.json == {"annotations": {"species": "malus"}}
    found = api.simulate_get(
        "/uris", params={"annotations": "species=malus"}, headers=auth("sleepy")
    )
    assert [hit["uri"] for hit in found.json] == [dataset_uri]


def test_readme_is_written_byte_for_byte(
    api: testing.TestClient, auth: Header, dataset_uri: str
) -> None:
    text = (
        "---\ndescription: Äpfel \u2013 \u201cquoted\u201d\r\nnotes: |\n  two  spaces\n\n\ttab\n"
    )

    reply = api.simulate_put(
        path("readmes", dataset_uri), json={"readme": text}, headers=auth("grumpy")
    )

    assert reply.status_code == 200
    assert reply.json == {"readme": text}
    readme_file = Path(on_disk(dataset_uri).uri.removeprefix("file://").split("/", 1)[1])
    assert (Path("/") / readme_file / "README.yml").read_bytes() == text.encode()
    # The index holds what dtool itself reads back: text with universal newlines.
    assert on_disk(dataset_uri).get_readme_content() == text.replace("\r\n", "\n")
    shown = api.simulate_get(path("readmes", dataset_uri), headers=auth("sleepy"))
    assert shown.json == {"readme": text.replace("\r\n", "\n")}


def test_admin_may_curate_without_permissions(
    api: testing.TestClient, auth: Header, dataset_uri: str
) -> None:
    reply = api.simulate_post(path("tags", dataset_uri, "checked"), headers=auth("snow-white"))

    assert reply.status_code == 200
    assert "checked" in on_disk(dataset_uri).list_tags()


@pytest.mark.parametrize(
    "case",
    [
        ("PUT", "", {"tags": ["x"]}),
        ("POST", "/x", None),
        ("DELETE", "/fruit", None),
    ],
)
def test_searchers_get_403_strangers_404_and_nothing_changes(
    api: testing.TestClient,
    auth: Header,
    dataset_uri: str,
    case: tuple[str, str, dict[str, list[str]] | None],
) -> None:
    method, suffix, body = case
    target = path("tags", dataset_uri) + suffix

    searcher = api.simulate_request(method, target, json=body, headers=auth("sleepy"))
    stranger = api.simulate_request(method, target, json=body, headers=auth("dopey"))

    assert searcher.status_code == 403
    assert stranger.status_code == 404
    assert on_disk(dataset_uri).list_tags() == ["fruit"]


def test_a_hidden_and_a_missing_dataset_look_the_same(
    api: testing.TestClient, auth: Header, dataset_uri: str
) -> None:
    missing = dataset_uri + "-gone"

    hidden = api.simulate_post(path("tags", dataset_uri, "x"), headers=auth("dopey"))
    absent = api.simulate_post(path("tags", missing, "x"), headers=auth("grumpy"))

    assert hidden.status_code == absent.status_code == 404


@pytest.mark.parametrize(
    "case",
    [
        ("POST", "/bad%20tag", None),
        ("POST", "/" + "t" * 81, None),
        ("PUT", "", {"tags": ["ok", "no/slash"]}),
        ("PUT", "", {"tags": "fruit"}),
        ("PUT", "", {}),
    ],
)
def test_names_dtool_refuses_get_422_and_change_nothing(
    api: testing.TestClient,
    auth: Header,
    dataset_uri: str,
    case: tuple[str, str, dict[str, object] | None],
) -> None:
    method, suffix, body = case
    reply = api.simulate_request(
        method, path("tags", dataset_uri) + suffix, json=body, headers=auth("grumpy")
    )

    assert reply.status_code == 422
    assert reply.json["code"] == 422
    assert on_disk(dataset_uri).list_tags() == ["fruit"]


@pytest.mark.parametrize(
    "case",
    [
        ("", {}, 422),
        ("", {"annotations": {"a": 1}, "value": 2}, 422),
        ("", {"annotations": {"bad name": 1}}, 422),
        ("/bad name", {"value": 1}, 422),
        ("", {"annotations": {"text": "nul\u0000"}}, 400),  # no JSON text we can store
    ],
)
def test_bad_annotation_bodies_are_refused(
    api: testing.TestClient,
    auth: Header,
    dataset_uri: str,
    case: tuple[str, object, int],
) -> None:
    suffix, body, status = case
    reply = api.simulate_put(
        path("annotations", dataset_uri) + suffix, json=body, headers=auth("grumpy")
    )

    assert reply.status_code == status
    assert on_disk(dataset_uri).list_annotation_names() == ["colour"]


def test_readme_without_text_is_422(
    api: testing.TestClient, auth: Header, dataset_uri: str
) -> None:
    reply = api.simulate_put(
        path("readmes", dataset_uri), json={"readme": 5}, headers=auth("grumpy")
    )

    assert reply.status_code == 422


@pytest.fixture
def blocked(dataset_uri: str) -> Path:
    """Put a file where the dataset's tags directory was: no one (root neither) can add a tag."""
    tags = Path(dataset_uri.removeprefix("file://").split("/", 1)[1])
    tags = Path("/") / tags / ".dtool" / "tags"
    shutil.rmtree(tags)
    tags.write_text("in the way")
    return tags


def test_unwritable_storage_is_502_and_the_index_is_unchanged(
    api: testing.TestClient, auth: Header, dataset_uri: str, blocked: Path
) -> None:
    reply = api.simulate_post(path("tags", dataset_uri, "new"), headers=auth("grumpy"))

    assert reply.status_code == 502
    assert "index is unchanged" in reply.json["message"]
    shown = api.simulate_get(path("tags", dataset_uri), headers=auth("grumpy"))
    assert shown.json == {"tags": ["fruit"]}


@pytest.mark.slow  # dtool-s3 over a moto server: seconds a request
def test_s3_datasets_are_curated_in_their_bucket(
    aws: Aws,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    sqlite_stores: Stores,
    auth: Header,
) -> None:
    bucket = new_bucket_name()
    aws.client("s3").create_bucket(Bucket=bucket)
    point_dtool_s3_at(monkeypatch, bucket, aws.endpoint)
    uri = make_s3_dataset(bucket, "pears", tags=("fruit",))
    sqlite_stores.admin.add_user("grumpy", False)
    sqlite_stores.admin.add_base_uri(f"s3://{bucket}")
    sqlite_stores.admin.set_permissions(f"s3://{bucket}", search=["grumpy"], register=["grumpy"])
    Registrar(sqlite_stores.admin, sqlite_stores.datasets).register_uri(uri)
    api = client_for(settings, sqlite_stores)
    grumpy = auth("grumpy")

    api.simulate_put(path("tags", uri), json={"tags": ["pome"]}, headers=grumpy)
    api.simulate_put(path("annotations", uri, "count"), json={"value": 2}, headers=grumpy)
    reply = api.simulate_put(path("readmes", uri), json={"readme": "---\nx: 1\n"}, headers=grumpy)

    assert reply.status_code == 200
    stored = dtoolcore.DataSet.from_uri(uri)
    assert stored.list_tags() == ["pome"]
    assert stored.get_annotation("count") == 2
    assert stored.get_readme_content() == "---\nx: 1\n"
    entry = api.simulate_get(f"/uris/{quote(uri, safe='')}", headers=grumpy)
    assert entry.status_code == 200
    hits = api.simulate_post("/uris", json={"tags": ["pome"]}, headers=grumpy).json
    assert [hit["uri"] for hit in hits] == [uri]


@pytest.mark.slow
def test_a_bucket_refusing_writes_is_502_and_the_index_is_unchanged(
    aws: Aws,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    sqlite_stores: Stores,
    auth: Header,
) -> None:
    bucket = new_bucket_name()
    aws.client("s3").create_bucket(Bucket=bucket)
    point_dtool_s3_at(monkeypatch, bucket, aws.endpoint)
    uri = make_s3_dataset(bucket, "pears", tags=("fruit",))
    sqlite_stores.admin.add_user("snow-white", True)
    sqlite_stores.admin.add_base_uri(f"s3://{bucket}")
    Registrar(sqlite_stores.admin, sqlite_stores.datasets).register_uri(uri)
    deny_writes = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    aws.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny_writes))
    api = client_for(settings, sqlite_stores)

    reply = api.simulate_post(path("tags", uri, "new"), headers=auth("snow-white"))

    assert reply.status_code == 502, reply.text
    assert "index is unchanged" in reply.json["message"]
    shown = api.simulate_get("/uris", params={"tags": "new"}, headers=auth("snow-white"))
    assert shown.json == []
