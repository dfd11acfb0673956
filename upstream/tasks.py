"""The vendor's reachability, measured on the beat (never per probe)."""

from __future__ import annotations

from typing import Any

from core.tasks import FAST, task
from upstream.health import vendor_reachability_measure


@task(queue=FAST, retry_transient=False, name="upstream.vendor_reachability")
def vendor_reachability() -> dict[str, Any]:
    return vendor_reachability_measure()


BEAT: dict[str, dict[str, Any]] = {
    "upstream-vendor-reachability": {"task": "upstream.vendor_reachability", "schedule": 60.0},
}
