"""Actors: who or what made a change, as every write of the stores is told.

The API user, the event that caused it (its source, event time, S3
sequencer), a ``dtool-lookup`` command, or the system (the legacy import;
writes nobody attributed). ``store.audit`` records them with each change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lookup_events.events import DatasetEvent

ActorKind = Literal["user", "event", "command", "system"]
ACTOR_KINDS: tuple[ActorKind, ...] = ("user", "event", "command", "system")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who or what made a change: a user, an event, a command or the system."""

    kind: ActorKind
    name: str
    cause: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def user(cls, username: str) -> Actor:
        """Return the actor of an API request made by ``username``."""
        return cls("user", username)

    @classmethod
    def event(cls, event: DatasetEvent) -> Actor:
        """Return the actor of a change an event caused (named by its source)."""
        cause: dict[str, Any] = {"kind": event.kind, "occurred_at": event.occurred_at}
        if event.sequencer:
            cause["sequencer"] = event.sequencer
        if event.event_id:
            cause["event_id"] = event.event_id
        return cls("event", event.source, cause)

    @classmethod
    def command(cls, name: str) -> Actor:
        """Return the actor of a ``dtool-lookup`` command (``user add``, ...)."""
        return cls("command", name)


#: Writes nobody attributed (direct store use, e.g. in scripts and tests).
SYSTEM = Actor("system", "unattributed")
#: The import of an old dtool-lookup-server or dserver deployment.
LEGACY_IMPORT = Actor("system", "legacy-import")

ActorFor = Actor | Mapping[str, Actor]


def actor_of(actors: ActorFor, key: str) -> Actor:
    """Return the actor of the change to ``key`` (one actor for all, or one per key)."""
    if isinstance(actors, Actor):
        return actors
    return actors.get(key, SYSTEM)
