from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from core.models import ApiToken, AuditEntry
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db


def test_token_is_shown_once_and_stored_only_as_digest(people: People) -> None:
    client = client_for(people.supervisor)
    response = client.post(reverse("token-create"), {"name": "CRM sync"})
    assert response.status_code == 200
    key = response.context["new_key"]
    assert key in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    # Not stored anywhere in clear.
    with connection.cursor() as cur:
        cur.execute("SELECT digest, prefix, name FROM core_apitoken")
        rows = cur.fetchall()
    assert rows and all(key not in " ".join(map(str, r)) for r in rows)
    # The list page never shows it again.
    assert key not in client.get(reverse("tokens")).content.decode()
    assert AuditEntry.objects.filter(action="token.create").exists()


def test_token_authenticates_the_api_and_revoke_stops_it(people: People) -> None:
    client = client_for(people.agent)
    key = client.post(reverse("token-create"), {"name": "script"}).context["new_key"]
    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    body = api.get("/api/v1/me/").json()
    assert body["username"] == "alice"
    assert body["role"] == "agent"
    assert "manage_accounts" not in body["capabilities"]
    token = ApiToken.objects.get(user=people.agent)
    client.post(reverse("token-revoke"), {"id": token.pk})
    assert api.get("/api/v1/me/").status_code in (401, 403)


def test_wrong_token_is_rejected(people: People) -> None:
    assert Client(HTTP_AUTHORIZATION="Token nope").get("/api/v1/me/").status_code == 401
    assert Client().get("/api/v1/me/").status_code in (401, 403)


def test_cannot_revoke_someone_elses_token(people: People) -> None:
    client_for(people.agent).post(reverse("token-create"), {"name": "mine"})
    token = ApiToken.objects.get(user=people.agent)
    client_for(people.peer).post(reverse("token-revoke"), {"id": token.pk})
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_empty_name_is_a_clear_error(people: People) -> None:
    response = client_for(people.agent).post(reverse("token-create"), {"name": ""})
    assert response.status_code == 400
    assert b'aria-invalid="true"' in response.content


def test_drf_create_token_command(people: People, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("drf_create_token", "sam")
    out = capsys.readouterr().out
    key = out.split()[2]
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/me/").json()["username"] == "sam"
