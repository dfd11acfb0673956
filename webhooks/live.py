"""The webhook inbox's live event (core/live.py carries it; its name is this app's)."""

from __future__ import annotations

import json

from core import live
from core.roles import Cap

INBOX_NOTE = json.dumps({"e": ["inbox"], "u": [], "c": Cap.VIEW_INBOX.value})


def inbox_changed() -> None:
    """Webhook events were received or processed: the admins' inbox pages."""
    live.live_publish(events=["inbox"], cap=Cap.VIEW_INBOX)


def inbox_notify_args() -> tuple[str, str]:
    """(channel, payload) for a `pg_notify(%s, %s)` in the receiver's own INSERT."""
    return live.CHANNEL, INBOX_NOTE
