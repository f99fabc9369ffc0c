"""Real released clients in virtual environments of their own, run against our server.

The clients live in virtual environments of their own under ``.venv-clients/``
(created on first use, reused while their requirements stay the same): their
dependencies conflict with each other and with ours. Each client runs in a
subprocess whose ``HOME`` is a scratch directory, so its dtool configuration
file (``~/.config/dtool/dtool.json``) is the test's own. The scripts they
run live in ``client_drivers/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import REPO

VENV_ROOT = REPO / ".venv-clients"
DRIVERS = Path(__file__).parent / "client_drivers"
CLIENT_REQUIREMENTS = {
    # dtool-lookup-api <= 0.7 speaks 0.18's routes; dtool-lookup-client 0.1.0 is the dtool
    # CLI plugin (its dtool-cli loads plugins through pkg_resources, gone in setuptools 81).
    "legacy": ("dtool-lookup-api==0.7.0", "dtool-lookup-client==0.1.0", "setuptools<81"),
    # dtool-lookup-api >= 0.8 speaks dserver's REST routes.
    "dserver": ("dtool-lookup-api==0.10.3",),
}
PIP_TIMEOUT_S = 900
CLIENT_TIMEOUT_S = 120


def client_venv(name: str) -> Path:
    """Return the client virtual environment ``name``, creating it when needed."""
    target = VENV_ROOT / name
    wanted = "\n".join(CLIENT_REQUIREMENTS[name]) + "\n"
    marker = target / "requirements.txt"
    if marker.exists() and marker.read_text() == wanted and (target / "bin" / "python").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    command = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    command += ["--disable-pip-version-check", *CLIENT_REQUIREMENTS[name]]
    try:
        subprocess.run(command, check=True, timeout=PIP_TIMEOUT_S, capture_output=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as ex:
        reason = f"cannot install {name} clients from PyPI: {getattr(ex, 'stderr', b'')!r}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    marker.write_text(wanted)
    return target


def write_dtool_config(home: Path, values: dict[str, str]) -> Path:
    """Write ``~/.config/dtool/dtool.json`` as a user (or ``dtool config``) would."""
    path = home / ".config" / "dtool" / "dtool.json"
    path.write_text(json.dumps(values, indent=2))
    return path


def run_in(venv: Path, args: Sequence[str], home: Path) -> subprocess.CompletedProcess[str]:
    """Run a command of the client environment with a clean environment and no stdin."""
    env = {
        "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
    return subprocess.run(
        list(args),
        check=False,
        env=env,
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_S,
    )


def run_driver(venv: Path, driver: str, home: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Run a driver script in the client environment; return the JSON it prints."""
    command = [str(venv / "bin" / "python"), str(DRIVERS / driver), json.dumps(params)]
    result = run_in(venv, command, home)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome
