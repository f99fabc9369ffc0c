"""A family of datasets linked by parent UUIDs, for the dependency-graph tests.

Parent and child in s3://snow-white, a grandchild of the child in s3://mr-men,
and a dataset naming the parent under a key no default walks
(``readme.made_from``). grumpy may search both base URIs, sleepy only
s3://mr-men, snow-white neither.
"""

from __future__ import annotations

from typing import Any

from lookup_events.model import record_from_info
from lookup_events.store import Stores
from tests.support.data import MR_MEN, SNOW_WHITE, load_anchor_users, make_info

PARENT, CHILD, GRANDCHILD, LONER = (str(make_info(i, SNOW_WHITE)["uuid"]) for i in range(4))
LINKS: list[tuple[str, str, dict[str, Any]]] = [
    (SNOW_WHITE, "---\ndescription: parent\n", {}),
    (SNOW_WHITE, f"---\nderived_from:\n  uuid: {PARENT}\n", {}),
    (MR_MEN, "---\n", {"source_dataset_uuid": CHILD}),
    (SNOW_WHITE, f"---\nmade_from: {PARENT}\n", {}),
]


def load_family(stores: Stores) -> None:
    """Register the users, the two base URIs and the family."""
    load_anchor_users(stores)
    stores.admin.add_base_uri(MR_MEN)
    stores.admin.set_permissions(SNOW_WHITE, search=["grumpy"], register=[])
    stores.admin.set_permissions(MR_MEN, search=["grumpy", "sleepy"], register=[])
    for i, (base_uri, readme, values) in enumerate(LINKS):
        info = make_info(i, base_uri)
        info.update(readme=readme, annotations=values)
        stores.datasets.upsert(record_from_info(info))
