from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse

from accounts.access import accounts_visible_to
from console import selectors
from core.access import require_login, sees_everything
from core.htmx import render_page
from core.types import AuthedRequest
from upstream.health import vendor_reachability
from webhooks.selectors import webhook_lag_seconds


def lag_level(lag: float | None) -> str:
    """ok under half the degraded threshold, warn under it, bad past it."""
    limit = float(settings.WEBHOOK_LAG_DEGRADED_SECONDS)
    if lag is None or lag < limit / 2:
        return "ok"
    return "warn" if lag <= limit else "bad"


@require_login
def home(request: AuthedRequest) -> HttpResponse:
    accounts = accounts_visible_to(request.user)
    everything = sees_everything(request.user)
    context = {
        "counts": selectors.dashboard_counts(accounts),
        "quota": selectors.port_usage() if everything else None,
        "trouble": selectors.recent_trouble(accounts, everything=everything),
        "webhook_lag": (lag := webhook_lag_seconds() if everything else None),
        "webhook_lag_level": lag_level(lag),
        "actions": selectors.action_queue_depth(request.user),
        # The beat's last measurement (never a vendor call per page).
        "vendor": vendor_reachability() if everything else None,
    }
    return render_page(request, "console/home.html", context, fragment="live")
