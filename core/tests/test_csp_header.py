"""The Content-Security-Policy header built once (core/csp_header.py) is the one django-csp
builds, every page gets it, a view's own policy still applies, and a changed setting is
followed. (The vendor's callbacks answer JSON without it: test_callback_handler.py.)"""

from __future__ import annotations

from dataclasses import asdict

import pytest
from csp.constants import HEADER
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.test import Client, override_settings

from core.csp_header import CSPMiddleware


def _library_header() -> str:
    parts = LibraryCSPMiddleware(lambda r: HttpResponse()).get_policy_parts(
        request=HttpRequest(), response=HttpResponse()
    )
    return build_policy(**asdict(parts))


def _header(middleware: CSPMiddleware, request: HttpRequest) -> str:
    response = middleware(request)
    assert isinstance(response, HttpResponseBase)
    return str(response[HEADER])


@pytest.mark.django_db
def test_pages_carry_the_library_header() -> None:
    client = Client()
    want = _library_header()
    assert "default-src 'self'" in want
    assert client.get("/login/")[HEADER] == want
    assert client.get("/no-such-page/")[HEADER] == want
    assert client.get("/login/")[HEADER] == want  # built once, given to every response


def test_a_views_own_policy_is_applied() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        response = HttpResponse("ok")
        response._csp_update = {"form-action": ["https://sso.example.com"]}  # type: ignore[attr-defined]
        return response

    middleware = CSPMiddleware(view)
    request = HttpRequest()
    request.path_info = "/login/"
    header = _header(middleware, request)
    assert "form-action 'self' https://sso.example.com" in header
    assert header != _header(CSPMiddleware(lambda r: HttpResponse()), request)


def test_a_changed_setting_is_followed() -> None:
    request = HttpRequest()
    request.path_info = "/"
    middleware = CSPMiddleware(lambda r: HttpResponse())
    before = _header(middleware, request)
    policy = {
        **settings.CONTENT_SECURITY_POLICY,
        "DIRECTIVES": {
            **settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
            "img-src": ["https://img.example.com"],
        },
    }
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        changed = _header(middleware, request)
        assert "img-src https://img.example.com" in changed
        assert changed == _library_header()
    assert _header(middleware, request) == before


def test_a_nonce_asked_for_after_the_header_is_an_error() -> None:
    from csp.exceptions import CSPNonceError

    request = HttpRequest()
    request.path_info = "/"
    CSPMiddleware(lambda r: HttpResponse())(request)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)  # type: ignore[attr-defined]
