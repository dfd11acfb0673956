"""Parsing and validation of the five webhook bodies into normalised records.

The receiver runs `parse(kind, body)` before it stores an event (a body that fails is
stored as rejected and answered with 400 naming the problem); the processing task runs it
again on the stored raw bytes, so the inbox body stays the single source of truth.

Tolerated (docs/design.md section 4): `whatsApp`/`whatsapp`/`whatsId`/"" as the number field,
numbers as strings, the onlineStatus list bare or under `whatsAppList`, undocumented status
codes, and the seed's own onlineStatus example, which is a bare list followed by a stray
closing brace (`[...]\n}`): trailing closing brackets after a complete JSON value are ignored.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.logging import redact
from upstream.parsing import (
    NOT_EXECUTED_BEFORE,
    as_int,
    as_str_id,
    as_text,
    clean_id,
    clean_text,
    parse_vendor_time,
    pick_number,
    vendor_zone,
)
from webhooks.models import WebhookKind

INT32 = 2**31 - 1
SMALL = 32767
_NUMBER_RE = re.compile(r"^[0-9]{3,32}$")
_TRAILING_OK = re.compile(r"^[\s}\]]*$")
_PLAIN_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


class PayloadError(ValueError):
    """The body is signed but unusable; the message names the problem (safe to echo)."""


@dataclass(frozen=True)
class PresenceRecord:
    """One onlineStatus record, normalised."""

    whatsapp: str
    status: int
    detail_status: int | None
    agent_account: str
    platform: int | None
    event_time: datetime
    position: int  # index in the delivery (ties inside one delivery: the later wins)

    @property
    def dedupe_key(self) -> str:
        return dedupe_key(
            "presence",
            self.whatsapp,
            self.status,
            self.detail_status,
            self.agent_account,
            self.platform,
            self.event_time,
        )


@dataclass(frozen=True)
class AccountStatusRecord:
    whatsapp: str
    status: int
    online_status: int
    reason: str
    instance_code: str


@dataclass(frozen=True)
class RegisterRecord:
    phone: str
    ok: bool


@dataclass(frozen=True)
class QrLoginRecord:
    port_id: str
    whatsapp: str
    ok: bool


@dataclass(frozen=True)
class ScanTaskRecord:
    task_id: str
    task_status: int
    whatsapp: str
    user_id: str
    update_time: datetime


Record = PresenceRecord | AccountStatusRecord | RegisterRecord | QrLoginRecord | ScanTaskRecord


def dedupe_key(*parts: Any) -> str:
    """sha256 of the normalised record: canonical JSON, times as UTC ISO with microseconds."""

    def norm(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat(timespec="microseconds")
        return value

    canonical = json.dumps([norm(p) for p in parts], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_json(body: bytes) -> Any:
    """Decode a JSON body (UTF-8, optional BOM); PayloadError names what is wrong."""
    if not body.strip():
        raise PayloadError("empty body: expected JSON")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body is not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise PayloadError("body is not valid JSON: nested too deeply") from None
    except ValueError as exc:
        first_error = exc
    # The seed's own example is `[...]\n}`: accept a complete value followed only by
    # stray closing brackets.
    try:
        value, end = json.JSONDecoder().raw_decode(text.lstrip())
    except (ValueError, RecursionError):
        value, end = None, -1
    if end >= 0 and _TRAILING_OK.match(text.lstrip()[end:]):
        return value
    raise PayloadError(f"body is not valid JSON: {_short(first_error)}")


def _short(exc: Exception) -> str:
    return str(exc).replace("\x00", "")[:160]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: Mapping[str, Any], where: str, field_label: str = "whatsApp") -> str:
    number = pick_number(value)
    if not number:
        raise PayloadError(f"{where}: missing the account number ({field_label})")
    return _check_number(number, where, field_label)


def _check_number(number: str, where: str, field_label: str) -> str:
    cleaned = number.replace(" ", "").replace("-", "").lstrip("+")
    if not _NUMBER_RE.match(cleaned):
        raise PayloadError(f"{where}: {field_label} {_show(number)} is not a phone number")
    return cleaned


def _int(
    value: Mapping[str, Any],
    key: str,
    where: str,
    *,
    required: bool = True,
    low: int = 0,
    high: int = INT32,
) -> int | None:
    raw = value.get(key)
    if raw is None or raw == "":
        if required:
            raise PayloadError(f"{where}: missing {key}")
        return None
    number = as_int(raw)
    if number is None:
        raise PayloadError(f"{where}: {key} {_show(raw)} is not an integer")
    if not low <= number <= high:
        raise PayloadError(f"{where}: {key} {number} is out of range")
    return number


def _text(
    value: Mapping[str, Any], key: str, where: str, *, max_len: int, free: bool = False
) -> str:
    """A string field without control characters (free text keeps tab and line breaks)."""
    raw = value.get(key)
    if raw is not None and not isinstance(raw, str | int | float | bool):
        raise PayloadError(f"{where}: {key} must be a string")
    text = as_text(raw).strip() if free else clean_id(as_text(raw))
    if len(text) > max_len:
        raise PayloadError(f"{where}: {key} is longer than {max_len} characters")
    return text


def _object(data: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise PayloadError(f"{name}: expected a JSON object, got {type(data).__name__}")
    return data


def _event_time(raw: Any) -> datetime | None:
    """parse_vendor_time(raw, strict=True), with a fast path for the vendor's usual
    "YYYY-MM-DD HH:MM:SS" (strptime is most of the cost of parsing a 50-record body)."""
    if type(raw) is str and _PLAIN_TIME.fullmatch(raw):
        try:
            moment = datetime.fromisoformat(raw).replace(tzinfo=vendor_zone())
        except ValueError:
            pass  # e.g. 2024-02-30: let the general parser name the problem
        else:
            return None if moment < NOT_EXECUTED_BEFORE else moment
    try:
        return parse_vendor_time(raw, strict=True)
    except (ValueError, OverflowError):
        return None


@dataclass(frozen=True)
class RecordRejection:
    """One record of a list body that could not be used: its position, why, and (bounded)
    the record as sent. The good records of the same body are applied."""

    position: int
    reason: str
    record: str

    def as_dict(self) -> dict[str, Any]:
        return {"position": self.position, "reason": self.reason, "record": self.record}


@dataclass(frozen=True)
class Parsed:
    records: list[Record]
    rejections: list[RecordRejection]


def _raw_record(item: Any, limit: int = 500) -> str:
    try:
        text = json.dumps(item, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(item)
    text = redact(clean_text(text))  # secret fields never kept (before cutting)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _presence_record(item: Any, index: int) -> PresenceRecord:
    where = f"record {index}"
    item = _object(item, where)
    whatsapp = _number(item, where, "whatsId")
    status = _int(item, "status", where)
    assert status is not None
    detail = _int(item, "detailStatus", where, required=False)
    platform = _int(item, "platformType", where, required=False, high=SMALL)
    agent_account = _text(item, "account", where, max_len=64)
    raw_time = item.get("time")
    if raw_time is None or raw_time == "":
        raise PayloadError(f"{where}: missing time")
    event_time = _event_time(raw_time)
    if event_time is None:
        raise PayloadError(f"{where}: time {_show(raw_time)} is not a vendor time")
    return PresenceRecord(
        whatsapp=whatsapp,
        status=status,
        detail_status=detail,
        agent_account=agent_account,
        platform=platform,
        event_time=event_time,
        position=index,
    )


def parse_online_status_detailed(data: Any) -> Parsed:
    """The list and each record: a body that is not the documented shape (an object without
    whatsAppList, a list that is not a list) raises PayloadError; a bad record is set aside
    with its reason and the good ones are kept."""
    if isinstance(data, Mapping):
        if "whatsAppList" not in data:
            raise PayloadError("expected whatsAppList (a list of records) or a bare list")
        items = data["whatsAppList"]
        if items is None:
            items = []
    else:
        items = data
    if not isinstance(items, list):
        raise PayloadError(f"whatsAppList: expected a list, got {type(items).__name__}")
    records: list[Record] = []
    rejections: list[RecordRejection] = []
    for index, item in enumerate(items):
        try:
            records.append(_presence_record(item, index))
        except PayloadError as exc:
            rejections.append(RecordRejection(index, str(exc), _raw_record(item)))
    return Parsed(records, rejections)


def parse_online_status(data: Any) -> list[PresenceRecord]:
    """The good records of an onlineStatus body (bad ones are left out)."""
    return [r for r in parse_online_status_detailed(data).records if isinstance(r, PresenceRecord)]


def parse_account_status(data: Any) -> list[AccountStatusRecord]:
    item = _object(data, "body")
    whatsapp = _number(item, "body")
    status = _int(item, "status", "body", high=SMALL)
    online = _int(item, "onlineStatus", "body", high=SMALL)
    assert status is not None and online is not None
    return [
        AccountStatusRecord(
            whatsapp=whatsapp,
            status=status,
            online_status=online,
            reason=_text(item, "reason", "body", max_len=255, free=True),
            instance_code=_text(item, "instanceCode", "body", max_len=64),
        )
    ]


def _flag(item: Mapping[str, Any], key: str, where: str) -> bool:
    value = _int(item, key, where, high=1)
    return value == 1


def parse_register_status(data: Any) -> list[RegisterRecord]:
    item = _object(data, "body")
    raw = item.get("phone")
    phone = as_str_id(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if not phone:
        raise PayloadError("body: missing phone")
    return [
        RegisterRecord(
            phone=_check_number(phone, "body", "phone"), ok=_flag(item, "status", "body")
        )
    ]


def parse_qr_login_status(data: Any) -> list[QrLoginRecord]:
    item = _object(data, "body")
    port_id = _text(item, "id", "body", max_len=64)
    if not port_id:
        raise PayloadError("body: missing id")
    ok = _flag(item, "status", "body")
    number = pick_number(item)
    whatsapp = _check_number(number, "body", "whatsapp") if number else ""
    return [QrLoginRecord(port_id=port_id, whatsapp=whatsapp, ok=ok)]


def parse_scan_task_status(data: Any) -> list[ScanTaskRecord]:
    item = _object(data, "body")
    task_id = _text(item, "taskId", "body", max_len=64)
    if not task_id:
        raise PayloadError("body: missing taskId")
    status = _int(item, "taskStatus", "body", high=SMALL)
    assert status is not None
    raw_time = item.get("updateTime")
    if raw_time is None or raw_time == "":
        raise PayloadError("body: missing updateTime")
    try:
        update_time = parse_vendor_time(raw_time, strict=True)
    except (ValueError, OverflowError):
        update_time = None
    if update_time is None:
        raise PayloadError(f"body: updateTime {_show(raw_time)} is not a time")
    number = pick_number(item)
    whatsapp = _check_number(number, "body", "whatsapp") if number else ""
    user_id = _text(item, "userId", "body", max_len=32)
    return [
        ScanTaskRecord(
            task_id=task_id,
            task_status=status,
            whatsapp=whatsapp,
            user_id=user_id,
            update_time=update_time,
        )
    ]


PARSERS: dict[str, Any] = {
    WebhookKind.ONLINE_STATUS: parse_online_status,
    WebhookKind.ACCOUNT_STATUS: parse_account_status,
    WebhookKind.REGISTER_STATUS: parse_register_status,
    WebhookKind.QR_LOGIN_STATUS: parse_qr_login_status,
    WebhookKind.SCAN_TASK_STATUS: parse_scan_task_status,
}


# Receivers whose body is a list of records: a bad record is set aside, not the body.
LIST_PARSERS: dict[str, Any] = {
    WebhookKind.ONLINE_STATUS: parse_online_status_detailed,
}


def parse_detailed(kind: str, body: bytes) -> Parsed:
    """The usable records of a body and the records set aside with their reasons; a body
    that is not JSON or not the documented shape raises PayloadError naming the problem."""
    data = load_json(body)
    if kind in LIST_PARSERS:
        parsed: Parsed = LIST_PARSERS[kind](data)
        return parsed
    try:
        parser = PARSERS[kind]
    except KeyError:
        raise PayloadError(f"unknown webhook kind {kind!r}") from None
    return Parsed(parser(data), [])


def parse(kind: str, body: bytes) -> list[Record]:
    """Normalised usable records of a body, or PayloadError naming the problem. For a
    list body, records that are bad on their own are left out (see parse_detailed)."""
    if kind not in PARSERS:
        raise PayloadError(f"unknown webhook kind {kind!r}")
    return parse_detailed(kind, body).records
