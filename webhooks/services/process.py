"""Processing: claim an event with a conditional UPDATE and apply it exactly once.

`webhook_event_process` claims one event, applies it through the domain services inside one
transaction that re-checks its claim under a row lock, and marks it processed in that same
transaction. `webhook_events_process_batch` claims many at once (SKIP LOCKED) and applies the
onlineStatus ones set-based. A worker killed mid-way leaves the event `processing` with an
old `claimed_at`; the sweeper (maintenance.py) re-enqueues it and the next claim applies it
(the domain services are idempotent besides: dedupe keys and newer-only conditional updates).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from accounts.services.status import (
    account_status_apply,
    account_statuses_apply,
    presence_deliveries_apply,
    presence_records_apply,
    registration_result_apply,
)
from core import live
from core.logging import redact
from qrlogin.services.results import qr_instance_link, qr_login_result_apply, scan_task_status_apply
from webhooks import live as webhooks_live
from webhooks import metrics
from webhooks.models import WebhookEvent, WebhookKind
from webhooks.payloads import (
    AccountStatusRecord,
    PayloadError,
    PresenceRecord,
    QrLoginRecord,
    Record,
    RegisterRecord,
    ScanTaskRecord,
    parse,
)
from webhooks.services.receive import clean_text, drain_request, drain_started

log = logging.getLogger(__name__)

State = WebhookEvent.State
STALE_CLAIM = timedelta(seconds=60)  # longer than the processing task's hard time limit
BATCH_LIMIT = 100  # events claimed by one processing task (5,000 records at 50 each)
BATCH_RECORDS = 10_000  # ... and records: a batch stays well inside the task's time limit


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


def _process_claimed(
    claim: datetime, event: WebhookEvent, *, tell_inbox: bool = True
) -> ProcessOutcome:
    """Apply one claimed event in its own transaction; `tell_inbox`: the admins' inbox pages
    hear of it at its commit (a batch tells them once, at its end)."""
    event_id = event.pk
    mine = WebhookEvent.objects.filter(pk=event_id, state=State.PROCESSING, claimed_at=claim)
    try:
        records = parse(event.kind, bytes(event.body))
    except PayloadError as exc:
        error = clean_text(f"invalid payload: {exc}", 2000)
        mine.update(state=State.FAILED, error=error, processed_at=timezone.now())
        webhooks_live.inbox_changed()  # the admins' inbox shows the failure
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
            if tell_inbox:
                webhooks_live.inbox_changed()
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
        webhooks_live.inbox_changed()  # the admins' inbox shows the failure
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
        # The pages hear of the batch's changes together, at its end (one notifying commit,
        # not one per event).
        with live.published_together():
            # The few single-record kinds first (a login result is what a person is waiting
            # for), then the onlineStatus events together.
            statuses = [e for e in events if e.kind == WebhookKind.ACCOUNT_STATUS]
            for event in events:
                if event.kind not in (WebhookKind.ONLINE_STATUS, WebhookKind.ACCOUNT_STATUS):
                    outcomes[event.pk] = _process_claimed(claim, event, tell_inbox=False)
            if statuses:
                outcomes.update(_process_account_status_batch(claim, statuses))
            if presence:
                outcomes.update(_process_presence_batch(claim, presence))
            if any(o.state == State.PROCESSED for o in outcomes.values()):
                webhooks_live.inbox_changed()  # once for the batch
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


def webhook_events_drain(*, event_id: int) -> BatchOutcome:
    """What the processing task does: say it has started (a delivery committed from now on
    sends a task of its own: receive.py, `drain_request`), then claim and apply `event_id`
    with the other pending events. After a batch of more than one event, another task
    follows: a backlog may be longer than one batch takes."""
    drain_started()
    outcome = webhook_events_process_batch(event_id=event_id)
    if outcome.claimed > 1:
        drain_request(event_id)
    return outcome


def _lone_status_event(records: list[Record]) -> bool:
    """An account-status event applied in a transaction of its own: one that links a QR
    login takes the QR session's lock before the account's (qr_login_result_apply's order),
    the opposite of a batch's."""
    return any(not isinstance(r, AccountStatusRecord) or r.instance_code for r in records)


def _process_account_status_batch(
    claim: datetime, events: list[WebhookEvent]
) -> dict[int, ProcessOutcome]:
    """Apply several claimed syncWhatsAppStatus events in one transaction (`_apply_together`):
    one claim re-check, one UPDATE of the events and one commit for all of them, instead of
    each per event (the worker's transaction per event was the slowest stage at 50 changes/s:
    docs/live.md), and one set-based UPDATE of their accounts (`account_statuses_apply`),
    which locks them in number order, as the onlineStatus batch does, so the two batches
    never deadlock."""
    outcomes: dict[int, ProcessOutcome] = {}
    parsed: list[tuple[WebhookEvent, list[Record]]] = []
    for event in events:
        try:
            records = parse(event.kind, bytes(event.body))
        except PayloadError:
            outcomes[event.pk] = _process_claimed(claim, event, tell_inbox=False)  # failed
            continue
        if _lone_status_event(records):
            outcomes[event.pk] = _process_claimed(claim, event, tell_inbox=False)
            continue
        parsed.append((event, records))
    if len(parsed) < 2:
        for event, _records in parsed:
            outcomes[event.pk] = _process_claimed(claim, event, tell_inbox=False)
        return outcomes

    def apply(batch: list[tuple[WebhookEvent, list[Record]]]) -> dict[int, int]:
        return account_statuses_apply(
            deliveries=[
                (e.pk, e.received_at, [r for r in rs if isinstance(r, AccountStatusRecord)])
                for e, rs in batch
            ]
        )

    outcomes.update(_apply_together(claim, parsed, apply, "account-status"))
    return outcomes


def _process_presence_batch(
    claim: datetime, events: list[WebhookEvent]
) -> dict[int, ProcessOutcome]:
    """Apply several claimed onlineStatus events in one transaction (`_apply_together`): one
    multi-row INSERT of their history, one UPDATE of the accounts."""
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

    def apply(batch: list[tuple[WebhookEvent, list[PresenceRecord]]]) -> dict[int, int]:
        inserted = presence_deliveries_apply(
            deliveries=[(e.pk, e.received_at, r) for e, r in batch]
        )
        return {e.pk: inserted.get(e.pk, 0) for e, _r in batch}

    outcomes.update(_apply_together(claim, parsed, apply, "onlineStatus"))
    return outcomes


R = TypeVar("R", bound=Record)


def _apply_together(
    claim: datetime,
    parsed: list[tuple[WebhookEvent, list[R]]],
    apply: Callable[[list[tuple[WebhookEvent, list[R]]]], dict[int, int]],
    what: str,
) -> dict[int, ProcessOutcome]:
    """Apply parsed claimed events in one transaction: their claims re-checked under row
    locks, `apply(batch)` (event id -> records applied) for those still ours, then one UPDATE
    marks them processed. On an unexpected error the batch is rolled back and each event is
    processed on its own (one bad event fails alone); a transient database error gives them
    all back and is raised."""
    outcomes: dict[int, ProcessOutcome] = {}
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
            applied = apply(batch) if batch else {}
            done = timezone.now()
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
                            [applied.get(e.pk, 0) for e, _r in batch],
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
        log.exception("batch of %s %s events failed; applying them one by one", len(ids), what)
        for event, _records in parsed:
            outcomes[event.pk] = _process_claimed(claim, event)
        return outcomes
    for event, _records in parsed:
        if event.pk not in still_mine:
            outcomes[event.pk] = ProcessOutcome("skipped")
            continue
        metrics.PROCESSED.labels(event.kind, "processed").inc()
        metrics.LAG.labels(event.kind).observe(max(0.0, (done - event.received_at).total_seconds()))
        outcomes[event.pk] = ProcessOutcome(State.PROCESSED, applied=applied.get(event.pk, 0))
    return outcomes
