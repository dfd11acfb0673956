"""The status history's rows as the pages show them (the status logs, an account's page):
plain cells, rendered once and kept (core/fragments.py). A history row never changes, so a
page of rows seen again is one cache read instead of a pass of the template engine over
every row (about 20 ms of CPU for the logs' 50 rows: bench/history.py --profile)."""

from __future__ import annotations

from typing import Any

from accounts.choices import DetailStatus, Platform, Presence
from accounts.models import StatusEvent
from core.choices import label


def event_cells(rows: list[StatusEvent], *, current_pk: int | None = None) -> list[dict[str, Any]]:
    """Each row's cells as plain values, each label looked up once per code and request:
    all a row template reads, so the rendered row is kept on them. `current_pk`: the row
    the account's presence mirrors (its page marks it)."""
    labels: dict[tuple[str, object], str] = {}

    def text(kind: str, table: Any, value: object) -> str:
        key = (kind, value)
        if key not in labels:
            labels[key] = label(table, value)
        return labels[key]

    return [
        {
            "whatsapp": ev.whatsapp,
            "event_time": ev.event_time,
            "received_at": ev.received_at,
            "status_text": text("status", Presence, ev.status),
            "detail_status": ev.detail_status,
            "detail_text": text("detail", DetailStatus, ev.detail_status),
            "agent_account": ev.agent_account,
            "platform": ev.platform,
            "platform_text": text("platform", Platform, ev.platform),
            "source_text": text("source", StatusEvent.Origin, ev.source),
            "current": current_pk is not None and ev.pk == current_pk,
        }
        for ev in rows
    ]
