"""Sessions read from the cache and written through to the database (Django's cached_db),
that keep working when the cache does not: the database holds every session anyway, so a
Redis outage costs a query per request instead of every signed-in page."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.core.cache import caches

log = logging.getLogger(__name__)


class _Tolerant:
    """The session's cache, with its failures logged and read as a miss."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def _try(self, name: str, *args: Any, default: Any = None, **kwargs: Any) -> Any:
        try:
            return getattr(self._cache, name)(*args, **kwargs)
        except Exception:  # the cache is down: the database answers
            log.warning("session cache unavailable (%s); using the database", name)
            return default

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._try("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return self._try("set", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return self._try("delete", *args, **kwargs)

    def __contains__(self, key: str) -> bool:
        return bool(self._try("has_key", key, default=False))

    def __getattr__(self, name: str) -> Any:  # the async variants: Django's own handling
        return getattr(self._cache, name)


class SessionStore(CachedDBStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache: Any = _Tolerant(caches[settings.SESSION_CACHE_ALIAS])

    def _validate_session_key(self, key: str | None) -> bool:
        """Django's keys are 32 lowercase letters and digits; anything else in the cookie
        (a NUL, a quote, any other byte a client sends) is no session, never a query."""
        return (
            bool(key)
            and 8 <= len(key or "") <= 64
            and (key or "").isascii()
            and (key or "").isalnum()
        )
