"""`manage.py demo_seed`: demo users, the fleet with keys and a week of history.
`manage.py demo_seed --activity`: a working day's activity against the running simulator,
web server and worker. `make demo` runs the first before the worker starts (the history is
applied here, in bulk) and the second once everything runs."""

from __future__ import annotations

import json
from typing import Any
from urllib import request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone


def _sim_control(path: str, body: dict[str, Any] | None) -> Any:
    """The simulator's controls (`/_sim/...`): the phone that scans, the code it got."""
    url = f"{settings.UPSTREAM_BASE_URL.rstrip('/')}/_sim/{path}"
    data = None if body is None else json.dumps(body).encode()
    req = request.Request(url, data=data, headers={"Content-Type": "application/json"})  # noqa: S310
    with request.urlopen(req, timeout=10) as resp:  # noqa: S310 - our simulator's URL
        return json.loads(resp.read())["data"]


class Command(BaseCommand):
    help = (
        "Create the demo fleet (with keys), a week of history and, with --users, the demo "
        "users (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--users",
            action="store_true",
            help="also create the demo users with their well-known passwords (`make demo` "
            "passes it; no other path creates them)",
        )
        parser.add_argument(
            "--activity",
            action="store_true",
            help="log accounts in, register one, run actions and a job (needs the simulator, "
            "web server and worker running, as `make demo` has them)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from demo.seed import SeedError, activity_seed, fleet_seed, users_seed

        if settings.PRODUCTION:
            raise CommandError("demo_seed refuses to run in production.")
        if not (options["users"] or options["activity"]):
            raise CommandError(
                "demo_seed creates demo users with well-known passwords; it runs only from "
                "`make demo` (which passes --users)."
            )
        logins = users_seed() if options["users"] else []
        if options["activity"]:
            try:
                for line in activity_seed(sim=_sim_control):
                    self.stdout.write(f"Demo activity: {line}")
            except (SeedError, OSError) as exc:
                raise CommandError(f"demo activity: {exc}") from exc
            return
        imported, deliveries, records = fleet_seed(now=timezone.now())
        if logins:
            self.stdout.write("Demo logins (role, username, password):")
            for role, username, password in logins:
                self.stdout.write(f"  {role:<11} {username:<11} {password}")
        else:
            self.stdout.write("No demo users created (only `make demo` passes --users).")
        if imported:
            self.stdout.write(f"Demo fleet: {imported} accounts imported with keys.")
        if deliveries:
            self.stdout.write(
                f"Demo history: a week in {deliveries} webhook deliveries "
                f"({records} status events)."
            )
        if not imported and not deliveries:
            self.stdout.write("Demo fleet and history: already in the database.")
