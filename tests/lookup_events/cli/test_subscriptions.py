"""``dtool-lookup subscriptions ...`` and ``dtool-lookup deliver``."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from lookup_events.services import Services
from tests.support.cli_runner import LookupCli, clean_env
from tests.support.datasets import make_dataset
from tests.support.network import free_port
from tests.support.processes import process_env, run_lookup, stopped_cleanly, wait_until
from tests.support.webhooks import webhook_receiver

SETTINGS = {
    "DTOOL_LOOKUP_SUBSCRIPTIONS": "true",
    "DTOOL_LOOKUP_SUBSCRIPTION_HTTP": "true",
    "DTOOL_LOOKUP_SUBSCRIPTION_NETWORKS": "127.0.0.0/8",
    "DTOOL_LOOKUP_SUBSCRIPTION_QUEUES": "results=amqp://guest:guest@127.0.0.1//#results",
}


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> LookupCli:
    """The command line with subscriptions on, and a user ``grumpy``."""
    env = clean_env(tmp_path / "data", DTOOL_LOOKUP_DATABASE_URL=database_url, **SETTINGS)
    runner = LookupCli(env)
    runner.ok("db", "upgrade")
    runner.ok("user", "add", "grumpy")
    return runner


def test_add_list_parked_and_delete(cli: LookupCli) -> None:
    created = cli.json("subscriptions", "add", "grumpy", "--queue", "results", "--name", "mine")
    assert created["queue"] == "results"
    assert "secret" not in created
    listed = cli.json("subscriptions", "list", "--user", "grumpy")
    assert [item["name"] for item in listed] == ["mine"]
    assert cli.json("subscriptions", "parked", str(created["id"])) == []
    cli.ok("subscriptions", "delete", str(created["id"]))
    assert cli.json("subscriptions", "list") == []


def test_a_webhook_subscription_prints_its_secret_once(cli: LookupCli) -> None:
    created = cli.json(
        "subscriptions", "add", "grumpy", "--webhook", "http://127.0.0.1:9/x", "--search",
        '{"tags": ["ripe"]}',
    )  # fmt: skip
    assert len(created["secret"]) == 64
    assert created["search"] == {"tags": ["ripe"]}
    assert "secret" not in cli.json("subscriptions", "list")[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--queue", "nowhere"), "no queue named 'nowhere'"),
        (("--webhook", "https://169.254.169.254/x"), "link-local"),
        ((), "exactly one target"),
        (("--queue", "results", "--search", "{nope"), "not JSON"),
        (("--queue", "results", "--search", '{"colour": 1}'), "colour"),
    ],
)
def test_refused_subscriptions_fail_with_the_reason_and_save_nothing(
    cli: LookupCli, args: tuple[str, ...], words: str
) -> None:
    result = cli("subscriptions", "add", "grumpy", *args)
    assert result.exit_code == 1
    assert words in result.stderr
    assert cli.json("subscriptions", "list") == []


def test_unknown_users_and_subscriptions_fail(cli: LookupCli) -> None:
    result = cli("subscriptions", "add", "dopey", "--queue", "results")
    assert (result.exit_code, "dopey" in result.stderr) == (1, True)
    assert cli("subscriptions", "delete", "42").exit_code == 1
    assert cli("subscriptions", "parked", "42").exit_code == 1


def test_subscriptions_off_is_said_plainly(tmp_path: Path, sqlite_url_migrated: str) -> None:
    cli = LookupCli(clean_env(tmp_path / "d", DTOOL_LOOKUP_DATABASE_URL=sqlite_url_migrated))
    result = cli("subscriptions", "list")
    assert result.exit_code == 1
    assert "DTOOL_LOOKUP_SUBSCRIPTIONS=true" in result.stderr


@pytest.mark.slow
def test_deliver_runs_until_stopped_and_notifies_registrations(
    cli: LookupCli, tmp_path: Path
) -> None:
    base = tmp_path / "base"
    base.mkdir()
    cli.ok("base-uri", "add", str(base))
    cli.ok("user", "search-permission", "grumpy", str(base))
    env = process_env(tmp_path / "data", **{k: v for k, v in cli.env.items() if v})
    with webhook_receiver() as receiver:
        cli.ok("subscriptions", "add", "grumpy", "--webhook", receiver.url)
        with run_lookup(["deliver"], env, tmp_path) as deliverer:
            services = Services(cli.settings())
            try:
                uri = make_dataset(base, "crop")
                services.registrar().register_uri(uri)
            finally:
                services.close()
            assert wait_until(lambda: len(receiver.received) == 1, 30), deliverer.log()
            stopped_cleanly(deliverer)
        assert json.loads(receiver.received[0].body)["dataset"]["uri"] == uri
    assert "deliverer stopped" in deliverer.log()


@pytest.mark.slow
def test_serve_runs_the_deliverer_from_subscription_to_webhook(tmp_path: Path) -> None:
    watched = tmp_path / "datasets"
    watched.mkdir()
    env = process_env(tmp_path / "data", **SETTINGS)
    cli = LookupCli(clean_env(tmp_path / "data", **SETTINGS))
    port = free_port()
    with (
        webhook_receiver() as receiver,
        run_lookup(
            ["serve", "--port", str(port), "--watch", str(watched)], env, tmp_path
        ) as server,
    ):
        assert wait_until(lambda: "Listening at" in server.log(), 30), server.log()
        cli.ok("user", "add", "alice")
        (base_uri,) = [item["base_uri"] for item in cli.json("base-uri", "list")]
        cli.ok("user", "search-permission", "alice", base_uri)
        token = cli.ok("user", "token", "alice").stdout.strip()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/subscriptions",
            data=json.dumps(
                {"search": {"free_text": "quinces"}, "webhook": receiver.url}
            ).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
        uri = make_dataset(watched, "quinces", readme="---\ndescription: quinces\n")
        assert wait_until(lambda: len(receiver.received) == 1, 60), server.log()
        stopped_cleanly(server)
    assert receiver.received[0].json["dataset"]["uri"] == uri
    assert receiver.received[0].json["event"] == "registered"
