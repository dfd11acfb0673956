"""Single sign-on against a real OpenID Connect provider (django-oauth-toolkit, its own
process: tests/oidc_provider/), in Chromium: a person in the provider's supervisors group
signs in for the first time and is created as a supervisor; the password form stays for
admins only."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User

from core.access import role_of
from core.roles import Role
from tests.browser.signin import DESKTOP
from tests.fixtures import PASSWORD, People

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "switchboard-console"
CLIENT_SECRET = "console-secret-for-the-test-provider"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def oidc_provider(live_server: Any, settings: Any) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.oidc_provider.serve",
            "--port",
            str(port),
            "--redirect-uri",
            f"{live_server.url}/auth/oidc/sso/login/callback/",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--user",
            f"carol:{PASSWORD}:staff,sb-supervisors",
            "--user",
            f"dave:{PASSWORD}:staff",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        issuer = f"http://127.0.0.1:{port}/o"
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the OIDC provider did not answer"
            time.sleep(0.1)
        settings.OIDC_ENABLED = True
        settings.OIDC_PROVIDER_ID = "sso"
        settings.OIDC_PROVIDER_NAME = "Company"
        settings.OIDC_SERVER_URL = issuer
        settings.OIDC_CLIENT_ID = CLIENT_ID
        settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
        settings.OIDC_ROLE_GROUPS = {
            "admin": ["sb-admins"],
            "supervisor": ["sb-supervisors"],
            "agent": ["sb-agents"],
        }
        settings.MFA_REQUIRED_ROLES = ["admin", "supervisor"]
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=10)


def _sso_sign_in(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(viewport=DESKTOP).new_page()
    page.goto(f"{base}/login/")
    page.click("#sso-sign-in")
    page.wait_for_url("**/login/?next=**")  # the provider's own sign-in
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    return page


def test_oidc_sign_in_creates_a_supervisor_from_the_groups_claim(
    chromium: Any, live_server: Any, oidc_provider: str, people: People
) -> None:
    base = live_server.url
    assert not User.objects.filter(username="carol").exists()
    page = _sso_sign_in(chromium, base, "carol")
    page.wait_for_url(f"{base}/")
    carol = User.objects.get(username="carol")
    assert role_of(carol) == Role.SUPERVISOR
    assert not carol.has_usable_password()
    # The provider enforces its own second factor (OIDC_SATISFIES_MFA): the console opens.
    assert page.locator("h1").count() >= 1 and "/auth/2fa/" not in page.url
    page.context.close()

    # In no mapped group: created with no role, sees nothing.
    page = _sso_sign_in(chromium, base, "dave")
    page.wait_for_url(f"{base}/**")
    assert role_of(User.objects.get(username="dave")) is None
    page.context.close()


def test_with_sso_on_the_password_form_is_for_admins_only(
    chromium: Any, live_server: Any, oidc_provider: str, people: People
) -> None:
    base = live_server.url
    page = chromium.new_context(viewport=DESKTOP).new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", PASSWORD)
    page.click("#password-sign-in")
    assert "passwords are for admins only" in page.locator("[role=alert]").inner_text()
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("#password-sign-in")
    # The break-glass admin gets in by password (and is sent to enrol a second factor).
    page.wait_for_url(f"{base}/auth/2fa/")
    page.context.close()
