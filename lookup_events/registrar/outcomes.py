"""What became of one event: the verdict the queue acts on, and what it did to the index."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lookup_events.events import DatasetEvent


class Status(enum.StrEnum):
    """What the queue does with an event's message."""

    DONE = "done"  # acknowledged: the work is committed (or there was none)
    RETRY = "retry"  # a transient failure: try again after a backoff
    DEAD = "dead"  # a permanent failure: dead-lettered with the reason


class Action(enum.StrEnum):
    """What a done event did to the index."""

    REGISTERED = "registered"
    REMOVED = "removed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one event: done (with its action), retry later, or dead, with a reason."""

    event: DatasetEvent
    status: Status
    action: Action | None = None
    reason: str = ""

    @property
    def tally(self) -> str:
        """The word this outcome is counted under: its action if done, else its status."""
        return str(self.action or self.status)


@dataclass(frozen=True, slots=True)
class Verdict:
    """An outcome not yet tied to its event (one per dataset URI of a batch)."""

    status: Status
    action: Action | None = None
    reason: str = ""

    @classmethod
    def done(cls, action: Action, reason: str = "") -> Verdict:
        """The event's work is committed (or there was none)."""
        return cls(Status.DONE, action, reason)

    @classmethod
    def failed(cls, status: Status, ex: BaseException) -> Verdict:
        """The event failed with ``ex``, to retry or to dead-letter."""
        return cls(status, None, f"{type(ex).__name__}: {ex}")

    def of(self, event: DatasetEvent) -> Outcome:
        """Return the outcome of ``event``."""
        return Outcome(event, self.status, self.action, self.reason)
