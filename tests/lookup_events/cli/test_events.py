"""``dtool-lookup events status|dead|replay`` on the embedded queue, fed by real failures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookup_events.events import DatasetEvent
from lookup_events.queue.event_queue import EventQueue
from lookup_events.registrar.batch import BatchHandler
from lookup_events.registrar.worker import RegistrarWorker
from lookup_events.registrar.writer import Registrar
from lookup_events.store import Stores, open_stores
from lookup_events.uris import normalise_uri
from tests.support.cli_runner import LookupCli, clean_env
from tests.support.datasets import make_dataset

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A base holding a good dataset and one whose manifest is not JSON."""
    path = tmp_path / "archive"
    make_dataset(path, "good")
    make_dataset(path, "broken")
    return path


@pytest.fixture
def cli(tmp_path: Path, base: Path) -> LookupCli:
    runner = LookupCli(clean_env(tmp_path / "data"))
    runner.ok("base-uri", "add", str(base))
    return runner


@pytest.fixture
def stores(cli: LookupCli) -> Iterator[Stores]:
    opened = open_stores(cli.settings())
    yield opened
    opened.close()


def drain(cli: LookupCli, stores: Stores) -> dict[str, int]:
    """Run the registrar's worker on the CLI's queue until it is idle."""
    with EventQueue(cli.settings().broker_url) as queue:
        registrar = Registrar(stores.admin, stores.datasets)
        worker = RegistrarWorker(queue, BatchHandler(registrar), lambda: None)
        return dict(worker.run(threading.Event(), idle_timeout=1))


def break_manifest(base: Path) -> bytes:
    """Spoil the manifest of dataset ``broken``; return what it held."""
    manifest = base / "broken" / ".dtool" / "manifest.json"
    original = manifest.read_bytes()
    manifest.write_text("{not json")
    return original


@pytest.mark.slow
def test_a_failed_dataset_is_listed_with_its_reason_and_replayed_once_fixed(
    cli: LookupCli, base: Path, stores: Stores
) -> None:
    original = break_manifest(base)
    index = cli.ok("base-uri", "index", str(base))
    assert index.stdout.splitlines()[-1] == "Registered 1 datasets, 1 failed"
    assert cli.json("events", "status") == {"ready": 0, "delayed": 0, "dead": 1}

    listing = cli.ok("events", "dead")
    subject, reason = listing.stdout.splitlines()
    broken = normalise_uri(str(base / "broken"))
    assert subject.endswith(f"attempts: 1  frozen {broken} (from index)")
    assert "JSONDecodeError" in reason
    assert listing.stderr == "1 dead letter(s)\n"
    (letter,) = cli.json("events", "dead", "--json")
    assert (letter["uri"], letter["attempts"]) == (broken, 1)

    (base / "broken" / ".dtool" / "manifest.json").write_bytes(original)
    assert cli.ok("events", "replay").stdout == "Replayed 1 dead letter(s)\n"
    assert cli.json("events", "status") == {"ready": 1, "delayed": 0, "dead": 0}
    assert drain(cli, stores) == {"registered": 1}
    assert stores.datasets.get(broken) is not None


@pytest.mark.slow
def test_letters_that_are_no_event_are_listed_but_never_replayed(
    cli: LookupCli, stores: Stores
) -> None:
    with EventQueue(cli.settings().broker_url) as queue:
        queue.send("   this is\n not an event   ", "work", {})
    assert drain(cli, stores) == {}

    listing = cli.ok("events", "dead")
    assert "not an event: this is not an event" in listing.stdout
    assert "event is not JSON" in listing.stdout
    assert cli.ok("events", "replay").stdout == "Replayed 0 dead letter(s)\n"
    assert cli.json("events", "status")["dead"] == 1


def test_replay_can_pick_one_dataset(cli: LookupCli, base: Path, tmp_path: Path) -> None:
    with EventQueue(cli.settings().broker_url) as queue:
        for name in ("one", "two"):
            uri = f"file://elsewhere{tmp_path}/{name}"
            body = DatasetEvent.create("frozen", uri, "watch").to_json()
            queue.dead_letter(body, "UnknownBaseURI: not registered", attempts=1)

    result = cli.ok("events", "replay", "--uri", f"file://elsewhere{tmp_path}/two")

    assert result.stdout == "Replayed 1 dead letter(s)\n"
    remaining = cli.json("events", "dead", "--json")
    assert [letter["uri"] for letter in remaining] == [f"file://elsewhere{tmp_path}/one"]
    assert cli.json("events", "status") == {"ready": 1, "delayed": 0, "dead": 1}


def test_an_empty_queue_has_nothing_to_show(cli: LookupCli) -> None:
    listing = cli.ok("events", "dead")
    assert (listing.stdout, listing.stderr) == ("", "0 dead letter(s)\n")
    assert cli.ok("events", "replay").stdout == "Replayed 0 dead letter(s)\n"
