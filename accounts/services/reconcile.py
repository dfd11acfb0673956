"""Reconcile: pull the upstream's view and repair drift a lost webhook left behind.

One pass calls queryWhatsAppStatus (account status and online status), selectCloudPort (the
port quota), selectCloudPortDetail (occupied ports) and queryAllOlWhatsAppInfo (online agents
and their accounts). Each part is applied on its own; a part whose call fails is reported and
the others still run.

Poll data carries no event time, so it never overwrites newer webhook state: a field is only
filled when what is stored is older than the start of the poll (`online_status_at <
poll_started_at`; for the agent of an account, `last_event_received_at < poll_started_at`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Agent, WhatsAppAccount
from accounts.services.agents import AgentSighting
from accounts.services.status import accounts_ensure
from ports.services import cloud_ports_store, port_quota_store
from upstream.errors import UpstreamProblem
from upstream.types import AgentAccounts

SOURCES = (1, 2)  # the agent operations' sources: 1 pc, 2 mobile


@dataclass
class ReconcileReport:
    started_at: datetime
    accounts_seen: int = 0
    accounts_created: int = 0
    accounts_updated: int = 0
    quota: tuple[int, int] | None = None
    ports_seen: int = 0
    ports_released: int = 0
    agents_seen: int = 0
    agents_linked: int = 0
    agents_known: int = 0  # the directory: agents named by any agent operation
    skipped: list[str] = field(default_factory=list)  # vendor records that do not fit
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "accounts_seen": self.accounts_seen,
            "accounts_created": self.accounts_created,
            "accounts_updated": self.accounts_updated,
            "quota": list(self.quota) if self.quota else None,
            "ports_seen": self.ports_seen,
            "ports_released": self.ports_released,
            "agents_seen": self.agents_seen,
            "agents_linked": self.agents_linked,
            "agents_known": self.agents_known,
            "skipped": list(self.skipped),
            "errors": dict(self.errors),
        }


def _part(report: ReconcileReport, name: str, fn: Callable[[], None]) -> None:
    try:
        fn()
    except UpstreamProblem as exc:
        report.errors[name] = str(exc) or type(exc).__name__


def accounts_reconcile(*, statuses: list[Any], poll_started_at: datetime) -> tuple[int, int]:
    """(created, updated) from queryWhatsAppStatus rows."""
    rows = [s for s in statuses if s.whatsapp]
    if not rows:
        return 0, 0
    table = WhatsAppAccount._meta.db_table
    with transaction.atomic():
        created = accounts_ensure(numbers=(s.whatsapp for s in rows))
        values = ",".join(["(%s, %s::smallint, %s::smallint)"] * len(rows))
        params: list[Any] = []
        for s in rows:
            params += [s.whatsapp, s.status, s.online_status]
        sql = f"""
            UPDATE {table} AS a SET
                status = COALESCE(v.status, a.status),
                online_status = COALESCE(v.online_status, a.online_status),
                online_status_at = %s,
                updated_at = now()
            FROM (VALUES {values}) AS v(whatsapp, status, online_status)
            WHERE a.whatsapp = v.whatsapp
              AND (a.online_status_at IS NULL OR a.online_status_at < %s)
              AND (a.status IS DISTINCT FROM COALESCE(v.status, a.status)
                   OR a.online_status IS DISTINCT FROM COALESCE(v.online_status, a.online_status))
        """  # noqa: S608 - table name from _meta; values are bound
        with connection.cursor() as cursor:
            cursor.execute(sql, [poll_started_at, *params, poll_started_at])
            updated = max(cursor.rowcount, 0)
    return created, updated


def _seen_online(agent: AgentAccounts, *, seen_at: datetime) -> AgentSighting:
    """An agent a poll that began at `seen_at` found online."""
    return AgentSighting(
        agent_account=agent.agent_account,
        user_id=agent.user_id,
        user_name=agent.user_name,
        seen_at=seen_at,
        online=True,
    )


def agents_reconcile(
    *, groups: list[Any], poll_started_at: datetime, skipped: list[str] | None = None
) -> tuple[int, int]:
    """The online agents of queryAllOlWhatsAppInfo: each is upserted into the directory
    (online, seen at the poll), every other agent is marked offline (and stays known), and
    their accounts are linked: agent, source, and the agent account when no presence record
    arrived since the poll began. A record that does not fit (an over-long agent account) is
    skipped and named in `skipped`; the others still apply."""
    from accounts.services.agents import agents_mark_offline, agents_seen

    sightings = [
        _seen_online(item, seen_at=poll_started_at) for group in groups for item in group.agents
    ]
    linked = 0
    with transaction.atomic():
        agents_seen_count, problems = agents_seen(sightings=sightings)
        if skipped is not None:
            skipped.extend(f"queryAllOlWhatsAppInfo: {p}" for p in problems)
        known = {
            a.agent_account: a
            for a in Agent.objects.filter(agent_account__in=[s.agent_account for s in sightings])
        }
        agents_mark_offline(except_accounts=known)
        for group in groups:
            for item in group.agents:
                agent = known.get(item.agent_account)
                if agent is None:
                    continue
                numbers = [w.whatsapp for w in item.whatsapps if w.whatsapp]
                if not numbers:
                    continue
                accounts_ensure(numbers=numbers)
                for w in item.whatsapps:
                    if w.name:
                        WhatsAppAccount.objects.filter(whatsapp=w.whatsapp, name="").update(
                            name=w.name[:150]
                        )
                fields: dict[str, Any] = {"agent": agent}
                if group.source is not None:
                    fields["source"] = group.source
                linked += WhatsAppAccount.objects.filter(whatsapp__in=numbers).update(**fields)
                WhatsAppAccount.objects.filter(whatsapp__in=numbers).exclude(
                    last_event_received_at__gte=poll_started_at
                ).update(agent_account=agent.agent_account)
    return agents_seen_count, linked


def agent_directory_reconcile(
    *,
    sightings: list[Any],
    source_name: str,
    skipped: list[str],
) -> int:
    """Agents named by queryUserStatus, getLatestOnlineWhatsAccount or queryUserStatusLog:
    known from then on (offline ones too). Returns how many were written."""
    from accounts.services.agents import agents_seen

    written, problems = agents_seen(sightings=sightings)
    skipped.extend(f"{source_name}: {p}" for p in problems)
    return written


def upstream_reconcile() -> ReconcileReport:
    """One pass over the four polls. Returns a report; failed parts are in `errors`."""
    from upstream import operations

    report = ReconcileReport(started_at=timezone.now())
    started = report.started_at

    def accounts() -> None:
        statuses = operations.query_whatsapp_status()
        report.accounts_seen = len(statuses)
        report.accounts_created, report.accounts_updated = accounts_reconcile(
            statuses=statuses, poll_started_at=started
        )

    # Ports and quota go through the ports page's writers (one lock, one release rule).
    def quota() -> None:
        q = operations.select_cloud_port()
        port_quota_store(current_port=q.current_port, max_port=q.max_port)
        report.quota = (q.current_port, q.max_port)

    def ports() -> None:
        asked_at = timezone.now()
        detail = operations.select_cloud_port_detail()
        report.ports_seen = len(detail)
        report.ports_released = cloud_ports_store(ports=detail, seen_at=asked_at).released

    def agents() -> None:
        groups = operations.query_all_ol_whatsapp_info()
        report.agents_seen, report.agents_linked = agents_reconcile(
            groups=groups, poll_started_at=started, skipped=report.skipped
        )

    def user_status() -> None:
        sightings = [
            _seen_online(a, seen_at=started)
            for source in SOURCES
            for a in operations.query_user_status(source=source)
        ]
        agent_directory_reconcile(
            sightings=sightings, source_name="queryUserStatus", skipped=report.skipped
        )

    def latest_online() -> None:
        sightings = [
            AgentSighting(agent_account=a.agent_account, user_id=a.user_id, user_name=a.user_name)
            for source in SOURCES
            for a in operations.get_latest_online_whats_account(source=source)
        ]
        agent_directory_reconcile(
            sightings=sightings,
            source_name="getLatestOnlineWhatsAccount",
            skipped=report.skipped,
        )

    def status_log() -> None:
        sightings = [
            AgentSighting(
                agent_account=log.agent_account,
                user_id=log.user_id,
                seen_at=max(
                    (e.create_time for e in log.entries if e.create_time is not None),
                    default=None,
                ),
            )
            for source in SOURCES
            for log in operations.query_user_status_log(source=source)
        ]
        agent_directory_reconcile(
            sightings=sightings, source_name="queryUserStatusLog", skipped=report.skipped
        )

    _part(report, "queryWhatsAppStatus", accounts)
    _part(report, "selectCloudPort", quota)
    _part(report, "selectCloudPortDetail", ports)
    _part(report, "queryAllOlWhatsAppInfo", agents)
    _part(report, "queryUserStatus", user_status)
    _part(report, "getLatestOnlineWhatsAccount", latest_online)
    _part(report, "queryUserStatusLog", status_log)
    report.agents_known = Agent.objects.count()
    return report
