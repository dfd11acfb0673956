"""Times in the reader's zone: their own setting, else their browser's, named on every page
and in the exports' headers (core/zones.py, docs/identity.md "Time zone")."""

from __future__ import annotations

import csv
import io
import zoneinfo
from datetime import timedelta
from typing import Any, cast

import pytest
from django.utils import timezone

from accounts.tests.helpers import make_account, make_event
from core.models import AuditEntry, Preferences
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def named(zone: str) -> str:
    """How the footer names the zone."""
    return f'Times in <span translate="no">{zone}</span>'


def _event_at() -> Any:
    at = timezone.now().replace(minute=45, second=0, microsecond=0) - timedelta(hours=1)
    make_account("8613800000001")
    make_event("8613800000001", 10, 11, at)
    return at


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(cast(Any, response).streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_two_readers_see_one_event_at_their_own_wall_clock(people: Any) -> None:
    at = _event_at()
    Preferences.objects.create(user=people.supervisor, time_zone="Asia/Shanghai")
    Preferences.objects.create(user=people.admin, time_zone="UTC")
    shanghai = client_for(people.supervisor).get("/accounts/logs/").content.decode()
    utc = client_for(people.admin).get("/accounts/logs/").content.decode()
    assert f'datetime="{at.astimezone(SHANGHAI).isoformat()}"' in shanghai
    assert f'datetime="{at.astimezone(zoneinfo.ZoneInfo("UTC")).isoformat()}"' in utc
    assert at.astimezone(SHANGHAI).strftime("%H:%M") != at.strftime("%H:%M")
    # Named once, in the footer, and given to the charts.
    assert shanghai.count(named("Asia/Shanghai")) == 1
    assert 'data-time-zone="Asia/Shanghai"' in shanghai
    assert utc.count(named("UTC")) == 1


def test_exports_name_the_zone_their_times_are_in(people: Any) -> None:
    at = _event_at()
    Preferences.objects.create(user=people.supervisor, time_zone="Asia/Shanghai")
    sup = client_for(people.supervisor)
    rows = _csv(sup.get("/accounts/logs/export.csv"))
    header, row = rows[0], rows[1]
    assert "event_time (Asia/Shanghai)" in header and "received_at (Asia/Shanghai)" in header
    assert row[header.index("event_time (Asia/Shanghai)")] == at.astimezone(SHANGHAI).isoformat()
    fleet = _csv(sup.post("/accounts/bulk/export/", {}))
    assert "last_event_at (Asia/Shanghai)" in fleet[0]
    audit = _csv(client_for(people.admin).get("/audit/export.csv"))
    assert audit[0][0] == f"at ({settings_zone()})"


def settings_zone() -> str:
    from django.conf import settings

    return str(settings.TIME_ZONE)


def test_without_a_setting_the_browsers_zone_is_used(people: Any) -> None:
    sup = client_for(people.supervisor)
    sup.cookies["sb_tz"] = "America/New_York"
    assert named("America/New_York") in sup.get("/").content.decode()
    sup.cookies["sb_tz"] = "Not/AZone"  # anything else: the server's default
    assert named(settings_zone()) in sup.get("/").content.decode()
    # A person's own setting wins over the browser's.
    Preferences.objects.create(user=people.supervisor, time_zone="Asia/Shanghai")
    sup.cookies["sb_tz"] = "America/New_York"
    assert named("Asia/Shanghai") in sup.get("/").content.decode()


def test_a_person_sets_their_zone_on_the_security_page(people: Any) -> None:
    agent = client_for(people.agent)
    agent.cookies["sb_tz"] = "Europe/Berlin"
    page = agent.get("/security/").content.decode()
    assert "This browser&#x27;s zone (Europe/Berlin now)" in page
    r = agent.post("/security/time-zone/", {"time_zone": "Asia/Shanghai"})
    assert r.status_code == 302
    assert Preferences.objects.get(user=people.agent).time_zone == "Asia/Shanghai"
    assert named("Asia/Shanghai") in agent.get("/security/").content.decode()
    entry = AuditEntry.objects.get(action="user.time_zone")
    assert entry.after == {"time_zone": "Asia/Shanghai"}
    # Refused: a zone not in the list changes nothing.
    agent.post("/security/time-zone/", {"time_zone": "Mars/Olympus"})
    assert Preferences.objects.get(user=people.agent).time_zone == "Asia/Shanghai"
    # Back to following the browser.
    agent.post("/security/time-zone/", {"time_zone": ""})
    assert named("Europe/Berlin") in agent.get("/security/").content.decode()


def test_the_api_reads_and_sets_the_zone(people: Any) -> None:
    api = client_for(people.agent)
    assert api.get("/api/v1/me/").json()["time_zone"] == ""
    r = api.patch("/api/v1/me/", {"time_zone": "Asia/Tokyo"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["time_zone"] == "Asia/Tokyo"
    r = api.patch("/api/v1/me/", {"time_zone": "Asia/Nowhere"}, content_type="application/json")
    assert r.status_code == 400 and "time_zone" in r.json()
    assert Preferences.objects.get(user=people.agent).time_zone == "Asia/Tokyo"
