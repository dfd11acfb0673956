"""Health checks behind /healthz and the admin health page."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connection
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


def check_database() -> dict[str, Any]:
    def run() -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")

    return timed(run)


def check_broker() -> dict[str, Any]:
    def run() -> dict[str, Any]:
        from config.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
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


def health_summary() -> bool:
    """Anonymous /healthz: one boolean, never an exception."""
    try:
        return bool(health_report()["ok"])
    except Exception:
        return False
