"""`manage.py vendor_check` and the admin page "Vendor connection" against
the simulator over real HTTP: what came back, or exactly why not."""

from __future__ import annotations

import socket
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.fixtures import client_for

QUERY_WHATSAPP_STATUS = "/group-dispatch-api/whatsapp/queryWhatsAppStatus"
SELECT_CLOUD_PORT = "/group-dispatch-api/qrCode/selectCloudPort"


def run_check() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("vendor_check", stdout=out)
    except CommandError as exc:
        return 1, out.getvalue() + str(exc)
    return 0, out.getvalue()


@pytest.mark.django_db
def test_vendor_check_reports_what_came_back(simulator: Any) -> None:
    simulator.reset(demo=True)
    code, out = run_check()
    assert code == 0, out
    for name in ("queryWhatsAppStatus", "selectCloudPort", "selectPairTarget"):
        assert f"OK      {name}: " in out
    assert "OK      queryAllOlWhatsAppInfo: " in out and "online agents" in out
    assert "Vendor connection OK" in out
    called = {c["path"] for c in simulator.calls()}
    assert {QUERY_WHATSAPP_STATUS, SELECT_CLOUD_PORT} <= called


@pytest.mark.django_db
def test_vendor_check_names_http_status_and_envelope_code(simulator: Any) -> None:
    simulator.set_faults(1.0, ["500"], paths=[QUERY_WHATSAPP_STATUS])
    code, out = run_check()
    assert code == 1
    assert "FAILED  queryWhatsAppStatus: HTTP status 500" in out
    assert "OK      selectCloudPort" in out
    simulator.set_faults(1.0, ["business"], paths=[SELECT_CLOUD_PORT])
    code, out = run_check()
    assert code == 1
    assert "FAILED  selectCloudPort: Envelope code 1002" in out


@pytest.mark.django_db
def test_vendor_check_names_dns_connection_and_tls(simulator: Any, settings: Any) -> None:
    settings.UPSTREAM_BASE_URL = "http://vendor.invalid"
    code, out = run_check()
    assert code == 1 and "DNS: the name vendor.invalid does not resolve" in out

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    settings.UPSTREAM_BASE_URL = f"http://127.0.0.1:{free_port}"
    code, out = run_check()
    assert code == 1 and "Connection: 127.0.0.1 refused the connection" in out

    settings.UPSTREAM_BASE_URL = simulator.url.replace("http://", "https://")
    code, out = run_check()
    assert code == 1 and "TLS: the secure connection to 127.0.0.1 failed" in out


@pytest.mark.django_db
def test_vendor_connection_page_is_for_admins(simulator: Any, people: Any) -> None:
    assert client_for(people.supervisor).get("/webhooks/vendor/").status_code == 403
    admin = client_for(people.admin)
    page = admin.get("/webhooks/vendor/")
    assert page.status_code == 200 and "Check the connection" in page.content.decode()
    assert not simulator.calls()  # a GET calls nothing
    simulator.set_faults(1.0, ["500"], paths=[QUERY_WHATSAPP_STATUS])
    result = admin.post("/webhooks/vendor/").content.decode()
    assert "HTTP status 500" in result
    assert "ports in use" in result  # selectCloudPort came back
