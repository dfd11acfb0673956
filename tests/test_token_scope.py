"""Narrowed API tokens: a read token is refused on every writing operation the OpenAPI
schema lists; a token limited to resources reaches only those; the command issues them."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from core.models import ApiToken
from core.tokens import api_resources, api_token_create
from tests.fixtures import People

pytestmark = pytest.mark.django_db

WRITES = ("post", "put", "patch", "delete")
SCOPE_REFUSAL = "This token's scope does not allow this request."


def _client(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def _writing_operations(client: Client) -> list[tuple[str, str]]:
    schema = client.get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200, schema.content[:300]
    operations = []
    for path, item in schema.json()["paths"].items():
        for method in WRITES:
            if method in item:
                operations.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return operations


def test_a_read_token_is_refused_on_every_writing_operation(people: People) -> None:
    _token, key = api_token_create(user=people.admin, name="dashboard", read_only=True)
    client = _client(key)
    operations = _writing_operations(client)
    assert len(operations) >= 20, operations  # the schema really lists the API's writes
    for method, path in operations:
        response = getattr(client, method)(path, data={}, content_type="application/json")
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.json()["detail"] == SCOPE_REFUSAL, (method, path, response.json())
    # Reading still works.
    assert client.get("/api/v1/accounts/").status_code == 200
    # The same writes with a full token are not refused for scope (the check can fail).
    _full, full_key = api_token_create(user=people.admin, name="full")
    method, path = operations[0]
    answer = getattr(_client(full_key), method)(path, data={}, content_type="application/json")
    assert answer.status_code == 403 or SCOPE_REFUSAL not in answer.content.decode()
    assert SCOPE_REFUSAL not in answer.content.decode()


def test_a_token_limited_to_resources_reaches_only_those(people: People) -> None:
    _token, key = api_token_create(
        user=people.supervisor, name="ports board", read_only=True, resources=["ports"]
    )
    client = _client(key)
    assert client.get("/api/v1/ports/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200
    refused = client.get("/api/v1/accounts/")
    assert refused.status_code == 403 and refused.json()["detail"] == SCOPE_REFUSAL


def test_unknown_resources_are_refused() -> None:
    assert "accounts" in api_resources() and "ports" in api_resources()
    with pytest.raises(ValueError, match="unknown API resources"):
        api_token_create(user=None, name="x", resources=["nope"])  # type: ignore[arg-type]


def test_an_expired_narrow_token_is_refused(people: People) -> None:
    _token, key = api_token_create(
        user=people.supervisor,
        name="old",
        read_only=True,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert _client(key).get("/api/v1/accounts/").status_code == 401


def test_an_agent_read_token_sees_only_their_accounts(people: People) -> None:
    _token, key = api_token_create(user=people.agent, name="mine", read_only=True)
    mine = _client(key).get("/api/v1/accounts/").json()["results"]
    assert all(row.get("agent_account") in (None, "", "alice01") for row in mine)


def test_drf_create_token_scope_read(people: People) -> None:
    out = io.StringIO()
    call_command("drf_create_token", "sam", "--scope", "read", stdout=out)
    match = re.search(r"token (\w+)", out.getvalue())
    assert match, out.getvalue()
    token = ApiToken.objects.get(user=people.supervisor)
    assert token.read_only and token.scope == "read"
    assert _client(match.group(1)).post("/api/v1/imports/", {}).status_code == 403
    # Without --scope: as DRF's, a full token.
    call_command("drf_create_token", "ada", stdout=io.StringIO())
    assert not ApiToken.objects.get(user=people.admin).read_only


def test_the_token_page_shows_each_scope(people: People) -> None:
    api_token_create(user=people.supervisor, name="board", read_only=True, resources=["ports"])
    client = Client()
    client.force_login(people.supervisor)
    page = client.get("/tokens/").content.decode()
    assert "read only: ports" in page
    created = client.post(
        "/tokens/new/", {"name": "wall", "scope": "read", "resources": ["accounts"]}
    )
    assert created.status_code == 200
    token = ApiToken.objects.get(name="wall")
    assert token.read_only and token.resources == ["accounts"]
