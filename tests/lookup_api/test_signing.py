"""Signed tokens: what they grant, exactly until their expiry, and nothing once changed."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from lookup_api.signing import BadSignature, Expired, Grant, Signer

GRANT = Grant("file://host/data/apples", "item", "9a" * 20, 1_000)


def test_a_token_grants_exactly_what_was_signed() -> None:
    signer = Signer("secret", clock=lambda: 999.0)

    assert signer.verify(signer.sign(GRANT)) == GRANT


def test_a_token_is_valid_up_to_its_expiry_second() -> None:
    token = Signer("secret").sign(GRANT)

    assert Signer("secret", clock=lambda: 1_000.9).verify(token) == GRANT
    with pytest.raises(Expired):
        Signer("secret", clock=lambda: 1_001.0).verify(token)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature
        lambda t: ("X" if t[0] != "X" else "Y") + t[1:],  # payload
        lambda t: t.split(".")[0],  # no signature
        lambda t: t + ".x",
        lambda t: "",
        lambda t: "é.é",
    ],
)
def test_any_change_makes_a_token_invalid(change: object) -> None:
    signer = Signer("secret", clock=lambda: 0.0)
    token = signer.sign(GRANT)

    with pytest.raises(BadSignature):
        signer.verify(change(token))  # type: ignore[operator]


def test_another_secret_makes_another_signature() -> None:
    token = Signer("one secret").sign(GRANT)

    with pytest.raises(BadSignature):
        Signer("another secret", clock=lambda: 0.0).verify(token)


def test_a_correctly_signed_payload_that_is_no_grant_is_refused() -> None:
    payload = base64.urlsafe_b64encode(b'["only one"]').rstrip(b"=").decode()
    mac = hmac.new(b"secret", payload.encode(), hashlib.sha256).digest()
    token = f"{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    with pytest.raises(BadSignature):
        Signer("secret", clock=lambda: 0.0).verify(token)


def test_a_signer_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        Signer("")
