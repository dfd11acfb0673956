"""`python manage.py vendor_check`: call the vendor's read-only operations and say what came
back or exactly why not (DNS, connection, TLS, HTTP status, envelope code). Exits 1 when any
of them fails."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from upstream.diagnose import vendor_check


class Command(BaseCommand):
    help = "Check the connection to the vendor with its read-only operations."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Vendor: {settings.UPSTREAM_BASE_URL}")
        results = vendor_check()
        for r in results:
            if r.ok:
                self.stdout.write(self.style.SUCCESS(f"OK      {r.vendor_name}: {r.detail}"))
            else:
                self.stdout.write(self.style.ERROR(f"FAILED  {r.vendor_name}: {r.detail}"))
        failed = [r.vendor_name for r in results if not r.ok]
        if failed:
            raise CommandError(f"vendor check failed: {', '.join(failed)}")
        self.stdout.write(self.style.SUCCESS("Vendor connection OK"))
