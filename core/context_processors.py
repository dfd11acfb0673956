from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.translation import gettext_lazy as _

from core.access import can, role_of
from core.roles import ROLE_LABELS, Cap

# (label, url name, capabilities admitting it; empty = any signed-in user)
NAV: list[tuple[Any, str, tuple[Cap, ...]]] = [
    (_("Home"), "home", ()),
    (_("Accounts"), "accounts:list", ()),
    (_("QR login"), "qrlogin:start", (Cap.QR_LOGIN,)),
    (_("Scan tasks"), "qrlogin:tasks", (Cap.QR_LOGIN,)),
    (_("Ports"), "qrlogin:ports", (Cap.MANAGE_PORTS,)),
    (_("Actions"), "actions:list", (Cap.OWN_ACTIONS, Cap.MANAGE_ACTIONS)),
    (_("Agents"), "accounts:agents", (Cap.VIEW_AGENTS,)),
    (_("Logs"), "accounts:logs", (Cap.VIEW_LOGS,)),
    (_("Webhooks"), "webhooks:inbox", (Cap.VIEW_INBOX,)),
    (_("Vendor connection"), "webhooks:vendor", (Cap.VIEW_INBOX,)),
    (_("Alerts"), "notify:alerts", (Cap.MANAGE_ALERTS,)),
    (_("Events"), "notify:subscriptions", (Cap.VIEW_EVENTS, Cap.MANAGE_EVENTS)),
    (_("Audit"), "audit", (Cap.VIEW_AUDIT,)),
    (_("Admin"), "admin:index", (Cap.MANAGE_USERS,)),
]

# Counts shown beside a nav item, each contributed by the app that owns the page (notify:
# the open alerts), so core imports none of them.
NAV_BADGES: dict[str, Callable[[], int]] = {}


def register_nav_badge(url_name: str, count: Callable[[], int]) -> None:
    NAV_BADGES[url_name] = count


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The menu, the role and the live stream's address. The menu and role are computed
    when a template first reads them (a template calls a callable), once per request: an
    htmx fragment such as a live fleet row never shows them, and so never pays their
    queries (the role's groups, each badge's count)."""
    user = request.user
    if not user.is_authenticated:
        return {"nav_items": [], "user_role": None}
    return {
        "nav_items": functools.cache(lambda: nav_items(request)),
        "user_role": (role := functools.cache(lambda: role_of(user))),
        "user_role_label": lambda: ROLE_LABELS[r] if (r := role()) else "",
        "live_url": live_url(),
    }


def live_url() -> str:
    """The live stream's address: it replays from a little before this render (core/live.py)."""
    return f"{reverse('live')}?since={time.time() - 2.0:.3f}"


@functools.lru_cache(maxsize=256)
def _nav_url(name: str, prefix: str, urlconf: object) -> str | None:
    """A menu entry's URL, reversed once per URL prefix and URL conf (reversing the whole
    menu on every page cost about a quarter millisecond: bench/pages.py --profile)."""
    try:
        return reverse(name, urlconf=get_urlconf())
    except NoReverseMatch:
        return None


@receiver(setting_changed)
def _urls_changed(*, setting: str, **_kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":
        _nav_url.cache_clear()


def nav_items(request: HttpRequest) -> list[dict[str, Any]]:
    user = request.user
    items = []
    for label, name, caps in NAV:
        if caps and not any(can(user, c) for c in caps):
            continue
        if name == "admin:index" and not user.is_staff:  # Django's admin admits staff only
            continue
        url = _nav_url(name, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
        if url is None:  # the page's issue has not landed yet
            continue
        item: dict[str, Any] = {"label": label, "url": url, "active": False}
        if name in NAV_BADGES:
            item["count"] = NAV_BADGES[name]()
        items.append(item)
    # The current section is the item with the longest URL that prefixes the path
    # (/qr/ports/ is "Ports", not also "QR login").
    path = request.path
    matches = [
        i for i in items if path == i["url"] or (i["url"] != "/" and path.startswith(i["url"]))
    ]
    if matches:
        max(matches, key=lambda i: len(str(i["url"])))["active"] = True
    return items
