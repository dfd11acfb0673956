"""Chromium: the forms that refuse at save, the pages that ask before a take-over or a
bulk cancel, the read-only event subscriptions of a supervisor, the import's first pass,
a 403 that names who can, and the admin's words, at 1366x768 and 390x844 in English and
Chinese: each fits the screen (no sideways scroll, no control off screen), the Chinese
pages hold no English words, and a screenshot of each is saved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from accounts.tests.helpers import account_row, make_account
from actions.models import ActionBatch
from actions.services.intake import ActionSpec, actions_queue, batch_create
from notify.models import RuleKey
from notify.services import alerts, events
from tests.browser.test_a11y import settle
from tests.browser.test_screens import LAYOUT_JS, TEXT_JS, english_words
from tests.fixtures import PASSWORD, People

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
PUBLIC = "json://93.184.216.34/hook"
CASES = [(lang, size) for lang in ("en", "zh-hans") for size in (WIDE, PHONE)]


def _signed_in(chromium: Any, base: str, username: str, size: dict[str, int], lang: str) -> Any:
    context = chromium.new_context(viewport=size)
    context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


class Look:
    """Checks each page shown and keeps its screenshot."""

    def __init__(self, page: Any, shots: Path, tag: str, lang: str) -> None:
        self.page, self.shots, self.tag, self.lang = page, shots, tag, lang
        self.problems: list[str] = []

    def __call__(self, name: str, *, words: bool = True, controls: bool = True) -> None:
        settle(self.page)
        found = self.page.evaluate(LAYOUT_JS)
        if found["scrollWidth"] > found["width"]:
            self.problems.append(f"{name}: {found['scrollWidth']} px wide: {found['wide']}")
        if controls and found["off"]:
            self.problems.append(f"{name}: off screen: {found['off'][:6]}")
        if words and self.lang == "zh-hans":
            english = english_words(self.page.evaluate(TEXT_JS))
            if english:
                self.problems.append(f"{name}: English words {sorted(english)}")
        self.page.screenshot(path=str(self.shots / f"{name}-{self.tag}.png"), full_page=True)


@pytest.fixture
def shots(artifacts: Path) -> Path:
    path = artifacts / "forms"
    path.mkdir(exist_ok=True)
    return path


@pytest.mark.parametrize(("lang", "size"), CASES)
def test_refusals_and_confirmations_on_screen(
    lang: str,
    size: dict[str, int],
    people: People,
    live_server: Any,
    chromium: Any,
    shots: Path,
    tmp_path: Path,
) -> None:
    base = live_server.url
    alerts.alert_channel_create(
        actor=people.supervisor, name="ops-1", url=PUBLIC, rules=[RuleKey.ACCOUNT_BANNED]
    )
    sub, _secret = events.subscription_create(
        actor=people.admin, url="https://example.com/hook", events=["account.banned"]
    )
    for i in range(3):
        make_account(f"86138000010{i}", with_keys=True, presence_status=10)
    make_account("8613800000200")  # already in the fleet, for the import
    batch = batch_create(user=people.supervisor, source=ActionBatch.Source.API)
    actions_queue(
        user=people.supervisor,
        specs=[ActionSpec("alice01", "8613800000001", f"861390000000{i}", 1) for i in range(3)],
        batch=batch,
    )
    upload = tmp_path / "accounts.json"
    rows = [
        account_row("8613800000300", publicKey=""),
        account_row("8613800000300"),
        account_row("8613800000200"),
    ]
    upload.write_text(json.dumps({"whatsAppList": rows}))
    tag = f"{size['width']}-{lang}"
    problems: list[str] = []

    page = _signed_in(chromium, base, "sam", size, lang)
    look = Look(page, shots, tag, lang)
    # A channel named like another, and one to a local address: refused beside the field.
    page.goto(f"{base}/notify/channels/")
    page.fill("#id_name", "OPS-1")
    page.fill("#id_url", PUBLIC)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_selector("#id_name + small.error, label:has(#id_name) + small.error")
    look("channel-name-taken")
    page.fill("#id_name", "night")
    page.fill("#id_url", "json://127.0.0.1:8080/x")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_selector("label:has(#id_url) + small.error")
    look("channel-private-url")
    # Take over three accounts: asked with the count first.
    page.goto(f"{base}/accounts/")
    page.check("input[data-select-all='ids']")
    page.select_option("#id_override", "1")
    page.click("button[formaction$='/bulk/online/']")
    page.wait_for_selector("#takeover-question")
    look("takeover-confirm")
    # Event subscriptions, read only.
    page.goto(f"{base}/notify/subscriptions/")
    page.wait_for_selector("#read-only-note")
    look("subscriptions-read")
    page.goto(f"{base}/notify/subscriptions/{sub.pk}/")
    page.wait_for_selector("#subscription-facts")
    look("subscription-read")
    # The import's first pass: the repeat of a bad row and the known number, by line.
    page.goto(f"{base}/accounts/import/")
    page.set_input_files("#id_file", str(upload))
    page.locator("form button[type=submit]").last.click()
    page.wait_for_selector("#known-lines")
    look("import-first-pass")
    # Cancel a batch's queued actions: asked with the count first.
    page.goto(f"{base}/actions/batches/{batch.pk}/")
    page.click(f"form[action$='/batches/{batch.pk}/cancel/'] button")
    page.wait_for_selector("#cancel-question")
    look("batch-cancel-confirm")
    problems += look.problems
    page.context.close()

    agent = _signed_in(chromium, base, "alice", size, lang)
    look = Look(agent, shots, tag, lang)
    agent.goto(f"{base}/qr/ports/")
    look("forbidden-names-who-can")
    problems += look.problems
    agent.context.close()

    admin = _signed_in(chromium, base, "ada", size, lang)
    look = Look(admin, shots, tag, lang)
    # The admin's own pages keep Django's field names and its change list scrolls inside
    # its own box: only the page's width is checked there.
    admin.goto(f"{base}/admin/")
    look("admin-index", words=False, controls=False)
    admin.goto(f"{base}/admin/accounts/whatsappaccount/")
    look("admin-accounts", words=False, controls=False)
    problems += look.problems
    admin.context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("lang", "size"), CASES)
def test_the_lockout_page_says_when_to_try_again_on_screen(
    lang: str, size: dict[str, int], people: People, live_server: Any, chromium: Any, shots: Path
) -> None:
    base = live_server.url
    context = chromium.new_context(viewport=size)
    context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
    page = context.new_page()
    page.goto(f"{base}/login/")
    for _ in range(10):  # AXES_FAILURE_LIMIT
        page.fill("#id_username", "olga")
        page.fill("#id_password", "wrong")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        if page.locator("#try-again").count():
            break
    page.wait_for_selector("#try-again")
    text = page.locator("#try-again").inner_text()
    assert text in ("Try again in 60 minutes.", "请在 60 分钟后重试。")
    look = Look(page, shots, f"{size['width']}-{lang}", lang)
    look("lockout")
    context.close()
    assert not look.problems, "\n".join(look.problems)
