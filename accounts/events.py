"""The accounts app's domain events (core/events.py): emitted inside the transaction of
the change; notify subscribes (the outbox, alerts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts.choices import AccountStatus, Presence
from core import events

ACCOUNTS_CHANGED = "accounts.changed"
REGISTRATION_FINISHED = "accounts.registration_finished"
JOB_FINISHED = "accounts.job_finished"


@dataclass(frozen=True)
class AccountChange:
    """An account row after a status change, with what it was before."""

    whatsapp: str
    old_status: int | None
    old_presence: int | None
    old_detail: int | None
    old_online_status: int | None
    status: int | None
    online_status: int | None
    presence: int | None
    detail_status: int | None
    reason_code: str
    reason: str
    agent_account: str
    platform: int | None
    event_time: datetime | None

    @property
    def changed(self) -> bool:
        return (self.old_status, self.old_presence, self.old_detail, self.old_online_status) != (
            self.status,
            self.presence,
            self.detail_status,
            self.online_status,
        )

    @property
    def newly_banned(self) -> bool:
        banned_now = self.status == AccountStatus.BANNED or self.presence == Presence.BANNED
        banned_before = (
            self.old_status == AccountStatus.BANNED or self.old_presence == Presence.BANNED
        )
        return banned_now and not banned_before


def account_changes(*, changes: Sequence[AccountChange], source: str) -> None:
    """Accounts' statuses changed (`changes` may hold rows that did not change)."""
    events.emit(ACCOUNTS_CHANGED, changes=changes, source=source)


def registration_finished(*, registration: Any) -> None:
    events.emit(REGISTRATION_FINISHED, registration=registration)


def job_finished(*, job: Any) -> None:
    events.emit(JOB_FINISHED, job=job)
