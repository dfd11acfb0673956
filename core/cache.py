"""Reads and writes of the cache that a page survives (the cache is django-redis with one
connection pool per server in each process: config/settings.py)."""

from __future__ import annotations

import logging
from typing import Any

from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


# --- reads and writes a page survives -------------------------------------------------
# A cached figure is a shortcut: with the cache down (Redis stopped, restarting) the caller
# computes it from the database instead of failing the page.
CACHE_DOWN = (ConnectionInterrupted, RedisError, OSError)


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
