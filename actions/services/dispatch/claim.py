"""Claiming: the head action of every due lane, in one statement (see the package's
invariants)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, Min, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from actions import live as actions_live
from actions.models import Action, Lane, State
from actions.services import config
from upstream.types import ActionItem


@dataclass
class Claimed:
    id: int
    lane_id: int
    attempt_id: uuid.UUID
    item: ActionItem
    due_at: datetime | None = None  # the lane's next_allowed_at: not to be sent before


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
        actions_live.actions_changed(action_ids=[r[0] for r in rows])
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
