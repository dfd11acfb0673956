"""The five webhook receivers (docs/design.md section 3): thin views around one service.

Order of checks: size (413) -> authentication, WEBHOOK_AUTH, on the raw bytes (401, kept in
quarantine with why) -> parse and validate (400, stored as rejected) -> store pending and
enqueue on commit (200 after the commit). Any database failure answers 503 so the vendor
retries; never a 200.

Each receiver answers at the seed's uri and, for `path-token`, at
`/hooks/<WEBHOOK_PATH_TOKEN>/<seed uri>`; the token never reaches a log line, a stored path
or a page (`masked_path`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from upstream.signing import cache_nonce_guard
from webhooks import metrics
from webhooks.auth import (
    AuthRefused,
    AuthUnavailable,
    client_address,
    configured_checks,
    header_names,
    webhook_authenticate,
)
from webhooks.authconfig import PATH_TOKEN_PREFIX
from webhooks.models import WebhookKind
from webhooks.services.receive import (
    headers_to_store,
    refused_delivery_record,
    webhook_event_receive,
)

log = logging.getLogger(__name__)

OK_BODY = b'{"code":200,"message":"Success","data":""}'
NONCE_PREFIX = "webhook"


def answer(code: int, message: str) -> HttpResponse:
    import json

    return HttpResponse(
        json.dumps({"code": code, "message": message, "data": ""}, ensure_ascii=False),
        status=code,
        content_type="application/json",
    )


def _nonce_guard() -> Callable[[str], bool]:
    seen = cache_nonce_guard(NONCE_PREFIX, settings.WEBHOOK_NONCE_TTL)

    def guarded(nonce: str) -> bool:
        try:
            return seen(nonce)
        except Exception as exc:  # the cache (Redis) is down: the vendor should retry
            raise AuthUnavailable from exc

    return guarded


def _forget_nonce(request: HttpRequest) -> None:
    """A delivery we could not store may be retried with the same nonce: let it in."""
    nonce = request.headers.get("X-Nonce", "")
    try:
        cache.delete(f"{NONCE_PREFIX}:nonce:{nonce}")
    except Exception:
        log.warning("could not forget the nonce of an unstored webhook delivery")


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        return 0


def masked_path(request: HttpRequest, path_token: str | None) -> str:
    """The request's path with the token segment masked (what is stored and shown)."""
    if path_token is None:
        return request.path
    return request.path.replace(
        f"/{PATH_TOKEN_PREFIX}/{path_token}/", f"/{PATH_TOKEN_PREFIX}/[token]/", 1
    )


def receive(request: HttpRequest, kind: str, path_token: str | None = None) -> HttpResponse:
    if path_token is not None and "path-token" not in configured_checks():
        # Without path-token there is no token URL: nothing here (and nothing to learn).
        return answer(404, "Not Found")
    if request.method != "POST":
        response = answer(405, "Use POST")
        response["Allow"] = "POST"
        return response
    limit = settings.WEBHOOK_MAX_BYTES
    if _declared_length(request) > limit:
        metrics.REJECTED.labels(kind, "too_large").inc()
        return answer(413, f"Body larger than {limit} bytes")
    # Read the stream ourselves: request.body would raise RequestDataTooBig (a Django 400).
    body = request.read(limit + 1)
    if len(body) > limit:
        metrics.REJECTED.labels(kind, "too_large").inc()
        return answer(413, f"Body larger than {limit} bytes")
    if len(body) < _declared_length(request):
        # The sender hung up before its body arrived (it timed out waiting for us): not a
        # bad signature to show the admins, and nobody is left to read the answer.
        metrics.REJECTED.labels(kind, "incomplete").inc()
        return answer(400, "Body shorter than its Content-Length")

    try:
        webhook_authenticate(request, body, seen_nonce=_nonce_guard(), path_token=path_token)
    except AuthRefused as exc:
        metrics.REJECTED.labels(kind, "signature" if exc.check == "hmac" else exc.check).inc()
        metrics.REFUSED.labels(exc.check, exc.reason).inc()
        refused_delivery_record(
            path=masked_path(request, path_token),
            kind=kind,
            check=exc.check,
            reason=exc.reason,
            detail=exc.detail,
            source_addr=client_address(request),
            header_names=header_names(request),
            body=body,
            headers=headers_to_store(request.headers, client_address(request)),
        )
        return answer(401, exc.detail)
    except AuthUnavailable:
        log.exception("nonce store unavailable; answering 503")
        metrics.REJECTED.labels(kind, "unavailable").inc()
        return answer(503, "Temporarily unavailable, retry later")

    # From here on the nonce is recorded: whatever fails before the event is stored must
    # forget it, or the vendor's retry (same headers) would be refused as a replay and the
    # event lost.
    try:
        headers = headers_to_store(request.headers, client_address(request))
        receipt = webhook_event_receive(kind=kind, body=body, headers=headers)
    except (DatabaseError, InterfaceError):  # InterfaceError is not a DatabaseError
        log.exception("webhook %s not stored: database unavailable; answering 503", kind)
        metrics.REJECTED.labels(kind, "unavailable").inc()
        _forget_nonce(request)
        return answer(503, "Temporarily unavailable, retry later")
    except BaseException:
        log.exception("webhook %s not stored: unexpected failure; its retry is let in", kind)
        _forget_nonce(request)
        raise
    if receipt.error:
        return answer(400, receipt.error)
    return HttpResponse(OK_BODY, content_type="application/json")


def _receiver(kind: str) -> Callable[..., HttpResponse]:
    @csrf_exempt
    def view(request: HttpRequest, path_token: str | None = None) -> HttpResponse:
        return receive(request, kind, path_token)

    view.__name__ = f"receive_{kind}"
    view.__qualname__ = view.__name__
    return view


online_status = _receiver(WebhookKind.ONLINE_STATUS)
account_status = _receiver(WebhookKind.ACCOUNT_STATUS)
register_status = _receiver(WebhookKind.REGISTER_STATUS)
qr_login_status = _receiver(WebhookKind.QR_LOGIN_STATUS)
scan_task_status = _receiver(WebhookKind.SCAN_TASK_STATUS)

# The vendor's fixed paths (docs/design.md section 3), without the leading slash.
PATHS: dict[str, str] = {
    WebhookKind.ONLINE_STATUS: "api/callback/whatsapp/onlineStatus",
    WebhookKind.ACCOUNT_STATUS: "callback/gsTask/syncWhatsAppStatus",
    WebhookKind.REGISTER_STATUS: "group-dispatch-api/register/syncStatus",
    WebhookKind.QR_LOGIN_STATUS: "wscrm-bus-api/open/qrCode/syncLoginStatus",
    WebhookKind.SCAN_TASK_STATUS: "callback/qrCodeTask/syncStatus",
}
VIEWS = {
    WebhookKind.ONLINE_STATUS: online_status,
    WebhookKind.ACCOUNT_STATUS: account_status,
    WebhookKind.REGISTER_STATUS: register_status,
    WebhookKind.QR_LOGIN_STATUS: qr_login_status,
    WebhookKind.SCAN_TASK_STATUS: scan_task_status,
}
