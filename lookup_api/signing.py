"""Signed tokens for our own download URLs: one dataset component, until a time.

A token is ``<payload>.<signature>``, both base64url: the payload is the
JSON list ``[uri, kind, name, expires]`` and the signature its HMAC-SHA256
under the server's secret. Changing any byte of it makes it invalid;
after ``expires`` (UNIX seconds) a valid token is refused as expired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


class BadSignature(ValueError):
    """The token was not made by us, or was changed."""


class Expired(ValueError):
    """The token was made by us, but its time is up."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid token lets its holder download."""

    uri: str
    kind: str
    name: str
    expires: int


class Signer:
    """Makes and checks tokens with one secret."""

    def __init__(self, secret: str, clock: Clock = time.time) -> None:
        if not secret:
            raise ValueError("a signer needs a secret")
        self._key = secret.encode()
        self._clock = clock

    def now(self) -> int:
        """Return the current time in whole seconds."""
        return int(self._clock())

    def sign(self, grant: Grant) -> str:
        """Return the token granting ``grant``."""
        payload = _encode(json.dumps([grant.uri, grant.kind, grant.name, grant.expires]).encode())
        return f"{payload}.{_encode(self._mac(payload))}"

    def verify(self, token: str) -> Grant:
        """Return what ``token`` grants.

        Raises:
            BadSignature: not a token of ours (changed, truncated, another secret).
            Expired: a token of ours whose time is up.
        """
        payload, dot, signature = token.partition(".")
        try:
            valid = dot and hmac.compare_digest(_decode(signature), self._mac(payload))
            fields = json.loads(_decode(payload)) if valid else None
        except (ValueError, binascii.Error) as ex:
            raise BadSignature("the link is not valid") from ex
        if not valid or not isinstance(fields, list) or not _well_formed(fields):
            raise BadSignature("the link is not valid")
        grant = Grant(fields[0], fields[1], fields[2], fields[3])
        if grant.expires < self.now():
            raise Expired("the link has expired; ask for a new one")
        return grant

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).digest()


def _well_formed(fields: list[object]) -> bool:
    if len(fields) != 4:
        return False
    return all(isinstance(f, str) for f in fields[:3]) and isinstance(fields[3], int)


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
