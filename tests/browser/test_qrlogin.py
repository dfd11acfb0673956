"""QR login in Chromium: sign in, start a login, read the QR off the screen with zbarimg,
let the simulator's phone scan it, and watch the page turn to "online" (webhook -> inbox
-> Celery worker -> result -> htmx poll). Screenshots of every step go to artifacts/."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from accounts.models import Agent
from core.models import CspReport
from ports import services as ports
from qrlogin.models import QrSession, ScanTask
from qrlogin.services.sessions import qr_session_start
from simulator.state.fakes import qr_string
from tests.fixtures import PASSWORD, People

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RESULT_TIMEOUT_MS = 15_000


def decode_qr(path: Path) -> str:
    """The text of the one QR code in an image, read by zbarimg."""
    out = subprocess.run(
        ["zbarimg", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert out.returncode == 0, f"zbarimg found no QR code in {path}: {out.stderr}"
    return out.stdout.rstrip("\n")


def sign_in(browser: Any, live_server: Any, user: Any, path: str = "/qr/", **ctx: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **ctx)
    page = context.new_page()
    page.csp_errors = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda m: (
            page.csp_errors.append(m.text)  # type: ignore[attr-defined]
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    page.goto(f"{live_server.url}{path}")
    assert "/login/" in page.url
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}{path}")
    return page


@pytest.fixture
def phone(people: People, live_vendor: Any) -> Any:
    """The live vendor (tests/browser/conftest.py), which knows alice's upstream agent."""
    agent = Agent.objects.get(user=people.agent)
    live_vendor.state.upsert_agent(
        user_id=int(agent.upstream_user_id), agent_account=agent.agent_account, user_name="Alice A."
    )
    return live_vendor


def wait_for_result(page: Any, simulator: Any, selector: str) -> None:
    """Wait for the page to show a result; on timeout, say where the webhook got stuck."""
    try:
        page.wait_for_selector(selector, timeout=RESULT_TIMEOUT_MS)
    except Exception as exc:
        from webhooks.models import WebhookEvent

        events = list(WebhookEvent.objects.values("kind", "state", "error", "attempts"))
        raise AssertionError(
            f"{selector} not shown. deliveries={simulator.deliveries()[-3:]} inbox={events[-3:]}"
            f" sessions={list(QrSession.objects.values('state', 'reason'))}"
        ) from exc


def current_port_qr(simulator: Any, session: QrSession) -> str:
    for port in simulator.state.snapshot()["ports"]:
        if port["id"] == session.port_id:
            return str(port["qrcode"])
    raise AssertionError("no such port")


def test_qr_login_end_to_end(
    people: People, phone: Any, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    phone.state.set_account("8613811112222", agent_account="alice01")  # known to the vendor
    page = sign_in(chromium, live_server, people.agent)
    page.screenshot(path=str(artifacts / "qrlogin-01-start.png"), full_page=True)
    page.check("#id_pc_type_1")  # cloud PC
    page.select_option("#id_target", "10085")
    page.click("#start-button")
    page.wait_for_selector("#qr svg")
    page.screenshot(path=str(artifacts / "qrlogin-02-qr.png"), full_page=True)
    session = QrSession.objects.get()
    shot = artifacts / "qrlogin-02-qr-code.png"
    page.locator("#qr svg").screenshot(path=str(shot))
    assert decode_qr(shot) == current_port_qr(phone, session)
    assert page.locator("#lock-countdown").inner_text().startswith(("9:", "10:"))
    expect(page.locator("#phone-hint")).to_be_hidden()  # a desktop screen can be scanned
    phone.scan(session.port_id, "8613811112222")
    wait_for_result(page, phone, "#status[data-state=succeeded]")
    assert page.locator("#code svg").count() == 0  # no code left on screen
    # The port's lock no longer counts down: the login is done.
    expect(page.locator("#lock-done")).to_have_text("done: the account is online")
    assert page.locator("#lock-countdown").count() == 0
    page.wait_for_timeout(1500)
    assert page.locator("#lock-state").inner_text() == "done: the account is online"
    text = page.locator("#status").inner_text()
    assert "Online" in text and "8613811112222" in text and "Alice A." in text
    page.screenshot(path=str(artifacts / "qrlogin-03-online.png"), full_page=True)
    assert not page.csp_errors and CspReport.objects.count() == 0
    page.context.close()


def test_on_a_phone_the_qr_page_offers_the_pair_code(
    people: People, phone: Any, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    """A phone cannot scan its own screen: the QR page says so and leads to the pair code."""
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/qr/")
    page.fill("#id_username", people.agent.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/qr/")
    expect(page.locator("#start-phone-hint")).to_be_visible()
    page.select_option("#id_target", "10085")
    page.click("#start-button")
    page.wait_for_selector("#qr svg")
    hint = page.locator("#phone-hint")
    expect(hint).to_be_visible()
    assert "cannot scan this code with the phone you are holding" in hint.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(artifacts / "qrlogin-phone-hint-390.png"), full_page=True)
    page.click("#use-pair-code")
    page.wait_for_url(f"{live_server.url}/qr/?mode=pair")
    expect(page.locator("#id_mode_1")).to_be_checked()
    expect(page.locator("[data-pair-fields]")).to_be_visible()
    context.close()


def test_rotation_never_shows_a_stale_code(
    people: People, phone: Any, live_server: Any, chromium: Any, artifacts: Path, settings: Any
) -> None:
    settings.QRLOGIN_QR_REFRESH_SECONDS = 1
    phone.set_options(qr_rotate=2.5)
    page = sign_in(chromium, live_server, people.agent)
    page.click("#start-button")
    page.wait_for_selector("#qr svg")
    session = QrSession.objects.get()
    port = phone.state.ports[int(next(p["portId"] for p in phone.state.snapshot()["ports"]))]
    seen: list[str] = []
    shot = artifacts / "qrlogin-04-rotation-code.png"
    deadline = time.monotonic() + 9
    while time.monotonic() < deadline:
        before = phone.state.qr_generation(port.created)
        try:
            page.locator("#qr svg").screenshot(path=str(shot), timeout=2000)
        except Exception:  # mid-swap; take the next one
            continue
        after = phone.state.qr_generation(port.created)
        # The code on screen is the vendor's current one, or the one it replaced less than
        # one refresh period ago: never older.
        fresh = {qr_string(port.seed, g) for g in range(before - 1, after + 1)}
        shown = decode_qr(shot)
        assert shown in fresh, "a stale QR code is on screen"
        if not seen or seen[-1] != shown:
            seen.append(shown)
        time.sleep(0.4)
    assert len(seen) >= 3, "the QR code did not follow the vendor's rotation"
    assert seen[0].startswith("2@") and session.port_id
    page.screenshot(path=str(artifacts / "qrlogin-04-rotation.png"), full_page=True)
    # The vendor stops answering: the old code is hidden, and the page says why.
    phone.set_faults(1.0, ["500"])
    page.wait_for_selector("#qr-error", timeout=5000)
    assert page.locator("#qr svg").count() == 0
    assert "hidden" in page.locator("#qr-error").inner_text()
    page.screenshot(path=str(artifacts / "qrlogin-05-refresh-failed.png"), full_page=True)
    phone.set_faults(0, [])
    page.wait_for_selector("#qr svg", timeout=5000)
    page.context.close()


def test_lock_expiry_then_retry(
    people: People, phone: Any, live_server: Any, chromium: Any, artifacts: Path, settings: Any
) -> None:
    settings.QRLOGIN_LOCK_SECONDS = 3
    phone.set_options(lock_seconds=3)
    page = sign_in(chromium, live_server, people.agent)
    page.fill("#id_proxy", "10.0.0.8:1080:px:VerySecret")
    page.click("#start-button")
    page.wait_for_selector("#qr svg")
    assert "VerySecret" not in page.content()
    wait_for_result(page, phone, "#status[data-state=expired]")
    text = page.locator("#status").inner_text()
    assert "Expired" in text and "released the port" in text
    assert page.locator("#code svg").count() == 0
    page.screenshot(path=str(artifacts / "qrlogin-06-expired.png"), full_page=True)
    settings.QRLOGIN_LOCK_SECONDS = 600
    phone.set_options(lock_seconds=600)
    page.click("#retry-button")
    page.wait_for_selector("#qr svg")
    first, second = QrSession.objects.order_by("id")
    assert second.retry_of_id == first.pk and second.proxy.reveal() == "10.0.0.8:1080:px:VerySecret"
    assert "VerySecret" not in page.content()
    page.screenshot(path=str(artifacts / "qrlogin-07-retried.png"), full_page=True)
    page.context.close()


def test_failed_login_shows_the_reason_and_retries_in_one_click(
    people: People, phone: Any, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    page = sign_in(chromium, live_server, people.agent)
    page.click("#start-button")
    page.wait_for_selector("#qr svg")
    session = QrSession.objects.get()
    phone.scan(session.port_id, "8613811113333", ok=False)
    wait_for_result(page, phone, "#status[data-state=failed]")
    assert "Login failed" in page.locator("#status").inner_text()
    assert page.locator("#result-reason").inner_text().strip()
    page.screenshot(path=str(artifacts / "qrlogin-08-failed.png"), full_page=True)
    page.click("#retry-button")
    page.wait_for_selector("#qr svg")
    assert QrSession.objects.count() == 2
    page.context.close()


@pytest.mark.parametrize("code", ["1001", "1002", "1003", "1004"])
def test_every_qr_error_is_shown_in_plain_words(
    code: str,
    people: People,
    phone: Any,
    live_server: Any,
    chromium: Any,
    artifacts: Path,
    settings: Any,
) -> None:
    from qrlogin.errors import QR_ERROR_HELP

    page = sign_in(chromium, live_server, people.agent)
    if code == "1001":
        phone.set_options(max_ports=0)
        page.click("#start-button")
        where = "#start-error"
    elif code == "1004":
        phone.state.targets = []
        page.select_option("#id_target", "10085")
        page.click("#start-button")
        where = "#start-error"
    elif code == "1002":
        settings.QRLOGIN_QR_REFRESH_SECONDS = 1  # the next refresh finds the port gone
        page.click("#start-button")
        page.wait_for_selector("#qr svg")
        phone.state.port_logout(QrSession.objects.get().port_id)  # released upstream
        wait_for_result(page, phone, "#status[data-state=failed]")
        where = "#status"
    else:  # 1003: a type the vendor does not support (the form offers none: via the service)
        qr_session_start(user=people.agent, pc_type=3)
        page.reload()
        where = "main"
    text = page.locator(where).inner_text()
    help_ = QR_ERROR_HELP[code]
    assert str(help_.meaning) in text
    if code == "1001":  # an agent cannot open the Ports page: they are sent to a supervisor
        assert "Ask a supervisor" in text and "Ports page" not in text
    else:
        assert str(help_.todo) in text
    page.screenshot(path=str(artifacts / f"qrlogin-09-error-{code}.png"), full_page=True)
    page.context.close()


def test_pair_code_mode(
    people: People, phone: Any, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    page = sign_in(
        chromium, live_server, people.agent, permissions=["clipboard-read", "clipboard-write"]
    )
    assert page.locator("[data-pair-fields]").is_hidden()
    page.check("#id_mode_1")
    assert page.locator("[data-pair-fields]").is_visible()
    page.fill("#id_phone", "8618733334444")
    page.check("#id_is_easy_1")  # easy: PPPP-1111
    page.screenshot(path=str(artifacts / "qrlogin-10-pair-start.png"), full_page=True)
    page.click("#start-button")
    page.wait_for_selector("#pair-code")
    session = QrSession.objects.get()
    code = page.locator("#pair-code").inner_text().strip()
    assert code == session.pair_code and "-" in code
    steps = page.locator("#pair-steps").inner_text()
    assert "Linked devices" in steps and "Link with phone number" in steps
    page.click("#copy-pair-code")
    page.wait_for_selector("#copy-pair-code:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == code
    page.screenshot(path=str(artifacts / "qrlogin-11-pair-code.png"), full_page=True)
    phone.scan(session.port_id, "8618733334444")
    wait_for_result(page, phone, "#status[data-state=succeeded]")
    assert "8618733334444" in page.locator("#status").inner_text()
    page.screenshot(path=str(artifacts / "qrlogin-12-pair-online.png"), full_page=True)
    page.context.close()


def test_scan_task_from_creation_to_80(
    people: People, phone: Any, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    page = sign_in(chromium, live_server, people.agent, path="/qr/tasks/")
    assert page.locator("select[name=user_id]").count() == 0  # agents cannot pick someone else
    page.screenshot(path=str(artifacts / "qrlogin-13-tasks.png"), full_page=True)
    page.click("#create-task")
    page.wait_for_selector("#qr svg")
    task = ScanTask.objects.get()
    shot = artifacts / "qrlogin-14-task-code.png"
    page.locator("#qr svg").screenshot(path=str(shot))
    sim_task = next(t for t in phone.state.snapshot()["tasks"] if t["taskId"] == task.task_id)
    assert decode_qr(shot) == sim_task["qrcode"]
    page.screenshot(path=str(artifacts / "qrlogin-14-task-qr.png"), full_page=True)
    # The phone scans (70), then the login completes (80): two webhooks, a moment apart.
    phone.scan(task.task_id, "8613700001111", task_status=70)
    wait_for_result(page, phone, "#status[data-status='70']")
    assert "QR scan succeeded" in page.locator("#status").inner_text()
    assert page.locator("#code svg").count() == 0  # scanned: the code is gone
    page.screenshot(path=str(artifacts / "qrlogin-15-task-70.png"), full_page=True)
    phone.scan(task.task_id, "8613700001111", task_status=80)
    wait_for_result(page, phone, "#status[data-status='80']")
    text = page.locator("#status").inner_text()
    assert "Login succeeded" in text and "8613700001111" in text
    assert page.locator("#code svg").count() == 0
    page.screenshot(path=str(artifacts / "qrlogin-16-task-80.png"), full_page=True)
    page.context.close()


def test_ports_page_for_a_supervisor(
    people: People, phone: Any, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    # Four ports locked by the supervisor (an agent may hold only QR_SESSIONS_MAX_OPEN).
    for number in ("8613900000101", "8613900000102", "8613900000103"):
        s = qr_session_start(user=people.supervisor, pc_type=2, target="10085")
        phone.scan(s.port_id, number)
    qr_session_start(user=people.supervisor, pc_type=1, target="10085")
    phone.state.max_ports = 2
    ports.ports_refresh()
    page = sign_in(chromium, live_server, people.supervisor, path="/qr/ports/")
    warning = page.locator("#over-quota").inner_text()
    assert "Over quota by 2 ports" in warning and "8613900000103" in warning
    assert "1001" in page.locator("#qr-errors").inner_text()
    page.screenshot(path=str(artifacts / "qrlogin-17-ports.png"), full_page=True)
    page.locator("#ports-table tbody tr").first.locator("button:has-text('Log out')").click()
    # The confirmation is the page's own <dialog> (no browser pop-up). While it is open, a
    # live refresh replaces the table, and the form the dialog was opened for with it: the
    # confirmation still logs the port out (its twin in the new table is submitted).
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.evaluate(
        """() => new Promise((done) => {
            const tables = document.getElementById("port-tables");
            document.body.addEventListener("htmx:afterSettle", () => done(), { once: true });
            htmx.trigger(tables, "live-poll");
        })"""
    )
    page.locator("#confirm-dialog [data-dialog-ok]").click()
    page.wait_for_selector(".flash-success")
    page.screenshot(path=str(artifacts / "qrlogin-18-port-logout.png"), full_page=True)
    assert not page.csp_errors
    page.context.close()
