from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from upstream import codes, parsing

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        ("1", 1),
        (" 868024 ", 868024),
        (8639164839053938688, 8639164839053938688),
        ("8639164839053938688", 8639164839053938688),
        (2.0, 2),
        ("2.0", 2),
        (2.5, None),
        (True, None),
        (None, None),
        ("", None),
        ("abc", None),
        ([1], None),
        ({"a": 1}, None),
        ("nan", None),
        ("1e400", None),
    ],
)
def test_as_int(value: object, expected: int | None) -> None:
    assert parsing.as_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (8639164839053938688, "8639164839053938688"),
        ("8639164839053938688", "8639164839053938688"),
        (12, "12"),
        (" ad518a ", "ad518a"),
        (None, ""),
        (True, ""),
        ({"id": 1}, ""),
        ([1], ""),
        (float("nan"), ""),
    ],
)
def test_as_str_id_keeps_big_ids_exact(value: object, expected: str) -> None:
    assert parsing.as_str_id(value) == expected


def test_big_id_survives_json_parsing_exactly() -> None:
    import json

    parsed = json.loads('{"id": 8639164839053938688}')
    assert parsing.as_str_id(parsed["id"]) == "8639164839053938688"
    assert int(parsing.as_str_id(parsed["id"])) - 8639164839053938688 == 0


@pytest.mark.parametrize(
    "record",
    [
        {"whatsApp": "861821371272"},
        {"whatsapp": "861821371272"},
        {"whatsId": "861821371272"},
        {"": "861821371272"},
        {"whatsApp": 861821371272},
        {"whatsApp": "", "whatsapp": "861821371272"},
        {"whatsApp": None, "whatsId": "861821371272"},
    ],
)
def test_pick_number_reads_every_spelling(record: dict[str, object]) -> None:
    assert parsing.pick_number(record) == "861821371272"


@pytest.mark.parametrize("record", [{}, {"whatsApp": None}, {"whatsApp": {"x": 1}}, [], "86", None])
def test_pick_number_absent(record: object) -> None:
    assert parsing.pick_number(record) == ""


def test_parse_vendor_time_naive_is_shanghai() -> None:
    moment = parsing.parse_vendor_time("2024-07-03 15:27:00")
    assert moment == datetime(2024, 7, 3, 15, 27, tzinfo=SHANGHAI)
    assert moment is not None and moment.utcoffset() is not None
    assert moment.astimezone(UTC) == datetime(2024, 7, 3, 7, 27, tzinfo=UTC)


def test_parse_vendor_time_follows_the_setting(settings: object) -> None:
    settings.UPSTREAM_TIMEZONE = "UTC"  # type: ignore[attr-defined]
    assert parsing.parse_vendor_time("2024-07-03 15:27:00") == datetime(
        2024, 7, 3, 15, 27, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "value", [1710236000000, "1710236000000", 1710236000, "1710236000", 1710236000.0]
)
def test_parse_vendor_time_epoch_seconds_and_millis(value: object) -> None:
    assert parsing.parse_vendor_time(value) == datetime(2024, 3, 12, 9, 33, 20, tzinfo=UTC)


def test_parse_vendor_time_last_chat_time_seconds() -> None:
    assert parsing.parse_vendor_time(1774339558) == datetime.fromtimestamp(1774339558, UTC)


@pytest.mark.parametrize("value", ["1970-01-01 08:00:01", 1, 0, "0", None, ""])
def test_not_executed_default_and_empty_are_none(value: object) -> None:
    assert parsing.parse_vendor_time(value) is None


@pytest.mark.parametrize("value", ["yesterday", [], {}, True, "2024-13-45 99:00:00", -5, 10**30])
def test_parse_vendor_time_garbage(value: object) -> None:
    assert parsing.parse_vendor_time(value) is None
    with pytest.raises(ValueError):
        parsing.parse_vendor_time(value, strict=True)


def test_as_text_and_as_bool_and_records() -> None:
    assert parsing.as_text("哥伦比亚") == "哥伦比亚"
    assert parsing.as_text(None) == ""
    assert parsing.as_text(12) == "12"
    assert parsing.as_text({"a": 1}) == ""
    assert parsing.as_bool(False) is False
    assert parsing.as_bool("true") is True
    assert parsing.as_bool(1) is True
    assert parsing.as_bool("maybe") is None
    assert parsing.as_records({"a": 1}) == [{"a": 1}]
    assert parsing.as_records([{"a": 1}, 3, "x", None]) == [{"a": 1}]
    assert parsing.as_records("x") == []


def test_qr_errors_are_not_sync_reasons() -> None:
    for code in (1001, 1002, 1003, 1004):
        assert codes.QR_ERRORS[code] != codes.SYNC_REASONS[code]
    assert "quota" in codes.QR_ERRORS[1001].lower()
    assert "released" in codes.QR_ERRORS[1002].lower()
    assert "not supported" in codes.QR_ERRORS[1003].lower()
    assert "pairing target" in codes.QR_ERRORS[1004].lower()
    assert "scan" in codes.SYNC_REASONS[1001].lower()
    assert "ip" in codes.SYNC_REASONS[1002].lower()
    assert "too often" in codes.SYNC_REASONS[1003].lower()
    assert "logged out" in codes.SYNC_REASONS[1004].lower()
    assert codes.sync_reason("1002") == codes.SYNC_REASONS[1002]
    assert codes.sync_reason("") == ""
    assert codes.sync_reason("proxy died") == "proxy died"


def test_message_for_unknown_code_uses_vendor_message() -> None:
    assert codes.message_for(codes.Family.QR, 1001, "x") == codes.QR_ERRORS[1001]
    assert codes.message_for(codes.Family.ACCOUNT, 1001, "vendor says") == "vendor says"
    assert codes.message_for(codes.Family.QR, 5555, "") == (
        "The vendor refused the request (code 5555)."
    )


@pytest.mark.parametrize("parse", ["parse_qr_string", "parse_get_qr_code_v2"])
def test_a_qr_string_keeps_no_control_character(parse: str) -> None:
    """Found by the property test: a code of control characters alone passed as a code."""
    from upstream import operations
    from upstream.client import UnexpectedResponse

    fn = getattr(operations, parse)
    with pytest.raises(UnexpectedResponse):
        fn("\x1b")
    got = fn(" 2@ab\x1bcd,1 ")
    assert (got if isinstance(got, str) else got.qrcode) == "2@abcd,1"
