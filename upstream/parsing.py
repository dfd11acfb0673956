"""Tolerant readers for the vendor's fields (docs/design.md section 4). Shared with the webhook
receivers: every function accepts any JSON value and never raises on a wrong type
(except `parse_vendor_time(..., strict=True)`, which raises ValueError)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

# The vendor's spellings of the account number, in order of preference.
NUMBER_KEYS = ("whatsApp", "whatsapp", "whatsId", "WhatsApp", "whatsAppId", "")

# executeTime's default "1970-01-01 08:00:01" (epoch + 1 s at UTC+8), and anything near
# the epoch, means "not executed yet".
NOT_EXECUTED_BEFORE = datetime(1970, 1, 2, tzinfo=UTC)
_MS_THRESHOLD = 100_000_000_000  # above this an epoch number is in milliseconds
_MAX_EPOCH_S = 253_402_300_799  # 9999-12-31T23:59:59Z
_INT_RE = re.compile(r"^[+-]?\d+$")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")
# Control characters (C0 but tab and line breaks, DEL, C1) and lone surrogates: PostgreSQL
# text refuses NUL and a lone surrogate cannot be encoded, and neither belongs in a name or
# an id. Removed where the vendor's strings enter (every reader below uses these).
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_IN_ID = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def vendor_zone() -> ZoneInfo:
    return _zone(settings.UPSTREAM_TIMEZONE)


def clean_text(text: str) -> str:
    """Free text without control characters (tab and line breaks kept) or lone surrogates."""
    if text.isprintable():  # the common case: nothing to remove
        return text
    return _CONTROL_IN_TEXT.sub("", text)


def clean_id(text: str) -> str:
    """An id or a name used as a key: no control character at all, no surrounding spaces."""
    if text.isprintable():
        return text.strip()
    return _CONTROL_IN_ID.sub("", text).strip()


def as_int(value: Any) -> int | None:
    """An integer from an int, an integral float or a numeric string ("1", " 868024 ");
    None for anything else (bools, null, "", "abc", objects)."""
    if type(value) is int:  # the common case first (bool is a subclass: excluded here)
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.match(text) and len(text) <= 40:
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() and abs(number) < 2**63 else None
    return None


def as_str_id(value: Any) -> str:
    """An upstream id as an exact string ("8639164839053938688"); "" when absent or not
    an id (objects, lists, bools)."""
    if type(value) is str:  # the common case first
        return clean_id(value)
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return clean_id(str(value))
    return ""


def as_text(value: Any) -> str:
    """Free text: strings without control characters, numbers as their text, everything
    else ""."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return clean_text(str(value))
    if isinstance(value, int | float):
        return as_str_id(value)
    return ""


def as_bool(value: Any) -> bool | None:
    """true/false, 1/0, "true"/"false"/"1"/"0"/"y"/"n"; None otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "y", "yes"):
            return True
        if text in ("false", "0", "n", "no"):
            return False
    return None


def pick_number(record: Any) -> str:
    """The account number of a record, whichever key the vendor used."""
    if type(record) is not dict and not isinstance(record, Mapping):
        return ""
    for key in NUMBER_KEYS:
        if key in record:
            number = as_str_id(record[key])
            if number:
                return number
    return ""


def as_records(value: Any) -> list[Mapping[str, Any]]:
    """A list of objects from a list (non-objects dropped), a single object, or null."""
    if isinstance(value, list):
        return [item for item in value if type(item) is dict or isinstance(item, Mapping)]
    if isinstance(value, Mapping):
        return [value]
    return []


def parse_vendor_time(value: Any, *, strict: bool = False) -> datetime | None:
    """An aware datetime from the vendor's naive "YYYY-MM-DD HH:MM:SS" (in
    settings.UPSTREAM_TIMEZONE) or epoch seconds / milliseconds (number or digits).
    None for null, "", and the "not executed yet" default (1970-01-01 08:00:01).
    Unreadable values give None, or ValueError when `strict`."""
    if value is None or value == "":
        return None
    moment: datetime | None = None
    number = None if isinstance(value, str) and not value.strip().isdigit() else as_int(value)
    if isinstance(value, float) and not value.is_integer() and abs(value) < _MAX_EPOCH_S * 1000:
        number = int(value)
    if number is not None:
        seconds = number / 1000 if abs(number) >= _MS_THRESHOLD else float(number)
        if 0 <= seconds <= _MAX_EPOCH_S:
            moment = datetime.fromtimestamp(0, UTC) + timedelta(seconds=seconds)
    elif isinstance(value, str):
        text = value.strip()
        for fmt in _TIME_FORMATS:
            try:
                naive = datetime.strptime(text, fmt)  # zone applied below
            except ValueError:
                continue
            moment = naive.replace(tzinfo=vendor_zone())
            break
        else:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                parsed = None
            if parsed is not None:
                moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=vendor_zone())
    if moment is None:
        if strict:
            raise ValueError(f"not a vendor time: {str(value)[:40]!r}")
        return None
    if moment < NOT_EXECUTED_BEFORE:
        return None
    return moment
