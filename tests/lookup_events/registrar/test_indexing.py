"""``base-uri index`` follows its events to their outcome, whoever registers them.

A real ``dtool-lookup registrar`` process consumes the same embedded queue
while the command runs, so some of the command's events are settled by it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookup_events.config import Settings
from lookup_events.events import DatasetEvent
from lookup_events.registrar.indexing import NOT_YET, IndexReport, QueueIndexer, Result
from lookup_events.services import Services
from lookup_events.sources.listing import index_events
from lookup_events.store import Stores, open_stores
from lookup_events.uris import normalise_uri
from tests.support.cli_runner import LookupCli, clean_env
from tests.support.datasets import corrupt, make_dataset, set_readme
from tests.support.processes import process_env, run_lookup, stopped_cleanly, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy"),
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of every process: a data directory of the test's own."""
    return process_env(tmp_path / "data")


@pytest.fixture
def cli(tmp_path: Path) -> LookupCli:
    return LookupCli(clean_env(tmp_path / "data"))


@pytest.fixture
def stores(cli: LookupCli) -> Iterator[Stores]:
    cli.ok("db", "upgrade")
    opened = open_stores(cli.settings())
    yield opened
    opened.close()


@pytest.fixture
def base(tmp_path: Path, cli: LookupCli) -> Path:
    path = tmp_path / "base"
    path.mkdir()
    cli.ok("base-uri", "add", str(path))
    return path


def test_index_reports_every_dataset_while_a_registrar_takes_some_of_them(
    tmp_path: Path, env: dict[str, str], cli: LookupCli, stores: Stores, base: Path
) -> None:
    uris = [make_dataset(base, f"ds-{number:02d}") for number in range(40)]
    with run_lookup(["registrar", "--no-rescan"], env, tmp_path) as registrar:
        assert wait_until(lambda: "connected to the event queue" in registrar.log(), 30)
        result = cli.ok("base-uri", "index", str(base))
        stopped_cleanly(registrar)

    lines = result.stdout.splitlines()
    assert sorted(lines[:-1]) == [f"Registered: {uri}" for uri in uris]
    assert lines[-1] == "Registered 40 datasets, 0 failed"
    assert all(stores.datasets.get(uri) is not None for uri in uris)


def _published_and_taken_elsewhere(services: Services, base: Path) -> list[DatasetEvent]:
    """Publish the index events of ``base`` and let another registrar settle all of them."""
    events = index_events(normalise_uri(str(base)))
    services.publisher(patience=0).publish_many(events)
    other = services.registrar_worker(store_wait=0, on_outcome=lambda outcome: None)
    other.run(threading.Event(), idle_timeout=0.5)
    return events


def test_a_stale_record_is_never_reported_as_registered(tmp_path: Path) -> None:
    services = Services(Settings(data_dir=tmp_path / "data").completed())
    base = tmp_path / "base"
    base.mkdir()
    services.admin.add_base_uri(normalise_uri(str(base)))
    good, broken, changing = (make_dataset(base, name) for name in ("good", "broken", "changing"))
    services.registrar().register_uri(broken)  # a record that will go stale
    corrupt(base, "broken", ".dtool/manifest.json")  # the other registrar dead-letters it
    events = _published_and_taken_elsewhere(services, base)
    set_readme(base, "changing", "---\ndescription: edited after the other registrar ran\n")
    indexer = QueueIndexer(
        services.datasets,
        services.registrar(),
        services.registrar_worker(store_wait=0),
        idle=0.2,
        wait=0.5,
    )

    reports = {report.uri: report for report in indexer.reports(events)}

    assert reports[good] == IndexReport(good, Result.REGISTERED)
    assert reports[broken].result is Result.FAILED
    assert "InvalidDataset" in reports[broken].reason
    assert services.datasets.get(broken) is not None  # the stale record is still there
    assert reports[changing] == IndexReport(changing, Result.FAILED, NOT_YET)
    services.close()
