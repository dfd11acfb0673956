"""The vendor's code tables, per family. The same numbers mean different things in
different families: QR errors 1001-1004 are not the sync reasons 1001-1004."""

from __future__ import annotations

from enum import StrEnum


class Family(StrEnum):
    QR = "qr"  # group-dispatch-api/qrCode/* and channelInfo (the seed's QR code section)
    ACCOUNT = "account"  # group-dispatch-api/whatsapp/*, register/*, user/*
    ACTION = "action"  # wscrm-bus-api/open/action/*
    SCAN_TASK = "scan_task"  # wscrm-bus-api/qrCodeTask/*


# "QR Code Error Information" (seed 000): envelope codes of the qrCode family.
QR_ERRORS: dict[int, str] = {
    1001: "The cloud port quota is used up: release a port or ask for a larger quota.",
    1002: "This port does not exist or has been released: start again to get a new one.",
    1003: "This type is not supported.",
    1004: "No pairing target is set: choose a pairing target first.",
}

# syncWhatsAppStatus `reason` (seed 000): carried by the CHANNEL_SYNC_STATUS webhook.
SYNC_REASONS: dict[int, str] = {
    1001: "Pairing failed: scan the QR code again.",
    1002: "Network error: change the IP (proxy).",
    1003: "Pair code requested too often: wait before trying again.",
    1004: "Logged out.",
}

# Codes any family may answer with (HTTP status codes echoed in the envelope).
COMMON: dict[int, str] = {
    400: "The vendor rejected the request as invalid.",
    401: "The vendor refused our credentials: check UPSTREAM_API_KEY and UPSTREAM_API_SECRET.",
    403: "The vendor refused this operation for our account.",
    404: "The vendor does not know this item.",
}

TABLES: dict[Family, dict[int, str]] = {
    Family.QR: QR_ERRORS,
    Family.ACCOUNT: {},
    Family.ACTION: {},
    Family.SCAN_TASK: {},
}


def message_for(family: Family, code: int | None, vendor_message: str) -> str:
    """The plain-language message for an envelope code in a family; the vendor's own
    message for codes no table knows."""
    if code is not None:
        table = TABLES.get(family, {})
        if code in table:
            return table[code]
        if code in COMMON:
            return COMMON[code]
    text = (vendor_message or "").strip()
    return text or f"The vendor refused the request (code {code})."


def sync_reason(code: object) -> str:
    """The plain-language text of a syncWhatsAppStatus `reason` ("" for none; the raw
    value for an unknown one)."""
    from upstream.parsing import as_int, as_text

    number = as_int(code)
    if number is not None and number in SYNC_REASONS:
        return SYNC_REASONS[number]
    return as_text(code).strip()


# "System busy": transient whatever the family (the vendor asks to try again later).
BUSY_WORDS = ("busy", "try again later", "繁忙", "稍后")
# qrCodeTask/create's documented failure cases (seed 000, "Failure Cases"): final refusals,
# whatever code they come with.
SCAN_TASK_FAILURES = ("insufficient port quota", "insufficient ports")


def is_transient(family: Family, code: int | None, vendor_message: str) -> bool:
    """Whether an envelope code (not 200) is transient for this operation family: "system
    busy", or a server-side code (5xx) that no table documents. Documented business codes
    (the family's table, the common 4xx) are final refusals."""
    text = (vendor_message or "").lower()
    if any(word in text for word in BUSY_WORDS):
        return True
    if code is None:
        return False
    if code in TABLES.get(family, {}) or code in COMMON:
        return False
    if family == Family.SCAN_TASK and any(w in text for w in SCAN_TASK_FAILURES):
        return False
    return 500 <= code <= 599
