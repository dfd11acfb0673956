"""The port operations (onLine, offline, logOut, selectContact,
contact/info, info/profile) take the id preGenerate issued, not selectCloudPortDetail's
"port application id". Against the strict simulator (1002 for any id it did not issue at
preGenerate): a port logged in through Switchboard is operated with its preGenerate id; a
port with only an application id is explained on the page and no call is sent."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import BulkJob, ContactLookup, WhatsAppAccount
from accounts.services import contacts, fleet, lookups
from accounts.services.reconcile import upstream_reconcile
from ports import services as ports
from ports.models import CloudPort
from qrlogin.models import QrSession
from qrlogin.services.results import qr_login_result_apply
from qrlogin.services.sessions import qr_session_start
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db

PORT_PATHS = (
    "/qrCode/onLine",
    "/qrCode/offline",
    "/qrCode/logOut",
    "/qrCode/selectContact",
    "/qrCode/contact/info",
    "/qrCode/info/profile",
)


def switchboard_login(simulator: Any, user: Any, whatsapp: str) -> QrSession:
    """A QR login made through Switchboard; the result as the webhook applies it."""
    session = qr_session_start(user=user, pc_type=2, target="10085")
    simulator.scan(session.port_id, whatsapp)
    qr_login_result_apply(
        port_id=session.port_id, whatsapp=whatsapp, ok=True, received_at=timezone.now()
    )
    return session


def outside_login(simulator: Any, whatsapp: str) -> str:
    """A login made elsewhere (the vendor's own console): Switchboard never saw its
    preGenerate id. Returns that id (only the test knows it)."""
    port = simulator.state.pre_generate(type_=1, target=None)
    simulator.scan(port.session_id, whatsapp)
    return str(port.session_id)


def port_calls(simulator: Any) -> list[dict[str, Any]]:
    return [c for p in PORT_PATHS for c in simulator.calls(p)]


def test_switchboard_login_keeps_both_ids_and_sends_the_pregenerate_id(
    people: People, simulator: Any
) -> None:
    session = switchboard_login(simulator, people.agent, "8613900000101")
    ports.ports_refresh()
    port = CloudPort.objects.get(released=False)
    assert len(port.port_id) == 19 and port.pregenerate_id == session.port_id
    assert len(session.port_id) == 32

    # The ports page shows both ids and the operations.
    client = client_for(people.supervisor)
    html = client.get(reverse("qrlogin:ports")).content.decode()
    assert port.port_id in html and session.port_id in html
    assert "port-not-linked" not in html
    # The API lists both ids.
    api = client.get("/api/v1/ports/").json()
    (row,) = api["results"] if "results" in api else api["ports"]
    assert row["port_id"] == port.port_id and row["pregenerate_id"] == session.port_id

    # Every port operation, from every place that sends one, carries the preGenerate id and
    # the strict simulator accepts it.
    account = WhatsAppAccount.objects.get(whatsapp="8613900000101")
    profile, err = lookups.vendor_profile(whatsapp=account.whatsapp)
    assert err == "" and profile is not None
    asks = ((ContactLookup.Kind.BOOK, ""), (ContactLookup.Kind.SINGLE, "8613900000999"))
    for kind, phone in asks:
        lookup = ContactLookup.objects.create(account=account, kind=kind, phone=phone)
        done = contacts.contact_lookup_run(lookup_id=lookup.pk)
        assert done is not None
        assert done.state == ContactLookup.State.DONE, done.error
    job = fleet.bulk_job_create(actor=people.supervisor, kind="port_offline", accounts=[account])
    fleet.bulk_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.ok_count == 1, list(job.items.values("error"))
    client.post(reverse("qrlogin:port_operate", args=[port.port_id, "online"]))
    client.post(reverse("qrlogin:port_operate", args=[port.port_id, "logout"]))
    sent = port_calls(simulator)
    assert {c["path"].split("/qrCode")[1] for c in sent} == {
        p.removeprefix("/qrCode") for p in PORT_PATHS
    }
    for call in sent:
        ident = call["query"].get("id") if call["method"] == "GET" else call["body"]["id"]
        ident = ident[0] if isinstance(ident, list) else ident
        assert ident == session.port_id, call
    port.refresh_from_db()
    assert port.released


def test_port_with_only_an_application_id_is_explained_and_never_sent(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.UPSTREAM_PORT_ID = "pregenerate"  # only the id of a login made here is sent
    outside_login(simulator, "8613900000202")
    upstream_reconcile()  # reconcile stores the port through the ports page's writer
    port = CloudPort.objects.get(released=False)
    assert port.phone == "8613900000202" and port.pregenerate_id == ""
    account = WhatsAppAccount.objects.get(whatsapp="8613900000202")
    client = client_for(people.supervisor)

    html = client.get(reverse("qrlogin:ports")).content.decode()
    row = html.split(f'id="port-{port.port_id}"')[1].split("</tr>")[0]
    assert "not logged in through Switchboard" in row
    assert "port_operate" not in row and "<form" not in row

    # Forged posts, the account page, bulk jobs, profile and contacts: refused before sending.
    for operation in ("online", "offline", "logout"):
        page = client.post(
            reverse("qrlogin:port_operate", args=[port.port_id, operation]), follow=True
        ).content.decode()
        assert "not logged in through Switchboard" in page
    detail = client.get(reverse("accounts:detail", args=[account.whatsapp])).content.decode()
    assert "not logged in through Switchboard" in detail
    resp = client.post(f"/accounts/{account.whatsapp}/action/", {"action": "offline"})
    assert resp.status_code == 302 and not BulkJob.objects.exists()
    job = fleet.bulk_job_create(actor=people.supervisor, kind="port_logout", accounts=[account])
    fleet.bulk_job_run(job_id=job.pk)
    item = job.items.get()
    assert item.state == "failed" and "not logged in through Switchboard" in item.error
    profile, err = lookups.vendor_profile(whatsapp=account.whatsapp)
    assert profile is None and "not logged in through Switchboard" in err
    with pytest.raises(contacts.LookupError_, match="not logged in through Switchboard"):
        contacts.contact_lookup_request(
            actor=people.supervisor, account=account, kind="book", confirmed=True
        )
    assert port_calls(simulator) == []  # the strict simulator never saw a port operation


def test_login_result_after_the_port_was_stored_links_the_ids(
    people: People, simulator: Any
) -> None:
    """The port reached our table before the login result did: the link is made when the
    id is needed (and then stored)."""
    session = qr_session_start(user=people.agent, pc_type=2, target="10085")
    simulator.scan(session.port_id, "8613900000303")
    ports.ports_refresh()  # the session is still waiting: no link yet
    port = CloudPort.objects.get(released=False)
    assert port.pregenerate_id == ""
    qr_login_result_apply(
        port_id=session.port_id, whatsapp="8613900000303", ok=True, received_at=timezone.now()
    )
    html = client_for(people.supervisor).get(reverse("qrlogin:ports")).content.decode()
    assert session.port_id in html and "port-not-linked" not in html
    ports.port_operate(actor=people.supervisor, port_id=port.port_id, operation="offline")
    assert simulator.calls("/qrCode/offline")[-1]["body"]["id"] == session.port_id
    port.refresh_from_db()
    assert port.pregenerate_id == session.port_id


def test_a_login_result_on_a_stored_port_tells_the_ports_page(
    people: People, simulator: Any
) -> None:
    """The vendor's QR id is the stored port's id: its phone is written at once, and the
    open Ports pages hear of it ("ports"), as they do of a refresh."""
    from django.db import connection

    session = qr_session_start(user=people.agent, pc_type=2, target="10085")
    CloudPort.objects.create(port_id=session.port_id, released=True)
    notified: list[str] = []

    def spy(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "pg_notify" in sql:
            notified.append(str(params[1]))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        qr_login_result_apply(
            port_id=session.port_id, whatsapp="8613900000309", ok=True, received_at=timezone.now()
        )
    port = CloudPort.objects.get(port_id=session.port_id)
    assert port.phone == "8613900000309" and not port.released
    assert any('"ports"' in n for n in notified), notified
