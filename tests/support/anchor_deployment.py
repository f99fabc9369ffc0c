"""An old deployment written by the real dtool-lookup-server 0.18.0, for migration tests.

0.18.0 and its Mongo plugins live in a virtual environment of their own
(``.venv-anchor/``, created on first use and reused while the requirements
stay the same). ``anchor_driver.py`` runs in it: its ``flask`` commands
create the tables (Flask-Migrate), users, base URIs and permissions, index a
base URI of real datasets, and a dataset is registered over its HTTP API.
mongomock stands in for the old MongoDB server (there is none here); its
documents, written by the 0.18 plugins' own code, are dumped as BSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lookup_events.storage.brokers import read_dataset
from lookup_events.uris import normalise_uri
from tests.support.datasets import make_dataset

REPO_ROOT = Path(__file__).resolve().parents[2]
ANCHOR_VENV = REPO_ROOT / ".venv-anchor"
ANCHOR_REQUIREMENTS = (
    "dtool-lookup-server==0.18.0",
    "dtool-lookup-server-search-plugin-mongo==0.2.0",
    "dtool-lookup-server-retrieve-plugin-mongo==0.2.0",
    # Contemporary with 0.18.0 (August 2023); it breaks on Flask 3 and marshmallow 4.
    "flask==2.3.*",
    "werkzeug==2.3.*",
    "flask-jwt-extended==4.5.*",
    "flask-smorest==0.42.*",
    "marshmallow<4",
    "marshmallow-sqlalchemy<1",
    "sqlalchemy==2.0.*",
    "flask-sqlalchemy==3.0.*",
    "psycopg2-binary",  # for an old deployment on PostgreSQL
    "flask-migrate",
    "pymongo==4.5.*",
    "mongomock==4.3.0",
    "setuptools<81",  # 0.18 finds its plugins through pkg_resources
)
DRIVER = Path(__file__).parent / "anchor_driver.py"
PIP_TIMEOUT_S = 900
DRIVER_TIMEOUT_S = 300


def anchor_python() -> Path:
    """Return the interpreter of the 0.18.0 environment, creating it when needed."""
    wanted = "\n".join(ANCHOR_REQUIREMENTS) + "\n"
    marker = ANCHOR_VENV / "requirements.txt"
    python = ANCHOR_VENV / "bin" / "python"
    if marker.exists() and marker.read_text() == wanted and python.exists():
        return python
    shutil.rmtree(ANCHOR_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(ANCHOR_VENV)], check=True)
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    try:
        subprocess.run(
            [*command, *ANCHOR_REQUIREMENTS],
            check=True,
            timeout=PIP_TIMEOUT_S,
            capture_output=True,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as ex:
        reason = f"cannot install dtool-lookup-server 0.18.0: {getattr(ex, 'stderr', b'')!r}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    marker.write_text(wanted)
    return python


@dataclass(frozen=True)
class Anchor:
    """An old deployment written by dtool-lookup-server 0.18.0."""

    database_url: str
    archive: str
    share: str
    uris: dict[str, str]
    uuids: dict[str, str]
    listing: dict[str, Any]
    dump: Path


def _key_files(root: Path) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = root / "jwt_key", root / "jwt_key.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return str(private), str(public)


def register_body(uri: str) -> dict[str, Any]:
    """Return the 0.18 register-route body of the dataset at ``uri`` (string timestamps)."""
    info = read_dataset(uri)
    keys = ("uuid", "base_uri", "uri", "name", "type", "readme", "creator_username")
    body = {key: info[key] for key in keys}
    body.update(annotations=info["annotations"], tags=info["tags"])
    body.update(frozen_at=str(info["frozen_at"]), created_at=str(info["created_at"]))
    manifest = info["manifest"]
    body["manifest"] = {k: manifest[k] for k in ("items", "hash_function", "dtoolcore_version")}
    return body


def _commands(archive: str, share: str, migrations: Path) -> list[list[str]]:
    return [
        *(["db", verb, "-d", str(migrations)] for verb in ("init", "migrate", "upgrade")),
        ["user", "add", "-a", "snow-white"],
        *(["user", "add", name] for name in ("grumpy", "sleepy", "dopey")),
        ["base_uri", "add", archive],
        ["base_uri", "add", share],
        ["user", "search_permission", "grumpy", archive],
        ["user", "search_permission", "sleepy", archive],
        ["user", "register_permission", "grumpy", archive],
        ["user", "search_permission", "sleepy", share],
        ["user", "register_permission", "sleepy", share],
        ["base_uri", "index", archive],
    ]


def build_anchor(root: Path, database_url: str = "") -> Anchor:
    """Build the old deployment in ``root`` with the real 0.18.0; remove one dataset after.

    Its SQL database is a SQLite file in ``root`` unless ``database_url`` names
    another (an empty PostgreSQL database, say).
    """
    database_url = database_url or f"sqlite:///{root / 'app.db'}"
    python = anchor_python()
    uris = {
        "apples": make_dataset(root / "archive", "apples", tags=["fruit", "red"]),
        "pears": make_dataset(root / "archive", "pears", annotations={"colour": "green"}),
        "gone": make_dataset(root / "archive", "gone"),
        "figs": make_dataset(root / "share", "figs", creator="sleepy", tags=["dried"]),
    }
    make_dataset(root / "archive", "unfinished", freeze=False)
    archive, share = normalise_uri(str(root / "archive")), normalise_uri(str(root / "share"))
    private, public = _key_files(root)
    plan = {
        "database_url": database_url,
        "private_key_file": private,
        "public_key_file": public,
        "commands": _commands(archive, share, root / "migrations"),
        "register": [{"user": "sleepy", "body": register_body(uris["figs"])}],
        "listing": str(root / "listing.json"),
        "dump": str(root / "datasets.bson"),
    }
    (root / "plan.json").write_text(json.dumps(plan))
    env = {"HOME": str(root), "PATH": os.environ.get("PATH", "")}
    # NOTE(dev): -P keeps the driver's directory off sys.path, so nothing beside
    # it (once a queue/ test package) can stand in for a standard library module.
    subprocess.run(
        [str(python), "-P", str(DRIVER), str(root / "plan.json")],
        check=True,
        cwd=root,
        env=env,
        timeout=DRIVER_TIMEOUT_S,
    )
    uuids = {name: read_dataset(uri)["uuid"] for name, uri in uris.items()}
    shutil.rmtree(root / "archive" / "gone")  # removed from storage since it was indexed
    listing = json.loads((root / "listing.json").read_text())
    return Anchor(
        database_url,
        archive,
        share,
        uris,
        uuids,
        listing,
        root / "datasets.bson",
    )
