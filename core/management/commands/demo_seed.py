"""Demo users (one per role, logins printed) and a small fleet to look at."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

from core.roles import Role, ensure_groups

DEMO_USERS = [
    ("admin", "admin-demo-pass", Role.ADMIN, None),
    ("supervisor", "supervisor-demo-pass", Role.SUPERVISOR, None),
    ("agent", "agent-demo-pass", Role.AGENT, "agent01"),
]


class Command(BaseCommand):
    help = "Create one demo user per role and some demo data (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        from accounts.models import Agent
        from core.demo_data import seed_demo_fleet

        ensure_groups()
        lines = []
        for username, password, role, agent_account in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.is_staff = role == Role.ADMIN
                user.is_superuser = role == Role.ADMIN
                user.save()
            user.groups.set([Group.objects.get(name=role.value)])
            if agent_account:
                Agent.objects.update_or_create(
                    agent_account=agent_account,
                    defaults={"user": user, "user_name": "Demo Agent", "upstream_user_id": "10001"},
                )
            lines.append(f"  {role.value:<11} {username:<11} {password}")
        seeded = seed_demo_fleet()
        self.stdout.write("Demo logins (role, username, password):")
        self.stdout.write("\n".join(lines))
        self.stdout.write(f"Demo fleet: {seeded} accounts.")
