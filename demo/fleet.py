"""The demo fleet, defined once: `demo_seed` stores it in our database and the simulator
starts with the same fleet, so a fresh `make demo` shows no drift to reconcile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

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


def seed_demo_fleet(count: int = 24) -> int:
    from django.utils import timezone

    from accounts.choices import AccountStatus, OnlineStatus, Presence
    from accounts.models import Agent, WhatsAppAccount

    agents = {}
    for user_id, account, name in DEMO_AGENTS:
        agents[account], _created = Agent.objects.get_or_create(
            agent_account=account, defaults={"upstream_user_id": str(user_id), "user_name": name}
        )
    now = timezone.now()
    fleet = demo_fleet(count)
    for i, demo in enumerate(fleet):
        presence = Presence.ONLINE if demo.online else Presence.OFFLINE
        WhatsAppAccount.objects.update_or_create(
            whatsapp=demo.whatsapp,
            defaults={
                "name": demo.name,
                "status": AccountStatus.BANNED if demo.banned else AccountStatus.NORMAL,
                "online_status": OnlineStatus.ONLINE if demo.online else OnlineStatus.OFFLINE,
                "presence_status": Presence.BANNED if demo.banned else presence,
                "agent": agents[demo.agent_account],
                "agent_account": demo.agent_account,
                "platform": 1,
                "country": "CN",
                "last_event_at": now - timedelta(minutes=i * 7),
            },
        )
    return len(fleet)
