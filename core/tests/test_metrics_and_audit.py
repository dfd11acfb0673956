from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from core.audit import audit_record
from core.metrics import inc, observe
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db


def test_metrics_from_loopback_show_shared_counters_and_gauges() -> None:
    inc("switchboard_test_things_total", {"kind": "a"}, 3)
    observe("switchboard_test_latency_seconds", {"op": "x"}, 0.02)
    body = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    assert 'switchboard_test_things_total{kind="a"}' in body
    assert 'switchboard_test_latency_seconds_bucket{le="0.025",op="x"}' in body
    assert "switchboard_accounts" in body
    assert "switchboard_webhook_lag_seconds" in body


def test_metrics_refuse_other_networks_without_a_token(settings: object) -> None:
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 403


def test_metrics_token(settings: object) -> None:
    settings.METRICS_TOKEN = "scrape-me-please"  # type: ignore[attr-defined]
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 403
    ok = Client(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer scrape-me-please").get(
        "/metrics"
    )
    assert ok.status_code == 200


def test_audit_page_is_admin_only_and_filters(people: People) -> None:
    audit_record(
        actor=people.supervisor, action="accounts.recycle", target_type="account", target_id="861"
    )
    audit_record(actor=people.admin, action="token.create", target_type="api_token", target_id="1")
    assert client_for(people.supervisor).get(reverse("audit")).status_code == 403
    assert client_for(people.agent).get(reverse("audit")).status_code == 403
    page = client_for(people.admin).get(reverse("audit"), {"action": "accounts.recycle"})
    assert page.status_code == 200
    assert b"accounts.recycle" in page.content and b"token.create</code>" not in page.content
    fragment = client_for(people.admin).get(reverse("audit"), HTTP_HX_REQUEST="true")
    assert b"<html" not in fragment.content


def test_counters_survive_a_cache_flush() -> None:
    """Redis may be flushed or evict keys while processes run: counting resumes and the
    counter is found again, not lost from /metrics until a restart."""
    from django.core.cache import cache

    from core.metrics import INDEX_KEY, flush_buffer, inc_buffered

    inc("switchboard_test_flush_total", {"k": "v"})
    cache.delete_many([INDEX_KEY, 'metrics:switchboard_test_flush_total:{"k":"v"}'])
    inc("switchboard_test_flush_total", {"k": "v"}, 2)
    inc_buffered("switchboard_test_buffered_total", {"k": "v"}, 5)
    flush_buffer()
    body = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    assert 'switchboard_test_flush_total{k="v"} 2.0' in body
    assert 'switchboard_test_buffered_total{k="v"} 5.0' in body
