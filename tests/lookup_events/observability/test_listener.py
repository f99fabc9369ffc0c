"""The metrics listener: in-process, and on real registrar and watcher processes as events flow."""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path

import pytest

from lookup_events.errors import QueueUnavailable, SetupError
from lookup_events.observability import listener
from tests.support.cli_runner import LookupCli, clean_env
from tests.support.datasets import make_dataset
from tests.support.network import free_port
from tests.support.processes import process_env, run_lookup, stopped_cleanly, wait_until
from tests.support.scrape import sample, scrape, total


def test_the_listener_answers_metrics_health_and_readiness() -> None:
    def queue_down() -> object:
        raise QueueUnavailable("cannot open the event queue amqp://guest:guest@rabbit//")

    checks = {"database": lambda: None, "queue": queue_down}
    waiting = {"ready": 2, "delayed": 0, "dead": 1}
    app = listener.ListenerApp("registrar", checks, lambda: waiting)
    with listener.listening("127.0.0.1:0", app) as bound:
        assert bound is not None
        url = f"http://{bound[0]}:{bound[1]}"
        assert json.loads(scrape(f"{url}/health")) == {"status": "ok", "role": "registrar"}
        with pytest.raises(urllib.error.HTTPError) as refused:
            scrape(f"{url}/ready")
        assert refused.value.code == 503
        body = json.loads(refused.value.read())
        assert body == {
            "status": "unavailable",
            "checks": {"database": "ok", "queue": "unavailable"},
        }
        text = scrape(f"{url}/metrics")
        assert sample(text, "dtool_lookup_queue_messages", state="dead") == 1
        assert sample(text, "dtool_lookup_queue_up") == 1


def test_an_address_in_use_leaves_the_process_running_without_a_listener() -> None:
    app = listener.ListenerApp("watcher", {})
    with listener.listening("127.0.0.1:0", app) as first:
        assert first is not None
        with listener.listening(f"127.0.0.1:{first[1]}", app) as second:
            assert second is None


def test_the_listener_binds_ipv6_loopback_too() -> None:
    with listener.listening("[::1]:0", listener.ListenerApp("watcher", {})) as bound:
        assert bound is not None
        assert json.loads(scrape(f"http://[::1]:{bound[1]}/health"))["role"] == "watcher"


def test_addresses_are_host_and_port_or_off() -> None:
    assert listener.parse_address("off") is None
    assert listener.parse_address("[::1]:9464") == ("::1", 9464)
    with pytest.raises(ValueError, match="not host:port"):
        listener.parse_address("9464")
    with (
        pytest.raises(SetupError, match="DTOOL_LOOKUP_METRICS_ADDRESS"),
        listener.listening("localhost", listener.ListenerApp("watcher", {})),
    ):
        pass


def answers(url: str) -> bool:
    """Tell whether ``url`` answers 200."""
    try:
        scrape(url, timeout=1)
    except OSError:
        return False
    return True


@pytest.mark.slow  # a registrar and a watcher as processes, real datasets
@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")
def test_scrapes_while_events_flow_show_the_figures_moving(tmp_path: Path) -> None:
    cli = LookupCli(clean_env(tmp_path / "data"))
    cli.ok("db", "upgrade")
    base = tmp_path / "base"
    base.mkdir()
    cli.ok("base-uri", "add", str(base))
    env = process_env(tmp_path / "data", DTOOL_LOOKUP_LOG_FORMAT="json")
    registrar_port, watcher_port = free_port(), free_port()
    registrar_args = [
        "registrar",
        "--no-rescan",
        "--metrics-address",
        f"127.0.0.1:{registrar_port}",
    ]
    watcher_args = ["watch", str(base), "--metrics-address", f"127.0.0.1:{watcher_port}"]
    registrar_url = f"http://127.0.0.1:{registrar_port}"
    watcher_url = f"http://127.0.0.1:{watcher_port}"
    with (
        run_lookup(registrar_args, env, tmp_path) as registrar,
        run_lookup(watcher_args, env, tmp_path) as watcher,
    ):
        assert wait_until(lambda: "(events)" in watcher.log(), 30), watcher.log()
        assert wait_until(lambda: answers(f"{registrar_url}/health"), 30), registrar.log()
        assert wait_until(lambda: answers(f"{watcher_url}/health"), 30), watcher.log()
        assert json.loads(scrape(f"{registrar_url}/ready"))["checks"] == {
            "database": "ok",
            "queue": "ok",
        }
        seen: list[float] = []
        for n in range(1, 6):
            make_dataset(base, f"flow-{n}")

            def registered(n: int = n) -> bool:
                text = scrape(f"{registrar_url}/metrics")
                seen.append(
                    sample(text, "dtool_lookup_events_handled_total", outcome="registered")
                )
                return seen[-1] >= n

            assert wait_until(registered, 30, interval=0.2), registrar.log()
        text = scrape(f"{registrar_url}/metrics")
        assert sample(text, "dtool_lookup_events_handled_total", outcome="registered") == 5
        assert sample(text, "dtool_lookup_registration_lag_seconds_count") == 5
        assert 0 < sample(text, "dtool_lookup_registration_lag_seconds_sum") < 5 * 30
        assert sample(text, "dtool_lookup_queue_up") == 1
        assert total(text, "dtool_lookup_queue_messages", state="dead") == 0
        received = scrape(f"{watcher_url}/metrics")
        assert sample(received, "dtool_lookup_events_received_total", source="watch") == 5
        stopped_cleanly(watcher)
        stopped_cleanly(registrar)
    assert seen == sorted(seen)  # the counter only ever rises
    lines = [json.loads(line) for line in registrar.log().splitlines() if line.startswith("{")]
    assert lines, registrar.log()
    assert {line["role"] for line in lines} == {"registrar"}
    assert all({"time", "level", "message"} <= line.keys() for line in lines)
