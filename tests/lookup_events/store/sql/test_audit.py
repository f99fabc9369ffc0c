"""The SQL audit trail shares the transaction of the change it records."""

from __future__ import annotations

import pytest

from lookup_events.model import record_from_info
from lookup_events.store import Stores
from lookup_events.store.actors import Actor
from lookup_events.store.audit import AuditQuery
from lookup_events.store.protocols import PageRequest
from tests.support.data import MR_MEN, SNOW_WHITE, bad_apples, make_info

# An actor whose cause no JSON encoder writes: its entry fails to insert.
UNWRITABLE = Actor("user", "ann", {"unwritable": object()})


def test_a_dataset_change_whose_entry_fails_is_rolled_back(stores: Stores) -> None:
    stores.admin.add_base_uri(SNOW_WHITE)
    record = record_from_info(bad_apples(SNOW_WHITE))

    with pytest.raises(Exception, match="not JSON serializable"):
        stores.datasets.upsert(record, UNWRITABLE)

    assert stores.datasets.get(record.uri) is None


def test_an_admin_change_whose_entry_fails_is_rolled_back(stores: Stores) -> None:
    with pytest.raises(Exception, match="not JSON serializable"):
        stores.admin.add_user("bob", actor=UNWRITABLE)

    assert stores.admin.get_user("bob") is None


def test_removing_a_base_uri_records_every_dataset_in_one_statement(stores: Stores) -> None:
    stores.admin.add_base_uri(MR_MEN)
    records = [record_from_info(make_info(i, MR_MEN)) for i in range(600)]
    stores.datasets.upsert_many(records)

    assert stores.datasets.delete_base_uri(MR_MEN, Actor.user("ann")) == 600

    removed = stores.audit.entries(AuditQuery(user="ann"), PageRequest(1, 1000))
    assert removed.total == 600
    assert {entry.subject for entry in removed.items} == {record.uri for record in records}
    assert all(entry.changes == {"reason": "base URI removed"} for entry in removed.items)
