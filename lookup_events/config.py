"""Settings: one typed object built from the environment, the only reader of it.

Names of dtool-lookup-server 0.18 are accepted where they exist
(``SQLALCHEMY_DATABASE_URI``, ``JWT_*``, ``CORS_*``); our own carry the
``DTOOL_LOOKUP_`` prefix. ``SETTINGS`` below is the documented list; a test
checks that the README names every variable in it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on", "y", "t"}


def _list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _read_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text()
    except OSError:
        return ""


@dataclass(frozen=True)
class Variable:
    """One environment variable the settings read."""

    names: tuple[str, ...]
    field: str
    parse: Callable[[str], Any]
    help: str
    secret: bool = False


SETTINGS: tuple[Variable, ...] = (
    Variable(
        ("DTOOL_LOOKUP_DATA_DIR",),
        "data_dir",
        Path,
        "Directory for the embedded database, queue and generated keys.",
    ),
    Variable(
        ("DTOOL_LOOKUP_DATABASE_URL", "SQLALCHEMY_DATABASE_URI"),
        "database_url",
        str,
        "SQLAlchemy URL of the admin store (and of the dataset store by default).",
        secret=True,
    ),
    Variable(
        ("DTOOL_LOOKUP_DATASET_STORE_URL",),
        "dataset_store_url",
        str,
        "URL of the dataset store when it differs: another SQL URL or mongodb://...",
        secret=True,
    ),
    Variable(
        ("DTOOL_LOOKUP_MONGO_DB",),
        "mongo_db",
        str,
        "MongoDB database of the dataset store (default dtool_lookup).",
    ),
    Variable(
        ("DTOOL_LOOKUP_MONGO_COLLECTION",),
        "mongo_collection",
        str,
        "MongoDB collection of the dataset store (default datasets).",
    ),
    Variable(
        ("DTOOL_LOOKUP_CACHE_NOTIFY",),
        "cache_notify",
        _bool,
        "PostgreSQL: learn of other processes' writes by LISTEN/NOTIFY, not a query per "
        "request (true); false behind a pooler in transaction mode.",
    ),
    Variable(
        ("JWT_PUBLIC_KEY",),
        "jwt_public_key",
        str,
        "Public key (PEM or ssh-rsa line) that verifies tokens; wins over the file.",
    ),
    Variable(("JWT_PUBLIC_KEY_FILE",), "jwt_public_key_file", str, "File holding the public key."),
    Variable(
        ("JWT_PRIVATE_KEY_FILE",),
        "jwt_private_key_file",
        str,
        "File holding the private key; needed only to issue tokens (user token).",
    ),
    Variable(("JWT_ALGORITHM",), "jwt_algorithm", str, "Token signature algorithm (RS256)."),
    Variable(
        ("JWT_ACCESS_TOKEN_EXPIRES",),
        "jwt_access_token_expires",
        int,
        "Lifetime in seconds of tokens issued by `user token` (900).",
    ),
    Variable(("JWT_LEEWAY",), "jwt_leeway", int, "Clock skew in seconds allowed for exp/nbf (0)."),
    Variable(
        ("DISABLE_JWT_AUTHORISATION",),
        "disable_jwt_authorisation",
        _bool,
        "Single-user mode: every request acts as DEFAULT_USER, no token needed.",
    ),
    Variable(
        ("DEFAULT_USER",),
        "default_user",
        str,
        "The user every request acts as when DISABLE_JWT_AUTHORISATION is on.",
    ),
    Variable(
        ("CORS_ORIGINS",),
        "cors_origins",
        _list,
        "Comma-separated origins allowed by CORS, or * for any (*).",
    ),
    Variable(
        ("CORS_EXPOSE_HEADERS",),
        "cors_expose_headers",
        _list,
        "Response headers exposed to browsers (X-Pagination,X-Sort).",
    ),
    Variable(
        ("DTOOL_LOOKUP_BROKER_URL",),
        "broker_url",
        str,
        "kombu URL of the event queue; embedded (a SQLite file in the data dir) if unset.",
        secret=True,
    ),
    Variable(
        ("DTOOL_LOOKUP_RESCAN_INTERVAL",),
        "rescan_interval",
        float,
        "Seconds between rescans of every base URI by the registrar (0: only at start).",
    ),
    Variable(
        ("DTOOL_LOOKUP_WEBHOOK_SECRET",),
        "webhook_secret",
        str,
        "Shared secret S3 webhook deliveries must present; the endpoint is off without it.",
        secret=True,
    ),
    Variable(
        ("DTOOL_LOOKUP_S3_QUEUE_URL",),
        "s3_queue_url",
        str,
        "URL of the SQS queue `s3-events` reads S3 bucket notifications from.",
    ),
    Variable(("DTOOL_LOOKUP_HOST",), "host", str, "Address `serve` binds to (127.0.0.1)."),
    Variable(("DTOOL_LOOKUP_PORT",), "port", int, "Port `serve` listens on (5000)."),
)


def _default_data_dir(environ: Mapping[str, str]) -> Path:
    xdg = environ.get("XDG_DATA_HOME") or os.path.join(environ.get("HOME", "~"), ".local", "share")
    return Path(xdg).expanduser() / "dtool-lookup"


@dataclass(frozen=True)
class Settings:
    """Everything the server, the registrar and the CLI are configured with."""

    data_dir: Path
    database_url: str = ""
    dataset_store_url: str = ""
    mongo_db: str = "dtool_lookup"
    mongo_collection: str = "datasets"
    cache_notify: bool = True
    jwt_public_key: str = ""
    jwt_public_key_file: str = ""
    jwt_private_key: str = ""
    jwt_private_key_file: str = ""
    jwt_algorithm: str = "RS256"
    jwt_access_token_expires: int = 900
    jwt_leeway: int = 0
    disable_jwt_authorisation: bool = False
    default_user: str = "testuser"
    cors_origins: tuple[str, ...] = ("*",)
    cors_expose_headers: tuple[str, ...] = ("X-Pagination", "X-Sort")
    broker_url: str = ""
    rescan_interval: float = 0.0
    webhook_secret: str = ""
    s3_queue_url: str = ""
    host: str = "127.0.0.1"
    port: int = 5000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {"data_dir": _default_data_dir(env)}
        for variable in SETTINGS:
            raw = next((env[name] for name in variable.names if env.get(name)), None)
            if raw is not None:
                values[variable.field] = variable.parse(raw)
        return cls(**values).completed()

    def completed(self) -> Settings:
        """Fill in what derives from other settings (URLs in the data dir, key files)."""
        changes: dict[str, Any] = {}
        if not self.database_url:
            changes["database_url"] = f"sqlite:///{self.data_dir / 'lookup.db'}"
        if not self.dataset_store_url:
            changes["dataset_store_url"] = changes.get("database_url", self.database_url)
        if not self.broker_url:
            changes["broker_url"] = f"sqlite:///{self.data_dir / 'queue.db'}"
        if not self.jwt_public_key and self.jwt_public_key_file:
            changes["jwt_public_key"] = _read_file(self.jwt_public_key_file)
        if not self.jwt_private_key and self.jwt_private_key_file:
            changes["jwt_private_key"] = _read_file(self.jwt_private_key_file)
        return dataclasses.replace(self, **changes) if changes else self

    def secret_fields(self) -> frozenset[str]:
        """Names of the fields shown as ``***`` by ``config show`` and ``/config/info``."""
        return frozenset({v.field for v in SETTINGS if v.secret} | {"jwt_private_key"})

    def public_view(self) -> dict[str, Any]:
        """Return the settings as JSON-safe values with secrets obfuscated."""
        secrets = self.secret_fields()
        view: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name in secrets and value:
                value = "***"
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            view[item.name] = value
        return view
