"""Webhook authentication (docs/webhooks.md): `WEBHOOK_AUTH` is a comma list of checks
that must all pass.

- `path-token` (the production default): the delivery came to
  `/hooks/<WEBHOOK_PATH_TOKEN>/<seed uri>`; the token is compared in constant time. It works
  with any vendor: the seed's callbacks are "baseURL + uri", and the base is ours to give.
- `hmac` (the development default): the signing scheme of `upstream.signing` over the raw
  bytes, any of `WEBHOOK_SECRETS`, fresh timestamp, unseen nonce.
- `api-key`: header `X-Api-Key` equals one of `WEBHOOK_API_KEYS`.
- `ip`: the client address is in `WEBHOOK_ALLOWED_NETS`. The client address is read by
  `core.net.client_address` (the one helper, shared with axes, /metrics and the logs).

The cheap checks run first and `hmac` last (it records the nonce). A refusal is an
`AuthRefused` naming the check and a short reason (a metric label); `webhooks.services.receive.
refused_delivery_record` keeps the delivery in quarantine, with its body, for an admin.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest

from core.net import address_in, client_address, nets, parse_address
from upstream.signing import SignatureError, get_signer
from webhooks.authconfig import CHECKS, parse_checks

__all__ = ["CHECKS", "AuthRefused", "AuthUnavailable", "client_address", "webhook_authenticate"]


class AuthRefused(Exception):
    def __init__(self, check: str, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.check = check
        self.reason = reason  # short slug: a metric label
        self.detail = detail or reason.replace("_", " ")


class AuthUnavailable(Exception):
    """The nonce store (the shared cache) is down: answer 503 so the vendor retries."""


def _check_ip(request: HttpRequest) -> None:
    allowed = nets(tuple(settings.WEBHOOK_ALLOWED_NETS), "WEBHOOK_ALLOWED_NETS")
    client = client_address(request)
    if not allowed:
        raise AuthRefused("ip", "no_allowed_nets", "WEBHOOK_ALLOWED_NETS is empty")
    address = parse_address(client)
    if address is None:
        raise AuthRefused("ip", "bad_address", f"client address {client[:64]!r} is unreadable")
    if not address_in(address, allowed):
        raise AuthRefused("ip", "address_not_allowed", f"{client} is not in WEBHOOK_ALLOWED_NETS")


def _check_api_key(request: HttpRequest) -> None:
    keys = [k for k in settings.WEBHOOK_API_KEYS if k]
    given = request.headers.get("X-Api-Key", "")
    if not keys:
        raise AuthRefused("api-key", "no_api_keys", "WEBHOOK_API_KEYS is empty")
    if not given:
        raise AuthRefused("api-key", "missing_api_key", "no X-Api-Key header")
    raw = given.encode("utf-8", "surrogateescape")
    if not any(hmac.compare_digest(k.encode(), raw) for k in keys):
        raise AuthRefused("api-key", "bad_api_key", "X-Api-Key is not one of WEBHOOK_API_KEYS")


def _check_hmac(request: HttpRequest, body: bytes, seen_nonce: Callable[[str], bool]) -> None:
    for name in ("X-Timestamp", "X-Nonce", "X-Signature"):
        if not request.headers.get(name, "").isascii():
            raise AuthRefused("hmac", "malformed_headers", "malformed signature headers")
    try:
        get_signer().verify(
            headers=request.headers,
            body=body,
            secrets_=settings.WEBHOOK_SECRETS,
            seen_nonce=seen_nonce,
            max_skew=settings.WEBHOOK_MAX_SKEW,
        )
    except SignatureError as exc:
        text = str(exc)
        raise AuthRefused("hmac", text.replace(" ", "_")[:64], text) from None
    except (TypeError, ValueError, OverflowError):
        raise AuthRefused("hmac", "malformed_headers", "malformed signature headers") from None


def _check_path_token(path_token: str | None) -> None:
    expected = settings.WEBHOOK_PATH_TOKEN or ""
    if not expected:
        raise AuthRefused("path-token", "no_path_token", "WEBHOOK_PATH_TOKEN is empty")
    if path_token is None:
        raise AuthRefused(
            "path-token",
            "missing_path_token",
            "the URL has no path token: register the callback URLs that "
            "manage.py vendor_check --callbacks prints",
        )
    given = path_token.encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(expected.encode(), given):
        raise AuthRefused("path-token", "bad_path_token", "the path token is wrong")


def configured_checks() -> tuple[str, ...]:
    return parse_checks(settings.WEBHOOK_AUTH)


def webhook_authenticate(
    request: HttpRequest,
    body: bytes,
    *,
    seen_nonce: Callable[[str], bool],
    path_token: str | None = None,
) -> None:
    """Raise AuthRefused unless every configured check passes (AuthUnavailable, from
    `seen_nonce`, when the nonce store is down). `path_token` is the URL's token segment,
    None on a bare seed path."""
    for check in configured_checks():
        if check == "path-token":
            _check_path_token(path_token)
        elif check == "ip":
            _check_ip(request)
        elif check == "api-key":
            _check_api_key(request)
        else:
            _check_hmac(request, body, seen_nonce)


def header_names(request: HttpRequest, limit: int = 50) -> list[str]:
    names = sorted({str(k)[:64] for k in request.headers})
    return names[:limit]
