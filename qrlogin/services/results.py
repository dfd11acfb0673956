"""Apply the vendor's login results: QR login results (qrCode/syncLoginStatus), PC scan-task
statuses (qrCodeTask status) and the `instanceCode` link of syncWhatsAppStatus.

Decisions (docs/webhooks.md):
- a QR login result is matched to the session by `QrSession.port_id == id` (the id returned by
  preGenerate); the newest session on that port takes it;
- a success is final: a later failure report for the same login (syncLoginStatus carries
  no time, so "later" cannot be told from "reordered"), or a duplicate, changes nothing and
  emits nothing; a duplicate of any result is likewise ignored;
- another final state is not moved by an older delivery (by receipt time against
  `finished_at`); a success always wins over a failure or our own "expired" (the phone did
  scan);
- on success the account joins the fleet (created if missing), is linked to the session
  creator's agent when it has none, and the cloud port whose id equals the QR id records its
  phone (the vendor's port ids in selectCloudPortDetail may differ from the QR id: then the
  reconcile pass links port and phone; the webhook never creates port rows);
- a scan-task status applies only when its `updateTime` is newer than the stored one;
- syncWhatsAppStatus `instanceCode` is the QR scan id: the session whose port_id or
  instance_code equals it records it (and the reason, while it is still open or when it
  failed without a reason of its own: the reason often arrives just after the failure).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_noop

from accounts import live as accounts_live
from accounts.models import Agent, WhatsAppAccount
from accounts.services.status import accounts_ensure
from ports.services import port_link_login
from qrlogin import live as qrlogin_live
from qrlogin.events import qr_session_finished, scan_task_finished
from qrlogin.models import QrSession, ScanTask

FINAL = (QrSession.State.SUCCEEDED, QrSession.State.FAILED, QrSession.State.EXPIRED)
# Stored in English and shown in the reader's language (core/templatetags/words.py).
LOGIN_FAILED_WORDS = gettext_noop("The vendor reported that the login failed: start a new QR login")


@dataclass(frozen=True)
class QrOutcome:
    session_id: int | None
    changed: bool


def _link_agent(whatsapp: str, agent: Agent | None) -> None:
    if agent is None or not whatsapp:
        return
    WhatsAppAccount.objects.filter(whatsapp=whatsapp, agent__isnull=True).update(
        agent=agent, agent_account=agent.agent_account
    )


def qr_login_result_apply(
    *, port_id: str, whatsapp: str, ok: bool, received_at: datetime
) -> QrOutcome:
    with transaction.atomic():
        session = (
            QrSession.objects.select_for_update()
            .filter(port_id=port_id)
            .order_by("-created_at", "-id")
            .first()
        )
        changed = False
        if session is not None and (
            session.state == QrSession.State.SUCCEEDED
            or session.state == (QrSession.State.SUCCEEDED if ok else QrSession.State.FAILED)
        ):
            # A success is final; a repeated result is a duplicate: nothing changes, nothing
            # is emitted (no event, no live push).
            return QrOutcome(session.pk, False)
        if session is not None:
            stale = (
                session.state in FINAL
                and session.finished_at is not None
                and session.finished_at > received_at
                and not (ok and session.state == QrSession.State.EXPIRED)
            )
            target = QrSession.State.SUCCEEDED if ok else QrSession.State.FAILED
            if not stale:
                session.state = target
                session.finished_at = received_at
                if ok:
                    session.whatsapp = whatsapp or session.whatsapp
                    session.reason_code = ""
                    session.reason = ""
                else:
                    session.reason = LOGIN_FAILED_WORDS
                session.save(
                    update_fields=["state", "finished_at", "whatsapp", "reason_code", "reason"]
                )
                changed = True
                qr_session_finished(session=session)  # the outbox (notify)
        if ok and whatsapp:
            accounts_ensure(numbers=[whatsapp])
            # The port is the account's at once: port operations work right after "Online".
            port_link_login(
                pregenerate_id=port_id,
                whatsapp=whatsapp,
                created_at=session.created_at if session is not None else None,
            )
            if session is not None and session.created_by_id is not None:
                _link_agent(whatsapp, Agent.objects.filter(user_id=session.created_by_id).first())
            accounts_live.accounts_changed(whatsapps=[whatsapp])
        if changed and session is not None:  # heard by the open pages on commit
            qrlogin_live.qr_session_changed(session_id=session.pk, owner=session.created_by_id)
    return QrOutcome(session.pk if session else None, changed)


def qr_instance_link(*, instance_code: str, whatsapp: str, reason_code: str, reason: str) -> int:
    """Record syncWhatsAppStatus' instanceCode on its QR session. Returns sessions touched."""
    if not instance_code:
        return 0
    touched = 0
    with transaction.atomic():
        sessions = QrSession.objects.select_for_update().filter(
            Q(port_id=instance_code) | Q(instance_code=instance_code)
        )
        for session in sessions:
            fields = []
            if session.instance_code != instance_code:
                session.instance_code = instance_code
                fields.append("instance_code")
            if whatsapp and not session.whatsapp:
                session.whatsapp = whatsapp
                fields.append("whatsapp")
            # The reason is shown while the login is open, and on a failed login that
            # has no reason of its own yet (it often arrives just after the failure).
            failed_without_reason = (
                session.state == QrSession.State.FAILED and not session.reason_code
            )
            if reason and (session.state not in FINAL or failed_without_reason):
                session.reason_code, session.reason = reason_code, reason
                fields += ["reason_code", "reason"]
            if fields:
                session.save(update_fields=fields)
                qrlogin_live.qr_session_changed(session_id=session.pk, owner=session.created_by_id)
                touched += 1
    return touched


@dataclass(frozen=True)
class ScanOutcome:
    found: bool
    changed: bool


# 70 (scanned) comes before every other status; the rest are outcomes.
_STAGE = {70: 1, 71: 2, 80: 2, 83: 2, 84: 2, 85: 2, 90: 2}
_STAGE_ONE = frozenset(s for s, rank in _STAGE.items() if rank == 1)


def scan_task_status_apply(
    *,
    task_id: str,
    task_status: int,
    whatsapp: str,
    user_id: str,
    update_time: datetime,
) -> ScanOutcome:
    """Set the scan task's status if `update_time` is newer than what is stored (one
    conditional UPDATE). Login success (80) puts the account in the fleet."""
    with transaction.atomic():
        found = ScanTask.objects.filter(task_id=task_id).exists()
        cond = Q(status_updated_at__isnull=True) | Q(status_updated_at__lt=update_time)
        # The vendor stamps "scanned" (70) and its outcome in the same millisecond: at a
        # tie, a later stage wins, so a normal login never sticks at 70.
        earlier_stages = [s for s, rank in _STAGE.items() if rank < _STAGE.get(task_status, 2)]
        if earlier_stages:
            cond |= Q(status_updated_at=update_time, status__in=earlier_stages)
        # A status the task already has is a duplicate (whatever its time): it changes
        # nothing and emits nothing again. Scan-task statuses carry `updateTime`, so a
        # newer outcome after a login (a ban, 90) is a real change and applies.
        cond &= ~Q(status=task_status)
        if _STAGE.get(task_status, 2) == 1:
            # "Scanned" never replaces an outcome (an outcome learned from the status log
            # carries whole-second times, so a late 70 may look newer than it).
            cond &= Q(status__isnull=True) | Q(status__in=list(_STAGE_ONE))
        fields: dict[str, object] = {"status": task_status, "status_updated_at": update_time}
        if whatsapp:
            fields["whatsapp"] = whatsapp
        if user_id:
            fields["upstream_user_id"] = user_id
        changed = ScanTask.objects.filter(cond, task_id=task_id).update(**fields) > 0
        if changed and task_status == 80 and whatsapp:
            accounts_ensure(numbers=[whatsapp])
            agent = Agent.objects.filter(upstream_user_id=user_id).first() if user_id else None
            if agent is None:
                creator = ScanTask.objects.filter(task_id=task_id).values_list(
                    "created_by_id", flat=True
                )
                agent = Agent.objects.filter(user_id__in=creator).first()
            _link_agent(whatsapp, agent)
            accounts_live.accounts_changed(whatsapps=[whatsapp])
        if changed and _STAGE.get(task_status, 2) == 2:
            scan_task_finished(task_id=task_id)  # the outbox (notify)
        if changed:
            for pk, owner in ScanTask.objects.filter(task_id=task_id).values_list(
                "pk", "created_by_id"
            ):
                qrlogin_live.scan_task_changed(task_id=pk, owner=owner)
    return ScanOutcome(found=found, changed=changed)
