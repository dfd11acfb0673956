from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core.logging import mask_path, reset_client, reset_request_id, set_client, set_request_id
from core.net import client_address, peer_is_trusted_proxy
from core.zones import reader_zone_name

_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
access_log = logging.getLogger("switchboard.access")


class RequestIdMiddleware:
    """Take X-Request-Id from the proxy (if sane) or mint one; echo it back; log with it.
    Each request ends with one access line on the `switchboard.access` logger (JSON in
    production, like every other log line; the path's secret segments masked)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_request_id(request_id)
        client_token = set_client(client_address(request))
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response["X-Request-Id"] = request_id
            return response
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s",
                    request.method,
                    mask_path(request.path),
                    status,
                    extra={
                        "method": request.method,
                        "path": mask_path(request.path),
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            reset_client(client_token)
            reset_request_id(token)


class TrustedProxyMiddleware:
    """First in the chain: `X-Forwarded-*` headers count only from a trusted proxy
    (TRUSTED_PROXY_NETS). From anyone else they are dropped, so `SECURE_PROXY_SSL_HEADER`
    (X-Forwarded-Proto) cannot make a plain request look like HTTPS."""

    HEADERS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not peer_is_trusted_proxy(request):
            for name in self.HEADERS:
                request.META.pop(name, None)
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """`Permissions-Policy` on every answer: no page uses camera, microphone, location..."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


IDLE_KEY = "_sb_last_seen"


class IdleTimeoutMiddleware:
    """Signed out after SESSION_IDLE_TIMEOUT seconds without a request, besides the absolute
    SESSION_COOKIE_AGE. The last-seen time is written at most once a minute."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
        if not (key.isascii() and key.isalnum()):  # no session (or a forged cookie): nothing
            return self.get_response(request)
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if user is not None and user.is_authenticated and session is not None:
            now = int(time.time())
            last = session.get(IDLE_KEY)
            if isinstance(last, int) and now - last > settings.SESSION_IDLE_TIMEOUT:
                logout(request)
            elif not isinstance(last, int) or (
                now - last >= 60 and _first_to_note(session.session_key or "")
            ):
                session[IDLE_KEY] = now
        return self.get_response(request)


def _first_to_note(session_key: str) -> bool:
    """A session's concurrent requests all see its minute is up; one of them writes it. Each
    write is an UPDATE of the same row and a commit: 8 at once queued on the row lock and
    stalled every request for up to 0.8 s once a minute (bench/pages.py, p99). Without the
    cache, every one writes, as before."""
    digest = hashlib.blake2b(session_key.encode(), digest_size=16).hexdigest()
    try:
        return bool(cache.add(f"idle-noted:{digest}", 1, 30))
    except Exception:  # the cache is down: the session's own write still works
        return True


class TimeZoneMiddleware:
    """Pages, charts and exports in the reader's time zone (core.zones): activated for the
    request, after the user is known."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.activate(reader_zone_name(request))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
