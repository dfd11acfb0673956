"""The vendor gateway as a health check (registered with core.health, which imports no app).
Unreachable makes the report "degraded": pages and webhooks still work without it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.health import register_check, timed
from upstream.client import ping


def check_upstream() -> dict[str, Any]:
    def run() -> dict[str, Any]:
        ping()
        return {"base_url": settings.UPSTREAM_BASE_URL}

    return timed(run)


register_check("upstream", _("Vendor gateway"), check_upstream)
