"""An agent's QR login whose result the vendor gives to another agent: the session page says
so in words and offers no link to the account page (which is not the agent's, and answers
404); a login whose account is the agent's links to it."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.tests.helpers import make_account
from qrlogin.models import QrSession
from qrlogin.services.sessions import qr_session_start
from qrlogin.tests.helpers import sim_agent_for
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db
NUMBER = "8613800000777"


def _succeeded(people: People, simulator: Any) -> QrSession:
    sim_agent_for(simulator, people.agent)
    session = qr_session_start(user=people.agent, pc_type=1, target="10085")
    session.state = QrSession.State.SUCCEEDED
    session.whatsapp = NUMBER
    session.user_name = "Bob B."
    session.save()
    return session


def test_a_login_given_to_another_agent_says_so_without_a_link(
    people: People, simulator: Any
) -> None:
    session = _succeeded(people, simulator)
    make_account(NUMBER, agent="bob01")
    alice = client_for(people.agent)
    for url in (f"/qr/s/{session.pk}/", f"/qr/s/{session.pk}/status/"):
        body = alice.get(url).content.decode()
        assert "The vendor assigned this account to the agent bob01" in body, url
        assert f"/accounts/{NUMBER}/" not in body, url
    assert alice.get(f"/accounts/{NUMBER}/").status_code == 404  # why no link is offered
    alice.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    body = alice.get(f"/qr/s/{session.pk}/").content.decode()
    assert "供应商把这个客服号分配给了坐席 bob01" in body


def test_a_login_of_ones_own_account_links_to_it(people: People, simulator: Any) -> None:
    session = _succeeded(people, simulator)
    make_account(NUMBER, agent="alice01")
    alice = client_for(people.agent)
    body = alice.get(f"/qr/s/{session.pk}/").content.decode()
    assert f'href="/accounts/{NUMBER}/"' in body and "assigned this account" not in body
    assert alice.get(f"/accounts/{NUMBER}/").status_code == 200
