from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from core.health import HEARTBEAT_KEY, record_heartbeat

pytestmark = pytest.mark.django_db


TOKEN = "metrics-token-0123456789abcdefghijkl"


@pytest.fixture
def scraper(settings: Any) -> Client:
    """A caller with the metrics token: /healthz gives it the details."""
    settings.METRICS_TOKEN = TOKEN
    return Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def test_healthz_reports_every_check(scraper: Client) -> None:
    from django.core.cache import cache

    cache.delete(HEARTBEAT_KEY)
    body = scraper.get(reverse("healthz")).json()
    names = {"database", "cache", "broker", "upstream", "worker", "webhook_lag"}
    assert set(body["checks"]) == names
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True  # Redis in make test
    assert body["checks"]["worker"]["ok"] is False
    assert "no heartbeat" in body["checks"]["worker"]["error"]


def test_heartbeat_age_is_reported(scraper: Client) -> None:
    record_heartbeat()
    body = scraper.get(reverse("healthz")).json()
    assert body["checks"]["worker"]["ok"] is True
    assert 0 <= body["checks"]["worker"]["age_s"] < 5


def test_heartbeat_runs_through_a_real_worker(celery_worker_live: object) -> None:
    """A task goes through Redis to a real worker and back to the cache."""
    from django.core.cache import cache

    from core.tasks import heartbeat

    cache.delete(HEARTBEAT_KEY)
    heartbeat.delay()
    import time

    deadline = time.time() + 20
    while time.time() < deadline and cache.get(HEARTBEAT_KEY) is None:
        time.sleep(0.1)
    assert cache.get(HEARTBEAT_KEY) is not None


# --- what anonymous callers learn, and failing well --------------------


def test_anonymous_callers_get_ok_only(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    wrong = Client(HTTP_AUTHORIZATION="Bearer nope").get(reverse("healthz"))
    assert wrong.json() == {"ok": True}
    settings.METRICS_TOKEN = ""  # no token configured: nobody gets details
    assert Client(HTTP_AUTHORIZATION="Bearer ").get(reverse("healthz")).json() == {"ok": True}


def test_database_down_answers_503_without_the_error(
    settings: Any, scraper: Client, monkeypatch: Any
) -> None:
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    def down(self: Any, sql: str, params: Any = None) -> Any:
        raise OperationalError('connection to server at "db.internal" (10.1.2.3), port 5432 failed')

    monkeypatch.setattr(CursorWrapper, "execute", down)
    anonymous = Client().get(reverse("healthz"))
    assert anonymous.status_code == 503
    assert anonymous.json() == {"ok": False}
    assert "10.1.2.3" not in anonymous.content.decode()
    detailed = scraper.get(reverse("healthz"))
    assert detailed.status_code == 503
    assert "5432" in detailed.json()["checks"]["database"]["error"]


@pytest.fixture
def redis_down(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",  # what CACHE_URL=rediscache:// gives
            "LOCATION": "redis://127.0.0.1:1/0",
            "KEY_PREFIX": "sb-down",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }


def test_redis_unreachable_answers_503_json_not_500(redis_down: None, settings: Any) -> None:
    response = Client().get(reverse("healthz"))
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"ok": False}


def test_metrics_answer_while_redis_is_unreachable(redis_down: None, settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert b"switchboard_accounts" in response.content or b"# HELP" in response.content


@pytest.mark.django_db
def test_sessions_live_on_while_redis_is_unreachable(redis_down: None) -> None:
    """Sessions are read from the cache (core/sessions.py); with Redis down they are read
    from the database, where every session is written too, instead of failing the page."""
    from importlib import import_module

    from django.conf import settings

    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore  # as Django loads it
    store = SessionStore()
    store["who"] = "sam"
    store.create()
    key = store.session_key
    assert key
    again = SessionStore(key)
    assert again["who"] == "sam"
    assert again.exists(key)
