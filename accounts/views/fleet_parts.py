"""The fleet page's parts that the live stream pushes (core/live.py, "pushed parts"), and
the fleet view renders the same way: the rows (cached on their cells, core/fragments.py)
and the tiles."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Choices, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts import selectors
from accounts.access import accounts_visible_to, all_accounts
from accounts.choices import AccountStatus, AccountType, OnlineStatus, Platform
from accounts.models import WhatsAppAccount
from core.access import sees_everything
from core.ago import ago
from core.fragments import render_each

ROW_TEMPLATE = "accounts/list.html#row"


def row_cells(rows: list[WhatsAppAccount]) -> list[dict[str, Any]]:
    """Each row's cells as plain values, its labels translated once per request: all the
    row template reads, so the rendered row is cached on them (core/fragments.py)."""
    choices: dict[str, type[Choices]] = {  # the model fields' own choices
        "status": AccountStatus,
        "online_status": OnlineStatus,
        "platform": Platform,
        "account_type": AccountType,
    }
    tables = {name: {k: str(v) for k, v in c.choices} for name, c in choices.items()}
    presence: dict[object, str] = {}
    detail: dict[object, str] = {}
    now = timezone.now()
    cells = []
    for a in rows:
        if a.presence_status not in presence:
            presence[a.presence_status] = a.presence_label
        if a.detail_status not in detail:
            detail[a.detail_status] = a.detail_status_label
        row: dict[str, Any] = {
            "pk": a.pk,
            "whatsapp": a.whatsapp,
            "name": a.name,
            "recycled": a.recycled,
            "presence_status": a.presence_status,
            "presence_text": presence[a.presence_status],
            "detail_status": a.detail_status,
            "detail_text": detail[a.detail_status],
            "agent_account": a.agent_account,
            "country": a.country,
            "last_event_at": a.last_event_at,
            # Relative ("3 minutes ago"): part of the key, so it is never served stale.
            "last_event_ago": ago(a.last_event_at, now) if a.last_event_at else "",
        }
        for name, table in tables.items():
            value = getattr(a, name)
            row[name] = value
            row[f"{name}_text"] = table.get(value, value)
        cells.append(row)
    return cells


def rows_html(rows: list[WhatsAppAccount]) -> list[SafeString]:
    return render_each(ROW_TEMPLATE, "a", row_cells(rows))


def tiles_html(visible: QuerySet[WhatsAppAccount]) -> str:
    counts = selectors.account_state_counts(visible=visible)
    return render_to_string("accounts/list.html#counts", {"counts": counts})


# --- as the live stream pushes them ----------------------------------------------------


def tiles_variant(user: Any) -> str:
    """The tiles count what the user sees: the whole fleet (shared by every supervisor's
    page), or an agent's own accounts."""
    return "all" if sees_everything(user) else f"user:{user.pk}"


def tiles_pushed(event: str, variant: str) -> str:
    if variant == "all":
        return tiles_html(all_accounts())
    user = get_user_model().objects.get(pk=int(variant.removeprefix("user:")))
    return tiles_html(accounts_visible_to(user))


def row_pushed(event: str, variant: str) -> str:
    """The row of account `event` ("account-<number>"); empty (the row goes) when it is no
    longer there. Everyone who hears the event may see the account."""
    number = event.removeprefix("account-")
    rows = list(WhatsAppAccount.objects.filter(whatsapp=number).only(*selectors.FLEET_LIST_FIELDS))
    return str(rows_html(rows)[0]) if rows else ""


def rows_pushed(events: list[str], variant: str) -> dict[str, str]:
    """The rows of several accounts at once (one query, one cache round trip for all):
    under load the hub renders the rows changed meanwhile together."""
    numbers = [event.removeprefix("account-") for event in events]
    found = list(
        WhatsAppAccount.objects.filter(whatsapp__in=numbers).only(*selectors.FLEET_LIST_FIELDS)
    )
    out = dict.fromkeys(events, "")  # an account no longer there: its row goes
    for account, html in zip(found, rows_html(found), strict=True):
        out[f"account-{account.whatsapp}"] = str(html)
    return out
