"""Every vendor call must be signed (docs/design.md section 3); the /_sim controls are not."""

from __future__ import annotations

import json
import time

import requests
from django.conf import settings

from simulator.server import SimulatorHandle
from simulator.tests.helpers import call
from upstream.signing import get_signer

PATH = "/group-dispatch-api/qrCode/preGenerate"
BODY = json.dumps({"type": 1}).encode()


def post(sim: SimulatorHandle, headers: dict[str, str], body: bytes = BODY) -> requests.Response:
    headers = {"Content-Type": "application/json", **headers}
    return requests.post(sim.url + PATH, data=body, headers=headers, timeout=10)


def signed(**kw: object) -> dict[str, str]:
    args = {
        "api_key": settings.UPSTREAM_API_KEY,
        "secret": settings.UPSTREAM_API_SECRET,
        "body": BODY,
        **kw,
    }
    return get_signer().sign(**args)  # type: ignore[arg-type]


def assert_401(response: requests.Response) -> None:
    assert response.status_code == 401
    envelope = response.json()
    assert envelope["code"] == 401 and envelope["message"]


def test_signed_call_is_served(simulator: SimulatorHandle) -> None:
    response = post(simulator, signed())
    assert response.status_code == 200 and response.json()["code"] == 200


def test_unsigned_is_refused(simulator: SimulatorHandle) -> None:
    assert_401(post(simulator, {"Content-Type": "application/json"}))
    assert simulator.state.ports == {}  # nothing happened


def test_wrong_secret_is_refused(simulator: SimulatorHandle) -> None:
    assert_401(post(simulator, signed(secret="not-the-secret")))


def test_wrong_api_key_is_refused(simulator: SimulatorHandle) -> None:
    assert_401(post(simulator, signed(api_key="someone-else")))


def test_tampered_body_is_refused(simulator: SimulatorHandle) -> None:
    assert_401(post(simulator, signed(), body=json.dumps({"type": 2}).encode()))


def test_stale_timestamp_is_refused(simulator: SimulatorHandle) -> None:
    assert_401(post(simulator, signed(now=time.time() - 301)))
    assert_401(post(simulator, signed(now=time.time() + 301)))


def test_replayed_nonce_is_refused(simulator: SimulatorHandle) -> None:
    headers = signed()
    assert post(simulator, headers).status_code == 200
    assert_401(post(simulator, headers))
    assert len(simulator.state.ports) == 1


def test_get_is_signed_over_the_empty_body(simulator: SimulatorHandle) -> None:
    path = "/group-dispatch-api/qrCode/selectCloudPort"
    assert call(simulator.url, path, method="GET").status_code == 200
    assert_401(requests.get(simulator.url + path, timeout=10))


def test_secret_follows_settings(simulator: SimulatorHandle, settings: object) -> None:
    settings.UPSTREAM_API_SECRET = "rotated"  # type: ignore[attr-defined]
    assert call(simulator.url, PATH, {"type": 1}).status_code == 200
    assert_401(call(simulator.url, PATH, {"type": 1}, secret="demo-secret-old"))


def test_controls_are_unsigned(simulator: SimulatorHandle) -> None:
    assert requests.get(simulator.url + "/_sim/state", timeout=10).status_code == 200
