"""infra/compose.yaml: valid under the Compose specification, and coherent.

``compose-spec.json`` beside this file is the Compose specification's JSON
schema, vendored from github.com/compose-spec/compose-spec, file
schema/compose-spec.json at commit 00655e2222608fa6eaecdf12ac5195889ca2244a
(Apache License 2.0).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lookup_events.cli import main
from lookup_events.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "infra" / "compose.yaml"
DOCKERFILE = ROOT / "infra" / "Dockerfile"
SCHEMA = Path(__file__).with_name("compose-spec.json")
#: Variables compose itself substitutes, besides the settings.
COMPOSE_VARIABLES = {"POSTGRES_PASSWORD", "RABBITMQ_PASSWORD", "DTOOL_LOOKUP_DATASETS"}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    """A validator for the Compose specification's schema (JSON Schema draft 7)."""
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file, anchors and merge keys resolved as Compose resolves them."""
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def test_the_compose_file_is_valid(
    validator: jsonschema.Draft7Validator, compose: dict[str, Any]
) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]

    assert errors == []


def test_the_schema_refuses_a_broken_file(
    validator: jsonschema.Draft7Validator, compose: dict[str, Any]
) -> None:
    broken = {**compose, "services": {**compose["services"], "api": {"imagee": "x"}}}

    assert not validator.is_valid(broken)


def test_the_stack_has_its_services(compose: dict[str, Any]) -> None:
    services = compose["services"]

    assert set(services) == {"postgres", "rabbitmq", "migrate", "api", "registrar", "watcher"}
    assert services["api"]["command"] == [
        "gunicorn",
        "lookup_api.wsgi:app",
        "-c",
        "infra/gunicorn.conf.py",
    ]
    assert services["api"]["environment"]["DTOOL_LOOKUP_HOST"] == "0.0.0.0"
    for name in ("api", "registrar", "watcher", "migrate"):
        environment = services[name]["environment"]
        assert environment["DTOOL_LOOKUP_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in environment["DTOOL_LOOKUP_DATABASE_URL"]
        assert environment["DTOOL_LOOKUP_BROKER_URL"].startswith("amqp://")
        assert services[name]["hostname"] == "dtool-lookup"


def test_dependencies_and_volumes_are_declared(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for service in services.values():
        assert set(service.get("depends_on", {})) <= set(services)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("$", ".", "/")):
                assert source in compose["volumes"]
    assert services["migrate"]["command"] == ["dtool-lookup", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "registrar", "watcher"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"


def test_the_variables_are_settings(compose: dict[str, Any]) -> None:
    known = {name for variable in SETTINGS for name in variable.names}
    text = COMPOSE.read_text()
    set_here = {
        name
        for service in compose["services"].values()
        for name in service.get("environment", {})
        if name.startswith(("DTOOL_LOOKUP_", "JWT_"))
    }
    substituted = set(re.findall(r"\$\{([A-Z_]+)", text))

    assert set_here <= known
    assert substituted <= COMPOSE_VARIABLES


@pytest.mark.parametrize("service", ["registrar", "watcher", "migrate"])
def test_the_commands_exist(compose: dict[str, Any], service: str) -> None:
    program, group, *_ = compose["services"][service]["command"]
    assert program == "dtool-lookup"
    assert group in main.commands


def test_the_dockerfile_copies_what_exists() -> None:
    copies = re.findall(r"^COPY\s+(.+)$", DOCKERFILE.read_text(), flags=re.MULTILINE)
    sources = [source for line in copies for source in line.split()[:-1]]

    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
    assert 'CMD ["gunicorn", "lookup_api.wsgi:app", "-c", "infra/gunicorn.conf.py"]' in (
        DOCKERFILE.read_text()
    )
