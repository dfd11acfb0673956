"""The lane scheduler: claim the due heads of all lanes, send them in batchAdd calls,
record what happened. See docs/actions.md for the protocol and why it holds.

Invariants:
- A lane is claimed only under `SELECT ... FOR UPDATE SKIP LOCKED`, only when it is not
  paused, its `next_allowed_at` has passed and none of its actions is `sending`; the same
  transaction moves its head to `sending` (the intent, with a fresh attempt id) and pushes
  `next_allowed_at` one interval ahead. So two dispatchers never claim one lane twice.
- After the call, `next_allowed_at` becomes (end of the call + interval): the vendor received
  the request before the answer came back, so the next request of the lane reaches it at
  least one interval later, whatever the network did.
- An action leaves `sending` only by a conditional update on its attempt id: to `sent` (id
  returned), `failed` (the vendor said no), `queued` (the call certainly never left), or
  `unknown` (the call may have reached the vendor; a person decides). Never resent silently.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, Min, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from actions.models import Action, Lane, State
from actions.services import config
from core import live
from core.tasks import enqueue
from notify.hooks import actions_finished
from upstream import operations
from upstream.errors import NotSent, UpstreamError, UpstreamUnavailable
from upstream.types import ActionItem

log = logging.getLogger(__name__)

LOCK_KEY = "actions:dispatcher:lock"
WAKE_KEY = "actions:dispatcher:wake"
SCHEDULED_KEY = "actions:dispatcher:scheduled_at"


@dataclass
class Claimed:
    id: int
    lane_id: int
    attempt_id: uuid.UUID
    item: ActionItem
    due_at: datetime | None = None  # the lane's next_allowed_at: not to be sent before


@dataclass
class PassReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    requeued: int = 0
    unknown: int = 0
    calls: int = 0
    errors: list[str] = field(default_factory=list)


# --- claiming -----------------------------------------------------------------------------


CLAIM_SQL = """
WITH due AS (
    SELECT l.id, l.next_allowed_at
    FROM actions_lane l
    WHERE NOT l.paused
      AND l.next_allowed_at <= %(horizon)s
      AND EXISTS (
        SELECT 1 FROM actions_action q WHERE q.lane_id = l.id AND q.state = 'queued'
      )
      AND NOT EXISTS (
        SELECT 1 FROM actions_action s WHERE s.lane_id = l.id AND s.state = 'sending'
      )
    ORDER BY l.next_allowed_at, l.id
    LIMIT %(limit)s
    FOR UPDATE OF l SKIP LOCKED
), heads AS (
    SELECT DISTINCT ON (a.lane_id) a.id
    FROM actions_action a JOIN due ON a.lane_id = due.id
    WHERE a.state = 'queued'
    ORDER BY a.lane_id, a.id
), claimed AS (
    UPDATE actions_action a
    SET state = 'sending', attempt_id = gen_random_uuid(), attempts = a.attempts + 1,
        claimed_at = %(now)s, updated_at = %(now)s, reason = %(reason)s
    FROM heads
    WHERE a.id = heads.id AND a.state = 'queued'
    RETURNING a.id, a.lane_id, a.attempt_id, a.agent_account, a.whatsapp,
              a.friend_whatsapp, a.platform, a.content
), advanced AS (
    UPDATE actions_lane l
    SET next_allowed_at = GREATEST(l.next_allowed_at, %(now)s) + %(interval)s,
        last_sent_at = %(now)s
    FROM (SELECT DISTINCT lane_id FROM claimed) c
    WHERE l.id = c.lane_id
)
SELECT c.id, c.lane_id, c.attempt_id, c.agent_account, c.whatsapp, c.friend_whatsapp,
       c.platform, c.content, due.next_allowed_at
FROM claimed c JOIN due ON due.id = c.lane_id
ORDER BY c.id
"""


def claim_due(*, now: datetime | None = None, limit: int | None = None) -> list[Claimed]:
    """Claim the head action of every due lane (up to `limit` lanes) in one transaction.

    One statement (CLAIM_SQL): lanes locked with FOR UPDATE SKIP LOCKED, heads moved to
    `sending`, lanes pushed one interval ahead."""
    now = now or timezone.now()
    limit = limit or config.claim_limit()
    params: dict[str, Any] = {
        "now": now,
        "horizon": now + timedelta(seconds=config.claim_lead()),
        "interval": config.lane_interval(),
        "limit": limit,
        "reason": str(_("Sending to the vendor.")),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, params)
        rows = cursor.fetchall()
        live.actions_changed(action_ids=[r[0] for r in rows])
    return [
        Claimed(
            id=r[0],
            lane_id=r[1],
            attempt_id=r[2] if isinstance(r[2], uuid.UUID) else uuid.UUID(str(r[2])),
            item=ActionItem(
                agent_account=r[3],
                whatsapp=r[4],
                friend_whatsapp=r[5],
                platform_type=r[6],
                content=r[7],
            ),
            due_at=r[8],
        )
        for r in rows
    ]


# --- sending ------------------------------------------------------------------------------


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
        live.actions_changed(action_ids=[c.id for c in chunk])
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
        live.actions_changed(action_ids=[c.id for c in chunk])
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
        outcomes = list(_executor().map(call_chunk, chunks))
    else:
        outcomes = [call_chunk(chunk) for chunk in chunks]
    if outcomes:
        lane_next = max(o.ended for o in outcomes) + config.lane_interval()
        for chunk, outcome in zip(chunks, outcomes, strict=True):
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
        from actions.services.results import schedule_poll

        schedule_poll()
    return report


def seconds_until_next_due(*, now: datetime | None = None) -> float | None:
    """Seconds until the earliest lane with queued work may send (0 if one is due now);
    None when no unpaused lane has queued work (lanes mid-send are left to their sender)."""
    now = now or timezone.now()
    queued = Action.objects.filter(lane=OuterRef("pk"), state=State.QUEUED)
    sending = Action.objects.filter(lane=OuterRef("pk"), state=State.SENDING)
    earliest = (
        Lane.objects.filter(paused=False)
        .filter(Exists(queued))
        .exclude(Exists(sending))
        .aggregate(m=Min("next_allowed_at"))["m"]
    )
    if earliest is None:
        return None
    return max(0.0, (earliest - now).total_seconds())


# --- the loop, its lock and its wake-ups -------------------------------------------------


def _wake_token() -> Any:
    try:
        return cache.get(WAKE_KEY)
    except Exception:  # the cache is down: fall back to polling
        return None


def wake_dispatcher() -> None:
    """Call inside the transaction that created or released work: on commit, a running
    dispatcher loop is woken, or a dispatcher task is enqueued."""
    transaction.on_commit(_wake_now)


def _wake_now() -> None:
    try:
        cache.set(WAKE_KEY, uuid.uuid4().hex, timeout=3600)
        running = cache.get(LOCK_KEY) is not None
    except Exception:
        running = False
    if not running:
        schedule_dispatch(0.0)


def schedule_dispatch(delay: float) -> None:
    """Enqueue the dispatcher task in `delay` seconds, unless one is already due by then."""
    target = time.time() + max(0.0, delay)
    try:
        existing = cache.get(SCHEDULED_KEY)
        if existing is not None and time.time() - 1.0 <= float(existing) <= target + 0.02:
            return
        cache.set(SCHEDULED_KEY, target, timeout=int(delay) + 60)
    except Exception:
        log.warning("actions: cache unavailable; scheduling the dispatcher anyway")
    enqueue("actions.tasks.dispatch_lanes", countdown=delay if delay > 0 else None)


def _sleep_until(deadline: float, token: Any) -> None:
    """Sleep until `deadline` (monotonic), waking early when someone signals new work."""
    step = config.wake_check()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, step))
        if left > step and _wake_token() != token:
            return


@dataclass
class LoopReport:
    passes: int = 0
    sent: int = 0
    outcome: str = ""
    next_in: float | None = None


def dispatch_loop(*, budget: float | None = None, hold: float | None = None) -> LoopReport:
    """Dispatch passes back to back, sleeping in-process until the next lane is due while
    that is within `hold` seconds and the `budget` lasts."""
    budget = config.dispatch_budget() if budget is None else budget
    hold = config.dispatch_hold() if hold is None else hold
    ends = time.monotonic() + budget
    out = LoopReport()
    while True:
        token = _wake_token()
        report = dispatch_once()
        out.passes += 1
        out.sent += report.sent
        wait = seconds_until_next_due()
        out.next_in = wait
        if wait is None:
            out.outcome = "idle"
            return out
        if wait > hold or time.monotonic() + wait > ends:
            out.outcome = "later"
            return out
        _sleep_until(time.monotonic() + max(0.0, wait - config.claim_lead()), token)
        _refresh_lock()


_lock_token: str | None = None


def _acquire_lock(ttl: float) -> bool:
    global _lock_token
    token = uuid.uuid4().hex
    try:
        ok = bool(cache.add(LOCK_KEY, token, timeout=int(ttl) + 1))
    except Exception:
        ok = True  # no cache: correctness never depended on the lock
    _lock_token = token if ok else None
    return ok


def _refresh_lock() -> None:
    try:
        if _lock_token is not None and cache.get(LOCK_KEY) == _lock_token:
            cache.touch(LOCK_KEY, timeout=int(config.dispatch_budget()) + 30)
    except Exception:
        log.debug("actions: cache unavailable", exc_info=True)


def _release_lock() -> None:
    global _lock_token
    try:
        if _lock_token is not None and cache.get(LOCK_KEY) == _lock_token:
            cache.delete(LOCK_KEY)
    except Exception:
        log.debug("actions: cache unavailable", exc_info=True)
    _lock_token = None


def dispatcher_run() -> LoopReport:
    """The dispatcher task's body: one loop at a time (cache lock), then re-arm itself for
    the next due lane. The lock only saves work: correctness rests on the lane claim."""
    from actions.services.results import sweep_stuck

    sweep_stuck()
    if not _acquire_lock(config.dispatch_budget() + 30):
        return LoopReport(outcome="busy")
    try:
        try:
            cache.delete(SCHEDULED_KEY)
        except Exception:
            log.debug("actions: cache unavailable", exc_info=True)
        out = dispatch_loop()
    finally:
        _release_lock()
    # Work may have arrived after the loop's last look but while it still held the lock.
    wait = seconds_until_next_due()
    if wait is not None:
        schedule_dispatch(wait)
    return out
