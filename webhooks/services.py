"""The webhook inbox: store a delivery, apply it once, replay it, sweep what was lost.

Receipt (`webhook_event_receive`) does the minimum before the commit: validate the body and
INSERT one row. Everything else runs in the processing task (`webhook_event_process`), which
claims the event with a conditional UPDATE, applies it through the domain services inside one
transaction that re-checks its claim under a row lock, and marks it processed in that same
transaction. A worker killed mid-way leaves the event `processing` with an old `claimed_at`;
the sweeper re-enqueues it and the next claim applies it (the domain services are idempotent
besides: dedupe keys and newer-only conditional updates).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.services.status import (
    account_status_apply,
    presence_deliveries_apply,
    presence_records_apply,
    registration_result_apply,
)
from core import live
from core.audit import audit_record
from core.logging import redact
from qrlogin.services.results import qr_instance_link, qr_login_result_apply, scan_task_status_apply
from webhooks import metrics
from webhooks.models import RefusedDelivery, WebhookEvent, WebhookKind
from webhooks.payloads import (
    AccountStatusRecord,
    PayloadError,
    PresenceRecord,
    QrLoginRecord,
    Record,
    RegisterRecord,
    ScanTaskRecord,
    parse,
    parse_detailed,
)

log = logging.getLogger(__name__)

State = WebhookEvent.State
PENDING_GRACE = timedelta(seconds=30)  # a pending event older than this lost its enqueue
STALE_CLAIM = timedelta(seconds=60)  # longer than the processing task's hard time limit
SWEEP_BATCH = 1000
BATCH_LIMIT = 100  # events claimed by one processing task (5,000 records at 50 each)
BATCH_RECORDS = 10_000  # ... and records: a batch stays well inside the task's time limit

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


def _enqueue(event_id: int) -> None:
    """After commit: hand the event to the FAST queue. A broker failure is logged, not
    raised: the event is committed and the sweeper will enqueue it again."""
    from webhooks.tasks import process_webhook_event

    def send() -> None:
        try:
            process_webhook_event.delay(event_id)
        except Exception:
            log.exception("could not enqueue webhook event %s; the sweeper will retry", event_id)

    transaction.on_commit(send)


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
    # The admins' open inbox pages hear of it in the same statement (NOTIFY on commit).
    sql = f"""
        WITH ins AS (
            INSERT INTO {table} (kind, body, headers, received_at, signature_ok, state, error,
                attempts, records, applied, rejected_records)
            VALUES (%s, %s, %s::jsonb, %s, %s, %s, %s, 0, %s, 0, %s::jsonb)
            RETURNING id
        )
        SELECT id, pg_notify(%s, %s) FROM ins
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
        *live.inbox_notify_args(),
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
    try:
        parsed = parse_detailed(kind, body)
    except PayloadError as exc:
        error = clean_text(exc, 500)
        event_id = _insert_event(
            kind=kind,
            body=body,
            headers=headers,
            received_at=received_at,
            signature_ok=signature_ok,
            state=State.REJECTED,
            records=0,
            error=error,
        )
        metrics.REJECTED.labels(kind, "payload").inc()
        metrics.RECEIVED.labels(kind).inc()
        return Receipt(event_id, State.REJECTED, 0, error)
    rejected = [r.as_dict() for r in parsed.rejections]
    if rejected:
        metrics.RECORDS_REJECTED.labels(kind).inc(len(rejected))
    if rejected and not parsed.records:
        # The body has the documented shape but no usable record: acknowledged (the
        # vendor's retry would fail the same way forever), kept as rejected for admins.
        event_id = _insert_event(
            kind=kind,
            body=body,
            headers=headers,
            received_at=received_at,
            signature_ok=signature_ok,
            state=State.REJECTED,
            records=0,
            error=clean_text(f"every record was rejected ({len(rejected)})", 500),
            rejected_records=rejected,
        )
        metrics.RECEIVED.labels(kind).inc()
        return Receipt(event_id, State.REJECTED, 0, rejected=len(rejected))
    event_id = _insert_event(
        kind=kind,
        body=body,
        headers=headers,
        received_at=received_at,
        signature_ok=signature_ok,
        state=State.PENDING,
        records=len(parsed.records),
        rejected_records=rejected,
    )
    _enqueue(event_id)
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
    received_at: datetime | None = None,
) -> None:
    """Keep a refused delivery for the inbox (never its body) and only the last
    RefusedDelivery.KEEP. A database failure is logged, not raised: the answer is 401 anyway."""
    try:
        with transaction.atomic():
            _refused_delivery_insert(
                path=path,
                kind=kind,
                check=check,
                reason=reason,
                detail=detail,
                source_addr=source_addr,
                header_names=header_names,
                received_at=received_at or timezone.now(),
            )
    except DatabaseError:
        log.warning("could not record a refused webhook delivery (%s %s)", path, reason)


def _refused_delivery_insert(
    *,
    path: str,
    kind: str,
    check: str,
    reason: str,
    detail: str,
    source_addr: str,
    header_names: list[str],
    received_at: datetime,
) -> None:
    RefusedDelivery.objects.create(
        received_at=received_at,
        path=clean_text(path, 200),
        kind=kind,
        auth_check=check,
        reason=clean_text(reason, 64),
        detail=clean_text(detail, 200),
        source_addr=clean_text(source_addr, 64),
        header_names=[clean_text(n, 64) for n in header_names],
    )
    cutoff = list(
        RefusedDelivery.objects.order_by("-id").values_list("id", flat=True)[
            RefusedDelivery.KEEP - 1 : RefusedDelivery.KEEP
        ]
    )
    if cutoff:
        RefusedDelivery.objects.filter(id__lt=cutoff[0]).delete()


# --- processing ------------------------------------------------------------------------


def _claim(event_id: int, stale_after: timedelta) -> tuple[datetime, WebhookEvent] | None:
    """The conditional UPDATE that makes one worker the owner, returning what processing
    needs (one round trip). None when the event is not ours to process."""
    now = timezone.now()
    table = WebhookEvent._meta.db_table
    sql = f"""
        UPDATE {table} SET state = %s, claimed_at = %s, attempts = attempts + 1
        WHERE id = %s AND (state = %s OR (state = %s AND claimed_at < %s))
        RETURNING kind, body, received_at
    """  # noqa: S608 - table name from _meta; values are bound
    params: list[Any] = [
        str(State.PROCESSING),
        now,
        event_id,
        str(State.PENDING),
        str(State.PROCESSING),
        now - stale_after,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    kind, body, received_at = row
    return now, WebhookEvent(pk=event_id, kind=kind, body=bytes(body), received_at=received_at)


def webhook_event_claim(*, event_id: int, stale_after: timedelta = STALE_CLAIM) -> datetime | None:
    """Claim an event (see `_claim`). Returns the claim time (the fencing token) or None."""
    claimed = _claim(event_id, stale_after)
    return claimed[0] if claimed else None


def _apply(event: WebhookEvent, records: list[Record]) -> int:
    """Hand the records to the domain services. Returns how many had an effect."""
    received_at = event.received_at
    kind = event.kind
    if kind == WebhookKind.ONLINE_STATUS:
        presence = [r for r in records if isinstance(r, PresenceRecord)]
        outcome = presence_records_apply(
            records=presence, received_at=received_at, webhook_event_id=event.pk
        )
        return outcome.inserted
    applied = 0
    for rec in records:
        if isinstance(rec, AccountStatusRecord):
            # The QR session first, then the account: the same lock order as the
            # syncLoginStatus result (qr_login_result_apply), which a worker applies at the
            # same moment for the same login. The opposite order deadlocked (PostgreSQL
            # breaks it after deadlock_timeout, 1 s, and one event had to be retried).
            if rec.instance_code:
                from accounts.services.status import sync_reason_words

                code, words = sync_reason_words(rec.reason)
                qr_instance_link(
                    instance_code=rec.instance_code,
                    whatsapp=rec.whatsapp,
                    reason_code=code,
                    reason=words,
                )
            changed = account_status_apply(
                whatsapp=rec.whatsapp,
                status=rec.status,
                online_status=rec.online_status,
                reason=rec.reason,
                received_at=received_at,
            )
            applied += int(changed)
        elif isinstance(rec, RegisterRecord):
            reg = registration_result_apply(phone=rec.phone, ok=rec.ok, received_at=received_at)
            applied += int(reg.changed or reg.account_created)
        elif isinstance(rec, QrLoginRecord):
            qr = qr_login_result_apply(
                port_id=rec.port_id, whatsapp=rec.whatsapp, ok=rec.ok, received_at=received_at
            )
            applied += int(qr.changed)
        elif isinstance(rec, ScanTaskRecord):
            scan = scan_task_status_apply(
                task_id=rec.task_id,
                task_status=rec.task_status,
                whatsapp=rec.whatsapp,
                user_id=rec.user_id,
                update_time=rec.update_time,
            )
            applied += int(scan.changed)
    return applied


class LostClaim(Exception):
    pass


@dataclass(frozen=True)
class ProcessOutcome:
    state: str  # processed / failed / skipped
    applied: int = 0
    error: str = ""


def webhook_event_process(*, event_id: int, stale_after: timedelta = STALE_CLAIM) -> ProcessOutcome:
    """Claim one event and apply it (the unit the ordering and kill tests drive)."""
    claimed = _claim(event_id, stale_after)
    if claimed is None:
        return ProcessOutcome("skipped")
    claim, event = claimed
    return _process_claimed(claim, event)


def _process_claimed(claim: datetime, event: WebhookEvent) -> ProcessOutcome:
    event_id = event.pk
    mine = WebhookEvent.objects.filter(pk=event_id, state=State.PROCESSING, claimed_at=claim)
    try:
        records = parse(event.kind, bytes(event.body))
    except PayloadError as exc:
        error = clean_text(f"invalid payload: {exc}", 2000)
        mine.update(state=State.FAILED, error=error, processed_at=timezone.now())
        live.inbox_changed()  # the admins' inbox shows the failure
        metrics.PROCESSED.labels(event.kind, "failed").inc()
        return ProcessOutcome(State.FAILED, error=error)
    try:
        with transaction.atomic():
            # Re-check the claim under a row lock: a worker whose claim went stale and was
            # taken over must not commit a second application.
            if not mine.select_for_update().exists():
                raise LostClaim
            applied = _apply(event, records)
            done = timezone.now()
            mine.update(
                state=State.PROCESSED,
                processed_at=done,
                applied=applied,
                records=len(records),
                error="",
            )
            live.inbox_changed()
    except LostClaim:
        return ProcessOutcome("skipped")
    except (OperationalError, InterfaceError):
        # Transient: give the event back so the task's retry (or the sweeper) can claim it.
        with contextlib.suppress(OperationalError, InterfaceError):
            mine.update(state=State.PENDING)
        raise
    except Exception as exc:
        log.exception("webhook event %s failed", event_id)
        error = clean_text(redact(f"{type(exc).__name__}: {exc}"), 2000)
        mine.update(state=State.FAILED, error=error, processed_at=timezone.now())
        live.inbox_changed()  # the admins' inbox shows the failure
        metrics.PROCESSED.labels(event.kind, "failed").inc()
        return ProcessOutcome(State.FAILED, error=error)
    metrics.PROCESSED.labels(event.kind, "processed").inc()
    metrics.LAG.labels(event.kind).observe(max(0.0, (done - event.received_at).total_seconds()))
    return ProcessOutcome(State.PROCESSED, applied=applied)


# --- batch processing ----------------------------------------------------------------------


@dataclass(frozen=True)
class BatchOutcome:
    claimed: int
    processed: int
    failed: int
    records: int
    own: str  # what happened to the event the task was sent for: processed/failed/skipped


def _claim_pending(
    claim: datetime, limit: int, max_records: int = BATCH_RECORDS
) -> list[WebhookEvent]:
    """Claim up to `limit` pending events, oldest first, in one statement, stopping once
    `max_records` records are reached (at least one event is taken). SKIP LOCKED: workers
    claiming at once take disjoint sets and never wait for each other; rows locked but past
    the record cap stay pending when the statement ends."""
    if limit <= 0:
        return []
    table = WebhookEvent._meta.db_table
    sql = f"""
        WITH candidates AS (
            SELECT id, records, received_at FROM {table} WHERE state = %s
            ORDER BY received_at, id LIMIT %s FOR UPDATE SKIP LOCKED
        ), picked AS (
            SELECT id FROM (
                SELECT id, sum(records) OVER (ORDER BY received_at, id) - records AS before
                FROM candidates
            ) AS running
            WHERE before < %s
        )
        UPDATE {table} SET state = %s, claimed_at = %s, attempts = attempts + 1
        WHERE id IN (SELECT id FROM picked) AND state = %s
        RETURNING id, kind, body, received_at
    """  # noqa: S608 - table name from _meta; values are bound
    params: list[Any] = [
        str(State.PENDING),
        limit,
        max_records,
        str(State.PROCESSING),
        claim,
        str(State.PENDING),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    events = [
        WebhookEvent(pk=pk, kind=kind, body=bytes(body), received_at=received_at)
        for pk, kind, body, received_at in rows
    ]
    events.sort(key=lambda e: (e.received_at, e.pk))
    return events


def webhook_events_process_batch(
    *, event_id: int | None = None, limit: int = BATCH_LIMIT, stale_after: timedelta = STALE_CLAIM
) -> BatchOutcome:
    """Claim `event_id` (when it is still ours to take) together with up to `limit - 1` other
    pending events, and apply them: the onlineStatus events set-based, in one transaction
    (one multi-row INSERT of their history, one UPDATE of the accounts), the other kinds one
    by one. Each event keeps every guarantee of `webhook_event_process`: the claim is
    re-checked under a row lock, and a worker killed mid-way leaves them `processing` for the
    sweeper. With a backlog one task applies many events, and the tasks sent for the events
    it took find them claimed and return at once."""
    own: tuple[datetime, WebhookEvent] | None = None
    if event_id is not None:
        own = _claim(event_id, stale_after)
    claim = own[0] if own else timezone.now()
    events = [own[1]] if own else []
    events += _claim_pending(claim, limit - len(events))
    presence = [e for e in events if e.kind == WebhookKind.ONLINE_STATUS]
    outcomes: dict[int, ProcessOutcome] = {}
    try:
        # The few single-record kinds first (a login result is what a person is waiting
        # for), then the onlineStatus events together.
        for event in events:
            if event.kind != WebhookKind.ONLINE_STATUS:
                outcomes[event.pk] = _process_claimed(claim, event)
        if presence:
            outcomes.update(_process_presence_batch(claim, presence))
    except (OperationalError, InterfaceError):
        # Transient: give back what this claim still holds, for the retry or the sweeper.
        with contextlib.suppress(OperationalError, InterfaceError):
            WebhookEvent.objects.filter(
                pk__in=[e.pk for e in events], state=State.PROCESSING, claimed_at=claim
            ).update(state=State.PENDING)
        raise
    own_state = "skipped"
    if own is not None:
        own_state = outcomes[own[1].pk].state
    return BatchOutcome(
        claimed=len(events),
        processed=sum(1 for o in outcomes.values() if o.state == State.PROCESSED),
        failed=sum(1 for o in outcomes.values() if o.state == State.FAILED),
        records=sum(o.applied for o in outcomes.values()),
        own=own_state,
    )


def _process_presence_batch(
    claim: datetime, events: list[WebhookEvent]
) -> dict[int, ProcessOutcome]:
    """Apply several claimed onlineStatus events in one transaction. On an unexpected error
    the batch is rolled back and each event is processed on its own (so one bad event fails
    alone); a transient database error gives them all back and is raised."""
    outcomes: dict[int, ProcessOutcome] = {}
    parsed: list[tuple[WebhookEvent, list[PresenceRecord]]] = []
    for event in events:
        try:
            records = parse(event.kind, bytes(event.body))
        except PayloadError:
            outcomes[event.pk] = _process_claimed(claim, event)  # marks it failed
            continue
        parsed.append((event, [r for r in records if isinstance(r, PresenceRecord)]))
    if not parsed:
        return outcomes
    table = WebhookEvent._meta.db_table
    ids = [e.pk for e, _r in parsed]
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id FROM {table} WHERE id = ANY(%s) AND state = %s"  # noqa: S608
                    " AND claimed_at = %s ORDER BY id FOR UPDATE",
                    [ids, str(State.PROCESSING), claim],
                )
                still_mine = {row[0] for row in cursor.fetchall()}
            batch = [(e, r) for e, r in parsed if e.pk in still_mine]
            inserted = presence_deliveries_apply(
                deliveries=[(e.pk, e.received_at, r) for e, r in batch]
            )
            done = timezone.now()
            live.inbox_changed()
            if batch:
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"""
                        UPDATE {table} AS w SET state = %s, processed_at = %s, error = '',
                            applied = v.applied, records = v.records
                        FROM unnest(%s::bigint[], %s::integer[], %s::integer[])
                            AS v(id, applied, records)
                        WHERE w.id = v.id
                        """,  # noqa: S608 - table name from _meta; values are bound
                        [
                            str(State.PROCESSED),
                            done,
                            [e.pk for e, _r in batch],
                            [inserted.get(e.pk, 0) for e, _r in batch],
                            [len(r) for _e, r in batch],
                        ],
                    )
    except (OperationalError, InterfaceError):
        with contextlib.suppress(OperationalError, InterfaceError):
            WebhookEvent.objects.filter(
                pk__in=ids, state=State.PROCESSING, claimed_at=claim
            ).update(state=State.PENDING)
        raise
    except Exception:
        log.exception("batch of %s webhook events failed; applying them one by one", len(ids))
        for event, _records in parsed:
            outcomes[event.pk] = _process_claimed(claim, event)
        return outcomes
    for event, _records in parsed:
        if event.pk not in still_mine:
            outcomes[event.pk] = ProcessOutcome("skipped")
            continue
        metrics.PROCESSED.labels(event.kind, "processed").inc()
        metrics.LAG.labels(event.kind).observe(max(0.0, (done - event.received_at).total_seconds()))
        outcomes[event.pk] = ProcessOutcome(State.PROCESSED, applied=inserted.get(event.pk, 0))
    return outcomes


def webhook_events_sweep(
    *,
    pending_after: timedelta = PENDING_GRACE,
    stale_after: timedelta = STALE_CLAIM,
    limit: int = SWEEP_BATCH,
) -> int:
    """Re-enqueue pending events whose enqueue was lost and processing events whose worker
    died. Each event is re-enqueued at most once a minute. Returns how many were sent."""
    from webhooks.tasks import process_webhook_event

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
            process_webhook_event.delay(event_id)
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
            _enqueue(event.pk)
        audit_record(
            actor=actor,
            action="webhook.replay",
            target_type="webhook_event",
            target_id=str(event.pk),
            before=before,
            after={"state": event.state, "error": event.error},
        )
    return ReplayOutcome(event.state, event.error)
