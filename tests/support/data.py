"""Test data: the anchor test suite's users, base URIs and datasets, bodies, bulk records.

The anchor (dtool-lookup-server 0.18 ``tests/__init__.py``) registers users
grumpy, sleepy, snow-white (admin), base URIs s3://snow-white then
s3://mr-men, and three datasets by creator queen: bad-apples in both base
URIs and oranges in s3://snow-white.
"""

from __future__ import annotations

import copy
import uuid as uuidlib
from typing import Any

from lookup_events.model import DatasetRecord, record_from_info
from lookup_events.store import Stores

BAD_APPLES_UUID = "af6727bf-29c7-43dd-b42f-a5d7ede28337"
ORANGES_UUID = "a2218059-5bd0-4690-b090-062faf08e046"
SNOW_WHITE = "s3://snow-white"
MR_MEN = "s3://mr-men"
FROZEN_AT = 1536238185.881941

BAD_APPLES_MANIFEST = {
    "dtoolcore_version": "3.7.0",
    "hash_function": "md5sum_hexdigest",
    "items": {
        "e4cc3a7dc281c3d89ed4553293c4b4b110dc9bf3": {
            "hash": "d89117c9da2cc34586e183017cb14851",
            "relpath": "U00096.3.rev.1.bt2",
            "size_in_bytes": 5741810,
            "utc_timestamp": 1536832115.0,
        }
    },
}


def bad_apples(base_uri: str) -> dict[str, Any]:
    """Return the anchor's bad-apples dataset info in ``base_uri``."""
    return {
        "base_uri": base_uri,
        "type": "dataset",
        "uuid": BAD_APPLES_UUID,
        "uri": f"{base_uri}/{BAD_APPLES_UUID}",
        "name": "bad-apples",
        "readme": "---\ndescripton: apples from queen",
        "manifest": copy.deepcopy(BAD_APPLES_MANIFEST),
        "creator_username": "queen",
        "frozen_at": FROZEN_AT,
        "annotations": {"type": "fruit"},
        "tags": ["evil", "fruit"],
        "size_in_bytes": 5741810,
        "number_of_items": 1,
    }


def oranges() -> dict[str, Any]:
    """Return the anchor's oranges dataset info (in s3://snow-white)."""
    return {
        "base_uri": SNOW_WHITE,
        "type": "dataset",
        "uuid": ORANGES_UUID,
        "uri": f"{SNOW_WHITE}/{ORANGES_UUID}",
        "name": "oranges",
        "readme": "---\ndescripton: oranges from queen",
        "manifest": {
            "dtoolcore_version": "3.7.0",
            "hash_function": "md5sum_hexdigest",
            "items": {},
        },
        "creator_username": "queen",
        "frozen_at": FROZEN_AT,
        "annotations": {"type": "fruit", "only_here": "crazystuff"},
        "tags": ["good", "fruit"],
        "size_in_bytes": 0,
        "number_of_items": 0,
    }


def anchor_infos() -> list[dict[str, Any]]:
    """Return the three anchor dataset infos in registration order."""
    return [bad_apples(SNOW_WHITE), bad_apples(MR_MEN), oranges()]


def anchor_records() -> list[DatasetRecord]:
    """Return the three anchor datasets as validated records."""
    return [record_from_info(info) for info in anchor_infos()]


def load_anchor_users(stores: Stores) -> None:
    """Load ``tmp_app_with_users``: s3://snow-white searchable by grumpy and sleepy."""
    for username, is_admin in (("snow-white", True), ("grumpy", False), ("sleepy", False)):
        stores.admin.add_user(username, is_admin)
    stores.admin.add_base_uri(SNOW_WHITE)
    stores.admin.set_permissions(SNOW_WHITE, search=["grumpy", "sleepy"], register=["grumpy"])


def load_anchor_data(stores: Stores) -> None:
    """Load ``tmp_app_with_data``: users, both base URIs (grumpy only) and datasets."""
    for username, is_admin in (("grumpy", False), ("sleepy", False), ("snow-white", True)):
        stores.admin.add_user(username, is_admin)
    for base_uri in (SNOW_WHITE, MR_MEN):
        stores.admin.add_base_uri(base_uri)
        stores.admin.set_permissions(base_uri, search=["grumpy"], register=["grumpy"])
    for record in anchor_records():
        stores.datasets.upsert(record)


def make_info(i: int, base_uri: str, items: int = 3) -> dict[str, Any]:
    """Return a synthetic, valid dataset info number ``i`` in ``base_uri``."""
    uuid = str(uuidlib.UUID(int=i + 1))
    manifest_items = {
        f"{i:08x}{n:032x}": {
            "hash": f"{n:032x}",
            "relpath": f"data/sample_{i}_{n}.csv",
            "size_in_bytes": 1000 + n,
            "utc_timestamp": 1600000000.0 + n,
        }
        for n in range(items)
    }
    return {
        "base_uri": base_uri,
        "type": "dataset",
        "uuid": uuid,
        "uri": f"{base_uri}/{uuid}",
        "name": f"dataset-{i:06d}",
        "readme": f"---\ndescription: synthetic dataset {i}\nproject: project{i % 10}\n",
        "manifest": {
            "dtoolcore_version": "3.19.0",
            "hash_function": "md5sum_hexdigest",
            "items": manifest_items,
        },
        "creator_username": f"user{i % 7}",
        "frozen_at": 1600000000.123456 + i,
        "created_at": 1599999000.654321 + i,
        "annotations": {"index": i, "group": f"group{i % 5}"},
        "tags": [f"tag{i % 3}", f"tag{i % 11}"] if i % 2 else [f"tag{i % 3}"],
    }


def dataset_info(**changes: Any) -> dict[str, Any]:
    """Return a valid 0.18 dataset info (string ``frozen_at``) with ``changes`` applied."""
    body = {
        "base_uri": "s3://snow-white",
        "uuid": BAD_APPLES_UUID,
        "uri": f"s3://snow-white/{BAD_APPLES_UUID}",
        "name": "my-dataset",
        "type": "dataset",
        "readme": "---\ndescription: test dataset",
        "manifest": copy.deepcopy(BAD_APPLES_MANIFEST),
        "creator_username": "olssont",
        "frozen_at": "1536238185.881941",
        "annotations": {"software": "bowtie2", "n": 5, "nested": {"a": [1, "x"]}},
        "tags": ["rnaseq"],
    }
    body.update(changes)
    return body


def register_body(**changes: Any) -> dict[str, Any]:
    """Return the anchor's register-route body (string timestamps, README text)."""
    body: dict[str, Any] = {
        "base_uri": SNOW_WHITE,
        "uuid": BAD_APPLES_UUID,
        "uri": f"{SNOW_WHITE}/{BAD_APPLES_UUID}",
        "name": "my-dataset",
        "type": "dataset",
        "readme": "---\ndescription: test dataset",
        "manifest": {
            "dtoolcore_version": "3.7.0",
            "hash_function": "md5sum_hexdigest",
            "items": {
                "e4cc3a7dc281c3d89ed4553293c4b4b110dc9bf3": {
                    "hash": "d89117c9da2cc34586e183017cb14851",
                    "relpath": "U00096.3.rev.1.bt2",
                    "size_in_bytes": 5741810,
                    "utc_timestamp": 1536832115.0,
                }
            },
        },
        "creator_username": "olssont",
        "frozen_at": "1536238185.881941",
        "annotations": {"software": "bowtie2"},
        "tags": ["rnaseq"],
        "number_of_items": 1,
        "size_in_bytes": 5741810,
    }
    body.update(changes)
    return body
