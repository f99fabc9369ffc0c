"""``dtool-lookup base-uri add|list|index``: output, records and failures on real datasets."""

from __future__ import annotations

import os
import pty
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lookup_events.store import open_stores
from lookup_events.store.protocols import PageRequest, SearchQuery
from tests.support.cli_runner import LookupCli, clean_env
from tests.support.datasets import corrupt, make_dataset, set_readme


def local(path: Path) -> str:
    return f"file://{socket.gethostname()}{path}"


def test_base_uri_add_normalises_local_paths(cli: LookupCli, tmp_path: Path) -> None:
    cli.ok("base-uri", "add", str(tmp_path / "archive"))
    cli.ok("base_uri", "add", "s3://bucket/")
    listed = [item["base_uri"] for item in cli.json("base-uri", "list")]
    assert listed == [local(tmp_path / "archive"), "s3://bucket"]


def test_adding_a_base_uri_twice_fails(cli: LookupCli) -> None:
    cli.ok("base-uri", "add", "s3://bucket")
    result = cli("base-uri", "add", "s3://bucket/")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Base URI 's3://bucket' already registered"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A base directory with two good datasets, a proto and two broken ones."""
    path = tmp_path / "archive"
    make_dataset(
        path,
        "apples",
        items={"a.txt": b"apple", "b/c.txt": b"crumble"},
        tags=["fruit", "red"],
        annotations={"colour": "red", "weight": 0.2},
    )
    make_dataset(path, "pears", readme="---\ndescription: conference pears\n", tags=["fruit"])
    make_dataset(path, "unfinished", freeze=False)
    make_dataset(path, "bad-manifest")
    corrupt(path, "bad-manifest", ".dtool/manifest.json")
    make_dataset(path, "bad-admin")
    corrupt(path, "bad-admin", ".dtool/dtool")
    (path / "not-a-dataset").mkdir()
    return path


@pytest.fixture
def archive_cli(tmp_path: Path, base: Path) -> LookupCli:
    """The command line on an embedded data directory, ``base`` registered."""
    runner = LookupCli(clean_env(tmp_path / "data"))
    runner.ok("base-uri", "add", str(base))
    return runner


@pytest.fixture
def records(archive_cli: LookupCli) -> Iterator[Any]:
    opened = open_stores(archive_cli.settings())
    yield opened
    opened.close()


def test_index_reports_each_dataset_and_a_count(archive_cli: LookupCli, base: Path) -> None:
    result = archive_cli.ok("base-uri", "index", str(base))

    lines = result.stdout.splitlines()
    assert sorted(lines[:-1]) == [
        f"Registered: {local(base / 'apples')}",
        f"Registered: {local(base / 'pears')}",
    ]
    assert lines[-1] == "Registered 2 datasets, 2 failed"
    failures = sorted(result.stderr.splitlines())
    assert len(failures) == 2
    assert failures[0].startswith(f"Failed to register: {local(base / 'bad-admin')}: ")
    assert failures[1].startswith(f"Failed to register: {local(base / 'bad-manifest')}: ")
    assert "unfinished" not in result.stdout + result.stderr


def test_indexed_records_hold_what_is_on_disk(
    archive_cli: LookupCli, base: Path, records: Any
) -> None:
    archive_cli.ok("base-uri", "index", str(base))

    apples = records.datasets.get(local(base / "apples"))
    assert apples.entry.name == "apples"
    assert apples.entry.creator_username == "grumpy"
    assert apples.entry.base_uri == local(base)
    assert sorted(apples.entry.tags) == ["fruit", "red"]
    assert apples.annotations == {"colour": "red", "weight": 0.2}
    assert "apples and pears" in apples.readme
    assert apples.entry.number_of_items == 2
    assert apples.entry.size_in_bytes == len(b"apple") + len(b"crumble")
    pears = records.datasets.get(local(base / "pears"))
    assert pears.readme == "---\ndescription: conference pears\n"
    for name in ("unfinished", "bad-manifest", "bad-admin"):
        assert records.datasets.get(local(base / name)) is None


def test_indexed_datasets_are_searchable(archive_cli: LookupCli, base: Path, records: Any) -> None:
    archive_cli.ok("base-uri", "index", str(base))
    query = SearchQuery(base_uris=(local(base),), free_text="conference")
    page = records.datasets.search(query, PageRequest())
    assert [entry.name for entry in page.items] == ["pears"]


def test_reindex_after_a_readme_change_updates_the_record(
    archive_cli: LookupCli, base: Path, records: Any
) -> None:
    archive_cli.ok("base-uri", "index", str(base))
    set_readme(base, "pears", "---\ndescription: quinces now\n")

    result = archive_cli.ok("base_uri", "index", f"file://{base}/")

    assert result.stdout.splitlines()[-1] == "Registered 2 datasets, 2 failed"
    assert records.datasets.get(local(base / "pears")).readme == "---\ndescription: quinces now\n"
    page = records.datasets.search(SearchQuery(base_uris=(local(base),)), PageRequest(size=50))
    assert page.total == 2


def test_index_of_an_unregistered_base_uri_fails(archive_cli: LookupCli, tmp_path: Path) -> None:
    result = archive_cli("base-uri", "index", str(tmp_path / "other"))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Base URI '{local(tmp_path / 'other')}' not registered"
    assert result.stdout == ""


def test_index_of_unreachable_storage_fails_with_the_reason(
    archive_cli: LookupCli, base: Path
) -> None:
    shutil.rmtree(base)
    result = archive_cli("base-uri", "index", str(base))
    assert result.exit_code == 1
    assert "cannot list" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_index_of_an_empty_base_uri(tmp_path: Path) -> None:
    cli = LookupCli(clean_env(tmp_path / "data"))
    (tmp_path / "empty").mkdir()
    cli.ok("base-uri", "add", str(tmp_path / "empty"))
    result = cli.ok("base-uri", "index", str(tmp_path / "empty"))
    assert result.stdout == "Registered 0 datasets, 0 failed\n"


@pytest.mark.slow
def test_index_on_a_terminal_shows_progress_and_the_same_lines(
    archive_cli: LookupCli, base: Path
) -> None:
    env = {**os.environ, **{k: v for k, v in archive_cli.env.items() if v is not None}}
    for name, value in archive_cli.env.items():
        if value is None:
            env.pop(name, None)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "lookup_events.cli", "base-uri", "index", str(base)],
        stdout=terminal,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the terminal closed
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    assert process.wait(timeout=30) == 0
    text = output.decode()
    assert "Indexing" in text
    assert f"Registered: {local(base / 'apples')}" in text
    assert "Registered 2 datasets, 2 failed" in text
