"""A list body with bad records applies the good ones (200), and
webhook authentication (WEBHOOK_AUTH) with refused deliveries counted and listed. The
simulator delivers over real HTTP to the live server, signed per the configured scheme."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import Client

from accounts.models import StatusEvent, WhatsAppAccount
from tests.fixtures import client_for
from tests.waiting import wait_for as _wait
from webhooks.models import RefusedDelivery, WebhookEvent, WebhookKind
from webhooks.receivers import PATHS
from webhooks.services.process import webhook_event_process
from webhooks.tests.helpers import as_bytes, sign

ONLINE_PATH = "/" + PATHS[WebhookKind.ONLINE_STATUS]
ROOT = Path(__file__).resolve().parents[2]


def _record(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "whatsId": f"86138{i:08d}",
        "status": 10,
        "detailStatus": 12,
        "account": "agent01",
        "time": "2024-07-03 15:27:00",
        "platformType": 1,
        **extra,
    }


def _deliver_via_simulator(simulator: Any, live_server: Any, payload: Any) -> dict[str, Any]:
    simulator.set_quirks(False)
    simulator.set_webhook_base(live_server.url)
    delivery = simulator.sim.dispatcher.enqueue(ONLINE_PATH, payload)
    _wait(lambda: delivery.attempts >= 1, 20.0, interval=0.05)
    simulator.set_webhook_base(None)  # no retries while the test looks
    return {"status": delivery.last_status, "statuses": list(delivery.statuses)}


# --- point 6 ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_online_status_with_49_good_and_1_bad_record_applies_the_good_ones(
    simulator: Any, live_server: Any, people: Any
) -> None:
    records = [_record(i) for i in range(50)]
    records[17] = _record(17, account="x" * 65)  # an agent account longer than we keep
    outcome = _deliver_via_simulator(simulator, live_server, {"whatsAppList": records})
    assert outcome["status"] == 200, outcome

    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.PENDING
    assert event.records == 49
    (rejected,) = event.rejected_records
    assert rejected["position"] == 17
    assert rejected["reason"] == "record 17: account is longer than 64 characters"
    assert '"whatsId":"8613800000017"' in rejected["record"]

    assert webhook_event_process(event_id=event.pk).state == "processed"
    assert WhatsAppAccount.objects.filter(presence_status=10).count() == 49
    assert not WhatsAppAccount.objects.filter(whatsapp="8613800000017").exists()
    assert StatusEvent.objects.count() == 49

    admin = client_for(people.admin)
    page = admin.get(f"/webhooks/{event.pk}/").content.decode()
    assert "Rejected records" in page
    assert "record 17: account is longer than 64 characters" in page
    listing = admin.get("/webhooks/").content.decode()
    assert f'href="/webhooks/{event.pk}/#rejected-records">1</a>' in listing
    api = admin.get("/api/v1/webhook-events/").json()["results"][0]
    assert api["rejected_records"][0]["position"] == 17


@pytest.mark.django_db
def test_online_status_not_json_or_wrong_shape_is_still_400() -> None:
    for body in (b"[{", {"records": [_record(1)]}, {"whatsAppList": {"0": _record(1)}}):
        raw = as_bytes(body)
        r = Client().post(ONLINE_PATH, data=raw, content_type="application/json", headers=sign(raw))
        assert r.status_code == 400, body
        assert WebhookEvent.objects.latest("id").rejected_records == []


# --- point 7 ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_simulator_signs_per_the_configured_scheme(
    simulator: Any, live_server: Any, settings: Any
) -> None:
    settings.WEBHOOK_AUTH = ["hmac", "api-key", "ip"]
    settings.WEBHOOK_API_KEYS = ["hook-key-1", "hook-key-2"]
    settings.WEBHOOK_ALLOWED_NETS = ["127.0.0.0/8"]
    outcome = _deliver_via_simulator(simulator, live_server, [_record(1)])
    assert outcome["status"] == 200, outcome
    assert WebhookEvent.objects.get().records == 1
    assert not RefusedDelivery.objects.exists()

    settings.WEBHOOK_AUTH = ["api-key"]  # no signature at all: the key alone must do
    outcome = _deliver_via_simulator(simulator, live_server, [_record(2)])
    assert outcome["status"] == 200, outcome


def _refused_counts() -> dict[str, float]:
    """The refused-delivery counters in /metrics, by label set (the counters live as long as
    the process, so a test compares before and after)."""
    text = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    counts = {}
    for line in text.splitlines():
        if line.startswith("switchboard_webhook_refused_total{"):
            labels, value = line[len("switchboard_webhook_refused_total") :].rsplit(" ", 1)
            counts[labels] = float(value)
    return counts


@pytest.mark.django_db(transaction=True)
def test_refusals_by_check_are_401_counted_and_listed_without_body(
    simulator: Any, live_server: Any, settings: Any, people: Any
) -> None:
    before = _refused_counts()
    url = live_server.url + ONLINE_PATH
    raw = as_bytes([_record(3)])
    settings.WEBHOOK_AUTH = ["hmac", "api-key"]
    settings.WEBHOOK_API_KEYS = ["hook-key-1"]

    # api-key: wrong key (the HMAC is fine)
    r = requests.post(url, data=raw, headers={**sign(raw), "X-Api-Key": "nope"}, timeout=5)
    assert r.status_code == 401 and r.json()["code"] == 401
    assert "X-Api-Key" in r.json()["message"]
    # hmac: right key, bad signature
    headers = {**sign(raw), "X-Api-Key": "hook-key-1"}
    headers["X-Signature"] = "0" * 64
    assert requests.post(url, data=raw, headers=headers, timeout=5).status_code == 401
    # both right
    ok = requests.post(url, data=raw, headers={**sign(raw), "X-Api-Key": "hook-key-1"}, timeout=5)
    assert ok.status_code == 200, ok.content

    # ip: the simulator's delivery from 127.0.0.1 is refused when only 10/8 may deliver
    settings.WEBHOOK_AUTH = ["ip"]
    settings.WEBHOOK_ALLOWED_NETS = ["10.0.0.0/8"]
    outcome = _deliver_via_simulator(simulator, live_server, [_record(4)])
    assert outcome["status"] == 401, outcome
    # X-Forwarded-For is not believed from an untrusted peer ...
    spoofed = requests.post(url, data=raw, headers={"X-Forwarded-For": "10.1.2.3"}, timeout=5)
    assert spoofed.status_code == 401
    # ... and read when the peer is a trusted proxy.
    settings.TRUSTED_PROXY_NETS = ["127.0.0.1/32"]
    proxied = requests.post(
        url, data=raw, headers={"X-Forwarded-For": "203.0.113.9, 10.1.2.3"}, timeout=5
    )
    assert proxied.status_code == 200, proxied.content

    assert WebhookEvent.objects.count() == 2  # only the two accepted deliveries are stored
    refused = list(RefusedDelivery.objects.order_by("id"))
    assert [(x.auth_check, x.reason) for x in refused] == [
        ("api-key", "bad_api_key"),
        ("hmac", "bad_signature"),
        ("ip", "address_not_allowed"),
        ("ip", "address_not_allowed"),
    ]
    assert {x.path for x in refused} == {ONLINE_PATH}
    assert refused[0].source_addr == "127.0.0.1"
    assert "X-Signature" in refused[0].header_names and "X-Api-Key" in refused[0].header_names
    # Quarantined with the body received, for an admin to review and accept.
    assert all(bytes(x.body) == raw and x.body_bytes == len(raw) for x in refused[:2])

    after = _refused_counts()
    grown = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert {k: v for k, v in grown.items() if v} == {
        '{check="api-key",reason="bad_api_key"}': 1,
        '{check="hmac",reason="bad_signature"}': 1,
        '{check="ip",reason="address_not_allowed"}': 2,
    }

    page = client_for(people.admin).get("/webhooks/").content.decode()
    assert "Refused deliveries" in page and "bad_api_key" in page and "address_not_allowed" in page


@pytest.mark.django_db
def test_quarantine_keeps_only_the_last_keep_refusals(settings: Any) -> None:
    settings.WEBHOOK_QUARANTINE_KEEP = 20
    client = Client()
    for i in range(25):
        r = client.post(
            ONLINE_PATH, data=b"[]", content_type="application/json", headers={"X-Nonce": str(i)}
        )
        assert r.status_code == 401
    assert RefusedDelivery.objects.count() == 20
    assert RefusedDelivery.objects.filter(reason="missing_signature_headers").count() == 20


def _settings_load(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WEBHOOK_", "SWITCHBOARD_", "TRUSTED_"))
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_an_empty_webhook_auth_list() -> None:
    production = {
        "SWITCHBOARD_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": "a-real-secret-key-" + "Zq8Vw2Kp4Ln7Rt1Ys5Mb9Hc3Jd6Fg0Xe",
        "FIELD_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi1rZXktZm9yLXRoZS10ZXN0LW9ubHk=",
    }
    empty = _settings_load({**production, "WEBHOOK_AUTH": ""})
    assert empty.returncode != 0
    assert "Production needs WEBHOOK_AUTH" in empty.stderr
    unknown = _settings_load({"WEBHOOK_AUTH": "hmac,password"})
    assert unknown.returncode != 0 and "unknown check 'password'" in unknown.stderr
    keyless = _settings_load({"WEBHOOK_AUTH": "api-key"})
    assert keyless.returncode != 0 and "set WEBHOOK_API_KEYS" in keyless.stderr
    # Production also needs real secrets and a shared cache (core/checks.py).
    real = {
        "UPSTREAM_API_KEY": "k" + "0123456789abcdefghijklmnopqrstuvwxyz",
        "UPSTREAM_API_SECRET": "s" + "0123456789abcdefghijklmnopqrstuvwxyz",
        "WEBHOOK_SECRETS": "w" + "0123456789abcdefghijklmnopqrstuvwxyz",
        "METRICS_TOKEN": "m" + "0123456789abcdefghijklmnopqrstuvwxyz",
        "CACHE_URL": "rediscache://127.0.0.1:6379/15",
        "UPSTREAM_TENANT_ID": "700001",
    }
    fine = _settings_load(
        {**production, **real, "WEBHOOK_AUTH": "hmac,ip", "WEBHOOK_ALLOWED_NETS": "::1"}
    )
    assert fine.returncode == 0, fine.stderr
