"""The supervisor behind ``serve``, tried on small Python child processes."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from lookup_events.cli.supervisor import Child, Supervisor

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy"),
]


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_the_supervisor_restarts_a_helper_and_stops_when_the_api_ends() -> None:
    helper = Child("helper", python("import sys; sys.exit(3)"))
    api = Child("API", python("import time; time.sleep(2.5); raise SystemExit(7)"), essential=True)
    supervisor = Supervisor([api, helper], poll=0.05)

    code = supervisor.run(threading.Event())

    assert code == 7  # the API's own exit code
    assert supervisor.started.count("helper") >= 2  # died at once, came back after 1 s
    assert supervisor.started.count("API") == 1


def test_the_supervisor_stops_children_on_request_and_kills_stubborn_ones() -> None:
    obedient = Child("API", python("import time; time.sleep(60)"), essential=True)
    stubborn = Child(
        "stubborn",
        python(
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
        ),
    )
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    supervisor = Supervisor([obedient, stubborn], stop_timeout=1.0, poll=0.05)

    started = time.monotonic()
    assert supervisor.run(stop) == 0
    assert time.monotonic() - started < 10
    assert obedient.process is None and stubborn.process is None
