"""The site's WSGI application (config/wsgi.py) sends the vendor's callbacks through their own
handler (config/callbacks.py) and every other path through the site's middleware: a signed
delivery is stored and answered as before, with the request id and security headers but
no cookie or page machinery; an unknown callback path answers in the receivers' JSON; the
pages keep their sessions, CSRF cookie and Content-Security-Policy."""

from __future__ import annotations

import json

import pytest

from bench.common import wsgi_call
from config.callbacks import is_callback
from config.wsgi import application
from webhooks.models import WebhookEvent, WebhookKind
from webhooks.tests.helpers import sign, url


def call(
    path: str, *, method: str = "GET", body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request through the site's WSGI application, as gunicorn (or a2wsgi) makes it."""
    answer = wsgi_call(application, path, method=method, body=body, headers=headers)
    return answer.status, answer.headers, answer.content


def test_the_callback_paths_are_the_receivers() -> None:
    assert is_callback(url(WebhookKind.ONLINE_STATUS))
    assert is_callback(url(WebhookKind.ACCOUNT_STATUS))
    assert is_callback("/hooks/some-token/callback/gsTask/syncWhatsAppStatus")
    assert not is_callback("/login/")
    assert not is_callback("/webhooks/")  # the admins' inbox is a page
    assert not is_callback(url(WebhookKind.ONLINE_STATUS) + "x")


@pytest.mark.django_db(transaction=True)
def test_a_delivery_through_the_callback_handler_is_stored_without_page_machinery() -> None:
    body = json.dumps(
        [{"whatsId": "8613900000001", "status": 10, "time": "2024-07-03 15:27:00"}]
    ).encode()
    status, headers, content = call(
        url(WebhookKind.ONLINE_STATUS), method="POST", body=body, headers=sign(body)
    )
    assert status == 200, content
    assert json.loads(content)["code"] == 200
    event = WebhookEvent.objects.get()
    assert (event.kind, event.state, bytes(event.body)) == (
        WebhookKind.ONLINE_STATUS,
        WebhookEvent.State.PENDING,
        body,
    )
    assert headers["x-request-id"]  # the access line's id, echoed
    assert headers["x-content-type-options"] == "nosniff"  # SecurityMiddleware
    assert "set-cookie" not in headers  # no session, no CSRF cookie
    assert "cookie" not in headers.get("vary", "").lower()
    assert "content-security-policy" not in headers  # a JSON answer, not a page

    # Refused (no signature): 401 in JSON, the delivery kept in quarantine as before.
    status, _headers, content = call(url(WebhookKind.ONLINE_STATUS), method="POST", body=body)
    assert status == 401
    assert json.loads(content)["code"] == 401
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_unknown_callback_paths_and_methods_answer_in_json() -> None:
    status, headers, content = call(url(WebhookKind.ONLINE_STATUS))
    assert status == 405 and headers["allow"] == "POST"
    assert json.loads(content)["code"] == 405
    status, headers, content = call("/hooks/nothing-here/")
    assert status == 404
    assert headers["content-type"].startswith("application/json")
    assert json.loads(content)["code"] == 404


@pytest.mark.django_db(transaction=True)
def test_pages_keep_the_site_middleware() -> None:
    status, headers, content = call("/login/", headers={"Accept-Language": "zh-hans"})
    assert status == 200
    assert "csrftoken" in headers["set-cookie"]
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["content-language"] == "zh-hans"
    assert b"<form" in content
