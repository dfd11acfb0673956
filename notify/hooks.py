"""What the domain events (core/events.py) run, inside the transaction of their state
change, to write the outbox (events) and raise alerts: each function is subscribed to the
event of its kind of change in notify/apps.py, and builds the documented payload
(docs/notify.md) from the changed row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from accounts.choices import AccountStatus, DetailStatus, OnlineStatus, Presence
from accounts.events import AccountChange
from actions.models import Action
from core.choices import label
from notify.models import EventType, RuleKey
from notify.payloads import (
    AccountData,
    ActionData,
    JobData,
    QrSessionData,
    RegistrationData,
    ScanTaskData,
)
from notify.services.alerts import alert_raise
from notify.services.events import EventDraft, event_emit, events_emit
from qrlogin.models import ScanTask, ScanTaskStatus


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _account_data(c: AccountChange, source: str) -> AccountData:
    return {
        "whatsapp": c.whatsapp,
        "status": c.status,
        "status_display": label(AccountStatus, c.status),
        "online_status": c.online_status,
        "online_status_display": label(OnlineStatus, c.online_status),
        "presence": c.presence,
        "presence_display": label(Presence, c.presence),
        "detail_status": c.detail_status,
        "detail_status_display": label(DetailStatus, c.detail_status),
        "reason_code": c.reason_code,
        "reason": c.reason,
        "agent_account": c.agent_account,
        "platform": c.platform,
        "event_time": _iso(c.event_time),
        "previous": {
            "status": c.old_status,
            "online_status": c.old_online_status,
            "presence": c.old_presence,
            "detail_status": c.old_detail,
        },
        "source": source,
    }


def account_changes(*, changes: Sequence[AccountChange], source: str) -> None:
    """account.status_changed for each change, account.banned (and the ban alert) for each
    account newly banned."""
    drafts: list[EventDraft] = []
    banned: list[str] = []
    for c in changes:
        if not c.changed:
            continue
        data = _account_data(c, source)
        drafts.append(
            EventDraft(
                type=EventType.ACCOUNT_STATUS_CHANGED,
                data=data,
                whatsapp=c.whatsapp,
                occurred_at=c.event_time,
            )
        )
        if c.newly_banned:
            banned.append(c.whatsapp)
            drafts.append(
                EventDraft(
                    type=EventType.ACCOUNT_BANNED,
                    data=data,
                    whatsapp=c.whatsapp,
                    occurred_at=c.event_time,
                )
            )
    events_emit(drafts=drafts)
    if banned:
        alert_raise(rule=RuleKey.ACCOUNT_BANNED, numbers=banned, link="/accounts/?status=2")


def qr_session_finished(*, session: Any) -> None:
    data: QrSessionData = {
        "id": session.pk,
        "state": session.state,
        "mode": session.mode,
        "port_id": session.port_id,
        "whatsapp": session.whatsapp,
        "reason_code": session.reason_code,
        "reason": session.reason,
        "created_by": session.created_by.get_username() if session.created_by_id else None,
        "finished_at": _iso(session.finished_at),
    }
    event_emit(
        type=EventType.QR_SESSION_FINISHED,
        whatsapp=session.whatsapp or "",
        occurred_at=session.finished_at,
        data=data,
    )


def scan_task_finished(*, task_id: str) -> None:
    task = ScanTask.objects.filter(task_id=task_id).first()
    if task is None:
        return
    event_emit(
        type=EventType.SCAN_TASK_FINISHED,
        whatsapp=task.whatsapp,
        occurred_at=task.status_updated_at,
        data=ScanTaskData(
            id=task.pk,
            task_id=task.task_id,
            status=task.status,
            status_display=label(ScanTaskStatus, task.status),
            whatsapp=task.whatsapp,
            upstream_user_id=task.upstream_user_id,
            updated_at=_iso(task.status_updated_at),
        ),
    )


def actions_finished(*, ids: Sequence[int], finished_at: datetime) -> None:
    """action.finished for the actions among `ids` that this change finished (their
    `finished_at` is the change's time)."""
    if not ids:
        return
    rows = Action.objects.filter(pk__in=list(ids), finished_at=finished_at)
    events_emit(
        drafts=[
            EventDraft(
                type=EventType.ACTION_FINISHED,
                whatsapp=a.whatsapp,
                occurred_at=a.finished_at or a.updated_at,
                data=ActionData(
                    id=a.pk,
                    state=a.state,
                    reason=a.reason,
                    agent_account=a.agent_account,
                    whatsapp=a.whatsapp,
                    friend_whatsapp=a.friend_whatsapp,
                    callback_id=a.callback_id,
                    finished_at=_iso(a.finished_at),
                ),
            )
            for a in rows
        ]
    )


def registration_finished(*, registration: Any) -> None:
    reg = registration
    event_emit(
        type=EventType.REGISTRATION_FINISHED,
        occurred_at=reg.completed_at,
        data=RegistrationData(
            id=reg.pk,
            phone=reg.phone,
            area_code=reg.area_code,
            state=reg.state,
            error=reg.error,
            completed_at=_iso(reg.completed_at),
        ),
    )
    if reg.state == "failed":
        alert_raise(
            rule=RuleKey.REGISTRATION_FAILED,
            numbers=[f"{reg.area_code} {reg.phone}".strip()],
            link=f"/accounts/register/{reg.pk}/",
        )


def job_finished(*, job: Any) -> None:
    event_emit(
        type=EventType.JOB_FINISHED,
        occurred_at=job.finished_at,
        data=JobData(
            id=job.pk,
            kind=job.kind,
            state=job.state,
            total=job.total,
            done=job.ok_count,
            failed=job.failed_count,
            finished_at=_iso(job.finished_at),
        ),
    )
