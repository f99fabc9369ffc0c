"""A search body's criteria as a query: how UUIDs are spelled."""

from __future__ import annotations

import pytest

from lookup_events.store.criteria import canonical_uuid

UUID = "af6727bf-29c7-43dd-b42f-a5d7ede28337"


@pytest.mark.parametrize(
    "spelling",
    [UUID, UUID.upper(), UUID.replace("-", ""), f"{{{UUID}}}", f"urn:uuid:{UUID}"],
)
def test_every_spelling_of_a_uuid_becomes_the_canonical_one(spelling: str) -> None:
    assert canonical_uuid(spelling) == UUID


@pytest.mark.parametrize("text", ["", "x", f"{UUID}0", UUID[:-1], f" {UUID}"])
def test_other_text_is_kept_as_it_is(text: str) -> None:
    assert canonical_uuid(text) == text
