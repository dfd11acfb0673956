"""Live updates in Chromium: pages change by themselves, pushed over
the live stream (Server-Sent Events), with no reload. The vendor's changes go the real
way: the simulator's control -> signed webhook -> inbox -> Celery worker -> service ->
NOTIFY -> stream -> the page fetches its part."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Agent, ContactLookup
from accounts.tests.helpers import make_account
from core.tasks import enqueue
from ports.models import CloudPort, PortQuota, PortStatus
from ports.services import ports_refresh
from qrlogin.models import QrSession
from qrlogin.services.sessions import qr_session_start
from tests.browser.test_qrlogin import sign_in
from tests.fixtures import People, forget_own_cache_keys
from tests.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sim_control(simulator: Any, name: str, body: dict[str, Any]) -> None:
    """What a person clicks on the simulator's page: POST /_sim/<name>."""
    req = urllib.request.Request(
        f"{simulator.url}/_sim/{name}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200


def mark_no_reload(page: Any) -> None:
    page.evaluate("window.__sbNoReload = true")


def assert_not_reloaded(page: Any) -> None:
    assert page.evaluate("window.__sbNoReload === true"), "the page was reloaded"


def test_a_ban_changes_the_fleet_row_and_the_home_tiles_without_a_reload(
    people: People, live_server: Any, live_vendor: Any, chromium: Any, artifacts: Path
) -> None:
    now = timezone.now()
    numbers = ["8613900000001", "8613900000002"]
    for number in numbers:
        live_vendor.state.set_account(number, online=True, agent_account="alice01")
        make_account(
            number,
            agent="alice01",
            status=1,
            online_status=2,
            presence_status=10,
            platform=1,
            last_event_at=now,
        )
    banned = numbers[1]

    fleet = sign_in(chromium, live_server, people.supervisor, path="/accounts/")
    home = fleet.context.new_page()
    home.goto(f"{live_server.url}/")
    for page in (fleet, home):
        page.wait_for_selector("body[data-live=open]")
        mark_no_reload(page)
    row = fleet.locator(f"#row-{banned}")
    assert "Banned" not in row.inner_text()
    banned_tile = home.locator("a.tile[href$='?state=banned'] .tile-n")
    assert banned_tile.inner_text() == "0"
    fleet_tile = fleet.locator("#counts a.tile[href$='?state=banned'] .tile-n")
    assert fleet_tile.inner_text() == "0"
    fleet.screenshot(path=str(artifacts / "live-01-fleet-before.png"), full_page=True)

    sim_control(live_vendor, "ban", {"whatsapp": banned})

    expect(row).to_contain_text("Banned", timeout=10_000)
    expect(fleet_tile).to_have_text("1", timeout=10_000)
    expect(banned_tile).to_have_text("1", timeout=10_000)
    # Only the banned account's row changed.
    assert "Banned" not in fleet.locator(f"#row-{numbers[0]}").inner_text()
    for page in (fleet, home):
        assert_not_reloaded(page)
    fleet.screenshot(path=str(artifacts / "live-02-fleet-after-ban.png"), full_page=True)
    home.screenshot(path=str(artifacts / "live-03-home-after-ban.png"), full_page=True)
    fleet.context.close()


def test_rows_brought_by_the_next_page_update_live_too(
    people: People, live_server: Any, live_vendor: Any, chromium: Any
) -> None:
    """The stream carries only the events the page listens for: after "Next", the new
    rows' events must be asked for (static/js/live.js opens the stream again with them)."""
    numbers = [f"8613700{i:06d}" for i in range(60)]
    for number in numbers:
        live_vendor.state.set_account(number, online=True, agent_account="alice01")
        make_account(number, agent="alice01", online_status=2, presence_status=10, platform=1)
    later = numbers[55]  # on the second page only

    fleet = sign_in(chromium, live_server, people.supervisor, path="/accounts/")
    fleet.wait_for_selector("body[data-live=open]")
    mark_no_reload(fleet)
    streams: list[str] = []
    fleet.on("request", lambda r: streams.append(r.url) if "/live/" in r.url else None)
    fleet.locator("[data-pager=next]").click()
    row = fleet.locator(f"#row-{later}")
    expect(row).to_be_visible()
    # The stream is opened again, now asking for the new rows' events.
    wait_for(  # (waiting through Playwright, which delivers its "request" events meanwhile)
        lambda: fleet.wait_for_timeout(100) or any(f"account-{later}" in u for u in streams),
        timeout=10,
    )
    fleet.wait_for_selector("body[data-live=open]")
    assert "Banned" not in row.inner_text()

    sim_control(live_vendor, "ban", {"whatsapp": later})

    expect(row).to_contain_text("Banned", timeout=10_000)
    assert_not_reloaded(fleet)
    fleet.context.close()


def test_a_qr_scan_turns_the_agents_page_to_success_within_2_s(
    people: People,
    live_server: Any,
    live_vendor: Any,
    chromium: Any,
    artifacts: Path,
    settings: Any,
) -> None:
    # The page's own polling is slowed to 30 s: only the pushed update can be in time.
    settings.QRLOGIN_STATUS_POLL_SECONDS = 30
    agent = Agent.objects.get(user=people.agent)
    live_vendor.state.upsert_agent(
        user_id=int(agent.upstream_user_id), agent_account=agent.agent_account, user_name="Alice A."
    )
    live_vendor.state.set_account("8613811119999", agent_account="alice01")
    page = sign_in(chromium, live_server, people.agent)
    page.check("#id_pc_type_1")  # cloud PC
    page.select_option("#id_target", "10085")
    page.click("#start-button")
    page.wait_for_selector("#qr svg")
    page.wait_for_selector("body[data-live=open]")
    mark_no_reload(page)
    assert "every 30" in (page.locator("#status").get_attribute("hx-trigger") or "")
    session = QrSession.objects.get()

    scanned_at = time.monotonic()
    sim_control(
        live_vendor, "scan", {"id": session.port_id, "whatsapp": "8613811119999", "ok": True}
    )
    page.wait_for_selector("#status[data-state=succeeded]", timeout=2_000)
    took = time.monotonic() - scanned_at
    assert_not_reloaded(page)
    assert "8613811119999" in page.locator("#status").inner_text()
    (artifacts / "live-qr-scan-to-success.txt").write_text(f"scan to success: {took:.2f} s\n")
    page.screenshot(path=str(artifacts / "live-04-qr-success.png"), full_page=True)
    page.context.close()


def test_a_new_account_appears_on_the_fleet_list_without_a_reload(
    people: People, live_server: Any, live_vendor: Any, chromium: Any, artifacts: Path
) -> None:
    make_account("8613900000011", agent="alice01", online_status=2, presence_status=10)
    fleet = sign_in(chromium, live_server, people.supervisor, path="/accounts/")
    fleet.wait_for_selector("body[data-live=open]")
    mark_no_reload(fleet)
    assert fleet.locator("#fleet-new-show").count() == 0

    # The vendor reports an account Switchboard has never seen (its onlineStatus webhook).
    new = "8613900000099"
    live_vendor.state.set_account(new, online=True, agent_account="alice01")
    sim_control(live_vendor, "disconnect", {"whatsapp": new})

    show = fleet.locator("#fleet-new-show")
    expect(show).to_contain_text("1 new account", timeout=10_000)
    assert_not_reloaded(fleet)
    fleet.screenshot(path=str(artifacts / "live-05-fleet-new-account.png"), full_page=True)
    show.click()
    expect(fleet.locator(f"#row-{new}")).to_be_visible()
    fleet.context.close()


def test_a_registration_page_turns_from_waiting_to_its_result_without_a_reload(
    people: People, live_server: Any, live_vendor: Any, chromium: Any, artifacts: Path
) -> None:
    from accounts.models import Registration
    from tests.fixtures import client_for

    live_vendor.withhold_webhooks("syncStatus")  # the vendor's result comes later
    supervisor = client_for(people.supervisor)
    answer = supervisor.post(
        "/accounts/register/",
        {
            "country_code": "CN",
            "area_code": "+86",
            "phone": "138 1234 5671",
            "verify_type": 0,
            "account_type": 1,
        },
    )
    assert answer.status_code == 302, answer.content
    reg = Registration.objects.latest("id")
    code = live_vendor.state.registrations[int(reg.task_id)].code
    assert supervisor.post(f"/accounts/register/{reg.pk}/", {"code": code}).status_code == 302

    path = f"/accounts/register/{reg.pk}/"
    page = sign_in(chromium, live_server, people.supervisor, path=path)
    page.wait_for_selector("body[data-live=open]")
    mark_no_reload(page)
    status = page.locator("#reg-status")
    expect(status).to_contain_text("waiting for the result")
    # Every request for the page must follow a push for this registration (the worker may
    # still be recording the code's submission, which is pushed): none comes from polling.
    page.evaluate(
        """(name) => { window.sbPushes = 0; document.body.addEventListener('htmx:sseMessage',
        (e) => { if (e.detail && e.detail.type === name) window.sbPushes += 1; }); }""",
        f"registration-{reg.pk}",
    )
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith(path) else None)
    page.wait_for_timeout(4_000)
    pushes = page.evaluate("window.sbPushes")
    assert len(asked) <= pushes, f"the page polls while the stream is open: {asked}, {pushes}"

    released_at = time.monotonic()
    assert live_vendor.release_webhooks() == 1
    expect(status).to_contain_text("Registered", timeout=2_000)
    took = time.monotonic() - released_at
    assert_not_reloaded(page)
    expect(status.locator("a[href='/accounts/8613812345671/']")).to_be_visible()
    expect(page.locator("form input[name=code]")).to_have_count(0)  # no code form once final
    (artifacts / "live-registration-result.txt").write_text(f"result to page: {took:.2f} s\n")
    page.screenshot(path=str(artifacts / "live-06-registration-result.png"), full_page=True)
    page.context.close()


def logged_in_on_a_port(vendor: Any, user: Any, whatsapp: str) -> None:
    """A QR login made through Switchboard, its result applied from the vendor's webhook,
    then the quota and the port fetched (what the Ports page's refresh does)."""
    session = qr_session_start(user=user, pc_type=2, target="10085")
    sim_control(vendor, "scan", {"id": session.port_id, "whatsapp": whatsapp, "ok": True})
    wait_for(
        lambda: QrSession.objects.filter(pk=session.pk, state=QrSession.State.SUCCEEDED).exists(),
        timeout=10,
        what="the login's webhook to be applied",
    )
    ports_refresh()
    vendor.wait_deliveries()


def test_a_quota_cut_shows_on_the_open_ports_page_within_2_s(
    people: People, live_server: Any, live_vendor: Any, chromium: Any, artifacts: Path
) -> None:
    number = "8613900000301"
    logged_in_on_a_port(live_vendor, people.agent, number)
    page = sign_in(chromium, live_server, people.supervisor, path="/qr/ports/")
    page.wait_for_selector("body[data-live=open]")
    mark_no_reload(page)
    tables = page.locator("#port-tables")
    # The figures are fresh, so the page does not poll: only the pushed update can come.
    assert "every" not in (tables.get_attribute("hx-trigger") or "")
    quota = PortQuota.objects.get()
    expect(page.locator("#quota-text")).to_contain_text(f"1 of {quota.max_port} ports in use")
    row = page.locator("#ports-table tbody tr")
    expect(row).to_contain_text(number)
    expect(row).to_contain_text("Online")
    expect(page.locator("#over-quota")).to_have_count(0)
    page.screenshot(path=str(artifacts / "live-07-ports-before.png"), full_page=True)

    # The vendor cuts the quota below what is in use: the account on the latest port goes
    # offline. Switchboard hears of it through the beat's reconcile pass.
    sim_control(live_vendor, "quota", {"maxPort": 0})
    enqueue("accounts.tasks.reconcile.reconcile_upstream")

    def applied() -> bool:
        return (
            PortQuota.objects.filter(max_port=0).exists()
            and CloudPort.objects.filter(phone=number, status=PortStatus.DISCONNECTED).exists()
        )

    wait_for(
        applied,
        timeout=20,
        what="the reconcile pass to store the quota and the port",
        interval=0.05,
    )
    applied_at = time.monotonic()
    expect(page.locator("#quota-text")).to_contain_text("1 of 0 ports in use", timeout=2_000)
    expect(row).to_contain_text("Disconnected", timeout=2_000)
    expect(page.locator("#over-quota")).to_contain_text(number, timeout=2_000)
    took = time.monotonic() - applied_at
    assert took < 2.0, f"the page showed the change {took:.2f} s after it was stored"
    assert_not_reloaded(page)
    (artifacts / "live-ports-quota-cut.txt").write_text(f"stored to page: {took:.2f} s\n")
    page.screenshot(path=str(artifacts / "live-08-ports-after-quota-cut.png"), full_page=True)
    page.context.close()


def test_a_contact_lookup_result_appears_on_the_open_account_page_within_2_s(
    people: People, live_server: Any, live_vendor: Any, chromium: Any, artifacts: Path
) -> None:
    forget_own_cache_keys()  # an earlier run's look-up limit on the same account id
    number = "8613900000302"
    logged_in_on_a_port(live_vendor, people.agent, number)
    # The vendor takes 1.5 s to read the address book, so the page shows the look-up as
    # queued first and the result can only come by the push.
    live_vendor.set_faults(1.0, ["timeout"], paths=["/qrCode/selectContact"], timeout_seconds=1.5)
    page = sign_in(chromium, live_server, people.supervisor, path=f"/accounts/{number}/")
    # Someone else has the same account open, half-way through typing a look-up of their own.
    other = sign_in(chromium, live_server, people.admin, path=f"/accounts/{number}/")
    for p in (page, other):
        p.wait_for_selector("body[data-live=open]")
        mark_no_reload(p)
    other.fill("#contacts input[name=phone]", "8613911")
    contacts = page.locator("#contacts")
    theirs = other.locator("#contact-results")
    expect(contacts.locator("section.lookup")).to_have_count(0)

    page.check("#contacts input[name=kind][value=book]")
    page.check("#contacts input[name=confirm]")
    page.click("#contacts form button[type=submit]")
    expect(contacts.locator("section.lookup h3")).to_contain_text("Queued")
    expect(theirs.locator("section.lookup h3")).to_contain_text("Queued", timeout=2_000)

    def answered() -> bool:
        return ContactLookup.objects.filter(state=ContactLookup.State.DONE).exists()

    wait_for(answered, timeout=10, what="the worker to store the answer", interval=0.05)
    applied_at = time.monotonic()
    lookup = ContactLookup.objects.get()
    assert lookup.results
    expect(contacts.locator("section.lookup h3")).to_contain_text("Done", timeout=2_000)
    expect(theirs.locator("section.lookup h3")).to_contain_text("Done", timeout=2_000)
    took = time.monotonic() - applied_at
    assert took < 2.0, f"the pages showed the result {took:.2f} s after it was stored"
    for p in (page, other):
        table = p.locator("#contacts section.lookup table")
        for contact in lookup.results:
            expect(table).to_contain_text(contact["whatsapp"])
        assert_not_reloaded(p)
    # What the other person was typing is still there: only the results were refreshed.
    assert other.input_value("#contacts input[name=phone]") == "8613911"
    (artifacts / "live-contacts-result.txt").write_text(f"stored to page: {took:.2f} s\n")
    page.screenshot(path=str(artifacts / "live-09-contacts-result.png"), full_page=True)
    other.screenshot(path=str(artifacts / "live-10-contacts-someone-elses.png"), full_page=True)
    page.context.close()
    other.context.close()
