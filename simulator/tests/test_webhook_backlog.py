"""The webhook sender under a receiver that cannot keep up: its queue stays bounded by the
accounts it is about, each account's newest state arrives last, nothing is lost."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from simulator import vendorcodes as vc
from simulator.webhooks import Dispatcher


@contextmanager
def gated_receiver() -> Iterator[tuple[str, list[Any], threading.Event]]:
    """A receiver that holds its first request until the gate opens (a stalled web tier)."""
    bodies: list[Any] = []
    gate = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            gate.wait(30)
            bodies.append(body)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies, gate
    finally:
        gate.set()
        server.shutdown()


def _status(number: str, status: int) -> dict[str, Any]:
    return {"whatsAppList": [{"whatsId": number, "status": status, "time": status}]}


def test_a_backlog_keeps_one_waiting_state_per_account_and_sends_them_together() -> None:
    numbers = [f"86170000000{n:02d}" for n in range(10)]
    with gated_receiver() as (url, bodies, gate):
        sender = Dispatcher(webhook_base=url, senders=1, backlog=4, batch_records=50)
        try:
            first = sender.enqueue(vc.ONLINE_STATUS, _status(numbers[0], 0))
            while first.first_attempt_at is None:  # the one lane is stuck on it
                threading.Event().wait(0.01)
            for step in range(1, 101):  # 100 changes each of 10 accounts while it is stuck
                for number in numbers:
                    sender.enqueue(vc.ONLINE_STATUS, _status(number, step))
                    sender.enqueue(vc.SYNC_WHATSAPP_STATUS, {"whatsApp": number, "status": step})
            waiting = sender.queued()
            gate.set()
            assert sender.wait_idle(30)
        finally:
            sender.stop()
    # Bounded by the accounts (and the backlog below which nothing is superseded), not by
    # the 2,000 changes.
    assert waiting <= 2 * len(numbers) + 4
    assert sender.superseded >= 2000 - 2 * len(numbers) - 4
    lists = [b["whatsAppList"] for b in bodies if "whatsAppList" in b]
    online = [(r["whatsId"], r["status"]) for records in lists for r in records]
    account = [(b["whatsApp"], b["status"]) for b in bodies if "whatsApp" in b]
    for sent in (online, account):
        last: dict[str, int] = {}
        for number, status in sent:  # per account, states only move forward
            assert status >= last.get(number, -1)
            last[number] = status
        assert last == dict.fromkeys(numbers, 100)  # every account's newest state arrived
    assert len(bodies) < 40  # together, not one POST per change
    states = {d["state"] for d in sender.deliveries()}
    assert states <= {"delivered", "superseded"}


def test_without_a_backlog_every_delivery_goes_out_on_its_own() -> None:
    with gated_receiver() as (url, bodies, gate):
        gate.set()
        sender = Dispatcher(webhook_base=url, senders=1, backlog=16)
        try:
            for step in range(3):
                sender.enqueue(vc.ONLINE_STATUS, _status("8617000000001", step))
                assert sender.wait_idle(10)
        finally:
            sender.stop()
    assert [b["whatsAppList"][0]["status"] for b in bodies] == [0, 1, 2]
    assert sender.superseded == 0


def test_a_lane_sends_its_waiting_records_together_past_other_deliveries() -> None:
    """Each change is an online-status record and an account status, one after the other in
    the lane: the records go out as one list even with the statuses between them, and a
    record never overtakes an earlier delivery about its own account."""
    numbers = [f"86170000001{n:02d}" for n in range(6)]
    with gated_receiver() as (url, bodies, gate):
        sender = Dispatcher(webhook_base=url, senders=1, batch_records=50)
        try:
            first = sender.enqueue(vc.SYNC_WHATSAPP_STATUS, {"whatsApp": "8617000000999"})
            while first.first_attempt_at is None:  # the one lane is stuck on it
                threading.Event().wait(0.01)
            # Another account's record first; then the first account's status waits
            # ahead of its own record.
            sender.enqueue(vc.ONLINE_STATUS, _status(numbers[1], 1))
            sender.enqueue(vc.SYNC_WHATSAPP_STATUS, {"whatsApp": numbers[0], "status": 1})
            sender.enqueue(vc.ONLINE_STATUS, _status(numbers[0], 1))
            for number in numbers[1:]:
                if number != numbers[1]:
                    sender.enqueue(vc.ONLINE_STATUS, _status(number, 1))
                sender.enqueue(vc.SYNC_WHATSAPP_STATUS, {"whatsApp": number, "status": 1})
            gate.set()
            assert sender.wait_idle(30)
        finally:
            sender.stop()
    lists = [[r["whatsId"] for r in b["whatsAppList"]] for b in bodies if "whatsAppList" in b]
    assert lists == [numbers[1:], numbers[:1]]  # one POST for five records, not five
    about_first = [b for b in bodies if numbers[0] in json.dumps(b)]
    assert about_first == [
        {"whatsApp": numbers[0], "status": 1},
        _status(numbers[0], 1),
    ]  # its status went before its record


def test_a_second_state_waiting_in_a_lane_supersedes_the_first() -> None:
    """Not only past a backlog: a lane never holds two unsent states of one account."""
    with gated_receiver() as (url, bodies, gate):
        sender = Dispatcher(webhook_base=url, senders=1)
        try:
            first = sender.enqueue(vc.SYNC_WHATSAPP_STATUS, {"whatsApp": "8617000000999"})
            while first.first_attempt_at is None:
                threading.Event().wait(0.01)
            for step in (1, 2):
                sender.enqueue(
                    vc.SYNC_WHATSAPP_STATUS, {"whatsApp": "8617000000001", "status": step}
                )
            waiting = sender.queued()
            gate.set()
            assert sender.wait_idle(10)
        finally:
            sender.stop()
    assert waiting == 1
    assert sender.superseded == 1
    assert [b.get("status") for b in bodies if b.get("whatsApp") == "8617000000001"] == [2]
