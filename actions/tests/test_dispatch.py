"""Lanes against the live simulator: spacing, parallel lanes, results."""

from __future__ import annotations

from typing import Any

import pytest

from actions.models import Action, State
from actions.services.intake import ActionSpec, actions_queue
from actions.tests.conftest import INTERVAL, drive, make_pair

pytestmark = pytest.mark.django_db(transaction=True)


def _queue(people: Any, pairs: list[tuple[str, str]], per_lane: int) -> list[Action]:
    specs = [
        ActionSpec(
            agent_account=agent,
            whatsapp=wa,
            friend_whatsapp=f"7{lane:03d}{n:05d}",
            platform=1,
            content=f"hello {n}",
        )
        for n in range(per_lane)
        for lane, (agent, wa) in enumerate(pairs)
    ]
    return actions_queue(user=people.supervisor, specs=specs)


def test_lanes_keep_spacing_and_run_in_parallel(people: Any, lanes: Any) -> None:
    pairs = [("alice01", f"86100000{i:03d}") for i in range(4)] + [("bob01", "86200000001")]
    for agent, wa in pairs:
        make_pair(lanes, agent, wa)
    _queue(people, pairs, per_lane=4)

    drive()

    assert lanes.state.violations == []
    states = set(Action.objects.values_list("state", flat=True))
    assert states == {State.SUCCEEDED}, states
    assert all(a.callback_id and a.execute_time for a in Action.objects.all())
    calls = lanes.calls("/open/action/batchAdd")
    # 5 lanes x 4 actions: the due heads of all lanes go out together, so about 4 rounds.
    assert len(calls) <= 6, len(calls)
    opened = lanes.state.opened
    assert len(opened) == 20
    assert len({o["friendWhatsId"] for o in opened}) == 20
    # Each lane's sends are at least one interval apart, and lanes did not wait for
    # each other: the whole run took about (4 - 1) intervals, not 19.
    times = sorted(c["time"] for c in calls)
    assert times[-1] - times[0] < 19 * INTERVAL


def test_vendor_failure_is_reported(people: Any, lanes: Any) -> None:
    make_pair(lanes, "alice01", "8610000001", online=False)
    _queue(people, [("alice01", "8610000001")], per_lane=1)
    drive(timeout=10)
    action = Action.objects.get()
    assert action.state == State.FAILED
    assert "executeStatus 2" in action.reason
    assert action.warnings  # offline by our state: the pre-check warned
