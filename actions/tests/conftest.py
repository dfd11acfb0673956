"""Fixtures of the actions tests: fast lanes against the live simulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache

from accounts.models import Agent, WhatsAppAccount
from actions.models import SETTLED_STATES, Action

INTERVAL = 0.3

BREAKER_KEYS = (
    "upstream:breaker:failures",
    "upstream:breaker:opened_at",
    "upstream:breaker:probe",
)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    """The shared `people` fixture hashes five passwords: use a cheap hasher here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def lanes(simulator: Any, settings: Any) -> Any:
    """The simulator and our lanes agree on a short interval; polls are quick."""
    settings.ACTION_LANE_INTERVAL = INTERVAL
    settings.ACTION_FIRST_POLL_DELAY = 0.05
    settings.ACTION_POLL_INTERVAL = 0.1
    settings.ACTION_RETRY_DELAY = 0.1
    settings.ACTION_AMBIGUOUS_HOLD = 1.0
    settings.ACTION_RESULT_DEADLINE = 5.0
    settings.UPSTREAM_BREAKER_THRESHOLD = 1_000_000
    settings.UPSTREAM_READ_TIMEOUT = 1.0
    simulator.set_action_interval(INTERVAL)
    cache.delete_many(list(BREAKER_KEYS))
    from actions.services import results
    from actions.services.dispatch import loop

    cache.delete_many(
        [loop.LOCK_KEY, loop.WAKE_KEY, loop.SCHEDULED_KEY, results.POLL_SCHEDULED_KEY]
    )
    return simulator


def make_pair(
    simulator: Any,
    agent_account: str,
    whatsapp: str,
    *,
    online: bool = True,
    vendor_online: bool | None = None,
) -> WhatsAppAccount:
    """An agent and a WhatsApp account, here (our state) and at the simulator."""
    agent, _ = Agent.objects.get_or_create(agent_account=agent_account)
    account, _ = WhatsAppAccount.objects.update_or_create(
        whatsapp=whatsapp,
        defaults={
            "agent": agent,
            "agent_account": agent_account,
            "online_status": 2 if online else 4,
            "presence_status": 10 if online else 30,
        },
    )
    simulator.state.upsert_agent(
        user_id=abs(hash(agent_account)) % 10**6, agent_account=agent_account
    )
    simulator.state.set_account(
        whatsapp,
        online=online if vendor_online is None else vendor_online,
        agent_account=agent_account,
    )
    return account


def all_settled() -> bool:
    return not Action.objects.exclude(state__in=SETTLED_STATES).exists()


def drive(until: Callable[[], bool] = all_settled, timeout: float = 30.0) -> None:
    """Run the dispatcher and the poller in this thread until `until()` holds."""
    from actions.services.dispatch.loop import dispatch_loop
    from actions.services.results import poll_once

    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        dispatch_loop(budget=0.5, hold=1.0)
        poll_once()
        if until():
            return
        time.sleep(0.02)
    states = dict(Action.objects.values_list("id", "state"))
    raise AssertionError(f"not settled in {timeout}s: {states}")
