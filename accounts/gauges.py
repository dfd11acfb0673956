"""The accounts app's gauges, computed from the database when /metrics is scraped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db.models import Count

from core.metrics import gauge

Samples = Iterable[tuple[Mapping[str, str], float]]


@gauge("switchboard_accounts", "WhatsApp accounts by status and online status")
def accounts_by_state() -> Samples:
    from accounts.models import WhatsAppAccount

    rows = WhatsAppAccount.objects.values("status", "online_status").annotate(n=Count("id"))
    return [
        (
            {"status": str(r["status"]), "online_status": str(r["online_status"] or "unknown")},
            r["n"],
        )
        for r in rows
    ]
