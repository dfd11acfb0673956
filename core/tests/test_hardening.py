"""Smaller hardening items: passwords, sessions, API tokens, the
schema, Permissions-Policy. (Avatar fetch: accounts/tests/test_services.py; demo users:
demo/tests/test_demo_seed.py.)"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from core.middleware import IDLE_KEY
from core.models import ApiToken
from core.tokens import api_token_create
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db


def test_passwords_need_twelve_characters() -> None:
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Kq8!vZ2#pL")  # 10 characters, otherwise strong
    validate_password("Kq8!vZ2#pLw4")


def _api(key: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/me/").status_code


def test_a_password_change_revokes_api_tokens(people: People) -> None:
    _token, key = api_token_create(user=people.agent, name="ci")
    assert _api(key) == 200
    people.agent.set_password("a-brand-new-password-2")
    people.agent.save()
    assert _api(key) == 401
    assert not ApiToken.objects.filter(user=people.agent).exists()


def test_api_tokens_may_expire(people: People, settings: Any) -> None:
    _token, key = api_token_create(
        user=people.agent, name="short", expires_at=timezone.now() + timedelta(seconds=60)
    )
    assert _api(key) == 200
    ApiToken.objects.filter(user=people.agent).update(expires_at=timezone.now())
    assert _api(key) == 401
    settings.API_TOKEN_MAX_AGE_DAYS = 30
    token, _key = api_token_create(user=people.agent, name="default")
    assert token.expires_at is not None
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)


def test_schema_and_docs_need_sign_in(people: People) -> None:
    for url in ("/api/v1/schema/", "/api/v1/docs/"):
        assert Client().get(url).status_code == 401
        assert client_for(people.agent).get(url).status_code == 200


def test_a_sessions_last_seen_minute_is_written_once_by_concurrent_requests(
    people: People,
) -> None:
    """Several requests of one session see its minute is up at the same time (their
    sessions were read before any of them wrote): one writes, the others do not."""
    from importlib import import_module

    from django.conf import settings as dj
    from django.test import RequestFactory

    from core.middleware import IdleTimeoutMiddleware

    client = client_for(people.agent)
    client.get("/")
    key = client.session.session_key
    assert key is not None
    store = client.session
    store[IDLE_KEY] = int(time.time()) - 61
    store.save()
    engine = import_module(dj.SESSION_ENGINE)
    written = []
    for _ in range(3):
        request = RequestFactory().get("/", HTTP_COOKIE=f"{dj.SESSION_COOKIE_NAME}={key}")
        request.COOKIES[dj.SESSION_COOKIE_NAME] = key
        request.session = engine.SessionStore(key)
        request.user = people.agent
        IdleTimeoutMiddleware(lambda r: HttpResponse())(request)
        written.append(request.session.modified)
    assert written == [True, False, False]


def test_permissions_policy_header() -> None:
    response = Client().get("/login/")
    policy = response["Permissions-Policy"]
    assert "camera=()" in policy and "microphone=()" in policy and "geolocation=()" in policy


def test_idle_sessions_are_signed_out(people: People, settings: Any) -> None:
    settings.SESSION_IDLE_TIMEOUT = 600
    client = client_for(people.agent)
    assert client.get("/").status_code == 200
    session = client.session
    session[IDLE_KEY] = int(time.time()) - 601
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    # Activity within the window keeps the session.
    client = client_for(people.agent)
    client.get("/")
    session = client.session
    session[IDLE_KEY] = int(time.time()) - 300
    session.save()
    assert client.get("/").status_code == 200
