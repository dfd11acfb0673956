"""A refused batchAdd call is split until the refused actions are alone: only they fail,
with the vendor's reason; the others are sent (simulator business-error faults)."""

from __future__ import annotations

from typing import Any

import pytest

from actions.models import Action, State
from actions.services.intake import ActionSpec, actions_queue
from actions.tests.conftest import drive, make_pair

pytestmark = pytest.mark.django_db(transaction=True)

LANES = 8


def test_a_refused_batch_fails_only_the_refused_actions(people: Any, lanes: Any) -> None:
    pairs = [("alice01", f"86100000{i:03d}") for i in range(LANES)]
    for agent, wa in pairs:
        make_pair(lanes, agent, wa)
    actions_queue(
        user=people.supervisor,
        specs=[
            ActionSpec(
                agent_account=agent,
                whatsapp=wa,
                friend_whatsapp=f"7{n:03d}00001",
                platform=1,
                content="hello",
            )
            for n, (agent, wa) in enumerate(pairs)
        ],
    )
    # Seeded: the first call (all eight) is refused, and so are some of its halves.
    lanes.set_faults(0.4, ["business"], paths=["/open/action/batchAdd"], seed=1)
    drive(timeout=20)
    calls = lanes.calls("/open/action/batchAdd")
    assert len(calls[0]["body"]["data"]) == LANES and calls[0]["fault"] == "business"
    failed = list(Action.objects.filter(state=State.FAILED))
    succeeded = Action.objects.filter(state=State.SUCCEEDED).count()
    assert failed and succeeded and len(failed) + succeeded == LANES
    refused_alone = {
        c["body"]["data"][0]["friendWhatsId"]
        for c in calls
        if c["fault"] == "business" and len(c["body"]["data"]) == 1
    }
    for action in failed:
        assert action.friend_whatsapp in refused_alone  # refused on its own, not for a neighbour
        assert "The vendor refused the action" in action.reason
    assert len(calls) <= 2 * LANES - 1
