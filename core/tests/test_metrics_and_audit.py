from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from core.audit import audit_record
from core.metrics import inc, observe
from tests.fixtures import People, client_for

_ROOT = Path(__file__).resolve().parents[2]

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


@pytest.mark.django_db
def test_metrics_show_request_latency_and_database_queries() -> None:
    """Per instance, the standard series: requests and their latency by view
    (django-prometheus's middleware) and database queries (its PostgreSQL backend)."""
    client = Client(REMOTE_ADDR="127.0.0.1")
    client.get(reverse("login"))
    body = client.get("/metrics").content.decode()
    assert "django_http_requests_latency_seconds_by_view_method_bucket{" in body
    assert 'view="login"' in body
    assert "django_db_execute_total{" in body
    assert "django_db_query_duration_seconds_bucket{" in body


_COUNT_IN_A_PROCESS = """
import django, sys
django.setup()
from core.metrics import inc, observe
inc("switchboard_test_instance_total", {"k": "v"}, int(sys.argv[1]))
observe("switchboard_test_instance_seconds", {"k": "v"}, 0.2)
"""


def test_an_instances_processes_are_merged_through_the_multiprocess_directory(
    tmp_path: Path,
) -> None:
    """gunicorn's workers (and a prefork Celery worker's processes) each count in their own
    memory; with PROMETHEUS_MULTIPROC_DIR the instance reports their sum."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    for amount in ("2", "3"):
        subprocess.run(
            [sys.executable, "-c", _COUNT_IN_A_PROCESS, amount], env=env, check=True, cwd=_ROOT
        )
    read = (
        "import django; django.setup(); from prometheus_client import generate_latest; "
        "from core.metrics import instance_registry; "
        "print(generate_latest(instance_registry()).decode())"
    )
    body = subprocess.run(
        [sys.executable, "-c", read], env=env, check=True, cwd=_ROOT, capture_output=True, text=True
    ).stdout
    assert 'switchboard_test_instance_total{k="v"} 5.0' in body
    assert 'switchboard_test_instance_seconds_count{k="v"} 2.0' in body


@pytest.mark.django_db
def test_the_grafana_dashboard_asks_only_for_series_this_product_exports() -> None:
    """Every metric a panel of deploy/grafana/switchboard.json queries is one /metrics
    serves (after a request, a vendor call and a webhook counter have been recorded), with
    the labels the panel groups by."""
    import json
    import re

    from core.metrics import DESCRIPTIONS

    client = Client(REMOTE_ADDR="127.0.0.1")
    client.get(reverse("login"))
    inc("switchboard_upstream_calls_total", {"operation": "x", "outcome": "ok"})
    body = client.get("/metrics").content.decode()
    exported = {line.split(" ")[2] for line in body.splitlines() if line.startswith("# TYPE")}
    exported |= set(DESCRIPTIONS)
    dashboard = json.loads((_ROOT / "deploy" / "grafana" / "switchboard.json").read_text())
    asked = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            asked |= set(re.findall(r"\b((?:django|switchboard)_[a-z_]+)", target["expr"]))
    assert len(asked) >= 12
    bases = {re.sub(r"_(bucket|count|sum|total)$", "", n) for n in asked}
    known = {re.sub(r"_(bucket|count|sum|total)$", "", n) for n in exported}
    assert bases <= known, bases - known
