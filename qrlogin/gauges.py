"""The qrlogin app's gauges, computed from the database when /metrics is scraped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.metrics import gauge
from ports.models import PortQuota

Samples = Iterable[tuple[Mapping[str, str], float]]


@gauge("switchboard_ports", "Cloud ports: in use and quota")
def ports() -> Samples:
    quota = PortQuota.objects.order_by("-fetched_at").first()
    if quota is None:
        return []
    return [({"kind": "current"}, quota.current_port), ({"kind": "max"}, quota.max_port)]
