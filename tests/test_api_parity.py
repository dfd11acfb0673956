"""Every operation a person can do on a page has an API operation with
the same service behind it. One test per operation family, against the real simulator;
the access rules of each route are in tests/test_access_matrix.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import BulkJob, ContactLookup, Registration
from accounts.services import fleet
from accounts.tests.helpers import make_account
from accounts.tests.test_services import _logged_in_port, images  # noqa: F401  (a fixture)
from actions.models import Action, ActionBatch, Lane, State
from actions.tests.test_intake import GOOD, HEADER, online
from qrlogin.models import AllocationRole, ScanTask
from qrlogin.tests.helpers import sim_agent_for
from tests.fixtures import client_for
from webhooks.models import WebhookEvent, WebhookKind

pytestmark = pytest.mark.django_db


def post(client: Any, url: str, body: Any = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


# --- registration ---------------------------------------------------------------------------


def test_registration_phone_read_and_code(people: Any, simulator: Any) -> None:
    sup = client_for(people.supervisor)
    phone = {"country_code": "CN", "area_code": "+57", "phone": "13812345678"}
    bad = post(sup, "/api/v1/registrations/", phone)
    assert bad.status_code == 400
    assert "does not belong to CN" in bad.json()["phone"][0] and bad.json()["code"] == 400
    assert post(client_for(people.agent), "/api/v1/registrations/", phone).status_code == 403
    made = post(sup, "/api/v1/registrations/", {**phone, "area_code": "+86", "verify_type": 1})
    assert made.status_code == 201, made.content
    reg = Registration.objects.get(pk=made.json()["id"])
    assert made.json()["state"] == "phone_submitted" and reg.task_id
    assert len(simulator.calls("/register/submitPhone")) == 1
    one = sup.get(f"/api/v1/registrations/{reg.pk}/")
    assert one.status_code == 200 and one.json()["task_id"] == reg.task_id
    assert client_for(people.agent).get(f"/api/v1/registrations/{reg.pk}/").status_code == 403
    url = f"/api/v1/registrations/{reg.pk}/code/"
    assert post(sup, url, {"code": "12"}).status_code == 400  # 4 to 8 digits
    code = simulator.state.registrations[int(reg.task_id)].code
    sent = post(sup, url, {"code": code})
    assert sent.status_code == 200, sent.content
    assert sent.json()["state"] in ("code_submitted", "succeeded")
    Registration.objects.filter(pk=reg.pk).update(state=Registration.State.FAILED)
    assert post(sup, url, {"code": code}).status_code == 409


# --- avatar and nickname, contact look-ups --------------------------------------------------


def test_profile_one_account_and_a_selection(
    people: Any,
    simulator: Any,
    images: str,  # noqa: F811
) -> None:
    a = make_account("8613800000061")
    b = make_account("8613800000062")
    sup = client_for(people.supervisor)
    wide = post(sup, f"/api/v1/accounts/{a.whatsapp}/profile/", {"avatar": f"{images}/wide.png"})
    assert wide.status_code == 400 and "must be square" in wide.json()["detail"]
    assert not BulkJob.objects.exists()
    ok = post(
        sup,
        f"/api/v1/accounts/{a.whatsapp}/profile/",
        {"avatar": f"{images}/ok64.png", "nickname": "Desk 7"},
    )
    assert ok.status_code == 202, ok.content
    job = BulkJob.objects.get(pk=ok.json()["id"], kind=BulkJob.Kind.PROFILE)
    fleet.bulk_job_run(job_id=job.pk)
    calls = simulator.calls("/channelInfo/updateAvatarOrNickname")
    assert calls[-1]["body"]["phoneList"] == [a.whatsapp]
    assert calls[-1]["body"]["nickname"] == "Desk 7"
    many = post(
        sup, "/api/v1/profile-updates/", {"whatsapps": [a.whatsapp, b.whatsapp], "nickname": "N"}
    )
    assert many.status_code == 202, many.content
    fleet.bulk_job_run(job_id=many.json()["id"])
    assert simulator.calls("/channelInfo/updateAvatarOrNickname")[-1]["body"]["phoneList"] == [
        a.whatsapp,
        b.whatsapp,
    ]
    unknown = post(
        sup, "/api/v1/profile-updates/", {"whatsapps": ["8613000000000"], "nickname": "N"}
    )
    assert unknown.status_code == 400 and "Unknown accounts" in unknown.json()["whatsapps"][0]
    agent = client_for(people.agent)
    assert (
        post(agent, f"/api/v1/accounts/{a.whatsapp}/profile/", {"nickname": "x"}).status_code == 403
    )


def test_contact_lookups(people: Any, simulator: Any) -> None:
    a = make_account("8613800000071")
    sup = client_for(people.supervisor)
    url = f"/api/v1/accounts/{a.whatsapp}/contact-lookups/"
    unconfirmed = post(sup, url, {"kind": "book", "confirm": False})
    assert unconfirmed.status_code == 400 and "risk control" in unconfirmed.json()["detail"]
    no_port = post(sup, url, {"kind": "book", "confirm": True})
    assert no_port.status_code == 400 and "no cloud port" in no_port.json()["detail"]
    _logged_in_port(simulator, a.whatsapp)
    queued = post(sup, url, {"kind": "book", "confirm": True})
    assert queued.status_code == 202 and queued.json()["state"] == "queued"
    again = post(sup, url, {"kind": "single", "phone": "8613912345678", "confirm": True})
    assert again.status_code == 429 and "less than 60 seconds ago" in again.json()["detail"]
    from accounts.services import contacts

    contacts.contact_lookup_run(lookup_id=queued.json()["id"])  # what the SLOW queue runs
    rows = sup.get(url).json()
    assert rows[0]["state"] == "done" and rows[0]["results"]
    assert ContactLookup.objects.count() == 1
    assert client_for(people.agent).get(url).status_code == 403


# --- scan tasks, QR session retry -----------------------------------------------------------


def test_scan_tasks_create_and_read(people: Any, simulator: Any) -> None:
    sim_agent_for(simulator, people.agent)
    alice = client_for(people.agent)
    made = post(alice, "/api/v1/scan-tasks/", {})
    assert made.status_code == 201, made.content
    task = ScanTask.objects.get(pk=made.json()["id"])
    assert task.created_by == people.agent and made.json()["qr"]
    assert len(simulator.calls("/qrCodeTask/create")) == 1
    # An agent's task is theirs whatever they ask for.
    refused = post(alice, "/api/v1/scan-tasks/", {"allocation_role": AllocationRole.RANDOM})
    assert refused.status_code == 400 and "only for themselves" in refused.json()["detail"]
    assert alice.get(f"/api/v1/scan-tasks/{task.pk}/").json()["task_id"] == task.task_id
    assert client_for(people.peer).get(f"/api/v1/scan-tasks/{task.pk}/").status_code == 404
    sup = client_for(people.supervisor)
    assert (
        post(sup, "/api/v1/scan-tasks/", {"allocation_role": AllocationRole.RANDOM}).status_code
        == 201
    )
    assert len(simulator.calls("/qrCodeTask/create")) == 2


def test_qr_session_retry(people: Any, simulator: Any) -> None:
    sim_agent_for(simulator, people.agent)
    alice = client_for(people.agent)
    first = post(alice, "/api/v1/qr-sessions/", {"platform": 1, "mode": "qr"})
    assert first.status_code == 201, first.content
    again = post(alice, f"/api/v1/qr-sessions/{first.json()['id']}/retry/")
    assert again.status_code == 201, again.content
    assert again.json()["retry_of"] == first.json()["id"]
    assert len(simulator.calls("/qrCode/preGenerate")) == 2
    peer = client_for(people.peer)
    assert post(peer, f"/api/v1/qr-sessions/{first.json()['id']}/retry/").status_code == 404


# --- actions: resend, mark failed, batches, lanes -------------------------------------------


def test_action_resend_and_mark_failed(people: Any) -> None:
    online(GOOD["whatsapp"], status=4, presence=30)
    alice = client_for(people.agent)
    pk = post(alice, "/api/v1/actions/", GOOD).json()["id"]
    assert post(alice, f"/api/v1/actions/{pk}/resend/").status_code == 409  # queued
    Action.objects.filter(pk=pk).update(state=State.UNKNOWN)
    resent = post(alice, f"/api/v1/actions/{pk}/resend/")
    assert resent.status_code == 200 and resent.json()["state"] == "queued"
    Action.objects.filter(pk=pk).update(state=State.UNKNOWN)
    failed = post(alice, f"/api/v1/actions/{pk}/mark-failed/", {"note": "checked the phone"})
    assert failed.status_code == 200 and failed.json()["state"] == "failed"
    assert "checked the phone" in failed.json()["reason"]
    assert post(client_for(people.peer), f"/api/v1/actions/{pk}/resend/").status_code == 404


def test_lanes_pause_and_resume(people: Any) -> None:
    online(GOOD["whatsapp"], status=4, presence=30)
    online("8613800000077", agent="bob01")
    sup = client_for(people.supervisor)
    post(
        sup,
        "/api/v1/actions/",
        [GOOD, {**GOOD, "agent_account": "bob01", "whatsapp": "8613800000077"}],
    )
    alice = client_for(people.agent)
    lanes = alice.get("/api/v1/lanes/").json()["results"]
    assert [(row["agent_account"], row["queued"]) for row in lanes] == [("alice01", 1)]
    lane = lanes[0]["id"]
    paused = post(alice, f"/api/v1/lanes/{lane}/pause/")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert Lane.objects.get(pk=lane).paused_by == people.agent
    assert post(client_for(people.peer), f"/api/v1/lanes/{lane}/resume/").status_code == 404
    resumed = post(sup, f"/api/v1/lanes/{lane}/resume/")
    assert resumed.status_code == 200 and resumed.json()["paused"] is False


def _upload(client: Any, text: str, **extra: Any) -> Any:
    upload = SimpleUploadedFile("a.csv", text.encode(), "text/csv")
    return client.post("/api/v1/action-batches/", {"file": upload, **extra})


def test_csv_upload_drafts_and_decisions(people: Any) -> None:
    online("8613800000001")
    alice = client_for(people.agent)
    clean = _upload(alice, HEADER + "alice01,8613800000001,8613900000001,1,hi\n")
    assert clean.status_code == 201, clean.content
    assert clean.json()["status"] == "queued" and clean.json()["progress"] == {"queued": 1}
    broken = _upload(alice, "whatsId\n1\n")
    assert broken.status_code == 400 and "Wrong columns" in broken.json()["detail"]
    text = HEADER + "alice01,8613800000001,8613900000002,1,a\nalice01,12,8613900000003,1,b\n"
    draft = _upload(alice, text).json()
    assert draft["status"] == "draft" and draft["draft_rows"] == 1
    assert draft["draft_errors"][0]["line"] == 3
    # Someone else's draft is not theirs to decide.
    assert (
        post(client_for(people.peer), f"/api/v1/action-batches/{draft['id']}/confirm/").status_code
        == 404
    )
    confirmed = post(alice, f"/api/v1/action-batches/{draft['id']}/confirm/")
    assert confirmed.json() == {"id": draft["id"], "count": 1}
    assert post(alice, f"/api/v1/action-batches/{draft['id']}/discard/").status_code == 409
    cancelled = post(alice, f"/api/v1/action-batches/{draft['id']}/cancel/")
    assert cancelled.json()["count"] == 1
    assert ActionBatch.objects.get(pk=draft["id"]).status == ActionBatch.Status.QUEUED
    listed = alice.get("/api/v1/action-batches/").json()["results"]
    assert {row["id"] for row in listed} == {clean.json()["id"], draft["id"]}


def test_page_csv_and_api_give_the_same_verdict(people: Any) -> None:
    """One service: the same bad row is refused with the same words on every way in."""
    online(GOOD["whatsapp"], status=4, presence=30)
    bad = {**GOOD, "friend_whatsapp": "86139-0000001"}
    alice = client_for(people.agent)
    api = post(alice, "/api/v1/actions/", bad).json()["friend_whatsapp"][0]
    page = alice.post("/actions/new/", bad).content.decode()
    line = ",".join(str(bad[k]) for k in ("agent_account", "whatsapp", "friend_whatsapp"))
    _upload(alice, HEADER + f"{line},1,hello\n")
    csv = ActionBatch.objects.get(status=ActionBatch.Status.DRAFT).draft_errors[0]["messages"]
    assert "6 to 20 digits" in api and csv == [api]
    assert api.replace("'", "&#x27;") in page
    assert not Action.objects.exists()


# --- webhook replay, bulk online with the page's choice, unknown paths ------------------------


def test_webhook_event_replay(people: Any) -> None:
    body = json.dumps({"whatsAppList": []}).encode()
    event = WebhookEvent.objects.create(
        kind=WebhookKind.ONLINE_STATUS,
        body=body,
        received_at="2026-01-01T00:00:00Z",
        state=WebhookEvent.State.FAILED,
        error="boom",
    )
    admin = client_for(people.admin)
    assert admin.get(f"/api/v1/webhook-events/{event.pk}/").json()["state"] == "failed"
    assert (
        post(
            client_for(people.supervisor), f"/api/v1/webhook-events/{event.pk}/replay/"
        ).status_code
        == 403
    )
    replayed = post(admin, f"/api/v1/webhook-events/{event.pk}/replay/")
    assert replayed.status_code == 200 and replayed.json()["state"] == "pending"
    again = post(admin, f"/api/v1/webhook-events/{event.pk}/replay/")
    assert again.status_code == 409 and "only failed" in again.json()["detail"]


def test_bulk_online_can_leave_out_the_unready(people: Any) -> None:
    ready = make_account("8613800000081", with_keys=True)
    keyless = make_account("8613800000082")
    sup = client_for(people.supervisor)
    body = {"action": "online", "whatsapps": [ready.whatsapp, keyless.whatsapp]}
    refused = post(sup, "/api/v1/jobs/", body)
    assert refused.status_code == 409 and refused.json()["without_keys"] == [keyless.whatsapp]
    started = post(sup, "/api/v1/jobs/", {**body, "skip_unready": True})
    assert started.status_code == 202
    job = sup.get(f"/api/v1/jobs/{started.json()['id']}/").json()
    assert [i["whatsapp"] for i in job["items"]] == [ready.whatsapp]


def test_unknown_api_paths_answer_json(people: Any) -> None:
    for client in (client_for(None), client_for(people.agent)):
        for url in ("/api/v1/nothing/", "/api/v1/lanes/1/x/", "/api/v1/actions/1/%2F/"):
            r = client.get(url)
            assert r.status_code == 404 and r.json() == {"detail": "Not found.", "code": 404}
    alice = client_for(people.agent)
    for url in ("/api/v1/actions/-1/", "/api/v1/actions/abc/", "/api/v1/scan-tasks/1e3/"):
        r = alice.get(url)
        assert r.status_code == 404 and r.json()["code"] == 404
    # Without the slash, Django's redirect to it comes first, as before.
    assert alice.get("/api/v1/lanes").status_code == 301
