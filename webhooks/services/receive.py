"""Receipt: validate a delivery and store it in one INSERT, and keep refused deliveries.

`webhook_event_receive` does the minimum before the commit: validate the body and INSERT one
row; the processing task (webhooks/services/process.py) is enqueued once the row is
committed. Refused deliveries (webhook authentication) are kept in quarantine with their
body, bounded, until an admin accepts one (`refused_delivery_accept`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.cache import CACHE_DOWN
from core.tasks import enqueue
from webhooks import metrics
from webhooks.models import RefusedDelivery, WebhookEvent
from webhooks.payloads import PayloadError, parse_detailed

log = logging.getLogger(__name__)

State = WebhookEvent.State

# Headers worth keeping with the event (lower-case). X-Api-Key is kept redacted.
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "user-agent",
    "x-timestamp",
    "x-nonce",
    "x-signature",
    "x-api-key",
    "x-request-id",
    "x-forwarded-for",
    "x-real-ip",
)
REDACTED_HEADERS = ("x-api-key", "authorization")


def clean_text(value: Any, limit: int = 2000) -> str:
    """Text safe for PostgreSQL (no NUL) and bounded."""
    return str(value).replace("\x00", "\\x00")[:limit]


def headers_to_store(headers: Mapping[str, str], remote_addr: str = "") -> dict[str, str]:
    kept: dict[str, str] = {}
    lowered = {str(k).lower(): v for k, v in headers.items()}
    for name in KEPT_HEADERS:
        if name in lowered:
            value = "[redacted]" if name in REDACTED_HEADERS else clean_text(lowered[name], 500)
            kept[name] = value
    if remote_addr:
        kept["remote-addr"] = clean_text(remote_addr, 64)
    return kept


@dataclass(frozen=True)
class Receipt:
    event_id: int
    state: str
    records: int
    error: str = ""  # the body as a whole is unusable (answered 400)
    rejected: int = 0  # records set aside, each kept with its reason


# A processing task is queued and has not started yet: it claims every pending event when it
# starts (webhooks/services/process.py, `webhook_events_drain`), so the deliveries received
# meanwhile need no task of their own. Publishing a task was 40% of a delivery's receipt
# (bench/webhooks.py: one Redis SET NX instead). The expiry replaces a task the broker lost;
# the sweeper covers the rest.
DRAIN_QUEUED_KEY = "webhooks:drain-queued"
DRAIN_QUEUED_SECONDS = 10


def drain_request(event_id: int) -> None:
    """Have a processing task claim `event_id` and whatever else is pending: send one unless
    one is queued and not started yet. A broker failure is logged, not raised: the event is
    committed and the sweeper will enqueue it again."""
    try:
        if not cache.add(DRAIN_QUEUED_KEY, event_id, DRAIN_QUEUED_SECONDS):
            return
    except CACHE_DOWN:
        pass  # no way to know: send one (a task for a claimed event is a no-op)
    try:
        enqueue("webhooks.tasks.process_webhook_event", event_id)
    except Exception:
        log.exception("could not enqueue webhook event %s; the sweeper will retry", event_id)
        drain_started()  # nothing is queued: the next delivery sends one


def drain_started() -> None:
    """A processing task starts claiming: a delivery committed from now on sends another."""
    with contextlib.suppress(*CACHE_DOWN):
        cache.delete(DRAIN_QUEUED_KEY)


def event_enqueue(event_id: int) -> None:
    """After commit: have the event processed (`drain_request`)."""
    transaction.on_commit(lambda: drain_request(event_id))


def _insert_event(
    *,
    kind: str,
    body: bytes,
    headers: Mapping[str, str],
    received_at: datetime,
    signature_ok: bool,
    state: str,
    records: int,
    error: str = "",
    rejected_records: list[dict[str, Any]] | None = None,
) -> int:
    """One INSERT ... RETURNING id. In autocommit it is its own transaction (no BEGIN and
    COMMIT round trips); inside an outer atomic block it joins that block."""
    table = WebhookEvent._meta.db_table
    # No NOTIFY here: a notifying commit holds PostgreSQL's one notification lock until its
    # WAL is flushed, so notifying commits run one at a time; at 100 POST/s they queued up
    # (bench/live.py, docs/live.md "Where the time goes"). The admins' inbox pages hear of
    # the events when a worker has processed them, once per batch.
    sql = f"""
        INSERT INTO {table} (kind, body, headers, received_at, signature_ok, state, error,
            attempts, records, applied, rejected_records)
        VALUES (%s, %s, %s::jsonb, %s, %s, %s, %s, 0, %s, 0, %s::jsonb)
        RETURNING id
    """  # noqa: S608 - table name from _meta; values are bound
    params: list[Any] = [
        kind,
        body,
        json.dumps(dict(headers)),
        received_at,
        signature_ok,
        str(state),
        error,
        records,
        json.dumps(rejected_records or [], ensure_ascii=False),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def webhook_event_receive(
    *,
    kind: str,
    body: bytes,
    headers: Mapping[str, str],
    received_at: datetime | None = None,
    signature_ok: bool = True,
) -> Receipt:
    """Validate and store one signed delivery. Raises DatabaseError if it cannot be stored
    (the receiver answers 503). The pre-commit path is one INSERT; the processing task is
    enqueued once the row is committed (at once in autocommit)."""
    received_at = received_at or timezone.now()
    insert = functools.partial(
        _insert_event,
        kind=kind,
        body=body,
        headers=headers,
        received_at=received_at,
        signature_ok=signature_ok,
    )
    try:
        parsed = parse_detailed(kind, body)
    except PayloadError as exc:
        error = clean_text(exc, 500)
        event_id = insert(state=State.REJECTED, records=0, error=error)
        metrics.REJECTED.labels(kind, "payload").inc()
        metrics.RECEIVED.labels(kind).inc()
        return Receipt(event_id, State.REJECTED, 0, error)
    rejected = [r.as_dict() for r in parsed.rejections]
    if rejected:
        metrics.RECORDS_REJECTED.labels(kind).inc(len(rejected))
    if rejected and not parsed.records:
        # The body has the documented shape but no usable record: acknowledged (the
        # vendor's retry would fail the same way forever), kept as rejected for admins.
        event_id = insert(
            state=State.REJECTED,
            records=0,
            error=clean_text(f"every record was rejected ({len(rejected)})", 500),
            rejected_records=rejected,
        )
        metrics.RECEIVED.labels(kind).inc()
        return Receipt(event_id, State.REJECTED, 0, rejected=len(rejected))
    event_id = insert(
        state=State.PENDING,
        records=len(parsed.records),
        rejected_records=rejected,
    )
    event_enqueue(event_id)
    metrics.RECEIVED.labels(kind).inc()
    metrics.RECORDS.labels(kind).inc(len(parsed.records))
    return Receipt(event_id, State.PENDING, len(parsed.records), rejected=len(rejected))


def refused_delivery_record(
    *,
    path: str,
    kind: str,
    check: str,
    reason: str,
    detail: str,
    source_addr: str,
    header_names: list[str],
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    received_at: datetime | None = None,
) -> int | None:
    """Keep a refused delivery in quarantine: why, the headers we keep with events
    (redacted) and its body up to WEBHOOK_QUARANTINE_MAX_BYTES (a longer one is kept cut,
    marked, and cannot be accepted). Quarantine keeps WEBHOOK_QUARANTINE_KEEP deliveries and
    WEBHOOK_QUARANTINE_DAYS days, whichever is less, so a flood of anonymous posts costs
    bounded space. A database failure is logged, not raised: the answer is 401 anyway.
    Returns the quarantined row's id (None when it could not be stored)."""
    cap = max(0, int(settings.WEBHOOK_QUARANTINE_MAX_BYTES))
    now = received_at or timezone.now()
    try:
        with transaction.atomic():
            row = RefusedDelivery.objects.create(
                received_at=now,
                path=clean_text(path, 200),
                kind=kind,
                auth_check=check,
                reason=clean_text(reason, 64),
                detail=clean_text(detail, 200),
                source_addr=clean_text(source_addr, 64),
                header_names=[clean_text(n, 64) for n in header_names],
                headers=dict(headers or {}),
                body=body[:cap],
                body_bytes=len(body),
                body_truncated=len(body) > cap,
            )
            keep = max(1, int(settings.WEBHOOK_QUARANTINE_KEEP))
            cutoff = list(
                RefusedDelivery.objects.order_by("-id").values_list("id", flat=True)[
                    keep - 1 : keep
                ]
            )
            if cutoff:
                RefusedDelivery.objects.filter(id__lt=cutoff[0]).delete()
            oldest = now - timedelta(days=max(1, int(settings.WEBHOOK_QUARANTINE_DAYS)))
            RefusedDelivery.objects.filter(received_at__lt=oldest).delete()
    except DatabaseError:
        log.warning("could not record a refused webhook delivery (%s %s)", path, reason)
        return None
    return row.pk


class NotAcceptable(Exception):
    """Why a quarantined delivery cannot be accepted (safe to show the admin)."""


def refused_delivery_accept(*, delivery_id: int, actor: Any) -> Receipt:
    """An admin accepts a quarantined delivery after review: it enters the inbox as if it
    had passed authentication (validated, stored, applied by the usual task), marked as
    not signed; the quarantine row points at the event. Audited."""
    from core.audit import audit_record

    with transaction.atomic():
        row = RefusedDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if row is None:
            raise NotAcceptable("no such quarantined delivery")
        if row.state != RefusedDelivery.State.QUARANTINED:
            raise NotAcceptable("this delivery was already accepted")
        if row.body_truncated:
            raise NotAcceptable(
                f"its body ({row.body_bytes} bytes) was larger than the quarantine keeps"
            )
        if not row.kind or not row.body_bytes:
            raise NotAcceptable("it names no webhook or has no body")
        headers = {**(row.headers or {}), "accepted-from-quarantine": str(row.pk)}
        receipt = webhook_event_receive(
            kind=row.kind,
            body=bytes(row.body),
            headers=headers,
            received_at=row.received_at,
            signature_ok=False,
        )
        row.state = RefusedDelivery.State.ACCEPTED
        row.accepted_at = timezone.now()
        row.accepted_by = actor if getattr(actor, "pk", None) else None
        row.event_id = receipt.event_id
        row.save(update_fields=["state", "accepted_at", "accepted_by", "event"])
        audit_record(
            actor=actor,
            action="webhook.quarantine_accept",
            target_type="refused_delivery",
            target_id=str(row.pk),
            before={"state": RefusedDelivery.State.QUARANTINED, "reason": row.reason},
            after={"state": row.state, "event": receipt.event_id, "event_state": receipt.state},
        )
    return receipt
