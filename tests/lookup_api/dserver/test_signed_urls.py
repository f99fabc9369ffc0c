"""Signed URLs: links for searchers only; disk files streamed to valid tokens; S3 presigned."""

from __future__ import annotations

import dataclasses
import json
import os
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import dtoolcore
import pytest
from falcon import testing

from lookup_api.app import create_app
from lookup_api.signing import Grant, Signer
from lookup_events.config import Settings
from lookup_events.registrar.writer import Registrar
from lookup_events.storage.content import DatasetContent
from lookup_events.store import Stores
from tests.support.api import Header
from tests.support.aws import Aws, make_s3_dataset, new_bucket_name, point_dtool_s3_at
from tests.support.datasets import make_dataset

SECRET = "a test secret that is long enough"
ITEMS = {"a.txt": b"apple", "deep/b.bin": bytes(range(256)) * 4}


def identifier(relpath: str) -> str:
    return str(dtoolcore.utils.generate_identifier(relpath))


def grant_access(stores: Stores, base_uri: str) -> None:
    """grumpy may search ``base_uri``; dopey is registered but may not."""
    for username in ("grumpy", "dopey"):
        if stores.admin.get_user(username) is None:
            stores.admin.add_user(username, False)
    stores.admin.add_base_uri(base_uri)
    stores.admin.set_permissions(base_uri, search=["grumpy"], register=[])


@pytest.fixture
def linked(settings: Settings) -> Settings:
    return dataclasses.replace(settings, signed_url_secret=SECRET, signed_url_expiry=60)


@pytest.fixture
def api(linked: Settings, sqlite_stores: Stores) -> testing.TestClient:
    return testing.TestClient(create_app(linked, sqlite_stores, content=DatasetContent()))


@pytest.fixture
def disk_uri(tmp_path: Path, sqlite_stores: Stores) -> str:
    uri = make_dataset(tmp_path / "base", "apples", items=ITEMS, annotations={"colour": "red"})
    overlays = tmp_path / "base" / "apples" / ".dtool" / "overlays"
    overlays.mkdir(exist_ok=True)
    (overlays / "ripe.json").write_text(json.dumps({identifier("a.txt"): True}))
    grant_access(sqlite_stores, uri.rsplit("/", 1)[0])
    Registrar(sqlite_stores.admin, sqlite_stores.datasets).register_uri(uri)
    return uri


def links(api: testing.TestClient, auth: Header, uri: str, user: str = "grumpy") -> Any:
    return api.simulate_get(f"/signed-urls/dataset/{quote(uri, safe='')}", headers=auth(user))


def fetch(api: testing.TestClient, url: str) -> Any:
    """GET one of our own signed links, without any token."""
    return api.simulate_get(urlsplit(url).path)


def test_dataset_links_have_the_successor_shape(
    api: testing.TestClient, auth: Header, disk_uri: str
) -> None:
    reply = links(api, auth, disk_uri)

    assert reply.status_code == 200
    body = reply.json
    assert set(body) == {
        "uri",
        "expiry_seconds",
        "expiry_timestamp",
        "admin_metadata_url",
        "manifest_url",
        "readme_url",
        "item_urls",
        "overlay_urls",
        "annotation_urls",
        "tags",
    }
    assert body["uri"] == disk_uri
    assert body["expiry_seconds"] == 60
    assert body["expiry_timestamp"].endswith("Z")
    assert set(body["item_urls"]) == {identifier(r) for r in ITEMS}
    assert set(body["overlay_urls"]) == {"ripe"}
    assert set(body["annotation_urls"]) == {"colour"}


def test_every_disk_link_downloads_its_file(
    api: testing.TestClient, auth: Header, disk_uri: str
) -> None:
    body = links(api, auth, disk_uri).json

    for relpath, content in ITEMS.items():
        item = fetch(api, body["item_urls"][identifier(relpath)])
        assert item.status_code == 200
        assert item.content == content
        assert item.headers["content-length"] == str(len(content))
        assert os.path.basename(relpath) in item.headers["content-disposition"]
    assert fetch(api, body["annotation_urls"]["colour"]).json == "red"
    assert fetch(api, body["overlay_urls"]["ripe"]).json == {identifier("a.txt"): True}
    assert "apples" in fetch(api, body["readme_url"]).text
    assert fetch(api, body["admin_metadata_url"]).json["uuid"]
    assert set(fetch(api, body["manifest_url"]).json["items"]) == set(body["item_urls"])


def test_item_link(api: testing.TestClient, auth: Header, disk_uri: str) -> None:
    wanted = identifier("a.txt")

    reply = api.simulate_get(
        f"/signed-urls/item/{quote(disk_uri, safe='')}/{wanted}", headers=auth("grumpy")
    )

    assert reply.status_code == 200
    assert reply.json["identifier"] == wanted
    assert fetch(api, reply.json["url"]).content == b"apple"


def test_only_searchers_get_links(api: testing.TestClient, auth: Header, disk_uri: str) -> None:
    item = f"/signed-urls/item/{quote(disk_uri, safe='')}/{identifier('a.txt')}"

    assert links(api, auth, disk_uri, user="dopey").status_code == 403
    assert api.simulate_get(item, headers=auth("dopey")).status_code == 403
    assert links(api, auth, disk_uri + "x").status_code == 404
    assert links(api, auth, disk_uri, user="nobody").status_code == 401
    assert api.simulate_get(item.replace("/signed-urls/", "/signed-urls/x")).status_code == 404


def test_an_unknown_item_is_404(api: testing.TestClient, auth: Header, disk_uri: str) -> None:
    reply = api.simulate_get(
        f"/signed-urls/item/{quote(disk_uri, safe='')}/{'0' * 40}", headers=auth("grumpy")
    )

    assert reply.status_code == 404


def test_tampered_tokens_are_403_and_expired_ones_410(
    api: testing.TestClient, auth: Header, disk_uri: str
) -> None:
    url = links(api, auth, disk_uri).json["item_urls"][identifier("a.txt")]
    token = urlsplit(url).path.rsplit("/", 1)[1]
    payload, signature = token.split(".")
    other_item = Grant(disk_uri, "item", identifier("deep/b.bin"), 2**40)
    forged = Signer("another secret").sign(other_item)
    expired = Signer(SECRET, clock=lambda: 1000.0).sign(Grant(disk_uri, "readme", "", 1000))

    for bad in (
        f"{payload}.{signature[:-2]}AA",
        f"{payload[:-2]}AA.{signature}",
        payload,
        forged,
        "not-a-token",
    ):
        reply = api.simulate_get(f"/signed-urls/content/{bad}")
        assert reply.status_code == 403, bad
        assert reply.json["code"] == 403
    assert api.simulate_get(f"/signed-urls/content/{expired}").status_code == 410


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("item", "../../../../etc/passwd"),
        ("annotation", "../../../etc/passwd"),
        ("overlay", "../manifest"),
        ("readme", "../../x"),
        ("secret", ""),
        ("item", "0" * 40),
    ],
)
def test_no_token_reaches_outside_the_dataset(
    api: testing.TestClient, disk_uri: str, kind: str, name: str
) -> None:
    token = Signer(SECRET).sign(Grant(disk_uri, kind, name, 2**40))

    assert api.simulate_get(f"/signed-urls/content/{token}").status_code == 404


def test_a_manifest_or_symlink_leading_out_is_refused(
    api: testing.TestClient, tmp_path: Path, disk_uri: str
) -> None:
    root = Path(urlsplit(disk_uri).path)
    outside = tmp_path / "outside.txt"
    outside.write_text("private")
    manifest_path = root / ".dtool" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["items"][identifier("a.txt")]["relpath"] = "../../outside.txt"
    manifest_path.write_text(json.dumps(manifest))
    (root / "data" / "deep" / "b.bin").unlink()
    (root / "data" / "deep" / "b.bin").symlink_to(outside)

    for relpath in ITEMS:
        token = Signer(SECRET).sign(Grant(disk_uri, "item", identifier(relpath), 2**40))
        assert api.simulate_get(f"/signed-urls/content/{token}").status_code == 404


def test_items_are_streamed_in_blocks(
    linked: Settings, sqlite_stores: Stores, disk_uri: str
) -> None:
    root = Path(urlsplit(disk_uri).path)
    (root / "data" / "a.txt").write_bytes(b"x" * 4_000_000)
    app = create_app(linked, sqlite_stores, content=DatasetContent())
    token = Signer(SECRET).sign(Grant(disk_uri, "item", identifier("a.txt"), 2**40))
    environ = testing.create_environ(path=f"/signed-urls/content/{token}")

    body = app(environ, lambda status, headers: None)
    first = next(iter(body))

    assert 0 < len(first) <= 64 * 1024
    assert sum(len(chunk) for chunk in body) + len(first) == 4_000_000


def test_without_a_secret_disk_links_are_503_with_the_setting_named(
    settings: Settings, sqlite_stores: Stores, auth: Header, disk_uri: str
) -> None:
    api = testing.TestClient(create_app(settings, sqlite_stores, content=DatasetContent()))

    reply = links(api, auth, disk_uri)

    assert reply.status_code == 503
    assert "DTOOL_LOOKUP_SIGNED_URL_SECRET" in reply.json["message"]


def test_s3_datasets_get_presigned_urls(
    aws: Aws,
    monkeypatch: pytest.MonkeyPatch,
    api: testing.TestClient,
    auth: Header,
    sqlite_stores: Stores,
) -> None:
    bucket = new_bucket_name()
    aws.client("s3").create_bucket(Bucket=bucket)
    point_dtool_s3_at(monkeypatch, bucket, aws.endpoint)
    uri = make_s3_dataset(bucket, "pears", items={"p.txt": b"pear"})
    grant_access(sqlite_stores, f"s3://{bucket}")
    Registrar(sqlite_stores.admin, sqlite_stores.datasets).register_uri(uri)

    body = links(api, auth, uri).json

    url = body["item_urls"][identifier("p.txt")]
    assert url.startswith(aws.endpoint) and "Signature" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"pear"
    with urllib.request.urlopen(body["readme_url"]) as response:
        assert response.read().decode() == "---\nproject: pears\n"
