"""What the live stream says when open-chat actions change (registered with core.live in
ActionsConfig.ready). An action is its agent's (its agent account's user); a batch is also
its creator's; holders of manage_actions hear them all. The actions app's live events are
named here, not in core."""

from __future__ import annotations

from collections.abc import Iterable

from actions.models import Action
from core import live
from core.roles import Cap

ACTIONS = "actions"


def actions_changed(*, action_ids: Iterable[int]) -> None:
    """Open-chat actions changed state: their detail, their batch, the lanes and lists."""
    live.topic_changed(ACTIONS, action_ids)


def action_audience(ids: list[int]) -> Iterable[tuple[list[str], set[int | None]]]:
    rows = Action.objects.filter(pk__in=ids).values_list(
        "id", "batch_id", "agent__user_id", "batch__created_by_id"
    )
    by_owner: dict[int | None, list[str]] = {}
    batches: dict[int, set[int | None]] = {}
    for pk, batch_id, agent_user, batch_owner in rows:
        by_owner.setdefault(agent_user, []).append(f"action-{pk}")
        if batch_id:
            batches.setdefault(batch_id, set()).update({agent_user, batch_owner})
    for owner, events in by_owner.items():
        yield [*events, "lanes", "actions"], {owner}
    for batch_id, owners in batches.items():
        yield [f"batch-{batch_id}"], owners


def register() -> None:
    live.register_topic(ACTIONS, audience=action_audience, cap=Cap.MANAGE_ACTIONS)
