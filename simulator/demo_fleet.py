"""The demo fleet, defined once: `demo_seed` stores it in our database and the simulator
starts with the same fleet, so a fresh `make demo` shows no drift to reconcile."""

from __future__ import annotations

from dataclasses import dataclass

# (upstream user id, agent account, name)
DEMO_AGENTS = (
    (10001, "agent01", "Demo Agent"),
    (10002, "agent02", "Second Agent"),
)


@dataclass(frozen=True)
class DemoAccount:
    whatsapp: str
    name: str
    banned: bool
    online: bool
    agent_account: str


def demo_fleet(count: int = 24) -> list[DemoAccount]:
    """Every eleventh account banned, two thirds of the rest online, agents alternating."""
    fleet = []
    for i in range(count):
        banned = i % 11 == 0
        fleet.append(
            DemoAccount(
                whatsapp=f"86138000{i:04d}",
                name=f"Demo {i:02d}",
                banned=banned,
                online=not banned and i % 3 != 0,
                agent_account=DEMO_AGENTS[i % 2][1],
            )
        )
    return fleet
