"""Real released clients against a real server: gunicorn on 127.0.0.1, real tokens.

The clients live in virtual environments of their own under ``.venv-clients/``
(created on first use, reused while their requirements stay the same): their
dependencies conflict with each other and with ours. Each client runs in a
subprocess whose ``HOME`` is a scratch directory, so its dtool configuration
file (``~/.config/dtool/dtool.json``) is the test's own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lookup_events.store import open_stores, upgrade_database
from lookup_events.tokens import issue_token
from tests.bench.server import REPO_ROOT, gunicorn, server_environment
from tests.conftest import settings_for
from tests.support.data import load_anchor_data

VENV_ROOT = REPO_ROOT / ".venv-clients"
DRIVERS = Path(__file__).parents[1] / "support" / "client_drivers"
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


@dataclass(frozen=True)
class Keys:
    """The key pair the server under test trusts."""

    private_pem: str
    public_pem: str


@pytest.fixture(scope="session")
def keys() -> Keys:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Keys(
        private_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        public_pem=key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    )


@pytest.fixture(scope="session")
def tokens(keys: Keys) -> dict[str, str]:
    """Long-lived tokens of the anchor users (and of dopey, who is not registered)."""
    names = ("grumpy", "sleepy", "snow-white", "dopey")
    return {name: issue_token(keys.private_pem, name, expires_in=None) for name in names}


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Iterator[str]:
    """Serve the anchor data with gunicorn on a free loopback port (one server per module)."""
    data_dir = tmp_path_factory.mktemp("server")
    database = f"sqlite:///{data_dir / 'lookup.db'}"
    upgrade_database(database)
    stores = open_stores(settings_for(database, data_dir))
    try:
        load_anchor_data(stores)
    finally:
        stores.close()
    env = server_environment(
        {
            "DTOOL_LOOKUP_DATA_DIR": str(data_dir),
            "DTOOL_LOOKUP_DATABASE_URL": database,
            "JWT_PUBLIC_KEY": keys.public_pem,
        }
    )
    with gunicorn("lookup_api.wsgi:app", env, data_dir) as server:
        yield f"http://127.0.0.1:{server.port}"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A scratch home directory holding the client's dtool configuration."""
    (tmp_path / "home" / ".config" / "dtool").mkdir(parents=True)
    return tmp_path / "home"


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
