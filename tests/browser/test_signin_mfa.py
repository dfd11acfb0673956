"""The second factor in Chromium: a supervisor enrols TOTP (codes from pyotp), signs out, and
cannot sign in without a code; a passkey through Chromium's virtual authenticator (CDP
WebAuthn); and every sign-in page fits 1366 and 390 px, speaks zh-Hans and passes axe."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from allauth.mfa.models import Authenticator

from tests.browser.signin import DESKTOP, PHONE
from tests.browser.test_a11y import axe_problems, settle
from tests.fixtures import PASSWORD, People

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def mfa_on(settings: Any) -> None:
    settings.MFA_REQUIRED_ROLES = ["admin", "supervisor"]


def _password(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#password-sign-in")


def test_totp_enrolled_then_required_at_sign_in(
    chromium: Any, live_server: Any, people: People
) -> None:
    base = live_server.url
    page = chromium.new_context(viewport=DESKTOP).new_page()
    _password(page, base, "sam")
    page.wait_for_url(f"{base}/auth/2fa/")  # forced enrolment
    page.goto(f"{base}/")
    assert page.url == f"{base}/auth/2fa/"
    page.goto(f"{base}/auth/2fa/totp/activate/")
    secret = page.input_value("#authenticator_secret")
    totp = pyotp.TOTP(secret)
    page.fill("input[name=code]", totp.now())
    page.click("#main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/auth/2fa/.*"))
    assert Authenticator.objects.filter(user=people.supervisor, type="totp").exists()
    page.goto(f"{base}/")
    assert page.url == f"{base}/"  # enrolled: the console opens
    page.click("nav form[action='/logout/'] button")
    page.wait_for_url(f"{base}/login/")

    _password(page, base, "sam")
    page.wait_for_url(f"{base}/auth/2fa/authenticate/**")
    page.goto(f"{base}/")  # the password alone is not a session
    assert page.url.startswith(f"{base}/login/")
    _password(page, base, "sam")
    page.wait_for_url(f"{base}/auth/2fa/authenticate/**")
    page.fill("input[name=code]", "000000")
    page.click("#main form button[type=submit]")
    page.wait_for_load_state()
    assert "/auth/2fa/authenticate/" in page.url
    page.fill("input[name=code]", totp.now())
    page.click("#main form button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.context.close()


def test_a_passkey_through_the_virtual_authenticator(
    chromium: Any, live_server: Any, people: People
) -> None:
    # WebAuthn refuses IP addresses as the relying party: the same server, by name.
    base = live_server.url.replace("127.0.0.1", "localhost")
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    _password(page, base, "sam")
    page.wait_for_url(f"{base}/auth/2fa/")
    page.goto(f"{base}/auth/2fa/webauthn/add/")
    page.fill("input[name=name]", "laptop")
    page.click("#mfa_webauthn_add")
    page.wait_for_url(re.compile(r".*/auth/2fa/(recovery-codes/|webauthn/)?$"), timeout=20000)
    assert Authenticator.objects.filter(user=people.supervisor, type="webauthn").exists()
    page.goto(f"{base}/")
    assert page.url == f"{base}/"
    page.click("nav form[action='/logout/'] button")
    page.wait_for_url(f"{base}/login/")

    _password(page, base, "sam")
    page.wait_for_url(f"{base}/auth/2fa/authenticate/**")
    page.click("#mfa_webauthn_authenticate")
    page.wait_for_url(f"{base}/", timeout=20000)
    context.close()


PAGES_SIGNED_OUT = ["/login/", "/password-reset/", "/password-reset/sent/"]
PAGES_SIGNED_IN = ["/security/", "/tokens/", "/auth/2fa/", "/auth/2fa/totp/activate/"]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("viewport", [DESKTOP | {"height": 768}, PHONE], ids=["1366", "390"])
def test_sign_in_pages_fit_speak_chinese_and_pass_axe(
    chromium: Any, live_server: Any, people: People, viewport: dict[str, int], artifacts: Any
) -> None:
    base = live_server.url
    page = chromium.new_context(viewport=viewport).new_page()
    problems: list[str] = []
    for language in ("en", "zh-hans"):
        page.context.clear_cookies()
        page.goto(f"{base}/login/")
        page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
        paths = list(PAGES_SIGNED_OUT)
        for signed_in in (False, True):
            if signed_in:
                _password(page, base, "alice")
                page.wait_for_url(f"{base}/")
                paths = PAGES_SIGNED_IN
            for path in paths:
                page.goto(f"{base}{path}")
                settle(page)
                assert page.url.startswith(f"{base}{path}"), (path, page.url)
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > viewport["width"]:
                    problems.append(f"{language} {path}: {width}px wide")
                problems += [f"{language} {path}: {p}" for p in axe_problems(page)]
                heading = page.locator("h1").first.inner_text()
                if language == "zh-hans" and not CJK.search(heading):
                    problems.append(f"{path}: heading not in Chinese: {heading!r}")
                name = path.strip("/").replace("/", "-") or "home"
                page.screenshot(
                    path=str(artifacts / f"signin-{name}-{language}-{viewport['width']}.png"),
                    full_page=True,
                )
    assert not problems, problems
