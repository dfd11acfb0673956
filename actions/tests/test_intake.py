"""Every way in: the form (with its confirm step), CSV uploads (per-line errors, drafts,
file-level errors) and the JSON API (validation, warnings, agents' own account only)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Agent, WhatsAppAccount
from actions.models import Action, ActionBatch, State
from actions.services import intake
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db

GOOD: dict[str, Any] = {
    "agent_account": "alice01",
    "whatsapp": "8613800000001",
    "friend_whatsapp": "8613900000001",
    "platform": 1,
    "content": "hello",
}
HEADER = "agentAccount,whatsId,friendWhatsId,platformType,content\n"


def online(number: str, agent: str = "alice01", *, status: int = 2, presence: int = 10) -> None:
    """An account of `agent` (owned by its user: the agent sees it)."""
    WhatsAppAccount.objects.update_or_create(
        whatsapp=number,
        defaults={
            "agent": Agent.objects.filter(agent_account=agent).first(),
            "agent_account": agent,
            "online_status": status,
            "presence_status": presence,
        },
    )


@pytest.fixture(autouse=True)
def alices_account(people: Any) -> None:
    """GOOD names alice's own account (offline by our state): agents may only name theirs."""
    online(GOOD["whatsapp"], status=4, presence=30)


def upload(client: Any, text: str | bytes, **extra: Any) -> Any:
    raw = text.encode() if isinstance(text, str) else text
    return client.post(
        "/actions/upload/", {"file": SimpleUploadedFile("a.csv", raw, "text/csv"), **extra}
    )


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("whatsapp", "12345", "6 to 20 digits"),
        ("whatsapp", "+8613800000001", "6 to 20 digits"),
        ("friend_whatsapp", "86139-0000001", "6 to 20 digits"),
        ("friend_whatsapp", "1" * 21, "6 to 20 digits"),
        ("friend_whatsapp", "", "required"),
        ("platform", 3, "1 (PC) or 2 (Android)"),
        ("platform", "pc", "1 (PC) or 2 (Android)"),
        ("content", "x" * 1001, "at most 1000"),
        ("agent_account", "nobody", "Unknown agent account"),
        ("agent_account", "", "required"),
    ],
)
def test_validation_messages(people: Any, field: str, value: Any, fragment: str) -> None:
    checked = intake.action_validate(user=people.supervisor, **{**GOOD, field: value})
    assert not checked.ok
    assert fragment in " ".join(checked.errors[field])


def test_same_number_twice_is_refused(people: Any) -> None:
    checked = intake.action_validate(
        user=people.supervisor, **{**GOOD, "friend_whatsapp": GOOD["whatsapp"]}
    )
    assert "must differ" in checked.errors["friend_whatsapp"][0]


def test_agents_only_for_their_own_account(people: Any) -> None:
    assert intake.action_validate(user=people.agent, **GOOD).ok
    other = intake.action_validate(user=people.agent, **{**GOOD, "agent_account": "bob01"})
    assert other.forbidden
    assert "your own agent account (alice01)" in other.errors["agent_account"][0]
    assert intake.action_validate(user=people.supervisor, **{**GOOD, "agent_account": "bob01"}).ok


def test_precheck_warns_for_offline_unknown_and_other_agent(people: Any) -> None:
    online("8613800000001")
    WhatsAppAccount.objects.create(whatsapp="8613800000002", online_status=4, presence_status=30)
    online("8613800000003", agent="bob01")
    specs = [
        intake.ActionSpec("alice01", n, "8613900000001", 1)
        for n in ("8613800000001", "8613800000002", "8613800000003", "8613800000004")
    ]
    table = intake.precheck(user=people.supervisor, specs=specs)
    assert ("alice01", "8613800000001") not in table
    assert "not online" in table[("alice01", "8613800000002")][0]
    assert "under agent bob01" in table[("alice01", "8613800000003")][0]
    assert "not known to Switchboard" in table[("alice01", "8613800000004")][0]


def test_precheck_reads_the_seeds_status_1_with_detail_11_as_logging_in(people: Any) -> None:
    """The seed's own onlineStatus example (`status: 1`, `detailStatus` 11), applied
    through the webhook path, is a login under way, not an offline account."""
    from tests.vendor_payloads import load_bytes
    from webhooks.services.process import webhook_events_process_batch
    from webhooks.services.receive import webhook_event_receive

    webhook_event_receive(
        kind="online_status", body=load_bytes("webhook_online_status"), headers={}
    )
    assert webhook_events_process_batch().processed == 1
    account = WhatsAppAccount.objects.get(whatsapp="8617633819542")
    assert account.presence_status == 1 and account.detail_status == 11
    spec = intake.ActionSpec("alice01", "8617633819542", "8613900000001", 1)
    table = intake.precheck(user=people.supervisor, specs=[spec])
    warning = table[("alice01", "8617633819542")][0]
    assert "is logging in" in warning and "PC QR code login" in warning
    assert "not online" not in warning


# --- the form -------------------------------------------------------------------------


def test_form_queues_when_online(people: Any) -> None:
    online(GOOD["whatsapp"])
    response = client_for(people.agent).post("/actions/new/", GOOD)
    action = Action.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/actions/{action.pk}/"
    assert action.state == State.QUEUED
    assert action.lane.agent_account == "alice01"


def test_form_shows_errors_and_queues_nothing(people: Any) -> None:
    response = client_for(people.agent).post(
        "/actions/new/", {**GOOD, "whatsapp": "12", "platform": "9"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "6 to 20 digits" in body
    assert not Action.objects.exists()


def test_form_offline_asks_to_confirm(people: Any) -> None:
    client = client_for(people.agent)
    first = client.post("/actions/new/", GOOD)
    assert first.status_code == 200
    body = first.content.decode()
    assert "Queue anyway" in body and "not online by our latest status" in body
    assert 'name="confirm" value="True"' in body or 'name="confirm" value="1"' in body
    assert not Action.objects.exists()
    second = client.post("/actions/new/", {**GOOD, "confirm": "1"})
    assert second.status_code == 302
    assert Action.objects.get().warnings


def test_form_refuses_someone_elses_agent(people: Any) -> None:
    response = client_for(people.agent).post("/actions/new/", {**GOOD, "agent_account": "bob01"})
    assert response.status_code == 200
    assert "your own agent account" in response.content.decode()
    assert not Action.objects.exists()


# --- CSV ------------------------------------------------------------------------------


def test_csv_clean_file_is_queued_at_once(people: Any) -> None:
    online("8613800000001")
    text = HEADER + "".join(f"alice01,8613800000001,86139000000{i:02d},1,hi\n" for i in range(5))
    response = upload(client_for(people.agent), text)
    batch = ActionBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/actions/batches/{batch.pk}/"
    assert batch.status == ActionBatch.Status.QUEUED
    assert Action.objects.filter(batch=batch).count() == 5


def test_csv_bad_lines_queue_nothing_until_the_user_chooses(people: Any) -> None:
    online("8613800000001")
    text = (
        HEADER
        + "alice01,8613800000001,8613900000001,1,ok\n"
        + "alice01,86138,8613900000002,1,short\n"  # line 3
        + "nobody,8613800000001,8613900000003,1,who\n"  # line 4
        + "alice01,8613800000001,8613900000004,7,platform\n"  # line 5
        + "alice01,8613800000001,8613900000005,2\n"  # line 6: 4 fields
        + "alice01,8613800000001,8613900000006,2,\n"
    )
    client = client_for(people.agent)
    response = upload(client, text)
    batch = ActionBatch.objects.get()
    assert batch.status == ActionBatch.Status.DRAFT
    assert not Action.objects.exists()
    page = client.get(response["Location"]).content.decode()
    lines = {e["line"]: " ".join(e["messages"]) for e in batch.draft_errors}
    assert set(lines) == {3, 4, 5, 6}
    assert "6 to 20 digits" in lines[3]
    assert "Unknown agent account" in lines[4]
    assert "1 (PC) or 2 (Android)" in lines[5]
    assert "Expected 5 fields, found 4" in lines[6]
    assert "Queue the 2 valid lines" in page
    client.post(f"/actions/batches/{batch.pk}/confirm/")
    assert Action.objects.filter(batch=batch).count() == 2
    batch.refresh_from_db()
    assert batch.status == ActionBatch.Status.QUEUED
    # Confirming twice queues nothing more.
    client.post(f"/actions/batches/{batch.pk}/confirm/")
    assert Action.objects.count() == 2


def test_csv_discard(people: Any) -> None:
    client = client_for(people.agent)
    upload(client, HEADER + "alice01,86138,8613900000002,1,short\n")
    batch = ActionBatch.objects.get()
    client.post(f"/actions/batches/{batch.pk}/discard/")
    batch.refresh_from_db()
    assert batch.status == ActionBatch.Status.DISCARDED
    assert not Action.objects.exists()


def test_csv_offline_pairs_need_confirmation(people: Any) -> None:
    text = HEADER + "alice01,8613800000001,8613900000001,1,hi\n"  # offline
    client = client_for(people.agent)
    upload(client, text)
    assert ActionBatch.objects.get().status == ActionBatch.Status.DRAFT
    assert not Action.objects.exists()
    upload(client, text, confirm_offline="on")
    assert Action.objects.count() == 1


def test_csv_agent_lines_for_others_are_errors(people: Any) -> None:
    online("8613800000001")
    text = HEADER + "bob01,8613800000001,8613900000001,1,hi\n"
    upload(client_for(people.agent), text)
    batch = ActionBatch.objects.get()
    assert "your own agent account" in batch.draft_errors[0]["messages"][0]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("agentAccount,whatsId,friendWhatsId,platformType,content\n".encode("utf-16"), "UTF-8"),
        (
            (HEADER + "alice01,8613800000001,8613900000001,1,caf\xe9\n").encode("latin-1"),
            "not UTF-8",
        ),
        (b"agent,number,friend\nalice01,1,2\n", "Wrong columns"),
        (b"", "empty"),
        (HEADER.encode(), "no actions"),
    ],
)
def test_csv_file_level_errors(people: Any, raw: bytes, fragment: str) -> None:
    response = upload(client_for(people.agent), raw)
    assert response.status_code == 200
    assert fragment in response.content.decode()
    assert not ActionBatch.objects.exists()


def test_csv_too_big(people: Any) -> None:
    report = intake.csv_parse(user=people.agent, raw=b"x" * 100, max_bytes=10)
    assert "limit" in report.file_error
    raw = (
        HEADER + "alice01,8613800000001,8613900000001,1,hi\n" * (intake.CSV_MAX_ROWS + 1)
    ).encode()
    report = intake.csv_parse(user=people.agent, raw=raw, max_bytes=len(raw))
    assert "more than 10,000 lines" in report.file_error
    # The service reads one byte past the limit, so a file the form let through is refused.
    big = ContentFile(b"x" * (intake.CSV_MAX_BYTES + 5))
    result = intake.actions_intake_csv(user=people.agent, upload=big, confirm=False)
    size = f"{intake.CSV_MAX_BYTES + 1:,}"
    assert result.outcome == intake.Outcome.FILE_ERROR and f"The file is {size} bytes" in (
        result.file_error
    )


def test_csv_upload_without_a_name(people: Any) -> None:
    online("8613800000001")
    upload = ContentFile((HEADER + "alice01,8613800000001,8613900000001,1,hi\n").encode())
    result = intake.actions_intake_csv(user=people.agent, upload=upload, confirm=False)
    assert result.batch is not None and result.batch.name == "upload.csv"


def test_csv_bom_and_duplicate_lines(people: Any) -> None:
    online("8613800000001")
    raw = ("\ufeff" + HEADER + "alice01,8613800000001,8613900000001,1,hi\n" * 2).encode()
    report = intake.csv_parse(user=people.agent, raw=raw)
    assert not report.file_error
    assert len(report.rows) == 1
    assert report.errors[0].line == 3 and "Same action as line 2" in report.errors[0].messages[0]


# --- API ------------------------------------------------------------------------------


def post(client: Any, body: Any) -> Any:
    return client.post("/api/v1/actions/", json.dumps(body), content_type="application/json")


def test_api_queues_one_with_warnings(people: Any) -> None:
    response = post(client_for(people.agent), GOOD)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["state"] == "queued"
    assert data["warnings"] and "not online" in data["warnings"][0]
    assert data["callback_id"] == ""
    detail = client_for(people.agent).get(f"/api/v1/actions/{data['id']}/").json()
    assert detail["id"] == data["id"]
    assert {"state", "reason", "callback_id", "execute_status", "execute_status_display",
            "execute_time"} <= set(detail)  # fmt: skip


def test_api_validation_errors(people: Any) -> None:
    response = post(client_for(people.agent), {**GOOD, "whatsapp": "12ab", "platform": 5})
    assert response.status_code == 400
    body = response.json()
    assert "6 to 20 digits" in body["whatsapp"][0]
    assert "1 (PC) or 2 (Android)" in body["platform"][0]
    assert not Action.objects.exists()


def test_api_list_all_or_nothing(people: Any) -> None:
    client = client_for(people.supervisor)
    bad = post(client, [GOOD, {**GOOD, "friend_whatsapp": "1"}])
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["index"] == 1
    assert not Action.objects.exists()
    good = post(client, [GOOD, {**GOOD, "friend_whatsapp": "8613900000002"}])
    assert good.status_code == 201
    assert len(good.json()["results"]) == 2
    assert ActionBatch.objects.get(pk=good.json()["batch"]).source == "api"


def test_api_agent_for_another_account_is_403(people: Any) -> None:
    response = post(client_for(people.agent), {**GOOD, "agent_account": "bob01"})
    assert response.status_code == 403
    assert "your own agent account" in response.json()["detail"]
    assert (
        post(client_for(people.supervisor), {**GOOD, "agent_account": "bob01"}).status_code == 201
    )


def test_api_access(people: Any) -> None:
    assert post(client_for(None), GOOD).status_code in (401, 403)
    assert post(client_for(people.outsider), GOOD).status_code == 403
    assert client_for(people.outsider).get("/api/v1/actions/").status_code == 403
    mine = post(client_for(people.agent), GOOD).json()["id"]
    theirs = post(
        client_for(people.supervisor),
        {**GOOD, "agent_account": "bob01", "friend_whatsapp": "8613900000009"},
    ).json()["id"]
    alice = client_for(people.agent)
    assert [r["id"] for r in alice.get("/api/v1/actions/").json()["results"]] == [mine]
    assert alice.get(f"/api/v1/actions/{theirs}/").status_code == 404
    listed = client_for(people.supervisor).get("/api/v1/actions/?agent_account=bob01").json()
    assert [r["id"] for r in listed["results"]] == [theirs]
    assert Agent.objects.filter(agent_account="bob01").exists()


def test_api_cancel(people: Any) -> None:
    client = client_for(people.agent)
    pk = post(client, GOOD).json()["id"]
    response = client.post(f"/api/v1/actions/{pk}/cancel/")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert client.post(f"/api/v1/actions/{pk}/cancel/").status_code == 409


# --- an agent names another agent's account -------------------------

REFUSED = "You may only name your own WhatsApp accounts"


@pytest.fixture
def bobs_account(people: Any) -> str:
    online("8613800000077", agent="bob01")  # bob's, online
    return "8613800000077"


def test_validate_refuses_other_and_unknown_numbers_alike(people: Any, bobs_account: str) -> None:
    theirs = intake.action_validate(user=people.agent, **{**GOOD, "whatsapp": bobs_account})
    unknown = intake.action_validate(user=people.agent, **{**GOOD, "whatsapp": "8613800000078"})
    assert not theirs.ok and not unknown.ok
    # One message shape: nothing tells whether the number exists, or whose it is.
    assert theirs.errors["whatsapp"][0].replace(bobs_account, "N") == unknown.errors["whatsapp"][
        0
    ].replace("8613800000078", "N")
    assert REFUSED in theirs.errors["whatsapp"][0]
    assert "bob01" not in str(theirs.errors) and not theirs.warnings
    assert intake.action_validate(user=people.supervisor, **{**GOOD, "whatsapp": bobs_account}).ok


def test_api_agent_names_another_agents_account(people: Any, bobs_account: str) -> None:
    response = post(client_for(people.agent), {**GOOD, "whatsapp": bobs_account})
    assert response.status_code == 400
    body = response.content.decode()
    assert REFUSED in body
    assert "bob01" not in body and "online" not in body
    assert not Action.objects.exists()


def test_form_agent_names_another_agents_account(people: Any, bobs_account: str) -> None:
    response = client_for(people.agent).post(
        "/actions/new/", {**GOOD, "whatsapp": bobs_account, "confirm": "1"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert REFUSED in body and "bob01" not in body
    assert not Action.objects.exists()


def test_csv_agent_names_another_agents_account(people: Any, bobs_account: str) -> None:
    text = HEADER + f"alice01,{bobs_account},8613900000001,1,hi\n"
    client = client_for(people.agent)
    upload(client, text, confirm_offline="on")
    batch = ActionBatch.objects.get()
    assert batch.status == ActionBatch.Status.DRAFT
    assert REFUSED in batch.draft_errors[0]["messages"][0]
    assert not batch.draft_warnings and not batch.draft_rows
    client.post(f"/actions/batches/{batch.pk}/confirm/")
    assert not Action.objects.exists()


def test_warnings_only_from_visible_accounts(people: Any, bobs_account: str) -> None:
    spec = intake.ActionSpec("alice01", bobs_account, "8613900000001", 1)
    as_alice = intake.precheck(user=people.agent, specs=[spec])
    as_sam = intake.precheck(user=people.supervisor, specs=[spec])
    assert "under agent bob01" in as_sam[("alice01", bobs_account)][0]
    assert "bob01" not in str(as_alice) and "online" not in str(as_alice).replace(
        "cannot be confirmed online", ""
    )


def test_agents_queued_actions_are_audited(people: Any) -> None:
    from core.models import AuditEntry

    assert post(client_for(people.agent), GOOD).status_code == 201
    entry = AuditEntry.objects.get(action="actions.queue")
    assert entry.actor == people.agent
