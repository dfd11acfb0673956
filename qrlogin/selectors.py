"""Reads of the qrlogin app. Agents see their own sessions and tasks; supervisors and
admins see everything (core.access decides who is who)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Agent, WhatsAppAccount
from core.access import agent_for_user, scope_to_owner, sees_everything
from qrlogin import conf
from qrlogin.models import CloudPort, PairTarget, PortQuota, QrSession, ScanTask

# --- sessions -----------------------------------------------------------------------------


def qr_session_list(*, user: Any) -> QuerySet[QrSession]:
    return scope_to_owner(user, QrSession.objects.select_related("created_by"))


def qr_session_get(*, user: Any, pk: int) -> QrSession:
    """The session, or 404 when it is not the user's to see."""
    session = qr_session_list(user=user).filter(pk=pk).first()
    if session is None:
        raise Http404
    return session


def pair_target_choices() -> list[tuple[str, str]]:
    return [
        (t.target_tenant_id, f"{t.name or t.target_tenant_id} ({t.target_tenant_id})")
        for t in PairTarget.objects.order_by("name", "target_tenant_id")
    ]


def pair_target_name(target_tenant_id: str) -> str:
    if not target_tenant_id:
        return ""
    name = PairTarget.objects.filter(target_tenant_id=target_tenant_id).values_list(
        "name", flat=True
    )
    return f"{name.first() or ''} ({target_tenant_id})".strip()


def pair_targets_stale() -> bool:
    newest = PairTarget.objects.order_by("-fetched_at").values_list("fetched_at", flat=True)
    latest = newest.first()
    if latest is None:
        return True
    return (timezone.now() - latest).total_seconds() > conf.pair_targets_max_age_seconds()


# --- scan tasks ---------------------------------------------------------------------------


def scan_task_list(*, user: Any) -> QuerySet[ScanTask]:
    """Agents: the tasks they created and the tasks allocated to their upstream agent."""
    qs = ScanTask.objects.select_related("created_by")
    if sees_everything(user):
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    agent = agent_for_user(user)
    cond = Q(created_by=user)
    if agent is not None and agent.upstream_user_id:
        cond |= Q(upstream_user_id=agent.upstream_user_id)
    return qs.filter(cond)


def scan_task_get(*, user: Any, pk: int) -> ScanTask:
    task = scan_task_list(user=user).filter(pk=pk).first()
    if task is None:
        raise Http404
    return task


def agent_choices() -> list[tuple[str, str]]:
    """Agents a supervisor may allocate a task to (those with an upstream user id)."""
    return [
        (a.upstream_user_id, f"{a.user_name or a.agent_account} ({a.upstream_user_id})")
        for a in Agent.objects.exclude(upstream_user_id="").order_by("agent_account")
    ]


# --- ports --------------------------------------------------------------------------------


def port_quota_get() -> PortQuota | None:
    return PortQuota.objects.order_by("-fetched_at", "-id").first()


def quota_stale(quota: PortQuota | None) -> bool:
    if quota is None:
        return True
    return (timezone.now() - quota.fetched_at).total_seconds() > conf.quota_max_age_seconds()


def cloud_port_list() -> QuerySet[CloudPort]:
    """Occupied ports (not released), oldest first."""
    return CloudPort.objects.filter(released=False).order_by("created_at_upstream", "port_id")


def _port_sort_key(port: CloudPort) -> tuple[float, int, str]:
    created = port.created_at_upstream.timestamp() if port.created_at_upstream else 0.0
    return (created, len(port.port_id), port.port_id)


def ports_lock_expiring(*, within_seconds: float | None = None) -> list[CloudPort]:
    """Unused ports whose 10-minute lock ends soon (after that the vendor releases them)."""
    now = timezone.now()
    window = within_seconds if within_seconds is not None else conf.lock_warning_seconds()
    return list(
        cloud_port_list()
        .filter(locked_until__gt=now, locked_until__lte=now + timedelta(seconds=window))
        .order_by("locked_until")
    )


def sessions_lock_expiring(*, user: Any, within_seconds: float | None = None) -> list[QrSession]:
    now = timezone.now()
    window = within_seconds if within_seconds is not None else conf.lock_warning_seconds()
    return list(
        qr_session_list(user=user)
        .filter(
            state__in=[QrSession.State.STARTING, QrSession.State.SHOWING],
            locked_until__gt=now,
            locked_until__lte=now + timedelta(seconds=window),
        )
        .order_by("locked_until")
    )


@dataclass(frozen=True)
class AtRisk:
    port: CloudPort
    account: WhatsAppAccount | None


def ports_over_quota(quota: PortQuota | None) -> list[AtRisk]:
    """When maxPort < currentPort the vendor takes the accounts on the latest requested
    ports offline: these, newest first."""
    if quota is None or quota.max_port >= quota.current_port:
        return []
    excess = quota.current_port - quota.max_port
    latest = sorted(cloud_port_list(), key=_port_sort_key, reverse=True)[:excess]
    phones = [p.phone for p in latest if p.phone]
    accounts = {a.whatsapp: a for a in WhatsAppAccount.objects.filter(whatsapp__in=phones)}
    return [AtRisk(port=p, account=accounts.get(p.phone)) for p in latest]
