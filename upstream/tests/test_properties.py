"""Property: any envelope the client accepts parses without crashing, whatever the types in
its fields. Every operation's parser returns its typed object or raises an UpstreamProblem
(never TypeError / KeyError / ValueError / AttributeError / RecursionError)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upstream import client, operations
from upstream.errors import UpstreamError, UpstreamProblem, UpstreamUnavailable
from upstream.parsing import as_bool, as_int, as_str_id, as_text, parse_vendor_time, pick_number
from upstream.tests.vendor_server import VendorServer

# `make fuzz-full` (FUZZ_FULL=1) runs many more examples than the everyday run.
FULL = os.environ.get("FUZZ_FULL") == "1"
PER_OP = 1000 if FULL else 40

FIELDS = [
    "whatsApp",
    "whatsapp",
    "whatsId",
    "",
    "id",
    "tenantId",
    "agentAccount",
    "friendWhatsId",
    "type",
    "executeStatus",
    "executeTime",
    "status",
    "onlineStatus",
    "targetTenantId",
    "targetTenantName",
    "createTime",
    "qrcode",
    "pairCode",
    "userName",
    "currentPort",
    "maxPort",
    "phone",
    "pushName",
    "isFriend",
    "firstName",
    "fullName",
    "isBusiness",
    "businessName",
    "avatar",
    "chatNum",
    "groupNum",
    "lastChatTime",
    "userId",
    "name",
    "source",
    "countryCode",
    "detailStatus",
    "whatsAppList",
    "list",
]

# Strings as a careless vendor sends them: NUL and other control characters, lone surrogates
# (JSON's "\ud800"), between ordinary characters.
dirty_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(["\x00", "\x07", "\x1b", "\x7f", "\x85", "\t", "\n", "\ud800", "\udfff"]),
        st.characters(codec="utf-8"),
    ),
    max_size=12,
)
scalars = st.one_of(
    st.none(),
    dirty_text,
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**53, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "1",
            "868024",
            "8639164839053938688",
            "1970-01-01 08:00:01",
            "2024-07-03 15:27:00",
            "1710236000000",
            "哥伦比亚",
            "",
            " ",
            "2024-99-99 99:99:99",
            "1e999",
            "-1",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=5)), inner, max_size=6),
    ),
    max_leaves=15,
)
records = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=10)
nested_records = st.dictionaries(
    st.sampled_from(FIELDS),
    st.one_of(json_values, st.lists(records, max_size=3)),
    max_size=10,
)
data_values = st.one_of(
    json_values,
    records,
    nested_records,
    st.lists(st.one_of(nested_records, json_values), max_size=4),
)


def _assert_clean(text: str) -> None:
    """No control character (but tab and line breaks) nor lone surrogate reaches the database."""
    assert not any(
        (ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF
        for c in text
    ), repr(text)


def _assert_typed(value: Any) -> None:
    """Parsed objects hold only the documented kinds of values, strings clean."""
    if isinstance(value, str):
        _assert_clean(value)
        return
    if value is None or isinstance(value, int | bool | datetime):
        return
    if isinstance(value, list | tuple):
        for item in value:
            _assert_typed(item)
        return
    assert dataclasses.is_dataclass(value), type(value)
    for f in dataclasses.fields(value):
        _assert_typed(getattr(value, f.name))


@pytest.mark.parametrize("op", operations.OPERATIONS)
@settings(max_examples=PER_OP, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=data_values)
def test_any_data_parses_or_raises_upstream_problem(op: str, data: Any) -> None:
    try:
        result = operations.PARSERS[op](data)
    except UpstreamUnavailable:
        return
    _assert_typed(result)


@settings(max_examples=PER_OP * 5, deadline=None)
@given(value=json_values)
def test_field_readers_never_raise(value: Any) -> None:
    assert isinstance(as_int(value), int | type(None))
    assert isinstance(as_str_id(value), str)
    assert isinstance(as_text(value), str)
    _assert_clean(as_text(value))
    _assert_clean(as_str_id(value))
    assert not {"\t", "\n", "\r"} & set(as_str_id(value))  # an id has no line breaks
    assert as_bool(value) in (True, False, None)
    assert isinstance(pick_number(value), str)
    moment = parse_vendor_time(value)
    assert moment is None or moment.tzinfo is not None


@settings(max_examples=PER_OP * 5, deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=64),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.builds(
            lambda code, message, data: json.dumps(
                {"code": code, "message": message, "data": data}
            ).encode(),
            st.one_of(st.just(200), st.just("200"), json_values),
            json_values,
            data_values,
        ),
    ),
    status=st.sampled_from([200, 200, 200, 400, 401, 404, 500, 503]),
)
def test_any_body_is_an_envelope_or_an_upstream_problem(body: bytes, status: int) -> None:
    endpoint = operations.ENDPOINTS["select_cloud_port_detail"]
    try:
        data = client._read_envelope(endpoint, status, body)
    except UpstreamProblem as exc:
        if isinstance(exc, UpstreamError):
            assert isinstance(exc.message, str) and exc.message
        return
    with contextlib.suppress(UpstreamUnavailable):
        operations.PARSERS[endpoint.operation](data)


# --- the same, end to end over HTTP for a sample -------------------------------------------


@pytest.fixture(scope="module")
def http_vendor() -> Iterator[VendorServer]:
    from django.conf import settings as dj

    server = VendorServer(api_key=dj.UPSTREAM_API_KEY, secret=dj.UPSTREAM_API_SECRET).start()
    yield server
    server.stop()


_lock = threading.Lock()


@settings(
    max_examples=PER_OP,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    op=st.sampled_from(
        [
            "query_whatsapp_status",
            "select_cloud_port_detail",
            "query_all_ol_whatsapp_info",
            "select_pair_target",
            "select_cloud_port",
        ]
    ),
    data=data_values,
)
def test_over_http_any_accepted_envelope_parses(
    http_vendor: VendorServer, op: str, data: Any
) -> None:
    from django.test import override_settings

    from upstream import breaker

    endpoint = operations.ENDPOINTS[op]
    http_vendor.reset()
    http_vendor.envelope(endpoint.path, data)
    with _lock, override_settings(UPSTREAM_BASE_URL=http_vendor.url):
        breaker.reset()
        try:
            result = getattr(operations, op)()
        except UpstreamUnavailable:
            return
        _assert_typed(result)
