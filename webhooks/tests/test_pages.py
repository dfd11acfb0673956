"""Inbox pages and the JSON API: who may see what."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import StatusEvent, WhatsAppAccount
from tests.fixtures import client_for
from webhooks.models import WebhookKind
from webhooks.services.process import webhook_event_process
from webhooks.services.receive import webhook_event_receive

SECRET_BODY = {
    "whatsAppList": [
        {
            "whatsId": "8613800000001",
            "status": 10,
            "detailStatus": 12,
            "account": "alice01",
            "time": "2024-07-03 15:27:00",
            "platformType": 1,
        },
        {
            "whatsId": "8613800000002",
            "status": 20,
            "detailStatus": 21,
            "account": "bob01",
            "time": "2024-07-03 15:27:00",
            "platformType": 1,
        },
    ],
    "privateKey": "TOP-SECRET-KEY-MATERIAL",
}


@pytest.fixture
def events(people: Any) -> dict[str, int]:
    ok = webhook_event_receive(
        kind=WebhookKind.ONLINE_STATUS,
        body=json.dumps(SECRET_BODY).encode(),
        headers={"x-signature": "abc", "x-api-key": "[redacted]"},
    )
    webhook_event_process(event_id=ok.event_id)
    bad = webhook_event_receive(kind=WebhookKind.QR_LOGIN_STATUS, body=b"{nope", headers={})
    return {"ok": ok.event_id, "bad": bad.event_id}


@pytest.mark.django_db
def test_inbox_pages_admin_only(people: Any, events: dict[str, int]) -> None:
    pages = [
        "/webhooks/",
        "/webhooks/?kind=online_status&state=processed&day_from=2020-01-01",
        "/webhooks/lag/",
        "/webhooks/counts.json",
        f"/webhooks/{events['ok']}/",
        f"/webhooks/{events['bad']}/",
    ]
    for url in pages:
        assert client_for(people.admin).get(url).status_code == 200, url
        for who in (people.supervisor, people.agent, people.peer, people.outsider):
            assert client_for(who).get(url).status_code == 403, (url, who)
        anon = client_for(None).get(url)
        assert anon.status_code == 302 and "/login/" in anon["Location"]


@pytest.mark.django_db
def test_inbox_content(people: Any, events: dict[str, int]) -> None:
    admin = client_for(people.admin)
    page = admin.get("/webhooks/").content.decode()
    assert f"/webhooks/{events['ok']}/" in page and "Processing lag now" in page
    filtered = admin.get("/webhooks/?state=rejected").content.decode()
    assert f"/webhooks/{events['bad']}/" in filtered
    assert f"/webhooks/{events['ok']}/" not in filtered
    partial = admin.get(
        "/webhooks/?kind=online_status", headers={"HX-Request": "true", "HX-Target": "inbox-events"}
    )
    assert partial.status_code == 200 and b"<html" not in partial.content
    detail = admin.get(f"/webhooks/{events['ok']}/").content.decode()
    assert "TOP-SECRET-KEY-MATERIAL" not in detail and "[redacted]" in detail
    assert "8613800000002" in detail and "alice01" in detail  # its status events
    bad = admin.get(f"/webhooks/{events['bad']}/").content.decode()
    assert "not valid JSON" in bad and "Replay" in bad
    counts = admin.get("/webhooks/counts.json").json()
    assert len(counts["labels"]) == 24
    assert sum(sum(d["data"]) for d in counts["datasets"]) == 2
    import re

    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag, tag  # no inline script (CSP)
    assert "style=" not in page


@pytest.mark.django_db
def test_webhook_events_api(people: Any, events: dict[str, int]) -> None:
    for who, code in [
        (people.admin, 200),
        (people.supervisor, 403),
        (people.agent, 403),
        (people.outsider, 403),
    ]:
        api = APIClient()
        api.force_authenticate(who)
        assert api.get("/api/v1/webhook-events/").status_code == code
    assert APIClient().get("/api/v1/webhook-events/").status_code in (401, 403)
    api = APIClient()
    api.force_authenticate(people.admin)
    data = api.get("/api/v1/webhook-events/?state=rejected").json()
    assert [e["id"] for e in data["results"]] == [events["bad"]]
    assert "next" in data and data["results"][0]["kind"] == "qr_login_status"
    assert "body" not in data["results"][0]


@pytest.mark.django_db
def test_status_events_api_scoped(people: Any, events: dict[str, int]) -> None:
    agent = WhatsAppAccount.objects.get(whatsapp="8613800000001").agent
    assert agent is not None and agent.user == people.agent
    rows = {}
    for name, who in [
        ("admin", people.admin),
        ("supervisor", people.supervisor),
        ("agent", people.agent),
        ("peer", people.peer),
        ("outsider", people.outsider),
    ]:
        api = APIClient()
        api.force_authenticate(who)
        r = api.get("/api/v1/status-events/")
        assert r.status_code == 200
        rows[name] = {row["whatsapp"] for row in r.json()["results"]}
    assert rows["admin"] == rows["supervisor"] == {"8613800000001", "8613800000002"}
    assert rows["agent"] == {"8613800000001"}
    assert rows["peer"] == {"8613800000002"}
    assert rows["outsider"] == set()
    assert APIClient().get("/api/v1/status-events/").status_code in (401, 403)
    api = APIClient()
    api.force_authenticate(people.supervisor)
    data = api.get("/api/v1/status-events/?whatsapp=8613800000002").json()
    (row,) = data["results"]
    assert row == {
        "id": StatusEvent.objects.get(whatsapp="8613800000002").pk,
        "whatsapp": "8613800000002",
        "status": 20,
        "status_display": "Disconnected",
        "detail_status": 21,
        "detail_status_display": "PC disconnected",
        "agent_account": "bob01",
        "platform": 1,
        "platform_display": "PC",
        "event_time": "2024-07-03T07:27:00Z",
        "source": "webhook",
    }
    assert "next" in data
