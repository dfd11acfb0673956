"""The simulated vendor's authentication, in its own code: how it checks our calls and how
it signs its webhooks, per the vendor profile (simulator/profiles.py).

Deliberately independent of `upstream.signing`: were the simulator to verify with our own
signer, a bug shared by both sides would pass every test. This is the scheme of
docs/vendor.md written again from its text:

    X-Api-Key:   the key
    X-Timestamp: unix seconds
    X-Nonce:     random, 16-64 characters
    X-Signature: hex(HMAC-SHA256(secret, f"{timestamp}.{nonce}.".encode() + raw_body))

The `headers` profile wants static `appKey` (the configured key) and `tenantId` (the
configured tenant) on every call; `none` wants nothing. The credentials are the deployment's
settings (UPSTREAM_API_KEY, UPSTREAM_API_SECRET, UPSTREAM_TENANT_ID, WEBHOOK_SECRETS): the
vendor and we were given the same ones.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from simulator.profiles import HEADER_APP_KEY, HEADER_TENANT, Profile

SKEW_SECONDS = 300
HMAC_HEADERS = ("X-Api-Key", "X-Timestamp", "X-Nonce", "X-Signature")


def _sign(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    mac.update(timestamp.encode("ascii") + b"." + nonce.encode("ascii") + b".")
    mac.update(body)
    return mac.hexdigest()


def _get(headers: Mapping[str, str] | Any, name: str) -> str:
    return str(headers.get(name, "") or "")


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogateescape"))


def check_hmac(headers: Any, body: bytes, seen_nonce: Callable[[str], bool]) -> str | None:
    from django.conf import settings

    missing = [name for name in HMAC_HEADERS if not _get(headers, name)]
    if missing:
        return (
            f"missing header {', '.join(missing)} (this gateway requires X-Api-Key, "
            "X-Timestamp, X-Nonce and X-Signature)"
        )
    if not _same(settings.UPSTREAM_API_KEY, _get(headers, "X-Api-Key")):
        return "unknown X-Api-Key"
    timestamp = _get(headers, "X-Timestamp")
    if not (timestamp.isascii() and timestamp.isdigit()):
        return "X-Timestamp is not unix seconds"
    if abs(time.time() - int(timestamp)) > SKEW_SECONDS:
        return f"X-Timestamp is more than {SKEW_SECONDS} s away (unix seconds expected)"
    nonce = _get(headers, "X-Nonce")
    if not (nonce.isascii() and 16 <= len(nonce) <= 64):
        return "X-Nonce must be 16 to 64 ASCII characters"
    expected = _sign(settings.UPSTREAM_API_SECRET, timestamp, nonce, body)
    if not _same(expected, _get(headers, "X-Signature").lower()):
        return "X-Signature does not match"
    if seen_nonce(nonce):
        return "X-Nonce was already used"
    return None


def check_headers(headers: Any) -> str | None:
    from django.conf import settings

    app_key = _get(headers, HEADER_APP_KEY)
    tenant = _get(headers, HEADER_TENANT)
    missing = [n for n, v in ((HEADER_APP_KEY, app_key), (HEADER_TENANT, tenant)) if not v]
    if missing:
        return (
            f"missing header {', '.join(missing)} (this gateway requires the headers "
            f"{HEADER_APP_KEY} and {HEADER_TENANT})"
        )
    if not _same(settings.UPSTREAM_API_KEY, app_key):
        return f"unknown {HEADER_APP_KEY}"
    if tenant.strip() != str(settings.UPSTREAM_TENANT_ID):
        return f"{HEADER_TENANT} {tenant[:32]!r} is not this account's tenant"
    return None


def inbound_problem(
    profile: Profile, headers: Any, body: bytes, seen_nonce: Callable[[str], bool]
) -> str | None:
    """None when the call is authenticated as `profile` wants, otherwise why not (a
    message for the caller, naming what is missing)."""
    if profile.inbound_auth == "none":
        return None
    if profile.inbound_auth == "headers":
        return check_headers(headers)
    return check_hmac(headers, body, seen_nonce)


def webhook_headers(profile: Profile, body: bytes) -> dict[str, str]:
    """The authentication headers of one webhook delivery: none, or the hmac scheme signed
    with the first of WEBHOOK_SECRETS (each attempt afresh). When the receiver also checks
    `api-key`, the vendor was given the first of WEBHOOK_API_KEYS as its X-Api-Key."""
    from django.conf import settings

    if profile.webhook_auth == "none":
        return {}
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    secret = settings.WEBHOOK_SECRETS[0] if settings.WEBHOOK_SECRETS else ""
    key = settings.WEBHOOK_API_KEYS[0] if settings.WEBHOOK_API_KEYS else settings.UPSTREAM_API_KEY
    return {
        "X-Api-Key": key,
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": _sign(secret, timestamp, nonce, body),
    }
