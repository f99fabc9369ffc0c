"""Log lines for people (text) or machines (JSON), with secrets taken out.

``configure`` sets up a process once: its role (api, registrar, watcher,
...), the format (``DTOOL_LOOKUP_LOG_FORMAT``: text, json, or auto = JSON
unless stderr is a terminal) and the secrets it knows of. Fields that
matter (dataset URI, event id and source, outcome, duration, request id,
user) come from a log call's ``extra`` or from the context: ``context()``
binds fields for a block (a request), ``annotate`` adds one to it (the user,
once the token is checked).

Every line passes ``redact`` last, whatever its origin (a library's
exception text included): URL passwords, bearer tokens, JWTs, private keys
and ``secret=...``-like pairs become ``***``, and so does any secret value
handed to ``configure``. A record marked ``PRECHECKED`` (the API's access
line, whose client-chosen parts were redacted by its writer) is only
searched for the configured secrets, not for the patterns.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple, TextIO

FORMATS = ("text", "json", "auto")
#: Record attributes written as JSON fields when a log call passes them in ``extra``.
FIELDS = (
    "dataset_uri",
    "event_id",
    "source",
    "outcome",
    "duration_ms",
    "request_id",
    "user",
    "method",
    "route",
    "path",
    "status",
)
MASK = "***"
#: Record attribute (an ``extra`` key) saying every part of the record that a
#: client or a library could have chosen has been through ``redact`` already.
PRECHECKED = "prechecked"
_MIN_SECRET = 6  # shorter configured "secrets" would mask ordinary words

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "dtool_lookup_log_context", default=None
)

_KEYS: tuple[str, ...] = (
    *("password", "passwd", "pwd", "secret", "token", "api_key", "api-key", "apikey"),
    *("access_key", "access-key", "accesskey", "signature", "authorization", "credential"),
)

# Each pattern with the (lower-case) strings a line must contain for it to
# match: most lines contain none, and a substring test costs far less than a
# regular expression scanning every position of the line.
_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    # user:password@ in any URL (database, broker, proxy)
    (
        ("://",),
        re.compile(r"(?P<keep>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:)[^@\s/]+(?=@)"),
        r"\g<keep>***",
    ),
    (
        ("bearer", "basic"),
        re.compile(r"(?P<keep>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+", re.I),
        r"\g<keep>***",
    ),
    (("eyj",), re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    (
        ("-----begin",),
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
        ),
        MASK,
    ),
    (
        _KEYS,
        re.compile(
            r"(?P<keep>(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key"
            r"|signature|authorization|credential)s?[\"']?\s*[:=]\s*[\"']?)[^\s\"',&;}]+",
            re.I,
        ),
        r"\g<keep>***",
    ),
)


def _trie_pattern(words: Iterable[str]) -> str:
    """Return a regular expression matching any of ``words``, branching one character at a time.

    A flat alternation tries every word at every position of the line; this tries
    only the words that start with the character there (a third faster on a path).
    """
    branches: dict[str, list[str]] = {}
    for word in sorted(set(words)):
        branches.setdefault(word[:1], []).append(word[1:])
    alternatives = []
    for first, rests in branches.items():
        ends = "" in rests
        rest = _trie_pattern(r for r in rests if r) if len(rests) > ends else ""
        alternatives.append(re.escape(first) + (f"(?:{rest})?" if ends and rest else rest))
    return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"


# One search for any trigger at all: most lines (access lines) have none.
_ANY_TRIGGER = re.compile(
    _trie_pattern(trigger for triggers, _, _ in _PATTERNS for trigger in triggers)
)


def redact(text: str, secrets: Iterable[str] = (), *, patterns: bool = True) -> str:
    """Return ``text`` with every secret-looking value and every known secret masked.

    ``patterns=False`` masks only the known ``secrets``.
    """
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    if not patterns:
        return text
    lowered = text.lower()
    if not _ANY_TRIGGER.search(lowered):
        return text
    for triggers, pattern, replacement in _PATTERNS:
        if any(trigger in lowered for trigger in triggers):
            text = pattern.sub(replacement, text)
    return text


@contextmanager
def context(*, fresh: bool = False, **fields: Any) -> Iterator[dict[str, Any]]:
    """Bind ``fields`` to every log line in the block (and let ``annotate`` add more).

    ``fresh`` drops what outer blocks bound (a request starts from nothing).
    """
    bound = {**({} if fresh else _context.get() or {}), **fields}
    token = _context.set(bound)
    try:
        yield bound
    finally:
        _context.reset(token)


Binding = contextvars.Token[dict[str, Any] | None]


def bind(**fields: Any) -> Binding:
    """Bind ``fields`` afresh until ``unbind`` (a request: a block spanning two calls)."""
    return _context.set(dict(fields))


def unbind(binding: Binding) -> None:
    """Restore what was bound before ``bind``."""
    _context.reset(binding)


def annotate(**fields: Any) -> None:
    """Add fields to the context bound by the innermost ``context`` block, if any."""
    bound = _context.get()
    if bound is not None:
        bound.update(fields)


def context_fields() -> dict[str, Any]:
    """Return the fields bound now."""
    return dict(_context.get() or {})


class _Redacting(logging.Formatter):
    def __init__(self, role: str, secrets: Iterable[str] = (), fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.role = role
        self.secrets = tuple(sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len))[::-1]
        self._second: tuple[int, str] = (-1, "")

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        return _merged(record.__dict__)

    def redact(self, record: logging.LogRecord, line: str) -> str:
        """Return ``line`` redacted as ``record`` needs (only secrets when prechecked)."""
        return redact(line, self.secrets, patterns=not record.__dict__.get(PRECHECKED, False))

    def stamp(self, created: float, pattern: str, converter: Any) -> str:
        """Return ``created`` to the second in ``pattern``, formatted once a second."""
        second = int(created)
        known = self._second  # NOTE(dev): one tuple, so threads never see half an update
        if known[0] != second:
            known = self._second = (second, time.strftime(pattern, converter(second)))
        return known[1]

    def compose(self, line: Line) -> str:
        """Return the line ``format`` would make of a record holding ``line``'s parts."""
        raise NotImplementedError


class TextFormatter(_Redacting):
    """Readable lines: time, level, logger, message, then ``key=value`` fields."""

    def __init__(self, role: str = "", secrets: Iterable[str] = ()) -> None:
        super().__init__(role, secrets, "%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """Return the record's local time as logging's default does, a second's part cached."""
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        return self._local_time(record.created, record.msecs)

    def format(self, record: logging.LogRecord) -> str:
        """Return the redacted line."""
        return self.redact(record, self._with_fields(super().format(record), self.fields(record)))

    def compose(self, line: Line) -> str:
        """Return the text line of ``line`` (as ``format`` writes a record without exception)."""
        stamp = self._local_time(line.created, line.msecs)
        text = f"{stamp} {line.level} {line.logger}: {line.message}"
        return redact(self._with_fields(text, _merged(line.fields)), self.secrets, patterns=False)

    def _local_time(self, created: float, msecs: float) -> str:
        return f"{self.stamp(created, self.default_time_format, self.converter)},{int(msecs):03d}"

    @staticmethod
    def _with_fields(line: str, fields: dict[str, Any]) -> str:
        if not fields:
            return line
        return f"{line} [{' '.join([f'{k}={v}' for k, v in fields.items()])}]"


class JsonFormatter(_Redacting):
    """One JSON object a line: time, level, role, logger, message and the fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the redacted JSON line."""
        document = self._document(
            record.created, record.msecs, record.levelname, record.name, record.getMessage()
        )
        document.update(self.fields(record))
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return self.redact(record, _JSON.encode(document))

    def compose(self, line: Line) -> str:
        """Return the JSON line of ``line`` (as ``format`` writes a record without exception)."""
        document = self._document(line.created, line.msecs, line.level, line.logger, line.message)
        document.update(_merged(line.fields))
        return redact(_JSON.encode(document), self.secrets, patterns=False)

    def _document(
        self, created: float, msecs: float, level: str, logger: str, message: str
    ) -> dict[str, Any]:
        stamp = self.stamp(created, "%Y-%m-%dT%H:%M:%S", time.gmtime)
        return {
            "time": f"{stamp}.{int(msecs):03d}+00:00",
            "level": level.lower(),
            "role": self.role,
            "logger": logger,
            "message": message,
        }


_JSON = json.JSONEncoder(default=str)


def _merged(given: Mapping[str, Any]) -> dict[str, Any]:
    """Return the context's fields, then those of ``FIELDS`` in ``given``, empty ones left out."""
    bound = _context.get()
    found = dict(bound) if bound else {}
    for name in FIELDS:
        if name in given:
            found[name] = given[name]
    values = found.values()
    if None in values or "" in values:
        return {k: v for k, v in found.items() if v is not None and v != ""}
    return found


class Line(NamedTuple):
    """The parts of one log line whose client-chosen text went through ``redact`` already.

    A tuple: one is made for every request's access line.
    """

    created: float
    msecs: float
    level: str
    logger: str
    message: str
    fields: Mapping[str, Any]


def write_prechecked(
    logger: logging.Logger, level: int, message: str, fields: Mapping[str, Any]
) -> None:
    """Log ``message`` with ``fields``, every client-chosen part already redacted.

    When the one handler that would see the line is the one ``configure``
    installed, the line is composed from its parts and written to its stream
    directly: no ``LogRecord``, no handler dispatch, the same text. Otherwise
    (a handler or filter an operator added, another formatter) it goes
    through ``logger`` as any record does.
    """
    handler = _sole_handler(logger, level)
    if handler is not None:
        created = time.time()
        msecs = int((created - int(created)) * 1000)
        text = handler.formatter.compose(  # type: ignore[union-attr]
            Line(created, msecs, logging.getLevelName(level), logger.name, message, fields)
        )
        if _write(handler, text):
            return
    extra = {**fields, PRECHECKED: True}
    logger.handle(logger.makeRecord(logger.name, level, "", 0, message, (), None, extra=extra))


def _sole_handler(logger: logging.Logger, level: int) -> logging.StreamHandler[Any] | None:
    """Return our handler when it alone, unfiltered, would write ``logger``'s ``level`` line."""
    if logger.filters:
        return None
    current: logging.Logger | None = logger
    while current is not None and not current.handlers:
        if not current.propagate:
            return None
        current = current.parent
    if current is None or (current.propagate and current.parent is not None):
        return None
    handlers = current.handlers
    if len(handlers) != 1:
        return None
    handler = handlers[0]
    ours = getattr(handler, "_dtool_lookup", False) and isinstance(handler.formatter, _Redacting)
    if not ours or handler.filters or level < handler.level:
        return None
    return handler  # type: ignore[return-value]


def _write(handler: logging.StreamHandler[Any], text: str) -> bool:
    """Write ``text`` as the handler's ``emit`` would; False if the stream failed."""
    handler.acquire()
    try:
        stream = handler.stream
        stream.write(text + handler.terminator)
        stream.flush()  # what handler.flush() does, without taking the lock again
    except Exception:  # the record path reports it through handleError
        return False
    finally:
        handler.release()
    return True


def formatter(
    role: str, log_format: str, secrets: Iterable[str] = (), stream: Any = None
) -> logging.Formatter:
    """Return the formatter ``log_format`` names (auto: JSON unless ``stream`` is a terminal)."""
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r} is not one of {', '.join(FORMATS)}")
    if log_format == "auto":
        tty = bool(getattr(stream or sys.stderr, "isatty", lambda: False)())
        log_format = "text" if tty else "json"
    if log_format == "json":
        return JsonFormatter(role, secrets)
    return TextFormatter(role, secrets)


def configure(
    role: str,
    log_format: str = "text",
    level: str = "INFO",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send this process's log lines to stderr in ``log_format``; return the handler.

    Replaces a handler an earlier call installed, so calling twice is harmless.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_dtool_lookup", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(role, log_format, secrets, stream))
    handler._dtool_lookup = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the embedded store's migrations
    return handler
