"""The webhook lag as a health check: the oldest event not yet applied, against
WEBHOOK_LAG_DEGRADED_SECONDS (a worker that is down or far behind shows here first)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.health import register_check
from webhooks.selectors import webhook_lag_seconds


def check_webhook_lag() -> dict[str, Any]:
    lag = webhook_lag_seconds()
    limit = float(settings.WEBHOOK_LAG_DEGRADED_SECONDS)
    return {"ok": lag is None or lag <= limit, "lag_s": round(lag or 0.0, 1), "limit_s": limit}


register_check("webhook_lag", _("Webhook lag"), check_webhook_lag)
