"""The ports app's domain events (core/events.py): emitted inside the transaction of the
change; notify subscribes (the over-quota alert and event)."""

from __future__ import annotations

from typing import Any

from core import events

PORTS_REFRESHED = "ports.refreshed"


def ports_refreshed(*, quota: Any) -> None:
    """The quota and the occupied ports were read from the vendor and stored."""
    events.emit(PORTS_REFRESHED, quota=quota)
