"""Accessibility and phone layout, in Chromium, on every app page for each role:

- axe-core (vendored from npm into tests/browser/vendor/, pinned in frontend/package.json) finds
  0 serious and 0 critical problems (WCAG 2.1 A and AA rules);
- the agent's pages fit a 390 px phone with no horizontal overflow, and the QR code stays
  large enough to scan from another device.

Screenshots of every page (desktop and phone, English and zh-Hans) go to artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts.models import Agent
from actions.models import Action, ActionBatch
from qrlogin.models import QrSession
from qrlogin.services import scan_tasks
from qrlogin.services.sessions import qr_session_start
from tests.browser.signin import DESKTOP, PHONE, sign_in
from tests.browser.test_tour import NUMBERS, _seed
from tests.fixtures import People
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


def settle(page: Any) -> None:
    """Wait for the page's requests to finish; pages that poll (QR codes) may never be idle
    for long, so after a few seconds go on with what has loaded."""
    try:
        page.wait_for_load_state("networkidle", timeout=5000)
    except Exception:  # a polling page: what is on screen is what counts
        page.wait_for_load_state("load")


def use_language(page: Any, base: str, language: str) -> None:
    page.goto(f"{base}/")
    page.select_option("#language", language)
    page.wait_for_load_state("networkidle")


def axe_problems(page: Any) -> list[str]:
    """Serious and critical axe findings on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluate() runs outside the page's CSP, so no inline script is needed
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            });
            return r.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => `${v.impact} ${v.id}: ` + v.nodes.slice(0, 4)
                    .map(n => n.target.join(' ') + ' ' + (n.failureSummary || '')
                        .replace(/\\s+/g, ' ').slice(0, 160)).join(' | '));
        }"""
    )
    return list(result)


@pytest.fixture
def fleet(people: People, simulator: Any, live_server: Any) -> dict[str, Any]:
    """Realistic data for every page: status history, a batch of actions, an audit entry,
    the agent's QR and pair-code logins and a scan task."""
    _seed(people)
    agent = Agent.objects.get(user=people.agent)
    simulator.state.upsert_agent(
        user_id=int(agent.upstream_user_id), agent_account=agent.agent_account, user_name="Alice"
    )
    qr = qr_session_start(user=people.agent, pc_type=1, target="10085")
    pair = qr_session_start(
        user=people.agent,
        pc_type=1,
        target="10085",
        mode=QrSession.Mode.PAIR,
        phone="8613800000052",
        is_easy="y",
    )
    task = scan_tasks.scan_task_create(actor=people.agent, allocation_role=3)
    event = WebhookEvent.objects.order_by("id").first()
    action = Action.objects.order_by("id").first()
    batch = ActionBatch.objects.order_by("id").first()
    assert event and action and batch
    return {
        "qr": qr.pk,
        "pair": pair.pk,
        "task": task.pk,
        "event": event.pk,
        "action": action.pk,
        "batch": batch.pk,
    }


def agent_pages(ids: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("home", "/"),
        ("accounts", "/accounts/"),
        ("qr-start", "/qr/"),
        ("qr-session", f"/qr/s/{ids['qr']}/"),
        ("qr-pair", f"/qr/s/{ids['pair']}/"),
        ("scan-tasks", "/qr/tasks/"),
        ("scan-task", f"/qr/tasks/{ids['task']}/"),
        ("actions", "/actions/"),
        ("action-new", "/actions/new/"),
        ("tokens", "/tokens/"),
        ("not-found", "/accounts/0000000/"),
        ("forbidden", "/qr/ports/"),
    ]


def supervisor_pages(ids: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("home", "/"),
        ("accounts", "/accounts/"),
        ("account", f"/accounts/{NUMBERS[3]}/"),
        ("logs", "/accounts/logs/"),
        ("agents", "/accounts/agents/"),
        ("import", "/accounts/import/"),
        ("register", "/accounts/register/"),
        ("qr-start", "/qr/"),
        ("ports", "/qr/ports/"),
        ("scan-tasks", "/qr/tasks/"),
        ("actions", "/actions/"),
        ("action", f"/actions/{ids['action']}/"),
        ("action-new", "/actions/new/"),
        ("action-upload", "/actions/upload/"),
        ("batches", "/actions/batches/"),
        ("batch", f"/actions/batches/{ids['batch']}/"),
        ("lanes", "/actions/lanes/"),
        ("tokens", "/tokens/"),
        ("forbidden", "/webhooks/"),
    ]


def admin_pages(ids: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        *[p for p in supervisor_pages(ids) if p[0] != "forbidden"],
        ("inbox", "/webhooks/"),
        ("inbox-event", f"/webhooks/{ids['event']}/"),
        ("vendor", "/webhooks/vendor/"),
        ("audit", "/audit/"),
        ("health", "/health/"),
    ]


PAGES = {"agent": agent_pages, "supervisor": supervisor_pages, "admin": admin_pages}
USERS = {"agent": "alice", "supervisor": "sam", "admin": "ada"}


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_axe_finds_nothing_serious_on_any_page(
    role: str, fleet: dict[str, Any], live_server: Any, chromium: Any, artifacts: Path
) -> None:
    base = live_server.url
    problems: dict[str, list[str]] = {}
    page = sign_in(chromium, base, USERS[role], viewport=DESKTOP)
    for language in ("en", "zh-hans"):
        use_language(page, base, language)
        for name, path in PAGES[role](fleet):
            page.goto(base + path)
            settle(page)
            page.screenshot(
                path=str(artifacts / f"a11y-{role}-{name}-{language}.png"), full_page=True
            )
            found = axe_problems(page)
            if found:
                problems[f"{path} ({language})"] = found
    page.context.close()
    assert not problems, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in problems.items())


def test_no_horizontal_overflow_on_the_agent_pages_at_390_px(
    fleet: dict[str, Any], live_server: Any, chromium: Any, artifacts: Path
) -> None:
    base = live_server.url
    page = sign_in(chromium, base, "alice", viewport=PHONE)
    too_wide: dict[str, int] = {}
    for language in ("en", "zh-hans"):
        use_language(page, base, language)
        for name, path in agent_pages(fleet):
            page.goto(base + path)
            settle(page)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide[f"{path} ({language})"] = width
            page.screenshot(
                path=str(artifacts / f"phone-agent-{name}-{language}.png"), full_page=True
            )
        # The QR code stays large enough to scan from another device.
        page.goto(f"{base}/qr/s/{fleet['qr']}/")
        page.wait_for_selector("figure img, figure svg")
        box = page.locator("figure img, figure svg").first.bounding_box()
        assert box and box["width"] >= 240 and box["x"] >= 0, box
        assert box["x"] + box["width"] <= PHONE["width"], box
    page.context.close()
    assert not too_wide, f"pages wider than {PHONE['width']} px: {too_wide}"
