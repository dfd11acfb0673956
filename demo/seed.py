"""What `make demo` puts in a fresh database, through the same services a person uses.

- `users_seed`: one user per role (logins printed) and the demo agents.
- `fleet_seed`: the demo fleet imported with keys through the import service (so
  "Bring online" works), then a week of its history (`demo.history`).
- `activity_seed`: needs the simulator and our web server and worker running (as `make
  demo` has them): QR logins that give accounts cloud ports, a registration, open-chat
  actions and a bulk job, each through its service; the outcomes come back by webhook.

Demo keys are random bytes made here, never stored in the repository.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model

from core.groups import ensure_groups
from core.roles import Role
from simulator.demo_fleet import DEMO_AGENTS, demo_fleet

DEMO_USERS = [
    ("admin", "admin-demo-pass", Role.ADMIN, None),
    ("supervisor", "supervisor-demo-pass", Role.SUPERVISOR, None),
    ("agent", "agent-demo-pass", Role.AGENT, "agent01"),
]


class SeedError(Exception):
    """A step of the demo seed did not reach its outcome (message says which)."""


def users_seed() -> list[tuple[str, str, str]]:
    from accounts.models import Agent

    ensure_groups()
    for user_id, account, name in DEMO_AGENTS:
        Agent.objects.get_or_create(
            agent_account=account, defaults={"upstream_user_id": str(user_id), "user_name": name}
        )
    logins = []
    for username, password, role, agent_account in DEMO_USERS:
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(password)
            user.is_staff = role == Role.ADMIN
            user.is_superuser = role == Role.ADMIN
            user.save()
        user.groups.set([Group.objects.get(name=role.value)])
        if agent_account:
            Agent.objects.filter(agent_account=agent_account).update(user=user)
        logins.append((role.value, username, password))
    return logins


def _key(n: int) -> str:
    return base64.b64encode(secrets.token_bytes(n)).decode()


def _fleet_file() -> SimpleUploadedFile:
    rows = [
        {
            "whatsApp": demo.whatsapp,
            "name": demo.name,
            "whatsappType": 1,
            "publicKey": _key(32),
            "privateKey": _key(32),
            "msgPublicKey": _key(32),
            "msgPrivateKey": _key(32),
            "accountId": str(secrets.randbelow(10**12)),
            "nextKeyId": str(secrets.randbelow(1000)),
            "registrationId": str(secrets.randbelow(16380) + 1),
        }
        for demo in demo_fleet()
    ]
    body = json.dumps({"whatsAppList": rows}).encode()
    return SimpleUploadedFile("demo-fleet.json", body, content_type="application/json")


def fleet_seed(*, now: datetime) -> tuple[int, int, int]:
    """Import the fleet with keys (the import job runs here, as the worker would run it),
    then ingest its week of history. Returns (imported, deliveries, records). Idempotent:
    each part is done once (a run stopped half-way finishes the other part next time)."""
    from accounts.models import WhatsAppAccount
    from demo.history import HEADERS, history_ingest
    from webhooks.models import WebhookEvent

    imported = 0 if WhatsAppAccount.objects.exists() else _fleet_import()
    if WebhookEvent.objects.filter(headers__contains=HEADERS).exists():
        return imported, 0, 0
    deliveries, records = history_ingest(now=now)
    return imported, deliveries, records


def _fleet_import() -> int:
    from accounts.services.fleet import bulk_job_run
    from accounts.services.imports import import_confirm, import_parse, import_stage

    supervisor = User.objects.get(username="supervisor")
    upload = _fleet_file()
    parsed = import_parse(upload=upload)
    job = import_stage(actor=supervisor, result=parsed, filename=upload.name or "")
    job = import_confirm(actor=supervisor, job=job)
    done = bulk_job_run(job_id=job.pk)
    if done is None or done.failed_count:
        raise SeedError(
            f"the fleet import did not finish cleanly: {done and done.failed_count} failed"
        )
    return done.ok_count


def _wait(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise SeedError(f"timed out after {timeout:.0f} s waiting for {what}")


def _fresh(obj: Model) -> Any:
    obj.refresh_from_db()
    return obj


def activity_seed(*, sim: Callable[[str, dict[str, Any] | None], Any]) -> list[str]:
    """Things that happen in a working day, each through its service against the running
    vendor (here the simulator). `sim(path, body)` calls the simulator's controls (the
    phone). Returns one line per thing done."""
    from accounts.models import BulkJob, Registration, WhatsAppAccount
    from accounts.services.fleet import bulk_job_create
    from accounts.services.registration import registration_submit_code, registration_submit_phone
    from actions.models import Action
    from actions.models import State as ActionState
    from actions.services.intake import ActionSpec, actions_queue
    from qrlogin.models import QrSession
    from qrlogin.services.sessions import qr_session_start

    supervisor = User.objects.get(username="supervisor")
    agent_user = User.objects.get(username="agent")
    done: list[str] = []
    fleet = demo_fleet()

    # Two offline accounts logged in on cloud ports by the agent, phone scanning.
    offline = [d for d in fleet if not d.banned and not d.online][:2]
    for demo in offline:
        session = qr_session_start(user=agent_user, pc_type=2)
        if session.state == QrSession.State.FAILED:
            raise SeedError(f"QR login for {demo.whatsapp}: {session.reason}")
        sim("scan", {"id": session.port_id, "whatsapp": demo.whatsapp, "ok": True})

        def succeeded(session: QrSession = session) -> bool:
            return bool(_fresh(session).state == QrSession.State.SUCCEEDED)

        _wait(f"the QR login of {demo.whatsapp}", succeeded)
        done.append(f"QR login: {demo.whatsapp} online on a cloud port")

    # A registration: phone, then the code the phone received.
    reg = registration_submit_phone(
        actor=supervisor,
        phone=f"1380099{secrets.randbelow(10**4):04d}",
        area_code="86",
        country_code="CN",
        verify_type=1,
        account_type=1,
    )
    pending = [r for r in sim("registrations", None) or [] if r.get("status") == "pending"]
    code = next((r["verifyCode"] for r in pending if str(r.get("phone")) == reg.phone), None)
    if not code:
        raise SeedError(f"the simulator shows no verification code for {reg.phone}")
    registration_submit_code(actor=supervisor, registration=reg, code=str(code))
    _wait(
        "the registration's result",
        lambda: _fresh(reg).state == Registration.State.SUCCEEDED,
    )
    done.append(f"registration: +86 {reg.phone} registered")

    # Open-chat actions between online accounts of each agent.
    online = [d for d in fleet if d.online and not d.banned]
    specs = [
        ActionSpec(
            agent_account=d.agent_account,
            whatsapp=d.whatsapp,
            friend_whatsapp=f"5511987650{i:03d}",
            platform=1,
            content="Hello from the demo",
        )
        for i, d in enumerate(online[:4])
    ]
    created = actions_queue(user=supervisor, specs=specs)
    finished = (ActionState.SUCCEEDED, ActionState.FAILED)
    _wait(
        "the open-chat actions' results",
        lambda: (
            Action.objects.filter(pk__in=[a.pk for a in created], state__in=finished).count()
            == len(created)
        ),
        timeout=60,
    )
    done.append(f"open-chat actions: {len(created)} finished")

    # A bulk "bring online" of the offline accounts that remain.
    rest = WhatsAppAccount.objects.filter(
        whatsapp__in=[d.whatsapp for d in fleet if not d.banned and not d.online][2:5]
    )
    job = bulk_job_create(actor=supervisor, kind=BulkJob.Kind.ONLINE, accounts=list(rest))
    _wait("the bring-online job", lambda: _fresh(job).state == BulkJob.State.DONE)
    done.append(f"bulk online: {job.ok_count} of {job.total} accounts sent")
    return done
