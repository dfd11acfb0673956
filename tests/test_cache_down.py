"""Cache failures never fail a page: with the cache's Redis really stopped (a private
redis-server, killed), the signed-in pages read their figures from the database: the fleet
page (its filter choices), home (its tiles) and the navigation's counts."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import WhatsAppAccount
from conftest import PrivateRedis
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["admin", "supervisor", "agent"])
def test_pages_answer_from_the_database_with_the_cache_stopped(
    role: str, people: People, private_redis: PrivateRedis
) -> None:
    WhatsAppAccount.objects.create(whatsapp="8613900000021", name="One", country="CN")
    client = client_for(getattr(people, role))
    assert client.get("/accounts/").status_code == 200  # the choices are cached now
    private_redis.stop()
    for path in ["/", "/accounts/", "/accounts/?q=8613"]:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    home = client.get("/").content.decode()
    assert "main" in home  # a whole page, nav included


def test_the_fleet_choices_fall_back_to_the_database(
    people: People, private_redis: PrivateRedis, settings: Any
) -> None:
    from accounts.access import accounts_visible_to
    from accounts.selectors import fleet_choices

    WhatsAppAccount.objects.create(whatsapp="8613900000022", name="Two", country="BR")
    private_redis.stop()
    visible = accounts_visible_to(people.admin)
    assert fleet_choices(visible=visible, everything=True)["countries"] == ["BR"]
