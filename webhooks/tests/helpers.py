"""Signing and posting helpers for the webhook tests."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from django.conf import settings
from django.test import Client

from upstream.signing import HmacSigner
from webhooks.receivers import PATHS

SIGNER = HmacSigner()


def url(kind: str) -> str:
    return "/" + PATHS[kind]


def as_bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return json.dumps(body).encode()


def sign(
    body: bytes, *, secret: str | None = None, now: float | None = None, nonce: str | None = None
) -> dict[str, str]:
    return SIGNER.sign(
        api_key="test-key",
        secret=secret if secret is not None else settings.WEBHOOK_SECRETS[0],
        body=body,
        now=time.time() if now is None else now,
        nonce=nonce or secrets.token_hex(16),
    )


def post(
    client: Client,
    kind: str,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    signed: bool = True,
    **sign_kwargs: Any,
) -> Any:
    raw = as_bytes(body)
    hdrs = sign(raw, **sign_kwargs) if signed else {}
    if headers is not None:
        hdrs = headers
    return client.post(url(kind), data=raw, content_type="application/json", headers=hdrs)
