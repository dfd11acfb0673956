"""Django's Redis cache backend, with one redis client (and connection pool) per server
in each process.

Django builds a new `redis.Redis` for every cache call, and keeps its connection pools on
the backend object, which is per thread and context. The web workers run each request in
a fresh context (config/asgi.py: a2wsgi copies it), so every request got a new backend, a
new pool and new TCP connections to Redis, and redis-py looked up its own version for each
(about a tenth of a fleet page's CPU; py-spy over bench/pages.py's server). A client only
wraps its pool and is safe to share between threads.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_clients: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


class _SharedClient(RedisCacheClient):
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        server = self._servers[self._get_connection_pool_index(write)]  # type: ignore[attr-defined]
        found = _clients.get((server, repr(self._pool_options)))  # type: ignore[attr-defined]
        if found is None:
            with _lock:
                found = _clients.setdefault(
                    (server, repr(self._pool_options)),  # type: ignore[attr-defined]
                    self._client(  # type: ignore[attr-defined]
                        connection_pool=self._pool_class.from_url(  # type: ignore[attr-defined]
                            server,
                            **self._pool_options,  # type: ignore[attr-defined]
                        )
                    ),
                )
        return found


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _SharedClient


# --- reads and writes a page survives -------------------------------------------------
# A cached figure is a shortcut: with the cache down (Redis stopped, restarting) the caller
# computes it from the database instead of failing the page.
CACHE_DOWN = (RedisError, OSError)


def cache_read(key: str, default: Any = None) -> Any:
    """`cache.get`, or `default` when the cache is unavailable (logged)."""
    from django.core.cache import cache

    try:
        return cache.get(key, default)
    except CACHE_DOWN as exc:
        log.warning("cache unavailable, reading from the database: %s", type(exc).__name__)
        return default


def cache_write(key: str, value: Any, timeout: float | None) -> None:
    """`cache.set`, skipped when the cache is unavailable (logged)."""
    from django.core.cache import cache

    try:
        cache.set(key, value, timeout)
    except CACHE_DOWN as exc:
        log.warning("cache unavailable, figure not kept: %s", type(exc).__name__)


def cache_read_many(keys: list[str]) -> dict[str, Any]:
    """`cache.get_many`, or nothing found when the cache is unavailable (logged)."""
    from django.core.cache import cache

    try:
        return dict(cache.get_many(keys))
    except CACHE_DOWN as exc:
        log.warning("cache unavailable, rendering afresh: %s", type(exc).__name__)
        return {}


def cache_write_many(values: dict[str, Any], timeout: float | None) -> None:
    """`cache.set_many`, skipped when the cache is unavailable (logged)."""
    from django.core.cache import cache

    try:
        cache.set_many(values, timeout)
    except CACHE_DOWN as exc:
        log.warning("cache unavailable, fragments not kept: %s", type(exc).__name__)
