"""Anonymous endpoints answer 400 for a body they cannot use, never 500, whatever it holds:
a NUL or a lone surrogate in a field, nesting deeper than the parser's recursion, bytes that
are not UTF-8, a form field with a NUL."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import CspReport

pytestmark = pytest.mark.django_db

FIELDS = ["document-uri", "violated-directive", "blocked-uri", "source-file", "line-number"]


def _client() -> Client:
    # A fresh address per test: the report limit's window is shared through Redis.
    return Client(REMOTE_ADDR=f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7")


def _csp(client: Client, body: bytes) -> int:
    return client.post("/csp-report/", data=body, content_type="application/csp-report").status_code


@pytest.mark.parametrize(
    "body",
    [
        b'{"csp-report": {"document-uri": "https://a.example/\\u0000x"}}',
        b'{"csp-report": {"blocked-uri": "\\ud800"}}',
        b"[" * 5000 + b"]" * 5000,
        b"\xff\xfe\x00{",
    ],
    ids=["nul", "lone-surrogate", "deep", "not-utf8"],
)
def test_csp_report_with_an_unusable_body_is_400_and_keeps_nothing(body: bytes) -> None:
    assert _csp(_client(), body) == 400
    assert not CspReport.objects.exists()


def test_a_clean_csp_report_is_still_kept() -> None:
    body = json.dumps({"csp-report": {"document-uri": "https://a.example/", "blocked-uri": "x"}})
    assert _csp(_client(), body.encode()) == 204
    assert CspReport.objects.get().document_uri == "https://a.example/"


text = st.text(
    alphabet=st.one_of(st.sampled_from(["\x00", "\x1b", "\ud800", "\x85"]), st.characters()),
    max_size=20,
)
values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=8,
)
bodies = st.one_of(
    st.binary(max_size=80),
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=5).map(
        lambda r: json.dumps({"csp-report": r}).encode("utf-8", "surrogatepass")
    ),
    values.map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass")),
)


def test_fuzz_anonymous_endpoints_never_5xx() -> None:
    csp_client, login_client = _client(), Client()

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(body=bodies, username=text, password=text)
    def check(body: bytes, username: str, password: str) -> None:
        assert _csp(csp_client, body) in (204, 400, 413, 429)
        form = {"username": username, "password": password}
        form = {
            k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            for k, v in form.items()
        }
        assert login_client.post("/login/", form).status_code < 500
        assert Client().get("/livez").status_code == 200

    check()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["abc\x00defghijk", "a'b\"c;d=e" * 3, "ü" * 32])
def test_a_session_cookie_of_any_bytes_is_no_session_never_a_500(client: Any, key: str) -> None:
    """A session key is looked up only when it can be one of ours (32 letters and digits):
    a NUL in the cookie reached PostgreSQL as a query and answered 500."""
    client.cookies["sessionid"] = key
    for path in ("/", "/api/v1/accounts/", "/login/"):
        assert client.get(path).status_code in (200, 302, 401, 403), path
