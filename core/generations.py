"""Figures cached until what they count changes: each kind of change has a generation
number in the cache, bumped when such a change commits; a figure is kept under the
generation it was computed in, for at most `ttl` seconds.

Bumped on commit, after the change is visible: a reader that counted before the commit
stored its figure under the old generation, which nobody reads once the bump lands. (A
plain delete on commit would race: a slow reader could put the old figure back.) The ttl
bounds what a change made outside the services (the Django admin, a shell) can leave
stale, and figures that age by the clock alone ("from the last week").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

from core.cache import CACHE_DOWN, cache_read_many, cache_write

T = TypeVar("T")

_declared: set[str] = set()


def declare(name: str) -> str:
    """A kind of change (a module constant: `COUNTS = generations.declare("...")`)."""
    _declared.add(name)
    return name


def _gen_key(name: str) -> str:
    return f"gen:{name}"


def bump(name: str) -> None:
    """`name` changed, now (call on commit, or let `bump_on_commit` do it). With the cache
    down the bump is lost with the figures it would retire (a restarted Redis has neither;
    otherwise `ttl` bounds the staleness)."""
    try:
        cache.incr(_gen_key(name))
    except ValueError:  # not set yet, or evicted: any new number does
        cache_write(_gen_key(name), 1, None)
    except CACHE_DOWN:
        pass


def bump_on_commit(name: str) -> None:
    """Inside the change's transaction: bump `name` once it commits."""
    transaction.on_commit(lambda: bump(name))


def bump_all() -> None:
    """Every declared figure is recomputed on its next read: after the database changed
    behind the services' back (a restore, a hand-made fix; each test starts this way)."""
    for name in sorted(_declared):
        bump(name)


def cached(name: str, key: str, ttl: float, compute: Callable[[], T]) -> T:
    """`compute()`, kept with `name`'s generation at the time under `key` for `ttl` seconds;
    computed afresh, and not kept, while the cache is unavailable.

    The generation and the kept figure are read in one round trip (two sequential reads made
    every page view wait twice on the cache: bench/pages.py --spy). A figure kept under an
    older generation is computed again, so a slow reader that stores an old figure after a
    bump only costs the next reader a recompute, never a stale figure."""
    gen_key, slot = _gen_key(name), f"{name}::{key}"
    found = cache_read_many([gen_key, slot])
    generation = found.get(gen_key, 0)
    kept = found.get(slot)
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == generation:
        return kept[1]  # type: ignore[no-any-return]
    value = compute()
    cache_write(slot, (generation, value), ttl)
    return value
