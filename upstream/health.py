"""The vendor gateway's reachability: measured by the beat (`upstream.vendor_reachability`,
upstream/tasks.py), recorded in the cache, and reported by /readyz's details, the metrics
and the home page. A probe never calls the vendor. Unreachable makes the report "degraded":
pages and webhooks still work without it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.health import record_measurement, recorded_measurement, register_check, timed
from upstream.client import ping

VENDOR = "vendor"


def vendor_reachability_measure() -> dict[str, Any]:
    """One measurement (any HTTP answer counts), recorded for the probes."""

    def run() -> dict[str, Any]:
        ping()
        return {"base_url": settings.UPSTREAM_BASE_URL}

    result = timed(run)
    record_measurement(VENDOR, result)
    return result


def vendor_reachability() -> dict[str, Any]:
    """The beat's last measurement: ok, ms, error, age_s (stale when the beat stopped)."""
    return recorded_measurement(VENDOR)


register_check("upstream", _("Vendor gateway"), vendor_reachability)
