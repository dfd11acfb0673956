"""Fuzz every receiver with generated bodies and headers (signed and unsigned, JSON and
garbage): never a 5xx; a signed body is either acknowledged (200, stored pending) or refused
with 400 (stored rejected), or, for a list body whose records are all bad, acknowledged and
stored rejected with each record's reason; anything unsigned is 401 and stores nothing."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webhooks.models import WebhookEvent, WebhookKind
from webhooks.payloads import PayloadError, parse_detailed
from webhooks.tests.helpers import sign, url

EXAMPLES = int(os.environ.get("SB_FUZZ_EXAMPLES", "1000"))

FIELDS = [
    "whatsAppList",
    "whatsId",
    "whatsApp",
    "whatsapp",
    "",
    "status",
    "detailStatus",
    "account",
    "time",
    "platformType",
    "onlineStatus",
    "reason",
    "instanceCode",
    "phone",
    "id",
    "taskId",
    "userId",
    "taskStatus",
    "updateTime",
]
# Strings as a careless vendor sends them: control characters, lone surrogates ("\ud800").
dirty_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(["\x00", "\x07", "\x1b", "\x7f", "\x85", "\t", "\n", "\ud800"]),
        st.sampled_from("86173001 "),
    ),
    max_size=16,
)
scalars = st.one_of(
    st.none(),
    dirty_text,
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "8617633819542",
            "1",
            "0",
            "80",
            "2024-07-03 15:27:00",
            "1710236000000",
            "1001",
            "\x00",
            "٣",
            "1e400",
            "-1",
            "99999999999999999999",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), inner, max_size=6),
    ),
    max_leaves=25,
)
near_valid = st.one_of(
    st.fixed_dictionaries(
        {
            "whatsAppList": st.lists(
                st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=7), max_size=4
            )
        }
    ),
    st.lists(st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=7), max_size=4),
    st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=7),
)


def encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(encode),
    near_valid.map(encode),
    near_valid.map(lambda v: encode(v) + b"}"),
    st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
header_values = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x2FF), max_size=70)
random_headers = st.dictionaries(
    st.sampled_from(
        ["X-Timestamp", "X-Nonce", "X-Signature", "X-Api-Key", "Content-Type", "User-Agent"]
    ),
    header_values,
    max_size=5,
)


SIGNED_PARTS = ("X-Timestamp", "X-Nonce", "X-Signature")


@st.composite
def requests_(draw: Any) -> tuple[bytes, dict[str, str], str]:
    body = draw(bodies)
    how = draw(st.sampled_from(["signed", "signed", "signed", "random", "tampered", "none"]))
    if how == "signed":
        headers = sign(body)
    elif how == "tampered":
        signed = sign(body)
        extra = draw(random_headers)
        headers = {**signed, **extra}
        # Only a changed timestamp, nonce or signature must fail the check; a changed
        # Content-Type or User-Agent leaves a valid signature.
        if not any(k in SIGNED_PARTS and v != signed.get(k) for k, v in extra.items()):
            how = "signed"
    elif how == "random":
        headers = draw(random_headers)
    else:
        headers = {}
    return body, headers, how


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(WebhookKind))
def test_fuzz_receiver_never_5xx(kind: str) -> None:
    client = Client()
    seen = {"200": 0, "400": 0, "401": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(req=requests_())
    def check(req: tuple[bytes, dict[str, str], str]) -> None:
        body, headers, how = req
        before = WebhookEvent.objects.count()
        r = client.post(url(kind), data=body, content_type="application/json", headers=headers)
        assert r.status_code < 500, (r.status_code, r.content)
        assert r.json()["code"] == r.status_code
        after = WebhookEvent.objects.count()
        if how == "signed":
            assert r.status_code in (200, 400), r.content
            assert after == before + 1
            event = WebhookEvent.objects.latest("id")
            if r.status_code == 400:
                assert event.state == "rejected" and not event.rejected_records
            elif event.state == "rejected":
                # A list body of the documented shape with no usable record: acknowledged,
                # every record kept with its reason.
                assert event.records == 0 and event.rejected_records
            else:
                assert event.state == "pending"
        else:  # unsigned, random or tampered signature headers: refused, nothing stored
            assert r.status_code == 401, (how, headers, r.content)
            assert after == before
        seen[str(r.status_code)] = seen.get(str(r.status_code), 0) + 1

    check()
    assert seen["401"] > 0 and seen["400"] > 0


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [s for f in dataclasses.fields(value) for s in _strings(getattr(value, f.name))]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []


def _clean(text: str) -> bool:
    return not any(
        (ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF
        for c in text
    )


@pytest.mark.parametrize("kind", list(WebhookKind))
@settings(max_examples=min(EXAMPLES, 300), deadline=None)
@given(body=st.one_of(near_valid.map(encode), json_values.map(encode)))
def test_parsed_records_and_rejections_hold_no_control_characters(kind: str, body: bytes) -> None:
    """What the parsers hand on (records, rejection reasons, the kept record) is clean text:
    NUL and other control characters never reach the database."""
    try:
        parsed = parse_detailed(kind, body)
    except PayloadError as exc:
        assert _clean(str(exc)), repr(str(exc))
        return
    for text in _strings(parsed.records) + _strings(parsed.rejections):
        assert _clean(text), repr(text)
