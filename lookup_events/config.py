"""Settings: one typed object built from the environment, the only reader of it.

Each field of ``Settings`` is declared once, with the environment variables
it is read from (``setting(...)``); ``SETTINGS``, the documented list a test
checks against the README, is derived from those declarations. Names of
dtool-lookup-server 0.18 are accepted where they exist
(``SQLALCHEMY_DATABASE_URI``, ``JWT_*``, ``CORS_*``); our own carry the
``DTOOL_LOOKUP_`` prefix.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_VARIABLE = "variable"
_SECRET = "secret"
_HIDDEN = "hidden"
_SQLITE = "sqlite"


def _non_negative(text: str) -> int:
    number = int(text)
    if number < 0:
        raise ValueError(f"expected a number of days, 0 or more, not {text!r}")
    return number


def _bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on", "y", "t"}


def _list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _named_urls(text: str) -> tuple[tuple[str, str], ...]:
    """Read ``name=URL`` pairs separated by commas."""
    pairs = []
    for part in _list(text):
        name, sep, url = part.partition("=")
        if not sep or not name.strip() or not url.strip():
            raise ValueError(f"expected name=URL, got {part!r}")
        pairs.append((name.strip(), url.strip()))
    return tuple(pairs)


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in allowed:
            raise ValueError(f"{text!r} is not one of {', '.join(allowed)}")
        return value

    return parse


_log_format = _choice("text", "json", "auto")
_api_metrics = _choice("loopback", "admin", "public", "off")


def _read_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text()
    except OSError:
        return ""


@dataclass(frozen=True)
class Variable:
    """The environment variables one setting is read from, and how."""

    names: tuple[str, ...]
    parse: Callable[[str], Any]
    help: str
    secret: bool = False
    field: str = ""  # the Settings field, filled in from its declaration


def setting(
    *names: str,
    help: str,
    default: Any = dataclasses.MISSING,
    parse: Callable[[str], Any] = str,
    secret: bool = False,
) -> Any:
    """Declare a Settings field read from ``names`` (ours first, then 0.18's)."""
    variable = Variable(names, parse, help, secret)
    return dataclasses.field(default=default, metadata={_VARIABLE: variable, _SECRET: secret})


def _default_data_dir(environ: Mapping[str, str]) -> Path:
    xdg = environ.get("XDG_DATA_HOME") or os.path.join(environ.get("HOME", "~"), ".local", "share")
    return Path(xdg).expanduser() / "dtool-lookup"


@dataclass(frozen=True)
class Settings:
    """Everything the server, the registrar and the CLI are configured with."""

    data_dir: Path = setting(
        "DTOOL_LOOKUP_DATA_DIR",
        parse=Path,
        help="Directory for the embedded database, queue and generated keys.",
    )
    database_url: str = setting(
        "DTOOL_LOOKUP_DATABASE_URL",
        "SQLALCHEMY_DATABASE_URI",
        default="",
        secret=True,
        help="SQLAlchemy URL of the admin store (and of the dataset store by default).",
    )
    dataset_store_url: str = setting(
        "DTOOL_LOOKUP_DATASET_STORE_URL",
        default="",
        secret=True,
        help="URL of the dataset store when it differs: another SQL URL or mongodb://...",
    )
    mongo_db: str = setting(
        "DTOOL_LOOKUP_MONGO_DB",
        default="dtool_lookup",
        help="MongoDB database of the dataset store (default dtool_lookup).",
    )
    mongo_collection: str = setting(
        "DTOOL_LOOKUP_MONGO_COLLECTION",
        default="datasets",
        help="MongoDB collection of the dataset store (default datasets).",
    )
    cache_notify: bool = setting(
        "DTOOL_LOOKUP_CACHE_NOTIFY",
        default=True,
        parse=_bool,
        help="Learn of other processes' writes without a query per request (true): "
        "LISTEN/NOTIFY on PostgreSQL, a token file beside a SQLite database; false behind a "
        "PostgreSQL pooler in transaction mode.",
    )
    jwt_public_key: str = setting(
        "JWT_PUBLIC_KEY",
        default="",
        help="Public key (PEM or ssh-rsa line) that verifies tokens; wins over the file.",
    )
    jwt_public_key_file: str = setting(
        "JWT_PUBLIC_KEY_FILE", default="", help="File holding the public key."
    )
    #: Read from ``jwt_private_key_file`` (or generated), never from a variable.
    jwt_private_key: str = dataclasses.field(default="", metadata={_SECRET: True})
    jwt_private_key_file: str = setting(
        "JWT_PRIVATE_KEY_FILE",
        default="",
        help="File holding the private key; needed only to issue tokens (user token).",
    )
    jwt_algorithm: str = setting(
        "JWT_ALGORITHM", default="RS256", help="Token signature algorithm (RS256)."
    )
    jwt_access_token_expires: int = setting(
        "JWT_ACCESS_TOKEN_EXPIRES",
        default=900,
        parse=int,
        help="Lifetime in seconds of tokens issued by `user token` (900).",
    )
    jwt_leeway: int = setting(
        "JWT_LEEWAY", default=0, parse=int, help="Clock skew in seconds allowed for exp/nbf (0)."
    )
    disable_jwt_authorisation: bool = setting(
        "DISABLE_JWT_AUTHORISATION",
        default=False,
        parse=_bool,
        help="Single-user mode: every request acts as DEFAULT_USER, no token needed.",
    )
    default_user: str = setting(
        "DEFAULT_USER",
        default="testuser",
        help="The user every request acts as when DISABLE_JWT_AUTHORISATION is on.",
    )
    cors_origins: tuple[str, ...] = setting(
        "CORS_ORIGINS",
        default=("*",),
        parse=_list,
        help="Comma-separated origins allowed by CORS, or * for any (*).",
    )
    cors_expose_headers: tuple[str, ...] = setting(
        "CORS_EXPOSE_HEADERS",
        default=("X-Pagination", "X-Sort"),
        parse=_list,
        help="Response headers exposed to browsers (X-Pagination,X-Sort).",
    )
    broker_url: str = setting(
        "DTOOL_LOOKUP_BROKER_URL",
        default="",
        secret=True,
        help="kombu URL of the event queue; embedded (a SQLite file in the data dir) if unset.",
    )
    rescan_interval: float = setting(
        "DTOOL_LOOKUP_RESCAN_INTERVAL",
        default=0.0,
        parse=float,
        help="Seconds between rescans of every base URI by the registrar (0: only at start).",
    )
    webhook_secret: str = setting(
        "DTOOL_LOOKUP_WEBHOOK_SECRET",
        default="",
        secret=True,
        help="Shared secret S3 webhook deliveries must present; the endpoint is off without it.",
    )
    s3_queue_url: str = setting(
        "DTOOL_LOOKUP_S3_QUEUE_URL",
        default="",
        help="URL of the SQS queue `s3-events` reads S3 bucket notifications from.",
    )
    host: str = setting(
        "DTOOL_LOOKUP_HOST", default="127.0.0.1", help="Address `serve` binds to (127.0.0.1)."
    )
    port: int = setting(
        "DTOOL_LOOKUP_PORT", default=5000, parse=int, help="Port `serve` listens on (5000)."
    )
    plugins: tuple[str, ...] = setting(
        "DTOOL_LOOKUP_PLUGINS",
        default=("*",),
        parse=_list,
        help="Plugins to load, by entry-point name (* for every installed one, none for none).",
    )
    max_register_bytes: int = setting(
        "DTOOL_LOOKUP_MAX_REGISTER_BYTES",
        default=16 * 1024 * 1024,
        parse=int,
        help="Largest body of a register request, in bytes (16 MiB); larger ones get 413.",
    )
    # Search hardening (issue 14): the time budget of every read a request makes.
    query_timeout: float = setting(
        "DTOOL_LOOKUP_QUERY_TIMEOUT",
        default=10.0,
        parse=float,
        help="Seconds a search or other read of the stores may run before it is stopped "
        "with 503 (10; 0 for no limit). Writes are never stopped.",
    )
    # Signed URLs (curation and downloads, issue 16): links to datasets' components.
    signed_url_secret: str = setting(
        "DTOOL_LOOKUP_SIGNED_URL_SECRET",
        default="",
        secret=True,
        help="Secret signing download links to datasets on disk (embedded: generated).",
    )
    signed_url_expiry: int = setting(
        "DTOOL_LOOKUP_SIGNED_URL_EXPIRY",
        default=3600,
        parse=int,
        help="How long a signed URL stays valid, in seconds (1 hour).",
    )
    # The audit trail (issue 17, item 4).
    audit: bool = setting(
        "DTOOL_LOOKUP_AUDIT",
        default=True,
        parse=_bool,
        help="Record every change to datasets, users, base URIs and permissions, with who or "
        "what made it, in the audit trail (true).",
    )
    audit_retention_days: int = setting(
        "DTOOL_LOOKUP_AUDIT_RETENTION_DAYS",
        default=0,
        parse=_non_negative,
        help="Age in days beyond which `audit prune` deletes audit entries (0: keep them all).",
    )
    # Subscriptions: saved searches notified through webhooks or admin-named queues.
    subscriptions: bool = setting(
        "DTOOL_LOOKUP_SUBSCRIPTIONS",
        default=False,
        parse=_bool,
        help="Record dataset changes in an outbox and serve /subscriptions (false).",
    )
    subscription_queues: tuple[tuple[str, str], ...] = setting(
        "DTOOL_LOOKUP_SUBSCRIPTION_QUEUES",
        default=(),
        parse=_named_urls,
        secret=True,
        help="Queues subscriptions may target, as name=URL pairs separated by commas "
        "(amqp://user:pass@host/vhost#queue, sqs+https://sqs.../account/queue).",
    )
    subscription_hosts: tuple[str, ...] = setting(
        "DTOOL_LOOKUP_SUBSCRIPTION_HOSTS",
        default=(),
        parse=_list,
        help="Hosts webhooks may reach (example.org, or .example.org for its subdomains); "
        "any public host if unset.",
    )
    subscription_networks: tuple[str, ...] = setting(
        "DTOOL_LOOKUP_SUBSCRIPTION_NETWORKS",
        default=(),
        parse=_list,
        help="Private, loopback or link-local networks (CIDR) webhooks may reach anyway; none "
        "by default.",
    )
    subscription_http: bool = setting(
        "DTOOL_LOOKUP_SUBSCRIPTION_HTTP",
        default=False,
        parse=_bool,
        help="Allow plain http:// webhook URLs (false: HTTPS only).",
    )
    subscription_timeout: float = setting(
        "DTOOL_LOOKUP_SUBSCRIPTION_TIMEOUT",
        default=5.0,
        parse=float,
        help="Seconds a webhook delivery may take to connect and to answer (5).",
    )
    subscription_attempts: int = setting(
        "DTOOL_LOOKUP_SUBSCRIPTION_ATTEMPTS",
        default=8,
        parse=int,
        help="Tries of one notification before it is parked with the reason (8).",
    )
    subscription_backoff: float = setting(
        "DTOOL_LOOKUP_SUBSCRIPTION_BACKOFF",
        default=2.0,
        parse=float,
        help="Seconds before the first retry of a notification, doubled each try (2).",
    )
    # -- operations: metrics, logs, readiness (issue 17) --
    log_format: str = setting(
        "DTOOL_LOOKUP_LOG_FORMAT",
        default="text",
        parse=_log_format,
        help="Log lines as text, json (one object a line), or auto (JSON unless on a terminal).",
    )
    access_log: bool = setting(
        "DTOOL_LOOKUP_ACCESS_LOG",
        default=True,
        parse=_bool,
        help="The API writes one access line a request: request id, user, route, status, "
        "duration (true); false leaves them out, as gunicorn does by default.",
    )
    metrics_address: str = setting(
        "DTOOL_LOOKUP_METRICS_ADDRESS",
        default="127.0.0.1:9464",
        help="host:port of the metrics and health listener of a registrar, watcher or "
        "s3-events process (off: none).",
    )
    api_metrics: str = setting(
        "DTOOL_LOOKUP_API_METRICS",
        default="loopback",
        parse=_api_metrics,
        help="Who may read the API's /metrics: loopback (unproxied local clients, or an "
        "admin token), admin (an admin token), public, or off.",
    )
    metrics_dir: str = setting(
        "PROMETHEUS_MULTIPROC_DIR",
        default="",
        help="Directory where gunicorn workers and serve's children add up their metrics "
        "(default: a new temporary one).",
    )
    #: The environment the settings came from, for plugins' own settings; never shown.
    environ_items: tuple[tuple[str, str], ...] = dataclasses.field(
        default=(), metadata={_HIDDEN: True}
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "data_dir": _default_data_dir(env),
            "environ_items": tuple(sorted(env.items())),
        }
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

    @property
    def embedded(self) -> bool:
        """Whether both stores are SQLite files: a deployment on one machine.

        An embedded deployment prepares itself (schema, key pair) when it
        starts; a server deployment is prepared by its operator (see
        ``services.py``).
        """
        urls = (self.database_url, self.dataset_store_url)
        return all(url.startswith(_SQLITE) for url in urls)

    @property
    def environ(self) -> Mapping[str, str]:
        """The environment the settings were read from (plugins read theirs from it)."""
        return dict(self.environ_items)

    def secret_fields(self) -> frozenset[str]:
        """Names of the fields shown as ``***`` by ``config show`` and ``/config/info``."""
        return frozenset(f.name for f in dataclasses.fields(self) if f.metadata.get(_SECRET))

    def public_view(self) -> dict[str, Any]:
        """Return the settings as JSON-safe values with secrets obfuscated."""
        secrets = self.secret_fields()
        view: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            if item.metadata.get(_HIDDEN):
                continue
            value = getattr(self, item.name)
            if item.name in secrets and value:
                value = "***"
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            view[item.name] = value
        return view


#: Every environment variable the settings read, in declaration order.
SETTINGS: tuple[Variable, ...] = tuple(
    dataclasses.replace(item.metadata[_VARIABLE], field=item.name)
    for item in dataclasses.fields(Settings)
    if _VARIABLE in item.metadata
)
