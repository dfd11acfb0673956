"""A week of the demo fleet's life, as the vendor would have sent it.

The history is not written into our tables directly: it is turned into the onlineStatus
and syncWhatsAppStatus deliveries the vendor sends, stored through the same receiver
service as a real delivery (with its receipt time a week back), and applied by the same
batch processing the worker runs. So the inbox, the status log, the account timelines
and the "online over time" chart all show what production would show, and the newest
event of every account is the state the simulator starts in.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from simulator import vendorcodes as vc
from simulator.demo_fleet import DemoAccount, demo_fleet
from simulator.state.fakes import vendor_time

DAYS = 7
HEADERS = {"Content-Type": "application/json", "X-Demo-Seed": "history"}


@dataclass(frozen=True)
class Step:
    at: datetime
    presence: int  # 10 online, 20 disconnected, 30 offline, 40 banned
    detail: int


def _detail(presence: int, rng: random.Random) -> int:
    codes = vc.DETAIL[vc.SOURCE_PC]
    if presence == vc.P_ONLINE:
        return codes["online"]
    if presence == vc.P_DISCONNECTED:
        return codes["disconnected"]
    if presence == vc.P_OFFLINE:
        # Now and then the vendor's monitor, not the agent, took it offline.
        return vc.DETAIL_MONITOR_OFFLINE[vc.SOURCE_PC] if rng.random() < 0.2 else codes["offline"]
    return codes["banned"] if rng.random() < 0.7 else vc.DETAIL_SYSTEM_BANNED


def _final(demo: DemoAccount) -> int:
    if demo.banned:
        return vc.P_BANNED
    return vc.P_ONLINE if demo.online else vc.P_OFFLINE


def account_steps(demo: DemoAccount, *, now: datetime) -> list[Step]:
    """Shifts online with the odd disconnection, nights offline; the last step is the
    account's state today (a banned one is banned within the last two days)."""
    rng = random.Random(f"history:{demo.whatsapp}")
    start = now - timedelta(days=DAYS) + timedelta(minutes=rng.randrange(0, 240))
    end = now - timedelta(minutes=rng.randrange(5, 90))
    if demo.banned:
        end = now - timedelta(hours=rng.randrange(2, 48))
    steps: list[Step] = []
    t = start
    online = False
    while t < end - timedelta(hours=1):
        if not online:
            steps.append(Step(t, vc.P_ONLINE, _detail(vc.P_ONLINE, rng)))
            online = True
            t += timedelta(hours=rng.uniform(3, 14))
            continue
        if rng.random() < 0.35:  # a dropped connection that comes back
            steps.append(Step(t, vc.P_DISCONNECTED, _detail(vc.P_DISCONNECTED, rng)))
            t += timedelta(minutes=rng.uniform(2, 40))
            steps.append(Step(t, vc.P_ONLINE, _detail(vc.P_ONLINE, rng)))
            t += timedelta(hours=rng.uniform(1, 8))
            continue
        steps.append(Step(t, vc.P_OFFLINE, _detail(vc.P_OFFLINE, rng)))
        online = False
        t += timedelta(hours=rng.uniform(2, 12))
    final = _final(demo)
    if not steps or steps[-1].presence != final:
        steps.append(Step(end, final, _detail(final, rng)))  # every earlier step is before
    return steps


def deliveries(*, now: datetime) -> list[tuple[str, datetime, bytes]]:
    """(kind, received_at, body) for every delivery of the week, oldest first: the
    presence records of each hour in one onlineStatus body (the vendor batches), and each
    account's latest syncWhatsAppStatus."""
    buckets: dict[datetime, list[dict[str, Any]]] = defaultdict(list)
    syncs: list[tuple[datetime, dict[str, Any]]] = []
    for demo in demo_fleet():
        for step in account_steps(demo, now=now):
            bucket = step.at.replace(minute=0, second=0, microsecond=0)
            buckets[bucket].append(
                {
                    "whatsId": demo.whatsapp,
                    "status": step.presence,
                    "detailStatus": step.detail,
                    "account": demo.agent_account,
                    "platformType": 1,
                    "time": vendor_time(step.at.timestamp()),
                }
            )
        # The vendor follows a presence change with the account's status; the history
        # keeps the last one of each account (what its online status is today).
        syncs.append(
            (
                step.at,
                {
                    "whatsApp": demo.whatsapp,
                    "status": vc.STATUS_BANNED
                    if step.presence == vc.P_BANNED
                    else vc.STATUS_NORMAL,
                    "onlineStatus": vc.OS_ONLINE if step.presence == vc.P_ONLINE else vc.OS_OFFLINE,
                    "reason": "",
                    "instanceCode": "",
                },
            )
        )
    out: list[tuple[str, datetime, bytes]] = []
    for bucket, records in buckets.items():
        body = json.dumps({"whatsAppList": records}).encode()
        # Delivered after the hour closes; the current hour's batch "now" (never later: a
        # received time after the page's own clock would contradict it).
        out.append(("online_status", min(bucket + timedelta(hours=1, seconds=3), now), body))
    for at, record in syncs:
        out.append(
            ("account_status", min(at + timedelta(seconds=2), now), json.dumps(record).encode())
        )
    out.sort(key=lambda d: d[1])
    return out


def history_ingest(*, now: datetime) -> tuple[int, int]:
    """Store the week's deliveries through the receiver service and apply them the way
    the worker does (the tasks the receiver enqueued find them applied and return).
    Returns (deliveries, status events recorded)."""
    from accounts.models import StatusEvent
    from webhooks.services.process import webhook_events_process_batch
    from webhooks.services.receive import webhook_event_receive

    before = StatusEvent.objects.count()
    sent = 0
    for kind, received_at, body in deliveries(now=now):
        webhook_event_receive(kind=kind, body=body, headers=HEADERS, received_at=received_at)
        sent += 1
    while webhook_events_process_batch(limit=200).claimed:
        pass
    return sent, StatusEvent.objects.count() - before
