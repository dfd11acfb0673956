"""Outbound authentication as a declared profile (UPSTREAM_AUTH), against the simulator's
own implementation of each vendor reading (simulator/vendorauth.py): the matching pair
works, a mismatch is refused by the simulator with the reason, and `vendor_check` turns the
refusal into the settings to change. Real HTTP, real simulator."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from simulator.profiles import PROFILES
from upstream import operations
from upstream.errors import UpstreamError
from upstream.signing import AuthConfigError, HmacScheme, outbound_headers

STATIC = "appKey={UPSTREAM_API_KEY};tenantId={UPSTREAM_TENANT_ID}"


def _open_gateway(simulator: Any) -> None:
    """The simulator as a vendor that authenticates nothing (no such profile is shipped;
    reset() returns to the default one)."""
    profile = dataclasses.replace(PROFILES["default"], name="open", inbound_auth="none")
    sim = simulator.sim
    sim.profile = sim.state.vendor_profile = sim.dispatcher.vendor_profile = profile


def _refusal(settings: Any) -> str:
    with pytest.raises(UpstreamError) as exc:
        operations.select_cloud_port()
    assert exc.value.code == 401
    return exc.value.vendor_message


@pytest.mark.django_db
def test_each_profile_works_against_the_matching_vendor(simulator: Any, settings: Any) -> None:
    settings.UPSTREAM_AUTH = "hmac"
    assert operations.select_cloud_port().max_port >= 0
    simulator.set_profile("static-headers")
    settings.UPSTREAM_AUTH = "headers"
    settings.UPSTREAM_AUTH_HEADERS = STATIC
    assert operations.select_cloud_port().max_port >= 0
    call = simulator.calls("/qrCode/selectCloudPort")[-1]
    assert call.get("status") != 401
    _open_gateway(simulator)
    settings.UPSTREAM_AUTH = "none"
    assert operations.select_cloud_port().max_port >= 0


@pytest.mark.django_db
def test_a_mismatch_is_refused_with_what_is_missing(simulator: Any, settings: Any) -> None:
    simulator.set_profile("static-headers")
    settings.UPSTREAM_AUTH = "hmac"
    assert "missing header appKey, tenantId" in _refusal(settings)
    settings.UPSTREAM_AUTH = "headers"
    settings.UPSTREAM_AUTH_HEADERS = "appKey={UPSTREAM_API_KEY};tenantId=1"
    assert "tenantId '1' is not this account's tenant" in _refusal(settings)
    settings.UPSTREAM_AUTH_HEADERS = "appKey=not-the-key;tenantId={UPSTREAM_TENANT_ID}"
    assert "unknown appKey" in _refusal(settings)

    simulator.set_profile("default")
    settings.UPSTREAM_AUTH_HEADERS = STATIC
    assert "missing header X-Api-Key, X-Timestamp, X-Nonce, X-Signature" in _refusal(settings)
    settings.UPSTREAM_AUTH = "none"
    assert "missing header" in _refusal(settings)


@pytest.mark.django_db
def test_hmac_settings_change_what_is_sent(simulator: Any, settings: Any) -> None:
    """The header names, timestamp unit, digest and signed text are settings; the
    simulator's default vendor checks the scheme of docs/vendor.md, so each change away from
    it is refused for the reason that names it."""
    settings.UPSTREAM_HMAC_TIMESTAMP_UNIT = "ms"
    assert "X-Timestamp is more than 300 s away" in _refusal(settings)
    settings.UPSTREAM_HMAC_TIMESTAMP_UNIT = "s"
    settings.UPSTREAM_HMAC_DIGEST = "sha512"
    assert "X-Signature does not match" in _refusal(settings)
    settings.UPSTREAM_HMAC_DIGEST = "sha256"
    settings.UPSTREAM_HMAC_SIGNATURE_HEADER = "Sign"
    assert "missing header X-Signature" in _refusal(settings)
    settings.UPSTREAM_HMAC_SIGNATURE_HEADER = "X-Signature"
    assert operations.select_cloud_port().max_port >= 0

    headers = outbound_headers(b"{}")
    assert set(headers) == {"X-Api-Key", "X-Timestamp", "X-Nonce", "X-Signature"}
    settings.UPSTREAM_HMAC_CANONICAL = "{key}|{timestamp}|{nonce}|{body}|end"
    settings.UPSTREAM_HMAC_TIMESTAMP_UNIT = "ms"
    settings.UPSTREAM_HMAC_KEY_HEADER = "AppKey"
    headers = outbound_headers(b'{"a":1}')
    assert len(headers["X-Timestamp"]) == 13  # milliseconds
    message = f"{headers['AppKey']}|{headers['X-Timestamp']}|{headers['X-Nonce']}|".encode()
    expected = hmac.new(
        settings.UPSTREAM_API_SECRET.encode(), message + b'{"a":1}|end', hashlib.sha256
    ).hexdigest()
    assert headers["X-Signature"] == expected


def test_bad_auth_settings_are_named() -> None:
    with pytest.raises(AuthConfigError, match="must contain \\{body\\}"):
        HmacScheme(canonical="{timestamp}.{nonce}")
    with pytest.raises(AuthConfigError, match="UPSTREAM_HMAC_DIGEST"):
        HmacScheme(digest="md5")
    with pytest.raises(AuthConfigError, match="is not a header name"):
        HmacScheme(nonce_header="X Nonce")


# --- vendor_check ---------------------------------------------------------------------------


def run_check(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("vendor_check", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return 1, out.getvalue() + str(exc), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_vendor_check_against_the_default_vendor(simulator: Any) -> None:
    simulator.reset(demo=True)
    code, out, _ = run_check()
    assert code == 0, out
    assert "Outbound authentication: UPSTREAM_AUTH=hmac (X-Api-Key, X-Timestamp [s]" in out
    assert "OK      callbackResult: tenantId 500766 accepted" in out
    assert "OK      selectCloudPortDetail: " in out
    assert "Inbound authentication: WEBHOOK_AUTH=hmac" in out
    assert "WA_SYNC_QR_LOGIN_STATUS http://" in out and "last accepted never" in out
    assert "To fix" not in out and "Vendor connection OK" in out


@pytest.mark.django_db
def test_vendor_check_against_static_headers_says_what_to_set(
    simulator: Any, settings: Any
) -> None:
    simulator.set_profile("static-headers")
    code, out, _ = run_check()
    assert code == 1
    assert "FAILED  selectCloudPort: HTTP status 401: Unauthorized: missing header appKey" in out
    advice = (
        "To fix: set UPSTREAM_AUTH=headers and "
        "UPSTREAM_AUTH_HEADERS=appKey={UPSTREAM_API_KEY};tenantId={UPSTREAM_TENANT_ID}"
    )
    assert out.count(advice) == 1, out
    assert settings.UPSTREAM_API_SECRET not in out and settings.UPSTREAM_API_KEY not in out
    # Doing what it says makes it pass.
    settings.UPSTREAM_AUTH = "headers"
    settings.UPSTREAM_AUTH_HEADERS = STATIC
    code, out, _ = run_check()
    assert code == 0, out
    assert "UPSTREAM_AUTH=headers (appKey, tenantId)" in out
    # A wrong tenant: callbackResult and every call say so.
    settings.UPSTREAM_AUTH_HEADERS = "appKey={UPSTREAM_API_KEY};tenantId=42"
    code, out, _ = run_check()
    assert code == 1 and "To fix: the vendor refuses tenantId: check UPSTREAM_TENANT_ID" in out
    # Back on a signing vendor with the headers profile: it asks for hmac.
    simulator.set_profile("default")
    settings.UPSTREAM_AUTH_HEADERS = STATIC
    code, out, _ = run_check()
    assert code == 1 and "To fix: the vendor wants signed requests: set UPSTREAM_AUTH=hmac" in out


@pytest.mark.django_db
def test_vendor_check_callbacks_prints_the_urls_to_register(settings: Any) -> None:
    from webhooks.services.receive import refused_delivery_record

    token = "T" * 10 + "0123456789abcdefghijklmnopqrstuvwxyz"
    settings.WEBHOOK_AUTH = ["path-token", "hmac"]
    settings.WEBHOOK_PATH_TOKEN = token
    settings.PUBLIC_BASE_URL = "https://switchboard.example.com/"
    refused_delivery_record(
        path="/wscrm-bus-api/open/qrCode/syncLoginStatus",
        kind="qr_login_status",
        check="hmac",
        reason="missing_signature_headers",
        detail="",
        source_addr="203.0.113.5",
        header_names=[],
        body=b"{}",
    )
    code, out, err = run_check("--callbacks")
    assert code == 0
    base = f"https://switchboard.example.com/hooks/{token}"
    assert out.splitlines() == [
        f"WA_SYNC_ON_OR_OFF_LINE_STATUS {base}/api/callback/whatsapp/onlineStatus",
        f"CHANNEL_SYNC_STATUS {base}/callback/gsTask/syncWhatsAppStatus",
        f"CHANNEL_REGISTER_STATUS {base}/group-dispatch-api/register/syncStatus",
        f"WA_SYNC_QR_LOGIN_STATUS {base}/wscrm-bus-api/open/qrCode/syncLoginStatus",
        f"SCAN_TASK_STATUS_SYNC {base}/callback/qrCodeTask/syncStatus",
    ]
    assert "# WA_SYNC_QR_LOGIN_STATUS: last accepted never, last refused 20" in err
    assert "(hmac: missing_signature_headers)" in err
    # Without path-token the seed's bare paths are the ones to register.
    settings.WEBHOOK_AUTH = ["hmac"]
    code, out, err = run_check("--callbacks")
    assert out.splitlines()[0] == (
        "WA_SYNC_ON_OR_OFF_LINE_STATUS "
        "https://switchboard.example.com/api/callback/whatsapp/onlineStatus"
    )


@pytest.mark.django_db
def test_vendor_check_reads_refused_webhooks_and_masks_the_token(
    simulator: Any, settings: Any
) -> None:
    from webhooks.services.receive import refused_delivery_record

    token = "0123456789abcdefghijklmnopqrstuvwxyzABCD"
    settings.WEBHOOK_AUTH = ["path-token", "hmac"]
    settings.WEBHOOK_PATH_TOKEN = token
    refused_delivery_record(
        path="/hooks/[token]/wscrm-bus-api/open/qrCode/syncLoginStatus",
        kind="qr_login_status",
        check="hmac",
        reason="missing_signature_headers",
        detail="",
        source_addr="203.0.113.5",
        header_names=[],
        body=b"{}",
    )
    code, out, _ = run_check()
    assert code == 0, out
    assert token not in out and "/hooks/[token]/wscrm-bus-api" in out
    assert "To fix: webhooks arrive without our signature" in out
    assert "set WEBHOOK_AUTH=path-token" in out
    settings.WEBHOOK_PATH_TOKEN = ""
    code, out, _ = run_check()
    assert code == 1 and "WEBHOOK_PATH_TOKEN is empty" in out
