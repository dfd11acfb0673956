"""The change feed end to end through PostgreSQL: a committed change reaches the hub's
streams, filtered by who may see it; a rolled-back one reaches nobody."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from accounts import live as accounts_live
from accounts.tests.helpers import make_account
from core import live
from core.live_views import _caps
from tests.fixtures import People
from webhooks import live as webhooks_live

pytestmark = pytest.mark.django_db(transaction=True)


async def _drain(sub: live.Subscriber, wait: float) -> set[str]:
    heard: set[str] = set()
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return heard
        try:
            heard.update(await asyncio.wait_for(sub.take(), left))
        except TimeoutError:
            return heard


def test_a_stream_carries_only_what_its_user_may_see(people: People) -> None:
    make_account("8613800000001", agent="alice01")
    make_account("8613900000002", agent="bob01")
    users = {"alice": people.agent, "bob": people.peer, "sam": people.supervisor}
    caps = {name: _caps(u) for name, u in users.items()}
    inbox_caps = {"ada": _caps(people.admin)}

    def change() -> None:
        with transaction.atomic():
            accounts_live.accounts_changed(whatsapps=["8613800000001"])
            webhooks_live.inbox_changed()
        with transaction.atomic():  # rolled back: nobody hears of it
            accounts_live.accounts_changed(whatsapps=["8613900000002"])
            transaction.set_rollback(True)

    async def scenario() -> dict[str, set[str]]:
        hub = live.hub()
        subs = {n: hub.subscribe(user_id=users[n].pk, caps=caps[n], since=None) for n in users}
        subs["ada"] = hub.subscribe(user_id=people.admin.pk, caps=inbox_caps["ada"], since=None)
        for _ in range(100):  # the hub's LISTEN is up
            if hub.listening_since is not None:
                break
            await asyncio.sleep(0.05)
        await sync_to_async(change)()
        heard = {n: await _drain(s, 1.5) for n, s in subs.items()}
        assert hub.task is not None
        hub.task.cancel()
        return heard

    heard = asyncio.run(scenario())
    assert {"fleet", "account-8613800000001"} <= heard["alice"]
    assert "inbox" not in heard["alice"]
    assert heard["bob"] == set()  # another agent's account, and a rolled-back change
    assert {"fleet", "account-8613800000001"} <= heard["sam"]
    assert "inbox" not in heard["sam"]  # supervisors do not see the webhook inbox
    assert {"inbox", "account-8613800000001"} <= heard["ada"]
    assert all("account-8613900000002" not in h for h in heard.values())


def test_a_page_that_missed_a_change_gets_it_replayed_or_a_resync(people: Any) -> None:
    make_account("8613800000001", agent="alice01")
    caps = _caps(people.agent)

    async def scenario() -> tuple[set[str], set[str]]:
        hub = live.hub()
        first = hub.subscribe(user_id=people.agent.pk, caps=caps, since=1.0)  # long ago
        resync = await _drain(first, 0.5)
        for _ in range(100):
            if hub.listening_since is not None:
                break
            await asyncio.sleep(0.05)
        since = hub.listening_since or 0.0
        await sync_to_async(accounts_live.accounts_changed)(whatsapps=["8613800000001"])
        await _drain(first, 1.0)
        late = hub.subscribe(user_id=people.agent.pk, caps=caps, since=since)  # opened late
        replayed = await _drain(late, 0.5)
        assert hub.task is not None
        hub.task.cancel()
        return resync, replayed

    resync, replayed = asyncio.run(scenario())
    assert resync == {live.RESYNC}
    assert "account-8613800000001" in replayed


def test_a_stream_sends_row_events_at_once_and_broad_ones_at_a_slower_pace(settings: Any) -> None:
    from core.live_views import _events

    settings.LIVE_COALESCE_SECONDS = 0.05
    settings.LIVE_BROAD_SECONDS = 0.6

    async def scenario() -> list[tuple[float, set[str]]]:
        hub = live.Hub()
        sub = live.Subscriber(user_id=1, caps=frozenset())
        hub.subscribers.add(sub)
        stream = _events(sub, hub)
        assert (await anext(stream)).startswith("retry:")
        start = asyncio.get_running_loop().time()
        writes: list[tuple[float, set[str]]] = []

        async def read() -> None:
            async for chunk in stream:
                names = {line[7:] for line in chunk.splitlines() if line.startswith("event: ")}
                writes.append((asyncio.get_running_loop().time() - start, names))

        reader = asyncio.create_task(read())
        sub.offer(["fleet", "account-1"])
        await asyncio.sleep(0.2)
        sub.offer(["fleet", "account-2"])  # a row at once; "fleet" waits for its turn
        await asyncio.sleep(0.2)
        sub.offer(["fleet"])
        await asyncio.sleep(0.6)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        return writes

    writes = asyncio.run(scenario())
    assert [names for _t, names in writes] == [{"fleet", "account-1"}, {"account-2"}, {"fleet"}]
    assert writes[1][0] < 0.4  # the row was not held back
    assert 0.55 < writes[2][0] < 0.9  # the last broad event went out on its turn, not lost


def test_an_event_that_fails_processing_tells_the_inbox(people: People) -> None:
    from django.utils import timezone

    from webhooks.models import WebhookEvent, WebhookKind
    from webhooks.services.process import webhook_event_process

    event = WebhookEvent.objects.create(
        kind=WebhookKind.ONLINE_STATUS, body=b"not json", received_at=timezone.now()
    )
    caps = _caps(people.admin)

    async def scenario() -> set[str]:
        hub = live.hub()
        sub = hub.subscribe(user_id=people.admin.pk, caps=caps, since=None)
        for _ in range(100):
            if hub.listening_since is not None:
                break
            await asyncio.sleep(0.05)
        outcome = await sync_to_async(webhook_event_process)(event_id=event.pk)
        assert outcome.state == "failed"
        heard = await _drain(sub, 1.5)
        assert hub.task is not None
        hub.task.cancel()
        return heard

    assert "inbox" in asyncio.run(scenario())


def test_a_stream_carries_only_the_events_its_page_listens_for() -> None:
    """?e= names what the page listens for: a fleet page hears its own rows and the
    tiles, never the other accounts' changes; "resync" always gets through."""
    from django.test import RequestFactory

    from core.live_views import _wants

    wants = _wants(RequestFactory().get("/live/", {"e": "fleet,account-1,BAD NAME,account-2"}))
    assert wants == frozenset({"fleet", "account-1", "account-2"})
    assert _wants(RequestFactory().get("/live/")) is None  # no e=: all the user may hear

    async def scenario() -> tuple[set[str], set[str], set[str]]:
        hub = live.Hub()
        page = live.Subscriber(user_id=1, caps=frozenset({"c"}), wants=wants)
        everything = live.Subscriber(user_id=2, caps=frozenset({"c"}))
        hub.subscribers.update({page, everything})
        hub._deliver('{"e": ["account-3", "account-1", "fleet"], "u": [], "c": "c"}')
        hub._deliver('{"e": ["account-4"], "u": [], "c": "c"}')
        heard_page, heard_all = page.drain(), everything.drain()
        page.resync()
        return heard_page, heard_all, page.drain()

    heard_page, heard_all, after_resync = asyncio.run(scenario())
    assert heard_page == {"account-1", "fleet"}
    assert heard_all == {"account-1", "account-3", "account-4", "fleet"}
    assert after_resync == {live.RESYNC}


def test_a_page_told_of_an_accounts_change_reads_fresh_tiles(people: People) -> None:
    """The tiles' cached counts are marked stale before pages are told: told first, the
    page's render read the old counts (and the hub shared that render until the next
    change). An earlier commit hook that is slow (a busy worker) widens the gap."""
    from accounts.choices import OnlineStatus
    from accounts.models import WhatsAppAccount
    from accounts.selectors import account_state_counts

    make_account("8613800000001", agent="alice01", online_status=OnlineStatus.OFFLINE)

    def online() -> int:
        return account_state_counts(visible=WhatsAppAccount.objects.all())["online"]

    assert online() == 0  # and now cached

    def change() -> None:
        with transaction.atomic():
            transaction.on_commit(lambda: time.sleep(1.0))  # a slow hook before ours
            WhatsAppAccount.objects.filter(whatsapp="8613800000001").update(
                online_status=OnlineStatus.ONLINE
            )
            accounts_live.accounts_changed(whatsapps=["8613800000001"])

    async def scenario() -> int:
        hub = live.hub()
        sub = hub.subscribe(user_id=people.supervisor.pk, caps=_caps(people.supervisor), since=None)
        for _ in range(100):
            if hub.listening_since is not None:
                break
            await asyncio.sleep(0.05)
        changing = asyncio.ensure_future(sync_to_async(change, thread_sensitive=False)())
        heard = await asyncio.wait_for(sub.take(), 10)
        assert "fleet" in heard
        seen = await sync_to_async(online, thread_sensitive=False)()  # the page's render
        await changing
        assert hub.task is not None
        hub.task.cancel()
        return seen

    assert asyncio.run(scenario()) == 1
