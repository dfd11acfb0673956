"""Fixed-window rate limits in the shared cache (Redis in production)."""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

log = logging.getLogger(__name__)


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
