"""No double sends, whatever happens: a worker killed between batchAdd and the record,
upstream faults, calls that never left, two dispatchers at once, a real Celery worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections

from actions.models import Action, Lane, State
from actions.services import results
from actions.services.dispatch import loop, send
from actions.services.intake import ActionSpec, actions_queue
from actions.tests.conftest import INTERVAL, all_settled, drive, make_pair
from core.models import AuditEntry
from tests.db_hold import hold_update, sleeping_backends
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def queue(people: Any, pairs: list[tuple[str, str]], per_lane: int) -> list[Action]:
    specs = [
        ActionSpec(
            agent_account=agent,
            whatsapp=wa,
            friend_whatsapp=f"5{lane:04d}{n:05d}",
            platform=2,
            content="hi",
        )
        for n in range(per_lane)
        for lane, (agent, wa) in enumerate(pairs)
    ]
    return actions_queue(user=people.supervisor, specs=specs)


def sent_items(simulator: Any) -> list[dict[str, Any]]:
    """The actions of every batchAdd call the vendor may have acted on: a call it refused
    with a business error did nothing (its actions are split and sent again alone)."""
    items: list[dict[str, Any]] = []
    for call in simulator.calls("/open/action/batchAdd"):
        if call.get("fault") == "business":
            continue
        body = call.get("body")
        if isinstance(body, dict):
            items.extend(body.get("data") or [])
    return items


def dispatch_process(simulator: Any) -> subprocess.Popen[str]:
    """One dispatcher pass in a separate process on the test database."""
    db = connection.settings_dict
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    url = f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{host}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "UPSTREAM_BASE_URL": simulator.url,
        "CELERY_BROKER_URL": "memory://",
        "CACHE_URL": "locmemcache://",
        "ACTION_LANE_INTERVAL": str(INTERVAL),
    }
    code = (
        "import django; django.setup()\n"
        "from actions.services.dispatch.send import dispatch_once\n"
        "print(dispatch_once())\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_dispatcher_between_send_and_record(simulator: Any) -> None:
    """From outside, in the database: the record of a send (sending -> sent) is held, so
    the dispatcher is caught after batchAdd answered and before anything is recorded."""
    with hold_update("actions_action", "sending", "sent"):
        proc = dispatch_process(simulator)
        try:
            deadline = time.monotonic() + 60
            while not sleeping_backends():
                assert proc.poll() is None, proc.communicate()[1][-2000:]
                assert time.monotonic() < deadline, "the dispatcher never reached the record"
                time.sleep(0.1)
            proc.kill()  # SIGKILL: no cleanup, no exception handlers
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()


def test_worker_killed_between_send_and_record(people: Any, lanes: Any, settings: Any) -> None:
    make_pair(lanes, "alice01", "8610000001")
    queue(people, [("alice01", "8610000001")], per_lane=2)
    first, second = Action.objects.order_by("id")

    kill_dispatcher_between_send_and_record(lanes)

    first.refresh_from_db()
    assert first.state == State.SENDING  # the intent was committed, the result never was
    assert len(lanes.calls("/open/action/batchAdd")) == 1

    # While its head is in doubt the lane sends nothing, whoever dispatches.
    assert send.dispatch_once().claimed == 0
    settings.ACTION_SENDING_DEADLINE = 0.3
    time.sleep(0.4)
    assert results.sweep_stuck() == 1
    first.refresh_from_db()
    assert first.state == State.UNKNOWN
    assert "worker stopped between sending" in first.reason

    drive(until=lambda: Action.objects.get(pk=second.pk).state == State.SUCCEEDED)
    first.refresh_from_db()
    assert first.state == State.UNKNOWN  # never resent silently
    friends = [i["friendWhatsId"] for i in sent_items(lanes)]
    assert friends == [first.friend_whatsapp, second.friend_whatsapp]
    assert lanes.state.violations == []

    # A person decides (here: it failed), from the page; the decision is audited.
    response = client_for(people.supervisor).post(
        f"/actions/{first.pk}/mark-failed/", {"note": "checked"}
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.state == State.FAILED and "checked" in first.reason
    assert AuditEntry.objects.filter(action="actions.mark_failed", target_id=str(first.pk)).exists()


def test_a_clean_subprocess_dispatch_records_the_send(people: Any, lanes: Any) -> None:
    make_pair(lanes, "alice01", "8610000001")
    queue(people, [("alice01", "8610000001")], per_lane=1)
    proc = dispatch_process(lanes)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    action = Action.objects.get()
    assert action.state == State.SENT and action.callback_id


def test_faults_everything_settles_with_a_reason_and_nothing_twice(people: Any, lanes: Any) -> None:
    pairs = [("alice01", f"86100000{i:02d}") for i in range(6)] + [
        ("bob01", f"86200000{i:02d}") for i in range(4)
    ]
    for agent, wa in pairs:
        make_pair(lanes, agent, wa)
    lanes.set_faults(0.3, ["500", "timeout", "garbage", "business"], timeout_seconds=1.5, seed=7)
    queue(people, pairs, per_lane=5)

    drive(timeout=120)

    rows = list(Action.objects.all())
    assert len(rows) == 50
    assert all(a.state in (State.SUCCEEDED, State.FAILED, State.UNKNOWN) for a in rows)
    assert all(a.reason for a in rows)
    by_state = {s: sum(a.state == s for a in rows) for s in State}
    assert by_state[State.SUCCEEDED] > 0 and by_state[State.UNKNOWN] + by_state[State.FAILED] > 0
    time.sleep(1.6)  # let a timed-out call the simulator is still sleeping on finish
    opened = [o["friendWhatsId"] for o in lanes.state.opened]
    assert len(opened) == len(set(opened))
    sent = [i["friendWhatsId"] for i in sent_items(lanes)]
    assert len(sent) == len(set(sent)), "an action was sent twice"
    assert lanes.state.violations == []
    # Every success was seen by the simulator exactly once.
    succeeded = {a.friend_whatsapp for a in rows if a.state == State.SUCCEEDED}
    assert succeeded <= set(opened)


def test_call_that_never_left_is_retried(people: Any, lanes: Any, settings: Any) -> None:
    make_pair(lanes, "alice01", "8610000001")
    queue(people, [("alice01", "8610000001")], per_lane=1)
    settings.UPSTREAM_BASE_URL = "http://127.0.0.1:9"  # nothing listens: connection refused
    report = send.dispatch_once()
    assert report.requeued == 1
    action = Action.objects.get()
    assert action.state == State.QUEUED and "retried automatically" in action.reason
    settings.UPSTREAM_BASE_URL = lanes.url
    drive()
    action.refresh_from_db()
    assert action.state == State.SUCCEEDED and action.attempts == 2
    assert len(sent_items(lanes)) == 1


def test_timeout_becomes_unknown_and_resend_is_a_choice(people: Any, lanes: Any) -> None:
    make_pair(lanes, "alice01", "8610000001")
    queue(people, [("alice01", "8610000001")], per_lane=1)
    lanes.set_faults(1.0, ["timeout"], timeout_seconds=1.2)
    send.dispatch_once()
    action = Action.objects.get()
    assert action.state == State.UNKNOWN and "may or may not" in action.reason
    lanes.set_faults(0, [])
    time.sleep(0.5)
    assert send.dispatch_once().claimed == 0  # never resent by itself
    client = client_for(people.agent)
    page = client.get(f"/actions/{action.pk}/").content.decode()
    assert "resend" in page.lower() and "Mark it failed" in page
    client.post(f"/actions/{action.pk}/resend/")
    action.refresh_from_db()
    assert action.state == State.QUEUED
    assert AuditEntry.objects.filter(action="actions.resend").exists()
    drive(timeout=15)
    action.refresh_from_db()
    assert action.state == State.SUCCEEDED
    assert lanes.state.violations == []


def test_two_dispatchers_at_once(people: Any, lanes: Any) -> None:
    pairs = [("alice01", f"86100000{i:02d}") for i in range(12)] + [
        ("bob01", f"86200000{i:02d}") for i in range(8)
    ]
    for agent, wa in pairs:
        make_pair(lanes, agent, wa)
    queue(people, pairs, per_lane=5)
    stop = threading.Event()
    errors: list[BaseException] = []

    def worker(poll: bool) -> None:
        try:
            while not stop.is_set():
                loop.dispatch_loop(budget=0.5, hold=1.0)
                if poll:
                    results.poll_once()
                time.sleep(0.005)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i == 0,)) for i in range(2)]
    for t in threads:
        t.start()
    try:
        ends = time.monotonic() + 60
        while time.monotonic() < ends and not all_settled():
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert not errors, errors
    assert all_settled()
    assert set(Action.objects.values_list("state", flat=True)) == {State.SUCCEEDED}
    sent = [i["friendWhatsId"] for i in sent_items(lanes)]
    assert len(sent) == 100 and len(set(sent)) == 100
    assert lanes.state.violations == []


def test_paused_lane_waits_and_resumes(people: Any, lanes: Any) -> None:
    make_pair(lanes, "alice01", "8610000001")
    make_pair(lanes, "alice01", "8610000002")
    queue(people, [("alice01", "8610000001"), ("alice01", "8610000002")], per_lane=2)
    lane = Lane.objects.get(whatsapp="8610000001")
    client = client_for(people.agent)
    assert client.post(f"/actions/lanes/{lane.pk}/pause/").status_code == 302
    other = Lane.objects.get(whatsapp="8610000002")
    drive(
        until=lambda: not Action.objects.filter(lane=other).exclude(state=State.SUCCEEDED).exists()
    )
    assert set(Action.objects.filter(lane=lane).values_list("state", flat=True)) == {State.QUEUED}
    assert client.post(f"/actions/lanes/{lane.pk}/resume/").status_code == 302
    drive()
    assert set(Action.objects.values_list("state", flat=True)) == {State.SUCCEEDED}
    assert AuditEntry.objects.filter(action="actions.lane_pause").exists()


def test_end_to_end_with_a_celery_worker(
    people: Any, lanes: Any, celery_worker_live: Any, settings: Any
) -> None:
    settings.ACTION_DISPATCH_BUDGET = 2.0
    make_pair(lanes, "alice01", "8610000001")
    make_pair(lanes, "alice01", "8610000002")
    client = client_for(people.agent)
    body = [
        {"agent_account": "alice01", "whatsapp": w, "friend_whatsapp": f"77000{i:05d}",
         "platform": 1, "content": "hi"}
        for i in range(3) for w in ("8610000001", "8610000002")
    ]  # fmt: skip
    response = client.post("/api/v1/actions/", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    batch = response.json()["batch"]
    ends = time.monotonic() + 30
    while time.monotonic() < ends and not all_settled():
        time.sleep(0.1)
    assert set(Action.objects.values_list("state", flat=True)) == {State.SUCCEEDED}
    assert lanes.state.violations == []
    progress = client.get(f"/actions/batches/{batch}/", HTTP_HX_REQUEST="true")
    assert progress.status_code == 286
    assert "<progress" in progress.content.decode()
