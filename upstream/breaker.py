"""A circuit breaker shared by every process through Django's cache (Redis in production).

- closed: calls go out; each outage (connection failure, timeout, HTTP 5xx) increments a
  shared counter; any answer (a business error, a "busy" envelope or a body we cannot read
  count as answers: the vendor is up) clears it. A 429 pauses every call on its own
  (`slow_down`, below). Which outcome is which is decided in `upstream.client`.
- open: after UPSTREAM_BREAKER_THRESHOLD consecutive outages. Calls raise CircuitOpen
  without being sent.
- half_open: UPSTREAM_BREAKER_COOLDOWN seconds after opening, exactly one caller wins the
  probe slot (`cache.add`, atomic on Redis); a successful probe closes the breaker, a failed
  one opens it for another cooldown. Everyone else keeps getting CircuitOpen meanwhile.

If the cache itself is unreachable the breaker steps aside (calls go out): the breaker must
never be the reason the vendor cannot be called.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from upstream.errors import CircuitOpen

log = logging.getLogger(__name__)

FAILURES_KEY = "upstream:breaker:failures"
OPENED_KEY = "upstream:breaker:opened_at"
PROBE_KEY = "upstream:breaker:probe"
FAILURES_TTL = 3600  # a streak older than an hour with no call in between is forgotten

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


def _threshold() -> int:
    return max(1, int(settings.UPSTREAM_BREAKER_THRESHOLD))


def _cooldown() -> float:
    return float(settings.UPSTREAM_BREAKER_COOLDOWN)


def _probe_ttl() -> int:
    # Long enough to cover one call; a probe whose process died frees the slot afterwards.
    budget = float(settings.UPSTREAM_CONNECT_TIMEOUT) + float(settings.UPSTREAM_READ_TIMEOUT)
    return max(1, int(max(_cooldown(), budget + 1)))


@dataclass
class Ticket:
    """What `before_call` learned, handed back to `record_*`."""

    probe: bool = False
    failures_seen: bool = False


def breaker_state() -> str:
    """ "closed", "open" or "half_open" (cooldown over, waiting for or running a probe)."""
    try:
        opened = cache.get(OPENED_KEY)
    except Exception:
        return CLOSED
    if opened is None:
        return CLOSED
    return OPEN if time.time() - float(opened) < _cooldown() else HALF_OPEN


def before_call(operation: str) -> Ticket:
    """Raise CircuitOpen if the call must not be sent; otherwise a ticket for the result."""
    try:
        values = cache.get_many([OPENED_KEY, FAILURES_KEY])
    except Exception:
        log.warning("upstream breaker: cache unavailable, letting %s through", operation)
        return Ticket()
    opened = values.get(OPENED_KEY)
    failures_seen = bool(values.get(FAILURES_KEY))
    if opened is None:
        return Ticket(failures_seen=failures_seen)
    remaining = float(opened) + _cooldown() - time.time()
    if remaining > 0:
        raise CircuitOpen(
            f"upstream circuit open: not calling {operation} (retry in {remaining:.0f} s)"
        )
    try:
        won = cache.add(PROBE_KEY, time.time(), _probe_ttl())
    except Exception:
        return Ticket(failures_seen=True)
    if not won:
        raise CircuitOpen(
            f"upstream circuit half-open: a probe is in flight, not calling {operation}"
        )
    log.info("upstream breaker: half-open, probing with %s", operation)
    return Ticket(probe=True, failures_seen=True)


def record_success(ticket: Ticket) -> None:
    if not (ticket.probe or ticket.failures_seen):
        return  # the common path costs no extra cache round trip
    try:
        cache.delete_many([FAILURES_KEY, OPENED_KEY, PROBE_KEY])
    except Exception:
        return
    if ticket.probe:
        log.info("upstream breaker: probe succeeded, closed")


def record_failure(ticket: Ticket) -> None:
    try:
        try:
            failures = cache.incr(FAILURES_KEY)
        except ValueError:  # no streak yet
            added = cache.add(FAILURES_KEY, 1, FAILURES_TTL)
            failures = 1 if added else cache.incr(FAILURES_KEY)
        if ticket.probe:
            cache.set(OPENED_KEY, time.time(), None)
            cache.delete(PROBE_KEY)
            log.warning("upstream breaker: probe failed, open again")
        elif failures >= _threshold() and cache.add(OPENED_KEY, time.time(), None):
            log.warning("upstream breaker: opened after %d consecutive failures", failures)
    except Exception:
        log.warning("upstream breaker: cache unavailable, failure not recorded")


def release_probe() -> None:
    """Give the probe slot back without a verdict (the call was never really made)."""
    try:
        cache.delete(PROBE_KEY)
    except Exception:
        return


def reset() -> None:
    """Close the breaker and forget the streak (tests, admin action)."""
    cache.delete_many([FAILURES_KEY, OPENED_KEY, PROBE_KEY, SLOW_DOWN_KEY, SLOW_DOWN_KEY + ":last"])


# --- "slow down" (HTTP 429): a shared pause, not a failure ---------------------------------

SLOW_DOWN_KEY = "upstream:slowdown_until"
SLOW_DOWN_DEFAULT = 5.0
SLOW_DOWN_MAX = 120.0


def slow_down(retry_after: str) -> float:
    """The vendor said 429: pause every call until Retry-After (seconds) has passed; the
    pause doubles while 429s keep coming (up to SLOW_DOWN_MAX). Returns the wait."""
    try:
        wait = float(retry_after)
    except (TypeError, ValueError):
        wait = 0.0
    try:
        previous = cache.get(SLOW_DOWN_KEY + ":last")
        if wait <= 0:
            wait = min(SLOW_DOWN_MAX, float(previous) * 2) if previous else SLOW_DOWN_DEFAULT
        wait = max(0.5, min(SLOW_DOWN_MAX, wait))
        cache.set(SLOW_DOWN_KEY, time.time() + wait, int(wait) + 1)
        cache.set(SLOW_DOWN_KEY + ":last", wait, int(SLOW_DOWN_MAX) * 2)
    except Exception:
        log.warning("upstream: cache unavailable, the 429 pause is not shared")
    log.warning("upstream: rate limited by the vendor, pausing calls for %.1f s", wait)
    return wait


def slow_down_remaining() -> float:
    try:
        until = cache.get(SLOW_DOWN_KEY)
    except Exception:
        return 0.0
    return max(0.0, float(until) - time.time()) if until else 0.0


T = TypeVar("T")


def sweep(due: Callable[[], Iterable[T]], poll: Callable[[T], str]) -> dict[str, int]:
    """A beat sweep: `poll` each item `due()` gives, counting the outcomes it names. Nothing
    is asked (`due` is not even called) while the breaker is open; a breaker that opens
    during the sweep ends it. Either way the counts say `breaker_open`."""
    if breaker_state() == OPEN:
        return {"breaker_open": 1}
    counts: dict[str, int] = {}
    for item in due():
        try:
            outcome = poll(item)
        except CircuitOpen:
            counts["breaker_open"] = 1
            break
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
