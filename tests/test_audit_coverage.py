"""Audit log: every change by a supervisor or admin is recorded with who, when,
what, and the state before and after. Imports, online, recycle, avatar and nickname,
registration, webhook replays, port operations, action cancel and resend, lanes, users and
groups (through the Django admin), tokens, and any Django admin edit. And the page for
admins, with its filters."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import BulkJob, Registration, WhatsAppAccount
from accounts.services import registration as registration_services
from accounts.services.profile import profile_update_queue
from accounts.tests.helpers import account_row
from actions.models import Action, State
from core.admin import AuditedAdmin
from core.models import ApiToken, AuditEntry
from ports import services as ports
from tests.fixtures import People
from tests.test_access_matrix import (
    ALICE_NUMBER,
    World,
    build_world,
    clients,
    forget_own_cache_keys,
    make_admin_staff,
)
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

# Third-party admins we do not own; their rows are not business data (login attempts).
NOT_OURS = {"axes"}


@pytest.fixture
def world(people: People, simulator: Any) -> World:
    forget_own_cache_keys()
    make_admin_staff(people)
    return build_world(people, simulator)


def recorded(action: str, actor: User, target_id: str | None = None) -> Any:
    """The newest entry of `action` by `actor`: who, when and what are always there."""
    qs = AuditEntry.objects.filter(action=action)
    if target_id is not None:
        qs = qs.filter(target_id=str(target_id))
    entry = qs.order_by("-id").first()
    assert entry is not None, (
        action,
        list(AuditEntry.objects.values_list("action", "target_id", "actor_name")),
    )
    assert entry.actor_id == actor.pk and entry.actor_name == actor.get_username()
    assert entry.at is not None and entry.target_type and entry.target_id
    return entry


def no_secret_in(entry: AuditEntry) -> None:
    text = json.dumps([entry.before, entry.after])
    for word in ("pbkdf2", "md5$", "argon2", "privateKey", "private_key", "KEY-SECRET"):
        assert word not in text, (entry.action, text)


def test_import_online_recycle_profile_are_recorded(world: World) -> None:
    sup = world.people.supervisor
    c = clients(world.people)["supervisor"]
    # Import: upload, confirm.
    rows = [account_row("8613600000011")]
    upload = SimpleUploadedFile(
        "fleet.json", json.dumps({"whatsAppList": rows}).encode(), "application/json"
    )
    r = c.post(reverse("accounts:import"), {"file": upload})
    assert r.status_code == 302, r.content[:1000]
    job_id = int(r["Location"].rstrip("/").rsplit("/", 1)[-1])
    c.post(reverse("accounts:import_preview", kwargs={"job_id": job_id}))
    entry = recorded("accounts.import", sup, str(job_id))
    assert entry.before == {"state": "preview"}
    assert entry.after["count"] == 1 and entry.after["whatsapps"] == ["8613600000011"]
    no_secret_in(entry)
    # Import cancelled.
    c.post(
        reverse("accounts:import_preview", kwargs={"job_id": world.import_job.pk}),
        {"action": "cancel"},
    )
    entry = recorded("accounts.import.cancel", sup, str(world.import_job.pk))
    assert entry.before["state"] == "preview" and entry.after == {"state": "cancelled"}

    alice_id = world.alice_account.pk
    # Bulk online (an account with keys: one without is listed before anything is queued).
    from accounts.models import AccountKeys

    AccountKeys.objects.update_or_create(
        account=world.alice_account,
        defaults={
            "public_key": "p",
            "private_key": "s",
            "msg_public_key": "mp",
            "msg_private_key": "ms",
        },
    )
    c.post(reverse("accounts:bulk_online"), {"ids": [alice_id]})
    job = BulkJob.objects.filter(kind=BulkJob.Kind.ONLINE).latest("id")
    entry = recorded("accounts.online", sup, str(job.pk))
    assert entry.before["accounts"][ALICE_NUMBER]["online_status"] == 2
    assert entry.after["whatsapps"] == [ALICE_NUMBER]
    no_secret_in(entry)
    # Recycle (confirmed).
    c.post(reverse("accounts:bulk_recycle"), {"ids": [alice_id], "confirmed": "1"})
    job = BulkJob.objects.filter(kind=BulkJob.Kind.RECYCLE).latest("id")
    entry = recorded("accounts.recycle", sup, str(job.pk))
    assert entry.before["accounts"][ALICE_NUMBER]["recycled"] is False
    # Avatar and nickname.
    job = profile_update_queue(
        actor=sup, accounts=[world.alice_account], device_type=1, nickname="New Name"
    )
    entry = recorded("accounts.profile", sup, str(job.pk))
    assert entry.before["accounts"][ALICE_NUMBER]["name"] == "Alice Shop"
    assert entry.after["nickname"] == "New Name"
    # Retrying a finished job's failures.
    c.post(reverse("accounts:job_retry", kwargs={"job_id": world.job.pk}))
    entry = recorded("accounts.recycle.retry", sup, str(world.job.pk))
    assert entry.after == {"count": 1}


def test_registration_is_recorded(world: World, simulator: Any) -> None:
    sup = world.people.supervisor
    reg = registration_services.registration_submit_phone(
        actor=sup,
        phone="13700000019",
        area_code="86",
        country_code="CN",
        verify_type=1,
        account_type=1,
    )
    entry = recorded("accounts.register.phone", sup, str(reg.pk))
    assert entry.after["state"] == Registration.State.PHONE_SUBMITTED
    code = simulator.state.registrations[int(reg.task_id)].code
    registration_services.registration_submit_code(actor=sup, registration=reg, code=code)
    entry = recorded("accounts.register.code", sup, str(reg.pk))
    assert entry.before["state"] == Registration.State.PHONE_SUBMITTED
    assert entry.after["state"] in (
        Registration.State.CODE_SUBMITTED,
        Registration.State.SUCCEEDED,
    )


def test_replay_ports_actions_lanes_tokens_are_recorded(world: World) -> None:
    people = world.people
    admin_c = clients(people)["admin"]
    sup_c = clients(people)["supervisor"]
    # Webhook replay (admin).
    admin_c.post(reverse("webhooks:replay", kwargs={"event_id": world.event.pk}))
    entry = recorded("webhook.replay", people.admin, str(world.event.pk))
    assert entry.before["state"] == WebhookEvent.State.FAILED and entry.after["state"]
    # Port operation (supervisor), against the simulator's port of alice's QR session.
    ports.port_operate(actor=people.supervisor, port_id=world.session.port_id, operation="logout")
    entry = recorded("port.logout", people.supervisor, world.session.port_id)
    assert entry.after["operation"] == "logout"
    # Action cancel and resend (supervisor, on alice's action).
    sup_c.post(reverse("actions:cancel", kwargs={"pk": world.action.pk}))
    entry = recorded("actions.cancel", people.supervisor, str(world.action.pk))
    assert entry.before == {"state": "queued"} and entry.after == {"state": "cancelled"}
    Action.objects.filter(pk=world.action.pk).update(state=State.UNKNOWN)
    sup_c.post(reverse("actions:resend", kwargs={"pk": world.action.pk}))
    entry = recorded("actions.resend", people.supervisor, str(world.action.pk))
    assert entry.before["state"] == "unknown" and entry.after == {"state": "queued"}
    # Lanes.
    sup_c.post(reverse("actions:lane_pause", kwargs={"pk": world.lane.pk}))
    entry = recorded("actions.lane_pause", people.supervisor, str(world.lane.pk))
    assert entry.before == {"paused": False} and entry.after == {"paused": True}
    # Tokens: created and revoked.
    sup_c.post(reverse("token-create"), {"name": "crm"})
    token = ApiToken.objects.get(user=people.supervisor, name="crm")
    entry = recorded("token.create", people.supervisor, str(token.pk))
    assert entry.after["name"] == "crm" and "digest" not in json.dumps(entry.after)
    sup_c.post(reverse("token-revoke"), {"id": token.pk})
    entry = recorded("token.revoke", people.supervisor, str(token.pk))
    assert entry.before["name"] == "crm"


def test_users_and_groups_changed_in_the_admin_are_recorded(world: World) -> None:
    people = world.people
    c = clients(people)["admin"]
    supervisor_group = Group.objects.get(name="supervisor")
    agent_group = Group.objects.get(name="agent")
    # Add a user (the admin's two-step add form: username and password first).
    r = c.post(
        reverse("admin:auth_user_add"),
        {
            "username": "newbie",
            "password1": "A-long-enough-pass-123",
            "password2": "A-long-enough-pass-123",
            "usable_password": "true",
        },
    )
    assert r.status_code == 302, r.content[:3000]
    newbie = User.objects.get(username="newbie")
    entry = recorded("admin.user.add", people.admin, str(newbie.pk))
    assert entry.before is None and entry.after["username"] == "newbie"
    no_secret_in(entry)
    # Change: make alice a supervisor and staff.
    alice = people.agent
    r = c.post(
        reverse("admin:auth_user_change", args=[alice.pk]),
        {
            "username": "alice",
            "email": alice.email,
            "is_active": "on",
            "is_staff": "on",
            "groups": [supervisor_group.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
        },
    )
    assert r.status_code == 302, r.content.decode()[:5000]
    entry = recorded("admin.user.change", people.admin, str(alice.pk))
    assert entry.before["groups"] == ["agent"] and entry.after["groups"] == ["supervisor"]
    assert entry.before["is_staff"] is False and entry.after["is_staff"] is True
    assert entry.before["is_superuser"] is False and entry.after["is_superuser"] is False
    no_secret_in(entry)
    # Password change through the admin: recorded, without the hash.
    r = c.post(
        reverse("admin:auth_user_password_change", args=[alice.pk]),
        {"password1": "Another-long-pass-456", "password2": "Another-long-pass-456"},
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    entry = recorded("admin.user.password", people.admin, str(alice.pk))
    no_secret_in(entry)
    # Delete.
    r = c.post(reverse("admin:auth_user_delete", args=[newbie.pk]), {"post": "yes"})
    assert r.status_code == 302
    entry = recorded("admin.user.delete", people.admin, str(newbie.pk))
    assert entry.before["username"] == "newbie" and entry.after is None
    # Groups: a permission taken from the agents.
    perms = list(agent_group.permissions.values_list("pk", flat=True))
    r = c.post(
        reverse("admin:auth_group_change", args=[agent_group.pk]),
        {"name": "agent", "permissions": perms[:1]},
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    entry = recorded("admin.group.change", people.admin, str(agent_group.pk))
    assert len(entry.before["permissions"]) == len(perms) and len(entry.after["permissions"]) == 1


def test_any_model_changed_in_the_admin_is_recorded(world: World) -> None:
    people = world.people
    c = clients(people)["admin"]
    account = world.alice_account
    url = reverse("admin:accounts_whatsappaccount_change", args=[account.pk])
    form = c.get(url).context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items()}
    data.update({"name": "Renamed", "agent": account.agent_id})
    data = {k: v for k, v in data.items() if k in form.fields}
    r = c.post(url, data)
    assert r.status_code == 302, r.content.decode()[:4000]
    entry = recorded("admin.whatsappaccount.change", people.admin, str(account.pk))
    assert entry.before["name"] == "Alice Shop" and entry.after["name"] == "Renamed"
    # Bulk delete from the changelist (the admin action).
    r = c.post(
        reverse("admin:accounts_whatsappaccount_changelist"),
        {"action": "delete_selected", "_selected_action": [world.bob_account.pk], "post": "yes"},
    )
    assert r.status_code == 302
    assert not WhatsAppAccount.objects.filter(pk=world.bob_account.pk).exists()
    entry = recorded("admin.whatsappaccount.delete", people.admin, str(world.bob_account.pk))
    assert entry.before["whatsapp"] == world.bob_account.whatsapp


def test_every_writable_admin_is_audited() -> None:
    """A new ModelAdmin that can add, change or delete must record what it does."""
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    unaudited = []
    for model, model_admin in django_admin.site._registry.items():
        if model._meta.app_label in NOT_OURS:
            continue
        writable = (
            model_admin.has_add_permission(request)
            or model_admin.has_change_permission(request)
            or model_admin.has_delete_permission(request)
        )
        if writable and not isinstance(model_admin, AuditedAdmin):
            unaudited.append(model._meta.label)
    assert not unaudited, unaudited


def test_audit_page_is_for_admins_and_filters(world: World) -> None:
    people = world.people
    clients(people)["supervisor"].post(reverse("token-create"), {"name": "x"})
    c = clients(people)["admin"]
    r = c.get(reverse("audit"), {"actor": "sam", "action": "token."})
    assert r.status_code == 200
    assert {e.action for e in r.context["page"].object_list} == {"token.create"}
    r = c.get(reverse("audit"), {"action": "matrix."})
    assert {e.action for e in r.context["page"].object_list} == {"matrix.seed"}
    r = c.get(reverse("audit"), {"actor": "nobody-at-all"})
    assert not list(r.context["page"].object_list)
    for role in ("supervisor", "agent", "peer", "outsider"):
        assert clients(people)[role].get(reverse("audit")).status_code == 403
