"""The sign-in lock: a fixed cool-off counted from the lock, a page that
says when to try again, and a success that resets the counter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client
from django.urls import reverse

from tests.fixtures import PASSWORD, People

pytestmark = pytest.mark.django_db

ADDRESS = "10.7.7.7"


def _try(client: Client, password: str) -> int:
    return client.post(reverse("login"), {"username": "alice", "password": password}).status_code


def _age_attempts(minutes: int) -> None:
    """Time passes: every recorded failure is `minutes` older."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


def test_guesses_during_the_lock_do_not_extend_it(people: People) -> None:
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(10):
        _try(client, "wrong")
    assert _try(client, PASSWORD) == 429
    _age_attempts(50)
    assert _try(client, "wrong") == 429  # one more guess, 50 minutes into the lock
    _age_attempts(11)  # 61 minutes after the lock
    assert _try(client, PASSWORD) == 302


def test_the_lockout_page_says_when_to_try_again(people: People) -> None:
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(10):
        _try(client, "wrong")
    _age_attempts(50)
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert 540 <= int(response["Retry-After"]) <= 600
    body = response.content.decode()
    minutes = -(-int(response["Retry-After"]) // 60)
    assert f"Try again in {minutes} minutes." in body and "until" in body


def test_a_successful_sign_in_resets_the_counter(people: People) -> None:
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(9):
        _try(client, "wrong")
    assert _try(client, PASSWORD) == 302
    client.post(reverse("logout"))
    for _ in range(9):
        _try(client, "wrong")
    assert _try(client, PASSWORD) == 302
