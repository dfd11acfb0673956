"""One owner for a port: a Switchboard login links its port at once; ports logged in
elsewhere are operated with the port list's id (UPSTREAM_PORT_ID); in `auto` a "port does
not exist" refusal is retried once with the other id and the accepted kind remembered; the
account page's port operations are the Ports page's service."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import BulkJob, WhatsAppAccount
from accounts.services import lookups
from accounts.services.reconcile import upstream_reconcile
from core.models import AuditEntry
from ports import services as ports
from ports.models import CloudPort
from qrlogin.models import QrSession
from qrlogin.services.results import qr_login_result_apply
from qrlogin.services.sessions import qr_session_start
from tests.fixtures import People, client_for
from upstream.errors import UpstreamError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget_the_accepted_kind() -> None:
    cache.delete(ports.ACCEPTED_KIND_KEY)


def switchboard_login(simulator: Any, user: Any, whatsapp: str) -> QrSession:
    session = qr_session_start(user=user, pc_type=2, target="10085")
    simulator.scan(session.port_id, whatsapp)
    qr_login_result_apply(
        port_id=session.port_id, whatsapp=whatsapp, ok=True, received_at=timezone.now()
    )
    return session


def outside_login(simulator: Any, whatsapp: str) -> None:
    port = simulator.state.pre_generate(type_=1, target=None)
    simulator.scan(port.session_id, whatsapp)


def sent_ids(simulator: Any, path: str) -> list[str]:
    return [c["body"]["id"] for c in simulator.calls(path)]


def test_a_login_links_its_port_at_once(people: People, simulator: Any) -> None:
    """Right after "Online" (no reconcile, no port list yet) the account page's port
    operations work, through the Ports page's service: the port is released on logout,
    audited, and no bulk job is made."""
    session = switchboard_login(simulator, people.agent, "8613900000401")
    port = CloudPort.objects.get(released=False)
    assert port.phone == "8613900000401" and port.pregenerate_id == session.port_id
    client = client_for(people.supervisor)
    detail = client.get(reverse("accounts:detail", args=["8613900000401"])).content.decode()
    assert "no cloud port" not in detail
    page = client.post(
        reverse("accounts:action", args=["8613900000401"]), {"action": "offline"}, follow=True
    ).content.decode()
    assert "Taken offline" in page, page
    assert sent_ids(simulator, "/qrCode/offline") == [session.port_id]
    client.post(reverse("accounts:action", args=["8613900000401"]), {"action": "logout"})
    assert sent_ids(simulator, "/qrCode/logOut") == [session.port_id]
    port.refresh_from_db()
    assert port.released
    assert AuditEntry.objects.filter(action="port.logout").count() == 1
    assert not BulkJob.objects.exists()


def test_the_port_list_replaces_the_row_a_login_made(people: People, simulator: Any) -> None:
    session = switchboard_login(simulator, people.agent, "8613900000402")
    ports.ports_refresh()
    (port,) = CloudPort.objects.filter(released=False)
    assert port.port_id != session.port_id and port.pregenerate_id == session.port_id
    assert port.phone == "8613900000402"


def test_an_outside_port_is_operated_with_the_port_list_id(people: People, simulator: Any) -> None:
    simulator.set_profile("port-list-ids")
    outside_login(simulator, "8613900000403")
    upstream_reconcile()
    port = CloudPort.objects.get(released=False)
    assert port.pregenerate_id == ""
    html = client_for(people.supervisor).get(reverse("qrlogin:ports")).content.decode()
    row = html.split(f'id="port-{port.port_id}"')[1].split("</tr>")[0]
    assert "port_operate" in row or "<form" in row  # no dead row: the buttons are there
    profile, err = lookups.vendor_profile(whatsapp="8613900000403")
    assert err == "" and profile is not None
    ports.port_operate(actor=people.supervisor, port_id=port.port_id, operation="offline")
    assert sent_ids(simulator, "/qrCode/offline") == [port.port_id]
    assert simulator.calls("/qrCode/info/profile")[-1]["body"]["id"] == port.port_id


def test_an_outside_port_the_vendor_refuses_says_why(people: People, simulator: Any) -> None:
    """A vendor that accepts only preGenerate ids (the default profile): the port list's id
    is tried, refused with 1002, and the page says why in plain words."""
    outside_login(simulator, "8613900000404")
    upstream_reconcile()
    port = CloudPort.objects.get(released=False)
    client = client_for(people.supervisor)
    page = client.post(
        reverse("qrlogin:port_operate", args=[port.port_id, "offline"]), follow=True
    ).content.decode()
    assert "does not know this port by any id we have" in page
    assert sent_ids(simulator, "/qrCode/offline") == [port.port_id]  # tried once


def test_auto_tries_the_other_id_once_and_remembers(people: People, simulator: Any) -> None:
    simulator.set_profile("port-list-ids")
    session = switchboard_login(simulator, people.agent, "8613900000405")
    ports.ports_refresh()
    port = CloudPort.objects.get(released=False)
    ports.port_operate(actor=people.supervisor, port_id=port.port_id, operation="offline")
    assert sent_ids(simulator, "/qrCode/offline") == [session.port_id, port.port_id]
    assert cache.get(ports.ACCEPTED_KIND_KEY) == "port-list"
    ports.port_operate(actor=people.supervisor, port_id=port.port_id, operation="online")
    assert sent_ids(simulator, "/qrCode/onLine") == [port.port_id]  # the kept kind first


def test_the_port_list_setting_sends_only_that_id(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.UPSTREAM_PORT_ID = "port-list"
    session = switchboard_login(simulator, people.agent, "8613900000406")
    port = CloudPort.objects.get(released=False)  # not listed by the vendor yet
    assert port.port_id == session.port_id
    html = client_for(people.supervisor).get(reverse("qrlogin:ports")).content.decode()
    assert "UPSTREAM_PORT_ID=port-list" in html  # why, instead of a dead button
    api = client_for(people.supervisor).get("/api/v1/ports/").json()
    (row,) = api["results"] if "results" in api else api["ports"]
    assert "UPSTREAM_PORT_ID=port-list" in row["operations_unavailable"]
    # Asked anyway, the operation asks the vendor for its port list once and sends only the
    # listed id; this vendor (the default profile) takes only preGenerate ids and says so.
    with pytest.raises(UpstreamError) as refused:
        ports.port_operate(actor=people.supervisor, port_id=port.port_id, operation="offline")
    assert str(refused.value.code) == "1002"
    assert simulator.calls("/qrCode/selectCloudPortDetail")
    (sent,) = simulator.calls("/qrCode/offline")
    listed = CloudPort.objects.get(phone="8613900000406", released=False)
    assert listed.port_id != session.port_id and session.port_id not in str(sent["body"])
    assert listed.port_id in str(sent["body"])
    assert WhatsAppAccount.objects.filter(whatsapp="8613900000406").exists()
