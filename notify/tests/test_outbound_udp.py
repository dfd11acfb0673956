"""The outbound guard covers every way a socket sends (connect, sendto, sendmsg): an
Apprise channel to a syslog server over UDP on loopback (`rsyslog://`, which sends with
`sendto` and never connects) reaches nothing, and the delivery says it was refused. And a
channel URL to a private or local address is refused when it is saved, page and API."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from core.outbound import OutboundRefused, outbound_guard
from notify.models import AlertChannel, RuleKey
from notify.services import alerts
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def udp_canary() -> Iterator[socket.socket]:
    """A UDP listener on loopback: anything that reaches it is a leak."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(1.0)
    yield sock
    sock.close()


def _received(sock: socket.socket) -> bytes | None:
    try:
        return sock.recv(65535)
    except TimeoutError:
        return None


def _channel(user: Any, url: str) -> Any:
    return client_for(user).post(
        reverse("api-alert-channels"),
        data=json.dumps({"name": "syslog", "url": url, "rules": [RuleKey.ACCOUNT_BANNED]}),
        content_type="application/json",
    )


def test_udp_alert_channel_to_loopback_is_refused_and_the_canary_hears_nothing(
    people: People, udp_canary: socket.socket, settings: Any
) -> None:
    url = f"rsyslog://127.0.0.1:{udp_canary.getsockname()[1]}"
    settings.OUTBOUND_ALLOWED_NETS = ["127.0.0.1/32"]  # saved while allowed (an intranet)...
    saved = _channel(people.supervisor, url)
    assert saved.status_code == 201, saved.content
    channel = AlertChannel.objects.get(pk=saved.json()["id"])
    ok, _ = alerts.alert_channel_test(actor=people.supervisor, channel=channel)
    assert ok and _received(udp_canary)  # the canary hears an allowed channel

    settings.OUTBOUND_ALLOWED_NETS = []  # ...and sent once it no longer is
    ok, error = alerts.alert_channel_test(actor=people.supervisor, channel=channel)
    assert not ok and "Refused" in error
    assert _received(udp_canary) is None


@pytest.mark.parametrize("how", ["sendto", "sendmsg", "connect-udp", "connect-tcp"])
def test_every_way_a_socket_sends_is_guarded(how: str, udp_canary: socket.socket) -> None:
    target = udp_canary.getsockname()
    kind = socket.SOCK_STREAM if how == "connect-tcp" else socket.SOCK_DGRAM
    with (
        socket.socket(socket.AF_INET, kind) as sock,
        outbound_guard() as guard,
        pytest.raises(OutboundRefused),
    ):
        if how == "sendto":
            sock.sendto(b"leak", target)
        elif how == "sendmsg":
            sock.sendmsg([b"leak"], [], 0, target)
        else:
            sock.connect(target)
    assert guard.refused == ["127.0.0.1"]
    assert _received(udp_canary) is None


@pytest.mark.parametrize(
    "url", ["rsyslog://127.0.0.1:5514", "json://localhost:8080/x", "rsyslog://10.1.2.3"]
)
def test_a_private_channel_url_is_refused_when_saved(url: str, people: People) -> None:
    api = _channel(people.supervisor, url)
    assert api.status_code == 400, api.content
    assert "private or local" in api.content.decode()
    page = client_for(people.supervisor).post(
        reverse("notify:channels"),
        {"name": "ops", "url": url, "rules": [RuleKey.ACCOUNT_BANNED], "language": "en"},
    )
    assert page.status_code == 400
    assert "private or local" in page.content.decode()
    assert not AlertChannel.objects.exists()
