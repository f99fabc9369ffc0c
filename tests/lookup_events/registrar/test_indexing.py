"""``base-uri index`` follows its events to their outcome, whoever registers them.

A real ``dtool-lookup registrar`` process consumes the same embedded queue
while the command runs, so some of the command's events are settled by it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lookup_events.store import Stores, open_stores
from tests.support.cli_runner import LookupCli, clean_env
from tests.support.datasets import make_dataset
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
