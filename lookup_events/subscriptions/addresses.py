"""Where webhooks may go: HTTPS to allowed public hosts, checked at every send.

A webhook URL is refused unless its scheme is ``https`` (or ``http`` when an
admin allows it), its host is allowed (``DTOOL_LOOKUP_SUBSCRIPTION_HOSTS``, any
public host by default) and every address it resolves to is public:
private, loopback, link-local (cloud metadata at 169.254.169.254),
multicast, reserved and unspecified addresses are refused unless they lie in
a network the admin allowed (``DTOOL_LOOKUP_SUBSCRIPTION_NETWORKS``). The
sender connects to the very address checked here, so a DNS answer that
changes between the check and the connection (rebinding) cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from lookup_events.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class AddressRefused(ValueError):
    """A webhook URL or the address it resolves to is not allowed."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked webhook URL: the address to connect to, and the URL's parts."""

    url: str
    scheme: str
    host: str
    port: int
    address: str
    target: str  # path and query, as sent in the request line


def resolve(host: str, port: int) -> list[str]:
    """Return every address ``host`` resolves to (the system resolver)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as ex:
        raise AddressRefused(f"host {host!r} does not resolve: {ex}") from ex
    return list(dict.fromkeys(str(item[4][0]) for item in found))


class AddressPolicy:
    """Decides which webhook URLs may be called, and at which address."""

    def __init__(
        self,
        hosts: Sequence[str] = (),
        networks: Sequence[str] = (),
        allow_http: bool = False,
        resolver: Resolver = resolve,
    ) -> None:
        self._hosts = tuple(host.lower() for host in hosts)
        self._networks = tuple(ipaddress.ip_network(net, strict=False) for net in networks)
        self._schemes = ("https", "http") if allow_http else ("https",)
        self._resolve = resolver

    def check_url(self, url: str) -> SplitResult:
        """Refuse a URL whose scheme, credentials or host are not allowed.

        Raises:
            AddressRefused: with the reason.
        """
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as ex:
            raise AddressRefused(f"not a URL: {ex}") from ex
        if parts.scheme not in self._schemes:
            raise AddressRefused(f"webhook URLs must use {' or '.join(self._schemes)}")
        if not parts.hostname:
            raise AddressRefused("the webhook URL names no host")
        if parts.username or parts.password:
            raise AddressRefused("webhook URLs may not hold credentials")
        if self._hosts and not any(_host_matches(parts.hostname, h) for h in self._hosts):
            raise AddressRefused(f"host {parts.hostname!r} is not among the allowed hosts")
        return parts

    def destination(self, url: str) -> Destination:
        """Check ``url`` and resolve its host to one allowed address.

        Raises:
            AddressRefused: the URL, or any address its host resolves to.
        """
        parts = self.check_url(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = self._resolve(host, port)
        if not addresses:
            raise AddressRefused(f"host {host!r} resolves to no address")
        for address in addresses:
            self._check_address(host, address)
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        return Destination(url, parts.scheme, host, port, addresses[0], target)

    def _check_address(self, host: str, text: str) -> None:
        address: IPAddress = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self._networks):
            return
        if not address.is_global or address.is_multicast:
            raise AddressRefused(
                f"host {host!r} resolves to {address}, a private, loopback, link-local or "
                "reserved address (allow its network in DTOOL_LOOKUP_SUBSCRIPTION_NETWORKS)"
            )


def policy_for(settings: Settings) -> AddressPolicy:
    """Return the address policy the settings describe."""
    return AddressPolicy(
        settings.subscription_hosts,
        settings.subscription_networks,
        allow_http=settings.subscription_http,
    )


def _host_matches(host: str, allowed: str) -> bool:
    host = host.lower().rstrip(".")
    if allowed.startswith("."):
        return host.endswith(allowed) or host == allowed[1:]
    return host == allowed
