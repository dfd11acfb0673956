"""The simulator refuses what the vendor refuses: a port
operation with an id that preGenerate did not issue answers 1002, and a batchOnline row
without keys is refused."""

from __future__ import annotations

import pytest

from simulator.server import SimulatorHandle
from simulator.tests.helpers import call, ok

GD = "/group-dispatch-api"
PHONE = "8618733334444"


def _logged_in_port(sim: SimulatorHandle) -> tuple[str, str]:
    """(preGenerate id, selectCloudPortDetail id) of a port with PHONE logged in."""
    session_id = ok(sim.url, f"{GD}/qrCode/preGenerate", {"type": 1})
    sim.scan(session_id, PHONE)
    (row,) = ok(sim.url, f"{GD}/qrCode/selectCloudPortDetail", method="GET")
    return session_id, str(row["id"])


OPERATIONS = [
    ("POST", "/qrCode/onLine", {}),
    ("POST", "/qrCode/offline", {}),
    ("POST", "/qrCode/contact/info", {"phone": "8618700000000"}),
    ("POST", "/qrCode/info/profile", {}),
    ("GET", "/qrCode/selectContact", None),
    ("POST", "/qrCode/logOut", {}),  # last: it releases the port
]


@pytest.mark.parametrize(("method", "path", "extra"), OPERATIONS)
def test_port_operation_with_the_application_id_answers_1002(
    simulator: SimulatorHandle, method: str, path: str, extra: dict[str, str] | None
) -> None:
    session_id, app_id = _logged_in_port(simulator)
    assert len(session_id) == 32 and len(app_id) == 19

    def send(ident: str) -> int:
        if method == "GET":
            response = call(simulator.url, GD + path, method="GET", params={"id": ident})
        else:
            response = call(simulator.url, GD + path, {"id": ident, **(extra or {})})
        assert response.status_code == 200
        return int(response.json()["code"])

    assert send(app_id) == 1002  # the 19-digit port application id is not accepted
    assert send(session_id) == 200  # the id preGenerate issued is


def test_batch_online_row_without_keys_is_refused(simulator: SimulatorHandle) -> None:
    simulator.state.set_account("8613900000001")
    row = {
        "whatsApp": "8613900000001",
        "override": False,
        "publicKey": "",
        "privateKey": "",
        "msgPublicKey": "",
        "msgPrivateKey": "",
    }
    response = call(simulator.url, f"{GD}/whatsapp/batchOnline", {"whatsAppList": [row]})
    envelope = response.json()
    assert envelope["code"] == 400 and "must not be empty" in envelope["message"]
    assert simulator.state.accounts["8613900000001"].online_status == 4  # still offline
    keyed = {**row, "publicKey": "a", "privateKey": "b", "msgPublicKey": "c", "msgPrivateKey": "d"}
    assert ok(simulator.url, f"{GD}/whatsapp/batchOnline", {"whatsAppList": [keyed]}) == ""
