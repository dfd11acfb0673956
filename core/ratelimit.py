"""Fixed-window rate limits in the shared cache (Redis in production)."""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R", bound=HttpResponseBase)


class TryLater(Exception):
    """A refusal for now: `retry_after` seconds until it may work. Its text says when
    (`try_again_in`); the answer is a 429 with `Retry-After`."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(with_try_again(message, self.retry_after))


def try_again_in(seconds: float) -> str:
    """ "Try again in 40 s" / "in 3 min", in the reader's language with its plural forms."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return ngettext("Try again in %(n)d second.", "Try again in %(n)d seconds.", seconds) % {
            "n": seconds
        }
    minutes = math.ceil(seconds / 60)
    return ngettext("Try again in %(n)d minute.", "Try again in %(n)d minutes.", minutes) % {
        "n": minutes
    }


def with_try_again(message: str, seconds: float) -> str:
    """`message` followed by when to try again, as the language joins two sentences."""
    if not message:
        return try_again_in(seconds)
    # Translators: two sentences in a row (English puts a space between them).
    return _("%(message)s %(try_again)s") % {"message": message, "try_again": try_again_in(seconds)}


def retry_after(response: R, seconds: float) -> R:
    """Mark `response` as a 429 that may be retried after `seconds`."""
    response["Retry-After"] = str(max(1, math.ceil(seconds)))
    return response


def rate_limit_wait(
    key: str, *, limit: int, window: float, fail_open: bool = False
) -> float | None:
    """Count one event under `key`; when more than `limit` happened in this window, the
    seconds until the window ends (when it may be tried again), else None. When the cache
    is down: limited for a whole window, unless `fail_open`."""
    now = time.time()
    bucket = int(now // window)
    full = f"rl:{key}:{bucket}"
    left = (bucket + 1) * window - now
    try:
        if cache.add(full, 1, timeout=int(window) + 1):
            return left if limit < 1 else None
        return left if int(cache.incr(full)) > limit else None
    except ValueError:  # expired between add and incr: a fresh window
        return None
    except Exception:
        log.warning("rate limit %s: cache unavailable", key.split(":", 1)[0], exc_info=True)
        return None if fail_open else float(window)


def rate_limited(key: str, *, limit: int, window: float, fail_open: bool = False) -> bool:
    """Count one event under `key`; True when more than `limit` happened in this window.
    When the cache is down: limited, unless `fail_open`."""
    return rate_limit_wait(key, limit=limit, window=window, fail_open=fail_open) is not None


def vendor_calls_limited(view: F) -> F:
    """Views that call the vendor on every request: at most VENDOR_VIEWS_PER_MINUTE per user
    (all such views together); beyond, 429 with a short note saying when to try again (an
    htmx target shows it) and Retry-After.
    Put it under the access decorator, so refused users are not counted."""
    from django.conf import settings
    from django.http import HttpResponse
    from django.utils.html import escape

    @functools.wraps(view)
    def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
        user_id = getattr(request.user, "pk", None)
        limit = settings.VENDOR_VIEWS_PER_MINUTE
        wait = rate_limit_wait(f"vendor-view:{user_id}", limit=limit, window=60, fail_open=True)
        if wait is not None:
            message = _("Too many vendor look-ups: at most %(n)d a minute.") % {"n": limit}
            message = with_try_again(message, wait)
            response = HttpResponse(
                f'<p class="flash flash-error" role="alert">{escape(message)}</p>', status=429
            )
            return retry_after(response, wait)
        return view(request, *args, **kwargs)

    return wrapped  # type: ignore[return-value]
