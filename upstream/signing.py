"""Authentication of our calls to the vendor, and the HMAC scheme webhooks are checked with
(docs/vendor.md, "Authentication").

The seed says nothing about how our calls are authenticated, so the scheme is a declared
profile, `UPSTREAM_AUTH`:

- `hmac` (the default): `HmacSigner`. Its header names, canonical string, digest and
  timestamp unit are settings (`UPSTREAM_HMAC_*`); their defaults are the scheme below, which
  incoming webhooks are also checked with (`WEBHOOK_AUTH=hmac`):
  X-Api-Key, X-Timestamp (unix seconds), X-Nonce, and
  X-Signature = hex(HMAC-SHA256(secret, f"{ts}.{nonce}." + body)).
- `headers`: static headers from `UPSTREAM_AUTH_HEADERS` (`name=value;name=value`); a value
  may name a setting in braces (`appKey={UPSTREAM_API_KEY}`), so no secret is repeated.
- `none`: nothing but Content-Type.

`UPSTREAM_SIGNER` swaps the HMAC class (it is built with the scheme's settings)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

MAX_SKEW = 300
NONCE_MIN, NONCE_MAX = 16, 64

AUTH_PROFILES = ("none", "headers", "hmac")
DIGESTS = ("sha256", "sha512", "sha1")
TIMESTAMP_UNITS = ("s", "ms")
CANONICAL_FIELDS = ("timestamp", "nonce", "key", "body")
DEFAULT_CANONICAL = "{timestamp}.{nonce}.{body}"
# Settings a static header's value may name in braces.
HEADER_REFERENCES = ("UPSTREAM_API_KEY", "UPSTREAM_API_SECRET", "UPSTREAM_TENANT_ID")
_REFERENCE = re.compile(r"\{([A-Z_]+)\}")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an RFC 9110 token


class SignatureError(Exception):
    """Why a signed request was refused (the message is safe to show the sender)."""


class AuthConfigError(ValueError):
    """An UPSTREAM_AUTH* setting that cannot be used (the message names it)."""


@dataclass(frozen=True)
class HmacScheme:
    key_header: str = "X-Api-Key"
    timestamp_header: str = "X-Timestamp"
    nonce_header: str = "X-Nonce"
    signature_header: str = "X-Signature"
    canonical: str = DEFAULT_CANONICAL
    digest: str = "sha256"
    timestamp_unit: str = "s"

    def __post_init__(self) -> None:
        for name in ("key_header", "timestamp_header", "nonce_header", "signature_header"):
            if not _HEADER_NAME.match(getattr(self, name) or ""):
                value = getattr(self, name)
                raise AuthConfigError(f"UPSTREAM_HMAC: {name} {value!r} is not a header name")
        if self.digest not in DIGESTS:
            raise AuthConfigError(f"UPSTREAM_HMAC_DIGEST must be one of {', '.join(DIGESTS)}")
        if self.timestamp_unit not in TIMESTAMP_UNITS:
            raise AuthConfigError("UPSTREAM_HMAC_TIMESTAMP_UNIT must be s or ms")
        fields = re.findall(r"\{(\w*)\}", self.canonical)
        unknown = [f for f in fields if f not in CANONICAL_FIELDS]
        if unknown or "{body}" not in self.canonical:
            raise AuthConfigError(
                "UPSTREAM_HMAC_CANONICAL must contain {body} and may contain only "
                + ", ".join("{" + f + "}" for f in CANONICAL_FIELDS)
            )

    def message(self, *, ts: str, nonce: str, key: str, body: bytes) -> bytes:
        """The canonical bytes: the template's text around the raw body, which is never
        decoded (a signature is over the exact bytes sent)."""
        before, _, after = self.canonical.partition("{body}")

        def fill(text: str) -> bytes:
            return (
                text.replace("{timestamp}", ts)
                .replace("{nonce}", nonce)
                .replace("{key}", key)
                .encode()
            )

        return fill(before) + body + fill(after)


class HmacSigner:
    """Signs and verifies per an `HmacScheme` (the default one: the scheme above)."""

    def __init__(self, scheme: HmacScheme | None = None) -> None:
        self.scheme = scheme or HmacScheme()

    def sign(
        self,
        *,
        api_key: str,
        secret: str,
        body: bytes,
        now: float | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        s = self.scheme
        current = time.time() if now is None else now
        ts = str(int(current * 1000) if s.timestamp_unit == "ms" else int(current))
        nonce = nonce or secrets.token_hex(16)
        return {
            s.key_header: api_key,
            s.timestamp_header: ts,
            s.nonce_header: nonce,
            s.signature_header: self.digest_for(secret, ts, nonce, body, api_key),
        }

    def digest_for(self, secret: str, ts: str, nonce: str, body: bytes, key: str = "") -> str:
        message = self.scheme.message(ts=ts, nonce=nonce, key=key, body=body)
        return hmac.new(secret.encode(), message, getattr(hashlib, self.scheme.digest)).hexdigest()

    @staticmethod
    def digest(secret: str, ts: str, nonce: str, body: bytes) -> str:
        """The default scheme's signature."""
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
        s = self.scheme
        ts = headers.get(s.timestamp_header, "")
        nonce = headers.get(s.nonce_header, "")
        signature = headers.get(s.signature_header, "")
        key = headers.get(s.key_header, "") or ""
        if not (ts and nonce and signature):
            raise SignatureError("missing signature headers")
        if not ts.isdigit():
            raise SignatureError("bad timestamp")
        if not (NONCE_MIN <= len(nonce) <= NONCE_MAX) or not nonce.isascii():
            raise SignatureError("bad nonce")
        current = time.time() if now is None else now
        seconds = int(ts) / 1000 if s.timestamp_unit == "ms" else int(ts)
        if abs(current - seconds) > max_skew:
            raise SignatureError("stale timestamp")
        # Bytes, not str: compare_digest refuses non-ASCII text with a TypeError.
        given = signature.lower().encode("utf-8", "surrogateescape")
        if not any(
            hmac.compare_digest(self.digest_for(x, ts, nonce, body, key).encode(), given)
            for x in secrets_
            if x
        ):
            raise SignatureError("bad signature")
        if seen_nonce(nonce):
            raise SignatureError("replayed nonce")


@lru_cache(maxsize=8)
def _load(path: str, scheme: HmacScheme) -> HmacSigner:
    return import_string(path)(scheme)  # type: ignore[no-any-return]


def get_signer() -> HmacSigner:
    """The default scheme (webhooks' `hmac` check)."""
    return _load(settings.UPSTREAM_SIGNER, HmacScheme())


def outbound_scheme(conf: Any = settings) -> HmacScheme:
    return HmacScheme(
        key_header=conf.UPSTREAM_HMAC_KEY_HEADER,
        timestamp_header=conf.UPSTREAM_HMAC_TIMESTAMP_HEADER,
        nonce_header=conf.UPSTREAM_HMAC_NONCE_HEADER,
        signature_header=conf.UPSTREAM_HMAC_SIGNATURE_HEADER,
        canonical=conf.UPSTREAM_HMAC_CANONICAL,
        digest=str(conf.UPSTREAM_HMAC_DIGEST).lower(),
        timestamp_unit=str(conf.UPSTREAM_HMAC_TIMESTAMP_UNIT).lower(),
    )


def parse_static_headers(raw: str) -> list[tuple[str, str]]:
    """`name=value;name=value` -> pairs (values unresolved). AuthConfigError names the bad
    item without echoing its value (it may be a secret)."""
    pairs: list[tuple[str, str]] = []
    for n, item in enumerate(x for x in (raw or "").split(";") if x.strip()):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not _HEADER_NAME.match(name):
            raise AuthConfigError(f"UPSTREAM_AUTH_HEADERS item {n + 1} is not name=value")
        for ref in _REFERENCE.findall(value):
            if ref not in HEADER_REFERENCES:
                raise AuthConfigError(
                    f"UPSTREAM_AUTH_HEADERS {name}: {{{ref}}} is not one of "
                    + ", ".join("{" + r + "}" for r in HEADER_REFERENCES)
                )
        pairs.append((name, value.strip()))
    return pairs


def resolve_value(value: str, conf: Any = settings) -> str:
    return _REFERENCE.sub(lambda m: str(getattr(conf, m.group(1), "")), value)


def auth_problems(conf: Any = settings) -> list[str]:
    """What is wrong with the UPSTREAM_AUTH settings (empty when usable)."""
    profile = str(conf.UPSTREAM_AUTH).strip().lower()
    if profile not in AUTH_PROFILES:
        return [f"UPSTREAM_AUTH {profile!r} is not one of {', '.join(AUTH_PROFILES)}"]
    try:
        if profile == "hmac":
            outbound_scheme(conf)
        elif profile == "headers" and not parse_static_headers(conf.UPSTREAM_AUTH_HEADERS):
            return ["UPSTREAM_AUTH is headers: set UPSTREAM_AUTH_HEADERS (name=value;...)"]
    except AuthConfigError as exc:
        return [str(exc)]
    return []


def outbound_headers(raw: bytes) -> dict[str, str]:
    """The authentication headers of one call to the vendor, per UPSTREAM_AUTH."""
    profile = str(settings.UPSTREAM_AUTH).strip().lower()
    if profile == "none":
        return {}
    if profile == "headers":
        return {
            name: resolve_value(value)
            for name, value in parse_static_headers(settings.UPSTREAM_AUTH_HEADERS)
        }
    if profile != "hmac":
        raise AuthConfigError(f"UPSTREAM_AUTH {profile!r} is not one of {', '.join(AUTH_PROFILES)}")
    signer = _load(settings.UPSTREAM_SIGNER, outbound_scheme())
    return signer.sign(
        api_key=settings.UPSTREAM_API_KEY, secret=settings.UPSTREAM_API_SECRET, body=raw
    )


def cache_nonce_guard(prefix: str, ttl: int = 600) -> Callable[[str], bool]:
    """A nonce store on the shared cache: `cache.add` is atomic on Redis."""
    from django.core.cache import cache

    def seen(nonce: str) -> bool:
        return not cache.add(f"{prefix}:nonce:{nonce}", 1, ttl)

    return seen
