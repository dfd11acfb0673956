"""Sending: one pass sends the claimed actions in batchAdd calls, then records each
call's outcome by a conditional update on the attempt id."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from actions import live as actions_live
from actions.events import actions_finished
from actions.models import Action, Lane, State
from actions.services import config
from actions.services.dispatch.claim import Claimed, claim_due
from actions.services.results import schedule_poll
from upstream import operations
from upstream.errors import NotSent, UpstreamError, UpstreamUnavailable

log = logging.getLogger(__name__)


@dataclass
class PassReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    requeued: int = 0
    unknown: int = 0
    calls: int = 0
    errors: list[str] = field(default_factory=list)


def _finish(
    chunk: Sequence[Claimed],
    *,
    state: State,
    reason: str,
    lane_next: datetime,
    extra: dict[str, Any] | None = None,
) -> int:
    """Move the chunk's actions out of `sending` (only those still on this attempt)."""
    now = timezone.now()
    done = 0
    with transaction.atomic():
        for c in chunk:
            fields: dict[str, Any] = {"state": state, "reason": reason[:500], "updated_at": now}
            if state in (State.FAILED, State.UNKNOWN):
                fields["finished_at"] = now
            if state == State.QUEUED:
                fields["attempt_id"] = None
            if extra:
                fields.update(extra)
            done += Action.objects.filter(
                pk=c.id, state=State.SENDING, attempt_id=c.attempt_id
            ).update(**fields)
        if state in (State.FAILED, State.UNKNOWN):
            actions_finished(ids=[c.id for c in chunk], finished_at=now)  # the outbox (notify)
        Lane.objects.filter(id__in={c.lane_id for c in chunk}).update(next_allowed_at=lane_next)
        actions_live.actions_changed(action_ids=[c.id for c in chunk])
    return done


RECORD_SQL = """
UPDATE actions_action a
SET state = 'sent', callback_id = v.cid, sent_at = %(ended)s, next_poll_at = %(poll)s,
    result_deadline = %(deadline)s, reason = %(reason)s, updated_at = %(ended)s,
    finished_at = NULL
FROM unnest(%(ids)s::bigint[], %(attempts)s::uuid[], %(cids)s::text[]) AS v(id, attempt, cid)
WHERE a.id = v.id AND a.attempt_id = v.attempt AND a.state IN ('sending', 'unknown')
"""


def _record_sent(
    chunk: Sequence[Claimed], ids: Sequence[str], ended: datetime, *, lane_next: datetime
) -> int:
    """`sending` -> `sent` with the callback ids, only for actions still on this attempt (an
    action the sweeper already called unknown after a very slow answer is recorded too,
    unless a person acted on it meanwhile). The lanes wait one interval from `ended`."""
    params: dict[str, Any] = {
        "ended": ended,
        "poll": ended + config.first_poll_delay(),
        "deadline": ended + config.result_deadline(),
        "reason": str(_("Sent to the vendor; waiting for the result.")),
        "ids": [c.id for c in chunk],
        "attempts": [c.attempt_id for c in chunk],
        "cids": list(ids),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(RECORD_SQL, params)
        done = cursor.rowcount
        cursor.execute(
            "UPDATE actions_lane SET next_allowed_at = %s WHERE id = ANY(%s)",
            [lane_next, sorted({c.lane_id for c in chunk})],
        )
        actions_live.actions_changed(action_ids=[c.id for c in chunk])
    return done


@dataclass
class CallOutcome:
    ended: datetime
    ids: list[str] | None = None
    error: Exception | None = None


def call_chunk(chunk: Sequence[Claimed]) -> CallOutcome:
    """One batchAdd call for already-claimed actions (nothing recorded yet)."""
    try:
        ids = operations.batch_add(items=[c.item for c in chunk])
    except (UpstreamError, UpstreamUnavailable) as exc:
        return CallOutcome(ended=timezone.now(), error=exc)
    return CallOutcome(ended=timezone.now(), ids=list(ids))


def call_isolating(chunk: Sequence[Claimed]) -> list[tuple[Sequence[Claimed], CallOutcome]]:
    """batchAdd for the chunk; a refused call (a business error: nothing was done) is split
    in halves and each sent again, until the refused actions are alone: only they fail,
    with the vendor's reason. Returns each call's (actions, outcome)."""
    outcome = call_chunk(chunk)
    if isinstance(outcome.error, UpstreamError) and len(chunk) > 1:
        middle = len(chunk) // 2
        return call_isolating(chunk[:middle]) + call_isolating(chunk[middle:])
    return [(chunk, outcome)]


def record_chunk(
    chunk: Sequence[Claimed], outcome: CallOutcome, report: PassReport, *, lane_next: datetime
) -> None:
    """Record one call's outcome. `lane_next` (the end of the pass's last call + interval)
    is when the chunk's lanes may send again after a clear answer."""
    interval = config.lane_interval()
    report.calls += 1
    exc = outcome.error
    ended = outcome.ended
    if isinstance(exc, UpstreamError):
        reason = _("The vendor refused the action: %(msg)s") % {"msg": exc}
        report.failed += _finish(chunk, state=State.FAILED, reason=reason, lane_next=lane_next)
        report.errors.append(str(exc))
        return
    if exc is not None:
        if isinstance(exc, NotSent):
            reason = _("Not sent (%(why)s); it will be retried automatically.") % {"why": exc}
            report.requeued += _finish(
                chunk, state=State.QUEUED, reason=reason, lane_next=ended + config.retry_delay()
            )
        else:
            reason = _(
                "batchAdd got no clear answer (%(why)s): the vendor may or may not have "
                "opened the chat. Check with the agent, then resend or mark it failed."
            ) % {"why": exc}
            hold = timedelta(seconds=float(settings.ACTION_AMBIGUOUS_HOLD))
            report.unknown += _finish(
                chunk, state=State.UNKNOWN, reason=reason, lane_next=ended + interval + hold
            )
        report.errors.append(str(exc))
        return
    ids = outcome.ids or []
    if len(ids) != len(chunk) or not all(ids):
        reason = _(
            "The vendor answered batchAdd with %(got)d ids for %(want)d actions, so they "
            "cannot be matched: it may or may not have opened the chats."
        ) % {"got": len([i for i in ids if i]), "want": len(chunk)}
        report.unknown += _finish(chunk, state=State.UNKNOWN, reason=reason, lane_next=lane_next)
        return
    report.sent += _record_sent(chunk, ids, ended, lane_next=lane_next)


_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    """Threads for concurrent batchAdd calls of one pass (HTTP only: no database work)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=config.send_concurrency(), thread_name_prefix="actions-send"
        )
    return _pool


def dispatch_once(*, now: datetime | None = None) -> PassReport:
    """One pass: claim every due lane's head and send them, `ACTION_BATCH_SIZE` per call.

    All calls go out first, back to back, then all outcomes are recorded; every lane of the
    pass waits one interval from the end of the pass's last call, so the lanes claimed
    together stay together and the next pass claims them all at once."""
    report = PassReport()
    t0 = time.perf_counter()
    claimed = claim_due(now=now)
    t1 = time.perf_counter()
    report.claimed = len(claimed)
    size = config.batch_size()
    chunks = [claimed[i : i + size] for i in range(0, len(claimed), size)]
    if claimed:
        # Claimed up to `claim_lead` early: never send before the lane's time.
        due = max((c.due_at for c in claimed if c.due_at is not None), default=None)
        if due is not None:
            early = (due - timezone.now()).total_seconds()
            if early > 0:
                time.sleep(early)
    if len(chunks) > 1:
        calls = [c for part in _executor().map(call_isolating, chunks) for c in part]
    else:
        calls = [c for chunk in chunks for c in call_isolating(chunk)]
    if calls:
        lane_next = max(o.ended for _c, o in calls) + config.lane_interval()
        for chunk, outcome in calls:
            record_chunk(chunk, outcome, report, lane_next=lane_next)
    if claimed:
        log.debug(
            "actions: pass claimed=%d sent=%d calls=%d claim_ms=%.1f send_ms=%.1f",
            report.claimed,
            report.sent,
            report.calls,
            (t1 - t0) * 1000,
            (time.perf_counter() - t1) * 1000,
        )
    if report.sent:
        schedule_poll()
    return report
