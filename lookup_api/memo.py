"""Answers remembered by key on a request's hot path, forgotten all at once when full."""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """A dictionary of answers that empties itself when it reaches its capacity.

    For inputs that repeat (query strings, totals, cached pages): no eviction
    order to keep, and a client sending endless new inputs costs one worker at
    most ``capacity`` answers.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._answers: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        """Return the answer remembered for ``key``, or None."""
        return self._answers.get(key)

    def put(self, key: K, answer: V) -> V:
        """Remember ``answer`` for ``key`` (after forgetting everything if full); return it."""
        if len(self._answers) >= self._capacity:
            self._answers.clear()
        self._answers[key] = answer
        return answer
