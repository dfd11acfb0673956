"""Times in the reader's zone, in Chromium: the status log's table and its "Accounts online
over time" chart show the same zone (the reader's setting, not the browser's), the page
names it, and the browser's zone is the default for a person who has not chosen one.
Screenshots of the pages this touches, at 1366x768 and 390x844, in English and zh-Hans."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.tests.helpers import make_account, make_event
from core.models import Preferences
from tests.fixtures import PASSWORD, People

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
SIZES = [{"width": 1366, "height": 768}, {"width": 390, "height": 844}]


def _signed_in(
    chromium: Any, base: str, user: Any, *, zone: str, size: dict[str, int], lang: str = "en"
) -> Any:
    context = chromium.new_context(
        viewport=size, timezone_id=zone, locale="zh-CN" if lang == "zh-hans" else "en-US"
    )
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def _chart_labels(page: Any) -> list[str]:
    page.wait_for_function(
        "() => { const c = document.getElementById('online-chart');"
        " return c && window.Chart && window.Chart.getChart(c); }"
    )
    labels: list[str] = page.evaluate(
        "() => window.Chart.getChart(document.getElementById('online-chart')).data.labels"
    )
    return labels


def test_the_chart_shows_the_tables_zone_not_the_browsers(
    people: People, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    # An account online from hh:45 two hours ago: the chart's first hour counting it is the
    # next whole hour, in the reader's zone (Shanghai), whatever the browser's is.
    at = timezone.now().replace(minute=45, second=0, microsecond=0) - timedelta(hours=2)
    make_account("8613800000001")
    make_event("8613800000001", 10, 11, at)
    Preferences.objects.create(user=people.supervisor, time_zone="Asia/Shanghai")
    page = _signed_in(
        chromium, live_server.url, people.supervisor, zone="America/New_York", size=SIZES[0]
    )
    page.goto(f"{live_server.url}/accounts/logs/")
    assert page.locator("#time-zone-note").inner_text().startswith("Times in Asia/Shanghai")
    table_time = page.locator("#results time").first.get_attribute("datetime")
    assert table_time == at.astimezone(SHANGHAI).isoformat()
    labels = _chart_labels(page)
    online = page.evaluate(
        "() => window.Chart.getChart(document.getElementById('online-chart')).data.datasets[0].data"
    )
    first = next(i for i, n in enumerate(online) if n)
    hour = (at + timedelta(minutes=15)).astimezone(SHANGHAI)
    assert f"{hour:%H}:00" in labels[first], (labels[first], hour)
    assert f"{hour.day}" in labels[first]
    # The browser's own zone would have said another hour.
    browser_hour = (at + timedelta(minutes=15)).astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert f"{browser_hour:%H}:00" not in labels[first]
    page.context.close()


def test_the_browsers_zone_is_the_default_and_the_setting_changes_it(
    people: People, live_server: Any, chromium: Any
) -> None:
    page = _signed_in(chromium, live_server.url, people.agent, zone="Europe/Berlin", size=SIZES[0])
    page.goto(f"{live_server.url}/security/")
    assert page.locator("#time-zone-note").inner_text().startswith("Times in Europe/Berlin")
    page.select_option("#id_time_zone", "Asia/Shanghai")
    page.click("#save-time-zone")
    page.wait_for_url("**/security/*")
    assert page.locator("#time-zone-note").inner_text().startswith("Times in Asia/Shanghai")
    assert Preferences.objects.get(user=people.agent).time_zone == "Asia/Shanghai"
    page.context.close()


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_screenshots_of_the_pages_this_changes(
    lang: str, people: People, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    at = timezone.now() - timedelta(hours=3)
    make_account("8613800000001")
    make_event("8613800000001", 10, 11, at)
    make_event("8613800000001", 30, 31, at + timedelta(hours=1))
    Preferences.objects.create(user=people.supervisor, time_zone="Asia/Shanghai")
    shots = artifacts / "time-zone"
    shots.mkdir(exist_ok=True)
    wide: list[str] = []
    for size in SIZES:
        page = _signed_in(
            chromium, live_server.url, people.supervisor, zone="UTC", size=size, lang=lang
        )
        for name, path in [
            ("logs", "/accounts/logs/"),
            ("security", "/security/"),
            ("account", "/accounts/8613800000001/"),
        ]:
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            if name == "logs":
                _chart_labels(page)
            if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
                wide.append(f"{path} at {size['width']}")
            page.screenshot(path=str(shots / f"{name}-{size['width']}-{lang}.png"), full_page=True)
        page.context.close()
    assert not wide, wide
