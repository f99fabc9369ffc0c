"""``dtool-lookup audit list|prune``: the trail the commands themselves leave."""

from __future__ import annotations

from tests.support.cli_runner import LookupCli


def fails(cli: LookupCli, *args: str) -> str:
    """Run, assert a failure exit code, and return what it said."""
    result = cli(*args)
    assert result.exit_code != 0, result.stdout
    return result.stdout + result.stderr


def test_list_shows_what_commands_changed_newest_first(cli: LookupCli) -> None:
    cli.ok("user", "add", "ann")
    cli.ok("base-uri", "add", "s3://bucket")
    cli.ok("user", "search-permission", "ann", "s3://bucket")

    entries = cli.json("audit", "list", "--json")
    text = cli.ok("audit", "list", "--user", "ann").stdout

    assert [(e["subject_kind"], e["action"], e["actor"]["name"]) for e in entries] == [
        ("permission", "granted", "user search-permission"),
        ("base_uri", "added", "base-uri add"),
        ("user", "added", "user add"),
    ]
    assert "user added  ann  by command:user add" in text


def test_list_refuses_times_that_are_no_time(cli: LookupCli) -> None:
    assert "ISO 8601" in fails(cli, "audit", "list", "--since", "soon")
    assert "ends before it begins" in fails(
        cli, "audit", "list", "--since", "2026-12-06", "--until", "2026-12-05"
    )


def test_prune_keeps_recent_entries_and_needs_a_retention(cli: LookupCli) -> None:
    cli.ok("user", "add", "ann")

    assert "RETENTION_DAYS is 0" in fails(cli, "audit", "prune")
    assert "Deleted 0 audit" in cli.ok("audit", "prune", "--older-than-days", "1").stdout
    assert len(cli.json("audit", "list", "--json")) == 1
