"""The actions app's gauges, computed from the database when /metrics is scraped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db.models import Count

from core.metrics import gauge

Samples = Iterable[tuple[Mapping[str, str], float]]


@gauge("switchboard_action_lane_depth", "Open-chat actions waiting, by state")
def action_depth() -> Samples:
    from actions.models import Action

    rows = Action.objects.values("state").annotate(n=Count("id"))
    return [({"state": r["state"]}, r["n"]) for r in rows]
