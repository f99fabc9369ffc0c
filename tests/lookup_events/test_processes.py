"""The process id known without a system call follows every fork."""

from __future__ import annotations

import os

from lookup_events.processes import current_pid


def test_the_id_is_this_process_and_a_forked_child_knows_its_own() -> None:
    assert current_pid() == os.getpid()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(writing, f"{current_pid()} {os.getpid()}".encode())
        os._exit(0)
    os.waitpid(child, 0)
    known, actual = os.read(reading, 64).decode().split()
    os.close(reading)
    os.close(writing)
    assert known == actual == str(child)
    assert current_pid() == os.getpid()
