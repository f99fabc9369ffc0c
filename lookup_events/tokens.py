"""Issue access tokens shaped like flask-jwt-extended 4's (what 0.18 clients hold)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import jwt


def issue_token(
    private_key: str,
    username: str,
    *,
    algorithm: str = "RS256",
    expires_in: int | None = 900,
    now: Callable[[], float] = time.time,
) -> str:
    """Return a signed access token for ``username``; no ``exp`` when ``expires_in`` is None."""
    issued = int(now())
    claims: dict[str, object] = {
        "fresh": False,
        "iat": issued,
        "jti": str(uuid.uuid4()),
        "type": "access",
        "sub": username,
        "nbf": issued,
    }
    if expires_in is not None:
        claims["exp"] = issued + expires_in
    return jwt.encode(claims, private_key, algorithm=algorithm)
