"""Lambda settings: parameter and secret references resolved from moto's SSM and secrets."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from lambdas.settings import (
    LAMBDA_DATA_DIR,
    SettingsUnavailable,
    lambda_settings,
    resolve_environment,
)
from tests.support.aws import Aws


def parameter(aws: Aws, value: str, kind: str = "SecureString") -> str:
    """Store ``value`` in a new SSM parameter; return its name."""
    name = f"/dtool-lookup/test/{secrets.token_hex(4)}"
    aws.client("ssm").put_parameter(Name=name, Value=value, Type=kind)
    return name


def secret(aws: Aws, value: str) -> str:
    """Store ``value`` in a new Secrets Manager secret; return its ARN."""
    created = aws.client("secretsmanager").create_secret(
        Name=f"dtool-lookup-{secrets.token_hex(4)}", SecretString=value
    )
    return str(created["ARN"])


def test_a_database_url_comes_from_a_secure_parameter(aws: Aws, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'secret.db'}"
    environ = {"DTOOL_LOOKUP_DATABASE_URL_SSM_PARAMETER": parameter(aws, url)}

    settings = lambda_settings(environ, aws.client)

    assert settings.database_url == url
    assert settings.dataset_store_url == url
    assert settings.public_view()["database_url"] == "***"


def test_a_public_key_comes_from_a_plain_parameter(aws: Aws) -> None:
    environ = {"JWT_PUBLIC_KEY_SSM_PARAMETER": parameter(aws, "ssh-rsa AAAA key", "String")}

    assert lambda_settings(environ, aws.client).jwt_public_key == "ssh-rsa AAAA key"


def test_a_secret_or_one_field_of_a_json_secret_becomes_a_setting(aws: Aws) -> None:
    whole = secret(aws, "postgresql+psycopg://u:p@db/lookup")
    document = secret(aws, json.dumps({"url": "postgresql+psycopg://v:q@db/lookup", "port": 5432}))

    plain = resolve_environment({"DTOOL_LOOKUP_DATABASE_URL_SECRET_ARN": whole}, aws.client)
    field = resolve_environment(
        {"SQLALCHEMY_DATABASE_URI_SECRET_ARN": f"{document}#url"}, aws.client
    )
    number = resolve_environment({"DTOOL_LOOKUP_PORT_SECRET_ARN": f"{document}#port"}, aws.client)

    assert plain["DTOOL_LOOKUP_DATABASE_URL"] == "postgresql+psycopg://u:p@db/lookup"
    assert field["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://v:q@db/lookup"
    assert number["DTOOL_LOOKUP_PORT"] == "5432"


def test_plain_variables_pass_through_and_data_lives_in_tmp(aws: Aws) -> None:
    settings = lambda_settings({"JWT_ALGORITHM": "RS512"}, aws.client)

    assert settings.jwt_algorithm == "RS512"
    assert str(settings.data_dir) == LAMBDA_DATA_DIR
    assert settings.database_url == f"sqlite:///{LAMBDA_DATA_DIR}/lookup.db"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DTOOL_LOOKUP_DATABASE_URL_SSM_PARAMETER": "/no/such/parameter"}, "/no/such/parameter"),
        ({"DTOOL_LOOKUP_DATABASE_URL_SECRET_ARN": "no-such-secret"}, "no-such-secret"),
        ({"NOT_A_SETTING_SSM_PARAMETER": "/x"}, "NOT_A_SETTING is not a setting"),
    ],
)
def test_an_unreadable_reference_is_an_error_naming_it(
    aws: Aws, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsUnavailable, match=message):
        lambda_settings(environ, aws.client)


def test_a_missing_json_field_is_an_error(aws: Aws) -> None:
    arn = secret(aws, json.dumps({"url": "x"}))

    with pytest.raises(SettingsUnavailable, match="no JSON field 'password'"):
        resolve_environment(
            {"DTOOL_LOOKUP_DATABASE_URL_SECRET_ARN": f"{arn}#password"}, aws.client
        )


def test_the_default_client_uses_the_aws_environment(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = parameter(aws, "sqlite:////tmp/from-env.db")
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint)
    monkeypatch.setenv("DTOOL_LOOKUP_DATABASE_URL_SSM_PARAMETER", name)

    assert lambda_settings().database_url == "sqlite:////tmp/from-env.db"
