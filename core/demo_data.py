"""A small demo fleet so every page has something to show."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.choices import AccountStatus, OnlineStatus, Presence
from accounts.models import Agent, WhatsAppAccount


def seed_demo_fleet(count: int = 24) -> int:
    agent = Agent.objects.filter(agent_account="agent01").first()
    now = timezone.now()
    for i in range(count):
        number = f"86138000{i:04d}"
        banned = i % 11 == 0
        online = not banned and i % 3 != 0
        WhatsAppAccount.objects.update_or_create(
            whatsapp=number,
            defaults={
                "name": f"Demo {i:02d}",
                "status": AccountStatus.BANNED if banned else AccountStatus.NORMAL,
                "online_status": OnlineStatus.ONLINE if online else OnlineStatus.OFFLINE,
                "presence_status": Presence.BANNED
                if banned
                else (Presence.ONLINE if online else Presence.OFFLINE),
                "agent": agent if i % 2 == 0 else None,
                "agent_account": "agent01" if i % 2 == 0 else "",
                "platform": 1,
                "country": "CN",
                "last_event_at": now - timedelta(minutes=i * 7),
            },
        )
    return count
