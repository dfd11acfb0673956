"""The second factor through the Django test client: forced enrolment confines the session,
a person with TOTP cannot sign in without a code, recovery codes work once each, wrong codes
count towards the django-axes lockout."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

from tests.fixtures import PASSWORD, People

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def mfa_on(settings: Any) -> None:
    settings.MFA_REQUIRED_ROLES = ["admin", "supervisor"]


def sign_in(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post("/login/", {"username": username, "password": password})


def test_a_supervisor_without_a_second_factor_is_confined_to_enrolment(people: People) -> None:
    client = Client()
    response = sign_in(client, "sam")
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == "/auth/2fa/"
    assert client.get("/admin/").status_code == 302
    api = client.get("/api/v1/accounts/")
    assert api.status_code == 403
    assert client.get("/auth/2fa/").status_code == 200
    assert client.get("/auth/2fa/totp/activate/").status_code == 200


def test_an_agent_is_not_asked_for_a_second_factor(people: People) -> None:
    client = Client()
    sign_in(client, "alice")
    assert client.get("/").status_code == 200


def _enrol_totp(client: Client) -> pyotp.TOTP:
    page = client.get("/auth/2fa/totp/activate/").content.decode()
    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', page)
    if secret is None:
        secret = re.search(r'value="([A-Z2-7]{32})"', page)
    assert secret, page
    totp = pyotp.TOTP(secret.group(1))
    done = client.post("/auth/2fa/totp/activate/", {"code": totp.now()})
    assert done.status_code == 302, done.content.decode()[:2000]
    return totp


def test_enrolled_totp_is_asked_at_every_sign_in(people: People) -> None:
    client = Client()
    sign_in(client, "sam")
    totp = _enrol_totp(client)
    assert client.get("/").status_code == 200  # enrolled: the console opens
    client.post("/logout/")

    step = sign_in(client, "sam")
    assert step["Location"].startswith("/auth/2fa/authenticate/")
    # The password alone signs nobody in.
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/accounts/").status_code == 401
    wrong = client.post("/auth/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    assert client.get("/").status_code == 302
    right = client.post("/auth/2fa/authenticate/", {"code": totp.now()})
    assert right.status_code == 302
    assert client.get("/").status_code == 200


def test_recovery_codes_work_once_each(people: People) -> None:
    user = people.supervisor
    TOTP.activate(user, pyotp.random_base32())
    codes = RecoveryCodes.activate(user).generate_codes()
    for code in codes[:2]:
        client = Client()
        sign_in(client, "sam")
        assert client.post("/auth/2fa/authenticate/", {"code": code}).status_code == 302
        assert client.get("/").status_code == 200
        again = Client()
        sign_in(again, "sam")
        assert again.post("/auth/2fa/authenticate/", {"code": code}).status_code == 200
        assert again.get("/").status_code == 302


def test_secrets_are_stored_encrypted(people: People) -> None:
    secret = pyotp.random_base32()
    TOTP.activate(people.supervisor, secret)
    stored = Authenticator.objects.get(user=people.supervisor, type="totp").data["secret"]
    assert secret not in stored


def test_wrong_codes_count_towards_the_lockout(people: People, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    settings.ACCOUNT_RATE_LIMITS = False  # django-axes alone: its count is under test
    secret = pyotp.random_base32()
    TOTP.activate(people.supervisor, secret)
    client = Client()
    sign_in(client, "sam")
    statuses = [
        client.post("/auth/2fa/authenticate/", {"code": "000000"}).status_code for _ in range(6)
    ]
    assert statuses == [200, 200, 429, 429, 429, 429], statuses
    # Locked: the password is refused too, and the right code does not get through.
    assert sign_in(Client(), "sam").status_code == 429
    right = client.post("/auth/2fa/authenticate/", {"code": pyotp.TOTP(secret).now()})
    assert right.status_code == 429
    assert client.get("/").status_code == 302


def test_the_django_admin_signs_in_through_the_console(people: People) -> None:
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
