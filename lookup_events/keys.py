"""RSA key pair for embedded mode: generated once in the data directory."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lookup_events.config import Settings

PRIVATE_KEY_NAME = "jwt_private_key.pem"
PUBLIC_KEY_NAME = "jwt_public_key.pem"


def with_embedded_keys(settings: Settings) -> Settings:
    """Return settings holding a key pair, generating one in the data dir if none is set.

    A configured public key (``JWT_PUBLIC_KEY`` or ``JWT_PUBLIC_KEY_FILE``) is
    never replaced; then tokens come from whoever holds its private key.
    """
    if settings.jwt_public_key:
        return settings
    private_path = settings.data_dir / PRIVATE_KEY_NAME
    public_path = settings.data_dir / PUBLIC_KEY_NAME
    if not private_path.exists() or not public_path.exists():
        _generate(private_path, public_path)
    return dataclasses.replace(
        settings,
        jwt_private_key=private_path.read_text(),
        jwt_private_key_file=str(private_path),
        jwt_public_key=public_path.read_text(),
        jwt_public_key_file=str(public_path),
    )


def _generate(private_path: Path, public_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
    public_path.write_bytes(public_pem)
