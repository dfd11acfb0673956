"""The Content-Security-Policy header, built once per process.

django-csp builds the header from the settings on every response (two `asdict` and two
`build_policy` calls: about a tenth of a webhook delivery's CPU, bench/receipt.py). Unless a
nonce was used or a view set its own policy (`_csp_update` and the like, identity/views.py),
the header depends on the settings alone: this middleware builds it once and again when a
CONTENT_SECURITY_POLICY setting changes, and leaves every other response to django-csp.
"""

from __future__ import annotations

import http.client as http_client
from dataclasses import asdict
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

# What a view may set on its response to change its policy (django-csp's decorators).
PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
# report_only -> (header, the response attribute that exempts it, the setting)
HEADERS = {
    False: (HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
    True: (HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
}

_built: dict[bool, tuple[str, tuple[str, ...]]] = {}


@receiver(setting_changed)
def _forget(*, setting: str, **_kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _built.clear()


def _settings_policy(
    middleware: LibraryCSPMiddleware, report_only: bool
) -> tuple[str, tuple[str, ...]]:
    """(header value, excluded path prefixes) for a response that changes nothing."""
    if report_only not in _built:
        parts = middleware.get_policy_parts(
            request=HttpRequest(), response=HttpResponseBase(), report_only=report_only
        )
        value = build_policy(**asdict(parts), report_only=report_only)
        policy = getattr(settings, HEADERS[report_only][2], None) or {}
        _built[report_only] = (value, tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ()))
    return _built[report_only]


class CSPMiddleware(LibraryCSPMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in PER_RESPONSE
        ):
            return super().process_response(request, response)
        debug_codes = (http_client.INTERNAL_SERVER_ERROR, http_client.NOT_FOUND)
        if response.status_code in debug_codes and settings.DEBUG:
            return response
        for report_only, (header, exempt, _setting) in HEADERS.items():
            value, excluded = _settings_policy(self, report_only)
            if (
                value
                and header not in response
                and getattr(response, exempt, False) is False
                and not request.path_info.startswith(excluded)
            ):
                response[header] = value
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
