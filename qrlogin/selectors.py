"""Reads of the qrlogin app. Agents see their own sessions and tasks; supervisors and
admins see everything (core.access decides who is who)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import (
    CharField,
    DateTimeField,
    ExpressionWrapper,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404
from django.utils import timezone

from accounts.access import accounts_visible_to
from accounts.models import Agent, WhatsAppAccount
from core.access import visible
from ports.models import CloudPort, PortQuota
from qrlogin import conf
from qrlogin.models import PairTarget, QrSession, ScanTask

# --- sessions -----------------------------------------------------------------------------


def qr_session_list(*, user: Any) -> QuerySet[QrSession]:
    return visible(user, QrSession.objects.select_related("created_by"))


def qr_session_get(*, user: Any, pk: int) -> QrSession:
    """The session, or 404 when it is not the user's to see."""
    session = qr_session_list(user=user).filter(pk=pk).first()
    if session is None:
        raise Http404
    return session


def login_result_account(*, user: Any, whatsapp: str) -> dict[str, Any]:
    """Where the account a login brought online is, for the person reading its result: its
    page if they may open it (`account_open`), else whom the vendor gave it to
    (`account_elsewhere`: that agent's account, or "" for none yet), said in words instead of
    a link that would answer 404. Nothing while the number is not known here yet."""
    if not whatsapp:
        return {}
    if accounts_visible_to(user).filter(whatsapp=whatsapp).exists():
        return {"account_open": True}
    owner = WhatsAppAccount.objects.filter(whatsapp=whatsapp).values_list("agent_account")
    found = owner.first()
    if found is None:
        return {}
    return {"account_elsewhere": True, "elsewhere_agent": found[0]}


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
    return visible(user, ScanTask.objects.select_related("created_by"))


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


# A login made through Switchboard starts with preGenerate, which makes the port: the
# session and the port's createTime are minutes apart at most (clocks differ a little).
PORT_SESSION_WINDOW = timedelta(minutes=10)


def _port_sessions() -> QuerySet[QrSession]:
    return QrSession.objects.filter(state=QrSession.State.SUCCEEDED).exclude(port_id="")


def is_login_id(port_id: str) -> bool:
    """Whether `port_id` is the preGenerate id of a login made through Switchboard."""
    return QrSession.objects.filter(port_id=port_id).exists()


def port_session_id(*, phone: str, created_at_upstream: Any) -> str:
    """The preGenerate id of the Switchboard login that put `phone` on a port created at
    `created_at_upstream` ("" when that login was not made through Switchboard)."""
    if not phone:
        return ""
    sessions = _port_sessions().filter(whatsapp=phone)
    if created_at_upstream is not None:
        sessions = sessions.filter(
            created_at__gte=created_at_upstream - PORT_SESSION_WINDOW,
            created_at__lte=created_at_upstream + PORT_SESSION_WINDOW,
        )
    found = sessions.order_by("-created_at", "-id").values_list("port_id", flat=True).first()
    return found or ""


def cloud_port_list() -> QuerySet[CloudPort]:
    """Occupied ports (not released), oldest first. Each has `call_id`: the id the port
    operations take (the stored preGenerate id, or the one of the Switchboard login that
    put its phone there; "" when there is none and the operations cannot be sent)."""
    created = OuterRef("created_at_upstream")
    session = (
        _port_sessions()
        .filter(
            whatsapp=OuterRef("phone"),
            created_at__gte=ExpressionWrapper(
                created - PORT_SESSION_WINDOW, output_field=DateTimeField()
            ),
            created_at__lte=ExpressionWrapper(
                created + PORT_SESSION_WINDOW, output_field=DateTimeField()
            ),
        )
        .exclude(whatsapp="")
        .order_by("-created_at", "-id")
        .values("port_id")[:1]
    )
    return (
        CloudPort.objects.filter(released=False)
        .annotate(
            call_id=Coalesce(
                NullIf(F("pregenerate_id"), Value("")),
                Subquery(session),
                Value(""),
                output_field=CharField(),
            )
        )
        .order_by("created_at_upstream", "port_id")
    )


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
    rows = list(cloud_port_list())
    # The vendor counts the ports it lists: a row standing in for a login's port until the
    # list shows it (port id = preGenerate id) is not one more port when the list already
    # has a port with that number.
    listed = {p.phone for p in rows if p.phone and p.port_id != p.pregenerate_id}
    rows = [p for p in rows if not (p.port_id == p.pregenerate_id and p.phone in listed)]
    latest = sorted(rows, key=_port_sort_key, reverse=True)[:excess]
    phones = [p.phone for p in latest if p.phone]
    accounts = {a.whatsapp: a for a in WhatsAppAccount.objects.filter(whatsapp__in=phones)}
    return [AtRisk(port=p, account=accounts.get(p.phone)) for p in latest]
