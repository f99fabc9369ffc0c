"""/metrics, /config/ready and request ids, through the composed app over real stores."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from falcon import testing

from lookup_api import monitoring
from lookup_api.app import create_app
from lookup_events.config import Settings
from lookup_events.errors import QueueUnavailable
from lookup_events.observability import logs
from lookup_events.store import Stores
from tests.support.api import Header
from tests.support.data import load_anchor_data
from tests.support.scrape import sample

PROXIED = {"X-Forwarded-For": "203.0.113.9"}


@pytest.fixture
def monitored(settings: Settings, sqlite_stores: Stores) -> testing.TestClient:
    load_anchor_data(sqlite_stores)
    return testing.TestClient(create_app(settings, sqlite_stores))


def test_metrics_count_requests_by_route_template_and_status(
    monitored: testing.TestClient, auth: Header
) -> None:
    def count(status: str) -> float:
        text = monitored.simulate_get("/metrics").text
        labels = {"route": "/uuids/{uuid}", "method": "GET", "status": status}
        return sample(text, "dtool_lookup_http_requests_total", **labels)

    before_ok, before_refused = count("200"), count("401")
    uuid = "af6727bf-29c7-43dd-b42f-a5d7ede28337"
    assert monitored.simulate_get(f"/uuids/{uuid}", headers=auth("grumpy")).status_code == 200
    monitored.simulate_get(f"/uuids/{uuid}", headers=auth("nobody"))

    reply = monitored.simulate_get("/metrics")
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert count("200") == before_ok + 1
    assert count("401") == before_refused + 1
    # a route template, never the URI asked for: no dataset reaches a label
    assert uuid not in reply.text
    assert "dtool_lookup_http_request_duration_seconds_bucket" in reply.text


def test_metrics_are_refused_to_proxied_clients_without_an_admin_token(
    monitored: testing.TestClient, auth: Header
) -> None:
    refused = monitored.simulate_get("/metrics", headers=PROXIED)
    assert refused.status_code == 403
    assert "admin token" in refused.json["message"]
    not_admin = monitored.simulate_get("/metrics", headers={**PROXIED, **auth("grumpy")})
    assert not_admin.status_code == 403
    admin = monitored.simulate_get("/metrics", headers={**PROXIED, **auth("snow-white")})
    assert admin.status_code == 200
    remote = monitored.simulate_get("/metrics", remote_addr="203.0.113.9")
    assert remote.status_code == 403
    # a token, when given, must be an admin's, even from this host
    assert monitored.simulate_get("/metrics", headers=auth("grumpy")).status_code == 403
    assert monitored.simulate_get("/metrics", headers=auth("snow-white")).status_code == 200


@pytest.mark.parametrize(
    "case", [("admin", 401, 200), ("public", 200, 200), ("off", 404, 404)], ids=str
)
def test_the_metrics_policy_setting_decides_who_reads_them(
    settings: Settings, sqlite_stores: Stores, auth: Header, case: tuple[str, int, int]
) -> None:
    policy, local, proxied_admin = case
    load_anchor_data(sqlite_stores)
    client = testing.TestClient(create_app(replace(settings, api_metrics=policy), sqlite_stores))
    assert client.simulate_get("/metrics").status_code == local
    admin = client.simulate_get("/metrics", headers={**PROXIED, **auth("snow-white")})
    assert admin.status_code == proxied_admin


def test_readiness_names_what_is_unavailable(settings: Settings, sqlite_stores: Stores) -> None:
    def broker_down() -> object:
        raise QueueUnavailable("cannot open the event queue amqp://rabbit:5672//")

    database = sqlite_stores.admin.list_base_uris
    ready = create_app(settings, sqlite_stores, checks={"database": database})
    reply = testing.TestClient(ready).simulate_get("/config/ready")
    assert reply.status_code == 200
    assert reply.json == {"status": "ready", "checks": {"database": "ok"}}

    checks = {"database": database, "queue": broker_down}
    reply = testing.TestClient(create_app(settings, sqlite_stores, checks=checks)).simulate_get(
        "/config/ready"
    )
    assert reply.status_code == 503
    assert reply.json["message"] == "not ready: queue unavailable"
    assert reply.json["errors"] == {"database": "ok", "queue": "unavailable"}


def test_readiness_fails_when_the_database_is_gone(settings: Settings, tmp_path: object) -> None:
    from lookup_events.store import open_stores

    url = f"sqlite:///{settings.data_dir / 'gone.db'}"
    stores = open_stores(replace(settings, database_url=url, dataset_store_url=url))
    (settings.data_dir / "gone.db").unlink(missing_ok=True)
    settings.data_dir.chmod(0o500)  # the file cannot come back: the database is unreachable
    try:
        reply = testing.TestClient(create_app(settings, stores)).simulate_get("/config/ready")
    finally:
        settings.data_dir.chmod(0o700)
        stores.close()
    assert reply.status_code == 503
    assert reply.json["errors"] == {"database": "unavailable"}


def test_a_request_id_is_kept_or_made_and_returned(
    monitored: testing.TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="lookup_api.access"):
        given = monitored.simulate_get("/config/health", headers={"X-Request-ID": "proxy-42.a"})
        made = monitored.simulate_get("/config/health")
        forged = monitored.simulate_get("/config/health", headers={"X-Request-ID": "a b\nlevel=x"})
    assert given.headers["X-Request-ID"] == "proxy-42.a"
    assert len(made.headers["X-Request-ID"]) == 32
    assert forged.headers["X-Request-ID"] not in {"a b\nlevel=x", made.headers["X-Request-ID"]}
    lines = [r for r in caplog.records if r.name == "lookup_api.access"]
    assert [getattr(r, "route", None) for r in lines] == ["/config/health"] * 3
    assert [r.status for r in lines] == [200, 200, 200]  # type: ignore[attr-defined]


def test_error_replies_carry_the_request_id_too(monitored: testing.TestClient) -> None:
    reply = monitored.simulate_get("/uris", headers={"X-Request-ID": "abc"})
    assert reply.status_code == 401
    assert reply.headers["X-Request-ID"] == "abc"


def test_json_access_lines_carry_request_id_user_route_status_and_duration(
    monitored: testing.TestClient, auth: Header
) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        logs.configure("api", "json", stream=stream)
        monitored.simulate_get("/uris", headers={**auth("grumpy"), "X-Request-ID": "req-7"})
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "lookup_api.access"]
    assert len(access) == 1
    line = access[0]
    assert (line["role"], line["request_id"], line["user"]) == ("api", "req-7", "grumpy")
    assert (line["method"], line["route"], line["status"]) == ("GET", "/uris", 200)
    assert line["duration_ms"] > 0
    token = auth("grumpy")["Authorization"].split()[1]
    assert token not in stream.getvalue()


@pytest.fixture
def log_stream() -> Iterator[Callable[[str], io.StringIO]]:
    """Send every log line to a string in a format, as a process's ``configure`` does."""
    root = logging.getLogger()
    saved = list(root.handlers), root.level

    def configure(log_format: str) -> io.StringIO:
        stream = io.StringIO()
        logs.configure("api", log_format, secrets=[SECRET], stream=stream)
        return stream

    yield configure
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


SECRET = "database-password-7"  # a configured secret, as Services.log_secrets gives it


def access_lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if "lookup_api.access" in line]


def test_plain_access_lines_are_readable_and_carry_the_request_fields(
    monitored: testing.TestClient, auth: Header, log_stream: Callable[[str], io.StringIO]
) -> None:
    stream = log_stream("text")
    uuid = "af6727bf-29c7-43dd-b42f-a5d7ede28337"
    monitored.simulate_get(
        f"/dataset/lookup/{uuid}", headers={**auth("grumpy"), "X-Request-ID": "req-8"}
    )

    [line] = access_lines(stream)
    time, level, logger, message = line.split(" ", 4)[1:]
    assert re.fullmatch(r"\d\d:\d\d:\d\d,\d{3}", time)
    assert (level, logger) == ("INFO", "lookup_api.access:")
    assert message.startswith(f"GET /dataset/lookup/{uuid} 200 ")
    for field in (
        "request_id=req-8",
        "user=grumpy",
        "route=/dataset/lookup/{uuid}",
        f"path=/dataset/lookup/{uuid}",
        "status=200",
        "duration_ms=",
    ):
        assert field in message
    assert auth("grumpy")["Authorization"].split()[1] not in stream.getvalue()


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_access_lines_never_show_what_looks_like_a_secret(
    monitored: testing.TestClient,
    auth: Header,
    log_stream: Callable[[str], io.StringIO],
    log_format: str,
) -> None:
    stream = log_stream(log_format)
    token = auth("grumpy")["Authorization"].split()[1]
    monitored.simulate_get(f"/dataset/lookup/{token}", headers=auth("grumpy"))
    monitored.simulate_get(f"/uuids/password={SECRET[:-1]}x", headers=auth("grumpy"))
    monitored.simulate_get(f"/uuids/{SECRET}", headers=auth("grumpy"))
    reply = monitored.simulate_get("/config/health", headers={"X-Request-ID": token})

    lines = access_lines(stream)
    assert len(lines) == 4
    assert token not in stream.getvalue()
    assert SECRET not in stream.getvalue()
    assert f"{SECRET[:-1]}x" not in stream.getvalue()
    assert all("***" in line for line in lines[:3])
    # a request id that looks like a token is replaced, not logged nor echoed
    assert reply.headers["X-Request-ID"] != token
    assert reply.headers["X-Request-ID"] in lines[3]


def test_access_lines_can_be_turned_off(
    settings: Settings, sqlite_stores: Stores, log_stream: Callable[[str], io.StringIO]
) -> None:
    stream = log_stream("json")
    quiet = testing.TestClient(create_app(replace(settings, access_log=False), sqlite_stores))
    reply = quiet.simulate_get("/config/health", headers={"X-Request-ID": "req-9"})

    assert reply.headers["X-Request-ID"] == "req-9"
    assert access_lines(stream) == []


def test_request_ids_are_unique_and_new_in_a_forked_child() -> None:
    ids = monitoring.RequestIds()
    made = [ids() for _ in range(1000)]
    assert len(set(made)) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", made_id) for made_id in made)

    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(writing, ids().encode())
        os._exit(0)
    os.waitpid(child, 0)
    in_child = os.read(reading, 64).decode()
    os.close(reading)
    os.close(writing)
    assert in_child[:16] != made[0][:16]
    assert ids()[:16] == made[0][:16]
