"""Behind the reverse proxy: one client address for axes, the webhook
`ip` check, /metrics and the logs, read through TRUSTED_PROXY_NETS only."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from core.logging import ContextFilter, JsonFormatter, current_client
from core.middleware import RequestIdMiddleware
from core.net import client_address
from tests.fixtures import PASSWORD, People

ROOT = Path(__file__).resolve().parents[2]
PROXY = "127.0.0.1"
FAR = "203.0.113.9"
NEAR = "198.51.100.7"


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    settings.TRUSTED_PROXY_NETS = ["127.0.0.1/32", "::1/128"]


def _request(peer: str, forwarded: str = "") -> HttpRequest:
    request = RequestFactory().get("/", REMOTE_ADDR=peer)
    if forwarded:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return request


def test_client_address_reads_forwarded_for_only_from_a_trusted_proxy(
    settings: Any, behind_proxy: None
) -> None:
    assert client_address(_request(PROXY, f"{FAR}")) == FAR
    # Hops the client wrote itself are skipped from the right, up to the first untrusted one.
    assert client_address(_request(PROXY, f"1.2.3.4, {FAR}, 127.0.0.1")) == FAR
    # Anyone else's X-Forwarded-For is ignored: the peer is the client.
    assert client_address(_request(NEAR, FAR)) == NEAR
    settings.TRUSTED_PROXY_NETS = []
    assert client_address(_request(PROXY, FAR)) == PROXY


@pytest.mark.django_db
def test_metrics_behind_the_proxy_refuse_a_far_client(settings: Any, behind_proxy: None) -> None:
    settings.METRICS_TOKEN = ""
    through_proxy = Client(REMOTE_ADDR=PROXY)
    assert through_proxy.get("/metrics", HTTP_X_FORWARDED_FOR=FAR).status_code == 403
    assert through_proxy.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200


@pytest.mark.django_db
def test_axes_locks_the_client_not_the_proxy(people: People, behind_proxy: None) -> None:
    proxy = Client(REMOTE_ADDR=PROXY)
    for _ in range(10):
        proxy.post(
            reverse("login"), {"username": "alice", "password": "wrong"}, HTTP_X_FORWARDED_FOR=FAR
        )
    locked = proxy.post(
        reverse("login"), {"username": "alice", "password": PASSWORD}, HTTP_X_FORWARDED_FOR=FAR
    )
    assert locked.status_code == 429
    # Alice herself, through the same proxy from another address, still signs in.
    ok = Client(REMOTE_ADDR=PROXY).post(
        reverse("login"), {"username": "alice", "password": PASSWORD}, HTTP_X_FORWARDED_FOR=NEAR
    )
    assert ok.status_code == 302


@pytest.mark.django_db
def test_a_forged_forwarded_for_does_not_escape_the_lock(
    people: People, behind_proxy: None
) -> None:
    attacker = Client(REMOTE_ADDR=NEAR)  # not a proxy: its X-Forwarded-For means nothing
    for i in range(10):
        attacker.post(
            reverse("login"),
            {"username": "alice", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",
        )
    again = attacker.post(
        reverse("login"),
        {"username": "alice", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="10.0.0.99",
    )
    assert again.status_code == 429


@pytest.mark.django_db
def test_forwarded_proto_counts_only_from_a_trusted_proxy(
    settings: Any, behind_proxy: None
) -> None:
    settings.SECURE_SSL_REDIRECT = True
    forged = Client(REMOTE_ADDR=NEAR).get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert forged.status_code == 301 and forged["Location"].startswith("https://")
    proxied = Client(REMOTE_ADDR=PROXY).get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200


def test_log_lines_carry_the_client_address(behind_proxy: None) -> None:
    seen: dict[str, Any] = {}

    def view(request: HttpRequest) -> HttpResponse:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None)
        ContextFilter().filter(record)
        seen["line"] = json.loads(JsonFormatter().format(record))
        seen["client"] = current_client()
        return HttpResponse("ok")

    RequestIdMiddleware(view)(_request(PROXY, FAR))
    assert seen["client"] == FAR
    assert seen["line"]["client"] == FAR


def test_procfile_binds_loopback_and_trusts_only_the_local_proxy() -> None:
    lines = (ROOT / "Procfile").read_text().splitlines()
    for name in ("web", "hooks"):  # the pages, the vendor's callbacks
        line = next(line for line in lines if line.startswith(f"{name}:"))
        assert "0.0.0.0" not in line and '--forwarded-allow-ips="*"' not in line
        assert "127.0.0.1" in line.split("--bind", 1)[1].split()[0]
        unit = (ROOT / "deploy" / "systemd" / f"switchboard-{name}.service").read_text()
        assert "--bind 127.0.0.1:" in unit and "--forwarded-allow-ips=127.0.0.1" in unit
