"""The sign-in lockout page (django-axes' AXES_LOCKOUT_CALLABLE).

The cool-off is fixed and counted from the lock: failures during the lockout are not
recorded (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False), so the newest failure of
the locked username and address is the moment of the lock. The page says when to try again,
and the answer carries `Retry-After`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core.net import client_address
from core.ratelimit import retry_after, try_again_in


def locked_until(
    request: HttpRequest, credentials: dict[str, Any] | None = None
) -> datetime | None:
    """When the lock of this username (from this address) ends."""
    cool_off = get_cool_off(request)
    if not cool_off:
        return None
    username = get_client_username(request, credentials)
    locked_at = AccessAttempt.objects.filter(
        username=username, ip_address=client_address(request)
    ).aggregate(at=Max("attempt_time"))["at"]
    return (locked_at or timezone.now()) + cool_off


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    until = locked_until(request, credentials)
    seconds = max(0, math.ceil((until - timezone.now()).total_seconds())) if until else 0
    context = {
        "retry_at": until,
        "try_again": try_again_in(seconds) if until else "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    status = int(settings.AXES_HTTP_RESPONSE_CODE)
    response = render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=status)
    if until:
        retry_after(response, seconds)
    return response
