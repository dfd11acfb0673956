"""Fixed-window rate limits in the shared cache (Redis in production)."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def rate_limited(key: str, *, limit: int, window: float, fail_open: bool = False) -> bool:
    """Count one event under `key`; True when more than `limit` happened in this window.
    When the cache is down: limited, unless `fail_open`."""
    bucket = int(time.time() // window)
    full = f"rl:{key}:{bucket}"
    try:
        if cache.add(full, 1, timeout=int(window) + 1):
            return limit < 1
        return int(cache.incr(full)) > limit
    except ValueError:  # expired between add and incr: a fresh window
        return False
    except Exception:
        log.warning("rate limit %s: cache unavailable", key.split(":", 1)[0], exc_info=True)
        return not fail_open


def vendor_calls_limited(view: F) -> F:
    """Views that call the vendor on every request: at most VENDOR_VIEWS_PER_MINUTE per user
    (all such views together); beyond, 429 with a short note (an htmx target shows it).
    Put it under the access decorator, so refused users are not counted."""
    from django.conf import settings
    from django.http import HttpResponse
    from django.utils.html import escape
    from django.utils.translation import gettext as _

    @functools.wraps(view)
    def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
        user_id = getattr(request.user, "pk", None)
        limit = settings.VENDOR_VIEWS_PER_MINUTE
        if rate_limited(f"vendor-view:{user_id}", limit=limit, window=60, fail_open=True):
            message = _(
                "Too many vendor look-ups: at most %(n)d a minute. Wait a minute and try again."
            ) % {"n": limit}
            response = HttpResponse(
                f'<p class="flash flash-error" role="alert">{escape(message)}</p>', status=429
            )
            response["Retry-After"] = "60"
            return response
        return view(request, *args, **kwargs)

    return wrapped  # type: ignore[return-value]
