"""The qrlogin app's domain events (core/events.py): emitted inside the transaction of
the change; notify subscribes (the outbox)."""

from __future__ import annotations

from typing import Any

from core import events

QR_SESSION_FINISHED = "qrlogin.session_finished"
SCAN_TASK_FINISHED = "qrlogin.scan_task_finished"


def qr_session_finished(*, session: Any) -> None:
    events.emit(QR_SESSION_FINISHED, session=session)


def scan_task_finished(*, task_id: str) -> None:
    events.emit(SCAN_TASK_FINISHED, task_id=task_id)
