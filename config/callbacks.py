"""The vendor's callbacks, served past the browser's middleware.

A callback is a machine's signed POST: it carries no session, cookie, language, form or
page. Through the site's MIDDLEWARE it paid for all of them (sessions, locale, CSRF, the
signed-in user, two-factor enrolment, time zone, messages, htmx, CSP, lockout): 44% of a
delivery's CPU in process (`bench/receipt.py --profile`). config/wsgi.py sends the
callbacks' paths to this handler: CALLBACK_MIDDLEWARE (metrics, the trusted proxy, the
request id and its access line, the security headers) and a URLconf of the receivers alone
(config/callback_urls.py), whose 404 and 500 answer in the receivers' JSON.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from webhooks.authconfig import PATH_TOKEN_PREFIX
from webhooks.receivers import PATHS

URLCONF = "config.callback_urls"
_PATHS = frozenset(f"/{p}" for p in PATHS.values())
_TOKEN_PREFIX = f"/{PATH_TOKEN_PREFIX}/"


def is_callback(path_info: str) -> bool:
    """Is this path one of the vendor's callbacks (or under the path-token prefix)?"""
    return path_info in _PATHS or path_info.startswith(_TOKEN_PREFIX)


class CallbackHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds a handler's chain from settings.MIDDLEWARE; this one's is
        # CALLBACK_MIDDLEWARE. Swapped while the chain is built, once, when the worker loads.
        site = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.CALLBACK_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = site

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        request.urlconf = URLCONF  # type: ignore[attr-defined]
        return super().get_response(request)


def routed(pages: Any, callbacks: Any) -> Any:
    """One WSGI application: the callbacks' paths to `callbacks`, the rest to `pages`."""

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        handler = callbacks if is_callback(environ.get("PATH_INFO", "")) else pages
        return handler(environ, start_response)

    return application
