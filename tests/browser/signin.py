"""Signing a user in through the login form in Chromium, and the two window sizes the
browser tests look at pages in."""

from __future__ import annotations

from typing import Any

from tests.fixtures import PASSWORD

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def sign_in(browser: Any, base: str, username: str, *, viewport: dict[str, int]) -> Any:
    """A new browser context signed in as `username`, on the home page."""
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page
