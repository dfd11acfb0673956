"""Every door of the foundation, from both sides."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.access import can, role_of
from core.roles import Cap, Role
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db


def test_roles_resolve(people: People) -> None:
    assert role_of(people.admin) == Role.ADMIN
    assert role_of(people.supervisor) == Role.SUPERVISOR
    assert role_of(people.agent) == Role.AGENT
    assert role_of(people.outsider) is None


@pytest.mark.parametrize(
    ("who", "cap", "allowed"),
    [
        ("admin", Cap.VIEW_INBOX, True),
        ("supervisor", Cap.VIEW_INBOX, False),
        ("supervisor", Cap.MANAGE_ACCOUNTS, True),
        ("supervisor", Cap.MANAGE_PORTS, True),
        ("agent", Cap.MANAGE_ACCOUNTS, False),
        ("agent", Cap.QR_LOGIN, True),
        ("agent", Cap.MANAGE_PORTS, False),
        ("outsider", Cap.QR_LOGIN, False),
    ],
)
def test_capabilities_match_design(people: People, who: str, cap: Cap, allowed: bool) -> None:
    assert can(getattr(people, who), cap) is allowed


def test_home_requires_login(people: People) -> None:
    response = client_for(None).get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["admin", "supervisor", "agent", "outsider"])
def test_home_renders_for_every_signed_in_user(people: People, who: str) -> None:
    response = client_for(getattr(people, who)).get(reverse("home"))
    assert response.status_code == 200
    assert b"Fleet at a glance" in response.content


def test_navigation_follows_role(people: People) -> None:
    # The menu is computed when the page reads it (a callable in the context).
    admin_nav = client_for(people.admin).get(reverse("home")).context["nav_items"]()
    agent_nav = client_for(people.agent).get(reverse("home")).context["nav_items"]()
    admin_urls = {i["url"] for i in admin_nav}
    agent_urls = {i["url"] for i in agent_nav}
    assert reverse("admin:index") in admin_urls
    assert reverse("admin:index") not in agent_urls
    assert agent_urls <= admin_urls


def test_a_live_row_pays_for_no_menu(people: People) -> None:
    """A live fleet row (an htmx fragment) shows no menu: it reads neither the role's
    groups nor the nav badges' counts."""
    from accounts.models import WhatsAppAccount

    WhatsAppAccount.objects.create(whatsapp="8613800009999", name="row")
    client = client_for(people.supervisor)
    client.get(reverse("accounts:list"))  # the session and permissions warm
    with CaptureQueriesContext(connection) as queries:
        r = client.get(reverse("accounts:list"), {"row": "8613800009999"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and b"8613800009999" in r.content
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert 'SELECT "auth_group"."id", "auth_group"."name"' not in sql  # the role
    assert "notify_alert" not in sql


def test_health_page_is_admin_only(people: People) -> None:
    assert client_for(people.admin).get(reverse("health")).status_code == 200
    assert client_for(people.supervisor).get(reverse("health")).status_code == 403
    assert client_for(people.agent).get(reverse("health")).status_code == 403


def test_login_and_logout(people: People) -> None:
    from django.test import Client

    from tests.fixtures import PASSWORD

    client = Client()
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_login_wrong_password_shows_error(people: People) -> None:
    response = client_for(None).post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"flash-error" in response.content


def test_lockout_after_ten_failures_keyed_on_username_and_ip(people: People) -> None:
    from django.test import Client

    from tests.fixtures import PASSWORD

    attacker = Client(REMOTE_ADDR="10.9.9.9")
    for _ in range(10):
        attacker.post(reverse("login"), {"username": "alice", "password": "wrong"})
    locked = attacker.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429
    # The same user from another address is not locked out (username + IP).
    other = Client(REMOTE_ADDR="10.9.9.10")
    assert (
        other.post(reverse("login"), {"username": "alice", "password": PASSWORD}).status_code == 302
    )


def test_pages_speak_simplified_chinese(people: People) -> None:
    client = client_for(people.supervisor)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    page = client.get(reverse("home")).content.decode()
    assert "账号总览" in page and "退出登录" in page
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Fleet at a glance" in client.get(reverse("home")).content.decode()


def test_the_menu_names_the_role_in_the_reader_language(people: People) -> None:
    client = client_for(people.supervisor)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("home")).content.decode()
    assert "· 主管" in page and "· supervisor" not in page
