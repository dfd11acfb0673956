"""The cache shares one connection pool per server across a process's requests."""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache import caches


def test_every_thread_and_request_context_uses_the_same_connection_pool() -> None:
    pools: list[Any] = []

    def read() -> None:
        cache = caches["default"]  # a backend per thread, as per request context
        cache.get("pool-probe")
        pools.append(cache.client.get_client().connection_pool)  # type: ignore[attr-defined]

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    read()
    assert len(pools) == 5
    assert len({id(p) for p in pools}) == 1  # a pool per request was a connection per request
