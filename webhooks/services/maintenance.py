"""Maintenance: re-enqueue what was lost (the sweeper) and replay failed or stuck events."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import audit_record
from core.tasks import enqueue
from webhooks.models import WebhookEvent
from webhooks.payloads import PayloadError, parse_detailed
from webhooks.services.process import STALE_CLAIM
from webhooks.services.receive import clean_text, event_enqueue

log = logging.getLogger(__name__)

State = WebhookEvent.State
PENDING_GRACE = timedelta(seconds=30)  # a pending event older than this lost its enqueue
SWEEP_BATCH = 1000


def webhook_events_sweep(
    *,
    pending_after: timedelta = PENDING_GRACE,
    stale_after: timedelta = STALE_CLAIM,
    limit: int = SWEEP_BATCH,
) -> int:
    """Re-enqueue pending events whose enqueue was lost and processing events whose worker
    died. Each event is re-enqueued at most once a minute. Returns how many were sent."""
    now = timezone.now()
    ids = list(
        WebhookEvent.objects.filter(
            Q(state=State.PENDING, received_at__lt=now - pending_after)
            | Q(state=State.PROCESSING, claimed_at__lt=now - stale_after)
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for event_id in ids:
        if not cache.add(f"webhooks:swept:{event_id}", 1, 60):
            continue
        try:
            enqueue("webhooks.tasks.process_webhook_event", event_id)
            sent += 1
        except Exception:
            log.exception("sweeper could not enqueue webhook event %s", event_id)
            break
    return sent


# --- replay ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayOutcome:
    state: str
    error: str = ""


class NotReplayable(Exception):
    pass


def webhook_event_replayable(event: WebhookEvent, *, now: datetime | None = None) -> bool:
    """Failed and rejected events, and events stuck in processing: claimed longer ago than
    any live worker holds a claim (a worker that died, a task that was lost)."""
    if event.state in (State.FAILED, State.REJECTED):
        return True
    now = now or timezone.now()
    return (
        event.state == State.PROCESSING
        and event.claimed_at is not None
        and event.claimed_at < now - STALE_CLAIM
    )


def webhook_event_replay(*, event_id: int, actor: Any) -> ReplayOutcome:
    """Queue a failed, rejected or stuck event again (audited). A rejected event is
    validated again first; if it is still invalid it stays rejected, with the new error. A
    stuck one is taken from its stale claim (the old worker's re-check then fails)."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if not webhook_event_replayable(event):
            raise NotReplayable(
                f"only failed, rejected or stuck events can be replayed ({event.state})"
            )
        before = {"state": event.state, "error": event.error, "attempts": event.attempts}
        try:
            parsed = parse_detailed(event.kind, bytes(event.body))
            if parsed.rejections and not parsed.records:
                raise PayloadError(f"every record was rejected ({len(parsed.rejections)})")
        except PayloadError as exc:
            event.state = State.REJECTED if event.state == State.REJECTED else State.FAILED
            event.error = clean_text(exc, 500)
            event.save(update_fields=["state", "error"])
        else:
            event.state = State.PENDING
            event.error = ""
            event.records = len(parsed.records)
            event.claimed_at = None
            event.processed_at = None
            event.save(update_fields=["state", "error", "records", "claimed_at", "processed_at"])
            event_enqueue(event.pk)
        audit_record(
            actor=actor,
            action="webhook.replay",
            target_type="webhook_event",
            target_id=str(event.pk),
            before=before,
            after={"state": event.state, "error": event.error},
        )
    return ReplayOutcome(event.state, event.error)
