"""Which webhook URLs may be called, and that the checked address is the one connected to."""

from __future__ import annotations

import pytest

from lookup_events.subscriptions.addresses import AddressPolicy, AddressRefused
from lookup_events.subscriptions.targets import DeliveryFailed, WebhookSender
from tests.support.webhooks import webhook_receiver

PUBLIC = "93.184.215.14"


def resolver_to(*addresses: str):  # type: ignore[no-untyped-def]
    """A resolver answering ``addresses`` for any host."""
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "::ffff:127.0.0.1",
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_refused(address: str) -> None:
    policy = AddressPolicy(resolver=resolver_to(address))
    with pytest.raises(AddressRefused, match="private, loopback, link-local"):
        policy.destination("https://hooks.example.org/in")


def test_one_private_answer_among_public_ones_is_refused() -> None:
    policy = AddressPolicy(resolver=resolver_to(PUBLIC, "10.0.0.1"))
    with pytest.raises(AddressRefused):
        policy.destination("https://hooks.example.org/in")


def test_a_public_address_is_accepted_and_kept_for_the_connection() -> None:
    policy = AddressPolicy(resolver=resolver_to(PUBLIC))
    destination = policy.destination("https://hooks.example.org:8443/in?x=1")
    assert (destination.address, destination.port, destination.target) == (
        PUBLIC,
        8443,
        "/in?x=1",
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.org/in", "must use https"),
        ("ftp://hooks.example.org/in", "must use https"),
        ("https:///in", "names no host"),
        ("https://user:pw@hooks.example.org/in", "credentials"),
        ("https://hooks.example.org:99999/in", "not a URL"),
        ("https://evil.example.com/in", "not among the allowed hosts"),
    ],
)
def test_urls_outside_the_rules_are_refused(url: str, reason: str) -> None:
    policy = AddressPolicy(hosts=(".example.org",), resolver=resolver_to(PUBLIC))
    with pytest.raises(AddressRefused, match=reason):
        policy.destination(url)


def test_an_allowed_network_lets_loopback_in() -> None:
    policy = AddressPolicy(networks=("127.0.0.0/8",), resolver=resolver_to("127.0.0.1"))
    assert policy.destination("https://hooks.test/in").address == "127.0.0.1"


def test_the_sender_connects_to_the_checked_address_not_a_new_lookup() -> None:
    # DNS rebinding: the first answer is checked; a later one must not be used.
    answers = [["127.0.0.1"], ["10.9.9.9"]]
    policy = AddressPolicy(
        networks=("127.0.0.0/8",), allow_http=True, resolver=lambda host, port: answers.pop(0)
    )
    sender = WebhookSender(policy, timeout=2.0)
    with webhook_receiver() as receiver:
        url = f"http://rebinding.test:{receiver.port}/hook"
        sender.send(url, "secret", 7, b"{}")
        [request] = receiver.received
        assert request.headers["host"] == f"rebinding.test:{receiver.port}"
        assert request.headers["x-dtool-lookup-delivery"] == "7"
        with pytest.raises(DeliveryFailed, match=r"10\.9\.9\.9"):
            sender.send(url, "secret", 8, b"{}")
        assert len(receiver.received) == 1
