"""The events ``base-uri index`` publishes: one per frozen dataset, broken ones included."""

from __future__ import annotations

from pathlib import Path

from lookup_events.sources.listing import index_events
from lookup_events.uris import normalise_uri
from tests.support.datasets import corrupt, make_dataset


def test_frozen_and_unreadable_datasets_get_an_event_protos_do_not(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    good = [make_dataset(base, name) for name in ("one", "two")]
    make_dataset(base, "proto", freeze=False)
    bad = make_dataset(base, "bad")
    corrupt(base, "bad", ".dtool/dtool")  # the registrar decides, with the reason

    events = index_events(normalise_uri(str(base)))

    assert sorted(event.uri for event in events) == sorted([*good, bad])
    assert {(event.kind, event.source) for event in events} == {("frozen", "index")}
