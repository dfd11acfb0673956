"""The agent directory: agents are known from every source and stay known
while offline.

Sources: queryAllOlWhatsAppInfo, queryUserStatus (both sources), getLatestOnlineWhatsAccount,
queryUserStatusLog (reconcile), the onlineStatus webhook's `account` (status services), and a
supervisor adding one by hand (`agent_create`, shared by the agents page and
`POST /api/v1/agents/`). A vendor record that does not fit (an agent account longer than we
keep) is skipped and reported, never failing the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from accounts.models import Agent
from core.audit import audit_record

ACCOUNT_MAX = Agent._meta.get_field("agent_account").max_length or 64
USER_ID_MAX = Agent._meta.get_field("upstream_user_id").max_length or 32
NAME_MAX = Agent._meta.get_field("user_name").max_length or 150


class AgentInvalid(ValueError):
    """Bad input for an agent; the message is safe to show."""


class AgentExists(AgentInvalid):
    """An agent with that agent account is already known."""


@dataclass(frozen=True)
class AgentSighting:
    """One source naming an agent. Empty fields leave what is stored; `seen_at` only moves
    last_seen_at forward; `online` None leaves the flag."""

    agent_account: str
    user_id: str = ""
    user_name: str = ""
    seen_at: datetime | None = None
    online: bool | None = None


def sighting_problem(s: AgentSighting) -> str:
    """Why a vendor record cannot be kept ("" when it can)."""
    if not s.agent_account:
        return _("no agent account")
    if len(s.agent_account) > ACCOUNT_MAX:
        return _("agent account %(value)s… is longer than %(max)s characters") % {
            "value": s.agent_account[:20],
            "max": ACCOUNT_MAX,
        }
    if len(s.user_id) > USER_ID_MAX:
        return _("user id %(value)s… is longer than %(max)s characters") % {
            "value": s.user_id[:20],
            "max": USER_ID_MAX,
        }
    return ""


def agents_seen(*, sightings: Iterable[AgentSighting]) -> tuple[int, list[str]]:
    """Upsert the agents named by `sightings` in one statement (agent account order, so
    concurrent callers lock rows in the same order). Returns (agents written, problems: one
    line per skipped record)."""
    merged: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for s in sightings:
        s = AgentSighting(
            agent_account=(s.agent_account or "").strip(),
            user_id=(s.user_id or "").strip(),
            user_name=(s.user_name or "").strip()[:NAME_MAX],
            seen_at=s.seen_at,
            online=s.online,
        )
        problem = sighting_problem(s)
        if problem:
            if s.agent_account or s.user_id:
                problems.append(problem)
            continue
        row = merged.setdefault(
            s.agent_account,
            {"a": s.agent_account, "u": "", "n": "", "t": None, "o": None},
        )
        row["u"] = s.user_id or row["u"]
        row["n"] = s.user_name or row["n"]
        if s.seen_at is not None and (row["t"] is None or s.seen_at > row["t"]):
            row["t"] = s.seen_at
        if s.online is not None:
            row["o"] = bool(row["o"]) or s.online
    if not merged:
        return 0, problems
    table = Agent._meta.db_table
    rows = sorted(merged.values(), key=lambda r: r["a"])
    values = ",".join(["(%s, %s, %s, %s::timestamptz, %s::boolean)"] * len(rows))
    params: list[Any] = []
    for r in rows:
        params += [r["a"], r["u"], r["n"], r["t"], r["o"]]
    sql = f"""
        INSERT INTO {table} AS g (agent_account, upstream_user_id, user_name, last_seen_at,
                                  online, updated_at)
        SELECT v.a, v.u, v.n, v.t, COALESCE(v.o, false), now()
        FROM (VALUES {values}) AS v(a, u, n, t, o)
        ON CONFLICT (agent_account) DO UPDATE SET
            upstream_user_id = COALESCE(NULLIF(EXCLUDED.upstream_user_id, ''),
                                        g.upstream_user_id),
            user_name = COALESCE(NULLIF(EXCLUDED.user_name, ''), g.user_name),
            last_seen_at = GREATEST(g.last_seen_at, EXCLUDED.last_seen_at),
            updated_at = now()
    """  # noqa: S608 - table name from _meta; values are bound
    # EXCLUDED cannot tell "online not given" from false: the flag is a second statement.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        flags = [(r["a"], r["o"]) for r in rows if r["o"] is not None]
        if flags:
            flag_values = ",".join(["(%s, %s::boolean)"] * len(flags))
            cursor.execute(
                f"UPDATE {table} AS g SET online = v.o FROM (VALUES {flag_values}) AS v(a, o) "  # noqa: S608
                "WHERE g.agent_account = v.a AND g.online IS DISTINCT FROM v.o",
                [x for pair in flags for x in pair],
            )
    return len(rows), problems


def agents_mark_offline(*, except_accounts: Iterable[str]) -> int:
    """After a complete online poll: every agent it did not name is offline (and stays
    known, with its last seen time)."""
    return (
        Agent.objects.filter(online=True)
        .exclude(agent_account__in=list(except_accounts))
        .update(online=False)
    )


def agent_create(*, agent_account: str, user_id: str, user_name: str, actor: Any) -> Agent:
    """A supervisor adds an agent the vendor has not reported yet (audited). Raises
    AgentInvalid (bad input) or AgentExists."""
    agent_account = (agent_account or "").strip()
    user_id = (user_id or "").strip()
    user_name = (user_name or "").strip()
    if not agent_account:
        raise AgentInvalid(_("The agent account is required."))
    if len(agent_account) > ACCOUNT_MAX:
        raise AgentInvalid(
            _("The agent account is longer than %(max)s characters.") % {"max": ACCOUNT_MAX}
        )
    if user_id and not user_id.isdigit():
        raise AgentInvalid(_("The user id is the vendor's agent id: digits only."))
    if len(user_id) > USER_ID_MAX:
        raise AgentInvalid(
            _("The user id is longer than %(max)s characters.") % {"max": USER_ID_MAX}
        )
    if len(user_name) > NAME_MAX:
        raise AgentInvalid(_("The name is longer than %(max)s characters.") % {"max": NAME_MAX})
    if Agent.objects.filter(agent_account=agent_account).exists():
        raise AgentExists(_("The agent %(account)s is already known.") % {"account": agent_account})
    try:
        with transaction.atomic():
            agent = Agent.objects.create(
                agent_account=agent_account,
                upstream_user_id=user_id,
                user_name=user_name,
                added_by=actor if getattr(actor, "pk", None) else None,
            )
            audit_record(
                actor=actor,
                action="agent.create",
                target_type="agent",
                target_id=agent_account,
                before=None,
                after={"agent_account": agent_account, "user_id": user_id, "user_name": user_name},
            )
    except IntegrityError:
        raise AgentExists(
            _("The agent %(account)s is already known.") % {"account": agent_account}
        ) from None
    return agent
