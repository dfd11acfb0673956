"""The fleet parts the live stream pushes (accounts/views/fleet_parts.py): rendered by the
hub once per change, variant and language, in the language of the stream that carries
them, and the same HTML the page itself renders."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.test import Client

from accounts.tests.helpers import make_account
from core import live

pytestmark = pytest.mark.django_db(transaction=True)

NUMBER = "8613900007001"


def _html(event: str, variant: str, language: str) -> str | None:
    async def scenario() -> str | None:
        return await live.Hub().html(event, variant, language)

    return asyncio.run(scenario())


def test_a_pushed_row_is_the_row_the_page_renders_in_the_streams_language(people: Any) -> None:
    make_account(NUMBER, agent="alice01", status=1, online_status=2, presence_status=10)
    english = _html(f"account-{NUMBER}", "", "en")
    chinese = _html(f"account-{NUMBER}", "", "zh-hans")
    assert english and chinese
    assert f'id="row-{NUMBER}"' in english and f'sse-swap="account-{NUMBER}"' in english
    assert "Online" in english and "Normal" in english
    assert "在线" in chinese and "正常" in chinese and "Normal" not in chinese
    client = Client()
    client.force_login(people.supervisor)
    page = client.get("/accounts/").content.decode()
    assert english.strip() in page  # the same row, whether pushed or rendered with the page


def test_pushed_tiles_count_what_the_listener_sees(people: Any) -> None:
    make_account(NUMBER, agent="alice01", status=2)  # alice's, banned
    make_account("8613900007002", agent="bob01", status=1)
    assert live.pushed_variants(people.supervisor)["fleet"] == "all"
    agent_variant = live.pushed_variants(people.agent)["fleet"]
    assert agent_variant == f"user:{people.agent.pk}"
    everyone = _html("fleet", "all", "en")
    alice = _html("fleet", agent_variant, "en")
    assert everyone and alice
    assert '<span class="tile-n">2</span><span>All</span>' in everyone
    assert '<span class="tile-n">1</span><span>All</span>' in alice
    assert 'href="/accounts/?state=banned"' in alice  # links whole, not relative to a filter
    assert _html("account-8613999999999", "", "en") == ""  # gone: the row is removed


def test_rows_rendered_together_are_the_rows_rendered_one_by_one(people: Any) -> None:
    from accounts.views.fleet_parts import row_pushed, rows_pushed

    make_account(NUMBER, agent="alice01", status=1, online_status=2, presence_status=10)
    make_account("8613900007002", agent="bob01", status=2)
    events = [f"account-{NUMBER}", "account-8613900007002", "account-8613999999999"]
    assert rows_pushed(events, "") == {event: row_pushed(event, "") for event in events}
    assert rows_pushed(events, "")["account-8613999999999"] == ""  # gone: the row goes
