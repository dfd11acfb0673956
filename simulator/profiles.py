"""Vendor profiles: each is one reading of the seams the seed leaves open (docs/vendor.md).

The seed says only "API encryption rules use HTTP headers" about authentication, does not
say which id a port operation takes for a port logged in elsewhere, what `getQrCode` answers
once the phone has scanned, or whether webhooks can arrive late, twice or out of order. The
simulator plays one reading at a time: `simulate_upstream --profile NAME`,
`POST /_sim/profile {"name": NAME}`, `GET /_sim/profile` lists them.

`product` names the Switchboard settings a deployment needs against a vendor that behaves
like the profile (the end-to-end journeys run each profile with them; `vendor_check` says
the same to an operator). Values in angle brackets are filled in by the caller.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

InboundAuth = Literal["hmac", "headers", "none"]
WebhookAuth = Literal["hmac", "none"]
QrAfterScan = Literal["code", "error", "empty"]
PortIds = Literal["either", "pregenerate", "port-list"]

# The static headers the `headers` profile's vendor requires on every call.
HEADER_APP_KEY = "appKey"
HEADER_TENANT = "tenantId"


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    # How the vendor authenticates our calls: the hmac scheme of docs/vendor.md (X-Api-Key,
    # X-Timestamp, X-Nonce, X-Signature), static headers (appKey, tenantId), or nothing.
    inbound_auth: InboundAuth = "hmac"
    # How the vendor's webhooks are authenticated: signed with the hmac scheme, or not at all.
    webhook_auth: WebhookAuth = "hmac"
    # What getQrCode answers for a port whose phone has scanned: the last code again, a
    # business error, or a success envelope with an empty code.
    qr_after_scan: QrAfterScan = "code"
    # Which id the port operations (onLine, offline, logOut, selectContact, contact/info,
    # info/profile) accept: the preGenerate id, the port list's id, or either.
    port_ids: PortIds = "pregenerate"
    # batchInsert refuses a number the vendor already holds (a business error per record).
    reimport_refused: bool = False
    # After a QR login's success the vendor also reports a failure for the same login.
    failure_after_success: bool = False
    # Webhooks arrive late (seconds), duplicated and reordered within a small window.
    webhook_delay: float = 0.0
    webhook_duplicates: bool = False
    webhook_reorder: bool = False
    product: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="default",
            description="HMAC both ways, getQrCode repeats the last code after a scan, port "
            "operations take the preGenerate id, prompt webhooks.",
            product={"UPSTREAM_AUTH": "hmac", "WEBHOOK_AUTH": "path-token,hmac"},
        ),
        Profile(
            name="static-headers",
            description="Calls carry static appKey and tenantId headers; no signature.",
            inbound_auth="headers",
            product={
                "UPSTREAM_AUTH": "headers",
                "UPSTREAM_AUTH_HEADERS": f"{HEADER_APP_KEY}=<UPSTREAM_API_KEY>;"
                f"{HEADER_TENANT}=<UPSTREAM_TENANT_ID>",
                "WEBHOOK_AUTH": "path-token",
            },
        ),
        Profile(
            name="unsigned-webhooks",
            description="Webhooks carry no authentication headers at all.",
            webhook_auth="none",
            product={"UPSTREAM_AUTH": "hmac", "WEBHOOK_AUTH": "path-token"},
        ),
        Profile(
            name="qr-error-after-scan",
            description="getQrCode answers a business error once the phone has scanned.",
            qr_after_scan="error",
            product={"UPSTREAM_AUTH": "hmac", "WEBHOOK_AUTH": "path-token,hmac"},
        ),
        Profile(
            name="qr-empty-after-scan",
            description="getQrCode answers success with an empty code once scanned.",
            qr_after_scan="empty",
            product={"UPSTREAM_AUTH": "hmac", "WEBHOOK_AUTH": "path-token,hmac"},
        ),
        Profile(
            name="port-list-ids",
            description="Port operations accept only the port list's id "
            "(selectCloudPortDetail), not the preGenerate id.",
            port_ids="port-list",
            product={
                "UPSTREAM_AUTH": "hmac",
                "WEBHOOK_AUTH": "path-token,hmac",
                "UPSTREAM_PORT_ID": "port-list",
            },
        ),
        Profile(
            name="reimport-refused",
            description="batchInsert refuses a number the vendor already holds.",
            reimport_refused=True,
            product={"UPSTREAM_AUTH": "hmac", "WEBHOOK_AUTH": "path-token,hmac"},
        ),
        Profile(
            name="failure-after-success",
            description="A QR login's success is followed by a failure report for the same login.",
            failure_after_success=True,
            product={"UPSTREAM_AUTH": "hmac", "WEBHOOK_AUTH": "path-token,hmac"},
        ),
        Profile(
            name="messy-webhooks",
            description="Webhooks arrive 2 s late, each twice, and reordered.",
            webhook_delay=2.0,
            webhook_duplicates=True,
            webhook_reorder=True,
            product={"UPSTREAM_AUTH": "hmac", "WEBHOOK_AUTH": "path-token,hmac"},
        ),
    )
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown profile {name!r} (known: {known})") from None
