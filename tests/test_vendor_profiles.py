"""The end-to-end journeys against every vendor profile (simulator/profiles.py).

Each profile is one reading of a seam the seed leaves open (authentication, which port id
port operations take, what getQrCode answers after a scan, re-import, late or repeated
webhooks). For each, Switchboard runs with the settings the profile names (`product`) and
four journeys go through the real services, the live server receiving the simulator's
webhooks, and a real Celery worker:

(a) import accounts, then bring them online with a bulk job;
(b) a QR login, then a port operation on the port it logged in (take it offline);
(c) a ban, then the alert and the outgoing event;
(d) an open-chat action through its lane.

A journey waits for what a user would see: the account online in our fleet, the session
succeeded, the port's account offline, the alert raised and sent, the event delivered, the
action succeeded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.models import BulkJob, WhatsAppAccount
from accounts.services import fleet, imports
from accounts.tests.helpers import account_row
from actions.models import Action, State
from actions.services.intake import ActionSpec, actions_queue
from actions.tests.conftest import drive, make_pair
from notify.models import Alert, Delivery, EventType, RuleKey
from notify.services import alerts, deliveries
from notify.tests.sink import Sink, running_sink
from ports import services as port_services
from qrlogin.models import QrSession
from qrlogin.services.sessions import qr_session_start
from simulator.profiles import PROFILES, Profile
from simulator.server import SimulatorHandle
from tests.fixtures import People
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# The secret segment of the callback base URL when a profile's WEBHOOK_AUTH has path-token.
PATH_TOKEN = "journeys-path-token-0123456789abcdef"
FAST: dict[str, Any] = {
    # actions: short lanes and quick polls (the simulator agrees on the interval)
    "ACTION_LANE_INTERVAL": 0.3,
    "ACTION_FIRST_POLL_DELAY": 0.05,
    "ACTION_POLL_INTERVAL": 0.1,
    "ACTION_RETRY_DELAY": 0.1,
    "ACTION_RESULT_DEADLINE": 10.0,
    # alerts go out as soon as they are raised; the sink listens on loopback
    "ALERT_GROUP_SECONDS": 0,
    "OUTBOUND_ALLOWED_NETS": ["127.0.0.1/32"],
}
WAIT = 30.0  # a profile's webhooks may come 2 s late, twice, reordered


def product_value(name: str, value: str) -> Any:
    """A profile's setting as Switchboard reads it: placeholders filled from our settings,
    and a comma list where the setting is a list. A setting this branch does not know yet
    is set as it is (another branch reads it)."""
    for placeholder in ("UPSTREAM_API_KEY", "UPSTREAM_API_SECRET", "UPSTREAM_TENANT_ID"):
        value = value.replace(f"<{placeholder}>", str(getattr(django_settings, placeholder)))
    current = getattr(django_settings, name, None)
    if isinstance(current, list | tuple):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(current, bool):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(current, int):
        return int(value)
    return value


def webhook_base(server_url: str, product: dict[str, Any]) -> str:
    """Where the vendor is told to send its webhooks ("baseURL + uri" in the seed)."""
    checks = product.get("WEBHOOK_AUTH", [])
    if "path-token" in checks:
        return f"{server_url}/hooks/{product['WEBHOOK_PATH_TOKEN']}"
    return server_url


@dataclass
class Vendor:
    profile: Profile
    sim: SimulatorHandle
    people: People


@pytest.fixture(params=sorted(PROFILES))
def vendor(
    request: pytest.FixtureRequest,
    simulator: SimulatorHandle,
    live_server: Any,
    settings: Any,
    people: People,
    celery_worker_live: Any,
) -> Iterator[Vendor]:
    profile = simulator.set_profile(request.param)
    product: dict[str, Any] = {
        name: product_value(name, value) for name, value in profile.product.items()
    }
    if "path-token" in product.get("WEBHOOK_AUTH", []):
        product.setdefault("WEBHOOK_PATH_TOKEN", PATH_TOKEN)
    for name, value in {**FAST, **product}.items():
        setattr(settings, name, value)
    settings.PUBLIC_BASE_URL = live_server.url
    simulator.set_action_interval(float(FAST["ACTION_LANE_INTERVAL"]))
    simulator.set_webhook_base(webhook_base(live_server.url, product))
    yield Vendor(profile=profile, sim=simulator, people=people)


def _ours(number: str) -> WhatsAppAccount | None:
    return WhatsAppAccount.objects.filter(whatsapp=number).first()


# ------------------------------------------------------------------ (a) import, then online
def test_import_then_bring_online(vendor: Vendor) -> None:
    sup = vendor.people.supervisor
    numbers = [f"5731270{i:05d}" for i in range(3)]
    parsed = imports.import_parse_data(data={"whatsAppList": [account_row(n) for n in numbers]})
    assert not parsed.errors, parsed.errors
    staged = imports.import_stage(actor=sup, result=parsed, filename="journey.json")
    imports.import_confirm(actor=sup, job=staged)
    wait_for(
        lambda: BulkJob.objects.get(pk=staged.pk).state == BulkJob.State.DONE,
        WAIT,
        "the import job",
    )
    job = BulkJob.objects.get(pk=staged.pk)
    assert (job.ok_count, job.failed_count) == (3, 0), list(job.items.values("whatsapp", "error"))
    assert set(numbers) <= set(vendor.sim.state.accounts)

    accounts = list(WhatsAppAccount.objects.filter(whatsapp__in=numbers))
    online = fleet.bulk_job_create(actor=sup, kind=BulkJob.Kind.ONLINE, accounts=accounts)
    wait_for(
        lambda: BulkJob.objects.get(pk=online.pk).state == BulkJob.State.DONE,
        WAIT,
        "the online job",
    )
    online.refresh_from_db()
    assert (online.ok_count, online.failed_count) == (3, 0), list(
        online.items.values("whatsapp", "error")
    )
    # The vendor logs them in and says so by webhook: our fleet shows them online.
    wait_for(
        lambda: WhatsAppAccount.objects.filter(whatsapp__in=numbers, online_status=2).count() == 3,
        WAIT,
        "the accounts online in our fleet",
    )


# ------------------------------------------------------------------ (b) QR login, port op
def test_qr_login_then_take_the_port_offline(vendor: Vendor) -> None:
    agent = vendor.people.agent
    number = "8613800007001"
    session = qr_session_start(user=agent, pc_type=1)
    assert session.state == QrSession.State.SHOWING, (session.state, session.reason)
    assert session.qr_string
    vendor.sim.scan(session.port_id, number)
    wait_for(
        lambda: QrSession.objects.get(pk=session.pk).state == QrSession.State.SUCCEEDED,
        WAIT,
        "the QR login to succeed",
    )
    session.refresh_from_db()
    assert session.whatsapp == number
    wait_for(lambda: (a := _ours(number)) is not None and a.online_status == 2, WAIT, "online")

    port_services.port_operate(
        actor=vendor.people.supervisor, port_id=session.port_id, operation="offline"
    )
    assert not vendor.sim.state.accounts[number].online  # the vendor took it offline
    wait_for(
        lambda: (a := _ours(number)) is not None and a.online_status == 4,
        WAIT,
        "the account offline in our fleet",
    )


# ------------------------------------------------------------------ (c) ban: alert and event
def test_a_ban_raises_the_alert_and_sends_the_event(vendor: Vendor) -> None:
    number = "8613800007002"
    admin = vendor.people.admin
    vendor.sim.state.set_account(number, online=True, agent_account="alice01", emit=True)
    wait_for(lambda: (a := _ours(number)) is not None and a.online_status == 2, WAIT, "online")
    with running_sink() as sink:
        _subscribe_and_ban(vendor, sink, number, admin)


def _subscribe_and_ban(vendor: Vendor, sink: Sink, number: str, admin: Any) -> None:
    from notify.services.events import subscription_create

    subscription, _secret = subscription_create(
        actor=admin, url=sink.url("/events"), events=[EventType.ACCOUNT_BANNED], description="crm"
    )
    alerts.alert_channel_create(
        actor=admin,
        name="ops",
        url=f"json://127.0.0.1:{sink.port}/alerts",
        rules=[RuleKey.ACCOUNT_BANNED],
    )
    vendor.sim.state.ban(number)
    wait_for(
        lambda: (a := _ours(number)) is not None and a.status == 2, WAIT, "banned in our fleet"
    )
    assert Alert.objects.filter(rule=RuleKey.ACCOUNT_BANNED).exists()
    # Sent now rather than at the beat's next run; the worker may have sent it already (this
    # call then finds nothing to send). That the alert reached the channel is checked below.
    alerts.alerts_dispatch(now=timezone.now())
    wait_for(lambda: Delivery.objects.filter(subscription=subscription).exists(), WAIT, "the event")
    deliveries.deliveries_drain(budget_seconds=10)
    got = sink.wait_for(2, timeout=WAIT)
    paths = sorted(r.path for r in got)
    assert paths.count("/alerts") >= 1 and paths.count("/events") == 1, paths
    (event,) = [r for r in got if r.path == "/events"]
    assert number.encode() in event.body and b"account.banned" in event.body


# ------------------------------------------------------------------ (d) an action, its lane
def test_an_open_chat_action_through_its_lane(vendor: Vendor) -> None:
    make_pair(vendor.sim, "alice01", "8613800007003")
    (action,) = actions_queue(
        user=vendor.people.supervisor,
        specs=[
            ActionSpec(
                agent_account="alice01",
                whatsapp="8613800007003",
                friend_whatsapp="8613900007003",
                platform=1,
                content="hello",
            )
        ],
    )
    drive(timeout=WAIT)
    action.refresh_from_db()
    assert action.state == State.SUCCEEDED, (action.state, action.reason)
    assert action.callback_id in vendor.sim.state.actions
    assert vendor.sim.state.violations == []
    assert Action.objects.count() == 1
