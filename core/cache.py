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

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

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
