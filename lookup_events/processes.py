"""This process's id without a system call (glibc no longer caches ``getpid``).

Kept connections and request ids belong to the process that made them, and
both ask on every API request whether they are still in it. The id is read
once and again in a child after each ``os.fork`` (gunicorn's workers,
multiprocessing), which is the only way a Python process changes its id.
"""

from __future__ import annotations

import os

_pid = os.getpid()


def current_pid() -> int:
    """Return this process's id."""
    return _pid


def _forked() -> None:
    global _pid  # noqa: PLW0603 - one process-wide value, set only in a new child
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)
