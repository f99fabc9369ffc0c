"""dtool's disk layout: admin metadata read while it settles, and what counts as frozen."""

from __future__ import annotations

from pathlib import Path

import pytest

from lookup_events.errors import InvalidDataset, NotFrozen
from lookup_events.storage.layout import Unsettled, check_frozen, read_admin_file
from tests.support.datasets import make_dataset


def test_admin_metadata_being_rewritten_is_read_again(tmp_path: Path) -> None:
    make_dataset(tmp_path, "fruit")
    admin = tmp_path / "fruit" / ".dtool" / "dtool"
    complete = admin.read_text()
    admin.write_text(complete[:20])  # what a reader sees mid-write

    settled = read_admin_file(str(tmp_path / "fruit"), pause=lambda _: admin.write_text(complete))
    assert settled is not None
    assert settled["type"] == "dataset"
    admin.write_text(complete[:20])
    with pytest.raises(Unsettled):
        read_admin_file(str(tmp_path / "fruit"), pause=lambda _: None)
    assert read_admin_file(str(tmp_path / "nothing-here")) is None


@pytest.mark.parametrize(
    ("admin", "expected"),
    [
        ({"type": "protodataset", "frozen_at": 1.0}, NotFrozen),  # as dtool cp writes it
        ({"type": None}, NotFrozen),
        ({"uuid": "x"}, InvalidDataset),
        ([{"type": "dataset"}], InvalidDataset),
    ],
)
def test_only_type_dataset_is_frozen(admin: object, expected: type[Exception]) -> None:
    assert check_frozen("file://h/ds", {"type": "dataset"}) == {"type": "dataset"}
    with pytest.raises(expected, match="file://h/ds"):
        check_frozen("file://h/ds", admin)
