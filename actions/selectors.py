"""Reads of the actions app. Scoping: supervisors and admins (MANAGE_ACTIONS) see every
action and lane; an agent sees those of the agent account linked to their user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from actions.models import Action, ActionBatch, Lane, State
from core.access import can, visible
from core.roles import Cap


def sees_all_actions(user: Any) -> bool:
    return can(user, Cap.MANAGE_ACTIONS)


def action_list(user: Any) -> QuerySet[Action]:
    return visible(user, Action.objects.select_related("batch"), sees_all=Cap.MANAGE_ACTIONS)


def action_get(user: Any, pk: int) -> Action:
    action = action_list(user).filter(pk=pk).first()
    if action is None:
        raise Http404("No such action")
    return action


def lane_list(user: Any) -> QuerySet[Lane]:
    qs = Lane.objects.annotate(
        queued=Count("actions", filter=Q(actions__state=State.QUEUED)),
        in_flight=Count("actions", filter=Q(actions__state__in=[State.SENDING, State.SENT])),
        unknown=Count("actions", filter=Q(actions__state=State.UNKNOWN)),
    )
    return visible(user, qs, sees_all=Cap.MANAGE_ACTIONS)


def lane_get(user: Any, pk: int) -> Lane:
    lane = lane_list(user).filter(pk=pk).first()
    if lane is None:
        raise Http404("No such lane")
    return lane


def batch_list(user: Any) -> QuerySet[ActionBatch]:
    return visible(user, ActionBatch.objects.all(), sees_all=Cap.MANAGE_ACTIONS)


def batch_get(user: Any, pk: int) -> ActionBatch:
    batch = batch_list(user).filter(pk=pk).first()
    if batch is None:
        raise Http404("No such batch")
    return batch


def draft_get(user: Any, pk: int) -> ActionBatch:
    """A batch someone may decide: a draft is decided by whoever uploaded it, or a
    supervisor (others get 404, as for what they cannot see)."""
    batch = batch_get(user, pk)
    if batch.created_by_id != getattr(user, "pk", None) and not sees_all_actions(user):
        raise Http404("No such batch")
    return batch


@dataclass
class Progress:
    total: int
    counts: dict[str, int]

    @property
    def settled(self) -> int:
        return sum(
            self.counts.get(s, 0)
            for s in (State.SUCCEEDED, State.FAILED, State.UNKNOWN, State.CANCELLED)
        )

    @property
    def done(self) -> bool:
        return self.settled >= self.total

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.settled / self.total)

    def rows(self) -> list[tuple[str, str, int]]:
        return [(s.value, str(s.label), self.counts.get(s.value, 0)) for s in State]


def batch_progress(user: Any, batch: ActionBatch) -> Progress:
    qs = action_list(user).filter(batch=batch)
    counts = {row["state"]: row["n"] for row in qs.values("state").annotate(n=Count("id"))}
    return Progress(total=sum(counts.values()), counts=counts)


@dataclass
class Filters:
    state: str = ""
    agent_account: str = ""
    whatsapp: str = ""
    batch: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def action_filter(qs: QuerySet[Action], f: Filters) -> QuerySet[Action]:
    if f.state:
        qs = qs.filter(state=f.state)
    if f.agent_account:
        qs = qs.filter(agent_account=f.agent_account)
    if f.whatsapp:
        qs = qs.filter(Q(whatsapp=f.whatsapp) | Q(friend_whatsapp=f.whatsapp))
    if f.batch:
        qs = qs.filter(batch_id=f.batch)
    tz = timezone.get_current_timezone()
    if f.date_from:
        qs = qs.filter(created_at__gte=datetime.combine(f.date_from, time.min, tzinfo=tz))
    if f.date_to:
        qs = qs.filter(created_at__lte=datetime.combine(f.date_to, time.max, tzinfo=tz))
    return qs.order_by("-created_at", "-id")
