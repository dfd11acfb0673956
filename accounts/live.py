"""What the live stream says when accounts change (registered with core.live in
AccountsConfig.ready): an account's events go to its agent and to the fleet's managers.
The accounts app's live events are named here, not in core."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import WhatsAppAccount
from core import live
from core.roles import Cap

ACCOUNTS = "accounts"


def accounts_changed(*, whatsapps: Iterable[str]) -> None:
    """Accounts changed (status, presence, agent, profile): their rows, details and tiles."""
    live.topic_changed(ACCOUNTS, whatsapps)


def accounts_created(*, whatsapps: Iterable[str]) -> None:
    """New accounts: the fleet lists offer to show them ("fleet-new"), besides the above."""
    numbers = list(whatsapps)
    if numbers:
        live.live_publish(events=["fleet-new"], cap=Cap.MANAGE_ACCOUNTS)
        live.topic_changed(ACCOUNTS, numbers)


def job_changed(*, job_id: int, owner: int | None) -> None:
    live.live_publish(events=[f"job-{job_id}", "jobs"], owners=[owner])


def registration_changed(*, registration_id: int, owner: int | None) -> None:
    """A registration moved (code asked, result): its page and the register page."""
    live.live_publish(events=[f"registration-{registration_id}", "registrations"], owners=[owner])


def lookup_changed(*, whatsapp: str) -> None:
    """A contact look-up on this account was answered: its account page's contacts."""
    live.live_publish(events=[f"contacts-{whatsapp}"], cap=Cap.MANAGE_ACCOUNTS)


def account_audience(numbers: list[str]) -> Iterable[tuple[list[str], list[int | None]]]:
    by_owner: dict[int | None, list[str]] = {}
    for start in range(0, len(numbers), 5000):
        rows = WhatsAppAccount.objects.filter(whatsapp__in=numbers[start : start + 5000])
        for number, owner in rows.values_list("whatsapp", "agent__user_id"):
            by_owner.setdefault(owner, []).append(number)
    for who, group in by_owner.items():
        yield ["fleet", *(f"account-{n}" for n in group)], [who]


def register() -> None:
    from accounts.selectors import account_state_counts_stale

    live.register_topic(
        ACCOUNTS,
        audience=account_audience,
        cap=Cap.MANAGE_ACCOUNTS,
        on_commit=account_state_counts_stale,
    )
    # The fleet page's tiles and rows travel with their events (sse-swap), rendered once
    # per change in each web process instead of fetched by every open page.
    from accounts.views.fleet_parts import row_pushed, rows_pushed, tiles_pushed, tiles_variant

    live.register_pushed("fleet", variant=tiles_variant, render=tiles_pushed)
    live.register_pushed(
        "account-", variant=lambda user: "", render=row_pushed, render_many=rows_pushed
    )
