"""The pages of the latest fixes, in Chromium, in English and zh-Hans, at 1366 and 390 px:
the fleet's state tiles (they add up to "All"), the status log and an account page (times in
the one format), an agent's QR login whose account the vendor gave to another agent (said in
words, no link), and the Django admin's lists of django-axes and django-allauth (named and
headed in Chinese). Each page fits its screen; screenshots go to artifacts/screens/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from axes.models import AccessAttempt

from accounts.models import WhatsAppAccount
from qrlogin.models import QrSession
from tests.browser.test_screens import LAYOUT_JS, PHONE, WIDE, _signed_in, fleet, settle
from tests.fixtures import People

__all__ = ["fleet"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHINESE = re.compile(r"[\u4e00-\u9fff]")
TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def _given_to_bob(fleet: dict[str, Any]) -> WhatsAppAccount:
    account = WhatsAppAccount.objects.filter(agent_account="bob01").order_by("id").first()
    assert account is not None
    QrSession.objects.filter(pk=fleet["qr"]).update(
        state=QrSession.State.SUCCEEDED, whatsapp=account.whatsapp, user_name="Bob"
    )
    return account


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_fixed_pages_in_both_languages(
    lang: str,
    fleet: dict[str, Any],
    people: People,
    live_server: Any,
    chromium: Any,
    artifacts: Path,
) -> None:
    base = live_server.url
    bobs = _given_to_bob(fleet)
    AccessAttempt.objects.create(
        username="mallory",
        ip_address="203.0.113.9",
        user_agent="curl/8",
        path_info="/login/",
        failures_since_start=3,
        get_data="",
        post_data="",
        http_accept="*/*",
    )
    # Of bob, who does not sign in here (a second factor asks for its code at sign-in).
    Authenticator.objects.create(user=people.peer, type="totp", data={})
    shots = artifacts / "screens"
    shots.mkdir(exist_ok=True)
    wide: list[str] = []
    own = WhatsAppAccount.objects.filter(agent_account="alice01").order_by("id").first()
    assert own is not None
    pages = {
        "supervisor": [
            ("fleet-tiles", "/accounts/"),
            ("status-logs", "/accounts/logs/"),
            ("account", f"/accounts/{own.whatsapp}/"),
        ],
        "agent": [("qr-result-elsewhere", f"/qr/s/{fleet['qr']}/")],
        "admin": [
            ("admin-index", "/admin/"),
            ("admin-axes-attempts", "/admin/axes/accessattempt/"),
            ("admin-second-factors", "/admin/mfa/authenticator/"),
        ],
    }
    for size in (WIDE, PHONE):
        for role, listed in pages.items():
            page = _signed_in(chromium, base, role, size, lang)
            for name, path in listed:
                page.goto(base + path)
                settle(page)
                if not path.startswith("/admin/"):
                    found = page.evaluate(LAYOUT_JS)
                    if found["scrollWidth"] > found["width"]:
                        wide.append(f"{path} at {size['width']} ({lang})")
                page.screenshot(
                    path=str(shots / f"fixes-{name}-{size['width']}-{lang}.png"), full_page=True
                )
                if size is not WIDE:
                    continue
                if name == "fleet-tiles":
                    tiles = page.locator("#counts .tile-n").all_inner_texts()
                    numbers = [int(t.replace(",", "")) for t in tiles]
                    assert numbers[0] == sum(numbers[1:]) > 0, tiles
                if name == "account":
                    when = page.locator("#events time").first.inner_text()
                    assert TIME.match(when), when
                if name == "qr-result-elsewhere":
                    note = page.locator("#result-elsewhere").inner_text()
                    assert "bob01" in note
                    assert page.locator(f'a[href="/accounts/{bobs.whatsapp}/"]').count() == 0
                if name.startswith("admin-") and name != "admin-index" and lang == "zh-hans":
                    heads = page.locator("#result_list thead th").all_inner_texts()
                    named = [h for h in heads if h.strip()]
                    assert named and all(CHINESE.search(h) for h in named), heads
                    title = page.locator("#content h1").inner_text()
                    assert CHINESE.search(title), title
            page.context.close()
    assert not wide, wide
