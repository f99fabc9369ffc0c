"""API test clients over given stores, and the key pairs that sign their tokens."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from falcon import testing

from lookup_api.app import create_app
from lookup_events.config import Settings
from lookup_events.store import Stores
from lookup_events.tokens import issue_token

#: Returns the ``Authorization`` headers carrying a token for a username.
Header = Callable[[str], dict[str, str]]


@dataclass(frozen=True)
class KeyPair:
    """A PEM private key and its public key as PEM and as an ``ssh-rsa`` line."""

    private_pem: str
    public_pem: str
    public_ssh: str


def key_pair() -> KeyPair:
    """Return a new RSA key pair."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key()
    return KeyPair(
        private_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        public_pem=public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        public_ssh=public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ).decode()
        + " someone@example.org\n",
    )


def client_for(settings: Settings, stores: Stores) -> testing.TestClient:
    """Return a test client for an app over ``stores``."""
    return testing.TestClient(create_app(settings, stores))


@functools.cache
def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class ApiClient:
    """Requests to ``create_app(settings, stores)`` as a named user."""

    def __init__(self, stores: Stores, data_dir: Path) -> None:
        key = _private_key()
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        settings = Settings(data_dir=data_dir, jwt_public_key=public.decode()).completed()
        self._client = testing.TestClient(create_app(settings, stores))

    def _headers(self, username: str) -> dict[str, str]:
        token = issue_token(self._private, username, expires_in=None)
        return {"Authorization": f"Bearer {token}"}

    def get(self, path: str, username: str) -> testing.Result:
        """GET ``path`` as ``username``."""
        return self._client.simulate_get(path, headers=self._headers(username))

    def post(self, path: str, username: str, body: Any) -> testing.Result:
        """POST ``body`` as JSON to ``path`` as ``username``."""
        return self._client.simulate_post(path, headers=self._headers(username), json=body)
