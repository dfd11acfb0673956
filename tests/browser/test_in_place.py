"""Errors where they happen, changes in place, and an accessible confirmation dialog,
in Chromium:

- an error the server explains for the avatar form appears beside that form;
- a successful change stays on the page and confirms with a toast;
- a confirmation is a <dialog>, not the browser's confirm() pop-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts.models import BulkJob
from accounts.services.profile import AvatarError, avatar_check
from accounts.tests.helpers import make_account
from tests.browser.signin import DESKTOP, sign_in
from tests.fixtures import People

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NUMBER = "8613900001234"


def _refuse(dialog: Any, seen: list[str]) -> None:
    """A browser pop-up (alert/confirm) is noted and dismissed: the pages must not use them."""
    seen.append(dialog.message)
    dialog.dismiss()


def test_an_avatar_error_appears_beside_the_form(
    people: People, simulator: Any, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    make_account(NUMBER, with_keys=True)
    bad_url = f"{live_server.url}/static/css/app.css"  # not a public address, not an image
    with pytest.raises(AvatarError) as refused:
        avatar_check(url=bad_url)
    page = sign_in(chromium, live_server.url, "sam", viewport=DESKTOP)
    dialogs: list[str] = []
    page.on("dialog", lambda d: _refuse(d, dialogs))
    page.goto(f"{live_server.url}/accounts/{NUMBER}/")
    form = page.locator("#profile-form")
    form.locator("input[name=avatar]").fill(bad_url)
    form.locator("button[type=submit]").click()
    error = page.locator("#profile-form [role=alert]")
    error.wait_for(timeout=5000)
    assert str(refused.value) in error.inner_text()
    assert page.url.endswith(f"/accounts/{NUMBER}/")  # still on the page
    assert form.locator("input[name=avatar]").input_value() == bad_url  # nothing lost
    page.screenshot(path=str(artifacts / "inplace-avatar-error.png"), full_page=True)
    assert not dialogs
    page.context.close()


def test_a_nickname_change_stays_on_the_page_with_a_toast(
    people: People, simulator: Any, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    make_account(NUMBER, with_keys=True)
    page = sign_in(chromium, live_server.url, "sam", viewport=DESKTOP)
    page.goto(f"{live_server.url}/accounts/{NUMBER}/")
    form = page.locator("#profile-form")
    form.locator("input[name=nickname]").fill("Support desk")
    form.locator("button[type=submit]").click()
    page.locator("#toasts [role=status]").wait_for(timeout=5000)
    assert "Avatar and nickname sent" in page.locator("#toasts").inner_text()
    assert page.url.endswith(f"/accounts/{NUMBER}/")
    assert page.locator("#profile-form a[href*='/accounts/jobs/']").count() == 1
    page.screenshot(path=str(artifacts / "inplace-nickname-toast.png"), full_page=True)
    page.context.close()


def test_confirmation_is_a_dialog_not_a_pop_up(
    people: People, simulator: Any, live_server: Any, chromium: Any, artifacts: Path
) -> None:
    make_account(NUMBER, with_keys=True)
    page = sign_in(chromium, live_server.url, "sam", viewport=DESKTOP)
    pop_ups: list[str] = []
    page.on("dialog", lambda d: _refuse(d, pop_ups))
    page.goto(f"{live_server.url}/accounts/{NUMBER}/")
    recycle = page.locator("form[data-confirm*='Recycle'] button[type=submit]")
    recycle.click()
    dialog = page.locator("#confirm-dialog")
    dialog.wait_for(state="visible")
    assert NUMBER in dialog.inner_text()
    assert page.evaluate("document.activeElement.closest('dialog') !== null")  # focus moved in
    page.screenshot(path=str(artifacts / "inplace-confirm-dialog.png"))
    page.keyboard.press("Escape")  # cancel: nothing is sent
    dialog.wait_for(state="hidden")
    assert page.url.endswith(f"/accounts/{NUMBER}/")
    recycle.click()
    dialog.locator("[data-dialog-ok]").click()
    page.locator(".messages [role=status]").wait_for(timeout=5000)
    assert page.url.endswith(f"/accounts/{NUMBER}/")  # stays on the account's page
    assert "job #" in page.locator(".messages").inner_text()
    assert not pop_ups
    assert BulkJob.objects.filter(kind=BulkJob.Kind.RECYCLE).count() == 1
    page.screenshot(path=str(artifacts / "inplace-recycle-confirmed.png"), full_page=True)
    page.context.close()
