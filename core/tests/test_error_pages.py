"""403, 404 and 500 are pages in the site's layout, with navigation, a reason and a way back."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from django.utils import translation

from core.error_views import server_error
from tests.fixtures import People, client_for


@pytest.mark.django_db
def test_404_is_a_page_in_the_layout(people: People) -> None:
    response = client_for(people.agent).get(
        "/accounts/0000000/", HTTP_REFERER="http://testserver/qr/"
    )
    body = response.content.decode()
    assert response.status_code == 404
    assert 'nav aria-label="Main"' in body and "QR login" in body  # the site's navigation
    assert "Page not found" in body and "Error 404" in body
    assert 'href="/"' in body and 'href="http://testserver/qr/"' in body  # ways back


@pytest.mark.django_db
def test_403_says_why_in_the_layout(people: People) -> None:
    response = client_for(people.agent).get("/qr/ports/")
    body = response.content.decode()
    assert response.status_code == 403
    assert "You cannot open this page" in body
    assert "Your role (agent) does not give access to this page." in body
    assert 'nav aria-label="Main"' in body and "403 Forbidden" not in body


@pytest.mark.django_db
def test_403_names_the_roles_that_can_do_it(people: People) -> None:
    """Not "ask a supervisor" to a supervisor: the refusal names who can, and what."""
    refused = client_for(people.supervisor).post("/notify/subscriptions/", {"url": "x"})
    supervisor = refused.content.decode()
    assert refused.status_code == 403 and "You cannot do this" in supervisor
    assert "Only an admin can change event subscriptions." in supervisor
    assert "ask a supervisor" not in supervisor
    agent = client_for(people.agent).get("/qr/ports/").content.decode()
    assert "Only supervisors and admins can manage cloud ports." in agent
    api = client_for(people.supervisor).post(
        "/api/v1/event-subscriptions/", data="{}", content_type="application/json"
    )
    assert api.status_code == 403
    assert api.json()["detail"] == "Only an admin can change event subscriptions."


@pytest.mark.django_db
def test_403_and_404_in_chinese(people: People) -> None:
    client = client_for(people.agent)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "找不到页面" in client.get("/accounts/0000000/").content.decode()
    assert "你无法打开此页面" in client.get("/qr/ports/").content.decode()


@pytest.mark.django_db
def test_500_is_a_page_in_the_layout(people: People) -> None:
    request: Any = RequestFactory().get("/accounts/")
    request.user = people.supervisor
    with translation.override("en"):
        response = server_error(request)
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in body and 'href="/"' in body
    assert 'nav aria-label="Main"' in body


def test_500_renders_without_a_user_or_session() -> None:
    """When the failure is the layout's own (no user, no database), the page still renders."""
    request: Any = RequestFactory().get("/")
    with translation.override("en"):
        response = server_error(request)
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


@pytest.mark.django_db
def test_a_403_is_logged_as_one_line_without_a_traceback(
    people: People, caplog: pytest.LogCaptureFixture
) -> None:
    """A refusal is an expected answer, not an error: one warning with the method, the
    path, who asked (and their role) and the roles that can; no traceback."""
    import logging

    with caplog.at_level(logging.WARNING, logger="django.request"):
        client_for(people.supervisor).post("/notify/subscriptions/", {"url": "x"})
    lines = [r for r in caplog.records if r.name == "django.request"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    line = lines[0]
    assert line.exc_info is None and not line.exc_text
    assert line.getMessage() == (
        f"Forbidden: POST /notify/subscriptions/ by {people.supervisor.username} "
        "(supervisor); needs admin"
    )
    assert getattr(line, "status_code", None) == 403
