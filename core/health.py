"""Health: /livez (the process answers), /readyz and its alias /healthz (database and
cache), the admin health page (every check). Slow or outside checks (the vendor) are
measured by the beat and recorded here; a probe only reads the record (docs/operations.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.core.cache import cache
from django.db import connection, transaction
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


def health_report() -> dict[str, Any]:
    """Every check, for /readyz's details and the health page. Outside and slow checks (the
    vendor) report the beat's record: no outside call, whatever a probe's rate."""
    checks = {
        "database": check_database(),
        "cache": check_cache(),
        "broker": check_broker(),
        "worker": check_worker(),
    }
    for name, extra in EXTRA_CHECKS.items():
        try:
            checks[name] = extra()
        except Exception as exc:  # a broken extra check is reported, never raised
            checks[name] = {"ok": False, "error": type(exc).__name__}
    # The database and the shared cache (webhook nonces, sessions' limits) are fatal for
    # serving pages and storing webhooks: without them the report is "down". Any other
    # failing check (broker, vendor, worker, webhook lag) makes it "degraded".
    ok = checks["database"]["ok"] and checks["cache"]["ok"]
    degraded = ok and not all(c["ok"] for c in checks.values())
    status = "down" if not ok else ("degraded" if degraded else "ok")
    return {"ok": ok, "status": status, "checks": checks}


def ready() -> bool:
    """Anonymous /readyz: database and cache only, one boolean, never an exception."""
    try:
        return bool(check_database()["ok"] and check_cache()["ok"])
    except Exception:
        return False
