"""infra/systemd: the units pass ``systemd-analyze verify`` and run commands that exist.

The units expect a checkout in /opt/dtool-lookup with its virtual environment
in /opt/dtool-lookup/.venv; the test points those paths at this checkout and
its environment, so ``verify`` also checks that every ExecStart binary exists.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lookup_events.cli import main
from lookup_events.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "infra" / "systemd").glob("*.service"))
PREFIX = "/opt/dtool-lookup"
#: Each unit and the command line it must run (after the install prefix).
COMMANDS = {
    "dtool-lookup-api.service": [
        "gunicorn",
        "lookup_api.wsgi:app",
        "-c",
        "infra/gunicorn.conf.py",
    ],
    "dtool-lookup-registrar.service": ["dtool-lookup", "registrar"],
    "dtool-lookup-watch.service": ["dtool-lookup", "watch", "$DTOOL_LOOKUP_WATCH_BASE_URIS"],
    "dtool-lookup-s3-events.service": ["dtool-lookup", "s3-events"],
}
#: Variables the environment file may set besides the settings'.
EXTRA_VARIABLES = {"DTOOL_LOOKUP_WATCH_BASE_URIS"}


def parse(unit: Path) -> configparser.RawConfigParser:
    """Read a unit file as INI, keeping key case and repeated keys' last value."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(unit)
    return parser


def exec_start(unit: Path) -> list[str]:
    """Return the unit's ExecStart as a list of words."""
    return shlex.split(parse(unit)["Service"]["ExecStart"])


def test_every_service_has_a_unit() -> None:
    assert {unit.name for unit in UNITS} == set(COMMANDS)


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_a_unit_has_its_sections_and_command(unit: Path) -> None:
    parser = parse(unit)

    assert parser["Unit"]["Description"]
    assert parser["Install"]["WantedBy"] == "multi-user.target"
    service = parser["Service"]
    assert service["User"] == "dtool-lookup"
    assert service["EnvironmentFile"] == "/etc/dtool-lookup/dtool-lookup.env"
    assert service["WorkingDirectory"] == PREFIX
    assert service["Restart"] == "on-failure"
    binary, *arguments = exec_start(unit)
    assert binary.startswith(f"{PREFIX}/.venv/bin/")
    assert [Path(binary).name, *arguments] == COMMANDS[unit.name]


def test_the_binaries_are_console_scripts_of_the_environment() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    names = {Path(exec_start(unit)[0]).name for unit in UNITS}

    assert names == {"dtool-lookup", "gunicorn"}
    assert "dtool-lookup" in scripts
    for name in names:
        assert (Path(sys.executable).parent / name).exists(), name


@pytest.mark.parametrize("name", ["registrar", "watch", "s3-events"])
def test_the_subcommands_exist(name: str) -> None:
    assert main.commands[name].name == name


def test_the_environment_file_example_names_real_settings() -> None:
    example = (ROOT / "infra" / "systemd" / "dtool-lookup.env.example").read_text()
    names = set(re.findall(r"^([A-Z_]+)=", example, flags=re.MULTILINE))
    known = {name for variable in SETTINGS for name in variable.names}

    assert names
    assert names <= known | EXTRA_VARIABLES


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        reason = "systemd-analyze is not installed (Debian package systemd)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    venv = Path(sys.executable).parent.parent
    for unit in UNITS:
        text = unit.read_text().replace(f"{PREFIX}/.venv", str(venv))
        (tmp_path / unit.name).write_text(text.replace(PREFIX, str(ROOT)))

    result = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.glob("*.service"))],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr  # warnings (unknown keys...) count too
