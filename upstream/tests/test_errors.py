"""Faults map to the right errors (scripted vendor over real HTTP)."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

from core.crypto import Secret
from upstream import breaker, client, codes, operations
from upstream.errors import NotSent, UpstreamError, UpstreamUnavailable
from upstream.tests.vendor_server import VendorServer
from upstream.types import AccountItem

PORT = "/group-dispatch-api/qrCode/selectCloudPort"
PRE = "/group-dispatch-api/qrCode/preGenerate"
STATUS = "/group-dispatch-api/whatsapp/queryWhatsAppStatus"


def _failures() -> int:
    from django.core.cache import cache

    return int(cache.get(breaker.FAILURES_KEY) or 0)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_unavailable(vendor: VendorServer, status: int) -> None:
    vendor.reply(PORT, b"<html>oops</html>", status=status)
    with pytest.raises(UpstreamUnavailable) as exc:
        operations.select_cloud_port()
    assert not isinstance(exc.value, UpstreamError)
    assert _failures() == 1


def test_429_is_slow_down_not_a_breaker_failure(vendor: VendorServer) -> None:
    """A 429 is "slow down" (with backoff), not a failure."""
    from upstream.errors import SlowDown

    vendor.reply(PORT, b"<html>busy</html>", status=429)
    with pytest.raises(SlowDown) as exc:
        operations.select_cloud_port()
    assert exc.value.retry_after > 0  # no Retry-After: the default pause
    assert _failures() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"garbage",
        b"",
        b"<html></html>",
        b"[]",
        b'"str"',
        b"12",
        b'{"message":"no code","data":{}}',
        b'{"code":200,"data"',
        b"\xff\xfe\x00",
    ],
)
def test_garbage_is_that_calls_error_not_an_outage(vendor: VendorServer, body: bytes) -> None:
    """A 200 whose body we cannot read: the call fails (retryable), the breaker does not
    count it: the vendor answered."""
    vendor.reply(PORT, body)
    with pytest.raises(client.UnexpectedResponse):
        operations.select_cloud_port()
    assert _failures() == 0


def test_wrong_data_shape_is_unavailable(vendor: VendorServer) -> None:
    vendor.envelope(PORT, "not an object")
    with pytest.raises(client.UnexpectedResponse):
        operations.select_cloud_port()
    vendor.envelope(STATUS, 12)
    with pytest.raises(client.UnexpectedResponse):
        operations.query_whatsapp_status()


def test_timeout_is_unavailable(vendor: VendorServer, settings: Any) -> None:
    settings.UPSTREAM_READ_TIMEOUT = 0.2
    vendor.reply(PORT, {"code": 200, "message": "ok", "data": {}}, delay=1.0)
    with pytest.raises(UpstreamUnavailable, match="timed out") as caught:
        operations.select_cloud_port()
    assert _failures() == 1
    # The vendor received this one: it may have acted, so it is not "not sent".
    assert not isinstance(caught.value, NotSent)


def test_an_open_breaker_is_not_sent(vendor: VendorServer, settings: Any) -> None:
    settings.UPSTREAM_BREAKER_THRESHOLD = 1
    vendor.reply(PORT, {"code": 200}, status=500)
    with pytest.raises(UpstreamUnavailable):
        operations.select_cloud_port()
    with pytest.raises(NotSent):
        operations.select_cloud_port()


def test_connection_refused_is_unavailable(settings: Any) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    settings.UPSTREAM_BASE_URL = f"http://127.0.0.1:{port}"
    # Refused: no byte left, so even batchAdd may be sent again.
    with pytest.raises(NotSent):
        operations.select_cloud_port()
    with pytest.raises(UpstreamUnavailable):
        client.ping()


@pytest.mark.parametrize("code", [1001, 1002, 1003, 1004, "1001"])
def test_qr_family_codes_use_the_qr_table(vendor: VendorServer, code: Any) -> None:
    vendor.envelope(PRE, None, code=code, message="vendor text")
    with pytest.raises(UpstreamError) as exc:
        operations.pre_generate(pc_type=2)
    err = exc.value
    assert err.code == int(code)
    assert err.message == codes.QR_ERRORS[int(code)]
    assert err.message != codes.SYNC_REASONS[int(code)]
    assert err.operation == "pre_generate"
    assert err.vendor_message == "vendor text"
    assert _failures() == 0  # a business error is a success for the breaker


def test_other_families_use_the_vendor_message(vendor: VendorServer) -> None:
    vendor.envelope(STATUS, None, code=1001, message="账号不存在")
    with pytest.raises(UpstreamError) as exc:
        operations.query_whatsapp_status()
    assert exc.value.code == 1001
    assert exc.value.message == "账号不存在"
    assert codes.QR_ERRORS[1001] not in str(exc.value)


def test_unknown_qr_code_uses_the_vendor_message(vendor: VendorServer) -> None:
    vendor.envelope(PRE, None, code=1999, message="Something new")
    with pytest.raises(UpstreamError, match="Something new"):
        operations.pre_generate(pc_type=1)


def test_wrong_secret_is_a_401_business_error(vendor: VendorServer, settings: Any) -> None:
    vendor.envelope(PORT, {"currentPort": 1, "maxPort": 2})
    settings.UPSTREAM_API_SECRET = "not-the-vendor-secret"
    with pytest.raises(UpstreamError) as exc:
        operations.select_cloud_port()
    assert exc.value.code == 401
    assert "credentials" in exc.value.message
    assert not vendor.calls[0].signature_ok
    assert _failures() == 0


def test_401_without_a_json_body_is_still_an_auth_error(vendor: VendorServer) -> None:
    vendor.reply(PORT, b"Unauthorized", status=401)
    with pytest.raises(UpstreamError) as exc:
        operations.select_cloud_port()
    assert exc.value.code == 401


def test_signature_covers_the_exact_bytes_sent(vendor: VendorServer) -> None:
    vendor.envelope(PRE, "port-1")
    assert operations.pre_generate(pc_type=1, target="10085") == "port-1"
    sent = vendor.calls[0]
    assert sent.signature_ok
    assert sent.body == b'{"type":1,"target":10085}'
    assert sent.headers["X-Api-Key"]
    assert 16 <= len(sent.headers["X-Nonce"]) <= 64


def test_no_secret_in_logs_and_one_line_per_call(
    vendor: VendorServer, caplog: pytest.LogCaptureFixture, settings: Any
) -> None:
    vendor.envelope("/group-dispatch-api/whatsapp/batchInsert", "")
    vendor.envelope("/group-dispatch-api/qrCode/onLine", [])
    secrets = ["PUB-KEY-SECRET-1", "PRIV-KEY-SECRET-2", "proxy-password-3"]
    item = AccountItem(
        whatsapp="861821726232",
        public_key=Secret(secrets[0]),
        private_key=secrets[1],
        msg_public_key="mpk",
        msg_private_key="mprk",
    )
    assert secrets[1] not in repr(item)
    with caplog.at_level(logging.DEBUG):
        operations.batch_insert(accounts=[item])
        operations.on_line(id="p1", ip_config=Secret(f"1.2.3.4:1080:user:{secrets[2]}"))
    assert secrets[0].encode() in vendor.calls[0].body  # the vendor does get the keys
    assert secrets[2].encode() in vendor.calls[1].body
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in [*secrets, settings.UPSTREAM_API_SECRET]:
        assert secret not in text
    lines = [r.getMessage() for r in caplog.records if r.name == "upstream"]
    assert len(lines) == 2
    assert lines[0].startswith("upstream batch_insert outcome=ok status=200 ms=")


def test_metrics_count_outcomes(vendor: VendorServer) -> None:
    calls = "switchboard_upstream_calls_total"
    before_ok = _counted(calls, operation="select_cloud_port", outcome="ok")
    before_err = _counted(calls, operation="select_cloud_port", outcome="unavailable")
    vendor.envelope(PORT, {"currentPort": 1, "maxPort": 2})
    operations.select_cloud_port()
    vendor.reply(PORT, b"x", status=500)
    with pytest.raises(UpstreamUnavailable):
        operations.select_cloud_port()
    assert _counted(calls, operation="select_cloud_port", outcome="ok") == before_ok + 1
    assert _counted(calls, operation="select_cloud_port", outcome="unavailable") == before_err + 1


def test_ping_reaches_a_live_vendor(vendor: VendorServer) -> None:
    client.ping()
    assert vendor.paths() == ["/"]


def test_a_data_shape_we_cannot_read_is_shown_logged_counted_never_an_outage(
    vendor: VendorServer, caplog: pytest.LogCaptureFixture
) -> None:
    outcome = {"operation": "select_cloud_port", "outcome": "bad_response"}
    before = _counted("switchboard_upstream_calls_total", **outcome)
    vendor.envelope(PORT, [1, 2])
    with caplog.at_level(logging.WARNING, logger="upstream"):
        for _ in range(8):  # more than the threshold
            with pytest.raises(client.UnexpectedResponse) as exc:
                operations.select_cloud_port()
    assert _failures() == 0 and breaker.breaker_state() == "closed"
    assert "not a valid reply" in client_error_words(exc.value)
    assert _counted("switchboard_upstream_calls_total", **outcome) == before + 8
    assert sum("outcome=bad_response" in r.getMessage() for r in caplog.records) == 8


def client_error_words(exc: UpstreamUnavailable) -> str:
    from upstream.errors import unavailable_message

    return unavailable_message(exc)


def test_a_busy_envelope_is_an_answer_not_an_outage(vendor: VendorServer) -> None:
    vendor.envelope(PORT, None, code=500, message="System busy, try again later")
    for _ in range(8):
        with pytest.raises(UpstreamUnavailable):
            operations.select_cloud_port()
    assert _failures() == 0 and breaker.breaker_state() == "closed"


def test_an_answer_ends_an_outage_streak(vendor: VendorServer) -> None:
    vendor.reply(PORT, b"x", status=502)
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable):
            operations.select_cloud_port()
    assert _failures() == 3
    vendor.reply(PORT, b"<html>odd</html>")
    with pytest.raises(client.UnexpectedResponse):
        operations.select_cloud_port()
    assert _failures() == 0


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_still_opens_the_breaker(vendor: VendorServer, status: int) -> None:
    vendor.reply(PORT, b"x", status=status)
    for _ in range(5):
        with pytest.raises(UpstreamUnavailable):
            operations.select_cloud_port()
    assert breaker.breaker_state() == "open"


def test_a_large_fleet_parses_and_leaves_the_gc_on(vendor: VendorServer) -> None:
    import gc

    rows = [
        {"whatsApp": f"86{13000000000 + i}", "status": 1, "onlineStatus": 2} for i in range(20000)
    ]
    vendor.envelope(STATUS, rows)
    assert len(vendor.replies[STATUS].body) > client.GC_PAUSE_BYTES
    result = operations.query_whatsapp_status()
    assert len(result) == 20000
    assert result[-1].whatsapp == "8613000019999"
    assert gc.isenabled()


def _counted(name: str, **labels: str) -> float:
    from core.metrics import instance_registry

    for family in instance_registry().collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_calls_are_counted_with_their_latency(vendor: VendorServer) -> None:
    calls = "switchboard_upstream_calls_total"
    count = "switchboard_upstream_call_seconds_count"
    before_ok = _counted(calls, operation="select_cloud_port", outcome="ok")
    before_count = _counted(count, operation="select_cloud_port")
    before_inf = _counted(
        "switchboard_upstream_call_seconds_bucket", operation="select_cloud_port", le="+Inf"
    )
    vendor.envelope(PORT, {"currentPort": 1, "maxPort": 2})
    operations.select_cloud_port()
    operations.select_cloud_port()
    assert _counted(calls, operation="select_cloud_port", outcome="ok") == before_ok + 2
    assert _counted(count, operation="select_cloud_port") == before_count + 2
    assert (
        _counted(
            "switchboard_upstream_call_seconds_bucket", operation="select_cloud_port", le="+Inf"
        )
        == before_inf + 2
    )
    assert _counted("switchboard_upstream_call_seconds_sum", operation="select_cloud_port") > 0
