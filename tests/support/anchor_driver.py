"""Drive a real dtool-lookup-server 0.18.0 (run with the ``.venv-anchor`` interpreter).

Usage: ``python anchor_driver.py PLAN.json``. The plan names the database
(SQLite or PostgreSQL), the ``flask`` commands to run in order (``db init/migrate/upgrade``,
``user add``, ``base_uri add``, permissions, ``base_uri index``), datasets to
register over HTTP with a token from ``flask user token``, and where to write
the results: ``flask user list`` / ``base_uri list`` as JSON, and the Mongo
plugins' documents as concatenated BSON (what ``mongodump`` writes).

No MongoDB server is available, so mongomock stands in for the one the two
0.18 Mongo plugins share (``pymongo.MongoClient`` is replaced before they are
imported); the SQL side is the real Flask-SQLAlchemy.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any


def run(plan: dict[str, Any]) -> None:
    """Carry out ``plan`` against a fresh 0.18.0 app."""
    os.environ["SQLALCHEMY_DATABASE_URI"] = plan["database_url"]
    os.environ["JWT_PRIVATE_KEY_FILE"] = plan["private_key_file"]
    os.environ["JWT_PUBLIC_KEY_FILE"] = plan["public_key_file"]
    import bson
    import mongomock
    import mongomock.collection
    import mongomock.store
    import pymongo
    from bson.binary import UuidRepresentation
    from bson.codec_options import CodecOptions

    server = mongomock.store.ServerStore()
    pymongo.MongoClient = functools.partial(mongomock.MongoClient, _store=server)
    standard = CodecOptions(uuid_representation=UuidRepresentation.STANDARD)

    class StandardBSON:
        """mongomock's document check, with the plugins' uuidRepresentation='standard'."""

        @staticmethod
        def encode(document: Any, check_keys: bool = False) -> bytes:
            return bson.encode(document, check_keys, standard)

    mongomock.collection.BSON = StandardBSON

    from dtool_lookup_server import create_app
    from flask.cli import FlaskGroup

    app = create_app()
    runner = app.test_cli_runner()
    # NOTE(dev): FlaskGroup loads the `flask.commands` entry points (user,
    # base_uri, config, and Flask-Migrate's db) as the `flask` command does.
    group = FlaskGroup(create_app=lambda: app)

    def flask(*args: str) -> str:
        result = runner.invoke(group, args=list(args))
        if result.exit_code != 0:
            raise SystemExit(f"flask {' '.join(args)} failed: {result.output}")
        return str(result.output)

    for args in plan["commands"]:
        flask(*args)
    http = app.test_client()
    for registration in plan["register"]:
        token = flask("user", "token", registration["user"]).strip()
        response = http.post(
            "/dataset/register",
            json=registration["body"],
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code != 201:
            raise SystemExit(f"register failed: {response.status_code} {response.data!r}")
    _write_results(plan, flask, pymongo.MongoClient())


def _write_results(plan: dict[str, Any], flask: Any, client: Any) -> None:
    import bson
    from bson.binary import UuidRepresentation
    from bson.codec_options import CodecOptions

    listed = {
        "users": json.loads(flask("user", "list")),
        "base_uris": json.loads(flask("base_uri", "list")),
    }
    Path(plan["listing"]).write_text(json.dumps(listed, indent=2))
    options = CodecOptions(uuid_representation=UuidRepresentation.STANDARD)
    documents = client["dtool_info"]["datasets"].find({})
    with open(plan["dump"], "wb") as dump:
        for document in documents:
            dump.write(bson.encode(document, codec_options=options))


if __name__ == "__main__":
    run(json.loads(Path(sys.argv[1]).read_text()))
