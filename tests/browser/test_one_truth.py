"""The rest, in Chromium:

- a recycled account shows as recycled (not online with its agent) on the fleet row, the
  tiles, the account's badges, home and the agent's own pages;
- "Last event" names the history row the account's state mirrors;
- registration: the step indicator on every step, a wrong code's error beside the code
  field, a refused registration stops waiting, success links to the new account;
- the server's 400 message for a contact look-up and for a registration appears beside
  its form;
- the agent's fleet page has no filters that mean nothing to an agent;
- a progress bar at 0 % is empty;
- a disabled action says why (the reason is visible and the button is described by it).

Screenshots (English and zh-Hans, desktop and 390 px) go to artifacts/."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from accounts.models import BulkJob, Registration
from accounts.tests.helpers import make_account
from tests.browser.signin import DESKTOP, PHONE, sign_in
from tests.browser.test_a11y import axe_problems, settle
from tests.fixtures import People

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NUMBER = "8613900005555"


def _shots(page: Any, base: str, path: str, name: str, artifacts: Path) -> None:
    """The page in English and zh-Hans, at desktop width and on a 390 px phone."""
    for lang in ("zh-hans", "en"):
        page.goto(f"{base}/")
        with page.expect_navigation():
            page.select_option("#language", lang)
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.goto(f"{base}{path}")
            settle(page)
            page.screenshot(path=str(artifacts / f"{name}-{lang}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_a_recycled_account_shows_as_recycled_everywhere(
    people: People, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    make_account(
        NUMBER,
        agent="alice01",
        online_status=2,
        presence_status=10,
        platform=1,
        last_event_at=timezone.now(),
        recycled=True,
    )
    make_account("8613900005556", agent="alice01", online_status=2, presence_status=10)
    for who in ("sam", "alice"):
        page = sign_in(chromium, live_server.url, who, viewport=DESKTOP)
        home_tile = page.locator("a.tile[href$='?state=recycled'] .tile-n")
        assert home_tile.inner_text() == "1"
        assert page.locator("a.tile[href$='?state=online'] .tile-n").inner_text() == "1"
        page.goto(f"{live_server.url}/accounts/")
        row = page.locator(f"#row-{NUMBER}").inner_text()
        assert "Recycled" in row
        assert "Online" not in row and "alice01" not in row
        assert page.locator("#counts a.tile[href$='?state=recycled'] .tile-n").inner_text() == "1"
        page.goto(f"{live_server.url}/accounts/?state=online")
        assert page.locator(f"#row-{NUMBER}").count() == 0  # the Online tile's list agrees
        page.goto(f"{live_server.url}/accounts/?state=recycled")
        assert page.locator(f"#row-{NUMBER}").count() == 1
        page.goto(f"{live_server.url}/accounts/{NUMBER}/")
        badges = page.locator("#account-badges").inner_text()
        assert "Recycled" in badges and "Login:" not in badges and "Presence:" not in badges
        assert "alice01" not in page.locator("#account-facts").inner_text()
        assert not axe_problems(page)
        page.context.close()
    page = sign_in(chromium, live_server.url, "sam", viewport=DESKTOP)
    _shots(page, live_server.url, "/accounts/", "e-fleet-recycled", artifacts)
    _shots(page, live_server.url, f"/accounts/{NUMBER}/", "e-account-recycled", artifacts)
    page.context.close()


def test_last_event_names_the_row_the_state_mirrors(
    people: People, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    """Two records of the same second: the history lists the older-received one first by
    insertion; the account took the later receipt. The page leads with that row."""
    from accounts.services.status import presence_records_apply
    from webhooks.payloads import parse_online_status

    at = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    vendor_t = (at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
    make_account(NUMBER)
    later = parse_online_status(
        [
            {
                "whatsId": NUMBER,
                "status": 30,
                "detailStatus": 31,
                "account": "",
                "platformType": 1,
                "time": vendor_t,
            }
        ]
    )
    earlier = parse_online_status(
        [
            {
                "whatsId": NUMBER,
                "status": 10,
                "detailStatus": 11,
                "account": "alice01",
                "platformType": 1,
                "time": vendor_t,
            }
        ]
    )
    # Applied out of order: the later delivery first, then the earlier one.
    presence_records_apply(records=later, received_at=timezone.now())
    presence_records_apply(records=earlier, received_at=timezone.now() - timedelta(seconds=30))
    page = sign_in(chromium, live_server.url, "sam", viewport=DESKTOP)
    page.goto(f"{live_server.url}/accounts/{NUMBER}/")
    assert "Presence: Offline" in page.locator("#account-badges").inner_text()
    assert "Offline" in page.locator("#account-facts").inner_text()
    first = page.locator("#events tbody tr").first
    assert "Current state" in first.inner_text()
    assert "Offline" in first.inner_text()
    page.screenshot(path=str(artifacts / "e-last-event.png"), full_page=True)
    page.context.close()


def test_the_agent_fleet_page_has_no_filters_for_other_agents(
    people: People, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    make_account(NUMBER, agent="alice01", online_status=2)
    page = sign_in(chromium, live_server.url, "alice", viewport=DESKTOP)
    page.goto(f"{live_server.url}/accounts/")
    filters = page.locator("#filters")
    assert filters.locator("[name=agent]").count() == 0
    assert filters.locator("[name=source]").count() == 0
    assert filters.locator("[name=status]").count() == 1
    assert page.locator("a[href$='/accounts/import/']").count() == 0
    assert page.locator("[formaction$='/bulk/online/']").count() == 0
    _shots(page, live_server.url, "/accounts/", "e-fleet-agent", artifacts)
    page.context.close()
    page = sign_in(chromium, live_server.url, "sam", viewport=DESKTOP)
    page.goto(f"{live_server.url}/accounts/")
    assert page.locator("#filters [name=agent]").count() == 1
    page.context.close()


def _bar_is_empty(page: Any, selector: str) -> bool:
    """No pixel of the bar is the fill colour (blue-ish, as Pico's primary)."""
    shot = Image.open(io.BytesIO(page.locator(selector).screenshot())).convert("RGB")
    return not any(b > 120 and b - r > 60 for r, g, b in list(shot.getdata()))


def test_a_progress_bar_at_zero_is_empty_and_disabled_actions_say_why(
    people: People, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    from django.contrib.auth.models import User

    account = make_account(NUMBER, with_keys=True)
    job = BulkJob.objects.create(
        kind=BulkJob.Kind.RECYCLE, created_by=User.objects.get(username="sam"), total=4
    )
    page = sign_in(chromium, live_server.url, "sam", viewport=DESKTOP)
    page.goto(f"{live_server.url}/accounts/jobs/{job.pk}/")
    assert page.locator("#job-progress progress").get_attribute("value") == "0"
    assert _bar_is_empty(page, "#job-progress progress")
    why = page.locator("#job-progress button[disabled]")
    assert why.get_attribute("aria-describedby") == "retry-running"
    assert page.locator("#retry-running").is_visible()
    BulkJob.objects.filter(pk=job.pk).update(ok_count=2)
    page.goto(f"{live_server.url}/accounts/jobs/{job.pk}/")
    assert not _bar_is_empty(page, "#job-progress progress")  # the check sees a fill
    _shots(page, live_server.url, f"/accounts/jobs/{job.pk}/", "e-job", artifacts)
    # No cloud port: the port actions are disabled and described by the visible reason.
    page.goto(f"{live_server.url}/accounts/{account.whatsapp}/")
    for value in ("online", "offline", "logout"):
        button = page.locator(f"button[name=action][value={value}]")
        assert button.is_disabled()
        assert button.get_attribute("aria-describedby") == "port-why"
    assert page.locator("#port-why").is_visible()
    # The bulk bar's buttons are described by the selection count.
    page.goto(f"{live_server.url}/accounts/")
    bring = page.locator("[formaction$='/bulk/online/']")
    assert bring.get_attribute("aria-disabled") == "true"
    assert bring.get_attribute("aria-describedby") == "selected-count"
    assert not axe_problems(page)
    page.context.close()


def test_a_contact_lookup_error_appears_beside_its_form(
    people: People, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    make_account(NUMBER, with_keys=True)
    page = sign_in(chromium, live_server.url, "sam", viewport=DESKTOP)
    page.goto(f"{live_server.url}/accounts/{NUMBER}/")
    form = page.locator("#contacts form")
    with page.expect_response(lambda r: "/contacts" in r.url) as answer:
        form.locator("button[type=submit]").click()  # not confirmed
    assert answer.value.status == 400
    error = page.locator("#contacts form [role=alert]")
    error.wait_for(timeout=5000)
    assert "risk control" in error.inner_text()
    form = page.locator("#contacts form")
    form.locator("input[name=confirm]").check()
    with page.expect_response(lambda r: "/contacts" in r.url) as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 400
    # A locator wait, not a string predicate: Playwright evals a bare expression string
    # inside the page, which the page's CSP (no 'unsafe-eval') rightly refuses.
    expect(page.locator("#contacts form [role=alert]")).to_contain_text("cloud port")
    assert page.url.endswith(f"/accounts/{NUMBER}/")
    page.locator("#contacts").screenshot(path=str(artifacts / "e-contacts-error.png"))
    page.context.close()


def test_registration_steps_errors_refusal_and_success(
    people: People, live_server: Any, live_vendor: Any, chromium: Any, artifacts: Path
) -> None:
    page = sign_in(chromium, live_server.url, "sam", viewport=DESKTOP)
    page.goto(f"{live_server.url}/accounts/register/")
    assert page.locator("ol.steps [aria-current=step]").inner_text() == "Phone number"
    # The server's 400 for the phone appears beside the phone field.
    page.fill("#id_country_code", "CN")
    page.fill("#id_area_code", "+86")
    page.fill("#id_phone", "12")
    with page.expect_response(lambda r: r.url.endswith("/accounts/register/")) as answer:
        page.click("form.register-form button[type=submit]")
    assert answer.value.status == 400
    assert page.locator("#id_phone ~ .field-error").count() == 1

    def start(phone: str) -> None:
        page.goto(f"{live_server.url}/accounts/register/")
        page.fill("#id_country_code", "CN")
        page.fill("#id_area_code", "+86")
        page.fill("#id_phone", phone)
        page.click("form.register-form button[type=submit]")
        page.wait_for_url("**/accounts/register/*/")

    # Wrong: a malformed code is refused at once, beside the code field (400).
    start("13912345678")
    assert page.locator("ol.steps [aria-current=step]").inner_text() == "Verification code"
    page.fill("#id_code", "12")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#code-form button[type=submit]")
    assert answer.value.status == 400
    assert page.locator("#id_code").get_attribute("aria-describedby") == "code-error"
    assert "4 to 8 digits" in page.locator("#code-error").inner_text()
    # Refused: a wrong code the vendor turns down later; the page stops waiting.
    page.fill("#id_code", "000000")
    page.click("#code-form button[type=submit]")
    page.locator("#reg-status:not([hx-get]) #code-error").wait_for(timeout=15000)
    assert page.locator("[aria-busy=true]").count() == 0
    assert "wrong or has expired" in page.locator("#code-error").inner_text()
    assert page.locator("ol.steps [aria-current=step]").inner_text() == "Result"
    refused = Registration.objects.get(phone="13912345678")
    assert refused.state == Registration.State.FAILED
    _shots(page, live_server.url, f"/accounts/register/{refused.pk}/", "e-reg-refused", artifacts)
    # Success links to the new account.
    start("13912345679")
    reg = next(
        r for r in live_vendor.state.registrations.values() if r.phone.endswith("13912345679")
    )
    page.fill("#id_code", reg.code)
    page.click("#code-form button[type=submit]")
    link = page.locator("#reg-account")
    link.wait_for(timeout=15000)
    assert page.locator("ol.steps [aria-current=step]").inner_text() == "Result"
    link.click()
    page.wait_for_url("**/accounts/86139*/")
    assert not axe_problems(page)
    done = Registration.objects.get(phone="13912345679")
    _shots(page, live_server.url, f"/accounts/register/{done.pk}/", "e-reg-done", artifacts)
    _shots(page, live_server.url, "/accounts/register/", "e-register", artifacts)
    page.context.close()
