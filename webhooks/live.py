"""The webhook inbox's live event (core/live.py carries it; its name is this app's)."""

from __future__ import annotations

from core import live
from core.roles import Cap


def inbox_changed() -> None:
    """Webhook events were processed or failed: the admins' inbox pages."""
    live.live_publish(events=["inbox"], cap=Cap.VIEW_INBOX)
