"""The RSA key pair of an embedded deployment: generated once in the data directory.

Only an embedded deployment makes its own keys (``services.py`` decides):
a server's tokens come from whoever holds the private key of its configured
public key. Processes starting together (gunicorn workers, ``serve``'s
children) may all ask at once: the private key file is created atomically,
so exactly one key pair ever exists, and the public key is derived from it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PRIVATE_KEY_NAME = "jwt_private_key.pem"
PUBLIC_KEY_NAME = "jwt_public_key.pem"
LINK_SECRET_NAME = "signed_url_secret"


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A PEM private key, its public key, and the files holding them."""

    private_pem: str
    public_pem: str
    private_path: Path
    public_path: Path


def embedded_key_pair(data_dir: Path) -> KeyPair:
    """Return the key pair in ``data_dir``, generating it if there is none."""
    private_path = data_dir / PRIVATE_KEY_NAME
    public_path = data_dir / PUBLIC_KEY_NAME
    if not private_path.exists():
        _create_private_key(private_path)
    private_pem = private_path.read_text()
    public_pem = _public_pem(private_pem)
    if not public_path.exists() or public_path.read_text() != public_pem:
        _write_atomically(public_path, public_pem)
    return KeyPair(private_pem, public_pem, private_path, public_path)


def embedded_secret(data_dir: Path, name: str = LINK_SECRET_NAME) -> str:
    """Return the secret in ``data_dir/name``, generating it (0600) if there is none."""
    path = data_dir / name
    if not path.exists():
        _create_exclusively(path, secrets.token_urlsafe(48).encode())
    return path.read_text().strip()


def _create_private_key(path: Path) -> None:
    """Create the private key file unless another process just did (0600)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _create_exclusively(path, pem)


def _create_exclusively(path: Path, content: bytes) -> None:
    """Create ``path`` (0600) holding ``content``, unless another process just did."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        # NOTE(dev): link, not rename: it fails if the key exists, so a key
        # another process made first is never replaced.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public.decode()


def _write_atomically(path: Path, text: str) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)
