"""Health: /livez (the process answers), /readyz and its alias /healthz (database and
cache), the admin health page (every check). Slow or outside checks (the vendor) are
measured by the beat and recorded here; a probe only reads the record (docs/operations.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from celery import current_app
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# What the health page calls each check (/healthz keeps the keys).
CHECK_LABELS = {
    "database": _("Database"),
    "broker": _("Message broker (Redis)"),
    "cache": _("Cache (Redis)"),
    "worker": _("Background worker"),
}

# Checks the domain apps add (the vendor gateway, upstream/health.py; the webhook lag,
# webhooks/health.py), so core imports none of them. A failing one makes the report
# "degraded", never "down".
EXTRA_CHECKS: dict[str, Callable[[], dict[str, Any]]] = {}


def register_check(name: str, label: Any, check: Callable[[], dict[str, Any]]) -> None:
    CHECK_LABELS[name] = label
    EXTRA_CHECKS[name] = check


HEARTBEAT_KEY = "switchboard:celery:heartbeat"
HEARTBEAT_STALE_AFTER = 120.0  # beat sends one every 30 s


def record_heartbeat() -> float:
    now = time.time()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now


def timed(fn: Any) -> dict[str, Any]:
    """Run one probe: ok and its latency, or the error it raised (never raises)."""
    started = time.perf_counter()
    try:
        detail = fn()
    except Exception as exc:
        return {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}"[:300],
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
    result = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if isinstance(detail, dict):
        result.update(detail)
    return result


READY_STATEMENT_TIMEOUT_MS = 1000
# A recorded measurement older than this is reported stale (the beat measures every 60 s).
RECORDED_STALE_AFTER = 180.0


def check_database() -> dict[str, Any]:
    def run() -> None:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL statement_timeout = %s", [READY_STATEMENT_TIMEOUT_MS])
            cur.execute("SELECT 1")

    return timed(run)


def _recorded_key(name: str) -> str:
    return f"switchboard:health:recorded:{name}"


def record_measurement(name: str, result: dict[str, Any]) -> None:
    """Keep a periodic task's measurement (`timed`'s result) for the probes to report."""
    cache.set(_recorded_key(name), {**result, "at": time.time()}, timeout=None)


def recorded_measurement(name: str) -> dict[str, Any]:
    """The last measurement with its age; not ok when missing, stale, or unreadable."""
    try:
        found = cache.get(_recorded_key(name))
    except Exception as exc:
        return {"ok": False, "error": f"cache unavailable: {type(exc).__name__}", "age_s": None}
    if not isinstance(found, dict):
        return {"ok": False, "error": str(_("not measured yet: is beat running?")), "age_s": None}
    result = {key: value for key, value in found.items() if key != "at"}
    age = round(time.time() - float(found.get("at", 0)), 1)
    result["age_s"] = age
    if age > RECORDED_STALE_AFTER:
        result["ok"] = False
        result["stale"] = True
    return result


def check_broker() -> dict[str, Any]:
    def run() -> dict[str, Any]:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
            return {
                "transport": conn.transport_cls if isinstance(conn.transport_cls, str) else "custom"
            }

    return timed(run)


def check_cache() -> dict[str, Any]:
    def run() -> None:
        cache.get(HEARTBEAT_KEY)

    return timed(run)


def check_worker() -> dict[str, Any]:
    try:
        last = cache.get(HEARTBEAT_KEY)
    except Exception as exc:
        return {"ok": False, "error": f"cache unavailable: {type(exc).__name__}", "age_s": None}
    if last is None:
        return {
            "ok": False,
            "error": str(_("no heartbeat yet: is a worker and beat running?")),
            "age_s": None,
        }
    age = round(time.time() - float(last), 1)
    return {"ok": age < HEARTBEAT_STALE_AFTER, "age_s": age}


# Each check answers within this many seconds, whatever its dependency does: a dead host
# (no answer to the connect), or a server that accepts and never replies. The checks run at
# once, so a probe answers within about this long in all.
CHECK_DEADLINE_SECONDS = 1.5


class _Bounded:
    """One check on a thread of its own, awaited at most the deadline. A check still running
    when the next probe comes is joined, not started again: a hung dependency holds one
    thread per check, not one per probe. Its database connection is given back after every
    run (to the pool, or closed), so the probe keeps none open between runs."""

    def __init__(self, name: str, check: Callable[[], dict[str, Any]]) -> None:
        self.check = check
        self._lock = threading.Lock()
        self._running: Future[dict[str, Any]] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"health-{name}")

    def start(self) -> Future[dict[str, Any]]:
        with self._lock:
            if self._running is None or self._running.done():
                self._running = self._pool.submit(self._run)
            return self._running

    def _run(self) -> dict[str, Any]:
        try:
            return self.check()
        finally:
            for conn in connections.all(initialized_only=True):
                conn.close()


def _in_readers_words(result: dict[str, Any]) -> dict[str, Any]:
    """A check's answer with its error in the reader's language: the check ran on a thread
    of its own, where no language is active (and its answer may serve several readers), so
    its fixed sentences are in English, looked up here in the catalogue."""
    error = result.get("error")
    if isinstance(error, str) and error:
        return {**result, "error": gettext(error)}
    return result


_bounded: dict[str, _Bounded] = {}
_bounded_lock = threading.Lock()


def bounded_checks(
    checks: dict[str, Callable[[], dict[str, Any]]], deadline: float | None = None
) -> dict[str, dict[str, Any]]:
    """Run `checks` at once, each on its own thread; a check without an answer by the
    deadline is reported failed ("no answer within ...") and left to finish on its own."""
    deadline = CHECK_DEADLINE_SECONDS if deadline is None else deadline
    started = time.perf_counter()
    running = {}
    for name, check in checks.items():
        with _bounded_lock:
            bounded = _bounded.get(name)
            if bounded is None or bounded.check is not check:
                bounded = _bounded[name] = _Bounded(name, check)
        running[name] = bounded.start()
    out: dict[str, dict[str, Any]] = {}
    for name, future in running.items():
        left = max(0.0, deadline - (time.perf_counter() - started))
        try:
            out[name] = _in_readers_words(future.result(timeout=left))
        except FutureTimeout:
            out[name] = {
                "ok": False,
                "error": str(_("no answer within %(seconds)s s") % {"seconds": f"{deadline:g}"}),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
        except Exception as exc:  # a broken check is reported, never raised
            out[name] = {"ok": False, "error": type(exc).__name__}
    return out


def health_report() -> dict[str, Any]:
    """Every check, for /readyz's details and the health page, each bounded in time
    (`bounded_checks`). Outside and slow checks (the vendor) report the beat's record: no
    outside call, whatever a probe's rate."""
    checks = bounded_checks(
        {
            "database": check_database,
            "cache": check_cache,
            "broker": check_broker,
            "worker": check_worker,
            **EXTRA_CHECKS,
        }
    )
    # The database and the shared cache (webhook nonces, sessions' limits) are fatal for
    # serving pages and storing webhooks: without them the report is "down". Any other
    # failing check (broker, vendor, worker, webhook lag) makes it "degraded".
    ok = checks["database"]["ok"] and checks["cache"]["ok"]
    degraded = ok and not all(c["ok"] for c in checks.values())
    status = "down" if not ok else ("degraded" if degraded else "ok")
    return {"ok": ok, "status": status, "checks": checks}


def ready() -> bool:
    """Anonymous /readyz: database and cache only, one boolean, never an exception, within
    the checks' deadline."""
    try:
        checks = bounded_checks({"database": check_database, "cache": check_cache})
        return bool(checks["database"]["ok"] and checks["cache"]["ok"])
    except Exception:
        return False
