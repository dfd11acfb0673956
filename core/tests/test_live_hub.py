"""The hub's pushed parts and its streams under disconnects and load, without the database:
a render belongs to no single stream, and a page gets the latest state, not every one."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from core import live
from core.live_views import Listener, _events


class SlowPart:
    """A pushed part ("slow-<n>") whose render waits until released; it shows the state
    (a counter) as it is when the render starts, and counts its renders."""

    def __init__(self) -> None:
        self.state = 0
        self.renders = 0
        self.release = threading.Event()
        self.started = threading.Event()

    def render(self, event: str, variant: str) -> str:
        self.renders += 1
        shown = self.state
        self.started.set()
        if not self.release.wait(10):
            raise RuntimeError("never released")
        return f"<p>{event} state {shown}</p>"


@pytest.fixture
def slow() -> Iterator[SlowPart]:
    part = SlowPart()
    live.register_pushed("slow-", variant=lambda user: "", render=part.render)
    try:
        yield part
    finally:
        part.release.set()
        live._pushed.pop("slow-", None)


def _listener() -> Listener:
    return Listener(user_id=1, caps=frozenset({"c"}), variants={"slow-": ""}, language="en")


async def _open(hub: live.Hub) -> tuple[live.Subscriber, Any]:
    sub = live.Subscriber(user_id=1, caps=frozenset({"c"}), wants=frozenset({"slow-1"}))
    hub.subscribers.add(sub)
    stream = _events(sub, hub, _listener())
    assert (await anext(stream)).startswith("retry:")
    return sub, stream


async def _started(part: SlowPart) -> None:
    while not part.started.is_set():
        await asyncio.sleep(0.01)


def test_streams_that_disconnect_mid_render_leave_the_render_to_the_others(
    slow: SlowPart, settings: Any
) -> None:
    settings.LIVE_COALESCE_SECONDS = 0

    async def scenario() -> list[str]:
        hub = live.Hub()
        streams = [await _open(hub) for _ in range(5)]
        nexts = [asyncio.ensure_future(anext(stream)) for _sub, stream in streams]
        await asyncio.sleep(0)
        hub._deliver('{"e": ["slow-1"], "u": [], "c": "c"}')
        await _started(slow)
        await asyncio.sleep(0.1)  # every stream is waiting on the one render now
        for task in nexts[:3]:  # three browsers go away mid-render, the first among them
            task.cancel()
        slow.release.set()
        # A stream that never gets its part fails here (no timing is measured).
        got = await asyncio.wait_for(asyncio.gather(*nexts[3:]), 10)
        for task in nexts[:3]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return list(got)

    got = asyncio.run(scenario())
    assert got == ["event: slow-1\ndata: <p>slow-1 state 0</p>\n\n"] * 2
    assert slow.renders == 1


def test_a_part_changed_during_its_render_is_rendered_once_more_for_everyone(
    slow: SlowPart, settings: Any
) -> None:
    """Latest state wins: changes heard while a render runs make one more render, shared
    by every stream that asks meanwhile, not one per stream or per change."""

    async def scenario() -> list[str | None]:
        hub = live.Hub()
        hub._deliver('{"e": ["slow-1"], "u": [], "c": "c"}')
        first = asyncio.ensure_future(hub.html("slow-1", "", "en"))
        await _started(slow)
        asks = []
        for n in range(1, 6):  # five changes while it renders, a stream asking after each
            slow.state = n
            await asyncio.sleep(0.001)
            hub._deliver('{"e": ["slow-1"], "u": [], "c": "c"}')
            asks.append(asyncio.ensure_future(hub.html("slow-1", "", "en")))
        await asyncio.sleep(0)
        slow.release.set()
        return [await first, *await asyncio.wait_for(asyncio.gather(*asks), 10)]

    got = asyncio.run(scenario())
    assert got[0] == "<p>slow-1 state 0</p>"
    assert got[1:] == ["<p>slow-1 state 5</p>"] * 5  # the latest state, for every one
    assert slow.renders == 2


def test_a_stream_keeps_the_latest_of_each_event_and_stays_bounded() -> None:
    sub = live.Subscriber(user_id=1, caps=frozenset({"c"}))
    for _ in range(100):
        sub.offer(["fleet", "account-1"])
    assert sub.drain() == {"fleet", "account-1"}  # a hundred changes, one write each
    for n in range(live.MAX_PENDING + 10):
        sub.offer([f"account-{n}"])
    assert len(sub.pending) <= live.MAX_PENDING
    assert sub.drain() == {live.RESYNC}  # fell behind: the page refreshes, nothing queues


def test_broad_events_before_the_streams_turn_do_not_wake_it() -> None:
    async def scenario() -> tuple[bool, bool, set[str]]:
        sub = live.Subscriber(user_id=1, caps=frozenset({"c"}))
        sub.quiet_until = time.monotonic() + 60
        sub.offer(["fleet"])
        quiet = not sub.ready.is_set()
        sub.offer(["account-1"])  # a row goes out at once, the tiles with it
        return quiet, sub.ready.is_set(), sub.drain()

    quiet, woken, names = asyncio.run(scenario())
    assert quiet and woken
    assert names == {"fleet", "account-1"}


def test_a_broad_event_held_for_the_streams_turn_wakes_it_at_the_turn() -> None:
    """Held without a wake-up, it would wait for the stream's next ping (15 s)."""

    async def scenario() -> tuple[bool, bool, set[str]]:
        sub = live.Subscriber(user_id=1, caps=frozenset({"c"}))
        sub.quiet_until = time.monotonic() + 0.2
        sub.offer(["ports"])
        held = not sub.ready.is_set()
        await asyncio.wait_for(sub.ready.wait(), 2.0)
        return held, sub.ready.is_set(), sub.drain()

    held, woken, names = asyncio.run(scenario())
    assert held and woken
    assert names == {"ports"}


def test_an_unsubscribed_stream_leaves_no_timer_behind() -> None:
    async def scenario() -> bool:
        hub = live.Hub()
        sub = live.Subscriber(user_id=1, caps=frozenset({"c"}))
        sub.quiet_until = time.monotonic() + 0.1
        sub.offer(["fleet"])
        assert sub.turn_timer is not None
        hub.unsubscribe(sub)
        await asyncio.sleep(0.2)
        return sub.ready.is_set()

    assert asyncio.run(scenario()) is False


class BatchPart(SlowPart):
    """A SlowPart that also renders several events at once, and records each batch."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def render_many(self, events: list[str], variant: str) -> dict[str, str]:
        self.batches.append(list(events))
        return {event: f"<p>{event} state {self.state}</p>" for event in events}


def test_parts_asked_for_during_a_render_are_rendered_together_next() -> None:
    """Under load a part family renders in batches: the rows asked for while one render runs
    are rendered by one call (one query) after it, not one render each."""
    part = BatchPart()
    live.register_pushed(
        "batch-", variant=lambda user: "", render=part.render, render_many=part.render_many
    )

    async def scenario() -> list[str | None]:
        hub = live.Hub()
        first = asyncio.ensure_future(hub.html("batch-0", "", "en"))
        await _started(part)
        asks = [asyncio.ensure_future(hub.html(f"batch-{n}", "", "en")) for n in range(1, 6)]
        await asyncio.sleep(0.05)
        part.release.set()
        return [await first, *await asyncio.wait_for(asyncio.gather(*asks), 10)]

    try:
        got = asyncio.run(scenario())
    finally:
        part.release.set()
        live._pushed.pop("batch-", None)
    assert got == [f"<p>batch-{n} state 0</p>" for n in range(6)]
    assert part.renders == 1  # the first, alone
    assert part.batches == [[f"batch-{n}" for n in range(1, 6)]]  # the five others at once


def test_the_frame_of_a_render_is_built_once_for_every_stream(slow: SlowPart) -> None:
    slow.release.set()

    async def scenario() -> list[str]:
        hub = live.Hub()
        hub._deliver('{"e": ["slow-1"], "u": [], "c": "c"}')
        return [await hub.frame("slow-1", "", "en") for _ in range(3)]

    frames = asyncio.run(scenario())
    assert frames[0] == "event: slow-1\ndata: <p>slow-1 state 0</p>\n\n"
    assert frames[1] is frames[0] and frames[2] is frames[0]  # shared, not rebuilt
    assert slow.renders == 1


def test_the_hub_offers_a_notification_only_to_the_streams_that_listen_for_it() -> None:
    offered: list[int] = []

    class Counting(live.Subscriber):
        def offer(self, events: Any) -> None:
            offered.append(self.user_id)
            super().offer(events)

    async def scenario() -> tuple[set[str], set[str], int]:
        hub = live.Hub()
        subs = [
            Counting(user_id=n, caps=frozenset({"c"}), wants=frozenset({f"account-{n}"}))
            for n in range(100)
        ]
        everything = Counting(user_id=1000, caps=frozenset({"c"}))
        hub.subscribers.update([*subs, everything])
        hub._deliver('{"e": ["account-7"], "u": [], "c": "c"}')
        got = (subs[7].drain(), everything.drain())
        for sub in [*subs, everything]:
            hub.unsubscribe(sub)
        return *got, len(hub.subscribers.by_event) + len(hub.subscribers.everything)

    seven, everything, left = asyncio.run(scenario())
    assert seven == {"account-7"} and everything == {"account-7"}
    assert sorted(offered) == [7, 1000]  # not the 99 others
    assert left == 0  # closed streams leave nothing in the index


def test_a_broad_event_is_offered_only_to_the_streams_not_holding_it_yet() -> None:
    """Every fleet page wants "fleet": a page already holding it for its turn is not offered
    each further change (it sends the latest tiles on its turn anyway)."""
    offered: list[int] = []

    class Counting(live.Subscriber):
        def offer(self, events: Any) -> None:
            offered.append(self.user_id)
            super().offer(events)

    async def scenario() -> tuple[list[int], list[int], set[str], int]:
        hub = live.Hub()
        subs = [
            Counting(user_id=n, caps=frozenset({"c"}), wants=frozenset({"fleet", f"account-{n}"}))
            for n in range(50)
        ]
        hub.subscribers.update(subs)
        for sub in subs:
            sub.quiet_until = time.monotonic() + 60  # before their turn: held, not sent
        hub._deliver('{"e": ["fleet", "account-1"], "u": [], "c": "c"}')
        first = sorted(offered)
        offered.clear()
        for _ in range(10):  # ten more changes of the fleet
            hub._deliver('{"e": ["fleet", "account-2"], "u": [], "c": "c"}')
        again = sorted(offered)
        sent = subs[3].drain()  # its turn: it sends the tiles, and is offered the next again
        offered.clear()
        hub._deliver('{"e": ["fleet"], "u": [], "c": "c"}')
        for sub in subs:
            sub.close()
        return first, again, sent, offered.count(3)

    first, again, sent, offered_again = asyncio.run(scenario())
    assert first == list(range(50))
    assert again == [2] * 10  # only the page of the changed row
    assert sent == {"fleet"}
    assert offered_again == 1


def test_a_part_asked_for_twice_before_its_render_begins_is_one_render(slow: SlowPart) -> None:
    """Asked again before its batch begins (a follow-up render and a stream's ask in the same
    turn of the loop), the part is rendered once for both: neither asker waits forever."""
    slow.release.set()

    async def scenario() -> list[str | None]:
        hub = live.Hub()
        found = live.pushed_part("slow-1")
        assert found is not None
        first = hub._start(("slow-1", "", "en"), found[1])
        second = hub._start(("slow-1", "", "en"), found[1])
        return list(await asyncio.wait_for(asyncio.gather(first, second), 10))

    assert asyncio.run(scenario()) == ["<p>slow-1 state 0</p>"] * 2
    assert slow.renders == 1


def test_a_stream_does_not_wait_on_a_render_for_ever(slow: SlowPart, monkeypatch: Any) -> None:
    """A render that does not finish in time: the event goes bare (its page fetches the part)
    instead of the stream falling silent behind it."""
    monkeypatch.setattr(live, "RENDER_WAIT_SECONDS", 0.2)

    async def scenario() -> str:
        return await live.Hub().message([("slow-1", ""), ("noop-1", "")], "en")

    got = asyncio.run(scenario())
    assert got == "event: slow-1\ndata: slow-1\n\nevent: noop-1\ndata: noop-1\n\n"
