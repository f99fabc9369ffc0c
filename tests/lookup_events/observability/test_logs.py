"""Log lines: JSON or text, context fields, and no secret ever written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lookup_events.config import Settings
from lookup_events.observability import logs
from lookup_events.services import Services
from lookup_events.tokens import issue_token
from tests.support.api import key_pair

PASSWORD = "s3cr3t-Pa55word"
WEBHOOK_SECRET = "webhook-shared-secret-123"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Return the stream the root logger writes to; restore the handlers after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield io.StringIO()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_role_level_message_and_context_fields(captured: io.StringIO) -> None:
    logs.configure("registrar", "json", stream=captured)
    log = logging.getLogger("test.json")
    with logs.context(request_id="r-1"):
        logs.annotate(user="grumpy")
        log.info("registered %s", "file:///b/ds", extra={"outcome": "registered", "event_id": "e"})
    log.warning("outside")
    first, second = (json.loads(line) for line in captured.getvalue().splitlines())
    assert first["role"] == "registrar"
    assert first["level"] == "info"
    assert first["message"] == "registered file:///b/ds"
    assert first["time"].endswith("+00:00")
    assert (first["request_id"], first["user"], first["outcome"]) == (
        "r-1",
        "grumpy",
        "registered",
    )
    assert first["event_id"] == "e"
    assert "request_id" not in second and "user" not in second


def test_text_lines_stay_readable_with_fields_at_the_end(captured: io.StringIO) -> None:
    logs.configure("watcher", "text", stream=captured)
    logging.getLogger("test.text").info("published", extra={"dataset_uri": "file:///b/ds"})
    line = captured.getvalue().strip()
    assert " INFO test.text: published [dataset_uri=file:///b/ds]" in line


def test_auto_means_json_unless_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(logs.formatter("api", "auto", stream=io.StringIO()), logs.JsonFormatter)
    assert isinstance(logs.formatter("api", "auto", stream=Terminal()), logs.TextFormatter)


def test_a_fresh_context_forgets_what_an_unfinished_request_bound() -> None:
    with logs.context(user="snow-white"), logs.context(fresh=True, request_id="next"):
        assert logs.context_fields() == {"request_id": "next"}


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_no_token_password_or_secret_reaches_a_log_line(
    captured: io.StringIO, log_format: str, tmp_path: Path
) -> None:
    keys = key_pair()
    token = issue_token(keys.private_pem, "snow-white", expires_in=None)
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"postgresql+psycopg://lookup:{PASSWORD}@db.example:5432/lookup",
        broker_url=f"amqp://guest:{PASSWORD}x@rabbit:5672//",
        webhook_secret=WEBHOOK_SECRET,
        jwt_private_key=keys.private_pem,
    ).completed()
    services = Services(settings)
    logs.configure("api", log_format, secrets=services.log_secrets(), stream=captured)
    log = logging.getLogger("test.secrets")
    log.info("connecting to %s and %s", settings.database_url, settings.broker_url)
    log.info("request headers: %s", {"Authorization": f"Bearer {token}"})
    log.info("token in a query: /x?token=%s&page=2", token)
    log.info("a bare token %s", token)
    log.info("webhook asked with %s", WEBHOOK_SECRET)
    log.info("config: password=%s secret: %s", "hunter2-x", "abc-def")
    log.info("the key is %s", keys.private_pem)
    try:
        raise ValueError(f"cannot connect to {settings.database_url}")
    except ValueError:
        log.exception("failed")
    written = captured.getvalue()
    for secret in (
        PASSWORD,
        token,
        WEBHOOK_SECRET,
        "hunter2-x",
        "abc-def",
        "PRIVATE KEY-----\nMII",
    ):
        assert secret not in written, secret
    for part in token.split("."):
        assert part not in written
    assert "db.example:5432/lookup" in written  # only the secret parts go
    assert "***" in written


def test_the_one_search_finds_every_trigger_anywhere_in_a_line() -> None:
    triggers = [trigger for words, _, _ in logs._PATTERNS for trigger in words]
    for trigger in triggers:
        for line in (trigger, f"x {trigger}", f"/a/{trigger}=1 tail", f"{trigger[:-1]} {trigger}"):
            assert logs._ANY_TRIGGER.search(line), line
        assert not logs._ANY_TRIGGER.search(trigger[:-1] + " " + trigger[-1]), trigger
    assert not logs._ANY_TRIGGER.search("/dataset/lookup/81313c5f-58ca-4118-9e58-619a320fdbdc")


# -- lines written straight to the handler's stream ---------------------------

FIELDS = {"method": "GET", "route": "/x/{y}", "path": "/x/s3cr3t-Pa55word", "status": 200}


def record_line(handler: logging.Handler, created: float, message: str) -> str:
    """Return what the ordinary record path makes of the same line at ``created``."""
    logger = logging.getLogger("test.direct")
    extra = {**FIELDS, logs.PRECHECKED: True}
    record = logger.makeRecord(logger.name, logging.INFO, "", 0, message, None, None, extra=extra)
    record.created, record.msecs = created, int((created - int(created)) * 1000)
    return handler.format(record)


@pytest.fixture
def records_made() -> Iterator[list[logging.LogRecord]]:
    """Return every log record made from now on (through logging's public factory)."""
    made: list[logging.LogRecord] = []
    factory = logging.getLogRecordFactory()

    def counting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made.append(factory(*args, **kwargs))
        return made[-1]

    logging.setLogRecordFactory(counting)
    yield made
    logging.setLogRecordFactory(factory)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_prechecked_line_goes_straight_to_the_stream_as_the_record_path_writes_it(
    captured: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    records_made: list[logging.LogRecord],
    log_format: str,
) -> None:
    handler = logs.configure("api", log_format, secrets=[PASSWORD], stream=captured)
    logging.getLogger().handlers[:] = [handler]  # pytest's own capture handlers out
    monkeypatch.setattr(logs.time, "time", lambda: 1_765_000_000.042)
    with logs.context(request_id="r-9", user="grumpy"):
        logs.write_prechecked(logging.getLogger("test.direct"), logging.INFO, "GET /x 200", FIELDS)
        assert records_made == []
        expected = record_line(handler, 1_765_000_000.042, "GET /x 200")
    assert captured.getvalue() == expected + "\n"
    assert PASSWORD not in captured.getvalue()
    assert "r-9" in expected and "grumpy" in expected and "042" in expected


def test_a_handler_an_operator_added_still_gets_a_record(captured: io.StringIO) -> None:
    handler = logs.configure("api", "json", stream=captured)
    logging.getLogger().handlers[:] = [handler]
    logger = logging.getLogger("test.direct.extra")
    seen: list[logging.LogRecord] = []
    extra = logging.Handler()
    extra.emit = seen.append  # type: ignore[method-assign]
    logger.addHandler(extra)
    try:
        logs.write_prechecked(logger, logging.INFO, "GET /x 200", FIELDS)
    finally:
        logger.removeHandler(extra)
    assert [record.getMessage() for record in seen] == ["GET /x 200"]
    assert json.loads(captured.getvalue())["route"] == "/x/{y}"


def test_a_filter_on_the_logger_is_obeyed(captured: io.StringIO) -> None:
    handler = logs.configure("api", "text", stream=captured)
    logging.getLogger().handlers[:] = [handler]
    logger = logging.getLogger("test.direct.filtered")
    refuse = logging.Filter("somewhere.else")
    logger.addFilter(refuse)
    try:
        logs.write_prechecked(logger, logging.INFO, "GET /x 200", FIELDS)
    finally:
        logger.removeFilter(refuse)
    assert captured.getvalue() == ""


def test_a_failing_stream_is_reported_as_logging_reports_it(
    captured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken(io.StringIO):
        def write(self, _text: str) -> int:
            raise OSError("disk full")

    handler = logs.configure("api", "text", stream=Broken())
    logging.getLogger().handlers[:] = [handler]
    reported: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", reported.append)
    logs.write_prechecked(logging.getLogger("test.direct"), logging.INFO, "GET /x 200", FIELDS)
    assert [record.getMessage() for record in reported] == ["GET /x 200"]
