"""The simulator checks our calls with its own implementation of the scheme
(simulator/vendorauth.py), not with our signer: a signer that is wrong but agrees with
itself must be refused. Real HTTP, real simulator."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from upstream import operations
from upstream.errors import UpstreamError
from upstream.signing import HmacSigner


def _body_only(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SelfConsistentWrongSigner(HmacSigner):
    """Signs the body alone, not "{timestamp}.{nonce}." + body, and verifies its own
    signatures the same way: were the simulator to check calls with our signer, it would
    pass."""

    @staticmethod
    def digest(secret: str, ts: str, nonce: str, body: bytes) -> str:
        return _body_only(secret, body)

    def digest_for(self, secret: str, ts: str, nonce: str, body: bytes, key: str = "") -> str:
        return _body_only(secret, body)


@pytest.mark.django_db
def test_a_self_consistent_but_wrong_signature_is_refused(simulator: Any, settings: Any) -> None:
    settings.UPSTREAM_SIGNER = "simulator.tests.test_vendorauth.SelfConsistentWrongSigner"
    with pytest.raises(UpstreamError) as exc:
        operations.select_cloud_port()
    assert exc.value.code == 401
    assert "X-Signature does not match" in exc.value.vendor_message
    settings.UPSTREAM_SIGNER = "upstream.signing.HmacSigner"
    assert operations.select_cloud_port().max_port >= 0


def test_webhooks_are_signed_per_the_scheme_text(settings: Any) -> None:
    """The simulator's webhook signature, recomputed here from the scheme's text."""
    from simulator.profiles import PROFILES
    from simulator.vendorauth import webhook_headers

    body = b'{"id":"p","status":1}'
    headers = webhook_headers(PROFILES["default"], body)
    text = f"{headers['X-Timestamp']}.{headers['X-Nonce']}.".encode() + body
    secret = settings.WEBHOOK_SECRETS[0].encode()
    assert headers["X-Signature"] == hmac.new(secret, text, hashlib.sha256).hexdigest()
    assert webhook_headers(PROFILES["unsigned-webhooks"], body) == {}
