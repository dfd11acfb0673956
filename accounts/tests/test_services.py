"""Bulk jobs, port actions, avatar checks, contacts and registration against the simulator."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from accounts.models import BulkJob, ContactLookup, Registration, WhatsAppAccount
from accounts.services import contacts, fleet
from accounts.services.profile import AvatarError, avatar_check
from accounts.tests.helpers import make_account, png_bytes
from ports.models import CloudPort
from tests.fixtures import client_for
from upstream.breaker import reset as breaker_reset

pytestmark = pytest.mark.django_db


FETCH_FAILED = "could not be fetched"


@pytest.fixture
def images(settings: Any) -> Iterator[str]:
    """A real HTTP server (stdlib) serving real PNGs, on loopback: allowed for the test."""
    settings.AVATAR_FETCH_ALLOWED_NETS = ["127.0.0.1/32"]
    files = {
        "/ok64.png": (200, png_bytes(64, 64)),
        "/ok128.png": (200, png_bytes(128, 128)),
        "/wide.png": (200, png_bytes(64, 32)),
        "/odd.png": (200, png_bytes(100, 100)),
        "/text.png": (200, b"not an image at all"),
        "/huge.png": (200, b"\x89PNG" + b"0" * (600 * 1024)),
        "/moved.png": (302, b""),
        "/loop.png": (302, b""),
        "/inside.png": (302, b""),
    }
    locations = {"/moved.png": "/ok64.png", "/loop.png": "/loop.png"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = files.get(self.path, (404, b"missing"))
            self.send_response(status)
            self.send_header("Content-Type", "image/png")
            if self.path in locations:
                self.send_header("Location", locations[self.path])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # Another loopback address, outside the allowed network: a redirect target to refuse.
    locations["/inside.png"] = f"http://127.0.0.2:{server.server_address[1]}/ok64.png"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_avatar_check(images: str) -> None:
    assert avatar_check(url=f"{images}/ok64.png") == (64, 64)
    assert avatar_check(url=f"{images}/ok128.png") == (128, 128)
    for path, message in (
        ("/wide.png", "64×32 px; it must be square"),
        ("/odd.png", "100×100 px"),
        ("/text.png", "does not point to an image"),
        ("/missing.png", FETCH_FAILED),
        ("/huge.png", FETCH_FAILED),
    ):
        with pytest.raises(AvatarError, match=message):
            avatar_check(url=f"{images}{path}")
    # One generic message for every way the fetch fails: nothing about the network.
    with pytest.raises(AvatarError, match=FETCH_FAILED):
        avatar_check(url="http://127.0.0.1:9/none.png")
    with pytest.raises(AvatarError, match=FETCH_FAILED):
        avatar_check(url="ftp://example.test/a.png")
    assert avatar_check(url=f"{images}/moved.png") == (64, 64)
    with pytest.raises(AvatarError, match=FETCH_FAILED):
        avatar_check(url=f"{images}/loop.png")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/a.png",
        "http://localhost/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/a.png",
        "http://[::1]/a.png",
    ],
)
def test_avatar_check_refuses_internal_addresses(url: str) -> None:
    with pytest.raises(AvatarError, match=FETCH_FAILED):
        avatar_check(url=url)


def test_every_redirect_hop_is_checked_again(images: str) -> None:
    """127.0.0.1 is allowed for the test server; its redirect to 127.0.0.2 is not."""
    with pytest.raises(AvatarError, match=FETCH_FAILED):
        avatar_check(url=f"{images}/inside.png")


def test_the_fetch_connects_to_the_address_that_was_checked(images: str, monkeypatch: Any) -> None:
    """DNS rebinding: the name answers a permitted address to the check and another one
    after. The fetch must connect where it checked, with no second look-up."""
    import socket

    real = socket.getaddrinfo
    port = int(images.rsplit(":", 1)[1])
    answers = iter(["127.0.0.1"] + ["127.0.0.2"] * 10)
    looked_up: list[str] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "avatar.rebind.test":
            looked_up.append(host)
            return real(next(answers), *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    assert avatar_check(url=f"http://avatar.rebind.test:{port}/ok64.png") == (64, 64)
    assert looked_up == ["avatar.rebind.test"]


def test_bulk_online_sends_revealed_keys_with_override(people: Any, simulator: Any) -> None:
    a = make_account("8613800000011", with_keys=True)
    b = make_account("8613800000012", with_keys=True)
    c = make_account("8613800000013")  # no keys: listed first, left out
    sup = client_for(people.supervisor)
    ids = [a.pk, b.pk, c.pk]
    page = sup.post("/accounts/bulk/online/", {"override": "1", "ids": ids})
    assert c.whatsapp in page.content.decode() and not BulkJob.objects.exists()
    resp = sup.post("/accounts/bulk/online/", {"override": "1", "ids": ids, "confirmed": "1"})
    job = BulkJob.objects.get()
    assert resp["Location"] == f"/accounts/jobs/{job.pk}/"
    fleet.bulk_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.ok_count, job.failed_count) == (2, 0)
    calls = simulator.calls("/whatsapp/batchOnline")
    assert len(calls) == 1
    sent = calls[0]["body"]["whatsAppList"]
    assert {r["whatsApp"] for r in sent} == {a.whatsapp, b.whatsapp}
    assert all(r["override"] is True for r in sent)
    # The simulator's call log redacts keys; that they were sent (revealed) shows in its state.
    assert all(r["privateKey"] and r["publicKey"] for r in sent)
    assert simulator.state.accounts[a.whatsapp].has_keys
    assert simulator.state.accounts[a.whatsapp].online_status in (1, 2)
    from core.models import AuditEntry

    entry = AuditEntry.objects.get(action="accounts.online")
    assert entry.after is not None
    assert entry.after["override"] is True and "priv-" not in str(entry.after)


def test_bulk_recycle_against_simulator(people: Any, simulator: Any) -> None:
    a = make_account("8613800000021", with_keys=True)
    simulator.state.import_accounts([{"whatsApp": a.whatsapp}])
    job = fleet.bulk_job_create(actor=people.supervisor, kind="recycle", accounts=[a])
    fleet.bulk_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.ok_count == 1
    assert a.whatsapp not in simulator.state.accounts
    assert WhatsAppAccount.objects.get(pk=a.pk).recycled


def test_vendor_business_error_is_shown_per_item(people: Any, simulator: Any) -> None:
    a = make_account("8613800000031", with_keys=True)
    simulator.set_faults(1.0, ["busy"])  # "System busy"
    job = fleet.bulk_job_create(actor=people.supervisor, kind="online", accounts=[a])
    fleet.bulk_job_run(job_id=job.pk)
    item = job.items.get()
    # "System busy" is transient: retried with backoff within the time limit, then shown.
    assert item.state == "failed" and "busy" in item.error and item.attempts > 1
    simulator.set_faults(0, [])
    breaker_reset()  # the retries opened the breaker; its cooldown has passed
    assert fleet.bulk_job_retry_failed(actor=people.supervisor, job=job) == 1
    fleet.bulk_job_run(job_id=job.pk)
    item.refresh_from_db()
    assert item.state == "ok"


def _logged_in_port(simulator: Any, whatsapp: str) -> CloudPort:
    simulator.state.targets = simulator.state.targets or [
        {"targetTenantId": 10085, "targetTenantName": "t", "createTime": "2025-11-05 16:22:07"}
    ]
    port = simulator.state.pre_generate(type_=1, target=None)
    result = simulator.scan(str(port.port_id), whatsapp)
    assert result["status"] == 1
    # A login made through Switchboard: both ids are known.
    return CloudPort.objects.create(
        port_id=str(port.port_id), pregenerate_id=port.session_id, phone=whatsapp, status=10
    )


def test_port_actions_need_a_port(people: Any, simulator: Any) -> None:
    a = make_account("8613800000041")
    sup = client_for(people.supervisor)
    resp = sup.post(f"/accounts/{a.whatsapp}/action/", {"action": "offline"})
    assert resp.status_code == 302 and not BulkJob.objects.exists()
    page = sup.get(resp["Location"]).content.decode()
    assert "has no cloud port" in page
    _logged_in_port(simulator, a.whatsapp)
    # The account page's port operation is the Ports page's service, answered at once.
    resp = sup.post(f"/accounts/{a.whatsapp}/action/", {"action": "offline"})
    assert resp.status_code == 302 and not BulkJob.objects.exists()
    assert "Taken offline" in sup.get(resp["Location"]).content.decode()
    assert len(simulator.calls("/qrCode/offline")) == 1


def test_vendor_fragment_shows_profile_and_where_online(people: Any, simulator: Any) -> None:
    a = make_account("8613800000051", agent="alice01")
    sup = client_for(people.supervisor)
    body = sup.get(f"/accounts/{a.whatsapp}/vendor/").content.decode()
    assert "no cloud port" in body
    _logged_in_port(simulator, a.whatsapp)
    body = client_for(people.agent).get(f"/accounts/{a.whatsapp}/vendor/").content.decode()
    assert "<html" not in body and "Push name" in body
    assert "Cloud computer" in body
    assert client_for(people.peer).get(f"/accounts/{a.whatsapp}/vendor/").status_code == 404


def test_profile_update_validates_then_sends(people: Any, simulator: Any, images: str) -> None:
    a = make_account("8613800000061")
    b = make_account("8613800000062")
    sup = client_for(people.supervisor)
    resp = sup.post(
        f"/accounts/{a.whatsapp}/profile/", {"device_type": "0", "avatar": f"{images}/wide.png"}
    )
    assert resp.status_code == 400 and "must be square" in resp.content.decode()
    assert not BulkJob.objects.exists()
    resp = sup.post(
        "/accounts/bulk/profile/",
        {
            "ids": [a.pk, b.pk],
            "confirmed": "1",
            "device_type": "0",
            "avatar": f"{images}/ok64.png",
            "nickname": "Desk 7",
        },
    )
    job = BulkJob.objects.get(kind="profile")
    assert resp["Location"] == f"/accounts/jobs/{job.pk}/"
    fleet.bulk_job_run(job_id=job.pk)
    calls = simulator.calls("/channelInfo/updateAvatarOrNickname")
    assert len(calls) == 1
    assert calls[0]["body"]["phoneList"] == [a.whatsapp, b.whatsapp]
    assert calls[0]["body"]["type"] == 0 and calls[0]["body"]["nickname"] == "Desk 7"
    assert WhatsAppAccount.objects.get(pk=a.pk).name == "Desk 7"


def test_contacts_confirm_rate_limit_and_store(people: Any, simulator: Any) -> None:
    a = make_account("8613800000071")
    sup = client_for(people.supervisor)
    url = f"/accounts/{a.whatsapp}/contacts/"
    resp = sup.post(url, {"kind": "book"})
    assert resp.status_code == 400 and "risk control" in resp.content.decode()
    resp = sup.post(url, {"kind": "book", "confirm": "on"})
    assert resp.status_code == 400 and "no cloud port" in resp.content.decode()
    _logged_in_port(simulator, a.whatsapp)
    resp = sup.post(url, {"kind": "book", "confirm": "on"}, HTTP_HX_REQUEST="true")
    assert resp.status_code == 200 and b"<html" not in resp.content
    lookup = ContactLookup.objects.get()
    assert lookup.state == "queued"
    again = sup.post(url, {"kind": "single", "phone": "8613912345678", "confirm": "on"})
    # Too soon is a 429 that says when to try again, with Retry-After.
    assert again.status_code == 429 and "less than 60 seconds ago" in again.content.decode()
    assert 1 <= int(again["Retry-After"]) <= 60
    assert f"Try again in {again['Retry-After']} seconds." in again.content.decode()
    assert ContactLookup.objects.count() == 1
    contacts.contact_lookup_run(lookup_id=lookup.pk)  # what the SLOW-queue task runs
    lookup.refresh_from_db()
    assert lookup.state == "done" and lookup.fetched_at is not None and lookup.results
    body = sup.get(url).content.decode()
    assert "fetched" in body and lookup.results[0]["whatsapp"] in body
    assert client_for(people.agent).get(url).status_code == 403


def test_registration_wizard(people: Any, simulator: Any) -> None:
    sup = client_for(people.supervisor)
    bad = sup.post(
        "/accounts/register/",
        {
            "country_code": "CN",
            "area_code": "+57",
            "phone": "13812345678",
            "verify_type": 0,
            "account_type": 1,
        },
    )
    assert bad.status_code == 400 and "does not belong to CN" in bad.content.decode()
    bad = sup.post(
        "/accounts/register/",
        {
            "country_code": "CN",
            "area_code": "+86",
            "phone": "12345",
            "verify_type": 0,
            "account_type": 1,
        },
    )
    assert bad.status_code == 400 and "not a valid CN number" in bad.content.decode()
    assert not Registration.objects.exists()
    resp = sup.post(
        "/accounts/register/",
        {
            "country_code": "CN",
            "area_code": "+86",
            "phone": "138 1234 5678",
            "verify_type": 1,
            "account_type": 2,
        },
    )
    reg = Registration.objects.get()
    assert resp["Location"] == f"/accounts/register/{reg.pk}/"
    assert reg.phone == "13812345678" and reg.task_id and reg.state == "phone_submitted"
    sim_reg = next(iter(simulator.state.registrations.values()))
    resp = sup.post(f"/accounts/register/{reg.pk}/", {"code": "12"})
    assert resp.status_code == 400 and "4 to 8 digits" in resp.content.decode()
    resp = sup.post(f"/accounts/register/{reg.pk}/", {"code": sim_reg.code})
    reg.refresh_from_db()
    assert reg.state == "code_submitted"
    poll = sup.get(f"/accounts/register/{reg.pk}/", HTTP_HX_REQUEST="true")
    # Waiting: the status listens for its pushed result (and polls only if the stream drops).
    assert poll.status_code == 200
    assert f'hx-trigger="sse:registration-{reg.pk}, live-poll"'.encode() in poll.content
    Registration.objects.filter(pk=reg.pk).update(state="succeeded")  # the webhook's part
    poll = sup.get(f"/accounts/register/{reg.pk}/", HTTP_HX_REQUEST="true")
    assert poll.status_code == 286
    assert client_for(people.agent).get(f"/accounts/register/{reg.pk}/").status_code == 403


def test_agents_and_vendor_log_fragments(people: Any, simulator: Any) -> None:
    sup = client_for(people.supervisor)
    body = sup.get("/accounts/agents/vendor/").content.decode()
    assert "<html" not in body and "Latest 10 online accounts per agent" in body
    body = sup.get("/accounts/logs/vendor/?source=2").content.decode()
    assert "<html" not in body and "Fetched" in body
    simulator.set_faults(1.0, ["500"])
    body = sup.get("/accounts/logs/vendor/?source=1").content.decode()
    assert "flash-error" in body


def test_vendor_agents_overview_filters_by_agent_and_reports_failures(simulator: Any) -> None:
    from accounts.services.lookups import vendor_agents_overview

    simulator.state.upsert_agent(user_id=501, agent_account="alice01", user_name="Alice")
    simulator.state.upsert_agent(user_id=502, agent_account="bob01", user_name="Bob")
    simulator.state.set_account("8613800000501", online=True, agent_account="alice01", source=1)
    simulator.state.set_account("8613800000502", online=True, agent_account="bob01", source=1)

    everyone = vendor_agents_overview()
    pc = everyone["blocks"][0]["agents"]
    assert {a.agent_account for a in pc} == {"alice01", "bob01"}
    assert everyone["errors"] == []

    only_alice = vendor_agents_overview(agent="alice01")
    for section in (only_alice["blocks"], only_alice["user_status"]):
        for block in section:
            assert {a.agent_account for a in block["agents"]} <= {"alice01"}
    assert any(block["agents"] for block in only_alice["blocks"])

    simulator.set_faults(1.0, ["500"])
    failing = vendor_agents_overview()
    assert failing["errors"] and all(block["agents"] == [] for block in failing["latest"])
