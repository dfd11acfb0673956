"""What people do by hand: cancel a queued action, pause or resume a lane, and decide an
unknown action (resend it or mark it failed). Every change is audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from actions import live as actions_live
from actions.events import actions_finished
from actions.models import Action, ActionBatch, Lane, State
from actions.selectors import action_list, sees_all_actions
from actions.services.dispatch.loop import wake_dispatcher
from core.access import signed_in
from core.audit import audit_record


class NotAllowedNow(Exception):
    """The object is not in a state that allows this (e.g. cancelling a sent action)."""


def _who(user: Any) -> str:
    return user.get_username() if signed_in(user) else "system"


def _action_finish(
    *,
    user: Any,
    action: Action,
    expected: str,
    state: str,
    reason: str,
    refusal: Callable[[], str],
    audit_action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> Action:
    """Finish one action by hand: from `expected` to `state`, a conditional update (so a
    dispatcher that took it first wins and this raises NotAllowedNow with `refusal()`); the
    outbox and the audit log are written in the same transaction, live pages told after."""
    now = timezone.now()
    with transaction.atomic():
        updated = Action.objects.filter(pk=action.pk, state=expected).update(
            state=state, reason=reason, finished_at=now, updated_at=now
        )
        if not updated:
            raise NotAllowedNow(refusal())
        actions_finished(ids=[action.pk], finished_at=now)  # the outbox (notify)
        audit_record(
            actor=user,
            action=audit_action,
            target_type="action",
            target_id=str(action.pk),
            before=before,
            after=after,
        )
    actions_live.actions_changed(action_ids=[action.pk])
    action.refresh_from_db()
    return action


def action_cancel(*, user: Any, action: Action) -> Action:
    return _action_finish(
        user=user,
        action=action,
        expected=State.QUEUED,
        state=State.CANCELLED,
        reason=_("Cancelled by %(who)s before it was sent.") % {"who": _who(user)},
        # Read after the refused update: the state that stood in the way.
        refusal=lambda: (
            _("Only queued actions can be cancelled; this one is %(state)s.")
            % {"state": Action.objects.get(pk=action.pk).get_state_display()}
        ),
        audit_action="actions.cancel",
        before={"state": State.QUEUED},
        after={"state": State.CANCELLED},
    )


def actions_cancel_queued(*, user: Any, batch_id: int) -> int:
    """Cancel every still-queued action of a batch."""
    now = timezone.now()
    with transaction.atomic():
        count = Action.objects.filter(batch_id=batch_id, state=State.QUEUED).update(
            state=State.CANCELLED,
            reason=_("Cancelled by %(who)s before it was sent.") % {"who": _who(user)},
            finished_at=now,
            updated_at=now,
        )
        if count:
            audit_record(
                actor=user,
                action="actions.cancel_batch",
                target_type="action_batch",
                target_id=str(batch_id),
                after={"cancelled": count},
            )
            actions_live.actions_changed(
                action_ids=Action.objects.filter(batch_id=batch_id).values_list("id", flat=True)
            )
    return count


def batch_cancel(*, user: Any, batch: ActionBatch) -> int:
    """Cancel the still-queued actions of a batch that `user` may cancel: all of them for a
    supervisor, their own for an agent. Returns how many were cancelled."""
    if sees_all_actions(user):
        return actions_cancel_queued(user=user, batch_id=batch.pk)
    count = 0
    for action in action_list(user).filter(batch=batch, state=State.QUEUED):
        try:
            action_cancel(user=user, action=action)
            count += 1
        except NotAllowedNow:
            continue  # sent meanwhile
    return count


def action_resend(*, user: Any, action: Action) -> Action:
    """A person decided an unknown action did not open the chat: queue it again (at the
    head of its lane, since it keeps its place by id)."""
    now = timezone.now()
    with transaction.atomic():
        updated = Action.objects.filter(pk=action.pk, state=State.UNKNOWN).update(
            state=State.QUEUED,
            attempt_id=None,
            callback_id="",
            sent_at=None,
            next_poll_at=None,
            result_deadline=None,
            seen_by_vendor=False,
            execute_status=None,
            execute_time=None,
            finished_at=None,
            reason=_("Queued again by %(who)s after an unknown outcome.") % {"who": _who(user)},
            updated_at=now,
        )
        if not updated:
            raise NotAllowedNow(_("Only actions in the unknown state can be resent."))
        audit_record(
            actor=user,
            action="actions.resend",
            target_type="action",
            target_id=str(action.pk),
            before={"state": State.UNKNOWN, "reason": action.reason},
            after={"state": State.QUEUED},
        )
        wake_dispatcher()
    actions_live.actions_changed(action_ids=[action.pk])
    action.refresh_from_db()
    return action


def action_mark_failed(*, user: Any, action: Action, note: str = "") -> Action:
    reason = _("Marked failed by %(who)s after an unknown outcome.") % {"who": _who(user)}
    if note.strip():
        reason = f"{reason} {note.strip()}"
    return _action_finish(
        user=user,
        action=action,
        expected=State.UNKNOWN,
        state=State.FAILED,
        reason=reason[:500],
        refusal=lambda: _("Only actions in the unknown state can be marked failed."),
        audit_action="actions.mark_failed",
        before={"state": State.UNKNOWN, "reason": action.reason},
        after={"state": State.FAILED, "reason": reason[:500]},
    )


def lane_pause(*, user: Any, lane: Lane) -> Lane:
    now = timezone.now()
    with transaction.atomic():
        Lane.objects.filter(pk=lane.pk).update(
            paused=True, paused_at=now, paused_by=user if user.is_authenticated else None
        )
        audit_record(
            actor=user,
            action="actions.lane_pause",
            target_type="lane",
            target_id=str(lane.pk),
            before={"paused": lane.paused},
            after={"paused": True},
        )
    lane.refresh_from_db()
    return lane


def lane_resume(*, user: Any, lane: Lane) -> Lane:
    with transaction.atomic():
        Lane.objects.filter(pk=lane.pk).update(paused=False, paused_at=None, paused_by=None)
        audit_record(
            actor=user,
            action="actions.lane_resume",
            target_type="lane",
            target_id=str(lane.pk),
            before={"paused": lane.paused},
            after={"paused": False},
        )
        wake_dispatcher()
    lane.refresh_from_db()
    return lane
