"""The QR login's live events (core/live.py carries them; their names are this app's)."""

from __future__ import annotations

from core import live


def qr_session_changed(*, session_id: int, owner: int | None) -> None:
    live.live_publish(events=[f"qr-{session_id}"], owners=[owner])


def scan_task_changed(*, task_id: int, owner: int | None) -> None:
    live.live_publish(events=[f"task-{task_id}", "tasks"], owners=[owner])
