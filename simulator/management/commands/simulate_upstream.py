"""`python manage.py simulate_upstream --host H --port P --webhook-base URL`: the stand-in
vendor as its own process (see docs/simulator.md)."""

from __future__ import annotations

import re
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulator.profiles import PROFILES


class Command(BaseCommand):
    help = "Run the upstream simulator: every seed operation, signed webhooks back, controls."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument(
            "--webhook-base", default="", help="where webhooks go, e.g. http://127.0.0.1:8000"
        )
        parser.add_argument(
            "--quirks", action="store_true", help="send webhooks the way the vendor really does"
        )
        parser.add_argument(
            "--action-interval",
            type=float,
            default=None,
            help=f"spacing per pair (default ACTION_LANE_INTERVAL={settings.ACTION_LANE_INTERVAL})",
        )
        parser.add_argument("--action-delay", type=float, default=1.0)
        parser.add_argument("--action-login-wait", type=float, default=60.0)
        parser.add_argument("--qr-rotate", type=float, default=20.0, help="seconds per QR")
        parser.add_argument("--lock-minutes", type=float, default=10.0, help="port lock")
        parser.add_argument("--max-ports", type=int, default=10, help="cloud port quota")
        parser.add_argument(
            "--churn",
            type=float,
            default=0.0,
            help="every ~N seconds one account goes offline, comes back or is disconnected "
            "(the demo's living fleet; 0: never)",
        )
        parser.add_argument(
            "--profile",
            default="default",
            choices=sorted(PROFILES),
            help="the reading of the seed's open seams to play (simulator/profiles.py)",
        )
        parser.add_argument(
            "--empty", action="store_true", help="start empty instead of with the demo fleet"
        )
        parser.add_argument(
            "--senders",
            type=int,
            default=8,
            help="webhook deliveries in flight at once (one lane each; an account's go in order)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from simulator.server import start_simulator

        if settings.PRODUCTION:
            raise CommandError("simulate_upstream refuses to run in production.")

        handle = start_simulator(
            options["host"],
            options["port"],
            options["webhook_base"] or None,
            quirks=options["quirks"],
            demo=not options["empty"],
            qr_rotate=options["qr_rotate"],
            lock_seconds=options["lock_minutes"] * 60,
            max_ports=options["max_ports"],
            action_interval=options["action_interval"],
            action_delay=options["action_delay"],
            action_login_wait=options["action_login_wait"],
            churn=options["churn"],
            profile=options["profile"],
            senders=options["senders"],
        )
        base = options["webhook_base"] or ""
        self.stdout.write(
            f"Upstream simulator on {handle.url} (controls at {handle.url}/_sim/), "
            # A path token in the base is a secret: never printed.
            f"webhooks to {re.sub(r'/hooks/[^/]+', '/hooks/[token]', base) or '(nowhere)'}"
            f"{', quirks on' if options['quirks'] else ''}, profile {options['profile']}."
        )
        done = threading.Event()

        def stop(signum: int, frame: object) -> None:
            done.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        done.wait()
        handle.stop()
        self.stdout.write("Simulator stopped.")
