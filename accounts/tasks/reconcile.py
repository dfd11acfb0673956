"""Beat task: one reconcile pass against the upstream (SLOW queue)."""

from __future__ import annotations

import logging
from typing import Any

from accounts.services.reconcile import upstream_reconcile
from core.tasks import SLOW, task

log = logging.getLogger(__name__)


@task(
    queue=SLOW,
    retry_transient=False,
    soft_time_limit=240,
    time_limit=300,
    name="accounts.reconcile",
)
def reconcile_upstream() -> dict[str, Any]:
    """Pull the upstream's view and repair drift (accounts.services.reconcile)."""
    report = upstream_reconcile()
    if report.errors:
        log.warning("reconcile: some polls failed: %s", report.errors)
    return report.as_dict()


BEAT: dict[str, dict[str, Any]] = {
    "accounts-reconcile": {"task": "accounts.reconcile", "schedule": 300.0},
}
