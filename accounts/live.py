"""What the live stream says when accounts change (registered with core.live in
AccountsConfig.ready): an account's events go to its agent and to the fleet's managers."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import WhatsAppAccount


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
    from core import live
    from core.roles import Cap

    live.register_topic(
        live.ACCOUNTS,
        audience=account_audience,
        cap=Cap.MANAGE_ACCOUNTS,
        on_commit=account_state_counts_stale,
    )
    # The fleet page's tiles and rows travel with their events (sse-swap), rendered once
    # per change in each web process instead of fetched by every open page.
    from accounts.views.fleet_parts import row_pushed, tiles_pushed, tiles_variant

    live.register_pushed("fleet", variant=tiles_variant, render=tiles_pushed)
    live.register_pushed("account-", variant=lambda user: "", render=row_pushed)
