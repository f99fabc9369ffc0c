"""``dtool-lookup audit ...``: read the audit trail and prune it."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime
from typing import Any

import click

from lookup_events.cli.context import fail, pass_services
from lookup_events.services import Services
from lookup_events.store.audit import AuditEntry, AuditQuery, parse_time
from lookup_events.store.protocols import PageRequest
from lookup_events.uris import normalise_uri

_DAY = 86_400.0


class TimeParam(click.ParamType[float]):
    """Seconds since 1970 or an ISO 8601 time (UTC when it names no zone)."""

    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """Return the time as seconds since 1970, or fail naming the option."""
        if isinstance(value, float):
            return value
        try:
            return parse_time(str(value))
        except ValueError as ex:
            self.fail(str(ex), param, ctx)


@click.group("audit")
def audit_group() -> None:
    """Read and prune the audit trail: who or what changed what, and when."""


@audit_group.command("list")
@click.option("--uri", help="Only the entries of this dataset URI.")
@click.option("--user", help="Only what this user did, or what was done to them.")
@click.option("--since", type=TimeParam(), help="Entries at or after this time.")
@click.option("--until", type=TimeParam(), help="Entries at or before this time.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@pass_services
def list_entries(  # noqa: PLR0917 (click passes every option by keyword)
    services: Services,
    uri: str | None,
    user: str | None,
    since: float | None,
    until: float | None,
    limit: int,
    as_json: bool,
) -> None:
    """List audit entries, newest first."""
    if since is not None and until is not None and until < since:
        raise click.BadParameter("the range ends before it begins", param_hint="--until")
    query = AuditQuery(normalise_uri(uri) if uri else None, user, since, until)
    result = services.stores.audit.entries(query, PageRequest(1, limit))
    if as_json:
        click.echo(json.dumps([_as_dict(entry) for entry in result.items], indent=2))
        return
    for entry in result.items:
        click.echo(_line(entry))
    click.echo(f"{len(result.items)} of {result.total} entr(y/ies)", err=True)


@audit_group.command("prune")
@click.option(
    "--older-than-days",
    type=click.IntRange(min=1),
    help="Delete entries older than this (default: DTOOL_LOOKUP_AUDIT_RETENTION_DAYS).",
)
@pass_services
def prune(services: Services, older_than_days: int | None) -> None:
    """Delete the entries older than the retention period (run it daily, e.g. by cron)."""
    days = older_than_days or services.settings.audit_retention_days
    if not days:
        fail(
            "DTOOL_LOOKUP_AUDIT_RETENTION_DAYS is 0 (keep every entry); "
            "set it or give --older-than-days"
        )
    deleted = services.stores.audit.prune(time.time() - days * _DAY)
    click.echo(f"Deleted {deleted} audit entr(y/ies) older than {days} day(s)")


def _as_dict(entry: AuditEntry) -> dict[str, Any]:
    found = dataclasses.asdict(entry)
    found["time"] = _when(entry.at)
    return found


def _line(entry: AuditEntry) -> str:
    actor = f"{entry.actor.kind}:{entry.actor.name}"
    changes = json.dumps(dict(entry.changes), sort_keys=True)
    what = f"{entry.subject_kind} {entry.action}"
    return f"{_when(entry.at)}  {what}  {entry.subject}  by {actor}  {changes}"


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
