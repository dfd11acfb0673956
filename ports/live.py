"""The ports app's live event (core/live.py carries it; its name is this app's)."""

from __future__ import annotations

from core import live
from core.roles import Cap


def ports_changed() -> None:
    """The cloud ports or the quota changed: the Ports page."""
    live.live_publish(events=["ports"], cap=Cap.MANAGE_PORTS)
