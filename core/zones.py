"""Time zones: every page shows times in its reader's zone (docs/identity.md, "Time zone").

The reader's zone is their own setting (core.models.Preferences), else the zone their
browser reports (static/js/app.js keeps it in the `sb_tz` cookie), else TIME_ZONE.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import datetime, tzinfo
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

BROWSER_ZONE_COOKIE = "sb_tz"


@functools.cache
def zone_names() -> frozenset[str]:
    """Every IANA zone this machine knows (tzdata), without the legacy aliases."""
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))
    ) | {"UTC"}


def zone_valid(name: str) -> bool:
    return name in zone_names()


@functools.cache
def zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zone_names())]


def reader_zone_name(request: HttpRequest) -> str:
    """The zone the request's pages are shown in."""
    from core import grants

    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        own = grants.time_zone(user)
        if own and zone_valid(own):
            return own
    browser = unquote(request.COOKIES.get(BROWSER_ZONE_COOKIE, ""))
    if browser and zone_valid(browser):
        return browser
    return str(settings.TIME_ZONE)


def local_iso(value: datetime | None, zone: tzinfo) -> str:
    """An aware time as ISO 8601 in `zone`, with its offset (CSV exports: their rows are
    written after the view returns, when the request's zone is no longer active, so the
    view passes it)."""
    if value is None:
        return ""
    return timezone.localtime(value, zone).isoformat()


def zoned_stamp(value: datetime) -> str:
    """A time for text that leaves the console (alert messages): the console's one format in
    the active zone, and the zone named, "2026-12-07 20:45:03 Asia/Shanghai"."""
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M:%S} {timezone.get_current_timezone_name()}"


def zoned_header(name: str, zone: tzinfo) -> str:
    """A CSV column of times, named with the zone its values are in: "event_time (UTC)"."""
    return f"{name} ({zone})"
