"""Request signing (DESIGN.md section 3). The same scheme signs outgoing calls and
verifies incoming webhooks; the simulator uses it in reverse. Swap the class with
the UPSTREAM_SIGNER setting."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

MAX_SKEW = 300
NONCE_MIN, NONCE_MAX = 16, 64


class SignatureError(Exception):
    """Why a signed request was refused (the message is safe to show the sender)."""


class HmacSigner:
    """X-Api-Key, X-Timestamp, X-Nonce and
    X-Signature = hex(HMAC-SHA256(secret, f"{ts}.{nonce}." + body))."""

    def sign(
        self,
        *,
        api_key: str,
        secret: str,
        body: bytes,
        now: float | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        ts = str(int(time.time() if now is None else now))
        nonce = nonce or secrets.token_hex(16)
        return {
            "X-Api-Key": api_key,
            "X-Timestamp": ts,
            "X-Nonce": nonce,
            "X-Signature": self.digest(secret, ts, nonce, body),
        }

    @staticmethod
    def digest(secret: str, ts: str, nonce: str, body: bytes) -> str:
        return hmac.new(
            secret.encode(), f"{ts}.{nonce}.".encode() + body, hashlib.sha256
        ).hexdigest()

    def verify(
        self,
        *,
        headers: Mapping[str, str],
        body: bytes,
        secrets_: Iterable[str],
        seen_nonce: Callable[[str], bool],
        now: float | None = None,
        max_skew: int = MAX_SKEW,
    ) -> None:
        """Raise SignatureError unless the request is fresh, unreplayed and signed by
        one of `secrets_`. `seen_nonce(nonce)` must atomically record the nonce and
        say whether it was already there; it is called only for a valid signature."""
        ts = headers.get("X-Timestamp", "")
        nonce = headers.get("X-Nonce", "")
        signature = headers.get("X-Signature", "")
        if not (ts and nonce and signature):
            raise SignatureError("missing signature headers")
        if not ts.isdigit():
            raise SignatureError("bad timestamp")
        if not (NONCE_MIN <= len(nonce) <= NONCE_MAX) or not nonce.isascii():
            raise SignatureError("bad nonce")
        current = time.time() if now is None else now
        if abs(current - int(ts)) > max_skew:
            raise SignatureError("stale timestamp")
        # Bytes, not str: compare_digest refuses non-ASCII text with a TypeError.
        given = signature.lower().encode("utf-8", "surrogateescape")
        if not any(
            hmac.compare_digest(self.digest(s, ts, nonce, body).encode(), given)
            for s in secrets_
            if s
        ):
            raise SignatureError("bad signature")
        if seen_nonce(nonce):
            raise SignatureError("replayed nonce")


@lru_cache(maxsize=4)
def _load(path: str) -> HmacSigner:
    return import_string(path)()  # type: ignore[no-any-return]


def get_signer() -> HmacSigner:
    return _load(settings.UPSTREAM_SIGNER)


def cache_nonce_guard(prefix: str, ttl: int = 600) -> Callable[[str], bool]:
    """A nonce store on the shared cache: `cache.add` is atomic on Redis."""
    from django.core.cache import cache

    def seen(nonce: str) -> bool:
        return not cache.add(f"{prefix}:nonce:{nonce}", 1, ttl)

    return seen
