"""The account page's profile panel says one thing: "fetched" with a time only when a
profile came back, "could not be fetched at" with the time when asking failed, and no time
when the vendor could not be asked (no cloud port)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from accounts.tests.helpers import make_account
from qrlogin.services.results import qr_login_result_apply
from qrlogin.services.sessions import qr_session_start
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db


def _panel(client: Any, whatsapp: str) -> tuple[str, str]:
    html = client.get(f"/accounts/{whatsapp}/vendor/").content.decode()
    when = html.split('id="profile-when">')[1].split("</small>")[0]
    return when, html


def test_without_a_cloud_port_no_time_is_claimed(people: People, simulator: Any) -> None:
    make_account("8613900000501")
    when, html = _panel(client_for(people.supervisor), "8613900000501")
    assert when == ""
    assert "no cloud port, so the vendor cannot read its profile" in html


def test_a_failed_fetch_says_so_with_its_time(people: People, simulator: Any) -> None:
    session = qr_session_start(user=people.agent, pc_type=2, target="10085")
    simulator.scan(session.port_id, "8613900000502")
    qr_login_result_apply(
        port_id=session.port_id, whatsapp="8613900000502", ok=True, received_at=timezone.now()
    )
    sup = client_for(people.supervisor)
    when, html = _panel(sup, "8613900000502")
    assert when.startswith("fetched ") and 'id="profile-error"' not in html
    simulator.set_faults(1.0, ["business"])
    when, html = _panel(sup, "8613900000502")
    assert when.startswith("could not be fetched at ")  # not the earlier success's time
    assert 'id="profile-error" class="flash flash-error"' in html
