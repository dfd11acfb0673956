"""Chromium: the fleet list's Next and Previous (keyset both ways) land at the top of the
new page, clear of the sticky bulk bar; a sort header shows and toggles its direction."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from accounts.tests.helpers import make_account
from tests.fixtures import PASSWORD, People

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_fleet_next_previous_and_sort_header(
    people: People, live_server: Any, chromium: Any, artifacts: Any
) -> None:
    for i in range(120):
        make_account(f"57300{i:07d}", name=f"Desk {i:03d}")

    context = chromium.new_context(viewport={"width": 1400, "height": 800})
    page = context.new_page()
    errors: list[str] = []  # uncaught script errors
    page.on("pageerror", lambda e: errors.append(str(e)))
    csp: list[str] = []
    page.on(
        "console",
        lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None,
    )
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(f"{live_server.url}/login/?next=/accounts/")
    page.fill("#id_username", people.supervisor.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('WhatsApp accounts')")
    count = page.locator("[data-pager-count]")
    expect(count).to_have_text("1–50 of 120")
    first_rows = page.locator("table.fleet tbody tr").evaluate_all("rs => rs.map(r => r.id)")
    assert page.locator("[data-pager=prev]").count() == 0

    def at_top_of_list() -> None:
        # The table's first row is in view and not covered by the sticky bulk bar.
        bar = page.locator(".bulk-bar").bounding_box()
        row = page.locator("table.fleet tbody tr").first.bounding_box()
        assert bar and row
        assert bar["y"] >= -1 and bar["y"] < 5, bar
        assert bar["y"] + bar["height"] <= row["y"] < 800, (bar, row)

    page.locator("[data-pager=next]").click()
    expect(count).to_have_text("51–100 of 120")
    assert "cursor=" in page.url
    at_top_of_list()
    page.screenshot(path=str(artifacts / "lists-01-next.png"))

    page.locator("[data-pager=prev]").click()
    expect(count).to_have_text("1–50 of 120")
    assert "before=" in page.url
    rows = page.locator("table.fleet tbody tr").evaluate_all("rs => rs.map(r => r.id)")
    assert rows == first_rows
    at_top_of_list()
    assert page.locator("[data-pager=prev]").count() == 0

    # Sort by name: the header says so (aria-sort and an arrow), and toggles on a click.
    name = page.locator("th:has(a[data-sort=name])")
    expect(name).not_to_have_attribute("aria-sort", "ascending")
    page.locator("a[data-sort=name]").click()
    expect(name).to_have_attribute("aria-sort", "ascending")
    expect(name.locator(".sort-arrow")).to_have_text("▲")
    page.locator("a[data-sort=name]").click()
    expect(name).to_have_attribute("aria-sort", "descending")
    expect(name.locator(".sort-arrow")).to_have_text("▼")
    assert parse_qs(urlsplit(page.url).query)["sort"] == ["-name"]
    expect(page.locator("table.fleet tbody tr").first).to_contain_text("Desk 119")
    expect(page.locator("th:has(a[data-sort=whatsapp])")).not_to_have_attribute(
        "aria-sort", "ascending"
    )
    page.screenshot(path=str(artifacts / "lists-02-sorted.png"))
    # The console is checked for CSP only, as in the other browser tests: htmx logs a
    # console error for a live refresh that a page navigation cuts short (seen once, when
    # the sort header was clicked while one was in flight).
    assert errors == [] and csp == [] and missing == []
    context.close()
