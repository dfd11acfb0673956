"""Sign in through the real login form as each role, in Chromium, and keep a screenshot."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import CspReport
from tests.fixtures import PASSWORD, People

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPECTED_NAV = {
    "admin": ["Home", "Admin"],
    "supervisor": ["Home"],
    "agent": ["Home"],
}
FORBIDDEN_NAV = {
    "admin": [],
    "supervisor": ["Admin", "Webhooks"],
    "agent": ["Admin", "Webhooks", "Ports", "Logs", "Agents"],
}


@pytest.mark.parametrize("role", ["admin", "supervisor", "agent"])
def test_sign_in_as_each_role(
    role: str, people: People, live_server: Any, chromium: Any, artifacts: Any
) -> None:
    user = {"admin": people.admin, "supervisor": people.supervisor, "agent": people.agent}[role]
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url  # anonymous: sent to sign in
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Fleet at a glance')")
    nav = page.locator(".nav-links a").all_inner_texts()
    for label in EXPECTED_NAV[role]:
        assert label in nav
    for label in FORBIDDEN_NAV[role]:
        assert label not in nav
    page.screenshot(path=str(artifacts / f"home-{role}.png"), full_page=True)
    # The same page on a phone-sized screen: the menu collapses behind a toggle...
    links = page.locator(".nav-links a")
    assert links.first.is_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    toggle = page.locator(".nav-toggle summary")
    assert toggle.is_visible()
    assert not links.first.is_visible()
    page.screenshot(path=str(artifacts / f"home-{role}-phone.png"), full_page=True)
    # ...which opens it, by click or by keyboard.
    toggle.click()
    assert links.first.is_visible()
    toggle.focus()
    page.keyboard.press("Enter")
    assert not links.first.is_visible()
    context.close()
    assert not [e for e in console_errors if "Content Security Policy" in e]
    assert CspReport.objects.count() == 0
