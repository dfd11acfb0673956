"""QR and pair-code logins against the real simulator (HTTP), through the views."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from qrlogin.errors import QR_ERROR_HELP
from qrlogin.models import QrSession
from qrlogin.services import sessions
from qrlogin.services.results import qr_login_result_apply
from qrlogin.tasks import expire_sessions
from qrlogin.tests.helpers import sim_agent_for, sim_port
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db

PROXY = "10.1.2.3:1080:proxyuser:Sup3r-Secret:pw"


def start(client: Any, **data: Any) -> Any:
    form = {"pc_type": "1", "target": "10085", "mode": "qr", "proxy": ""}
    form.update(data)
    return client.post(reverse("qrlogin:start"), form)


def test_start_locks_a_port_and_shows_the_current_qr(people: People, simulator: Any) -> None:
    client = client_for(people.agent)
    page = client.get(reverse("qrlogin:start"))
    assert page.status_code == 200
    assert b"xxxx (10085)" in page.content  # pairing targets fetched and cached
    response = start(client, proxy=PROXY)
    assert response.status_code == 302
    session = QrSession.objects.get()
    assert response["Location"] == reverse("qrlogin:session", args=[session.pk])
    assert session.state == QrSession.State.SHOWING
    assert session.created_by == people.agent
    port = sim_port(simulator, session.port_id)
    assert session.qr_string == port["qrcode"] and session.qr_string.startswith("2@")
    assert session.locked_until is not None
    lock = (session.locked_until - timezone.now()).total_seconds()
    assert 590 < lock <= 600
    # preGenerate carried the target and the type; getQrCode the proxy.
    pre = simulator.calls("/qrCode/preGenerate")[-1]
    assert pre["body"]["type"] == 1 and pre["body"]["target"] == 10085
    # The proxy is encrypted at rest and never shown.
    assert session.proxy.reveal() == PROXY
    with connection.cursor() as cur:
        cur.execute("SELECT proxy FROM qrlogin_qrsession WHERE id = %s", [session.pk])
        assert "Sup3r-Secret" not in cur.fetchone()[0]
    html = client.get(response["Location"]).content.decode()
    assert "Sup3r-Secret" not in html and "proxyuser" not in html
    assert "set (hidden)" in html
    assert "<svg" in html and "data-deadline" in html
    assert "Waiting for the phone to scan" in html


def test_the_code_is_fetched_again_on_every_refresh(
    people: People, simulator: Any, settings: Any
) -> None:
    # The code rotates each second (a faster rotation left a slow run no time for the GET).
    simulator.set_options(qr_rotate=1.0)
    settings.QRLOGIN_QR_REFRESH_SECONDS = 1.0
    client = client_for(people.agent)
    start(client)
    session = QrSession.objects.get()
    seen = set()
    for _ in range(3):
        time.sleep(1.05)
        before = sim_port(simulator, session.port_id)["qrcode"]
        fragment = client.get(reverse("qrlogin:session_code", args=[session.pk]))
        assert fragment.status_code == 200
        after = sim_port(simulator, session.port_id)["qrcode"]
        session.refresh_from_db()
        # The vendor's code when the refresh asked for it: the one before the GET, or the
        # next one if it rotated during the GET (a loaded machine); never an older one.
        assert session.qr_string in (before, after)
        seen.add(session.qr_string)
        assert b"<svg" in fragment.content
    assert len(seen) == 3


def test_a_failed_refresh_hides_the_old_code(people: People, simulator: Any, settings: Any) -> None:
    settings.QRLOGIN_QR_REFRESH_SECONDS = 2.0  # one vendor ask per second for all readers
    client = client_for(people.agent)
    start(client)
    session = QrSession.objects.get()
    simulator.set_faults(1.0, ["500"])
    time.sleep(1.05)
    fragment = client.get(reverse("qrlogin:session_code", args=[session.pk])).content.decode()
    assert "<svg" not in fragment
    assert "could not be refreshed, so it is hidden" in fragment
    session.refresh_from_db()
    assert session.qr_string == "" and session.state == QrSession.State.SHOWING
    simulator.set_faults(0, [])
    time.sleep(1.05)
    fragment = client.get(reverse("qrlogin:session_code", args=[session.pk])).content.decode()
    assert "<svg" in fragment


def test_success_shows_the_account_online_and_stops_polling(people: People, simulator: Any) -> None:
    sim_agent_for(simulator, people.agent, name="Alice Agent")
    client = client_for(people.agent)
    start(client, pc_type="2")
    session = QrSession.objects.get()
    url = reverse("qrlogin:session_status", args=[session.pk])
    waiting = client.get(url + "?seen=showing")
    assert waiting.status_code == 204  # nothing new: htmx keeps polling
    simulator.state.set_account("8613800000001", agent_account="alice01")
    simulator.scan(session.port_id, "8613800000001")
    qr_login_result_apply(
        port_id=session.port_id, whatsapp="8613800000001", ok=True, received_at=timezone.now()
    )
    done = client.get(url + "?seen=showing")
    assert done.status_code == 286
    html = done.content.decode()
    assert "Online" in html and "8613800000001" in html and "Alice Agent" in html
    assert 'id="code"' in html and "hx-swap-oob" in html  # the code disappears
    session.refresh_from_db()
    assert session.user_name == "Alice Agent" and session.info_fetched_at is not None


def test_failure_shows_the_reason_and_retry_reuses_choices_and_proxy(
    people: People, simulator: Any
) -> None:
    client = client_for(people.agent)
    start(client, proxy=PROXY, pc_type="2", target="10086")
    first = QrSession.objects.get()
    simulator.scan(first.port_id, "8613800000002", ok=False)
    qr_login_result_apply(port_id=first.port_id, whatsapp="", ok=False, received_at=timezone.now())
    status = client.get(reverse("qrlogin:session_status", args=[first.pk]))
    # Failed; the page still looks for the vendor's sync reason for a short while.
    assert status.status_code == 200
    html = status.content.decode()
    assert "Login failed" in html and "retry" in html.lower()
    assert "start a new QR login" in html  # the reason, in plain words
    QrSession.objects.filter(pk=first.pk).update(finished_at=timezone.now() - timedelta(seconds=31))
    status = client.get(reverse("qrlogin:session_status", args=[first.pk]))
    assert status.status_code == 286 and "Login failed" in status.content.decode()
    retry = client.post(reverse("qrlogin:session_retry", args=[first.pk]))
    second = QrSession.objects.exclude(pk=first.pk).get()
    assert retry["Location"] == reverse("qrlogin:session", args=[second.pk])
    assert second.retry_of == first and second.state == QrSession.State.SHOWING
    assert (second.pc_type, second.target, second.mode) == (2, "10086", "qr")
    assert second.proxy.reveal() == PROXY
    assert second.port_id != first.port_id
    last_get = simulator.calls("/qrCode/getQrCode")[-1]
    assert last_get["body"]["id"] == second.port_id


def test_lock_expiry_marks_the_session_expired(
    people: People, simulator: Any, settings: Any
) -> None:
    settings.QRLOGIN_LOCK_SECONDS = 1
    simulator.set_options(lock_seconds=1)
    client = client_for(people.agent)
    start(client)
    session = QrSession.objects.get()
    time.sleep(1.2)
    status = client.get(reverse("qrlogin:session_status", args=[session.pk]) + "?seen=showing")
    assert status.status_code == 286
    html = status.content.decode()
    assert "Expired" in html and "released the port" in html and "Try again" in html
    session.refresh_from_db()
    assert session.state == QrSession.State.EXPIRED and session.qr_string == ""
    # The code fragment stops too.
    assert client.get(reverse("qrlogin:session_code", args=[session.pk])).status_code == 286


def test_beat_sweep_expires_unwatched_sessions(people: People, simulator: Any) -> None:
    client = client_for(people.agent)
    start(client)
    start(client)
    old, new = QrSession.objects.order_by("id")
    QrSession.objects.filter(pk=old.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert expire_sessions() == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.state == QrSession.State.EXPIRED and new.state == QrSession.State.SHOWING


def test_pair_code_mode(people: People, simulator: Any) -> None:
    client = client_for(people.agent)
    response = start(client, mode="pair", phone="8618733334444", is_easy="y")
    assert response.status_code == 302
    session = QrSession.objects.get()
    port = sim_port(simulator, session.port_id)
    assert session.pair_code == port["pairCode"] and session.pair_code
    call = simulator.calls("/qrCode/getQrCodeV2")[-1]["body"]
    assert call["phone"] == "8618733334444" and call["isEasy"] == "y"
    html = client.get(response["Location"]).content.decode()
    assert f'data-copy="{session.pair_code}"' in html
    assert "Linked devices" in html and "Link with phone number" in html
    assert 'class="paircode"' in html


def _start_error(response: Any) -> str:
    assert response.status_code == 400
    return str(response.content.decode())


def test_error_1001_quota(people: People, simulator: Any) -> None:
    """An agent cannot open the Ports page: they are told to ask a supervisor. A supervisor
    is sent to the Ports page."""
    simulator.set_options(max_ports=0)
    html = _start_error(start(client_for(people.agent)))
    assert str(QR_ERROR_HELP["1001"].meaning) in html and "Ask a supervisor" in html
    assert "Ports page" not in html
    assert QrSession.objects.get().reason_code == "1001"
    html = _start_error(start(client_for(people.supervisor)))
    assert str(QR_ERROR_HELP["1001"].meaning) in html and "Ports page" in html


def test_error_1002_port_released(people: People, simulator: Any, settings: Any) -> None:
    settings.QRLOGIN_QR_REFRESH_SECONDS = 2.0  # one vendor ask per second for all readers
    client = client_for(people.agent)
    start(client)
    session = QrSession.objects.get()
    simulator.state.port_logout(session.port_id)  # the vendor released it
    time.sleep(1.05)
    client.get(reverse("qrlogin:session_code", args=[session.pk]))
    html = client.get(reverse("qrlogin:session_status", args=[session.pk])).content.decode()
    assert str(QR_ERROR_HELP["1002"].meaning) in html and "Start a new login" in html


def test_error_1003_unsupported_type(people: People, simulator: Any) -> None:
    session = sessions.qr_session_start(user=people.agent, pc_type=3)
    assert session.state == QrSession.State.FAILED and session.reason_code == "1003"
    html = client_for(people.agent).get(reverse("qrlogin:start")).content.decode()
    assert str(QR_ERROR_HELP["1003"].meaning) in html


def test_error_1004_no_pairing_target(people: People, simulator: Any) -> None:
    client = client_for(people.agent)
    client.get(reverse("qrlogin:start"))  # caches the targets
    simulator.state.targets = []  # the vendor dropped them since
    html = _start_error(start(client, target="10085"))
    assert str(QR_ERROR_HELP["1004"].meaning) in html and "pairing target" in html


def test_vendor_down_is_said_plainly(people: People, simulator: Any, settings: Any) -> None:
    settings.UPSTREAM_READ_TIMEOUT = 0.3
    simulator.set_faults(1.0, ["timeout"])
    html = _start_error(start(client_for(people.agent), target=""))
    assert "did not answer" in html


def test_invalid_proxy_is_refused_before_any_vendor_call(people: People, simulator: Any) -> None:
    client = client_for(people.agent)
    response = start(client, proxy="10.0.0.1:70000:user:hunter2")
    assert response.status_code == 400
    assert b"1 to 65535" in response.content and b"hunter2" not in response.content
    assert not simulator.calls("/qrCode/preGenerate")
