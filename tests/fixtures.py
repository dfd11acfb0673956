"""Shared fixtures: the five people of every access test, a real Celery worker,
and Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from accounts.models import Agent
from core.groups import ensure_groups
from core.roles import Role

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
PASSWORD = "correct-horse-battery-staple"


@dataclass
class People:
    admin: User
    supervisor: User
    agent: User  # the owner in ownership tests
    peer: User  # another agent: must never see the owner's things
    outsider: User  # signed in, no role at all

    def all(self) -> dict[str, User | None]:
        return {
            "anonymous": None,
            "agent": self.agent,
            "peer": self.peer,
            "supervisor": self.supervisor,
            "admin": self.admin,
            "outsider": self.outsider,
        }


def make_user(username: str, role: Role | None, *, agent_account: str | None = None) -> User:
    ensure_groups()
    user = User.objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.test"
    )
    if role is not None:
        user.groups.add(Group.objects.get(name=role.value))
    if role == Role.ADMIN:  # as demo_seed and createsuperuser make them: the Django admin too
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    if agent_account:
        Agent.objects.update_or_create(
            agent_account=agent_account,
            defaults={
                "user": user,
                "user_name": username,
                "upstream_user_id": str(abs(hash(username)) % 10**6),
            },
        )
    return user


@pytest.fixture
def people(db: Any) -> People:
    return People(
        admin=make_user("ada", Role.ADMIN),
        supervisor=make_user("sam", Role.SUPERVISOR),
        agent=make_user("alice", Role.AGENT, agent_account="alice01"),
        peer=make_user("bob", Role.AGENT, agent_account="bob01"),
        outsider=make_user("olga", None),
    )


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def celery_worker_live(transactional_db: Any) -> Iterator[Any]:
    """A real Celery worker thread consuming from the test Redis broker."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.conf.task_always_eager = False
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=10.0, queues=["fast", "slow"]
    ) as worker:
        yield worker


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in the
# main thread while it is open, and Django's async views (the live stream) called through
# the test client then refuse to run in that thread ("You cannot use AsyncToSync in the
# same thread as an async event loop"). Closing it after each browser module keeps the
# tests that follow it in the same worker independent of it.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Threads of live servers, workers and the simulator may leave a connection to the
    test database open; end them so the database can be dropped cleanly at the end."""
    yield
    from django.db import connection

    if not str(connection.settings_dict["NAME"]).startswith("test_"):
        return  # no test of this session opened the database: none was made
    with django_db_blocker.unblock(), connection.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def forget_own_cache_keys() -> None:
    """Delete this test process's cache keys (its KEY_PREFIX) only: tile counts, filter menus,
    rate limits. The other xdist worker shares the Redis database, so never cache.clear()
    (FLUSHDB would empty its keys mid-test)."""
    from django.core.cache import cache

    delete_pattern = getattr(cache, "delete_pattern", None)  # django-redis
    if delete_pattern is None:  # a cache of this process alone (local memory, files)
        cache.clear()
        return
    delete_pattern("*")  # made into "<KEY_PREFIX>:<version>:*" by django-redis
