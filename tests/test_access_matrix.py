"""Every door checked: every URL of the root urlconf, for every role.

The matrix below has one entry per URL name. A URL without an entry fails the test, so a
new page or API cannot arrive unchecked. Each entry gives the status a GET answers for each
of the six people (anonymous, agent alice, her peer bob, the supervisor, the admin and an
outsider with no role), and for POST endpoints the status of a POST too (sent only where it
does not call the vendor; otherwise only the refusals are sent). The Django admin is one
family with one rule. Separately, bob (another agent) must never see alice's things, in any
list, export or detail, HTML or API.

The count of URL x person pairs checked is written to artifacts/access-matrix.txt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import (
    AccountKeys,
    Agent,
    BulkJob,
    BulkJobItem,
    ContactLookup,
    ImportRow,
    Registration,
    StatusEvent,
    WhatsAppAccount,
)
from actions.models import Action, ActionBatch, Lane, State
from core.models import ApiToken, AuditEntry, CspReport
from core.roles import Role
from notify.models import Alert, AlertChannel, Delivery, Event, Subscription
from ports.models import CloudPort, PortQuota
from qrlogin.models import PairTarget, QrSession, ScanTask
from qrlogin.services import scan_tasks
from qrlogin.services.sessions import qr_session_start
from qrlogin.tests.helpers import sim_agent_for
from tests.fixtures import People, client_for, forget_own_cache_keys, make_user
from webhooks.models import RefusedDelivery, WebhookEvent, WebhookKind

ROLES = ("anonymous", "agent", "peer", "supervisor", "admin", "outsider")
# POSTs that change state go last, the refusals first.
POST_ORDER = ("anonymous", "outsider", "peer", "agent", "supervisor", "admin")

ALICE_NUMBER = "8613800000001"
BOB_NUMBER = "8613900000002"
ALICE_FRIEND = "5511977770001"
LOGIN = "/login/"
ADMIN_LOGIN = "/admin/login/"
ALLAUTH_LOGIN = "/auth/login/"  # allauth's name for the sign-in: a redirect to LOGIN
FAR_ADDRESS = "203.0.113.9"  # not a scraper network: /metrics must refuse it


def e(anon: int, agent: int, peer: int, sup: int, admin: int, outsider: int) -> dict[str, int]:
    return dict(zip(ROLES, (anon, agent, peer, sup, admin, outsider), strict=True))


# Shorthands: statuses per role in ROLES order.
LOGGED_IN = e(302, 200, 200, 200, 200, 200)  # require_login, no capability
OWN = e(302, 200, 404, 200, 200, 403)  # alice's thing: the peer gets 404
SUP = e(302, 403, 403, 200, 200, 403)  # supervisors and admins
SUP_OWNED = e(302, 403, 403, 200, 200, 403)
ADMIN_ONLY = e(302, 403, 403, 403, 200, 403)
QR = e(302, 200, 200, 200, 200, 403)  # anyone with QR_LOGIN (own rows only)
ACT = e(302, 200, 200, 200, 200, 403)  # anyone with actions (own rows only)
NOT_ALLOWED_SUP = e(302, 403, 403, 405, 405, 403)  # POST-only, supervisors; GET
NOT_ALLOWED_ADMIN = e(302, 403, 403, 403, 405, 403)
NOT_ALLOWED_QR = e(302, 405, 405, 405, 405, 403)
NOT_ALLOWED_ACT = e(302, 405, 405, 405, 405, 403)
NOT_ALLOWED_LOGIN = e(302, 405, 405, 405, 405, 405)
OWN_POST = e(302, 302, 404, 302, 302, 403)  # alice's thing, POST redirects when done
# The API answers 401 to anonymous callers (it offers `Authorization: Token`).
API_LOGGED_IN = e(401, 200, 200, 200, 200, 200)
API_OWN = e(401, 200, 404, 200, 200, 403)
API_SUP = e(401, 403, 403, 200, 200, 403)
API_ADMIN = e(401, 403, 403, 403, 200, 403)
API_ACT = e(401, 200, 200, 200, 200, 403)
API_POST_ONLY_ACT = e(401, 405, 405, 405, 405, 403)  # GET of a POST-only operation
API_POST_ONLY_SUP = e(401, 403, 403, 405, 405, 403)
EVERYONE = e(200, 200, 200, 200, 200, 200)


def same(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


@dataclass
class World:
    """Real rows owned by alice (agent alice01) and, for contrast, by bob (bob01)."""

    people: People
    alice_account: WhatsAppAccount
    bob_account: WhatsAppAccount
    session: QrSession
    task: ScanTask
    bob_task: ScanTask
    job: BulkJob
    import_job: BulkJob
    registration: Registration
    action: Action
    bob_action: Action
    batch: ActionBatch
    lane: Lane
    event: WebhookEvent
    port: CloudPort
    objects: dict[str, Any] = field(default_factory=dict)


def build_world(people: People, simulator: Any) -> World:
    """Everything a URL argument can name, owned by alice where the model has an owner."""
    alice_agent = sim_agent_for(simulator, people.agent)
    bob_agent = sim_agent_for(simulator, people.peer)
    alice_account = WhatsAppAccount.objects.create(
        whatsapp=ALICE_NUMBER,
        name="Alice Shop",
        agent=alice_agent,
        agent_account=alice_agent.agent_account,
        online_status=2,
        presence_status=10,
    )
    bob_account = WhatsAppAccount.objects.create(
        whatsapp=BOB_NUMBER,
        name="Bob Shop",
        agent=bob_agent,
        agent_account=bob_agent.agent_account,
        online_status=2,
        presence_status=10,
    )
    AccountKeys.objects.create(account=alice_account, public_key="pub", private_key="priv")
    now = timezone.now()
    for i, (acct, agent) in enumerate(((alice_account, alice_agent), (bob_account, bob_agent))):
        StatusEvent.objects.create(
            whatsapp=acct.whatsapp,
            status=10,
            detail_status=None,
            agent_account=agent.agent_account,
            platform=1,
            event_time=now - timedelta(minutes=5),
            received_at=now,
            dedupe_key=f"matrix-{i}",
        )
    session = qr_session_start(user=people.agent, pc_type=1, target="10085")
    task = scan_tasks.scan_task_create(actor=people.agent, allocation_role=3)
    bob_task = scan_tasks.scan_task_create(actor=people.peer, allocation_role=3)
    job = BulkJob.objects.create(
        kind=BulkJob.Kind.RECYCLE,
        state=BulkJob.State.DONE,
        created_by=people.supervisor,
        total=1,
        failed_count=1,
    )
    BulkJobItem.objects.create(
        job=job, whatsapp=ALICE_NUMBER, state=BulkJobItem.State.FAILED, error="x"
    )
    import_job = BulkJob.objects.create(
        kind=BulkJob.Kind.IMPORT,
        state=BulkJob.State.PREVIEW,
        created_by=people.supervisor,
        filename="fleet.json",
    )
    ImportRow.objects.create(job=import_job, line=1, whatsapp="8613700000003", name="new")
    registration = Registration.objects.create(
        phone="13700000004",
        area_code="86",
        country_code="CN",
        verify_type=1,
        account_type=1,
        task_id="77",
        created_by=people.supervisor,
    )
    lane = Lane.objects.create(agent_account=alice_agent.agent_account, whatsapp=ALICE_NUMBER)
    bob_lane = Lane.objects.create(agent_account=bob_agent.agent_account, whatsapp=BOB_NUMBER)
    batch = ActionBatch.objects.create(
        source=ActionBatch.Source.CSV, status=ActionBatch.Status.DRAFT, created_by=people.agent
    )
    action = Action.objects.create(
        lane=lane,
        batch=batch,
        agent=alice_agent,
        agent_account=alice_agent.agent_account,
        whatsapp=ALICE_NUMBER,
        friend_whatsapp=ALICE_FRIEND,
        platform=1,
        content="hello",
        created_by=people.agent,
    )
    bob_action = Action.objects.create(
        lane=bob_lane,
        agent=bob_agent,
        agent_account=bob_agent.agent_account,
        whatsapp=BOB_NUMBER,
        friend_whatsapp="5511977770002",
        platform=1,
        created_by=people.peer,
    )
    event = WebhookEvent.objects.create(
        kind=WebhookKind.ONLINE_STATUS,
        body=json.dumps({"whatsAppList": []}).encode(),
        headers={"X-Api-Key": "k"},
        received_at=now,
        state=WebhookEvent.State.FAILED,
        error="boom",
    )
    port = CloudPort.objects.create(port_id="9100000000000000001", phone=ALICE_NUMBER, status=10)
    PortQuota.objects.create(current_port=1, max_port=5)
    PairTarget.objects.get_or_create(target_tenant_id="10085", defaults={"name": "Main"})
    ContactLookup.objects.create(account=alice_account, kind="book", requested_by=people.supervisor)
    token_owner = people.agent
    ApiToken.objects.create(user=token_owner, name="t", digest="0" * 64, prefix="00000000")
    CspReport.objects.create(document_uri="/x", violated_directive="script-src")
    AuditEntry.objects.create(actor=people.admin, actor_name="ada", action="matrix.seed")
    notify_rows = build_notify_rows(people)
    return World(
        people=people,
        alice_account=alice_account,
        bob_account=bob_account,
        session=session,
        task=task,
        bob_task=bob_task,
        job=job,
        import_job=import_job,
        registration=registration,
        action=action,
        bob_action=bob_action,
        batch=batch,
        lane=lane,
        event=event,
        port=port,
        objects=notify_rows,
    )


def build_notify_rows(people: People) -> dict[str, Any]:
    """An event subscription with one delivery, an alert channel (a TEST-NET
    address: the outbound guard refuses it without any traffic) and an alert."""
    sub = Subscription.objects.create(
        url="https://example.com/hook", events=["account.banned"], secret="whsec_bWF0cml4"
    )
    ev = Event.objects.create(
        type="account.banned", msg_id="msg_matrix", occurred_at=timezone.now(), data={}
    )
    delivery = Delivery.objects.create(
        event=ev, subscription=sub, next_attempt_at=timezone.now(), state="failed"
    )
    channel = AlertChannel.objects.create(
        name="ops", url="json://192.0.2.10/alerts", url_scheme="json", rules=["account_banned"]
    )
    alert = Alert.objects.create(
        rule="account_banned",
        numbers=[ALICE_NUMBER],
        count=1,
        first_at=timezone.now(),
        last_at=timezone.now(),
    )
    refused = RefusedDelivery.objects.create(
        received_at=timezone.now(),
        path="/api/callback/whatsapp/onlineStatus",
        kind=WebhookKind.ONLINE_STATUS,
        auth_check="hmac",
        reason="missing_signature_headers",
        body=b'{"whatsAppList":[]}',
        body_bytes=19,
    )
    return {
        "subscription": sub,
        "delivery": delivery,
        "channel": channel,
        "alert": alert,
        "refused": refused,
    }


def _quarantined(w: World) -> None:
    RefusedDelivery.objects.filter(pk=w.objects["refused"].pk).update(
        state=RefusedDelivery.State.QUARANTINED, event=None
    )


def make_admin_staff(people: People) -> None:
    """Admins are staff superusers (as `demo_seed` makes them), so the Django admin opens."""
    User.objects.filter(pk=people.admin.pk).update(is_staff=True, is_superuser=True)
    people.admin.refresh_from_db()


# --- the matrix -----------------------------------------------------------------------------


@dataclass
class Door:
    get: dict[str, int]
    args: Callable[[World], dict[str, Any]] = lambda w: {}
    post: dict[str, int] | None = None
    data: dict[str, Any] | Callable[[World], dict[str, Any]] = field(default_factory=dict)
    # POST only as these (the others would call the vendor); the rest are not sent.
    post_only_as: tuple[str, ...] = ROLES
    prep: Callable[[World], None] | None = None  # restore state before each POST
    json_body: bool = False
    client_kwargs: dict[str, Any] = field(default_factory=dict)


REFUSALS = ("anonymous", "agent", "peer", "outsider")  # who never gets past a sup door
ALICE = {"whatsapp": ALICE_NUMBER}


def _requeue(w: World) -> None:
    Action.objects.filter(pk=w.action.pk).update(state=State.QUEUED)


def _unknown(w: World) -> None:
    Action.objects.filter(pk=w.action.pk).update(state=State.UNKNOWN)


def _draft(w: World) -> None:
    ActionBatch.objects.filter(pk=w.batch.pk).update(status=ActionBatch.Status.DRAFT)


def _failed_event(w: World) -> None:
    WebhookEvent.objects.filter(pk=w.event.pk).update(state=WebhookEvent.State.FAILED)


MATRIX: dict[str, Door] = {
    # core
    "home": Door(LOGGED_IN),
    "healthz": Door(EVERYONE),
    "livez": Door(EVERYONE),
    "readyz": Door(EVERYONE),
    # The live stream: under the test client (not ASGI) a signed-in user gets 204 (read as
    # 200 here) and pages poll; what a stream carries per user: core/tests/test_live.py.
    "live": Door(e(403, 200, 200, 200, 200, 200)),
    "health": Door(ADMIN_ONLY),
    "csp-report": Door(same(405), post=same(204), data={"csp-report": {}}, json_body=True),
    "metrics": Door(same(403), client_kwargs={"REMOTE_ADDR": FAR_ADDRESS}),
    "audit": Door(ADMIN_ONLY),
    "audit-export": Door(ADMIN_ONLY),
    "tokens": Door(LOGGED_IN),
    "token-create": Door(
        NOT_ALLOWED_LOGIN, post=e(302, 200, 200, 200, 200, 200), data={"name": "ci"}
    ),
    "token-revoke": Door(NOT_ALLOWED_LOGIN, post=e(302, 302, 302, 302, 302, 302), data={"id": 0}),
    "login": Door(e(200, 302, 302, 302, 302, 302)),
    # Sign-in and security (identity app): the Django admin's sign-in is the console's; the
    # password reset is open to everyone (it never says whether an address is known).
    "admin-login": Door(e(302, 200, 200, 200, 302, 200), post=same(302)),
    "security": Door(LOGGED_IN),
    "sign-out-everywhere": Door(NOT_ALLOWED_LOGIN, post=e(302, 302, 302, 302, 302, 302)),
    "security-time-zone": Door(
        NOT_ALLOWED_LOGIN, post=e(302, 302, 302, 302, 302, 302), data={"time_zone": "UTC"}
    ),
    "password_reset": Door(EVERYONE, post=same(302), data={"email": "nobody@example.test"}),
    "password_reset_done": Door(EVERYONE),
    "password_reset_confirm": Door(EVERYONE, args=lambda w: {"uidb64": "MQ", "token": "x-y"}),
    "password_reset_complete": Door(EVERYONE),
    # django-allauth's second factor and single sign-on (identity/allauth_urls.py). Changing
    # the second factor asks for a fresh password first (302 to reauthenticate; these
    # clients signed in by force_login); pages of a factor not enrolled answer 404.
    "account_login": Door(same(302)),
    "account_logout": Door(LOGGED_IN),
    "account_inactive": Door(EVERYONE),
    "account_reauthenticate": Door(LOGGED_IN),
    "mfa_index": Door(LOGGED_IN),
    "mfa_authenticate": Door(same(302)),
    "mfa_reauthenticate": Door(same(302)),
    "mfa_activate_totp": Door(same(302)),
    "mfa_deactivate_totp": Door(e(302, 404, 404, 404, 404, 404)),
    "mfa_view_recovery_codes": Door(e(302, 404, 404, 404, 404, 404)),
    "mfa_generate_recovery_codes": Door(same(302)),
    "mfa_download_recovery_codes": Door(e(302, 404, 404, 404, 404, 404)),
    "mfa_list_webauthn": Door(LOGGED_IN),
    "mfa_add_webauthn": Door(same(302)),
    "mfa_reauthenticate_webauthn": Door(same(302)),
    "mfa_remove_webauthn": Door(same(302), args=lambda w: {"pk": 1}),
    "mfa_edit_webauthn": Door(same(302), args=lambda w: {"pk": 1}),
    "socialaccount_login_cancelled": Door(EVERYONE),
    "socialaccount_login_error": Door(same(401)),
    "socialaccount_signup": Door(same(302)),
    "openid_connect_login": Door(same(404), args=lambda w: {"provider_id": "sso"}),
    "openid_connect_callback": Door(same(404), args=lambda w: {"provider_id": "sso"}),
    "logout": Door(same(405), post=same(302)),
    "set_language": Door(same(302), post=same(302), data={"language": "en", "next": "/"}),
    # The JavaScript strings' translations: public words, loaded by every page (login too).
    "javascript-catalog": Door(EVERYONE),
    # the API
    # The OpenAPI schema and its docs page: signed-in users only.
    "schema": Door(API_LOGGED_IN),
    "api-docs": Door(API_LOGGED_IN),
    "api-me": Door(API_LOGGED_IN),
    "api-accounts": Door(API_LOGGED_IN),
    "api-account": Door(e(401, 200, 404, 200, 200, 404), args=lambda w: ALICE),
    "api-agents": Door(API_LOGGED_IN, post=e(401, 403, 403, 400, 400, 403), json_body=True),
    # POST: an empty body is refused before any vendor call.
    "api-registrations": Door(API_LOGGED_IN, post=e(401, 403, 403, 400, 400, 403), json_body=True),
    "api-ports": Door(API_SUP),
    "api-imports": Door(
        e(401, 403, 403, 405, 405, 403), post=e(401, 403, 403, 400, 400, 403), json_body=True
    ),
    "api-import": Door(API_SUP, args=lambda w: {"pk": w.import_job.pk}),
    "api-jobs": Door(
        e(401, 403, 403, 405, 405, 403), post=e(401, 403, 403, 400, 400, 403), json_body=True
    ),
    "api-job": Door(API_SUP, args=lambda w: {"pk": w.job.pk}),
    # POST: an allocation outside the table is refused before any vendor call.
    "api-scan-tasks": Door(
        e(401, 200, 200, 200, 200, 403),
        post=e(401, 400, 400, 400, 400, 403),
        data={"allocation_role": 9},
        json_body=True,
    ),
    # An empty body is refused before any vendor call.
    "api-qr-sessions": Door(API_ACT, post=e(401, 400, 400, 400, 400, 403), json_body=True),
    "api-qr-session": Door(API_OWN, args=lambda w: {"pk": w.session.pk}),
    "api-actions": Door(API_ACT, post=e(401, 400, 400, 400, 400, 403), json_body=True),
    "api-action": Door(API_OWN, args=lambda w: {"pk": w.action.pk}),
    "api-action-cancel": Door(
        same(405) | {"anonymous": 401, "outsider": 403},
        args=lambda w: {"pk": w.action.pk},
        post=API_OWN,
        prep=_requeue,
    ),
    "api-action-resend": Door(
        API_POST_ONLY_ACT,
        args=lambda w: {"pk": w.action.pk},
        post=API_OWN,
        prep=_unknown,
    ),
    "api-action-mark-failed": Door(
        API_POST_ONLY_ACT,
        args=lambda w: {"pk": w.action.pk},
        post=API_OWN,
        prep=_unknown,
        json_body=True,
    ),
    # A multipart POST without its file is refused before anything is read.
    "api-action-batches": Door(API_ACT, post=e(401, 400, 400, 400, 400, 403)),
    "api-action-batch": Door(API_OWN, args=lambda w: {"pk": w.batch.pk}),
    "api-action-batch-confirm": Door(
        API_POST_ONLY_ACT, args=lambda w: {"pk": w.batch.pk}, post=API_OWN, prep=_draft
    ),
    "api-action-batch-discard": Door(
        API_POST_ONLY_ACT, args=lambda w: {"pk": w.batch.pk}, post=API_OWN, prep=_draft
    ),
    "api-action-batch-cancel": Door(
        API_POST_ONLY_ACT, args=lambda w: {"pk": w.batch.pk}, post=API_OWN, prep=_requeue
    ),
    "api-lanes": Door(API_ACT),
    "api-lane-pause": Door(API_POST_ONLY_ACT, args=lambda w: {"pk": w.lane.pk}, post=API_OWN),
    "api-lane-resume": Door(API_POST_ONLY_ACT, args=lambda w: {"pk": w.lane.pk}, post=API_OWN),
    "api-registration": Door(API_SUP, args=lambda w: {"pk": w.registration.pk}),
    # An empty body is refused before any vendor call.
    "api-registration-code": Door(
        API_POST_ONLY_SUP,
        args=lambda w: {"pk": w.registration.pk},
        post=e(401, 403, 403, 400, 400, 403),
        json_body=True,
    ),
    # Neither an avatar nor a nickname: refused before the image is fetched.
    "api-account-profile": Door(
        API_POST_ONLY_SUP,
        args=lambda w: ALICE,
        post=e(401, 403, 403, 400, 400, 403),
        json_body=True,
    ),
    "api-profile-updates": Door(
        API_POST_ONLY_SUP, post=e(401, 403, 403, 400, 400, 403), json_body=True
    ),
    "api-account-contact-lookups": Door(
        API_SUP, args=lambda w: ALICE, post=e(401, 403, 403, 400, 400, 403), json_body=True
    ),
    "api-scan-task": Door(API_OWN, args=lambda w: {"pk": w.task.pk}),
    # POST calls the vendor: sent only as the roles it refuses.
    "api-qr-session-retry": Door(
        e(401, 405, 405, 405, 405, 403),
        args=lambda w: {"pk": w.session.pk},
        post=e(401, 201, 404, 201, 201, 403),
        post_only_as=("anonymous", "outsider", "peer"),
    ),
    "webhook-event-list": Door(API_ADMIN),
    "api-webhook-event": Door(API_ADMIN, args=lambda w: {"pk": w.event.pk}),
    "api-webhook-event-replay": Door(
        e(401, 403, 403, 403, 405, 403),
        args=lambda w: {"pk": w.event.pk},
        post=e(401, 403, 403, 403, 200, 403),
        prep=_failed_event,
    ),
    "webhook-quarantine-list": Door(API_ADMIN),
    "api-webhook-quarantine-accept": Door(
        e(401, 403, 403, 403, 405, 403),
        args=lambda w: {"pk": w.objects["refused"].pk},
        post=e(401, 403, 403, 403, 200, 403),
        prep=_quarantined,
    ),
    "status-event-list": Door(API_LOGGED_IN),
    # Any other /api/v1/ path: a JSON 404, the same for everyone.
    "api-not-found": Door(same(404), post=same(404), json_body=True),
    # accounts
    "accounts:list": Door(LOGGED_IN),
    "accounts:bulk_export": Door(NOT_ALLOWED_LOGIN, post=e(302, 200, 200, 200, 200, 200)),
    # Nothing selected: a supervisor is sent back to the list to select some.
    "accounts:bulk_online": Door(NOT_ALLOWED_SUP, post=e(302, 403, 403, 302, 302, 403)),
    "accounts:bulk_recycle": Door(NOT_ALLOWED_SUP, post=e(302, 403, 403, 302, 302, 403)),
    "accounts:bulk_profile": Door(NOT_ALLOWED_SUP, post=e(302, 403, 403, 302, 302, 403)),
    "accounts:job": Door(e(302, 404, 404, 200, 200, 404), args=lambda w: {"job_id": w.job.pk}),
    "accounts:job_export": Door(
        e(302, 404, 404, 200, 200, 404), args=lambda w: {"job_id": w.job.pk}
    ),
    "accounts:job_retry": Door(
        NOT_ALLOWED_SUP, args=lambda w: {"job_id": w.job.pk}, post=e(302, 403, 403, 302, 302, 403)
    ),
    "accounts:import": Door(SUP),
    "accounts:import_preview": Door(SUP, args=lambda w: {"job_id": w.import_job.pk}),
    "accounts:register": Door(SUP),
    "accounts:registration": Door(SUP_OWNED, args=lambda w: {"pk": w.registration.pk}),
    "accounts:agents": Door(SUP),
    "accounts:agents_vendor": Door(SUP),
    "accounts:agent_add": Door(NOT_ALLOWED_SUP, post=e(302, 403, 403, 400, 400, 403), data={}),
    "accounts:logs": Door(SUP),
    "accounts:logs_export": Door(SUP),
    "accounts:logs_chart": Door(SUP),
    "accounts:logs_vendor": Door(SUP),
    "accounts:detail": Door(e(302, 200, 404, 200, 200, 404), args=lambda w: ALICE),
    "accounts:vendor": Door(e(302, 200, 404, 200, 200, 404), args=lambda w: ALICE),
    "accounts:timeline": Door(e(302, 200, 404, 200, 200, 404), args=lambda w: ALICE),
    "accounts:action": Door(
        NOT_ALLOWED_SUP,
        args=lambda w: ALICE,
        post=e(302, 403, 403, 302, 302, 403),
        data={"action": "recycle"},
    ),
    "accounts:profile": Door(
        NOT_ALLOWED_SUP, args=lambda w: ALICE, post=e(302, 403, 403, 400, 400, 403)
    ),
    "accounts:contacts": Door(SUP, args=lambda w: ALICE, post=e(302, 403, 403, 200, 200, 403)),
    # qrlogin
    "qrlogin:start": Door(QR),
    "qrlogin:session": Door(OWN, args=lambda w: {"pk": w.session.pk}),
    "qrlogin:session_code": Door(OWN, args=lambda w: {"pk": w.session.pk}),
    "qrlogin:session_status": Door(OWN, args=lambda w: {"pk": w.session.pk}),
    "qrlogin:session_retry": Door(
        NOT_ALLOWED_QR,
        args=lambda w: {"pk": w.session.pk},
        post=e(302, 302, 404, 302, 302, 403),
        post_only_as=("anonymous", "outsider", "peer"),
    ),
    "qrlogin:ports": Door(SUP),
    "qrlogin:ports_table": Door(SUP),
    "qrlogin:ports_refresh": Door(
        NOT_ALLOWED_SUP, post=e(302, 403, 403, 302, 302, 403), post_only_as=REFUSALS
    ),
    "qrlogin:port_operate": Door(
        NOT_ALLOWED_SUP,
        args=lambda w: {"port_id": w.port.port_id, "operation": "offline"},
        post=e(302, 403, 403, 302, 302, 403),
        post_only_as=REFUSALS,
    ),
    "qrlogin:tasks": Door(QR),
    "qrlogin:task": Door(OWN, args=lambda w: {"pk": w.task.pk}),
    "qrlogin:task_code": Door(OWN, args=lambda w: {"pk": w.task.pk}),
    "qrlogin:task_status": Door(OWN, args=lambda w: {"pk": w.task.pk}),
    # actions
    "actions:list": Door(ACT),
    "actions:export": Door(ACT),
    "actions:new": Door(ACT),
    "actions:upload": Door(ACT),
    "actions:detail": Door(OWN, args=lambda w: {"pk": w.action.pk}),
    "actions:cancel": Door(
        NOT_ALLOWED_ACT, args=lambda w: {"pk": w.action.pk}, post=OWN_POST, prep=_requeue
    ),
    "actions:resend": Door(
        NOT_ALLOWED_ACT, args=lambda w: {"pk": w.action.pk}, post=OWN_POST, prep=_unknown
    ),
    "actions:mark_failed": Door(
        NOT_ALLOWED_ACT, args=lambda w: {"pk": w.action.pk}, post=OWN_POST, prep=_unknown
    ),
    "actions:batches": Door(ACT),
    "actions:batch": Door(OWN, args=lambda w: {"pk": w.batch.pk}),
    "actions:batch_confirm": Door(
        NOT_ALLOWED_ACT, args=lambda w: {"pk": w.batch.pk}, post=OWN_POST, prep=_draft
    ),
    "actions:batch_discard": Door(
        NOT_ALLOWED_ACT, args=lambda w: {"pk": w.batch.pk}, post=OWN_POST, prep=_draft
    ),
    "actions:batch_cancel": Door(
        NOT_ALLOWED_ACT,
        args=lambda w: {"pk": w.batch.pk},
        post=OWN_POST,
        data={"confirmed": "1"},  # past the page that asks (it answers 200)
        prep=_requeue,
    ),
    "actions:lanes": Door(ACT),
    "actions:lane_pause": Door(NOT_ALLOWED_ACT, args=lambda w: {"pk": w.lane.pk}, post=OWN_POST),
    "actions:lane_resume": Door(NOT_ALLOWED_ACT, args=lambda w: {"pk": w.lane.pk}, post=OWN_POST),
    # webhooks: the receivers refuse anything unsigned, whoever sends it
    "webhooks:receive-online-status": Door(same(405), post=same(401), json_body=True),
    "webhooks:receive-account-status": Door(same(405), post=same(401), json_body=True),
    "webhooks:receive-register-status": Door(same(405), post=same(401), json_body=True),
    "webhooks:receive-qr-login-status": Door(same(405), post=same(401), json_body=True),
    "webhooks:receive-scan-task-status": Door(same(405), post=same(401), json_body=True),
    # under /hooks/<token>/: nothing while WEBHOOK_AUTH has no path-token (the tests' hmac)
    **{
        f"webhooks:receive-token-{kind}": Door(
            same(404), args=lambda w: {"path_token": "x" * 32}, post=same(404), json_body=True
        )
        for kind in (
            "online-status",
            "account-status",
            "register-status",
            "qr-login-status",
            "scan-task-status",
        )
    },
    "webhooks:inbox": Door(ADMIN_ONLY),
    "webhooks:refused-detail": Door(
        ADMIN_ONLY, args=lambda w: {"delivery_id": w.objects["refused"].pk}
    ),
    "webhooks:refused-accept": Door(
        same(405),
        args=lambda w: {"delivery_id": w.objects["refused"].pk},
        post=e(302, 403, 403, 403, 302, 403),
        prep=_quarantined,
    ),
    # POST calls the vendor: sent only as the roles it refuses
    "webhooks:vendor": Door(
        ADMIN_ONLY,
        post=e(302, 403, 403, 403, 200, 403),
        post_only_as=("anonymous", "agent", "peer", "supervisor", "outsider"),
    ),
    "webhooks:lag": Door(ADMIN_ONLY),
    "webhooks:counts": Door(ADMIN_ONLY),
    "webhooks:detail": Door(ADMIN_ONLY, args=lambda w: {"event_id": w.event.pk}),
    "webhooks:replay": Door(
        same(405),
        args=lambda w: {"event_id": w.event.pk},
        post=e(302, 403, 403, 403, 302, 403),
        prep=_failed_event,
    ),
    # notify: alerts and channels for supervisors; event subscriptions read by supervisors,
    # changed by admins
    "notify:alerts": Door(SUP),
    "notify:alert_ack": Door(
        same(405),
        args=lambda w: {"pk": w.objects["alert"].pk},
        post=e(302, 403, 403, 302, 302, 403),
    ),
    "notify:channels": Door(SUP, post=e(302, 403, 403, 400, 400, 403)),
    "notify:channel": Door(
        SUP, args=lambda w: {"pk": w.objects["channel"].pk}, post=e(302, 403, 403, 400, 400, 403)
    ),
    "notify:channel_test": Door(
        same(405),
        args=lambda w: {"pk": w.objects["channel"].pk},
        post=e(302, 403, 403, 302, 302, 403),
    ),
    "notify:channel_delete": Door(
        same(405),
        args=lambda w: {"pk": w.objects["channel"].pk},
        post=e(302, 403, 403, 302, 302, 403),
        post_only_as=REFUSALS,
    ),
    "notify:rules": Door(SUP, post=e(302, 403, 403, 400, 400, 403)),
    "notify:subscriptions": Door(SUP, post=e(302, 403, 403, 403, 400, 403)),
    "notify:subscription": Door(
        SUP,
        args=lambda w: {"pk": w.objects["subscription"].pk},
        post=e(302, 403, 403, 403, 400, 403),
    ),
    "notify:subscription_delete": Door(
        same(405),
        args=lambda w: {"pk": w.objects["subscription"].pk},
        post=e(302, 403, 403, 403, 302, 403),
        post_only_as=(*REFUSALS, "supervisor"),
    ),
    "notify:redeliver": Door(
        same(405),
        args=lambda w: {"pk": w.objects["delivery"].pk},
        post=e(302, 403, 403, 403, 302, 403),
    ),
    "api-event-subscriptions": Door(API_SUP, post=e(401, 403, 403, 403, 400, 403), json_body=True),
    "api-event-subscription": Door(API_SUP, args=lambda w: {"pk": w.objects["subscription"].pk}),
    "api-event-deliveries": Door(API_SUP, args=lambda w: {"pk": w.objects["subscription"].pk}),
    "api-event-delivery-redeliver": Door(
        e(401, 403, 403, 403, 405, 403),
        args=lambda w: {"pk": w.objects["delivery"].pk},
        post=e(401, 403, 403, 403, 202, 403),
    ),
    "api-alert-channels": Door(API_SUP, post=e(401, 403, 403, 400, 400, 403), json_body=True),
    "api-alert-channel": Door(API_SUP, args=lambda w: {"pk": w.objects["channel"].pk}),
    "api-alert-channel-test": Door(
        e(401, 403, 403, 405, 405, 403),
        args=lambda w: {"pk": w.objects["channel"].pk},
        post=e(401, 403, 403, 200, 200, 403),
    ),
    "api-alert-rules": Door(API_SUP),
    "api-alert-rule": Door(API_SUP, args=lambda w: {"key": "account_banned"}),
    "api-alerts": Door(API_SUP),
    "api-alert-ack": Door(
        e(401, 403, 403, 405, 405, 403),
        args=lambda w: {"pk": w.objects["alert"].pk},
        post=e(401, 403, 403, 200, 200, 403),
    ),
}

# The Django admin, one family: admins in (200, or a redirect that stays in the admin), the
# rest sent to the admin's login. Its own login page is open; logout is POST-only.
ADMIN_OPEN = {"admin:login"}
# Doors whose POST signs the person out (of every session, for sign-out-everywhere).
SIGNS_OUT = {"logout", "sign-out-everywhere"}


# --- walking the urlconf --------------------------------------------------------------------


@dataclass
class Route:
    name: str
    route: str
    pattern: URLPattern


def all_routes() -> list[Route]:
    out: list[Route] = []

    def walk(resolver: URLResolver, prefix: str, ns: str) -> None:
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                inner = f"{ns}:{p.namespace}" if ns and p.namespace else (p.namespace or ns)
                walk(p, prefix + str(p.pattern), inner or "")
            else:
                name = f"{ns}:{p.name}" if ns and p.name else (p.name or "")
                out.append(Route(name=name, route=prefix + str(p.pattern), pattern=p))

    walk(get_resolver(), "", "")
    return out


def admin_args(route: Route, w: World) -> dict[str, Any] | None:
    """Arguments for an admin URL: a real object of the model (or a harmless id)."""
    from django.contrib import admin
    from django.contrib.contenttypes.models import ContentType

    converters = list(route.pattern.pattern.regex.groupindex)
    if not converters:
        return {}
    name = route.name.removeprefix("admin:")
    kwargs: dict[str, Any] = {}
    for arg in converters:
        if arg == "app_label":
            kwargs[arg] = "accounts"
        elif arg == "object_id" and "object_id" in kwargs:
            continue  # view_on_site: set with content_type_id
        elif arg == "object_id":
            model = next(
                (
                    m
                    for m in admin.site._registry
                    if name.startswith(f"{m._meta.app_label}_{m._meta.model_name}_")
                ),
                None,
            )
            obj = model._default_manager.order_by("pk").first() if model else None
            kwargs[arg] = str(obj.pk) if obj else "999999"
        elif arg == "id":  # auth_user_password_change
            kwargs[arg] = str(w.people.agent.pk)
        elif arg == "content_type_id":
            kwargs[arg] = ContentType.objects.get_for_model(WhatsAppAccount).pk
            kwargs["object_id"] = str(w.alice_account.pk)
        elif arg == "url":  # the catch-all
            kwargs[arg] = "no-such-page/"
        else:
            return None
    return kwargs


def admin_denies(name: str, w: World) -> bool:
    """Whether the ModelAdmin itself refuses this view to a superuser (read-only models),
    or the view needs query parameters (autocomplete)."""
    from django.contrib import admin
    from django.test import RequestFactory

    if name == "admin:autocomplete":
        return True
    request = RequestFactory().get("/admin/")
    request.user = w.people.admin
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            verb = name.removeprefix(prefix)
            check = {
                "add": model_admin.has_add_permission,
                "delete": model_admin.has_delete_permission,
                "change": model_admin.has_change_permission,
            }.get(verb)
            if check is None:
                return False
            return not check(request)
    return False


def clients(people: People, **kwargs: Any) -> dict[str, Client]:
    out: dict[str, Client] = {}
    for role, user in people.all().items():
        c = Client(enforce_csrf_checks=False, **kwargs)
        if user is not None:
            c.force_login(user)
        out[role] = c
    return out


def _login_redirect(response: Any, login: str = LOGIN) -> bool:
    return response.status_code == 302 and response["Location"].startswith(login)


@pytest.fixture
def world(people: People, simulator: Any, settings: Any) -> World:
    forget_own_cache_keys()
    settings.METRICS_TOKEN = ""
    make_admin_staff(people)
    return build_world(people, simulator)


def check_doors(
    world: World, only: set[str] | None = None, *, admin_unnamed: bool | None = None
) -> tuple[int, list[str]]:
    """Walk every route (or only the named ones, and the admin's unnamed ones when
    `admin_unnamed`, by default when walking every route); return (pairs checked, problems)."""
    if admin_unnamed is None:
        admin_unnamed = only is None
    people = world.people
    default = clients(people)
    problems: list[str] = []
    pairs = 0
    routes = all_routes()
    unnamed = [r.route for r in routes if not r.name and not r.route.startswith("admin/")]
    problems += [f"unnamed URL pattern {r!r}: name it and add it to MATRIX" for r in unnamed]
    for route in routes:  # the admin's unnamed redirects and its catch-all
        if route.name or not route.route.startswith("admin/") or not admin_unnamed:
            continue
        url = "/" + route.route.replace("<path:object_id>", str(world.alice_account.pk))
        url = url.replace("(?P<url>.*)$", "no-such-page/")
        for role in ROLES:
            r = default[role].get(url)
            pairs += 1
            if role == "admin":
                ok = r.status_code == 404 or (
                    r.status_code in (301, 302) and r["Location"].startswith("/admin/")
                )
            else:
                ok = _login_redirect(r, ADMIN_LOGIN)
            if not ok:
                problems.append(f"{route.route} {url} as {role}: {r.status_code}")
    seen: set[str] = set()
    for route in routes:
        if not route.name or route.name in seen:
            continue
        if only is not None and route.name not in only:
            continue
        seen.add(route.name)
        if route.name.startswith("admin:"):
            kwargs = admin_args(route, world)
            if kwargs is None:
                problems.append(f"{route.name}: cannot fill arguments {route.route}")
                continue
            url = reverse(route.name, kwargs=kwargs)
            for role in ROLES:
                r = default[role].get(url)
                pairs += 1
                if route.name in ADMIN_OPEN:
                    # The admin signs in through the console's sign-in (with the second
                    # factor): anonymous callers are sent there.
                    ok = r.status_code == 200 or (
                        r.status_code == 302
                        and (role == "admin" or r["Location"].startswith(LOGIN))
                    )
                elif route.name == "admin:logout":  # POST-only; others are sent away
                    ok = r.status_code == 405 or (
                        r.status_code == 302 and r["Location"].startswith("/admin/")
                    )
                elif role == "admin":
                    ok = (
                        r.status_code == 200
                        or (r.status_code == 302 and r["Location"].startswith("/admin/"))
                        or (r.status_code == 404 and ("url" in kwargs or "site" in route.name))
                        or (r.status_code == 403 and admin_denies(route.name, world))
                    )
                else:
                    ok = _login_redirect(r, ADMIN_LOGIN)
                if not ok:
                    problems.append(f"{route.name} {url} as {role}: {r.status_code}")
            continue
        door = MATRIX.get(route.name)
        if door is None:
            problems.append(f"{route.name} ({route.route}) has no entry in MATRIX")
            continue
        url = reverse(route.name, kwargs=door.args(world))
        cs = clients(people, **door.client_kwargs) if door.client_kwargs else default
        for role in ROLES:
            r = cs[role].get(url)
            pairs += 1
            # 204 (nothing new) and 286 (htmx: stop polling) are answers to an allowed user.
            got = 200 if r.status_code in (204, 286) else r.status_code
            if got != door.get[role]:
                problems.append(f"GET {route.name} {url} as {role}: {got}, not {door.get[role]}")
            elif (
                got == 302
                and role == "anonymous"
                and not (
                    r["Location"].startswith((LOGIN, ALLAUTH_LOGIN)) or route.name == "set_language"
                )
            ):
                problems.append(f"GET {route.name} as anonymous: to {r['Location']}")
        if door.post is None:
            continue
        data = door.data(world) if callable(door.data) else door.data
        for role in POST_ORDER:
            if role not in door.post_only_as:
                continue
            if door.prep:
                door.prep(world)
            c = clients(people)[role] if route.name in SIGNS_OUT else cs[role]
            if door.json_body:
                r = c.post(url, data=json.dumps(data), content_type="application/json")
            else:
                r = c.post(url, data=data)
            pairs += 1
            got = 200 if r.status_code == 286 else r.status_code
            if got != door.post[role]:
                problems.append(f"POST {route.name} {url} as {role}: {got}, not {door.post[role]}")
        if route.name in SIGNS_OUT:  # it ended every session of each person: sign in again
            default = clients(people)
    if only is None:
        stale = sorted(set(MATRIX) - seen)
        problems += [f"MATRIX entry {n!r} matches no URL: remove it" for n in stale]
    return pairs, problems


# The walk is split into shards (each builds its own world), so no single test runs a
# thousand requests: on a loaded machine one walk outran the per-test timeout.
SHARDS = 4


def shard_names(shard: int) -> set[str]:
    names = sorted({r.name for r in all_routes() if r.name})
    return set(names[shard::SHARDS])


def test_every_url_has_an_entry_and_every_entry_a_url() -> None:
    routes = all_routes()
    names = {r.name for r in routes if r.name}
    missing = sorted(n for n in names if not n.startswith("admin:") and n not in MATRIX)
    stale = sorted(set(MATRIX) - names)
    unnamed = [r.route for r in routes if not r.name and not r.route.startswith("admin/")]
    assert not missing, f"URLs with no entry in MATRIX: {missing}"
    assert not stale, f"MATRIX entries that match no URL (remove them): {stale}"
    assert not unnamed, f"unnamed URL patterns (name them, add them to MATRIX): {unnamed}"
    assert set().union(*(shard_names(i) for i in range(SHARDS))) == names


@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_door(world: World, artifacts: Any, shard: int) -> None:
    only = shard_names(shard)
    pairs, problems = check_doors(world, only=only)
    (artifacts / f"access-matrix-{shard + 1}-of-{SHARDS}.txt").write_text(
        f"URL x role pairs checked: {pairs}\n"
        f"URL names: {len(only)} of {len({r.name for r in all_routes() if r.name})}\n"
        f"roles: {', '.join(ROLES)}\n"
    )
    print(f"access matrix, shard {shard + 1} of {SHARDS}: {pairs} URL x role pairs checked")
    assert not problems, "\n".join(problems)
    assert pairs >= len(ROLES) * len(only)  # every role at every URL of the shard


def test_the_admins_unnamed_urls(world: World) -> None:
    """The admin's unnamed redirects and catch-all (walked only when the walk is whole)."""
    pairs, problems = check_doors(world, only=set(), admin_unnamed=True)
    assert not problems, "\n".join(problems)
    assert pairs >= len(ROLES)


def test_metrics_answers_local_scraper_and_token(people: People, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    settings.METRICS_TOKEN = "scrape-token-1"
    far = Client(REMOTE_ADDR=FAR_ADDRESS)
    assert far.get("/metrics").status_code == 403
    assert far.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert far.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-1").status_code == 200


def test_a_new_url_without_an_entry_fails(world: World, monkeypatch: Any) -> None:
    """The guard itself (check_doors, not a copy): drop one entry and the walk reports it."""
    monkeypatch.delitem(MATRIX, "accounts:logs_chart")
    _pairs, problems = check_doors(world, only={"accounts:logs_chart"})
    assert problems == ["accounts:logs_chart (accounts/logs/chart.json) has no entry in MATRIX"]


def test_a_door_that_opens_wrongly_is_reported(world: World, monkeypatch: Any) -> None:
    """The guard compares answers: expect the status-log chart to open for agents (it
    does not: it is a supervisor's page) and the walk names the difference."""
    door = MATRIX["accounts:logs_chart"]
    wrong = Door({**door.get, "agent": 200}, args=door.args)
    monkeypatch.setitem(MATRIX, "accounts:logs_chart", wrong)
    pairs, problems = check_doors(world, only={"accounts:logs_chart"})
    assert pairs == len(ROLES)
    assert len(problems) == 1 and "as agent" in problems[0] and "not 200" in problems[0]


# --- another agent sees nothing of alice's --------------------------------------------------

LISTS = [
    "home",
    "accounts:list",
    "qrlogin:start",
    "qrlogin:tasks",
    "actions:list",
    "actions:batches",
    "actions:lanes",
    "tokens",
    "api-accounts",
    "api-agents",
    "api-registrations",
    "api-scan-tasks",
    "api-qr-sessions",
    "api-actions",
    "status-event-list",
]


def alice_marks(w: World) -> list[str]:
    return [
        ALICE_NUMBER,
        ALICE_FRIEND,
        "alice01",
        "Alice Shop",
        w.task.task_id,
        w.session.port_id,
    ]


def test_the_peer_sees_none_of_alices_things(world: World) -> None:
    bob = clients(world.people)["peer"]
    marks = [m for m in alice_marks(world) if m]
    leaks = []
    for name in LISTS:
        r = bob.get(reverse(name))
        assert r.status_code == 200, (name, r.status_code)
        body = r.content.decode()
        leaks += [f"{name} shows {m}" for m in marks if m in body]
    # The fleet export (CSV), the whole fleet.
    r = bob.post(reverse("accounts:bulk_export"), {})
    body = b"".join(r.streaming_content).decode()  # type: ignore[attr-defined]
    assert BOB_NUMBER in body
    leaks += [f"fleet export shows {m}" for m in marks if m in body]
    # Filters naming alice's things find nothing either.
    for name, query in [
        ("api-accounts", {"agent_account": "alice01"}),
        ("api-accounts", {"whatsapp": ALICE_NUMBER}),
        ("status-event-list", {"whatsapp": ALICE_NUMBER}),
        ("api-actions", {"whatsapp": ALICE_NUMBER}),
        ("accounts:list", {"q": ALICE_NUMBER}),
        ("actions:list", {"whatsapp": ALICE_NUMBER}),
    ]:
        body = bob.get(reverse(name), query).content.decode()
        for echoed in query.values():  # bob's own input, shown back in the filter form
            body = body.replace(f'value="{echoed}"', "").replace(f"={echoed}", "")
        leaks += [f"{name}?{query} shows {m}" for m in marks if m in body]
    # Alice's detail URLs answer 404 to bob, as if they did not exist.
    details: list[tuple[str, dict[str, Any]]] = [
        ("accounts:detail", ALICE),
        ("accounts:vendor", ALICE),
        ("accounts:timeline", ALICE),
        ("api-account", ALICE),
        ("qrlogin:session", {"pk": world.session.pk}),
        ("qrlogin:session_status", {"pk": world.session.pk}),
        ("qrlogin:task", {"pk": world.task.pk}),
        ("qrlogin:task_status", {"pk": world.task.pk}),
        ("actions:detail", {"pk": world.action.pk}),
        ("actions:batch", {"pk": world.batch.pk}),
        ("api-action", {"pk": world.action.pk}),
        ("api-qr-session", {"pk": world.session.pk}),
    ]
    for name, kwargs in details:
        status = bob.get(reverse(name, kwargs=kwargs)).status_code
        if status != 404:
            leaks.append(f"{name} {kwargs} answers {status} to bob, not 404")
    # ...and the contrast: alice does see them, and sees nothing of bob's.
    alice = clients(world.people)["agent"]
    assert ALICE_NUMBER in alice.get(reverse("accounts:list")).content.decode()
    for name in LISTS:
        body = alice.get(reverse(name)).content.decode()
        leaks += [f"{name} shows bob's {m} to alice" for m in (BOB_NUMBER, "bob01") if m in body]
    assert not leaks, "\n".join(leaks)


def test_group_admins_who_are_not_staff_meet_the_admin_login(people: People) -> None:
    """The role 'admin' without is_staff: the Django admin asks to log in (no 500), while
    the console's admin pages still open for the role."""
    admin = make_user("plainadmin", Role.ADMIN)
    User.objects.filter(pk=admin.pk).update(is_staff=False, is_superuser=False)
    c = client_for(User.objects.get(pk=admin.pk))
    r = c.get("/admin/")
    assert r.status_code == 302 and r["Location"].startswith(ADMIN_LOGIN)
    login_page = c.get(r["Location"])
    assert login_page.status_code == 200
    assert "not authorized" in login_page.content.decode()
    assert c.get(reverse("webhooks:inbox")).status_code == 200


def test_roles_exist(people: People) -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= {"admin", "supervisor", "agent"}
    assert Agent.objects.filter(agent_account="alice01", user=people.agent).exists()


# --- an agent names another agent's account ------------------------------------

UNKNOWN_NUMBER = "8613700000999"  # no account at all
ACTION_REFUSED = "You may only name your own WhatsApp accounts"


def _names_a_number(world: World, number: str) -> list[tuple[str, int, str]]:
    """Alice sends `number` through every form and API that takes one: (door, status, body)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    alice = clients(world.people)["agent"]
    action = {
        "agent_account": "alice01",
        "whatsapp": number,
        "friend_whatsapp": ALICE_FRIEND,
        "platform": 1,
        "content": "hi",
    }
    out: list[tuple[str, int, str]] = []
    r = alice.post(reverse("actions:new"), {**action, "confirm": "1"})
    out.append(("actions:new", r.status_code, r.content.decode()))
    csv_text = (
        "agentAccount,whatsId,friendWhatsId,platformType,content\n"
        f"alice01,{number},{ALICE_FRIEND},1,hi\n"
    )
    r = alice.post(
        reverse("actions:upload"),
        {
            "file": SimpleUploadedFile("a.csv", csv_text.encode(), "text/csv"),
            "confirm_offline": "on",
        },
        follow=True,
    )
    out.append(("actions:upload", r.status_code, r.content.decode()))
    r = alice.post(reverse("api-actions"), json.dumps(action), content_type="application/json")
    out.append(("api-actions", r.status_code, r.content.decode()))
    r = alice.post(reverse("api-actions"), json.dumps([action]), content_type="application/json")
    out.append(("api-actions (list)", r.status_code, r.content.decode()))
    # Pair mode names the phone in the agent's hand (it may be new to everyone): the answer
    # must not depend on whether the number is someone else's account.
    pair = {"mode": "pair", "platform": 1, "phone": number, "pair_style": "native"}
    r = alice.post(reverse("api-qr-sessions"), json.dumps(pair), content_type="application/json")
    out.append(("api-qr-sessions", r.status_code, ""))
    r = alice.post(
        reverse("qrlogin:start"),
        {"pc_type": 1, "mode": "pair", "phone": number, "is_easy": "", "proxy": ""},
    )
    out.append(("qrlogin:start", r.status_code, ""))
    return out


def _same_page(body: str, number: str) -> str:
    """The page without what differs per request (CSRF tokens, the live stream's start
    time, the new batch's id)."""
    import re

    body = body.replace(number, "N")
    body = re.sub(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+', r"\1T", body)
    body = re.sub(r'sse-connect="[^"]*"', 'sse-connect="S"', body)
    return re.sub(r"(Batch #|/batches/)\d+", r"\1B", body)


def test_agent_names_another_agents_account(world: World) -> None:
    """Every form and API that takes a number: bob's number gets exactly the answer an
    unknown number gets, nothing is queued for it, and nothing of bob's shows."""
    theirs = _names_a_number(world, BOB_NUMBER)
    nobody = _names_a_number(world, UNKNOWN_NUMBER)
    problems = []
    for (door, status, body), (_door, status_u, body_u) in zip(theirs, nobody, strict=True):
        if status != status_u:
            problems.append(f"{door}: {status} for bob's number, {status_u} for an unknown one")
        if _same_page(body, BOB_NUMBER) != _same_page(body_u, UNKNOWN_NUMBER):
            problems.append(f"{door}: the answer differs for bob's number and an unknown one")
        for mark in ("bob01", "Bob Shop"):
            if mark in body:
                problems.append(f"{door} shows {mark}")
        if door.startswith(("actions", "api-actions")) and ACTION_REFUSED not in body:
            problems.append(f"{door}: not refused ({status})")
    if Action.objects.filter(whatsapp=BOB_NUMBER, created_by=world.people.agent).exists():
        problems.append("an action was queued on bob's account for alice")
    assert not problems, "\n".join(problems)
