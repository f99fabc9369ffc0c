"""DatasetEvent: its queue form, and the reasons a malformed message is refused."""

from __future__ import annotations

import json
import re
import socket
from typing import Any

import pytest

from lookup_events.errors import InvalidEvent
from lookup_events.events import DatasetEvent

UUID = "0627008f-d443-460d-a7fb-7b21f8e44f95"


def _valid(**changes: Any) -> dict[str, Any]:
    document = json.loads(DatasetEvent.create("frozen", f"s3://bucket/{UUID}", "s3").to_json())
    document.update(changes)
    return document


def test_an_event_survives_the_queue_unchanged() -> None:
    event = DatasetEvent.create(
        "removed", f"s3://bucket/{UUID}", "sqs", occurred_at=1795317871.5, sequencer="0055AED6DC"
    )

    again = DatasetEvent.from_json(event.to_json().encode())

    assert again == event
    assert again.base_uri == "s3://bucket"
    assert again.event_id


def test_create_normalises_local_paths_and_derives_the_base_uri(tmp_path: Any) -> None:
    event = DatasetEvent.create("frozen", str(tmp_path / "ds") + "/", "watch", clock=lambda: 7.0)

    host = socket.gethostname()
    assert event.uri == f"file://{host}{tmp_path}/ds"
    assert event.base_uri == f"file://{host}{tmp_path}"
    assert event.occurred_at == 7.0


def test_integer_times_are_read_as_floats() -> None:
    event = DatasetEvent.from_json(_valid(occurred_at=1795317871))

    assert isinstance(event.occurred_at, float)


def test_the_event_carries_no_metadata() -> None:
    document = json.loads(DatasetEvent.create("frozen", f"s3://b/{UUID}", "s3").to_json())

    assert set(document) == {
        "version",
        "kind",
        "uri",
        "base_uri",
        "source",
        "occurred_at",
        "sequencer",
        "event_id",
    }


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        ("not json at all", "not JSON"),
        ("[1, 2]", "JSON list, not an object"),
        (json.dumps({k: v for k, v in _valid().items() if k != "uri"}), "lacks field(s) uri"),
        (json.dumps(_valid(readme="hello")), "unknown field(s) readme"),
        (json.dumps(_valid(version=2)), "version 2 is not supported"),
        (json.dumps(_valid(kind="deleted")), "kind 'deleted' is not one of"),
        (json.dumps(_valid(uri="bucket/x", base_uri="bucket")), "not an absolute URI"),
        (json.dumps(_valid(uri=f"s3://bucket/{UUID}/")), "ends with a slash"),
        (json.dumps(_valid(uri="s3://bucket", base_uri="s3:")), "names no dataset"),
        (json.dumps(_valid(base_uri="s3://other")), "is not that of"),
        (json.dumps(_valid(uri=7)), "field uri must be a string"),
        (json.dumps(_valid(source="Amazon S3")), "source 'Amazon S3'"),
        (json.dumps(_valid(occurred_at="yesterday")), "time 'yesterday' is not a number"),
        (json.dumps(_valid(occurred_at=True)), "time True is not a number"),
        (json.dumps(_valid(occurred_at=-1)), "not a time since the epoch"),
        ('{"occurred_at": NaN}', "lacks field"),
        (json.dumps(_valid(sequencer="xyz")), "sequencer 'xyz' is not a hexadecimal"),
        (json.dumps(_valid(event_id="a\nb")), "not a printable string"),
    ],
)
def test_a_malformed_message_is_refused_with_a_readable_reason(
    message: str | bytes, reason: str
) -> None:
    with pytest.raises(InvalidEvent, match=re.escape(reason)):
        DatasetEvent.from_json(message)


def test_an_invalid_event_cannot_even_be_built() -> None:
    with pytest.raises(InvalidEvent, match="kind"):
        DatasetEvent.create("created", f"s3://bucket/{UUID}", "s3")  # type: ignore[arg-type]
