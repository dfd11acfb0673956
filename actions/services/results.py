"""Results: poll callbackResult for sent actions (ids batched), apply deadlines, and sweep
actions stuck in `sending` (their worker died between the call and the record)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from actions import live as actions_live
from actions.events import actions_finished
from actions.models import Action, ExecuteStatus, Lane, State
from actions.services import config
from core.tasks import enqueue
from upstream import operations
from upstream.errors import UpstreamError, UpstreamUnavailable
from upstream.types import ActionResult

log = logging.getLogger(__name__)

POLL_SCHEDULED_KEY = "actions:poll:scheduled"


@dataclass
class PollReport:
    polled: int = 0
    succeeded: int = 0
    failed: int = 0
    expired: int = 0
    calls: int = 0
    call_errors: int = 0


def _when(value: datetime) -> str:
    return date_format(timezone.localtime(value), "Y-m-d H:i:s T")


def claim_pollable(*, now: datetime, limit: int) -> list[tuple[int, str]]:
    """Claim sent actions due for a poll: pushing `next_poll_at` ahead in the claiming
    transaction keeps two pollers from asking about the same ids at once."""
    with transaction.atomic():
        rows = list(
            Action.objects.select_for_update(skip_locked=True)
            .filter(state=State.SENT, next_poll_at__lte=now)
            .order_by("next_poll_at", "id")
            .values_list("id", "callback_id")[:limit]
        )
        if rows:
            Action.objects.filter(id__in=[r[0] for r in rows]).update(
                next_poll_at=now + config.poll_interval(), polls=F("polls") + 1
            )
    return rows


def poll_chunk(rows: Sequence[tuple[int, str]], report: PollReport) -> None:
    report.calls += 1
    try:
        results = operations.callback_result(ids=[cid for _pk, cid in rows])
    except (UpstreamUnavailable, UpstreamError) as exc:
        # A read: nothing to undo. The next poll asks again, the deadline ends it.
        report.call_errors += 1
        log.warning("actions: callbackResult failed for %d ids: %s", len(rows), exc)
        return
    by_id = {r.id: r for r in results}
    report.polled += len(rows)
    outcome = apply_results([(pk, by_id.get(cid)) for pk, cid in rows])
    report.succeeded += outcome[State.SUCCEEDED]
    report.failed += outcome[State.FAILED]


def apply_results(pairs: Sequence[tuple[int, ActionResult | None]]) -> dict[str, int]:
    """Record a chunk of callbackResult rows with a few grouped updates (successes grouped
    by their execute time, which the vendor gives to the second)."""
    now = timezone.now()
    done: dict[str, int] = {State.SUCCEEDED: 0, State.FAILED: 0}
    ok_by_time: dict[datetime | None, list[int]] = {}
    failed: dict[datetime | None, list[int]] = {}
    pending: dict[int | None, list[int]] = {}
    for pk, result in pairs:
        if result is None:
            continue
        if result.execute_status == ExecuteStatus.SUCCEEDED:
            ok_by_time.setdefault(result.execute_time, []).append(pk)
        elif result.execute_status == ExecuteStatus.FAILED:
            failed.setdefault(result.execute_time, []).append(pk)
        else:
            pending.setdefault(result.execute_status, []).append(pk)
    with transaction.atomic():
        for when, pks in ok_by_time.items():
            reason = (
                _("The vendor opened the chat at %(t)s.") % {"t": _when(when)}
                if when
                else _("The vendor reports the chat opened.")
            )
            done[State.SUCCEEDED] += Action.objects.filter(pk__in=pks, state=State.SENT).update(
                state=State.SUCCEEDED,
                execute_status=ExecuteStatus.SUCCEEDED,
                execute_time=when,
                seen_by_vendor=True,
                finished_at=now,
                reason=reason,
                updated_at=now,
            )
        for when, pks in failed.items():
            done[State.FAILED] += Action.objects.filter(pk__in=pks, state=State.SENT).update(
                state=State.FAILED,
                execute_status=ExecuteStatus.FAILED,
                execute_time=when,
                seen_by_vendor=True,
                finished_at=now,
                reason=_(
                    "The vendor reports the action failed (executeStatus 2): usually the "
                    "agent or the WhatsApp account was not logged in within 1 minute."
                ),
                updated_at=now,
            )
        finished = [pk for pks in (*ok_by_time.values(), *failed.values()) for pk in pks]
        actions_finished(ids=finished, finished_at=now)  # the outbox (notify)
        for status, pks in pending.items():
            Action.objects.filter(pk__in=pks, state=State.SENT).update(
                seen_by_vendor=True,
                execute_status=status,
                reason=_("The vendor has not executed it yet; checking again."),
                updated_at=now,
            )
        actions_live.actions_changed(action_ids=[pk for pk, result in pairs if result is not None])
    return done


def expire_overdue(*, now: datetime | None = None) -> int:
    """Sent actions past their result deadline: failed when the vendor kept reporting them
    as not executed (it fails them itself after a minute), unknown when it never reported
    them at all."""
    now = now or timezone.now()
    done = 0
    overdue = Action.objects.filter(state=State.SENT, result_deadline__lt=now)
    for action in overdue.only("id", "result_deadline", "seen_by_vendor")[:5000]:
        deadline = _when(action.result_deadline) if action.result_deadline else "?"
        if action.seen_by_vendor:
            state = State.FAILED
            reason = _(
                "No result from the vendor by %(deadline)s: it still reported the action "
                "as not executed."
            ) % {"deadline": deadline}
        else:
            state = State.UNKNOWN
            reason = _(
                "No result from the vendor by %(deadline)s: it never reported this callback "
                "id, so whether the chat opened is unknown."
            ) % {"deadline": deadline}
        with transaction.atomic():
            changed = Action.objects.filter(pk=action.pk, state=State.SENT).update(
                state=state, reason=reason, finished_at=now, updated_at=now
            )
            if changed:
                actions_finished(ids=[action.pk], finished_at=now)  # the outbox (notify)
                actions_live.actions_changed(action_ids=[action.pk])
        done += changed
    return done


def poll_once(*, now: datetime | None = None, limit: int = 5000) -> PollReport:
    now = now or timezone.now()
    report = PollReport()
    rows = claim_pollable(now=now, limit=limit)
    size = config.poll_batch_size()
    for start in range(0, len(rows), size):
        poll_chunk(rows[start : start + size], report)
    report.expired = expire_overdue()
    return report


def seconds_until_next_poll(*, now: datetime | None = None) -> float | None:
    now = now or timezone.now()
    earliest = (
        Action.objects.filter(state=State.SENT)
        .order_by("next_poll_at")
        .values_list("next_poll_at", flat=True)
    ).first()
    if earliest is None:
        return None
    return max(0.0, (earliest - now).total_seconds())


def schedule_poll(delay: float | None = None) -> None:
    """Enqueue the poller in `delay` seconds (default: the first poll delay), unless a poll
    is already scheduled."""
    delay = config.first_poll_delay().total_seconds() if delay is None else max(0.0, delay)
    try:
        if not cache.add(POLL_SCHEDULED_KEY, time.time() + delay, timeout=max(1, int(delay) + 1)):
            return
    except Exception:
        log.warning("actions: cache unavailable; scheduling the poller anyway")
    enqueue("actions.tasks.poll_results", countdown=delay)


def poller_run() -> PollReport:
    """The poller task's body: one pass, then re-arm while sent actions remain."""
    try:
        cache.delete(POLL_SCHEDULED_KEY)
    except Exception:
        log.debug("actions: cache unavailable", exc_info=True)
    sweep_stuck()
    report = poll_once()
    wait = seconds_until_next_poll()
    if wait is not None:
        schedule_poll(max(wait, 0.2))
    return report


# --- the sweeper --------------------------------------------------------------------------


def sweep_stuck(*, now: datetime | None = None) -> int:
    """Actions `sending` for longer than the sending deadline lost their worker between
    batchAdd and the record: the vendor may have opened the chat, so they become unknown
    for a person to decide. Their lanes wait one more interval."""
    now = now or timezone.now()
    cutoff = now - config.sending_deadline()
    stuck = list(
        Action.objects.filter(state=State.SENDING, claimed_at__lt=cutoff).values_list(
            "id", "lane_id"
        )[:5000]
    )
    if not stuck:
        return 0
    reason = _(
        "The worker stopped between sending to the vendor and recording the answer: the "
        "chat may or may not have opened. Check with the agent, then resend or mark it failed."
    )
    with transaction.atomic():
        done = Action.objects.filter(
            id__in=[s[0] for s in stuck], state=State.SENDING, claimed_at__lt=cutoff
        ).update(state=State.UNKNOWN, reason=reason, finished_at=now, updated_at=now)
        actions_finished(ids=[s[0] for s in stuck], finished_at=now)  # the outbox (notify)
        Lane.objects.filter(id__in={s[1] for s in stuck}).update(
            next_allowed_at=Greatest(F("next_allowed_at"), now + config.lane_interval())
        )
        actions_live.actions_changed(action_ids=[s[0] for s in stuck])
    if done:
        log.warning("actions: %d actions stuck in sending became unknown", done)
    return done
