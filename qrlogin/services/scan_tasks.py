"""PC scan tasks: create one (qrCodeTask/create), show its QR (qrCodeTask/getQrCode, which
may be called again until the scan succeeds). Statuses arrive by webhook (services.results).
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import agent_for_user, sees_everything
from qrlogin.errors import explain
from qrlogin.models import AllocationRole, ScanTask
from upstream import operations
from upstream.errors import UpstreamProblem

log = logging.getLogger(__name__)


class ScanTaskRefused(Exception):
    """The person may not create this task (words for the page in `str(exc)`)."""


def scan_task_create(*, actor: Any, allocation_role: int, user_id: str = "") -> ScanTask:
    """Create a scan task. Agents create tasks only for themselves: whatever they ask for,
    the task is `specified` with their own upstream user id. Raises ScanTaskRefused, or
    UpstreamProblem when the vendor says no."""
    if not sees_everything(actor):
        agent = agent_for_user(actor)
        if agent is None or not agent.upstream_user_id:
            raise ScanTaskRefused(
                _(
                    "Your sign-in is not linked to an upstream agent yet, so a task cannot be "
                    "created for you. Ask a supervisor to link your agent profile."
                )
            )
        if user_id and str(user_id) != agent.upstream_user_id:
            raise ScanTaskRefused(_("Agents can create scan tasks only for themselves."))
        if allocation_role != AllocationRole.SPECIFIED:
            raise ScanTaskRefused(_("Agents can create scan tasks only for themselves."))
        user_id = agent.upstream_user_id
    if allocation_role not in AllocationRole.values:
        raise ScanTaskRefused(_("Choose random or specified allocation."))
    if allocation_role == AllocationRole.SPECIFIED and not user_id:
        raise ScanTaskRefused(_("Choose the agent who gets the account."))
    if allocation_role == AllocationRole.RANDOM:
        user_id = ""
    task_id = operations.qr_task_create(allocation_role=allocation_role, user_id=user_id or None)
    task = ScanTask.objects.create(
        task_id=task_id,
        created_by=actor,
        upstream_user_id=str(user_id or ""),
        allocation_role=allocation_role,
    )
    log.info("scan task %s created (allocation %s)", task.task_id, allocation_role)
    return scan_task_refresh_code(task=task)


def scan_task_refresh_code(*, task: ScanTask) -> ScanTask:
    """Fetch the task's current QR string (nothing once the phone has scanned). On failure
    the old code is wiped, so a stale one is never shown, and `qr_error` says why."""
    if task.is_scanned:
        return task
    try:
        qr = operations.qr_task_get_qr_code(task_id=task.task_id)
    except UpstreamProblem as exc:
        _code, words = explain(exc)
        task.qr_string = ""
        task.qr_error = (
            _("The code could not be refreshed, so it is hidden: %(why)s") % {"why": words}
        )[:255]
        task.save(update_fields=["qr_string", "qr_error"])
        return task
    task.qr_string = qr
    task.qr_fetched_at = timezone.now()
    task.qr_error = ""
    task.save(update_fields=["qr_string", "qr_fetched_at", "qr_error"])
    return task
