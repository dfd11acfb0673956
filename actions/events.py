"""The actions app's domain events (core/events.py): emitted inside the transaction of
the change; notify subscribes (the outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core import events

ACTIONS_FINISHED = "actions.finished"


def actions_finished(*, ids: Sequence[int], finished_at: datetime) -> None:
    """Among `ids`, the actions this change finished (their `finished_at` is its time)."""
    events.emit(ACTIONS_FINISHED, ids=ids, finished_at=finished_at)
