from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache


def _forget_own_keys() -> None:
    """Tile counts, filter menus and contact rate limits live in the cache. Delete only
    this test process's keys (its KEY_PREFIX): other processes share the Redis database,
    so never cache.clear() (FLUSHDB)."""
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    client = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client is None:  # a non-Redis cache (local runs): it is ours alone
        cache.clear()
        return
    redis = client(None, write=True)
    keys = list(redis.scan_iter(match=f"{prefix}:*"))
    if keys:
        redis.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    _forget_own_keys()
    yield
    _forget_own_keys()
