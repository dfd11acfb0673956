"""Read-only vendor look-ups shown beside our own data (profile, where online, agents,
the vendor's status log). Each returns (value, error message); a failing vendor never
breaks the page, it shows the message instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from django.utils.translation import gettext as _

from accounts.choices import Source
from accounts.models import Agent
from accounts.services.fleet import cloud_port_for
from core.choices import label
from ports.services import PortNotLinked, port_call
from upstream import operations
from upstream.errors import UpstreamError, UpstreamUnavailable, unavailable_message
from upstream.types import AgentAccounts, AgentStatusLog, OnlineInfo, Profile, SourceAgents

T = TypeVar("T")


def _ask(fn: Callable[[], T]) -> tuple[T | None, str]:
    try:
        return fn(), ""
    except UpstreamError as exc:
        return None, exc.message
    except UpstreamUnavailable as exc:
        return None, unavailable_message(exc) + " " + _("Reload to try again.")


class ProfileAnswer(NamedTuple):
    profile: Profile | None
    error: str
    asked: bool  # False: the vendor could not be asked (no cloud port, or one not linked)


def vendor_profile_answer(*, whatsapp: str) -> ProfileAnswer:
    """The account's profile from the vendor, or why not, and whether the vendor was asked:
    the page times only an answer (a profile, or a failure) it really got."""
    port = cloud_port_for(whatsapp)
    if port is None:
        return ProfileAnswer(
            None,
            _("This account has no cloud port, so the vendor cannot read its profile."),
            asked=False,
        )
    try:
        profile, error = _ask(
            lambda: port_call(port=port, send=lambda ident: operations.info_profile(id=ident))[0]
        )
    except PortNotLinked as exc:
        return ProfileAnswer(None, str(exc), asked=False)
    return ProfileAnswer(profile, error, asked=True)


def vendor_profile(*, whatsapp: str) -> tuple[Profile | None, str]:
    answer = vendor_profile_answer(whatsapp=whatsapp)
    return answer.profile, answer.error


def vendor_online_where(*, whatsapp: str) -> tuple[list[OnlineInfo], str]:
    """Where the account is online: PC/mobile (default query) and the cloud computer (3)."""
    found: list[OnlineInfo] = []
    errors = []
    for source in (None, 3):
        value, err = _ask(
            lambda s=source: operations.query_whatsapp_info(whatsapp=whatsapp, source=s)  # type: ignore[misc]
        )
        if err:
            errors.append(err)
        found.extend(value or [])
    return found, "; ".join(dict.fromkeys(errors))


def vendor_agents_online() -> tuple[list[SourceAgents], str]:
    value, err = _ask(operations.query_all_ol_whatsapp_info)
    return value or [], err


def vendor_user_status(*, source: int, user_name: str = "") -> tuple[list[AgentAccounts], str]:
    value, err = _ask(
        lambda: operations.query_user_status(source=source, user_name=user_name or None)
    )
    return value or [], err


def vendor_latest_online(*, source: int, user_id: str = "") -> tuple[list[AgentAccounts], str]:
    value, err = _ask(
        lambda: operations.get_latest_online_whats_account(source=source, user_id=user_id or None)
    )
    return value or [], err


def vendor_status_log(
    *, source: int, agent_account: str = "", whatsapp: str = ""
) -> tuple[list[AgentStatusLog], str]:
    value, err = _ask(
        lambda: operations.query_user_status_log(
            source=source, agent_account=agent_account or None, whatsapp=whatsapp or None
        )
    )
    return value or [], err


def as_rows(value: Any) -> list[Any]:
    return list(value or [])


def vendor_agents_overview(*, agent: str = "") -> dict[str, Any]:
    """What the agents page shows, from the vendor: online agents per source
    (queryAllOlWhatsAppInfo), the per-source view of queryUserStatus (mobile is not in the
    former for every tenant) and each agent's latest ten online accounts; optionally only
    one agent account. Vendor failures become messages, never exceptions."""

    def wanted(rows: Any) -> list[Any]:
        return [a for a in rows if not agent or a.agent_account == agent]

    sources, error = vendor_agents_online()
    errors = [error] if error else []
    blocks = [{"source": label(Source, b.source), "agents": wanted(b.agents)} for b in sources]
    user_id = ""
    if agent:
        user_id = (
            Agent.objects.filter(agent_account=agent)
            .values_list("upstream_user_id", flat=True)
            .first()
            or ""
        )
    user_status: list[dict[str, Any]] = []
    latest: list[dict[str, Any]] = []
    for source in (1, 2):
        rows, err = vendor_user_status(source=source, user_name="")
        errors += [err] if err else []
        user_status.append({"source": label(Source, source), "agents": wanted(rows)})
        rows, err = vendor_latest_online(source=source, user_id=user_id)
        errors += [err] if err else []
        latest.append(
            {
                "source": label(Source, source),
                "agents": [(a, list(a.whatsapps)) for a in wanted(rows)],
            }
        )
    return {
        "blocks": blocks,
        "all_blocks": sources,
        "user_status": user_status,
        "latest": latest,
        "errors": list(dict.fromkeys(errors)),
    }
