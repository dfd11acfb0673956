"""The vendor's constants as the seeds state them: webhook paths, status and detail codes,
QR error codes. Shared by the simulator's state, handlers and page."""

from __future__ import annotations

from core.logging import ACCOUNT_KEY_FIELDS

# Webhook paths (docs/design.md section 3).
ONLINE_STATUS = "/api/callback/whatsapp/onlineStatus"
SYNC_WHATSAPP_STATUS = "/callback/gsTask/syncWhatsAppStatus"
REGISTER_STATUS = "/group-dispatch-api/register/syncStatus"
QR_LOGIN_STATUS = "/wscrm-bus-api/open/qrCode/syncLoginStatus"
SCAN_TASK_STATUS = "/callback/qrCodeTask/syncStatus"

WEBHOOK_PATHS = (
    ONLINE_STATUS,
    SYNC_WHATSAPP_STATUS,
    REGISTER_STATUS,
    QR_LOGIN_STATUS,
    SCAN_TASK_STATUS,
)

# queryWhatsAppStatus / syncWhatsAppStatus
STATUS_NORMAL, STATUS_BANNED = 1, 2
OS_LOGGING_IN, OS_ONLINE, OS_LOGGING_OUT, OS_OFFLINE = 1, 2, 3, 4

# onlineStatus webhook / status log "status"
P_ONLINE, P_DISCONNECTED, P_OFFLINE, P_BANNED = 10, 20, 30, 40

# Sources: 1 pc, 2 mobile, 3 cloud computer
SOURCE_PC, SOURCE_MOBILE, SOURCE_CLOUD = 1, 2, 3

# Detail status ("behaviour type") per source: (login, online, disconnected, offline, banned)
DETAIL = {
    SOURCE_PC: {"login": 11, "online": 12, "disconnected": 21, "offline": 31, "banned": 41},
    SOURCE_CLOUD: {"login": 11, "online": 12, "disconnected": 21, "offline": 31, "banned": 41},
    SOURCE_MOBILE: {"login": 13, "online": 13, "disconnected": 22, "offline": 35, "banned": 42},
}
DETAIL_MONITOR_OFFLINE = {SOURCE_PC: 33, SOURCE_CLOUD: 33, SOURCE_MOBILE: 36}
DETAIL_SYSTEM_BANNED = 43

# syncWhatsAppStatus reasons (not the QR errors!)
REASON_PAIRING_FAILED = "1001"
REASON_NETWORK = "1002"
REASON_TOO_FREQUENT = "1003"
REASON_LOGGED_OUT = "1004"

# QR code error information (envelope codes of the qrCode family)
QR_QUOTA = 1001
QR_NO_PORT = 1002
QR_BAD_TYPE = 1003
QR_NO_TARGET = 1004
QR_MESSAGES = {
    QR_QUOTA: "Current user cloud port quota is insufficient",
    QR_NO_PORT: "Current port does not exist or has been released",
    QR_BAD_TYPE: "Unsupported type",
    QR_NO_TARGET: "Pairing target not set",
}

# Refusals of a request the seed would not accept (the seeds give the account, action and
# scan-task families no code table: the envelope carries 400 and a message naming the field,
# as the vendor's "Request parameter error"; a foreign tenantId is 403). `{field}` and
# `{expected}` are filled in by records.refusal().
PARAM_MISSING = (400, "Missing required parameter: {field}")
PARAM_EMPTY = (400, "Parameter {field} must not be empty")
PARAM_TYPE = (400, "Parameter {field} must be of type {expected}")
PARAM_VALUE = (400, "Parameter {field} must be {expected}")
PARAM_SPELLING = (400, "Unknown parameter {field}: the parameter is {expected}")
TENANT_FOREIGN = (403, "Parameter {field} is not the company this account belongs to")
LANE_TOO_FAST = (
    400,
    "Parameter {field}: conversations of one agentAccount and whatsId must open {expected}",
)
CONTENT_TYPE = (415, "Content-Type must be application/json")

# PC scan task statuses
TASK_SCANNED = 70
TASK_SCAN_TIMEOUT = 71
TASK_LOGGED_IN = 80
TASK_QR_TIMEOUT_UNREPORTED = 83
TASK_LOGIN_TIMEOUT = 84
TASK_NO_PORT = 85
TASK_BANNED = 90
TASK_STATUSES = (70, 71, 80, 83, 84, 85, 90)

# open-chat actions
EXEC_PENDING, EXEC_OK, EXEC_FAILED = 0, 1, 2
NOT_EXECUTED_TIME = "1970-01-01 08:00:01"

# Fields never logged or shown: the account's keys, as Switchboard's own logs redact them.
SECRET_FIELDS = frozenset(ACCOUNT_KEY_FIELDS)

# countryCode as the vendor reports it: sometimes a code, sometimes a localized name.
COUNTRY_BY_PREFIX = (
    ("234", "尼日利亚"),
    ("57", "哥伦比亚"),
    ("55", "巴西"),
    ("52", "墨西哥"),
    ("91", "IN"),
    ("86", "CN"),
    ("81", "JP"),
    ("62", "印度尼西亚"),
    ("44", "GB"),
    ("1", "US"),
)


def country_for(number: str) -> str:
    for prefix, name in COUNTRY_BY_PREFIX:
        if number.startswith(prefix):
            return name
    return ""
