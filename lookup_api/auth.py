"""Bearer tokens: read the header, verify the JWT, return the identity (``sub``).

Statuses and ``msg`` texts are those of flask-jwt-extended 4 (what 0.18 ran):
401 for a missing header, a wrong scheme or an expired token, 422 for the
rest. Verified tokens are cached until they expire: RS256 verification costs
tens of microseconds and every request carries a token.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import falcon
import jwt
from jwt.algorithms import get_default_algorithms
from jwt.types import Options

from lookup_api.errors import ClaimError, TokenError

log = logging.getLogger(__name__)

HEADER_NAME = "Authorization"
HEADER_TYPE = "Bearer"
IDENTITY_CLAIM = "sub"
TIME_CLAIMS = ("exp", "nbf", "iat")
# NOTE(dev): the last second of year 9999: every real timestamp fits, and so does
# its float (an int too large for a float made ``float(exp)`` raise, a 500).
LATEST_TIME = 253_402_300_799
MAX_SUBJECT_LENGTH = 255  # the longest username a store holds
# NUL (PostgreSQL text cannot hold it) and surrogates (UTF-8 cannot encode them alone).
_UNSTORABLE_CHARS = re.compile("[\x00\ud800-\udfff]")
# The header nearly every request sends: one scheme, one token, no list.
_BEARER_PREFIX = f"{HEADER_TYPE} "
_EXPECTED = f"Expected '{HEADER_NAME}: {HEADER_TYPE} <JWT>'"
_NOT_CONFIGURED = "This server has no usable public key to verify tokens with"
_DECODE_OPTIONS: Options = {
    # NOTE(dev): 0.18 ignored aud and iss, and a non-string sub is an unknown user
    # (401 later), not a malformed token.
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}


def bearer_token(req: falcon.Request) -> str:
    """Return the token of an ``Authorization: Bearer <JWT>`` header.

    Raises:
        TokenError: 401 when missing or of another scheme, 422 when malformed.
    """
    header = (req.get_header(HEADER_NAME) or "").strip().strip(",")
    token = _plain_bearer(header)
    if token is not None:
        return token
    if not header:
        raise TokenError(401, f"Missing {HEADER_NAME} Header")
    fields = [field.split() for field in re.split(r",\s*", header)]
    bearer = [field for field in fields if field and field[0] == HEADER_TYPE]
    if len(bearer) != 1:
        raise TokenError(
            401, f"Missing '{HEADER_TYPE}' type in '{HEADER_NAME}' header. {_EXPECTED}"
        )
    if len(bearer[0]) != 2:
        raise TokenError(422, f"Bad {HEADER_NAME} header. {_EXPECTED}")
    return bearer[0][1]


def _plain_bearer(header: str) -> str | None:
    """Return the token of the usual header, ``Bearer <token>`` alone; else None."""
    if header.startswith(_BEARER_PREFIX):
        token = header[len(_BEARER_PREFIX) :]
        # NOTE(dev): printable with no space or comma is a subset of [^\s,]+ that
        # str checks in C without a regular expression; the rest take the long way.
        if token and token.isprintable() and " " not in token and "," not in token:
            return token
    return None


class TokenVerifier:
    """Verifies tokens with one public key and remembers the good ones."""

    def __init__(
        self,
        public_key: str,
        algorithm: str = "RS256",
        leeway: int = 0,
        *,
        cache_size: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._algorithm = algorithm
        self._leeway = leeway
        self._clock = clock
        self._key = _prepare_key(public_key, algorithm)
        self._cache: OrderedDict[str, tuple[object, float]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def identity(self, token: str) -> object:
        """Return the ``sub`` claim of a valid access token (any JSON type).

        Raises:
            TokenError: the token is not acceptable, with 0.18's status and text.
        """
        cached = self._cached(token)
        if cached is not None:
            return cached[0]
        claims = self._decode(token)
        if IDENTITY_CLAIM not in claims:
            raise TokenError(422, f"Missing claim: {IDENTITY_CLAIM}")
        check_claims(claims)
        if claims.get("type", "access") == "refresh":
            raise TokenError(422, "Only non-refresh tokens are allowed")
        expires = claims.get("exp")
        until = float(expires) + self._leeway if expires is not None else float("inf")
        self._remember(token, claims[IDENTITY_CLAIM], until)
        return claims[IDENTITY_CLAIM]

    def _decode(self, token: str) -> dict[str, Any]:
        if self._key is None:  # NOTE(dev): logged once, when the verifier was built
            raise TokenError(401, _NOT_CONFIGURED)
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                leeway=self._leeway,
                options=_DECODE_OPTIONS,
            )
        except jwt.ExpiredSignatureError:
            raise TokenError(401, "Token has expired") from None
        except jwt.InvalidTokenError as ex:
            raise TokenError(422, str(ex)) from None
        except (OverflowError, ValueError, TypeError) as ex:
            # NOTE(dev): PyJWT checks exp/nbf/iat with int(), which raises these for
            # Infinity and NaN (its JSON reader accepts both) after the signature held.
            raise ClaimError(f"Invalid time claim: {ex}") from None
        if not isinstance(claims, dict):  # pragma: no cover - PyJWT returns a dict
            raise TokenError(422, "Invalid payload")
        return claims

    def _cached(self, token: str) -> tuple[object, float] | None:
        with self._lock:
            entry = self._cache.get(token)
            if entry is None:
                return None
            if self._clock() >= entry[1]:
                del self._cache[token]
                return None
            self._cache.move_to_end(token)
            return entry

    def _remember(self, token: str, identity: object, until: float) -> None:
        with self._lock:
            self._cache[token] = (identity, until)
            self._cache.move_to_end(token)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


def check_claims(claims: dict[str, Any]) -> None:
    """Refuse claims no user could hold: an unstorable ``sub``, odd times.

    A ``sub`` that is not a string stays an unknown user (401), as in 0.18.

    Raises:
        ClaimError: a ``sub`` string with NUL, a lone surrogate or over 255
            characters; an ``exp``/``nbf``/``iat`` that is not a number of
            seconds between 0 and the end of year 9999.
    """
    subject = claims[IDENTITY_CLAIM]
    if isinstance(subject, str) and (
        len(subject) > MAX_SUBJECT_LENGTH or _UNSTORABLE_CHARS.search(subject)
    ):
        raise ClaimError(f"Invalid claim: {IDENTITY_CLAIM} cannot name a user")
    for name in TIME_CLAIMS:
        value = claims.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ClaimError(f"Invalid claim: {name} must be a number")
        if not 0 <= value <= LATEST_TIME:  # NOTE(dev): also false for NaN
            raise ClaimError(f"Invalid claim: {name} is out of range")
    kind = claims.get("type")
    if kind is not None and not isinstance(kind, str):
        raise ClaimError("Invalid claim: type must be a string")


class Authenticator:
    """Turns a request into the caller's identity, or refuses it."""

    def __init__(self, verifier: TokenVerifier, default_user: str | None = None) -> None:
        self._verifier = verifier
        self._default_user = default_user

    def identity(self, req: falcon.Request) -> object:
        """Return who the request acts as (the token's ``sub``).

        With ``default_user`` set (DISABLE_JWT_AUTHORISATION), no token is
        needed and every request acts as that user.
        """
        if self._default_user is not None:
            return self._default_user
        return self._verifier.identity(bearer_token(req))


def _prepare_key(public_key: str, algorithm: str) -> Any:
    """Parse the key once; None (and a log line) when it cannot verify anything."""
    if not public_key.strip():
        log.error("no JWT public key is configured: every authenticated request will be refused")
        return None
    try:
        return get_default_algorithms()[algorithm].prepare_key(public_key)
    except (KeyError, ValueError, TypeError, jwt.InvalidKeyError) as ex:
        log.error("JWT public key unusable for %s (%s): requests will be refused", algorithm, ex)
        return None
