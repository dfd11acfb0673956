"""PC scan tasks: create one (qrCodeTask/create), show its QR (qrCodeTask/getQrCode, which
may be called again until the scan succeeds). Statuses arrive by webhook (services.results).

Without the webhook: the seeds have no operation that reads a task's status, but the
vendor's status log (queryUserStatusLog) records a "PC QR code login" (behaviour 11) for
the agent the task is allocated to. An open task whose agent is known is watched with it:
the first such login of that agent after the task was created, on a number no other task
has taken, is the task's login (80). What the log cannot say (scanned, timeouts, no port,
banned, and anything about a random task whose agent is unknown) is in docs/qrlogin.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import agent_for_user
from accounts.models import Agent
from core.access import sees_everything
from qrlogin import conf
from qrlogin.errors import explain
from qrlogin.models import AllocationRole, ScanTask, ScanTaskStatus
from upstream import operations
from upstream.breaker import sweep
from upstream.errors import CircuitOpen, UpstreamProblem

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
        next_poll_at=timezone.now() + timedelta(seconds=conf.scan_task_poll_seconds()),
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


# --- the outcome without the webhook -------------------------------------------------------

PC_QR_LOGIN = 11  # queryUserStatusLog behaviour: "PC QR code login"
LOG_TOLERANCE = timedelta(seconds=2)  # the log's times are whole seconds
OPEN_TASK = Q(status__isnull=True) | Q(status=ScanTaskStatus.SCANNED)


def _task_poll_delay(polls: int) -> float:
    base = max(0.0, conf.scan_task_poll_seconds())
    return min(max(base, 4 * base), base * (2 ** min(polls, 16)))


def scan_task_poll_outcome(*, task: ScanTask) -> str:
    """Read the vendor's status log once for an open task (claimed with a conditional
    update that also schedules the next read, with backoff). Returns "logged_in",
    "waiting", "unknown_agent", "unavailable" or "skipped"; raises CircuitOpen."""
    now = timezone.now()
    watch_end = task.created_at + timedelta(seconds=conf.scan_task_watch_seconds())
    next_at = now + timedelta(seconds=_task_poll_delay(task.polls + 1))
    claimed = ScanTask.objects.filter(OPEN_TASK, pk=task.pk, next_poll_at__lte=now).update(
        next_poll_at=next_at if next_at < watch_end else None, polls=F("polls") + 1
    )
    if not claimed:
        return "skipped"
    agent = (
        Agent.objects.filter(upstream_user_id=task.upstream_user_id)
        .exclude(agent_account="")
        .first()
        if task.upstream_user_id
        else None
    )
    if agent is None:  # a random task whose agent only the webhook would name
        ScanTask.objects.filter(pk=task.pk).update(next_poll_at=None)
        return "unknown_agent"
    try:
        logs = operations.query_user_status_log(source=1, agent_account=agent.agent_account)
    except CircuitOpen:
        raise
    except UpstreamProblem as exc:
        log.info("scan task %s: status log unavailable: %s", task.task_id, exc)
        return "unavailable"
    taken = set(
        ScanTask.objects.filter(status=ScanTaskStatus.LOGGED_IN)
        .exclude(pk=task.pk)
        .values_list("whatsapp", flat=True)
    )
    since = task.created_at - LOG_TOLERANCE
    logins = sorted(
        (
            e
            for group in logs
            if group.agent_account == agent.agent_account
            for e in group.entries
            if e.detail_status == PC_QR_LOGIN
            and e.whatsapp
            and e.whatsapp not in taken
            and e.create_time is not None
            and e.create_time >= since
        ),
        key=lambda e: e.create_time or now,
    )
    if not logins:
        return "waiting"
    login = logins[0]
    from qrlogin.services.results import scan_task_status_apply

    scan_task_status_apply(
        task_id=task.task_id,
        task_status=ScanTaskStatus.LOGGED_IN,
        whatsapp=login.whatsapp,
        user_id=task.upstream_user_id,
        update_time=login.create_time or now,
    )
    ScanTask.objects.filter(pk=task.pk).update(next_poll_at=None)
    log.info("scan task %s: login learned from the status log", task.task_id)
    return "logged_in"


def scan_tasks_poll_due(*, limit: int = 50) -> dict[str, int]:
    """The beat sweep over open tasks whose read is due; nothing while the breaker is
    open."""

    def due() -> Iterable[ScanTask]:
        return ScanTask.objects.filter(OPEN_TASK, next_poll_at__lte=timezone.now()).order_by(
            "next_poll_at"
        )[:limit]

    return sweep(due, lambda task: scan_task_poll_outcome(task=task))
