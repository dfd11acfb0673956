"""`python manage.py sync_upstream`: one reconcile pass; exits non-zero if a poll failed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.services.reconcile import upstream_reconcile


class Command(BaseCommand):
    help = "Run one reconcile pass against the upstream (accounts, ports, quota, agents)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = upstream_reconcile()
        quota = f"{report.quota[0]}/{report.quota[1]}" if report.quota else "n/a"
        self.stdout.write(
            f"accounts: {report.accounts_seen} seen, {report.accounts_created} created, "
            f"{report.accounts_updated} updated; ports: {report.ports_seen} seen, "
            f"{report.ports_released} released; quota: {quota}; "
            f"agents: {report.agents_seen} online, {report.agents_known} known, "
            f"{report.agents_linked} accounts linked"
        )
        for line in report.skipped:
            self.stdout.write(self.style.WARNING(f"skipped a vendor record: {line}"))
        if report.errors:
            failed = "; ".join(f"{name}: {error}" for name, error in report.errors.items())
            raise CommandError(f"the upstream failed, drift not fully repaired: {failed}")
        self.stdout.write(self.style.SUCCESS("sync_upstream: done"))
