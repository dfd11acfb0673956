"""Webhook authentication the seed allows: a seed-exact delivery (no authentication header at
all) is accepted under `path-token`, refused and kept in quarantine under `hmac`, and an
admin's acceptance from quarantine applies it as if it had passed. Real HTTP to the live
server, real PostgreSQL; the simulator delivers unsigned webhooks to a token URL."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.test import Client
from django.utils import timezone

from core.logging import redact
from core.models import AuditEntry
from ports.models import CloudPort
from qrlogin.models import PcType, QrSession
from tests.fixtures import client_for
from tests.vendor_payloads import load_bytes
from tests.waiting import wait_for
from webhooks.models import RefusedDelivery, WebhookEvent, WebhookKind
from webhooks.receivers import PATHS
from webhooks.services.process import webhook_event_process
from webhooks.services.receive import (
    NotAcceptable,
    refused_delivery_accept,
    refused_delivery_record,
)

SEED_PORT_ID = "ad518a4271fa43c8937612c5f60396f8"  # the seed's syncLoginStatus example
SEED_NUMBER = "817272727272"
LOGIN_PATH = "/" + PATHS[WebhookKind.QR_LOGIN_STATUS]


@pytest.fixture
def token(settings: Any) -> str:
    value = secrets.token_urlsafe(32)
    settings.WEBHOOK_PATH_TOKEN = value
    return value


def _showing_session(people: Any) -> QrSession:
    CloudPort.objects.create(port_id=SEED_PORT_ID)
    return QrSession.objects.create(
        port_id=SEED_PORT_ID,
        state=QrSession.State.SHOWING,
        pc_type=PcType.CLOUD_PC,
        created_by=people.agent,
    )


def _seed_post(url: str) -> requests.Response:
    # Exactly what the seed shows: the body and Content-Type, no other header.
    return requests.post(
        url,
        data=load_bytes("webhook_qr_login_status"),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )


def _assert_applied(session: QrSession) -> None:
    session.refresh_from_db()
    assert session.state == QrSession.State.SUCCEEDED
    assert session.whatsapp == SEED_NUMBER
    assert CloudPort.objects.get(port_id=SEED_PORT_ID).phone == SEED_NUMBER


@pytest.mark.django_db(transaction=True)
def test_seed_exact_login_result_is_accepted_under_path_token(
    live_server: Any, settings: Any, token: str, people: Any
) -> None:
    settings.WEBHOOK_AUTH = ["path-token"]
    session = _showing_session(people)
    r = _seed_post(f"{live_server.url}/hooks/{token}{LOGIN_PATH}")
    assert r.status_code == 200, r.content
    assert r.json() == {"code": 200, "message": "Success", "data": ""}
    event = WebhookEvent.objects.get()
    assert webhook_event_process(event_id=event.pk).state == "processed"
    _assert_applied(session)
    assert not RefusedDelivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_seed_exact_login_result_is_quarantined_under_hmac_and_applied_once_accepted(
    live_server: Any, settings: Any, people: Any
) -> None:
    settings.WEBHOOK_AUTH = ["hmac"]
    session = _showing_session(people)
    r = _seed_post(live_server.url + LOGIN_PATH)
    assert r.status_code == 401 and r.json()["code"] == 401
    assert "missing signature headers" in r.json()["message"]
    assert not WebhookEvent.objects.exists()
    row = RefusedDelivery.objects.get()
    assert bytes(row.body) == load_bytes("webhook_qr_login_status")
    assert (row.kind, row.auth_check, row.reason) == (
        WebhookKind.QR_LOGIN_STATUS,
        "hmac",
        "missing_signature_headers",
    )
    assert row.state == RefusedDelivery.State.QUARANTINED and row.acceptable

    admin = client_for(people.admin)
    inbox = admin.get("/webhooks/").content.decode()
    assert f"/webhooks/refused/{row.pk}/" in inbox and "missing_signature_headers" in inbox
    page = admin.get(f"/webhooks/refused/{row.pk}/").content.decode()
    assert SEED_PORT_ID in page and f"/webhooks/refused/{row.pk}/accept/" in page
    # Only admins accept.
    assert (
        client_for(people.supervisor).post(f"/webhooks/refused/{row.pk}/accept/").status_code == 403
    )

    accepted = admin.post(f"/webhooks/refused/{row.pk}/accept/")
    event = WebhookEvent.objects.get()
    assert accepted.status_code == 302 and accepted["Location"] == f"/webhooks/{event.pk}/"
    assert event.signature_ok is False
    assert event.headers.get("accepted-from-quarantine") == str(row.pk)
    assert webhook_event_process(event_id=event.pk).state == "processed"
    _assert_applied(session)
    row.refresh_from_db()
    assert row.state == RefusedDelivery.State.ACCEPTED and row.event_id == event.pk
    assert row.accepted_by == people.admin
    assert AuditEntry.objects.filter(action="webhook.quarantine_accept").count() == 1
    # Accepting twice adds nothing.
    with pytest.raises(NotAcceptable):
        refused_delivery_accept(delivery_id=row.pk, actor=people.admin)
    api = client_for(people.admin).post(f"/api/v1/webhook-quarantine/{row.pk}/accept/")
    assert api.status_code == 409
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db
def test_the_api_lists_and_accepts_quarantined_deliveries(settings: Any, people: Any) -> None:
    settings.WEBHOOK_AUTH = ["hmac"]
    body = json.dumps({"id": "p-api", "status": 0}).encode()
    assert Client().post(LOGIN_PATH, body, content_type="application/json").status_code == 401
    admin = client_for(people.admin)
    listed = admin.get("/api/v1/webhook-quarantine/").json()["results"]
    assert [(r["kind"], r["reason"], r["acceptable"]) for r in listed] == [
        ("qr_login_status", "missing_signature_headers", True)
    ]
    assert "body" not in listed[0]
    assert client_for(people.agent).get("/api/v1/webhook-quarantine/").status_code == 403
    answer = admin.post(f"/api/v1/webhook-quarantine/{listed[0]['id']}/accept/")
    assert answer.status_code == 200, answer.content
    assert answer.json()["kind"] == "qr_login_status" and answer.json()["signature_ok"] is False
    assert bytes(WebhookEvent.objects.get(pk=answer.json()["id"]).body) == body


@pytest.mark.django_db
def test_bare_paths_refuse_under_path_token_and_token_urls_exist_only_with_it(
    settings: Any, token: str, people: Any
) -> None:
    body = json.dumps({"id": "p-1", "status": 1}).encode()
    settings.WEBHOOK_AUTH = ["path-token"]
    bare = Client().post(LOGIN_PATH, body, content_type="application/json")
    assert bare.status_code == 401 and "vendor_check --callbacks" in bare.json()["message"]
    wrong = Client().post(f"/hooks/{'x' * 43}{LOGIN_PATH}", body, content_type="application/json")
    assert wrong.status_code == 401 and wrong.json()["message"] == "the path token is wrong"
    right = Client().post(f"/hooks/{token}{LOGIN_PATH}", body, content_type="application/json")
    assert right.status_code == 200, right.content
    reasons = list(RefusedDelivery.objects.order_by("id").values_list("reason", "path"))
    assert reasons == [
        ("missing_path_token", LOGIN_PATH),
        ("bad_path_token", f"/hooks/[token]{LOGIN_PATH}"),  # the token (even wrong) masked
    ]
    # Every check combines with the token: a right token without the signature is refused.
    settings.WEBHOOK_AUTH = ["path-token", "hmac"]
    unsigned = Client().post(f"/hooks/{token}{LOGIN_PATH}", body, content_type="application/json")
    assert unsigned.status_code == 401
    assert RefusedDelivery.objects.latest("id").reason == "missing_signature_headers"
    # Without path-token there is no token URL at all.
    settings.WEBHOOK_AUTH = ["hmac"]
    gone = Client().post(f"/hooks/{token}{LOGIN_PATH}", body, content_type="application/json")
    assert gone.status_code == 404
    # The token is on no page and in no log line.
    admin = client_for(people.admin)
    for url in [
        "/webhooks/",
        *(
            f"/webhooks/refused/{pk}/"
            for pk in RefusedDelivery.objects.values_list("pk", flat=True)
        ),
    ]:
        assert token not in admin.get(url).content.decode()
    assert token not in admin.get("/api/v1/webhook-quarantine/").content.decode()
    assert token not in redact(f'"POST /hooks/{token}{LOGIN_PATH} HTTP/1.1" 401')


@pytest.mark.django_db
def test_quarantine_is_bounded_in_size_count_and_age(settings: Any, people: Any) -> None:
    settings.WEBHOOK_AUTH = ["hmac"]
    settings.WEBHOOK_QUARANTINE_MAX_BYTES = 100
    big = json.dumps({"id": "p-big", "status": 1, "pad": "x" * 200}).encode()
    assert Client().post(LOGIN_PATH, big, content_type="application/json").status_code == 401
    row = RefusedDelivery.objects.get()
    assert len(bytes(row.body)) == 100 and row.body_bytes == len(big) and row.body_truncated
    assert not row.acceptable
    with pytest.raises(NotAcceptable, match="larger than the quarantine keeps"):
        refused_delivery_accept(delivery_id=row.pk, actor=people.admin)
    assert not WebhookEvent.objects.exists()

    # Older than WEBHOOK_QUARANTINE_DAYS: gone at the next refusal.
    settings.WEBHOOK_QUARANTINE_DAYS = 2
    RefusedDelivery.objects.filter(pk=row.pk).update(received_at=timezone.now() - timedelta(days=3))
    settings.WEBHOOK_QUARANTINE_KEEP = 5
    for i in range(8):
        refused_delivery_record(
            path=LOGIN_PATH,
            kind=WebhookKind.QR_LOGIN_STATUS,
            check="hmac",
            reason="missing_signature_headers",
            detail="",
            source_addr="198.51.100.7",
            header_names=[],
            body=b'{"id":"p-%d","status":1}' % i,
        )
    kept = list(RefusedDelivery.objects.order_by("id").values_list("body", flat=True))
    assert [bytes(b) for b in kept] == [b'{"id":"p-%d","status":1}' % i for i in range(3, 8)]


@pytest.mark.django_db(transaction=True)
def test_unsigned_simulator_webhooks_reach_a_token_url(
    simulator: Any, live_server: Any, settings: Any, token: str, celery_worker_live: Any
) -> None:
    """A vendor that signs nothing (profile unsigned-webhooks), given the callback base with
    the token: its QR login result is applied."""
    settings.WEBHOOK_AUTH = ["path-token"]
    simulator.set_profile("unsigned-webhooks")
    simulator.set_webhook_base(f"{live_server.url}/hooks/{token}")
    port = simulator.state.pre_generate(type_=2, target=10085)
    session = QrSession.objects.create(port_id=port.session_id, state=QrSession.State.SHOWING)
    simulator.scan(port.session_id, "8613800000077")
    simulator.wait_deliveries(20)
    assert all(d["state"] == "delivered" for d in simulator.deliveries())
    wait_for(lambda: QrSession.objects.get(pk=session.pk).state == QrSession.State.SUCCEEDED)
    assert not RefusedDelivery.objects.exists()
