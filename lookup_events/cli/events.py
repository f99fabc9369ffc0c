"""``dtool-lookup events ...``: what waits in the event queue, dead letters, replay."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import click

from lookup_events.cli.context import pass_services
from lookup_events.queue.topology import DeadLetter
from lookup_events.services import Services
from lookup_events.uris import normalise_uri

_EXCERPT = 120


@click.group("events")
def events_group() -> None:
    """Inspect the event queue: waiting events, dead letters, replay."""


@events_group.command("status")
@pass_services
def status(services: Services) -> None:
    """Print how many events wait, wait for a retry, or are dead, as JSON."""
    counts = services.queue.counts()
    click.echo(json.dumps(dataclasses.asdict(counts), indent=2))


@events_group.command("dead")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the dead letters as JSON.")
@pass_services
def dead(services: Services, limit: int, as_json: bool) -> None:
    """List dead letters, oldest first, with the reason each was given up on."""
    letters = services.queue.dead_letters(limit)
    if as_json:
        click.echo(json.dumps([_as_dict(letter) for letter in letters], indent=2))
        return
    for letter in letters:
        click.echo(f"{_when(letter.failed_at)}  attempts: {letter.attempts}  {_subject(letter)}")
        click.echo(f"    {letter.reason}")
    click.echo(f"{len(letters)} dead letter(s)", err=True)


@events_group.command("replay")
@click.option("--uri", help="Replay only the dead letters of this dataset URI.")
@click.option("--limit", type=click.IntRange(min=1), help="Replay at most this many.")
@pass_services
def replay(services: Services, uri: str | None, limit: int | None) -> None:
    """Put dead dataset events back on the work queue (after fixing their cause).

    Dead letters that are no dataset event (an unreadable message or
    notification) stay where they are: replaying them cannot succeed.
    """
    wanted = normalise_uri(uri) if uri else None

    def replayable(letter: DeadLetter) -> bool:
        event = letter.event
        return event is not None and (wanted is None or event.uri == wanted)

    count = services.queue.replay(limit, where=replayable)
    click.echo(f"Replayed {count} dead letter(s)")


def _as_dict(letter: DeadLetter) -> dict[str, object]:
    event = letter.event
    return {
        **dataclasses.asdict(letter),
        "uri": event.uri if event else None,
        "failed_at_iso": _when(letter.failed_at),
    }


def _subject(letter: DeadLetter) -> str:
    event = letter.event
    if event is not None:
        return f"{event.kind} {event.uri} (from {event.source})"
    body = " ".join(letter.body.split())
    return f"not an event: {body[:_EXCERPT]}{'...' if len(body) > _EXCERPT else ''}"


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
