"""Celery tasks of the qrlogin app: thin entry points calling services."""

from __future__ import annotations

import logging
from typing import Any

from core.tasks import FAST, task
from ports.services import ports_refresh
from qrlogin.services.scan_tasks import scan_tasks_poll_due
from qrlogin.services.sessions import qr_sessions_expire_due, qr_sessions_poll_due

log = logging.getLogger(__name__)


@task(queue=FAST, retry_transient=False, name="qrlogin.expire_sessions")
def expire_sessions() -> int:
    """Sessions whose port lock has ended become expired (the vendor has released the
    port by then; the seed has no release call). The page also checks its own session
    on every poll, so this sweep only catches pages nobody is watching."""
    expired = qr_sessions_expire_due()
    if expired:
        log.info("expired %d QR sessions", expired)
    return expired


@task(queue=FAST, max_retries=3, name="qrlogin.refresh_ports")
def refresh_ports() -> dict[str, int]:
    """Quota and port details from the vendor (the ports page asks for it on load)."""
    quota = ports_refresh()
    return {"current_port": quota.current_port, "max_port": quota.max_port}


@task(queue=FAST, retry_transient=False, name="qrlogin.poll_results")
def poll_results() -> dict[str, int]:
    """Look up the result of waiting (and recently expired) QR sessions (getQrCodeInfo)
    whose look-up is due, so a lost syncLoginStatus webhook never turns a success into an
    expiry. No retry: the next beat tick is the retry, and the breaker is respected."""
    counts = qr_sessions_poll_due()
    if counts:
        log.info("QR result look-ups: %s", counts)
    return counts


@task(queue=FAST, retry_transient=False, name="qrlogin.poll_scan_tasks")
def poll_scan_tasks() -> dict[str, int]:
    """Watch open PC scan tasks in the vendor's status log, in case their webhook never
    arrives (services.scan_tasks)."""
    counts = scan_tasks_poll_due()
    if counts:
        log.info("scan task look-ups: %s", counts)
    return counts


BEAT: dict[str, dict[str, Any]] = {
    "qrlogin-expire-sessions": {"task": "qrlogin.expire_sessions", "schedule": 15.0},
    "qrlogin-poll-results": {"task": "qrlogin.poll_results", "schedule": 5.0},
    "qrlogin-poll-scan-tasks": {"task": "qrlogin.poll_scan_tasks", "schedule": 10.0},
}
