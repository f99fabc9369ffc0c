"""Settings for the Lambda handlers: the environment, with secrets fetched from AWS.

A variable ``NAME_SSM_PARAMETER`` names an SSM Parameter Store parameter
(SecureString or String) whose value becomes ``NAME``; ``NAME_SECRET_ARN``
names a Secrets Manager secret (ARN or name) whose string becomes ``NAME``,
or, written ``<arn>#<key>``, the field ``key`` of a JSON secret. ``NAME`` must
be one of the variables ``Settings`` reads, e.g.
``DTOOL_LOOKUP_DATABASE_URL_SSM_PARAMETER=/dtool-lookup/database-url``.
Values are fetched once per cold start: the handlers cache what they build.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from lookup_events.config import SETTINGS, Settings

SSM_SUFFIX = "_SSM_PARAMETER"
SECRET_SUFFIX = "_SECRET_ARN"
#: Where the handlers keep files: /tmp is the only writable directory in Lambda.
LAMBDA_DATA_DIR = "/tmp/dtool-lookup"

ClientFactory = Callable[[str], Any]
_KNOWN = frozenset(name for variable in SETTINGS for name in variable.names)


class SettingsUnavailable(RuntimeError):
    """A referenced parameter or secret cannot be read, or a setting is missing."""


def aws_client(service: str) -> Any:
    """Return a boto3 client for ``service`` (region and credentials from Lambda)."""
    import boto3  # noqa: PLC0415 - boto3 is the lambda extra, not a core dependency

    return boto3.client(service)


def lambda_settings(
    environ: Mapping[str, str] | None = None, client: ClientFactory = aws_client
) -> Settings:
    """Build settings from the environment, resolving parameter and secret references."""
    # NOTE(dev): the Lambda entry point is this process's one reader of
    # os.environ besides Settings.from_env, which gets the resolved copy.
    env = dict(os.environ if environ is None else environ)
    env.setdefault("DTOOL_LOOKUP_DATA_DIR", LAMBDA_DATA_DIR)
    return Settings.from_env(resolve_environment(env, client))


def resolve_environment(
    environ: Mapping[str, str], client: ClientFactory = aws_client
) -> dict[str, str]:
    """Return a copy of ``environ`` with every parameter or secret reference resolved.

    Raises:
        SettingsUnavailable: a reference names no setting, or its value cannot be read.
    """
    resolved = dict(environ)
    clients: dict[str, Any] = {}

    def cached(service: str) -> Any:
        if service not in clients:
            clients[service] = client(service)
        return clients[service]

    for key, reference in sorted(environ.items()):
        for suffix, fetch in ((SSM_SUFFIX, _parameter), (SECRET_SUFFIX, _secret)):
            if key.endswith(suffix) and reference:
                name = key.removesuffix(suffix)
                if name not in _KNOWN:
                    raise SettingsUnavailable(f"{key}: {name} is not a setting")
                resolved[name] = _fetch(key, reference, fetch, cached)
    return resolved


Fetch = Callable[[ClientFactory, str], str]


def _fetch(key: str, reference: str, fetch: Fetch, client: ClientFactory) -> str:
    try:
        return fetch(client, reference)
    except SettingsUnavailable:
        raise
    except Exception as ex:  # botocore's errors: missing, denied, throttled, unreachable
        raise SettingsUnavailable(f"{key}: cannot read {reference!r}: {ex}") from ex


def _parameter(client: ClientFactory, name: str) -> str:
    response = client("ssm").get_parameter(Name=name, WithDecryption=True)
    return str(response["Parameter"]["Value"])


def _secret(client: ClientFactory, reference: str) -> str:
    secret_id, _, field = reference.partition("#")
    response = client("secretsmanager").get_secret_value(SecretId=secret_id)
    text = response.get("SecretString")
    if text is None:
        raise SettingsUnavailable(f"secret {secret_id!r} holds binary data, not a string")
    if not field:
        return str(text)
    try:
        value = json.loads(text)[field]
    except (ValueError, KeyError, TypeError) as ex:
        raise SettingsUnavailable(f"secret {secret_id!r} has no JSON field {field!r}") from ex
    return value if isinstance(value, str) else json.dumps(value)
